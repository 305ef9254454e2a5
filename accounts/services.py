"""Every write to organisations, accounts, role grants and the audit trail."""

import csv
from datetime import date

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.bulk import rows_copy
from accounts.models import Account, AuditEvent, AuditEventTarget, Organisation, RoleGrant
from accounts.usernames import username_allocate, usernames_bind

STAFF_LIKE = {
    Account.Kind.STAFF,
    Account.Kind.GOVERNOR,
    Account.Kind.SCHOOL_NON_MIS,
    Account.Kind.LA_NON_MIS,
    Account.Kind.CONSORTIUM_NON_MIS,
    Account.Kind.ITE_STUDENT,
    Account.Kind.SERVICE,
}


def client_ip(request):
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def audit_record(
    *, actor, action, targets=(), organisation=None, request=None, outcome="success", details=None
):
    """Append one audit event. `details` must never hold a password, token or UPN."""
    target_ids = sorted({t if isinstance(t, int) else t.pk for t in targets})
    event = AuditEvent.objects.create(
        actor_id=getattr(actor, "pk", actor) if actor is not None else None,
        action=str(action),
        organisation=organisation,
        client_ip=client_ip(request),
        outcome=str(outcome),
        target_count=len(target_ids),
        details=details or {},
    )
    if target_ids:
        rows_copy(AuditEventTarget, ["event", "account_id"], ((event.pk, pk) for pk in target_ids))
    return event


def audit_record_bulk(*, actor, events):
    """Append many audit events at once: (action, organisation, target ids, details) each, all successes.

    One insert for the events and one COPY for all their targets, where audit_record costs a round trip each:
    a provisioning batch audits thousands of schools' changes. `details` must never hold a secret or UPN.
    """
    actor_id = getattr(actor, "pk", actor) if actor is not None else None
    rows = [
        (action, organisation, sorted(set(targets)), details)
        for action, organisation, targets, details in events
    ]
    created = AuditEvent.objects.bulk_create(
        [
            AuditEvent(
                actor_id=actor_id,
                action=str(action),
                organisation=organisation,
                target_count=len(targets),
                details=details or {},
            )
            for action, organisation, targets, details in rows
        ]
    )
    rows_copy(
        AuditEventTarget,
        ["event", "account_id"],
        (
            (event.pk, pk)
            for event, (_a, _o, targets, _d) in zip(created, rows, strict=True)
            for pk in targets
        ),
    )
    return created


def display_name_for(kind, forename, surname):
    """Staff 'J Bloggs' (initial and surname); learners 'Joe B' (forename and surname initial)."""
    forename, surname = forename.strip(), surname.strip()
    if kind == Account.Kind.LEARNER:
        return f"{forename} {surname[:1]}".strip()
    return f"{forename[:1]} {surname}".strip()


def email_for(username):
    return f"{username}@{settings.UMP_EMAIL_DOMAIN}".lower()


@transaction.atomic
def account_create(
    *,
    actor,
    organisation,
    kind,
    source,
    legal_forename,
    legal_surname,
    status=Account.Status.ACTIVE,
    password=None,
    request=None,
    **fields,
):
    """Create one account with a freshly allocated username; audited."""
    username = username_allocate(forename=legal_forename, surname=legal_surname)
    account = Account(
        organisation=organisation,
        kind=kind,
        source=source,
        legal_forename=legal_forename.strip(),
        legal_surname=legal_surname.strip(),
        display_name=fields.pop("display_name", None)
        or display_name_for(kind, legal_forename, legal_surname),
        username=username,
        email=email_for(username),
        status=status,
        **fields,
    )
    if password:
        account.set_password(password)
    else:
        account.set_unusable_password()
    account.full_clean(exclude=["password"])
    account.save()
    usernames_bind([account])
    audit_record(
        actor=actor,
        action="account.create",
        targets=[account],
        organisation=organisation,
        request=request,
        details={"kind": kind, "source": source},
    )
    return account


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
        or ("account.deactivate" if status == Account.Status.DEACTIVATED else "account.activate"),
        targets=[account],
        organisation=account.organisation,
        request=request,
        details={"reason": reason} if reason else {},
    )
    return account


