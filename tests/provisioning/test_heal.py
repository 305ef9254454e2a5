"""Uploads heal: a broker that is down costs the school nothing, and a client's retry never makes a second run."""

import hashlib
import socket

import pytest
from django.utils import timezone

from accounts.models import AuditEvent
from provisioning import runs
from provisioning.models import ProvisioningRun
from provisioning.services import token_issue
from ump.celery import app as celery_app

from .extracts import pupil, pupils_csv

URL = "/api/provisioning/extracts/"


def post(client, token, data):
    return client.post(
        URL, data=data, content_type="application/octet-stream", HTTP_AUTHORIZATION=f"Bearer {token}"
    )


def _dead_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def broker_down():
    """Celery sends to a Redis where nothing listens, as when the broker is away; restored afterwards."""
    conf = celery_app.conf
    saved = (conf.task_always_eager, conf.broker_url, conf.task_publish_retry_policy)
    pool, celery_app._pool = celery_app._pool, None  # the next send connects afresh, to the new address
    conf.task_always_eager = False
    conf.broker_url = f"redis://127.0.0.1:{_dead_port()}/0"
    conf.task_publish_retry_policy = {"max_retries": 1, "interval_start": 0, "interval_step": 0.1}
    yield
    conf.task_always_eager, conf.broker_url, conf.task_publish_retry_policy = saved
    celery_app._pool = pool


@pytest.mark.django_db(transaction=True)
def test_an_upload_while_the_broker_is_down_is_accepted_and_the_sweep_applies_it(client, wales, broker_down):
    token = token_issue(organisation=wales.secondary)
    response = post(client, token, pupils_csv([pupil(1), pupil(2)]))
    assert response.status_code == 202
    run = ProvisioningRun.objects.get(pk=response.json()["run"])
    assert run.status == ProvisioningRun.Status.QUEUED and run.file_path
    # the hourly sweep (in-process here) applies what the broker never carried
    assert runs.runs_apply_queued() == [run.pk]
    run.refresh_from_db()
    assert (run.status, run.created) == (ProvisioningRun.Status.APPLIED, 2)


@pytest.mark.django_db
class RetryTests:
    def test_a_retried_upload_returns_the_first_run(self, client, wales, settings):
        token = token_issue(organisation=wales.secondary)
        extract = pupils_csv([pupil(1), pupil(2)])
        first = post(client, token, extract)
        again = post(client, token, extract)
        assert (first.status_code, again.status_code) == (202, 202)
        assert again.json()["run"] == first.json()["run"]
        assert ProvisioningRun.objects.count() == 1
        assert len(list((settings.UMP_UPLOAD_DIR).iterdir())) == 1  # the retry's copy is not kept
        retry = AuditEvent.objects.filter(action="provisioning.upload").order_by("pk").last()
        assert retry.details == {"run": first.json()["run"], "bytes": len(extract), "retry": True}

    def test_only_a_keyed_hash_of_the_content_is_stored(self, client, wales):
        token = token_issue(organisation=wales.secondary)
        extract = pupils_csv([pupil(1)])
        run = ProvisioningRun.objects.get(pk=post(client, token, extract).json()["run"])
        assert len(run.content_hash) == 64
        assert run.content_hash != hashlib.sha256(extract).hexdigest()

    def test_the_same_extract_for_another_school_is_its_own_run(self, client, wales):
        extract = pupils_csv([pupil(1)])
        one = post(client, token_issue(organisation=wales.secondary), extract).json()["run"]
        two = post(client, token_issue(organisation=wales.primary), extract).json()["run"]
        assert one != two

    def test_a_different_extract_is_a_new_run(self, client, wales):
        token = token_issue(organisation=wales.secondary)
        one = post(client, token, pupils_csv([pupil(1)])).json()["run"]
        two = post(client, token, pupils_csv([pupil(2)])).json()["run"]
        assert one != two

    def test_after_the_window_a_finished_run_is_not_the_answer(self, client, wales):
        token = token_issue(organisation=wales.secondary)
        extract = pupils_csv([pupil(1)])
        one = post(client, token, extract).json()["run"]
        ProvisioningRun.objects.filter(pk=one).update(
            status=ProvisioningRun.Status.APPLIED, created_at=timezone.now() - runs.RETRY_WINDOW * 2
        )
        assert post(client, token, extract).json()["run"] != one

    def test_a_failed_run_is_tried_again(self, client, wales):
        token = token_issue(organisation=wales.secondary)
        extract = pupils_csv([pupil(1)])
        one = post(client, token, extract).json()["run"]
        ProvisioningRun.objects.filter(pk=one).update(status=ProvisioningRun.Status.FAILED)
        assert post(client, token, extract).json()["run"] != one
