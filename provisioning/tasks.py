"""Celery tasks: apply one queued run, the hourly sweep of queued runs, the resume of runs a dead worker left,
and the expiry of held runs.

Tasks are acknowledged when they start (settings) unless marked acks_late, which only idempotent ones are: a
redelivery after a dead worker must do no harm.
"""

from celery import shared_task

# provisioning.runs enqueues apply_run: each module imports the other as a module, never a name from it, so that
# either may be imported first.
from provisioning import runs
from provisioning.models import ProvisioningRun
from provisioning.sync import ProvisioningError


# acks_late: idempotent. A redelivered run that is applied, held or taken by another worker is skipped
# (run_apply takes only a queued run), and one a dead worker left is judged again from its extract.
@shared_task(acks_late=True, soft_time_limit=30 * 60, time_limit=35 * 60)
def apply_run(run_id: int) -> dict:
    """Apply the queued run with this id (a no-op if another worker already took it)."""
    run = ProvisioningRun.objects.filter(pk=run_id).first()
    if run is None:
        return {"run": run_id, "status": "missing"}
    try:
        report = runs.run_apply(run=run)
    except ProvisioningError:
        return {"run": run_id, "status": "skipped"}
    return {"run": run_id, **report.counts()}


# acks_late: idempotent, as apply_run, for each run it takes. Its limit is the longest of any task: the broker's
# visibility timeout (settings) is set from it.
@shared_task(acks_late=True, soft_time_limit=55 * 60, time_limit=60 * 60)
def apply_queued_runs() -> list[int]:
    """Hourly: apply every queued extract, and any a killed worker left half-done."""
    return runs.runs_apply_queued()


@shared_task(soft_time_limit=50, time_limit=60)
def resume_runs() -> list[int]:
    """Each minute: queue again the runs a dead worker left running."""
    return runs.runs_resume()


@shared_task(soft_time_limit=10 * 60, time_limit=15 * 60)
def expire_held_runs() -> list[int]:
    """Hourly: expire held runs older than UMP_PROVISIONING_HELD_DAYS and delete their extracts."""
    return runs.runs_expire_held()