@transaction.atomic
def role_grant(*, account, role, organisation, actor=None):
    """Give an account a role over an organisation; audited."""
    grant, created = RoleGrant.objects.get_or_create(account=account, role=role, organisation=organisation)
    if created:
        audit_record(
            actor=actor,
            action="role.grant",
            targets=[account],
            organisation=organisation,
            details={"role": role},
        )
    return grant


class OrganisationImportError(Exception):
    """A bad organisations file; nothing was changed."""

    def __init__(self, errors):
        self.errors = errors
        super().__init__("\n".join(errors))


ORG_COLUMNS = ("code", "kind", "name", "name_cy", "phase", "parent_code")


def organisations_import(*, stream):
    """Load or update organisations from CSV; all rows or none. Returns (created, updated)."""
    reader = csv.DictReader(stream)
    headers = [h.strip().lower() for h in (reader.fieldnames or [])]
    missing = [c for c in ORG_COLUMNS if c not in headers]
    if missing:
        raise OrganisationImportError([_("Missing columns: %(columns)s") % {"columns": ", ".join(missing)}])
    rows, errors, seen = [], [], set()
    kinds, phases = set(Organisation.Kind.values), set(Organisation.Phase.values)
    for line, raw in enumerate(reader, start=2):
        row = {k.strip().lower(): (v or "").strip() for k, v in raw.items() if k}
        code, kind, phase = row["code"], row["kind"], row["phase"]
        problems = []
        if not code:
            problems.append(_("code is empty"))
        elif code in seen:
            problems.append(_("code %(code)s appears more than once") % {"code": code})
        if kind not in kinds:
            problems.append(_("unknown kind %(kind)r") % {"kind": kind})
        if not row["name"]:
            problems.append(_("name is empty"))
        if kind == Organisation.Kind.SCHOOL and phase not in phases:
            problems.append(_("a school needs a phase (%(phases)s)") % {"phases": ", ".join(sorted(phases))})
        if kind != Organisation.Kind.SCHOOL and phase:
            problems.append(_("only schools have a phase"))
        if kind == Organisation.Kind.SCHOOL and not (code.isdigit() and len(code) == 7):
            problems.append(_("a school code is 7 digits (LA number and establishment number)"))
        if kind == Organisation.Kind.LOCAL_AUTHORITY and not (code.isdigit() and len(code) == 3):
            problems.append(_("a local authority code is 3 digits"))
        for problem in problems:
            errors.append(_("Line %(line)s: %(problem)s") % {"line": line, "problem": problem})
        seen.add(code)
        rows.append(row)
    existing = set(Organisation.objects.values_list("code", flat=True))
    for line, row in enumerate(rows, start=2):
        parent = row["parent_code"]
        if parent and parent not in seen and parent not in existing:
            errors.append(
                _("Line %(line)s: parent %(parent)s is not in the file or the portal")
                % {"line": line, "parent": parent}
            )
        if parent == row["code"]:
            errors.append(_("Line %(line)s: an organisation cannot be its own parent") % {"line": line})
    if errors:
        raise OrganisationImportError([str(e) for e in errors])
    created = updated = 0
    with transaction.atomic():
        by_code = {o.code: o for o in Organisation.objects.filter(code__in=seen)}
        for row in rows:
            org = by_code.get(row["code"]) or Organisation(code=row["code"])
            created += org.pk is None
            updated += org.pk is not None
            org.kind, org.name, org.name_cy, org.phase = (
                row["kind"],
                row["name"],
                row["name_cy"],
                row["phase"],
            )
            org.save()
            by_code[org.code] = org
        for row in rows:
            org = by_code[row["code"]]
            parent = row["parent_code"]
            org.parent = (by_code.get(parent) or Organisation.objects.get(code=parent)) if parent else None
            org.full_clean()
            org.save(update_fields=["parent"])
        # A cycle would make scopes loop: refuse the whole file.
        for org in by_code.values():
            node, hops = org, 0
            while node.parent_id is not None:
                node = Organisation.objects.get(pk=node.parent_id)
                hops += 1
                if hops > 10:
                    raise OrganisationImportError([str(_("The parent codes form a cycle."))])
    return created, updated


