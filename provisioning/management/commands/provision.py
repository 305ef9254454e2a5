"""Apply one MIS extract to one school, as the hourly sync would.

Rules: FILE is a pupil or staff MIS CSV export (the full list of that kind), or a OneRoster 1.1 package (zip or
folder; bulk is a full list, delta a change list). Rows that break a rule are refused with a reason and nothing
else about them changes. A run that would deactivate more than UMP_PROVISIONING_BRAKE of the school's active
accounts, or whose extract is empty or cut short, is held for a Digital Champion to approve in the portal.
An extract older than one of the school already applied is superseded and changes nothing; a OneRoster delta
waits for, or is held behind, the extract it follows (provisioning.ordering). Superseded or waiting is an error.
--dry-run reads and plans but writes nothing. The UPN is never printed.
"""

import io
import json
import sys
import zipfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from accounts.models import Organisation
from provisioning.models import ProvisioningRun
from provisioning.readers import ONEROSTER_FILES, ExtractError, read_extract
from provisioning.runs import run_apply, run_create
from provisioning.sync import ProvisioningError, extract_apply

PHASES = ("plan", "create", "update", "done")


class Command(BaseCommand):
    help = __doc__.splitlines()[0]

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--school", required=True, help="the school's code (LA + establishment number)")
        parser.add_argument("--format", default="auto", choices=("auto", "mis-csv", "oneroster"))
        parser.add_argument("--dry-run", action="store_true", help="report what would change; write nothing")
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args, file, school, format, dry_run, json: bool, verbosity, **options):  # noqa: A002
        organisation = Organisation.objects.filter(code=school, kind=Organisation.Kind.SCHOOL).first()
        if organisation is None:
            raise CommandError(f"No school with code {school}.")
        if not file.exists():
            raise CommandError(f"{file} does not exist.")
        bar = self._bar(enabled=not json and verbosity > 0 and sys.stdout.isatty())
        step = self._stepper(bar)
        try:
            if dry_run:
                extract = read_extract(file, fmt=format, school_code=school)
                report = extract_apply(
                    organisation=organisation, extract=extract, dry_run=True, progress=step
                )
            else:
                with io.BytesIO(_folder_zip(file)) if file.is_dir() else file.open("rb") as data:
                    run = run_create(
                        organisation=organisation,
                        data=data,  # a file is copied in chunks, never read whole
                        source=ProvisioningRun.Source.COMMAND,
                        fmt="oneroster" if file.is_dir() else format,
                    )
                report = run_apply(run=run, progress=step)
                run.refresh_from_db()
                if run.status == ProvisioningRun.Status.FAILED:
                    raise CommandError(f"{run.error_code}: {run.error_message}")
                if run.status in (ProvisioningRun.Status.SUPERSEDED, ProvisioningRun.Status.QUEUED):
                    raise CommandError(
                        f"run {run.pk} is {run.status}: nothing was applied "
                        + (
                            f"(run {run.superseded_by_id}, a newer extract of the school, was applied first)."
                            if run.superseded_by_id
                            else "(it waits for the extract it follows; the hourly sweep applies it)."
                        )
                    )
        except ExtractError as exc:
            raise CommandError(f"{exc.problem.value}: {exc.message}") from exc
        except ProvisioningError as exc:
            raise CommandError(str(exc)) from exc
        finally:
            if bar is not None:
                bar.close()
        self._print(report, as_json=json, verbosity=verbosity)

    def _bar(self, *, enabled):
        if not enabled:
            return None
        return tqdm(total=len(PHASES), unit="step", file=sys.stdout, leave=False)

    def _stepper(self, bar):
        def step(name):
            if bar is not None:
                bar.set_description(name)
                bar.update(1)

        return step

    def _print(self, report, *, as_json, verbosity):
        if as_json:
            data = report.as_dict()
            payload = {
                **report.counts(),
                "refused_count": len(report.refused),
                "run": data["run"],
                "dry_run": data["dry_run"],
                "hold_reason": data["hold_reason"],
                "refused": data["refused_rows"],
            }
            self.stdout.write(json.dumps(payload))
            return
        if verbosity == 0:
            return
        prefix = "Would apply" if report.dry_run else "Applied"
        if report.held:
            prefix = f"Held for approval ({report.held}); nothing applied. It would have"
        self.stdout.write(prefix + ":")
        for name, value in report.counts().items():
            self.stdout.write(f"  {name.replace('_', ' ')}: {value}")
        for r in report.refused:
            where = f"row {r.row} ({r.field})" if r.field else f"row {r.row}"
            self.stdout.write(f"  {where}: {r.reason.value}: {r.message}")


def _folder_zip(folder: Path) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in ONEROSTER_FILES:
            path = folder / name
            if path.is_file() and not path.is_symlink():
                zf.writestr(name, path.read_bytes())
    return buf.getvalue()
