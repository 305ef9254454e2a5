"""Runs: an extract kept on disk and queued, applied by a worker, held for a person, then approved or rejected.

An upload is copied in chunks to a file only the portal can read, within a size cap and (through the API) the
school's hourly upload limit. A worker takes a queued run, applies it through the sync and deletes its file
unless the run is held; the hourly sweep applies queued runs in batches and any a killed worker left running.
"""

import functools
import logging
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import Organisation
from accounts.services import audit_record

# provisioning.tasks imports this module and this module enqueues its task: each imports the other as a module,
# never a name from it, so that either may be imported first.
from provisioning import tasks
from provisioning.models import ProvisioningRun
from provisioning.readers import ExtractError, read_extract
from provisioning.selectors import upload_retry_after
from provisioning.sync import Item, ProvisioningError, Report, extracts_apply

log = logging.getLogger(__name__)

# The largest extract kept: far above any one school's MIS export, low enough to keep a disk from filling.
MAX_EXTRACT_BYTES = 256 * 1024 * 1024
CHUNK_BYTES = 1024 * 1024
# A run still "running" after this long was left by a killed worker: the hourly sweep applies it again.
STALE_AFTER = timedelta(minutes=60)


class ExtractTooLarge(ProvisioningError):
    """An extract over the size cap: nothing was kept and no run was queued."""


class UploadLimitReached(ProvisioningError):
    """The school has used its hourly API uploads: nothing was kept."""

    def __init__(self, retry_after: int):
        super().__init__(f"upload limit reached; retry after {retry_after} s")
        self.retry_after = retry_after


# ---------------------------------------------------------------- uploads


def run_create(
    *,
    organisation: Organisation,
    data: bytes | BinaryIO,
    source: str,
    fmt: str = "auto",
    actor=None,
    max_bytes: int = MAX_EXTRACT_BYTES,
    limit_uploads: bool = False,
    request=None,
) -> ProvisioningRun:
    """Keep an extract (readable only by the portal) and queue a run for it; the worker applies it.

    `data` is a file object (an UploadedFile, an open file, the request itself) copied in chunks, or bytes.
    Over `max_bytes` the partial copy is deleted and ExtractTooLarge raised. With `limit_uploads` the school's
    hourly API upload limit is checked again as the run is recorded, with the school locked, so that two uploads
    arriving together cannot both pass it (UploadLimitReached; nothing is kept). An upload through the API is
    audited (from `request`'s address) in the transaction that records its run.
    """
    path = _upload_dir() / f"{organisation.code}-{uuid.uuid4().hex}.extract"
    size = 0
    fd = path.open("xb")
    try:
        path.chmod(0o600)
        with fd:
            for chunk in _extract_chunks(data):
                size += len(chunk)
                if size > max_bytes:
                    raise ExtractTooLarge(f"the extract is over {max_bytes} bytes")
                fd.write(chunk)
        with transaction.atomic():
            if limit_uploads:
                _upload_admit(organisation)
            run = ProvisioningRun.objects.create(
                organisation=organisation,
                source=source,
                format=fmt,
                file_path=str(path),
                file_size=size,
                created_by=actor if getattr(actor, "pk", None) else None,
            )
            if source == ProvisioningRun.Source.API:
                # the school's upload, through its token: no person is the actor
                audit_record(
                    actor=None,
                    action="provisioning.upload",
                    organisation=organisation,
                    request=request,
                    details={"run": run.pk, "bytes": run.file_size},
                )
    except BaseException:
        path.unlink(missing_ok=True)  # a refused, broken-off or unrecorded upload leaves nothing behind
        raise
    if source == ProvisioningRun.Source.API:
        transaction.on_commit(lambda: tasks.apply_run.delay(run.pk))
    return run


@transaction.atomic
def upload_refuse(*, organisation: Organisation, request, retry_after: int) -> None:
    """Audit an API upload refused because the school has used its hourly uploads (nothing was kept)."""
    audit_record(
        actor=None,
        action="provisioning.upload",
        organisation=organisation,
        request=request,
        outcome="denied",
        details={
            "reason": "rate_limited",
            "limit": settings.UMP_PROVISIONING_UPLOADS_PER_HOUR,
            "retry_after": retry_after,
        },
    )


