"""Background work for passwords: group resets."""

from celery import shared_task
from django.db import DatabaseError

from passwords import services
from passwords.models import GroupResetJob


# acks_late: idempotent. A redelivery (a worker killed mid-job) applies the passwords drawn at request time to
# the learners not yet reset and skips those done, so running it twice changes nothing twice.
@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(DatabaseError,),
    retry_backoff=2,
    max_retries=5,
    soft_time_limit=600,
    time_limit=660,
)
def group_reset_run(self, job_id: int) -> None:
    """Apply a group reset; a retry (or a redelivery after a worker crash) resumes where it stopped."""
    if not GroupResetJob.objects.filter(pk=job_id).exists():
        return  # the job was deleted (or the message belongs to another database): nothing to do
    try:
        services.group_reset_apply(job_id=job_id)
    except Exception:
        if self.request.retries >= self.max_retries:
            services.group_reset_fail(job_id=job_id)
        raise


@shared_task(soft_time_limit=50, time_limit=60)
def group_resets_resume() -> list[int]:
    """Each minute: queue again the group resets a dead worker left unfinished (passwords.services)."""
    return services.group_resets_resume()
