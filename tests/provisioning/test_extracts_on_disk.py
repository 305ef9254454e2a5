"""No plaintext UPN on disk: extracts are sealed as they are written, expire when held, go when their run ends."""

import importlib
from datetime import timedelta
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings as django_settings
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from accounts import sealing
from accounts.models import AuditEvent
from provisioning.models import ProvisioningRun
from provisioning.runs import run_apply, run_approve, run_create, runs_apply_queued, runs_expire_held
from provisioning.services import token_issue
from provisioning.tasks import expire_held_runs

from .conftest import TODAY
from .extracts import oneroster_zip, pupil, pupils_csv, upn

pytestmark = pytest.mark.django_db

ROLL = [pupil(n) for n in range(1, 11)]


def queue(school, data):
    return run_create(organisation=school, data=data, source=ProvisioningRun.Source.COMMAND)


def held_run(school):
    """A run held by the brake: the school has ten learners and the extract lists one."""
    run_apply(run=queue(school, pupils_csv(ROLL)), today=TODAY)
    run = queue(school, pupils_csv(ROLL[:1]))
    run_apply(run=run, today=TODAY)
    run.refresh_from_db()
    assert run.status == "held"
    return run


def held_for(run, days):
    ProvisioningRun.objects.filter(pk=run.pk).update(finished_at=timezone.now() - timedelta(days=days))


class NoPlaintextTests:
    def test_after_every_journey_the_upload_folder_holds_no_plaintext_upn(self, client, wales, settings):
        school = wales.secondary
        token = token_issue(organisation=school)
        uploaded = client.post(
            "/api/provisioning/extracts/",
            data=pupils_csv([pupil(n) for n in range(20, 30)]),
            content_type="application/octet-stream",
            HTTP_AUTHORIZATION=f"Bearer {token}",
        )
        assert uploaded.status_code == 202  # queued, waiting for a worker
        held_run(school)
        killed = queue(wales.other_school, pupils_csv([pupil(n, est=2001) for n in range(1, 6)]))
        ProvisioningRun.objects.filter(pk=killed.pk).update(status="running", started_at=timezone.now())
        gap = queue(
            wales.primary, oneroster_zip(school=wales.primary.code, learners=[{"n": 40}], mode="delta")
        )
        run_apply(run=gap, today=TODAY)
        gap.refresh_from_db()
        assert gap.hold_reason == "gap"

        files = [p for p in Path(settings.UMP_UPLOAD_DIR).rglob("*") if p.is_file()]
        assert len(files) == 4  # queued, held, killed, held for a gap
        upns = [upn(n) for n in (*range(1, 11), *range(20, 30), 40)] + [upn(n, est=2001) for n in range(1, 6)]
        for path in files:
            raw = path.read_bytes()
            found = [u for u in upns if u.encode() in raw or u.encode("utf-16-le") in raw]
            assert not found, f"{path.name} holds plaintext UPNs"
            assert raw.startswith(sealing.FILE_MAGIC)

    def test_a_run_a_killed_worker_left_is_applied_by_the_sweep_and_its_file_deleted(self, wales):
        killed = queue(wales.secondary, pupils_csv(ROLL))
        path = Path(killed.file_path)
        ProvisioningRun.objects.filter(pk=killed.pk).update(
            status="running", started_at=timezone.now() - timedelta(hours=2)
        )
        runs_apply_queued()
        killed.refresh_from_db()
        assert (killed.status, killed.created, killed.file_path) == ("applied", 10, "") and not path.exists()

    def test_waiting_extracts_kept_before_sealing_are_sealed_by_the_migration(self, wales, settings):
        run = queue(wales.secondary, b"")
        plain = pupils_csv(ROLL)
        Path(run.file_path).write_bytes(plain)  # as an upload was kept before this release
        migration = importlib.import_module(
            "provisioning.migrations.0003_runs_superseded_expired_and_extract_order"
        )
        migration.seal_waiting_extracts(apps, None)
        migration.seal_waiting_extracts(apps, None)  # a second pass leaves sealed files alone
        assert sealing.sealed_file_read(Path(run.file_path)) == plain
        run_apply(run=run, today=TODAY)
        run.refresh_from_db()
        assert (run.status, run.created) == ("applied", 10)


class HeldExpiryTests:
    def test_the_default_is_fourteen_days_and_the_task_runs_every_hour(self):
        assert django_settings.UMP_PROVISIONING_HELD_DAYS == 14
        entry = django_settings.CELERY_BEAT_SCHEDULE["provisioning-expire-held"]
        assert entry["task"] == expire_held_runs.name
        assert entry["schedule"].total_seconds() == 3600

    def test_a_run_held_longer_than_the_setting_expires_and_its_file_is_deleted(self, wales, settings):
        settings.UMP_PROVISIONING_HELD_DAYS = 14
        old = held_run(wales.secondary)
        path = Path(old.file_path)
        held_for(old, 15)
        recent = held_run(wales.other_school)
        held_for(recent, 13)

        assert expire_held_runs.delay().get() == [old.pk]

        old.refresh_from_db()
        recent.refresh_from_db()
        assert (old.status, old.file_path) == ("expired", "") and not path.exists()
        assert recent.status == "held" and Path(recent.file_path).exists()
        assert AuditEvent.objects.filter(
            action="provisioning.run_expired", organisation=wales.secondary
        ).exists()
        assert runs_expire_held() == []

    @pytest.mark.parametrize(
        ("language", "says"),
        [
            ("en", "It waited for approval for more than 14 days, so its extract was deleted."),
            ("cy", "Bu'n aros i gael ei gymeradwyo am fwy na 14 diwrnod, felly dilëwyd ei ddetholiad."),
        ],
    )
    def test_the_run_page_says_why_it_expired(self, client, wales, digital_champion, login, language, says):
        run = held_run(wales.secondary)
        held_for(run, 15)
        runs_expire_held()
        client = login(digital_champion)
        client.cookies["django_language"] = language
        html = client.get(reverse("provisioning:run_detail", args=[run.pk]), HTTP_ACCEPT_LANGUAGE=language)
        assert says in html.content.decode()


class RotateKeysTests:
    def test_rotate_keys_reseals_waiting_extracts_and_the_run_still_applies(
        self, wales, settings, digital_champion, capsys
    ):
        run = held_run(wales.secondary)
        path = Path(run.file_path)
        old_key = sealing.sealed_file_key(path)
        settings.UMP_SEAL_KEYS = [sealing.generate_key(), *settings.UMP_SEAL_KEYS]

        call_command("rotate_keys", "--dry-run", verbosity=2)
        assert "provisioning extracts (files): 1 re-sealed" in capsys.readouterr().out
        assert sealing.sealed_file_key(path) == old_key

        call_command("rotate_keys")
        assert sealing.sealed_file_key(path) != old_key
        settings.UMP_SEAL_KEYS = settings.UMP_SEAL_KEYS[:1]  # the old key is gone
        run_approve(run=run, actor=digital_champion)
        run.refresh_from_db()
        assert (run.status, run.file_path) == ("applied", "") and not path.exists()
