"""Workers heal: a broker that is down costs a school nothing, a retry never makes a second run, and runs a dead
worker left "running" are queued again within minutes."""

import contextlib
import hashlib
import importlib
import socket
from datetime import timedelta

import psycopg
import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from accounts.models import AuditEvent
from provisioning import runs
from provisioning.models import ProvisioningRun
from provisioning.services import token_issue
from ump.celery import app as celery_app

from .extracts import pupil, pupils_csv

# every app's tasks, registered (as the worker's autodiscovery does), for the tests of all of them
TASK_MODULES = [
    importlib.import_module(f"{app}.tasks") for app in ("accounts", "managing", "passwords", "provisioning")
]

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


@pytest.mark.django_db
class ResumeTests:
    """Runs a dead worker left "running" are queued again by the sweep beat runs each minute."""

    def left_running(self, wales, started_at):
        run = runs.run_create(
            organisation=wales.secondary, data=pupils_csv([pupil(1)]), source=ProvisioningRun.Source.API
        )
        ProvisioningRun.objects.filter(pk=run.pk).update(
            status=ProvisioningRun.Status.RUNNING, started_at=started_at
        )
        return run

    @pytest.mark.postgres_only(reason="a living worker is told from a dead one by its session advisory lock")
    def test_a_run_whose_worker_died_a_minute_ago_is_queued_again(self, wales):
        run = self.left_running(wales, timezone.now() - timedelta(minutes=1))
        assert runs.runs_resume() == [run.pk]
        run.refresh_from_db()
        assert (run.status, run.started_at) == (ProvisioningRun.Status.QUEUED, None)
        assert run.file_path  # its extract waits for the worker the sweep queued it for

    @pytest.mark.postgres_only(reason="a living worker is told from a dead one by its session advisory lock")
    def test_a_run_a_living_worker_holds_is_left_alone(self, wales):
        run = self.left_running(wales, timezone.now() - timedelta(minutes=50))
        with _worker_connection() as worker:  # the living worker's session
            worker.execute("SELECT pg_advisory_lock(%s, %s)", [runs.RUN_LOCK_SPACE, run.pk])
            assert runs.runs_resume() == []
        assert runs.runs_resume() == [run.pk]  # the worker's connection is gone, and its lock with it

    @pytest.mark.postgres_only(reason="a living worker is told from a dead one by its session advisory lock")
    def test_the_process_applying_a_run_holds_its_lock_until_it_is_done(self, wales, monkeypatch):
        run = runs.run_create(
            organisation=wales.secondary, data=pupils_csv([pupil(1)]), source=ProvisioningRun.Source.API
        )
        seen = []
        apply = runs._runs_apply

        def applying(started, **kw):
            seen.append(_lock_free(run.pk))  # as the sweep, from its own connection, sees it
            return apply(started, **kw)

        monkeypatch.setattr(runs, "_runs_apply", applying)
        runs.run_apply(run=run)
        run.refresh_from_db()
        assert (seen, run.status, _lock_free(run.pk)) == ([False], ProvisioningRun.Status.APPLIED, True)

    def test_without_advisory_locks_a_run_is_abandoned_after_the_stale_time(self, wales, monkeypatch):
        started = timezone.now() - timedelta(minutes=10)
        run = self.left_running(wales, started)
        monkeypatch.setattr(runs.connection, "vendor", "sqlite")
        assert runs.runs_resume(now=started + runs.STALE_AFTER / 2) == []
        assert runs.runs_resume(now=started + runs.STALE_AFTER * 2) == [run.pk]


@contextlib.contextmanager
def _worker_connection():
    """A second database session, as another process has (autocommit; closed on leaving)."""
    db = connection.settings_dict
    with psycopg.connect(
        host=db["HOST"] or "127.0.0.1",
        port=db["PORT"] or 5432,
        user=db["USER"],
        password=db["PASSWORD"] or None,
        dbname=db["NAME"],
        autocommit=True,
    ) as conn:
        yield conn


def _lock_free(run_id: int) -> bool:
    with _worker_connection() as other:
        return other.execute("SELECT pg_try_advisory_lock(%s, %s)", [runs.RUN_LOCK_SPACE, run_id]).fetchone()[
            0
        ]


def test_beat_queues_a_dead_workers_run_again_every_minute():
    entry = next(
        e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"] == "provisioning.tasks.resume_runs"
    )
    assert entry["schedule"] <= timedelta(minutes=5)


def test_the_visibility_timeout_outlasts_every_tasks_time_limit():
    limits = [task.time_limit for name, task in celery_app.tasks.items() if task.time_limit and "." in name]
    assert max(limits) == settings.CELERY_LONGEST_TASK_SECONDS
    assert settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] > max(limits)


def test_only_idempotent_tasks_are_acknowledged_late():
    late = {
        name for name, task in celery_app.tasks.items() if task.acks_late and not name.startswith("celery.")
    }
    assert late == {
        "provisioning.tasks.apply_run",
        "provisioning.tasks.apply_queued_runs",
        "passwords.tasks.group_reset_run",
        "accounts.tasks.account_request_process",
    }
