"""Every write about passwords: setting one, the sealed copy, and group resets."""

import functools
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone, translation

from accounts.audit import AuditAction, audit_record
from accounts.bulk import rows_copy
from accounts.models import Account, Organisation
from accounts.sealing import seal, seal_many
from passwords import tasks  # the module, not the task: tasks.py imports this module in turn
from passwords.generators import learner_password, random_password
from passwords.models import GroupResetItem, GroupResetJob, ShownPassword

logger = logging.getLogger(__name__)

MAX_DRAWS = 50  # a generated password the policy refuses is redrawn; 50 refusals in a row means a bug
BATCH_SIZE = 100
# A batch commits within seconds: a job quiet for this long has lost its worker (passwords.group_resets_resume).
GROUP_RESET_STALLED = timedelta(minutes=2)
# A job started this many times without finishing is failed by the resume sweep rather than queued again.
GROUP_RESET_MAX_ATTEMPTS = 5


@dataclass(frozen=True)
class PasswordResult:
    """What a reset did; the password itself is never returned, it is read through Show password."""

    account_id: int
    generated: bool


def password_generate(*, account, language: str | None = None, style: str | None = None) -> str:
    """A new password the policy accepts, in `style` ("learner": word and digits; "random"), by default the
    account's own (learners get the learner style).

    Learner-style words are in `language` if given, else in the language of the account's school where it
    teaches in one (a Welsh-medium school's learners get Welsh words), else in the reader's language.
    """
    learner_style = account.is_learner if style is None else style == "learner"
    if language is None:
        language = translation.get_language() or "en"
        if learner_style and account.organisation_id is not None:
            language = account.organisation.learner_password_language(default=language)
    for _attempt in range(MAX_DRAWS):
        candidate = learner_password(language=language) if learner_style else random_password()
        try:
            validate_password(candidate, account)
        except ValidationError:
            continue
        return candidate
    raise RuntimeError("the password generator keeps drawing passwords the policy refuses")


def _group_passwords(members, *, language) -> list[str]:
    """One generated password for each member, none shared within the group: pupils of one class see each
    other's slips, and a shared password would let one sign in as another (a learner password is a word and
    two digits, so a class of 30 draws a repeat now and then)."""
    drawn: set[str] = set()
    passwords = []
    for member in members:
        for _attempt in range(MAX_DRAWS):
            candidate = password_generate(account=member, language=language)
            if candidate not in drawn:
                break
        else:
            raise RuntimeError("the password generator keeps drawing passwords the group already has")
        drawn.add(candidate)
        passwords.append(candidate)
    return passwords


def _shown_upsert(rows: list[ShownPassword]) -> None:
    ShownPassword.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["account"],
        update_fields=["sealed", "changed_by_owner", "updated_at"],
        batch_size=1000,
    )


def shown_passwords_store_bulk(*, items: list[tuple[int, str]], new: bool = False) -> None:
    """Seal and upsert the shown copy of many new passwords at once (account id, plaintext); no hashing.

    The accounts sign in from the sealed copy and get their argon2 hash then (passwords.backends). With `new`
    (accounts created in this transaction, so nothing to update) the copies are written in one COPY.
    """
    now = timezone.now()
    if new:
        sealed = seal_many(text for _pk, text in items)
        rows_copy(
            ShownPassword,
            ["account", "sealed", "changed_by_owner", "updated_at"],
            ((pk, token, False, now) for (pk, _text), token in zip(items, sealed, strict=True)),
        )
        return
    _shown_upsert(
        [
            ShownPassword(account_id=pk, sealed=seal(text), changed_by_owner=False, updated_at=now)
            for pk, text in items
        ]
    )


@transaction.atomic
def password_set(*, account, actor, new_password, request=None, by_owner=False) -> None:
    """Set an account's password under the policy; keep a sealed copy unless the owner chose it; audited.

    Every other session of the account ends (Django ties sessions to the password hash).
    """
    validate_password(new_password, account)
    account.set_password(new_password)
    account.save(update_fields=["password", "updated_at"])
    _shown_upsert(
        [
            ShownPassword(
                account=account,
                sealed=None if by_owner else seal(new_password),
                changed_by_owner=by_owner,
                updated_at=timezone.now(),
            )
        ]
    )
    audit_record(
        actor=actor,
        action=AuditAction.PASSWORD_CHANGE_OWN if by_owner else AuditAction.PASSWORD_SET,
        targets=[account],
        organisation=account.organisation,
        request=request,
    )