# ---------------------------------------------------------------- the life of a run


def run_apply(
    *, run: ProvisioningRun, actor=None, approve: bool = False, progress=None, today: date | None = None
) -> Report:
    """Read a queued (or approved held) run's extract and apply it; the file is deleted unless the run is held."""
    run = _run_start(run, approve)
    return _runs_apply([run], actor=actor, approve=approve, progress=progress, today=today)[0]


def run_approve(*, run: ProvisioningRun, actor) -> Report:
    """Apply a held run as it stands now (re-planned against today's accounts)."""
    return run_apply(run=run, actor=actor, approve=True)


@transaction.atomic
def run_reject(*, run: ProvisioningRun, actor) -> ProvisioningRun:
    """Discard a held run and its extract; nothing is applied."""
    run = ProvisioningRun.objects.select_for_update().get(pk=run.pk)
    if run.status != ProvisioningRun.Status.HELD:
        raise ProvisioningError(f"run {run.pk} is {run.status}")
    run.status = ProvisioningRun.Status.REJECTED
    run.decided_by = actor
    run.decided_at = timezone.now()
    run.save(update_fields=["status", "decided_by", "decided_at"])
    _delete_file(run)
    audit_record(
        actor=actor, action="provisioning.run_reject", organisation=run.organisation, details={"run": run.pk}
    )
    return run


def runs_apply_queued() -> list[int]:
    """Apply every queued run (and any a killed worker left running) oldest first; returns their ids.

    Runs are applied UMP_PROVISIONING_BATCH schools to a transaction: a local authority's first upload of
    every school's extract goes in at bulk speed, and each school is still reconciled and held on its own.
    """
    stale = timezone.now() - STALE_AFTER
    ids = list(
        ProvisioningRun.objects.filter(status=ProvisioningRun.Status.QUEUED)
        .order_by()  # the model's ordering inside a UNION branch is an error on SQLite (the demo's database)
        .union(
            ProvisioningRun.objects.filter(
                status=ProvisioningRun.Status.RUNNING, started_at__lt=stale
            ).order_by()
        )
        .values_list("id", flat=True)
    )
    queued = list(ProvisioningRun.objects.filter(pk__in=ids).order_by("created_at", "id"))
    done = []
    size = max(1, settings.UMP_PROVISIONING_BATCH)
    for n in range(0, len(queued), size):
        started = []
        for run in queued[n : n + size]:
            try:
                started.append(_run_start(run, approve=False))
            except ProvisioningError:
                continue  # another worker took it
        _runs_apply(started)
        done += [run.pk for run in started]
    return done


# ---------------------------------------------------------------- helpers


def _upload_dir() -> Path:
    path = Path(settings.UMP_UPLOAD_DIR)
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def _extract_chunks(data):
    if isinstance(data, bytes | bytearray | memoryview):
        yield data
    elif hasattr(data, "chunks"):  # a Django File or UploadedFile, wherever it is kept
        yield from data.chunks(CHUNK_BYTES)
    else:
        while chunk := data.read(CHUNK_BYTES):
            yield chunk


def _upload_admit(organisation: Organisation) -> None:
    """Raise UploadLimitReached unless the school may record one more API upload (until the transaction ends)."""
    # NO KEY UPDATE: uploads for one school queue here, but a provisioning run's foreign-key checks on the
    # school's row (KEY SHARE) are not held up
    Organisation.objects.select_for_update(no_key=True).filter(pk=organisation.pk).first()
    if retry_after := upload_retry_after(organisation):
        raise UploadLimitReached(retry_after)


def _delete_file(run: ProvisioningRun) -> None:
    if run.file_path:
        Path(run.file_path).unlink(missing_ok=True)
        run.file_path = ""
        run.save(update_fields=["file_path"])