@transaction.atomic
def admin_create(*, forename, surname, password, organisation):
    """A Hwb administrator over `organisation` (national, consortium, LA or school)."""
    account = account_create(
        actor=None,
        organisation=organisation,
        kind=Account.Kind.LA_NON_MIS if organisation.kind != Organisation.Kind.SCHOOL else Account.Kind.STAFF,
        source=Account.Source.MANUAL,
        legal_forename=forename,
        legal_surname=surname,
        password=password,
    )
    if organisation.kind == Organisation.Kind.NATIONAL:
        account.is_staff = account.is_superuser = True
        account.save(update_fields=["is_staff", "is_superuser"])
    role_grant(account=account, role=RoleGrant.Role.HWB_ADMIN, organisation=organisation)
    return account


def today():
    return timezone.localdate()


def academic_year_end(on: date) -> date:
    """31 August ending the academic year that contains `on`."""
    year = on.year if on.month <= 8 else on.year + 1
    return date(year, 8, 31)


# Managing users: the creation queue, deactivation, renames and expiry ---------------------------------------

DURATION_MONTHS = {"1": 1, "3": 3, "6": 6}
DURATION_YEAR_END = "year"
KEEP_NEXT_YEAR_END = "next_year"


def add_months(day: date, months: int) -> date:
    """The same day `months` calendar months later (or earlier), clamped to the end of a shorter month."""
    import calendar

    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def expiry_for(duration: str, *, start: date | None = None) -> date:
    """Last day of use for an account needed for 1, 3 or 6 months, or to the end of the academic year."""
    start = start or today()
    if duration == DURATION_YEAR_END:
        return academic_year_end(start)
    if duration == KEEP_NEXT_YEAR_END:
        return date(academic_year_end(start).year + 1, 8, 31)
    return add_months(start, DURATION_MONTHS[duration])


def _enqueue_account_request(request_id: int) -> None:
    from accounts.tasks import account_request_process

    account_request_process.delay(request_id)


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
    from accounts.models import AccountRequest
    from accounts.permissions import Action, Scope, require
    from accounts.sealing import seal

    require(actor, Action.CREATE_ACCOUNT, Scope(organisation, kind))
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
        action="account.request",
        organisation=organisation,
        request=request,
        details={"request": pending.pk, "kind": kind, "expires_on": expires_on.isoformat()},
    )
    transaction.on_commit(lambda: _enqueue_account_request(pending.pk))
    return pending


