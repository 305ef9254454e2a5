"""Bulk work has a queue of its own, so a long sync never holds up work someone is waiting for (CELERY_TASK_ROUTES)."""

import pytest
from django.conf import settings

from accounts.tasks import lifecycle_sweep_daily
from managing.tasks import account_request_process
from passwords.tasks import group_reset_run, group_resets_resume
from provisioning.tasks import apply_queued_runs, apply_run, expire_held_runs, resume_runs
from ump.celery import app

BULK = [apply_run, apply_queued_runs, resume_runs, expire_held_runs, lifecycle_sweep_daily]
INTERACTIVE = [group_reset_run, group_resets_resume, account_request_process]


def queue_of(name):
    """The queue a message for this task is sent to, as the app's router decides it when it is sent."""
    return app.amqp.router.route({}, name)["queue"].name


@pytest.mark.parametrize("task", BULK, ids=lambda t: t.name)
def test_bulk_tasks_go_to_the_provisioning_queue(task):
    assert settings.UMP_BULK_QUEUE == "provisioning"
    assert queue_of(task.name) == "provisioning"


@pytest.mark.parametrize("task", INTERACTIVE, ids=lambda t: t.name)
def test_interactive_tasks_go_to_the_default_queue(task):
    assert queue_of(task.name) == "celery" == settings.CELERY_TASK_DEFAULT_QUEUE


def test_every_task_of_the_portal_is_one_or_the_other():
    ours = {name for name in app.tasks if not name.startswith("celery.")}
    assert ours == {task.name for task in BULK + INTERACTIVE}


def test_beat_sends_the_hourly_sync_to_the_provisioning_queue():
    assert queue_of(settings.CELERY_BEAT_SCHEDULE["provisioning-apply-queued"]["task"]) == "provisioning"
    assert queue_of(settings.CELERY_BEAT_SCHEDULE["passwords-group-resets-resume"]["task"]) == "celery"
