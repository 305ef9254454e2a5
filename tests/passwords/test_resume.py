"""Group resets a dead worker left resume by themselves: the sweep beat runs each minute, tested with set times."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from passwords import selectors, services
from passwords.models import GroupResetJob

from .test_group_reset import REG, drawn, make_group

pytestmark = pytest.mark.django_db


class Crash(Exception):
    pass


def killed_mid_job(wales, teacher, monkeypatch, size=250):
    """A job a worker died in after its first batch: running, part done, its last sign of life recorded."""
    make_group(wales.secondary, size)
    job = services.group_reset_start(actor=teacher, organisation=wales.secondary, group_kind=REG, group="7W")

    def crash(job_id):
        raise Crash

    monkeypatch.setattr(services, "_batch_committed", crash)
    with pytest.raises(Crash):
        services.group_reset_apply(job_id=job.pk)
    monkeypatch.undo()
    job.refresh_from_db()
    assert (job.status, job.done) == (GroupResetJob.Status.RUNNING, services.BATCH_SIZE)
    return job


def test_a_job_a_killed_worker_left_is_resumed_by_the_sweep(
    wales, teacher, monkeypatch, django_capture_on_commit_callbacks
):
    job = killed_mid_job(wales, teacher, monkeypatch)
    died = job.progress_at
    assert services.group_resets_resume(now=died + timedelta(minutes=1)) == []  # it may still be working
    with django_capture_on_commit_callbacks(execute=True):  # tasks are eager here: the job runs
        assert services.group_resets_resume(now=died + timedelta(minutes=3)) == [job.pk]
    job.refresh_from_db()
    assert (job.status, job.done, job.attempts) == (GroupResetJob.Status.DONE, 250, 2)
    assert selectors.shown_passwords(list(drawn(job))) == drawn(job)


def test_a_job_queued_again_is_not_queued_again_until_it_stalls_again(wales, teacher, monkeypatch):
    job = killed_mid_job(wales, teacher, monkeypatch)
    later = job.progress_at + timedelta(minutes=3)
    assert services.group_resets_resume(now=later) == [
        job.pk
    ]  # on commit: never here (the test's transaction)
    assert services.group_resets_resume(now=later + timedelta(minutes=1)) == []
    assert services.group_resets_resume(now=later + timedelta(minutes=3)) == [job.pk]


def test_a_queued_job_no_worker_took_is_resumed(wales, teacher):
    make_group(wales.secondary, 3)
    job = services.group_reset_start(actor=teacher, organisation=wales.secondary, group_kind=REG, group="7W")
    assert services.group_resets_resume(now=job.created_at + timedelta(minutes=1)) == []
    assert services.group_resets_resume(now=job.created_at + timedelta(minutes=3)) == [job.pk]


def test_a_job_that_keeps_dying_is_failed_not_queued_for_ever(wales, teacher, monkeypatch):
    job = killed_mid_job(wales, teacher, monkeypatch)
    GroupResetJob.objects.filter(pk=job.pk).update(attempts=services.GROUP_RESET_MAX_ATTEMPTS)
    assert services.group_resets_resume(now=job.progress_at + timedelta(minutes=3)) == []
    job.refresh_from_db()
    assert (job.status, job.done) == (GroupResetJob.Status.FAILED, services.BATCH_SIZE)


def test_finished_jobs_are_left_alone(wales, teacher):
    make_group(wales.secondary, 3)
    job = services.group_reset_start(actor=teacher, organisation=wales.secondary, group_kind=REG, group="7W")
    services.group_reset_apply(job_id=job.pk)
    assert services.group_resets_resume(now=timezone.now() + timedelta(hours=1)) == []


def test_beat_resumes_a_dead_workers_job_within_five_minutes():
    entry = next(
        e
        for e in settings.CELERY_BEAT_SCHEDULE.values()
        if e["task"] == "passwords.tasks.group_resets_resume"
    )
    assert services.GROUP_RESET_STALLED + entry["schedule"] <= timedelta(minutes=5)
