"""Runs: an extract kept on disk and queued, applied by a worker, held for a person, then approved or rejected.

An upload is sealed (accounts.sealing, AES-GCM under the key ring) as it is copied in chunks to a file only the
portal can read, within a size cap and (through the API) the school's hourly upload limit; it is opened only to
be read. A worker takes a queued run, applies it through the sync and deletes its file unless the run is held;
the hourly sweep applies queued runs in batches and any a killed worker left running. A run older than an extract
of its school already applied is superseded instead, and a OneRoster delta waits for, or is held behind, the
extract it follows (provisioning.ordering). A held run nobody decides on expires after UMP_PROVISIONING_HELD_DAYS
and its file is deleted: no extract is kept for ever.
"""

import functools
import hashlib
import logging
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.audit import AuditAction, audit_record
from accounts.models import AuditEvent, Organisation
from accounts.sealing import SealedFileWriter, SealError, keyed_hash, sealed_file_open

# provisioning.tasks imports this module and this module enqueues its task: each imports the other as a module,
# never a name from it, so that either may be imported first.
from provisioning import ordering, tasks
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
# On PostgreSQL the process applying a run holds a session advisory lock (this namespace, the run's id): a worker
# that dies loses its connection and the lock with it, so runs_resume tells a dead worker's run from a long one
# within a minute, not an hour.
RUN_LOCK_SPACE = 5501
# An API upload of the same extract (same school, same bytes) within this time of a run, or while that run still
# waits to be decided, is a client's retry: it gets the first run back, never a second one.
RETRY_WINDOW = timedelta(hours=1)


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
    """Keep an extract (sealed, readable only by the portal) and queue a run for it; the worker applies it.

    `data` is a file object (an UploadedFile, an open file, the request itself) copied in chunks, or bytes.
    Over `max_bytes` the partial copy is deleted and ExtractTooLarge raised. With `limit_uploads` the school's
    hourly API upload limit is checked again as the run is recorded, with the school locked, so that two uploads
    arriving together cannot both pass it (UploadLimitReached; nothing is kept). An upload through the API is
    audited (from `request`'s address) in the transaction that records its run. The same extract sent again for
    the school through the API (a client's retry: see RETRY_WINDOW) returns the run first recorded for it and
    keeps nothing new; a person who provisions an extract again means it to be applied again.

    The run is queued once recorded; if the broker cannot take the message the run stays queued and the next
    sweep (runs_apply_queued) applies it: the upload itself has succeeded.
    """
    path = _upload_dir() / f"{organisation.code}-{uuid.uuid4().hex}.extract"
    size = 0
    digest = hashlib.sha256()
    fd = path.open("xb")
    try:
        path.chmod(0o600)
        with fd:
            sealed = SealedFileWriter(fd)
            for chunk in _extract_chunks(data):
                size += len(chunk)
                if size > max_bytes:
                    raise ExtractTooLarge(f"the extract is over {max_bytes} bytes")
                digest.update(chunk)
                sealed.write(chunk)
            sealed.close()
        content_hash = keyed_hash("extract:" + digest.hexdigest())
        with transaction.atomic():
            if source == ProvisioningRun.Source.API:
                # the school's row is the lock: a retry arriving with its first attempt waits, then finds it
                Organisation.objects.select_for_update(no_key=True).filter(pk=organisation.pk).first()
            first = _run_retried(organisation, content_hash) if source == ProvisioningRun.Source.API else None
            if first is not None:
                audit_record(
                    actor=None,
                    action=AuditAction.PROVISIONING_UPLOAD,
                    organisation=organisation,
                    request=request,
                    details={"run": first.pk, "bytes": size, "retry": True},
                )
                path.unlink(missing_ok=True)
                return first
            if limit_uploads:
                _upload_admit(organisation)
            run = ProvisioningRun.objects.create(
                organisation=organisation,
                source=source,
                format=fmt,
                file_path=str(path),
                file_size=size,
                content_hash=content_hash,
                created_by=actor if getattr(actor, "pk", None) else None,
            )
            if source == ProvisioningRun.Source.API:
                # the school's upload, through its token: no person is the actor
                audit_record(
                    actor=None,
                    action=AuditAction.PROVISIONING_UPLOAD,
                    organisation=organisation,
                    request=request,
                    details={"run": run.pk, "bytes": run.file_size},
                )
    except BaseException:
        path.unlink(missing_ok=True)  # a refused, broken-off or unrecorded upload leaves nothing behind
        raise
    if source == ProvisioningRun.Source.API:
        transaction.on_commit(functools.partial(_run_enqueue, run.pk))
    return run


