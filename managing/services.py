"""Every write of managing users: the creation queue, deactivation, renames and expiry."""

from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.audit import AuditAction, audit_record
from accounts.lifecycle import add_months, needs_new_expiry
from accounts.models import Account, AccountRequest, AuditEvent, EmailAlias, ExpiryDecision
from accounts.permissions import Action, Scope, require
from accounts.sealing import seal, unseal
from accounts.selectors import filter_choices_forget
from accounts.services import (
    account_create,
    account_sessions_end,
    display_name_for,
    email_for,
    today,
)
from accounts.usernames import username_allocate
from passwords.services import password_generate, password_set, shown_passwords_store_bulk

DURATION_MONTHS = {"1": 1, "3": 3, "6": 6}
DURATION_YEAR_END = "year"
# Governors and LA and consortium users may have no end date: the 90-day inactivity rule still closes them.
DURATION_NONE = "none"
OPEN_ENDED_KINDS = (Account.Kind.GOVERNOR, Account.Kind.LA_NON_MIS, Account.Kind.CONSORTIUM_NON_MIS)
KEEP_NEXT_YEAR_END = "next_year"
CLOSE_NOW = "now"
CLOSE_AT_EXPIRY = "at_expiry"
# What the worker copies from the request onto the account, besides its names, kind and expiry.
REQUEST_FIELDS = ("staff_role", "contact_organisation", "job_title", "work_email", "contact_number")


def academic_year_end(on: date) -> date:
    """31 August ending the academic year that contains `on`."""
    year = on.year if on.month <= 8 else on.year + 1
    return date(year, 8, 31)


def expiry_for(duration: str, *, start: date | None = None) -> date | None:
    """Last day of use for an account needed for 1, 3 or 6 months, or to the end of the academic year; None
    for no end date."""
    if duration == DURATION_NONE:
        return None
    start = start or today()
    if duration == DURATION_YEAR_END:
        return academic_year_end(start)
    if duration == KEEP_NEXT_YEAR_END:
        return date(academic_year_end(start).year + 1, 8, 31)
    return add_months(start, DURATION_MONTHS[duration])


def initial_password(*, style, legal_forename, legal_surname, organisation=None, language=None) -> str:
    """A generated password in the chosen style for an account not made yet (checked against its names; a
    learner-style one in the language of `organisation`'s teaching, where it has one)."""
    stub = Account(
        legal_forename=legal_forename, legal_surname=legal_surname, display_name="", organisation=organisation
    )
    return password_generate(account=stub, language=language, style=style)


@transaction.atomic
def account_request_submit(
    *,
    actor,
    organisation,
    kind,
    legal_forename,
    legal_surname,
    password,
    expires_on,
    request=None,
    **optional,
):
    """Put a non-MIS account on the creation queue; a worker creates it after this transaction commits."""
    require(actor, Action.CREATE_ACCOUNT, Scope(organisation, kind))
    if expires_on is None and kind not in OPEN_ENDED_KINDS:
        raise ValidationError(_("This kind of account needs an end date."))
    pending = AccountRequest(
        kind=kind,
        organisation=organisation,
        legal_forename=legal_forename.strip(),
        legal_surname=legal_surname.strip(),
        expires_on=expires_on,
        sealed_password=seal(password),
        requested_by=actor,
        **optional,
    )
    pending.full_clean()
    pending.save()
    audit_record(
        actor=actor,
        action=AuditAction.ACCOUNT_REQUEST,
        organisation=organisation,
        request=request,
        details={
            "request": pending.pk,
            "kind": kind,
            "expires_on": expires_on.isoformat() if expires_on else None,
        },
    )
    transaction.on_commit(lambda: _enqueue_account_request(pending.pk))
    return pending


