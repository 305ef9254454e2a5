"""Queue again every group reset that is not finished and has not moved for a while.

Rules: a job is "stuck" when it is queued or running and was requested more than --older-than minutes ago
(default 10), e.g. after Redis lost its queue or every worker died for good. Re-queueing is safe: a job applies
the passwords drawn when it was requested, so a learner already reset keeps the same password and the rest get
theirs. --fail marks stuck jobs failed instead (what they applied stays applied). With --dry-run nothing is
queued or changed.
"""

from datetime import timedelta

from django.core.management.base import BaseCommand
from django.utils import timezone

from passwords import services
from passwords.models import GroupResetJob
from passwords.tasks import group_reset_run


class Command(BaseCommand):
    help = "Re-queue (or fail) group password resets that have not finished."

    def add_arguments(self, parser):
        parser.add_argument("--older-than", type=int, default=10, help="Minutes since the job was requested.")
        parser.add_argument(
            "--fail", action="store_true", help="Mark stuck jobs failed instead of re-queueing."
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Report what would happen; change nothing."
        )

    def handle(self, *args, older_than=10, fail=False, dry_run=False, verbosity=1, **options):
        cutoff = timezone.now() - timedelta(minutes=older_than)
        stuck = GroupResetJob.objects.filter(
            status__in=[GroupResetJob.Status.QUEUED, GroupResetJob.Status.RUNNING], created_at__lt=cutoff
        ).order_by("pk")
        count = 0
        for job in stuck:
            count += 1
            if verbosity >= 2:
                self.stdout.write(
                    f"job {job.pk}: {job.get_group_kind_display()} {job.group}, {job.done}/{job.total}"
                )
            if dry_run:
                continue
            if fail:
                services.group_reset_fail(job_id=job.pk)
            else:
                group_reset_run.delay(job.pk)
        verb = "failed" if fail else "re-queued"
        if dry_run:
            verb = f"would be {verb}"
        if verbosity >= 1:
            self.stdout.write(self.style.SUCCESS(f"{count} group resets {verb}."))