@transaction.atomic
def password_reset(*, account, actor, new_password=None, request=None) -> PasswordResult:
    """Staff reset of one account: the password given, or a generated one; shown afterwards; audited."""
    generated = new_password is None
    if generated:
        new_password = password_generate(account=account)
    validate_password(new_password, account)
    account.set_password(new_password)
    account.save(update_fields=["password", "updated_at"])
    _shown_upsert([ShownPassword(account=account, sealed=seal(new_password), updated_at=timezone.now())])
    audit_record(
        actor=actor,
        action=AuditAction.PASSWORD_RESET,
        targets=[account],
        organisation=account.organisation,
        request=request,
        details={"generated": generated},
    )
    return PasswordResult(account_id=account.pk, generated=generated)


def password_reveal_record(*, account, actor, request=None) -> None:
    """Audit one Show password (the password is never written down)."""
    audit_record(
        actor=actor,
        action=AuditAction.PASSWORD_REVEAL,
        targets=[account],
        organisation=account.organisation,
        request=request,
    )


# Group resets ----------------------------------------------------------------------------------------------


def group_members(*, organisation: Organisation, group_kind: str, group: str):
    """The active learners of one registration group, class or year at a school."""
    learners = Account.objects.filter(organisation=organisation, kind=Account.Kind.LEARNER).active()
    if group_kind == GroupResetJob.GroupKind.REGISTRATION_GROUP:
        return learners.filter(registration_group=group)
    if group_kind == GroupResetJob.GroupKind.YEAR:
        return learners.filter(year_group=group)
    if group_kind == GroupResetJob.GroupKind.CLASS:
        if connection.vendor == "postgresql":
            return learners.filter(classes__contains=[group])
        # SQLite (README command 1) has no JSON containment: filter the small list in Python.
        return learners.filter(
            pk__in=[pk for pk, cls in learners.values_list("pk", "classes") if group in (cls or [])]
        )
    raise ValueError(f"unknown group kind {group_kind!r}")


@transaction.atomic
def group_reset_start(
    *, actor, organisation, group_kind, group, request=None, language=None
) -> GroupResetJob:
    """Record a group reset with every learner's new password drawn now, and queue it after commit."""
    members = list(group_members(organisation=organisation, group_kind=group_kind, group=group))
    job = GroupResetJob(
        organisation=organisation, group_kind=group_kind, group=group, requested_by=actor, total=len(members)
    )
    job.full_clean()
    job.save()
    if language is None:  # once for the group, not a look-up per learner
        language = organisation.learner_password_language(default=translation.get_language() or "en")
    passwords = _group_passwords(members, language=language)
    GroupResetItem.objects.bulk_create(
        [
            GroupResetItem(job=job, account=member, sealed=seal(password))
            for member, password in zip(members, passwords, strict=True)
        ],
        batch_size=1000,
    )
    audit_record(
        actor=actor,
        action=AuditAction.PASSWORD_GROUP_RESET_REQUESTED,
        targets=members,
        organisation=organisation,
        request=request,
        details={"job": job.pk, "group_kind": group_kind, "group": group},
    )
    transaction.on_commit(lambda: tasks.group_reset_run.delay(job.pk))
    return job


def _batch_committed(job_id: int) -> None:
    """Called after each batch commits. A seam for the crash test, which replaces it in a real worker."""


