import pytest
from django.urls import reverse

from accounts.models import AuditEvent
from accounts.sealing import unseal
from passwords import selectors, services
from passwords.models import GroupResetItem, GroupResetJob, ShownPassword
from tests.factories import learner

REG = GroupResetJob.GroupKind.REGISTRATION_GROUP


def make_group(school, size, reg="7W"):
    return [
        learner(school, legal_forename=f"Pupil{i:03d}", legal_surname=f"Teulu{i:03d}", registration_group=reg,
                year_group="7", classes=["7Ma1"] if i % 2 else ["7Cy2"])
        for i in range(size)
    ]  # fmt: skip


def drawn(job):
    return {item.account_id: unseal(item.sealed) for item in job.items.all()}


@pytest.mark.django_db
class GroupResetServiceTests:
    def test_every_learner_in_the_group_gets_their_own_password(self, wales, teacher):
        pupils = make_group(wales.secondary, 12)
        outsider = learner(wales.secondary, registration_group="7E")
        job = services.group_reset_start(
            actor=teacher, organisation=wales.secondary, group_kind=REG, group="7W"
        )
        services.group_reset_apply(job_id=job.pk)
        job.refresh_from_db()
        assert (job.status, job.total, job.done) == (GroupResetJob.Status.DONE, 12, 12)
        shown = selectors.shown_passwords([p.pk for p in pupils] + [outsider.pk])
        assert set(shown) == {p.pk for p in pupils}
        assert len(set(shown.values())) == 12  # never one shared password
        assert shown == drawn(job)
        for pupil in pupils:
            pupil.refresh_from_db()
            assert not pupil.has_usable_password()  # hashed at first sign-in, from the sealed copy

    def test_a_welsh_medium_schools_learners_get_welsh_words_whatever_the_readers_language(
        self, wales, teacher
    ):
        import re

        from passwords.words import WORDS

        wales.secondary.language_medium = "welsh"
        wales.secondary.save()
        pupils = make_group(wales.secondary, 10)
        job = services.group_reset_start(
            actor=teacher, organisation=wales.secondary, group_kind=REG, group="7W"
        )
        words = {
            w.lower() for p in drawn(job).values() for w in re.findall(r"[A-Z][a-z]*", p)
        }  # two words each
        assert words <= set(WORDS["cy"]) and words - set(WORDS["en"])
        services.password_reset(account=pupils[0], actor=teacher)  # one learner's reset too
        one = selectors.shown_password(pupils[0])
        assert {w.lower() for w in re.findall(r"[A-Z][a-z]*", one)} <= set(WORDS["cy"])

    def test_a_password_drawn_twice_is_drawn_again(self, wales, teacher, monkeypatch):
        pupils = make_group(wales.secondary, 3)
        draws = iter(["Potato97", "Potato97", "Potato97", "Otters12", "Potato97", "Badgers45"])
        monkeypatch.setattr(services, "learner_password", lambda language: next(draws))
        job = services.group_reset_start(
            actor=teacher, organisation=wales.secondary, group_kind=REG, group="7W"
        )
        assert sorted(drawn(job).values()) == ["Badgers45", "Otters12", "Potato97"]
        assert set(drawn(job)) == {p.pk for p in pupils}

    def test_class_and_year_groups(self, wales, teacher):
        pupils = make_group(wales.secondary, 6)
        job = services.group_reset_start(
            actor=teacher, organisation=wales.secondary, group_kind="class", group="7Ma1"
        )
        assert job.total == 3
        job = services.group_reset_start(
            actor=teacher, organisation=wales.secondary, group_kind="year", group="7"
        )
        assert job.total == len(pupils)

    def test_deactivated_learners_are_left_alone(self, wales, teacher):
        pupils = make_group(wales.secondary, 3)
        pupils[0].status = pupils[0].Status.DEACTIVATED
        pupils[0].save(update_fields=["status"])
        job = services.group_reset_start(
            actor=teacher, organisation=wales.secondary, group_kind=REG, group="7W"
        )
        assert job.total == 2

    def test_a_rerun_after_an_interruption_gives_nobody_a_second_password(self, wales, teacher, monkeypatch):
        make_group(wales.secondary, 250)
        job = services.group_reset_start(
            actor=teacher, organisation=wales.secondary, group_kind=REG, group="7W"
        )
        planned = drawn(job)

        class Crash(Exception):
            pass

        def crash(job_id):
            raise Crash

        monkeypatch.setattr(services, "_batch_committed", crash)
        with pytest.raises(Crash):
            services.group_reset_apply(job_id=job.pk)
        job.refresh_from_db()
        assert job.status == GroupResetJob.Status.RUNNING and job.done == services.BATCH_SIZE
        printed_mid_way = selectors.shown_passwords(list(planned))
        monkeypatch.undo()
        services.group_reset_apply(job_id=job.pk)
        job.refresh_from_db()
        assert (job.status, job.done, job.attempts) == (GroupResetJob.Status.DONE, 250, 2)
        final = selectors.shown_passwords(list(planned))
        assert final == planned
        assert all(final[pk] == password for pk, password in printed_mid_way.items())

    def test_it_is_audited_without_passwords(self, wales, teacher):
        pupils = make_group(wales.secondary, 3)
        job = services.group_reset_start(
            actor=teacher, organisation=wales.secondary, group_kind=REG, group="7W"
        )
        services.group_reset_apply(job_id=job.pk)
        event = AuditEvent.objects.get(action="password.group_reset")
        assert event.actor_id == teacher.pk
        assert set(event.targets.values_list("account_id", flat=True)) == {p.pk for p in pupils}
        assert not any(password in str(event.details) for password in drawn(job).values())

    def test_a_finished_job_is_not_applied_twice(self, wales, teacher):
        make_group(wales.secondary, 2)
        job = services.group_reset_start(
            actor=teacher, organisation=wales.secondary, group_kind=REG, group="7W"
        )
        services.group_reset_apply(job_id=job.pk)
        before = dict(ShownPassword.objects.values_list("account_id", "sealed"))
        services.group_reset_apply(job_id=job.pk)
        assert dict(ShownPassword.objects.values_list("account_id", "sealed")) == before
        assert AuditEvent.objects.filter(action="password.group_reset").count() == 1


