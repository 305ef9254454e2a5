"""Provisioning never goes back in time: an older extract is superseded, OneRoster deltas apply in order."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from accounts.models import Account, AuditEvent
from provisioning import ordering
from provisioning.models import ProvisioningRun
from provisioning.runs import run_apply, run_approve, run_create, runs_apply_queued
from provisioning.services import token_issue

from .conftest import TODAY
from .extracts import oneroster_zip, pupil, pupils_csv, staff, staff_csv

pytestmark = pytest.mark.django_db

ROLL = [pupil(n) for n in range(1, 11)]
ADMISSIONS = [pupil(n) for n in range(11, 15)]


def provision(tmp_path, school, data, name):
    path = tmp_path / name
    path.write_bytes(data)
    call_command("provision", str(path), "--school", school.code, verbosity=0)
    return ProvisioningRun.objects.filter(organisation=school).order_by("-id").first()


def upload(client, school, data):
    token = token_issue(organisation=school)
    response = client.post(
        "/api/provisioning/extracts/",
        data=data,
        content_type="application/octet-stream",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 202
    return ProvisioningRun.objects.get(pk=response.json()["run"]), token


def queue(school, data):
    return run_create(organisation=school, data=data, source=ProvisioningRun.Source.COMMAND)


def active_learners(school):
    return Account.objects.filter(
        organisation=school, kind=Account.Kind.LEARNER, status=Account.Status.ACTIVE
    )


class SupersededTests:
    def test_the_sweep_supersedes_an_older_upload_and_the_four_admissions_stay_active(
        self, client, wales, tmp_path, django_capture_on_commit_callbacks
    ):
        school = wales.secondary
        provision(tmp_path, school, pupils_csv(ROLL), "e1.csv")
        e2, token = upload(client, school, pupils_csv(ROLL))  # queued: the worker never got it
        path = Path(e2.file_path)
        e3 = provision(tmp_path, school, pupils_csv(ROLL + ADMISSIONS), "e3.csv")
        assert e3.status == "applied" and active_learners(school).count() == 14

        with django_capture_on_commit_callbacks(execute=True):
            assert runs_apply_queued() == [e2.pk]

        e2.refresh_from_db()
        assert (e2.status, e2.superseded_by_id, e2.file_path) == ("superseded", e3.pk, "")
        assert not path.exists()
        assert (e2.created, e2.deactivated) == (0, 0)
        assert active_learners(school).count() == 14
        assert (
            AuditEvent.objects.filter(action="provisioning.run_superseded", organisation=school).count() == 1
        )
        status = client.get(
            reverse("provisioning:api_run", args=[e2.pk]), HTTP_AUTHORIZATION=f"Bearer {token}"
        ).json()
        assert (status["status"], status["superseded_by"]) == ("superseded", e3.pk)

    def test_a_run_a_killed_worker_left_running_is_superseded_and_its_file_deleted(
        self, wales, tmp_path, django_capture_on_commit_callbacks
    ):
        school = wales.secondary
        provision(tmp_path, school, pupils_csv(ROLL), "e1.csv")
        killed = queue(school, pupils_csv(ROLL))
        path = Path(killed.file_path)
        ProvisioningRun.objects.filter(pk=killed.pk).update(
            status="running", started_at=timezone.now() - timedelta(hours=2)
        )
        provision(tmp_path, school, pupils_csv(ROLL + ADMISSIONS), "e3.csv")

        with django_capture_on_commit_callbacks(execute=True):
            runs_apply_queued()

        killed.refresh_from_db()
        assert (killed.status, killed.file_path) == ("superseded", "") and not path.exists()
        assert active_learners(school).count() == 14

    def test_a_held_run_is_superseded_when_a_newer_extract_is_applied(
        self, wales, tmp_path, django_capture_on_commit_callbacks
    ):
        school = wales.secondary
        provision(tmp_path, school, pupils_csv(ROLL), "e1.csv")
        held = provision(tmp_path, school, pupils_csv(ROLL[:1]), "e2.csv")  # would deactivate nine of ten
        assert held.status == "held" and Path(held.file_path).exists()
        path = Path(held.file_path)

        with django_capture_on_commit_callbacks(execute=True):
            provision(tmp_path, school, pupils_csv(ROLL + ADMISSIONS), "e3.csv")

        held.refresh_from_db()
        assert (held.status, held.file_path) == ("superseded", "") and not path.exists()
        assert active_learners(school).count() == 14

    def test_a_newer_extract_applied_while_a_run_was_being_read_still_supersedes_it(
        self, wales, monkeypatch, django_capture_on_commit_callbacks
    ):
        school = wales.secondary
        run_apply(run=queue(school, pupils_csv(ROLL)), today=TODAY)
        older = queue(school, pupils_csv(ROLL))
        newer = queue(school, pupils_csv(ROLL + ADMISSIONS))
        decide = ordering.run_decide

        def overtaken(run, **kw):
            decision = decide(run, **kw)  # made before the newer run is applied: apply
            if run.pk == older.pk:
                monkeypatch.setattr(ordering, "run_decide", decide)
                run_apply(run=newer, today=TODAY)  # another worker, between the check and the transaction
            return decision

        monkeypatch.setattr(ordering, "run_decide", overtaken)
        path = Path(older.file_path)
        with django_capture_on_commit_callbacks(execute=True):
            run_apply(run=older, today=TODAY)

        older.refresh_from_db()
        assert (older.status, older.superseded_by_id, older.file_path) == ("superseded", newer.pk, "")
        assert not path.exists() and active_learners(school).count() == 14

    def test_approving_a_held_run_older_than_an_applied_one_supersedes_it(self, wales, digital_champion):
        school = wales.secondary
        run_apply(run=queue(school, pupils_csv(ROLL)), today=TODAY)
        held = queue(school, pupils_csv(ROLL[:1]))
        newer = queue(school, pupils_csv(ROLL + ADMISSIONS))
        run_apply(run=held, today=TODAY)
        held.refresh_from_db()
        assert held.status == "held"
        # a held run that applying the newer one did not reach (held before an upgrade, say)
        ProvisioningRun.objects.filter(pk=held.pk).update(status="queued")
        run_apply(run=newer, today=TODAY)
        ProvisioningRun.objects.filter(pk=held.pk).update(status="held")

        run_approve(run=held, actor=digital_champion)

        held.refresh_from_db()
        assert (held.status, held.superseded_by_id) == ("superseded", newer.pk)
        assert active_learners(school).count() == 14

    def test_queued_runs_of_one_school_are_applied_oldest_first_and_none_is_superseded(self, wales):
        school = wales.secondary
        first = queue(school, pupils_csv(ROLL))
        second = queue(school, pupils_csv(ROLL + ADMISSIONS))
        runs_apply_queued()
        statuses = dict(ProvisioningRun.objects.values_list("pk", "status"))
        assert (statuses[first.pk], statuses[second.pk]) == ("applied", "applied")
        assert active_learners(school).count() == 14

    def test_a_staff_export_does_not_supersede_an_older_pupil_export(self, wales, tmp_path):
        school = wales.secondary
        pupils = queue(school, pupils_csv(ROLL))
        provision(tmp_path, school, staff_csv([staff("RMO", "Morgan", "Rhys")]), "staff.csv")
        runs_apply_queued()
        pupils.refresh_from_db()
        assert pupils.status == "applied" and active_learners(school).count() == 10

    @pytest.mark.parametrize(
        ("language", "says"),
        [
            ("en", "A newer extract of this school had already been applied"),
            ("cy", "Roedd detholiad mwy diweddar o'r ysgol hon wedi'i gymhwyso'n barod"),
        ],
    )
    def test_the_run_page_says_why_it_was_superseded(
        self, client, wales, digital_champion, login, language, says
    ):
        school = wales.secondary
        run_apply(run=queue(school, pupils_csv(ROLL)), today=TODAY)
        older = queue(school, pupils_csv(ROLL))
        run_apply(run=queue(school, pupils_csv(ROLL + ADMISSIONS)), today=TODAY)
        run_apply(run=older, today=TODAY)
        client = login(digital_champion)
        client.cookies["django_language"] = language
        html = client.get(
            reverse("provisioning:run_detail", args=[older.pk]), HTTP_ACCEPT_LANGUAGE=language
        ).content.decode()
        assert says in html
        label = "Superseded by a newer extract" if language == "en" else "Wedi&#x27;i ddisodli"
        assert label in html


def bulk(learners, stamp):
    return oneroster_zip(learners=[{"n": n} for n in learners], stamp=stamp)


def delta(learners, stamp):
    return oneroster_zip(learners=[{"n": n} for n in learners], mode="delta", stamp=stamp)


class OneRosterOrderTests:
    def test_a_delta_older_than_the_last_applied_bulk_is_superseded(self, wales):
        school = wales.secondary
        applied = queue(school, bulk(range(1, 6), "2026-11-05T09:00:00Z"))
        run_apply(run=applied, today=TODAY)
        late = queue(school, delta([6], "2026-11-04T09:00:00Z"))  # uploaded later, made before the bulk

        run_apply(run=late, today=TODAY)

        late.refresh_from_db()
        assert (late.status, late.superseded_by_id, late.file_path) == ("superseded", applied.pk, "")
        assert active_learners(school).count() == 5

    def test_the_provision_command_says_a_late_delta_was_superseded(self, wales, tmp_path):
        school = wales.secondary
        applied = queue(school, bulk(range(1, 6), "2026-11-05T09:00:00Z"))
        run_apply(run=applied, today=TODAY)
        path = tmp_path / "late.zip"
        path.write_bytes(delta([6], "2026-11-04T09:00:00Z"))
        with pytest.raises(CommandError, match=f"superseded: nothing was applied \\(run {applied.pk}"):
            call_command("provision", str(path), "--school", school.code, verbosity=0)
        assert active_learners(school).count() == 5

    def test_deltas_apply_in_order_after_the_bulk_they_follow(self, wales):
        school = wales.secondary
        run_apply(run=queue(school, bulk(range(1, 6), "2026-11-05T09:00:00Z")), today=TODAY)
        first = queue(school, delta([6], "2026-11-06T09:00:00Z"))
        second = queue(school, delta([7], "2026-11-07T09:00:00Z"))

        run_apply(run=second, today=TODAY)  # its worker came first: it waits for the delta it follows
        second.refresh_from_db()
        assert second.status == "queued" and active_learners(school).count() == 5

        assert runs_apply_queued() == [first.pk, second.pk]
        statuses = dict(ProvisioningRun.objects.values_list("pk", "status"))
        assert (statuses[first.pk], statuses[second.pk]) == ("applied", "applied")
        assert active_learners(school).count() == 7

    def test_a_delta_with_no_bulk_before_it_is_held_not_guessed(self, wales, digital_champion):
        school = wales.secondary
        gap = queue(school, delta([1, 2], "2026-11-06T09:00:00Z"))

        run_apply(run=gap, today=TODAY)

        gap.refresh_from_db()
        assert (gap.status, gap.hold_reason) == ("held", "gap") and Path(gap.file_path).exists()
        assert not active_learners(school).exists()
        run_approve(run=gap, actor=digital_champion)  # a person may decide nothing is missing
        gap.refresh_from_db()
        assert gap.status == "applied" and active_learners(school).count() == 2

    def test_a_delta_whose_predecessor_failed_is_held(self, wales):
        school = wales.secondary
        run_apply(run=queue(school, bulk(range(1, 6), "2026-11-05T09:00:00Z")), today=TODAY)
        lost = queue(school, delta([6], "2026-11-06T09:00:00Z"))
        ProvisioningRun.objects.filter(pk=lost.pk).update(status="failed", error_code="missing_file")
        after = queue(school, delta([7], "2026-11-07T09:00:00Z"))

        run_apply(run=after, today=TODAY)

        after.refresh_from_db()
        assert (after.status, after.hold_reason) == ("held", "gap")
        assert active_learners(school).count() == 5

    def test_a_delta_held_behind_a_held_bulk_is_queued_again_when_the_bulk_is_approved(
        self, wales, digital_champion, django_capture_on_commit_callbacks
    ):
        school = wales.secondary
        run_apply(run=queue(school, bulk(range(1, 11), "2026-11-05T09:00:00Z")), today=TODAY)
        braked = queue(school, bulk([1], "2026-11-06T09:00:00Z"))
        run_apply(run=braked, today=TODAY)
        follows = queue(school, delta([2], "2026-11-07T09:00:00Z"))
        run_apply(run=follows, today=TODAY)
        braked.refresh_from_db()
        follows.refresh_from_db()
        assert (braked.status, follows.status, follows.hold_reason) == ("held", "held", "gap")

        with django_capture_on_commit_callbacks(execute=True):
            run_approve(run=braked, actor=digital_champion)

        follows.refresh_from_db()
        assert follows.status == "applied"
        assert set(active_learners(school).values_list("admission_number", flat=True)) == {"000001", "000002"}