@transaction.atomic
def account_request_fulfil(*, request_id: int):
    """Create the account a queued request asks for; safe to run twice (the second run does nothing)."""
    pending = AccountRequest.objects.select_for_update().select_related("organisation").get(pk=request_id)
    if pending.status != AccountRequest.Status.QUEUED:
        return pending.account
    # No argon2 hash here: the account signs in from its sealed copy and is hashed then (passwords.backends).
    account = account_create(
        actor=pending.requested_by_id,
        organisation=pending.organisation,
        kind=pending.kind,
        source=Account.Source.MANUAL,
        legal_forename=pending.legal_forename,
        legal_surname=pending.legal_surname,
        expires_on=pending.expires_on,
        **{name: getattr(pending, name) for name in REQUEST_FIELDS},
    )
    shown_passwords_store_bulk(items=[(account.pk, unseal(pending.sealed_password))])
    pending.status = AccountRequest.Status.DONE
    pending.account = account
    pending.sealed_password = None
    pending.processed_at = timezone.now()
    pending.attempts += 1
    pending.save(update_fields=["status", "account", "sealed_password", "processed_at", "attempts"])
    return account


@transaction.atomic
def account_request_fail(*, request_id: int) -> None:
    """Give up on a request the worker could not carry out; its password is destroyed; audited."""
    pending = AccountRequest.objects.select_for_update().get(pk=request_id)
    if pending.status != AccountRequest.Status.QUEUED:
        return
    pending.status = AccountRequest.Status.FAILED
    pending.sealed_password = None
    pending.processed_at = timezone.now()
    pending.save(update_fields=["status", "sealed_password", "processed_at"])
    audit_record(
        actor=pending.requested_by_id,
        action=AuditAction.ACCOUNT_REQUEST_FAILED,
        organisation=pending.organisation,
        outcome=AuditEvent.Outcome.FAILURE,
        details={"request": pending.pk, "kind": pending.kind},
    )


@transaction.atomic
def account_set_status(*, account, actor, status, reason="", request=None, action=None):
    """Activate or deactivate an account; deactivation ends its sessions at the next request."""
    now = timezone.now()
    account.status = status
    account.status_reason = reason if status == Account.Status.DEACTIVATED else ""
    account.status_changed_at = now
    account.deactivated_at = now if status == Account.Status.DEACTIVATED else None
    account.save(
        update_fields=["status", "status_reason", "status_changed_at", "deactivated_at", "updated_at"]
    )
    audit_record(
        actor=actor,
        action=action
        or (
            AuditAction.ACCOUNT_DEACTIVATE
            if status == Account.Status.DEACTIVATED
            else AuditAction.ACCOUNT_ACTIVATE
        ),
        targets=[account],
        organisation=account.organisation,
        request=request,
        details={"reason": reason} if reason else {},
    )
    if account.kind == Account.Kind.LEARNER:  # View Learners' filters list the groups of active learners
        transaction.on_commit(lambda: filter_choices_forget([account.organisation_id]))
    return account


@transaction.atomic
def account_deactivate(*, account, actor, reason=Account.StatusReason.MANUAL, request=None):
    """Deactivate an account and end its open sessions now; audited."""
    account_set_status(
        account=account, actor=actor, status=Account.Status.DEACTIVATED, reason=reason, request=request
    )
    account_sessions_end(account_ids=[account.pk])
    return account


def reactivation_action(account) -> Action:
    """The permission that activating this account asks for: an expired one needs REACTIVATE_EXPIRED."""
    return Action.REACTIVATE_EXPIRED if needs_new_expiry(account) else Action.REACTIVATE


@transaction.atomic
def account_activate(*, account, actor, expires_on=None, request=None):
    """Bring a deactivated account back; an expired one needs a new expiry date; audited."""
    if needs_new_expiry(account) and (expires_on is None or expires_on < today()):
        raise ValidationError(_("Choose how long the account is needed."), code="expiry_required")
    if expires_on is not None:
        account.expires_on = expires_on
        account.save(update_fields=["expires_on", "updated_at"])
    # status_changed_at restarts the 90-day sign-in clock, so the next sweep does not close it again.
    return account_set_status(
        account=account,
        actor=actor,
        status=Account.Status.ACTIVE,
        request=request,
        action=AuditAction.ACCOUNT_ACTIVATE,
    )