@transaction.atomic
def upload_refuse(*, organisation: Organisation, request, retry_after: int) -> None:
    """Audit an API upload refused because the school has used its hourly uploads (nothing was kept)."""
    audit_record(
        actor=None,
        action=AuditAction.PROVISIONING_UPLOAD,
        organisation=organisation,
        request=request,
        outcome=AuditEvent.Outcome.DENIED,
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
    try:
        return _runs_apply([run], actor=actor, approve=approve, progress=progress, today=today)[0]
    finally:
        _run_unlock(run.pk)


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
        actor=actor,
        action=AuditAction.PROVISIONING_RUN_REJECT,
        organisation=run.organisation,
        details={"run": run.pk},
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
    pending = list(ProvisioningRun.objects.filter(pk__in=ids).order_by("created_at", "id"))
    done = []
    size = max(1, settings.UMP_PROVISIONING_BATCH)
    while pending:
        # one run per school in a batch, oldest first: a school's later run is judged after its earlier one
        batch, later, schools = [], [], set()
        for run in pending:
            if len(batch) < size and run.organisation_id not in schools:
                batch.append(run)
                schools.add(run.organisation_id)
            else:
                later.append(run)
        pending = later
        started = []
        for run in batch:
            try:
                started.append(_run_start(run, approve=False))
            except ProvisioningError:
                continue  # another worker took it
        try:
            _runs_apply(started)
        except Exception:
            # a batch of one school re-raises its failure (recorded on its run): the sweep goes on
            log.exception("provisioning run %s failed", started[0].pk)
        finally:
            for run in started:
                _run_unlock(run.pk)
        done += [run.pk for run in started]
    return done


def runs_resume(*, now: datetime | None = None) -> list[int]:
    """Queue again every run a dead worker left running; returns their ids (beat, each minute).

    On PostgreSQL a run is abandoned when no process holds its lock (see RUN_LOCK_SPACE), however recently it
    started; elsewhere (SQLite: the demo, whose tasks run in-process) when it started over STALE_AFTER ago.
    A run queued again is judged afresh: applied, or superseded by a newer extract of its school.
    """
    now = now or timezone.now()
    resumed = []
    running = ProvisioningRun.objects.filter(status=ProvisioningRun.Status.RUNNING)
    for pk in list(running.values_list("id", flat=True)):
        with transaction.atomic():
            # a run a worker is starting right now is locked: skip it, it is alive
            run = running.select_for_update(skip_locked=True).filter(pk=pk).first()
            if run is None or not _run_abandoned(run, now):
                continue
            run.status, run.started_at = ProvisioningRun.Status.QUEUED, None
            run.save(update_fields=["status", "started_at"])
            transaction.on_commit(functools.partial(_run_enqueue, run.pk))
        log.warning("provisioning run %s was left running by a dead worker: queued again", pk)
        resumed.append(pk)
    return resumed


def runs_expire_held(*, now: datetime | None = None) -> list[int]:
    """Expire every run held longer than UMP_PROVISIONING_HELD_DAYS: nothing applied, its extract deleted."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.UMP_PROVISIONING_HELD_DAYS)
    ids = list(
        ProvisioningRun.objects.filter(status=ProvisioningRun.Status.HELD)
        .filter(Q(finished_at__lt=cutoff) | Q(finished_at__isnull=True, created_at__lt=cutoff))
        .values_list("id", flat=True)
    )
    expired = []
    for pk in ids:
        with transaction.atomic():
            run = ProvisioningRun.objects.select_for_update().select_related("organisation").get(pk=pk)
            if run.status != ProvisioningRun.Status.HELD:
                continue  # approved or rejected meanwhile
            run.status = ProvisioningRun.Status.EXPIRED
            run.decided_at = now
            run.save(update_fields=["status", "decided_at"])
            _delete_file(run)
            audit_record(
                actor=None,
                action=AuditAction.PROVISIONING_RUN_EXPIRED,
                organisation=run.organisation,
                details={"run": run.pk, "held_days": settings.UMP_PROVISIONING_HELD_DAYS},
            )
        expired.append(pk)
    return expired


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


def _run_retried(organisation: Organisation, content_hash: str) -> ProvisioningRun | None:
    """The school's run for these same bytes, if this upload is a retry of it (see RETRY_WINDOW)."""
    waiting = Q(
        status__in=[
            ProvisioningRun.Status.QUEUED,
            ProvisioningRun.Status.RUNNING,
            ProvisioningRun.Status.HELD,
        ]
    )
    # a failed, rejected or expired run is no answer to a retry: the extract is worth another run
    recent = Q(created_at__gt=timezone.now() - RETRY_WINDOW) & ~Q(
        status__in=[
            ProvisioningRun.Status.FAILED,
            ProvisioningRun.Status.REJECTED,
            ProvisioningRun.Status.EXPIRED,
        ]
    )
    return (
        ProvisioningRun.objects.filter(
            organisation=organisation, source=ProvisioningRun.Source.API, content_hash=content_hash
        )
        .filter(waiting | recent)
        .order_by("created_at", "id")
        .first()
    )


def _run_enqueue(run_id: int) -> None:
    """Send a recorded run to the workers; with the broker away it stays queued for the sweep to apply."""
    try:
        tasks.apply_run.delay(run_id)
    except Exception:  # kombu's OperationalError, or whatever a broken connection raises instead
        log.warning("broker unavailable: run %s stays queued for the next sweep", run_id, exc_info=True)


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
        # taken before "running" is committed, so that a running run with a free lock is always a dead one's
        if not _run_lock(run.pk):
            raise ProvisioningError(f"run {run.pk} is running")
        try:
            run.status = ProvisioningRun.Status.RUNNING
            run.started_at = timezone.now()
            run.save(update_fields=["status", "started_at"])
        except BaseException:
            _run_unlock(run.pk)
            raise
    return run


def _run_lock(run_id: int) -> bool:
    """Take this process's session lock on a run (PostgreSQL; elsewhere there is none to take)."""
    if connection.vendor != "postgresql":
        return True
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [RUN_LOCK_SPACE, run_id])
        return cursor.fetchone()[0]