def group_reset_apply(*, job_id: int) -> GroupResetJob:
    """Apply a job's drawn passwords in committed batches; safe to run again after a crash.

    Each batch, in one transaction, replaces the learners' hashes with unusable ones (they sign in from
    the sealed copy and get their argon2 hash then, as new accounts do), stores the drawn password as
    their shown copy and marks the items applied. A rerun skips applied items and applies the very same
    drawn passwords to the rest.
    """
    with transaction.atomic():
        job = GroupResetJob.objects.select_for_update().get(pk=job_id)
        if job.is_finished:
            return job
        job.status = GroupResetJob.Status.RUNNING
        job.started_at = job.started_at or timezone.now()
        job.progress_at = timezone.now()
        job.attempts += 1
        job.save(update_fields=["status", "started_at", "progress_at", "attempts"])
    while True:
        with transaction.atomic():
            job = GroupResetJob.objects.select_for_update().get(pk=job_id)
            items = list(job.items.filter(applied_at__isnull=True).order_by("pk")[:BATCH_SIZE])
            if not items:
                job.status = GroupResetJob.Status.DONE
                job.finished_at = timezone.now()
                job.done = job.items.filter(applied_at__isnull=False).count()
                job.save(update_fields=["status", "finished_at", "done"])
                audit_record(
                    actor=job.requested_by_id,
                    action=AuditAction.PASSWORD_GROUP_RESET,
                    targets=list(job.items.values_list("account_id", flat=True)),
                    organisation=job.organisation,
                    details={"job": job.pk, "group_kind": job.group_kind, "group": job.group},
                )
                return job
            now = timezone.now()
            accounts = [
                Account(pk=item.account_id, password=make_password(None), updated_at=now) for item in items
            ]
            Account.objects.bulk_update(accounts, ["password", "updated_at"])
            _shown_upsert(
                [
                    ShownPassword(account_id=item.account_id, sealed=item.sealed, updated_at=now)
                    for item in items
                ]
            )
            GroupResetItem.objects.filter(pk__in=[item.pk for item in items]).update(applied_at=now)
            job.done += len(items)
            job.progress_at = now
            job.save(update_fields=["done", "progress_at"])
        _batch_committed(job_id)


def group_resets_resume(*, now: datetime | None = None) -> list[int]:
    """Queue again every unfinished group reset quiet for GROUP_RESET_STALLED; returns their ids (beat, each minute).

    A worker killed mid-job leaves it queued or running with no batch committing: it is queued again, and applies
    the passwords drawn when it was requested to the learners not yet reset. A job that has started
    GROUP_RESET_MAX_ATTEMPTS times is failed instead (what it applied stays applied): it would only crash again.
    """
    now = now or timezone.now()
    cutoff = now - GROUP_RESET_STALLED
    stalled = (
        GroupResetJob.objects.filter(status__in=[GroupResetJob.Status.QUEUED, GroupResetJob.Status.RUNNING])
        .filter(Q(progress_at__lt=cutoff) | Q(progress_at__isnull=True, created_at__lt=cutoff))
        .values_list("pk", flat=True)
    )
    resumed = []
    for job_id in list(stalled):
        if GroupResetJob.objects.get(pk=job_id).attempts >= GROUP_RESET_MAX_ATTEMPTS:
            group_reset_fail(job_id=job_id)
            continue
        with transaction.atomic():
            # a job whose worker is committing a batch right now is alive: leave it
            job = GroupResetJob.objects.select_for_update(skip_locked=True).filter(pk=job_id).first()
            if job is None or job.is_finished:
                continue
            # its sign of life: the next sweep waits another GROUP_RESET_STALLED before queueing it again
            job.progress_at = now
            job.save(update_fields=["progress_at"])
            transaction.on_commit(functools.partial(_group_reset_enqueue, job.pk))
        resumed.append(job_id)
    return resumed


def _group_reset_enqueue(job_id: int) -> None:
    """Send a job to the workers; with the broker away the next resume sweep tries again."""
    try:
        tasks.group_reset_run.delay(job_id)
    except Exception:  # kombu's OperationalError, or whatever a broken connection raises instead
        logger.warning("broker unavailable: group reset %s waits for the next sweep", job_id, exc_info=True)


def group_reset_fail(*, job_id: int) -> None:
    """Mark a job that will not be retried again as failed (what it applied stays applied)."""
    GroupResetJob.objects.filter(pk=job_id).exclude(status=GroupResetJob.Status.DONE).update(
        status=GroupResetJob.Status.FAILED, finished_at=timezone.now()
    )