@transaction.atomic
def account_rename(
    *, account, actor, legal_forename, legal_surname, display_name, new_username=False, request=None
):
    """Change an account's names; a new username brings a new email (old kept as alias) and a new password.

    The display name follows the new names unless it is one a person chose (not the one the old names made).
    """
    before = _names(account)
    made_from_old_names = display_name_for(account.kind, account.legal_forename, account.legal_surname)
    display_name = display_name.strip()
    account.legal_forename = legal_forename.strip()
    account.legal_surname = legal_surname.strip()
    # A display name made from the names follows them ("Elin B" becomes "Elan B"); one a person chose stays.
    if not display_name or display_name == made_from_old_names:
        display_name = display_name_for(account.kind, legal_forename, legal_surname)
    account.display_name = display_name
    if new_username:
        EmailAlias.objects.create(account=account, email=account.email)
        account.username = username_allocate(forename=legal_forename, surname=legal_surname, account=account)
        account.email = email_for(account.username)
    account.full_clean(exclude=["password"])
    account.save()
    audit_record(
        actor=actor,
        action=AuditAction.ACCOUNT_RENAME,
        targets=[account],
        organisation=account.organisation,
        request=request,
        details={"old": before, "new": _names(account)},
    )
    if new_username:
        password_set(
            account=account, actor=actor, new_password=password_generate(account=account), request=request
        )
    return account


@transaction.atomic
def account_expiry_keep(*, account, actor, keep_for, request=None):
    """Extend an expiring account to the end of next academic year, or by 6, 3 or 1 months; audited."""
    old = account.expires_on
    start = max(old or today(), today())
    account.expires_on = expiry_for(keep_for, start=start)
    account.save(update_fields=["expires_on", "updated_at"])
    ExpiryDecision.objects.filter(account=account).delete()
    audit_record(
        actor=actor,
        action=AuditAction.ACCOUNT_KEEP,
        targets=[account],
        organisation=account.organisation,
        request=request,
        details={
            "old_expires_on": old.isoformat() if old else None,
            "expires_on": account.expires_on.isoformat(),
        },
    )
    return account


@transaction.atomic
def account_expiry_close(*, account, actor, when, request=None):
    """Close an expiring account now, or confirm that it closes at its expiry date; audited."""
    if when == CLOSE_NOW:
        return account_deactivate(
            account=account, actor=actor, reason=Account.StatusReason.EXPIRED, request=request
        )
    ExpiryDecision.objects.update_or_create(
        account=account, defaults={"expires_on": account.expires_on, "decided_by_id": actor.pk}
    )
    audit_record(
        actor=actor,
        action=AuditAction.ACCOUNT_CLOSE_AT_EXPIRY,
        targets=[account],
        organisation=account.organisation,
        request=request,
        details={"expires_on": account.expires_on.isoformat() if account.expires_on else None},
    )
    return account


def audit_export_record(*, actor, rows: int, filters: dict, request=None) -> None:
    """Audit a download of the audit trail: how many events, under which filters."""
    audit_record(
        actor=actor,
        action=AuditAction.AUDIT_EXPORT,
        organisation=actor.organisation,
        request=request,
        details={"rows": rows, "filters": {k: str(v) for k, v in filters.items() if v}},
    )


def _enqueue_account_request(request_id: int) -> None:
    # A real cycle: managing.tasks calls this module's services, so the task is imported when first sent.
    from managing.tasks import account_request_process

    account_request_process.delay(request_id)


def _names(account):
    """The names an Edit name audit event records before and after."""
    return {
        "forename": account.legal_forename,
        "surname": account.legal_surname,
        "display_name": account.display_name,
        "username": account.username,
    }