def _run_start(run: ProvisioningRun, approve: bool) -> ProvisioningRun:
    """Take a queued (or, to approve, a held) run for this worker: it is `running` from now on."""
    with transaction.atomic():
        run = ProvisioningRun.objects.select_for_update().select_related("organisation").get(pk=run.pk)
        allowed = {ProvisioningRun.Status.QUEUED, ProvisioningRun.Status.RUNNING}
        if approve:
            allowed = {ProvisioningRun.Status.HELD}
        if run.status not in allowed:
            raise ProvisioningError(f"run {run.pk} is {run.status}")
        if run.status == ProvisioningRun.Status.RUNNING and run.started_at > timezone.now() - STALE_AFTER:
            raise ProvisioningError(f"run {run.pk} is running")  # another worker has it
        run.status = ProvisioningRun.Status.RUNNING
        run.started_at = timezone.now()
        run.save(update_fields=["status", "started_at"])
    return run


def _runs_apply(runs, *, actor=None, approve=False, progress=None, today=None) -> list[Report]:
    """Apply started runs together (one transaction); a run whose file cannot be read fails on its own."""
    reports: dict[int, Report] = {}
    items = []
    for run in runs:
        try:
            extract = read_extract(Path(run.file_path), fmt=run.format, school_code=run.organisation.code)
        except (ExtractError, OSError) as exc:
            _run_failed(run, exc.problem.value if isinstance(exc, ExtractError) else "missing_file", actor)
            reports[run.pk] = Report(run_id=run.pk)
            continue
        run.full = extract.full
        if approve:
            run.decided_by = actor if getattr(actor, "pk", None) else None
            run.decided_at = timezone.now()
        items.append(Item(run.organisation, extract, run))
    finish = functools.partial(_run_finish, actor=actor, approve=approve)
    options = {"actor": actor, "approve": approve, "progress": progress, "today": today, "run_finish": finish}
    try:
        done = list(zip(items, extracts_apply(items=items, **options), strict=True)) if items else []
    except Exception:
        # nothing was applied (one transaction); the school's next extract converges
        if len(items) == 1:
            _run_failed(items[0].run, "error", actor)
            raise
        # One school at a time, so that only the school at fault fails and the rest go ahead.
        done = []
        for item in items:
            try:
                done.append((item, extracts_apply(items=[item], **options)[0]))
            except Exception:
                log.exception("provisioning run %s for %s failed", item.run.pk, item.organisation.code)
                _run_failed(item.run, "error", actor)
                reports[item.run.pk] = Report(run_id=item.run.pk)
    for item, report in done:
        if not report.held:
            _delete_file(item.run)
        reports[item.run.pk] = report
    return [reports[run.pk] for run in runs]


def _run_finish(
    run: ProvisioningRun, report: Report, active_before: int, now: datetime, *, actor, approve: bool
) -> None:
    """Record a run's report on it and audit the run: called by the sync, in the transaction that applied it."""
    run.status = ProvisioningRun.Status.HELD if report.held else ProvisioningRun.Status.APPLIED
    run.hold_reason = report.held
    run.finished_at = now
    run.active_before = active_before
    run.rows = report.rows
    for name in ("created", "updated", "transferred_in", "deactivated", "reactivated", "unchanged"):
        setattr(run, name, getattr(report, name))
    run.refused = len(report.refused)
    run.refused_rows = [r.as_dict() for r in report.refused]
    run.name_changes = report.name_changes
    run.save()
    audit_record(
        actor=actor,
        action="provisioning.run_approve" if approve else "provisioning.run",
        organisation=run.organisation,
        details={"run": run.pk, **report.counts()},
    )


def _run_failed(run: ProvisioningRun, error_code: str, actor=None) -> None:
    """Mark a run failed, delete its file and audit the failure, in one transaction."""
    with transaction.atomic():
        ProvisioningRun.objects.filter(pk=run.pk).update(
            status=ProvisioningRun.Status.FAILED, error_code=error_code, finished_at=timezone.now()
        )
        run.status, run.error_code = ProvisioningRun.Status.FAILED, error_code
        _delete_file(run)
        audit_record(
            actor=actor,
            action="provisioning.run_failed",
            organisation=run.organisation,
            outcome="failure",
            details={"run": run.pk, "error": error_code},
        )