def _run_unlock(run_id: int) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [RUN_LOCK_SPACE, run_id])


def _run_abandoned(run: ProvisioningRun, now: datetime) -> bool:
    """Whether no living process is applying a running run (see runs_resume)."""
    if connection.vendor != "postgresql":
        return run.started_at is None or run.started_at < now - STALE_AFTER
    if not _run_lock(run.pk):
        return False
    _run_unlock(run.pk)
    return True


def _runs_apply(runs, *, actor=None, approve=False, progress=None, today=None) -> list[Report]:
    """Apply started runs together (one transaction); a run whose file cannot be read fails on its own."""
    reports: dict[int, Report] = {}
    items = []
    for run in runs:
        try:
            # streamed: opened chunk by chunk as the reader reads it, never decrypted whole
            path = Path(run.file_path)
            extract = read_extract(
                functools.partial(sealed_file_open, path), fmt=run.format, school_code=run.organisation.code
            )
        except (ExtractError, OSError, SealError) as exc:
            _run_failed(run, exc.problem.value if isinstance(exc, ExtractError) else "missing_file", actor)
            reports[run.pk] = Report(run_id=run.pk)
            continue
        run.full = extract.full
        run.format = extract.format
        run.kinds = ",".join(sorted(extract.kinds))
        run.changed_at = extract.changed_at
        decision = ordering.run_decide(run, approve=approve)
        if decision != ordering.APPLY:
            reports[run.pk] = _run_defer(run, decision, actor)
            continue
        if approve:
            run.decided_by = actor if getattr(actor, "pk", None) else None
            run.decided_at = timezone.now()
        items.append(Item(run.organisation, extract, run))
    finish = functools.partial(_run_finish, actor=actor, approve=approve)
    gate = functools.partial(_run_gate, actor=actor)
    options = {
        "actor": actor,
        "approve": approve,
        "progress": progress,
        "today": today,
        "run_finish": finish,
        "run_gate": gate,
    }
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
        action=AuditAction.PROVISIONING_RUN_APPROVE if approve else AuditAction.PROVISIONING_RUN,
        organisation=run.organisation,
        details={"run": run.pk, **report.counts()},
    )
    if run.status == ProvisioningRun.Status.APPLIED:
        # held runs older than this one would now take the school back in time
        held = ProvisioningRun.objects.filter(
            organisation=run.organisation, status=ProvisioningRun.Status.HELD
        )
        for older in held.select_for_update(of=("self",)).select_related("organisation"):
            if ordering.run_newer_applied(older) is not None:
                _run_supersede(older, run, None)
            elif older.hold_reason == ProvisioningRun.Hold.GAP and ordering.delta_predecessor(older) == run:
                # the extract this delta follows is in: the gap is closed, the delta goes back in the queue
                older.status, older.hold_reason, older.started_at = ProvisioningRun.Status.QUEUED, "", None
                older.save(update_fields=["status", "hold_reason", "started_at"])
                transaction.on_commit(functools.partial(_run_enqueue, older.pk))