@transaction.atomic
def account_request_fulfil(*, request_id: int):
    """Create the account a queued request asks for; safe to run twice (the second run does nothing)."""
    from accounts.models import AccountRequest
    from accounts.sealing import unseal
    from passwords.services import shown_passwords_store_bulk

    pending = AccountRequest.objects.select_for_update().select_related("organisation").get(pk=request_id)
    if pending.status != AccountRequest.Status.QUEUED:
        return pending.account
    optional = {
        name: getattr(pending, name)
        for name in ("staff_role", "contact_organisation", "job_title", "work_email", "contact_number")
    }
    # No argon2 hash here: the account signs in from its sealed copy and is hashed then (passwords.backends).
    account = account_create(
        actor=pending.requested_by_id,
        organisation=pending.organisation,
        kind=pending.kind,
        source=Account.Source.MANUAL,
        legal_forename=pending.legal_forename,
        legal_surname=pending.legal_surname,
        expires_on=pending.expires_on,
        **optional,
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
    from accounts.models import AccountRequest

    pending = AccountRequest.objects.select_for_update().get(pk=request_id)
    if pending.status != AccountRequest.Status.QUEUED:
        return
    pending.status = AccountRequest.Status.FAILED
    pending.sealed_password = None
    pending.processed_at = timezone.now()
    pending.save(update_fields=["status", "sealed_password", "processed_at"])
    audit_record(
        actor=pending.requested_by_id,
        action="account.request_failed",
        organisation=pending.organisation,
        outcome="failure",
        details={"request": pending.pk, "kind": pending.kind},
    )


def account_sessions_end(*, account_ids) -> int:
    """Delete every open session of these accounts; returns how many ended."""
    from django.contrib.auth import SESSION_KEY
    from django.contrib.sessions.models import Session

    wanted = {str(pk) for pk in account_ids}
    if not wanted:
        return 0
    doomed = []
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator(chunk_size=2000):
        if str(session.get_decoded().get(SESSION_KEY)) in wanted:
            doomed.append(session.session_key)
    Session.objects.filter(session_key__in=doomed).delete()
    return len(doomed)


@transaction.atomic
def account_deactivate(*, account, actor, reason=Account.StatusReason.MANUAL, request=None):
    """Deactivate an account and end its open sessions now; audited."""
    account_set_status(
        account=account, actor=actor, status=Account.Status.DEACTIVATED, reason=reason, request=request
    )
    account_sessions_end(account_ids=[account.pk])
    return account


@transaction.atomic
def account_activate(*, account, actor, expires_on=None, request=None):
    """Bring a deactivated account back; an expired one needs a new expiry date; audited."""
    from django.core.exceptions import ValidationError

    expired = account.status_reason == Account.StatusReason.EXPIRED or (
        account.expires_on is not None and account.expires_on < today()
    )
    if expired and (expires_on is None or expires_on < today()):
        raise ValidationError(_("Choose how long the account is needed."), code="expiry_required")
    if expires_on is not None:
        account.expires_on = expires_on
        account.save(update_fields=["expires_on", "updated_at"])
    # status_changed_at restarts the 90-day sign-in clock, so the next sweep does not close it again.
    return account_set_status(
        account=account, actor=actor, status=Account.Status.ACTIVE, request=request, action="account.activate"
    )


@transaction.atomic
def account_rename(
    *, account, actor, legal_forename, legal_surname, display_name, new_username=False, request=None
):
    """Change an account's names; a new username brings a new email (old kept as alias) and a new password."""
    from accounts.models import EmailAlias

    before = {
        "forename": account.legal_forename,
        "surname": account.legal_surname,
        "display_name": account.display_name,
        "username": account.username,
    }
    account.legal_forename = legal_forename.strip()
    account.legal_surname = legal_surname.strip()
    account.display_name = display_name.strip() or display_name_for(
        account.kind, legal_forename, legal_surname
    )
    if new_username:
        EmailAlias.objects.create(account=account, email=account.email)
        account.username = username_allocate(forename=legal_forename, surname=legal_surname, account=account)
        account.email = email_for(account.username)
    account.full_clean(exclude=["password"])
    account.save()
    after = {
        "forename": account.legal_forename,
        "surname": account.legal_surname,
        "display_name": account.display_name,
        "username": account.username,
    }
    audit_record(
        actor=actor,
        action="account.rename",
        targets=[account],
        organisation=account.organisation,
        request=request,
        details={"old": before, "new": after},
    )
    if new_username:
        from passwords.services import password_generate, password_set

        password_set(
            account=account, actor=actor, new_password=password_generate(account=account), request=request
        )
    return account


@transaction.atomic
def account_expiry_keep(*, account, actor, keep_for, request=None):
    """Extend an expiring account to the end of next academic year, or by 6, 3 or 1 months; audited."""
    from accounts.models import ExpiryDecision

    old = account.expires_on
    start = max(old or today(), today())
    account.expires_on = expiry_for(keep_for, start=start)
    account.save(update_fields=["expires_on", "updated_at"])
    ExpiryDecision.objects.filter(account=account).delete()
    audit_record(
        actor=actor,
        action="account.keep",
        targets=[account],
        organisation=account.organisation,
        request=request,
        details={
            "old_expires_on": old.isoformat() if old else None,
            "expires_on": account.expires_on.isoformat(),
        },
    )
    return account


CLOSE_NOW = "now"
CLOSE_AT_EXPIRY = "at_expiry"


@transaction.atomic
def account_expiry_close(*, account, actor, when, request=None):
    """Close an expiring account now, or confirm that it closes at its expiry date; audited."""
    from accounts.models import ExpiryDecision

    if when == CLOSE_NOW:
        return account_deactivate(
            account=account, actor=actor, reason=Account.StatusReason.EXPIRED, request=request
        )
    ExpiryDecision.objects.update_or_create(
        account=account, defaults={"expires_on": account.expires_on, "decided_by_id": actor.pk}
    )
    audit_record(
        actor=actor,
        action="account.close_at_expiry",
        targets=[account],
        organisation=account.organisation,
        request=request,
        details={"expires_on": account.expires_on.isoformat() if account.expires_on else None},
    )
    return account


def initial_password(*, style, legal_forename, legal_surname, language=None) -> str:
    """A generated password in the chosen style for an account not made yet (checked against its names)."""
    from passwords.services import password_generate

    stub = Account(legal_forename=legal_forename, legal_surname=legal_surname, display_name="")
    return password_generate(account=stub, language=language, style=style)
