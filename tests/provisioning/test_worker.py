"""The hourly task and the Provisioning Client under a real Celery worker with Redis."""

import pytest
from django.conf import settings
from django.core.management import call_command

from accounts.models import Account
from provisioning.models import ProvisioningRun
from provisioning.runs import run_create
from provisioning.services import token_issue
from provisioning.tasks import apply_queued_runs
from tests.celery_worker import celery_worker, celery_worker_factory  # noqa: F401 - fixtures

from .extracts import pupil, pupils_csv

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]


def test_the_hourly_schedule_names_the_task():
    entry = settings.CELERY_BEAT_SCHEDULE["provisioning-apply-queued"]
    assert entry["task"] == apply_queued_runs.name
    assert entry["schedule"].total_seconds() == 3600


def test_the_hourly_task_applies_queued_extracts(wales, celery_worker):  # noqa: F811
    run = run_create(organisation=wales.secondary, data=pupils_csv([pupil(1), pupil(2)]), source="command")
    assert run.status == "queued"
    apply_queued_runs.delay()
    # the run is marked applied when its transaction commits; its extract is deleted just after
    celery_worker.wait_for(
        lambda: ProvisioningRun.objects.filter(pk=run.pk, status="applied", file_path="").exists(),
        message="run applied and its extract deleted",
    )
    run.refresh_from_db()
    assert run.created == 2
    assert Account.objects.filter(organisation=wales.secondary, kind="learner").count() == 2


def test_the_client_uploads_and_the_worker_applies(wales, celery_worker, live_server, tmp_path, capsys):  # noqa: F811
    token = token_issue(organisation=wales.secondary)
    path = tmp_path / "pupils.csv"
    path.write_bytes(pupils_csv([pupil(1), pupil(2), pupil(3, upn_value="X00180001701A")]))
    call_command(
        "provisioning_client",
        str(path),
        "--url",
        live_server.url,
        "--token",
        token,
        "--poll",
        "0.1",
        "--timeout",
        "60",
    )
    out = capsys.readouterr().out
    assert '"status": "applied"' in out and '"created": 2' in out and "upn_temporary" in out
    assert "X00180001701A" not in out