def _run_gate(run: ProvisioningRun, *, actor) -> Report | None:
    """Called by the sync with the school locked: a newer run applied since this one was read supersedes it."""
    newer = ordering.run_newer_applied(run)
    if newer is None:
        return None
    _run_supersede(run, newer, actor)
    return Report(run_id=run.pk)


def _run_defer(run: ProvisioningRun, decision: ordering.Decision, actor) -> Report:
    """Supersede a read run, put it back in the queue, or hold it for a gap (provisioning.ordering decided)."""
    if decision.superseded_by is not None:
        with transaction.atomic():
            _run_supersede(run, decision.superseded_by, actor)
        return Report(run_id=run.pk)
    if decision.wait:
        ProvisioningRun.objects.filter(pk=run.pk).update(
            status=ProvisioningRun.Status.QUEUED, started_at=None
        )
        run.status, run.started_at = ProvisioningRun.Status.QUEUED, None
        return Report(run_id=run.pk)
    with transaction.atomic():
        run.status = ProvisioningRun.Status.HELD
        run.hold_reason = ProvisioningRun.Hold.GAP
        run.finished_at = timezone.now()
        run.save()
        audit_record(
            actor=actor,
            action=AuditAction.PROVISIONING_RUN_HELD,
            organisation=run.organisation,
            details={"run": run.pk, "hold_reason": run.hold_reason},
        )
    return Report(run_id=run.pk, held=run.hold_reason)


def _run_supersede(run: ProvisioningRun, newer: ProvisioningRun, actor) -> None:
    """Mark a run superseded by a newer applied one (nothing changes in accounts); delete its file; audit it."""
    # from the database: a batch attempt that was rolled back and tried again left the run's copy in memory blank
    path = (
        ProvisioningRun.objects.filter(pk=run.pk).values_list("file_path", flat=True).first() or run.file_path
    )
    run.status = ProvisioningRun.Status.SUPERSEDED
    run.superseded_by = newer
    run.finished_at = timezone.now()
    run.file_path = ""
    run.save()
    if path:
        # the file goes once the decision is committed; a rolled-back decision keeps it
        transaction.on_commit(lambda: Path(path).unlink(missing_ok=True))
    audit_record(
        actor=actor,
        action=AuditAction.PROVISIONING_RUN_SUPERSEDED,
        organisation=run.organisation,
        details={"run": run.pk, "superseded_by": newer.pk},
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
            action=AuditAction.PROVISIONING_RUN_FAILED,
            organisation=run.organisation,
            outcome=AuditEvent.Outcome.FAILURE,
            details={"run": run.pk, "error": error_code},
        )