@pytest.mark.django_db
class GroupResetViewTests:
    def test_a_teacher_chooses_confirms_and_the_job_runs(
        self, wales, teacher, login, django_capture_on_commit_callbacks
    ):
        pupils = make_group(wales.secondary, 4)
        client = login(teacher)
        page = client.get(reverse("passwords:group_reset") + f"?org={wales.secondary.code}").content.decode()
        assert "7W" in page and "7Ma1" in page
        query = {"org": wales.secondary.code, "group_kind": "reg", "group": "7W"}
        confirm = client.get(reverse("passwords:group_reset_confirm"), query).content.decode()
        assert all(p.username in confirm for p in pupils)
        assert not GroupResetJob.objects.exists()  # GET changes nothing
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(reverse("passwords:group_reset_confirm"), query)
        job = GroupResetJob.objects.get()
        assert response["Location"] == reverse("passwords:group_reset_job", args=[job.pk])
        status = client.get(reverse("passwords:group_reset_status", args=[job.pk])).json()
        assert status["finished"] and status["done"] == 4
        job_page = client.get(response["Location"]).content.decode()
        assert reverse("printing:group", args=["with-password"]) in job_page

    def test_a_teacher_of_another_school_gets_404(self, wales, teacher, other_teacher, login):
        make_group(wales.secondary, 2)
        query = {"org": wales.secondary.code, "group_kind": "reg", "group": "7W"}
        client = login(other_teacher)
        assert client.get(reverse("passwords:group_reset"), {"org": wales.secondary.code}).status_code == 404
        assert client.post(reverse("passwords:group_reset_confirm"), query).status_code == 404
        job = services.group_reset_start(
            actor=teacher, organisation=wales.secondary, group_kind=REG, group="7W"
        )
        assert client.get(reverse("passwords:group_reset_job", args=[job.pk])).status_code == 404
        assert GroupResetJob.objects.count() == 1

    def test_learners_may_not_reset_groups(self, wales, secondary_learner, login):
        response = login(secondary_learner).get(
            reverse("passwords:group_reset"), {"org": wales.secondary.code}
        )
        assert response.status_code in (403, 404)
        assert not GroupResetJob.objects.exists()

    def test_an_unknown_group_is_404(self, wales, teacher, login):
        query = {"org": wales.secondary.code, "group_kind": "reg", "group": "NOPE"}
        assert login(teacher).post(reverse("passwords:group_reset_confirm"), query).status_code == 404

    def test_anonymous_is_sent_to_sign_in(self, client):
        assert client.get(reverse("passwords:group_reset")).status_code == 302


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
class GroupResetWorkerTests:
    def test_a_real_worker_resets_a_class_of_30(self, wales, teacher, celery_worker):
        pupils = make_group(wales.secondary, 30)
        job = services.group_reset_start(
            actor=teacher, organisation=wales.secondary, group_kind=REG, group="7W"
        )
        celery_worker.wait_for(
            lambda: GroupResetJob.objects.filter(pk=job.pk, status=GroupResetJob.Status.DONE).exists(),
            message="group reset finished",
        )
        assert selectors.shown_passwords([p.pk for p in pupils]) == drawn(job)

    def test_a_worker_crash_is_retried_without_second_passwords(
        self, wales, teacher, celery_worker_factory, tmp_path
    ):
        make_group(wales.secondary, 250)
        marker = tmp_path / "crashed"
        worker = celery_worker_factory(
            include=("tests.passwords.crash_once",), env={"UMP_TEST_CRASH_MARKER": str(marker)}
        )
        job = services.group_reset_start(
            actor=teacher, organisation=wales.secondary, group_kind=REG, group="7W"
        )
        planned = drawn(job)
        worker.wait_for(
            lambda: GroupResetJob.objects.filter(pk=job.pk, status=GroupResetJob.Status.DONE).exists(),
            timeout=60,
            message="group reset finished after the crash",
        )
        assert marker.read_text() == str(job.pk)  # the worker really died mid-job
        job.refresh_from_db()
        assert job.attempts == 2 and job.done == 250
        assert selectors.shown_passwords(list(planned)) == planned
        assert GroupResetItem.objects.filter(job=job, applied_at__isnull=True).count() == 0


