"""Apply the account lifecycle rules now: expiry, 90 days without sign-in, and deletion of old leavers.

Rules (see accounts.lifecycle for the exact dates):
- an active non-MIS account is deactivated the day after its expiry date;
- an active non-MIS account with no sign-in for 90 days is deactivated (it can be reactivated);
- an MIS account deactivated as a leaver is deleted 12 months after its leaving date unless reactivated.
`--dry-run` reports what would happen and changes nothing. `--date YYYY-MM-DD` sweeps as if on that day.
With --verbosity 2 the account ids are listed too.
"""

from datetime import date

from django.core.management.base import BaseCommand, CommandError

from accounts.lifecycle import lifecycle_sweep


class Command(BaseCommand):
    help = "Deactivate expired and idle non-MIS accounts and delete leavers after 12 months."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Report only; change nothing.")
        parser.add_argument("--date", dest="on_date", help="Sweep as if today were this date (YYYY-MM-DD).")

    def handle(self, *args, dry_run=False, on_date=None, verbosity=1, **options):
        on = self._parse(on_date)
        report = lifecycle_sweep(on=on, dry_run=dry_run)
        verb = "would be" if dry_run else "were"
        if verbosity >= 1:
            self.stdout.write(f"Lifecycle sweep for {report.on}{' (dry run)' if dry_run else ''}:")
            for label, ids in (
                ("expired", report.expired),
                ("idle for 90 days", report.inactive),
                ("deleted (leavers)", report.deleted),
            ):
                self.stdout.write(f"  {len(ids)} account(s) {verb} {label}")
                if verbosity >= 2 and ids:
                    self.stdout.write("    ids: " + ", ".join(map(str, ids)))
            if not dry_run:
                self.stdout.write(f"  {report.sessions_ended} open session(s) ended")

    @staticmethod
    def _parse(value):
        if not value:
            return None
        try:
            return date.fromisoformat(value)
        except ValueError as exc:
            raise CommandError(f"--date must be YYYY-MM-DD, not {value!r}") from exc