@pytest.mark.django_db
class ResumeCommandTests:
    def stuck_job(self, wales, teacher):
        from datetime import timedelta

        from django.utils import timezone

        make_group(wales.secondary, 3)
        job = services.group_reset_start(
            actor=teacher, organisation=wales.secondary, group_kind=REG, group="7W"
        )
        GroupResetJob.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(hours=1))
        return job

    def test_dry_run_changes_nothing(self, wales, teacher):
        from django.core.management import call_command

        job = self.stuck_job(wales, teacher)
        call_command("group_resets_resume", dry_run=True, verbosity=0)
        job.refresh_from_db()
        assert job.status == GroupResetJob.Status.QUEUED

    def test_it_requeues_and_the_job_finishes_with_the_drawn_passwords(self, wales, teacher):
        from django.core.management import call_command

        job = self.stuck_job(wales, teacher)
        call_command("group_resets_resume", verbosity=0)  # tasks are eager in these tests
        job.refresh_from_db()
        assert job.status == GroupResetJob.Status.DONE
        assert selectors.shown_passwords(list(drawn(job))) == drawn(job)

    def test_fail_marks_them_failed(self, wales, teacher):
        from django.core.management import call_command

        job = self.stuck_job(wales, teacher)
        call_command("group_resets_resume", fail=True, verbosity=0)
        job.refresh_from_db()
        assert job.status == GroupResetJob.Status.FAILED
