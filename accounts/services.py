"""Every write to organisations, accounts and role grants, and the audit events of signing in."""

import csv

from django.conf import settings
from django.contrib.auth import SESSION_KEY, login
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.audit import AuditAction, audit_count, audit_record
from accounts.guard import address_success_record
from accounts.models import Account, AuditEvent, Organisation, RoleGrant
from accounts.network import networks_clean
from accounts.usernames import username_allocate, usernames_bind


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
        action=AuditAction.ACCOUNT_CREATE,
        targets=[account],
        organisation=organisation,
        request=request,
        details={"kind": kind, "source": source},
    )
    return account


@transaction.atomic
def role_grant(*, account, role, organisation, actor=None):
    """Give an account a role over an organisation; audited."""
    grant, created = RoleGrant.objects.get_or_create(account=account, role=role, organisation=organisation)
    if created:
        audit_record(
            actor=actor,
            action=AuditAction.ROLE_GRANT,
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


# The session key holding how the signed-in person authenticated (RFC 8176 values).
SESSION_AMR = "ump_amr"

ORG_COLUMNS = ("code", "kind", "name", "name_cy", "phase", "parent_code")
# Optional: the organisation's trusted address ranges, separated by spaces or semicolons. A row that leaves the
# cell empty (or a file without the column) keeps the ranges it has.
ORG_NETWORKS_COLUMN = "trusted_networks"


def organisations_import(*, stream):
    """Load or update organisations from CSV; all rows or none. Returns (created, updated)."""
    reader = csv.DictReader(stream)
    headers = [h.strip().lower() for h in (reader.fieldnames or [])]
    missing = [c for c in ORG_COLUMNS if c not in headers]
    if missing:
        raise OrganisationImportError([_("Missing columns: %(columns)s") % {"columns": ", ".join(missing)}])
    rows, errors, seen = [], [], set()
    kinds, phases = set(Organisation.Kind.values), set(Organisation.Phase.values)
    mediums = set(Organisation.Medium.values)
    # Optional: without the column, organisations keep the medium they have.
    with_medium = "language_medium" in headers
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
        row["networks"] = None
        if row.get(ORG_NETWORKS_COLUMN):
            try:
                row["networks"] = networks_clean(row[ORG_NETWORKS_COLUMN].replace(";", " ").split())
            except ValidationError as error:
                problems.extend(error.messages)
        if with_medium:
            row["language_medium"] = row.get("language_medium", "").lower()
            if row["language_medium"] not in mediums | {""}:
                problems.append(
                    _("unknown language medium %(medium)r (%(mediums)s, or empty)")
                    % {"medium": row["language_medium"], "mediums": ", ".join(sorted(mediums))}
                )
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
            if row["networks"] is not None:
                org.trusted_networks = row["networks"]
            if with_medium:
                org.language_medium = row["language_medium"]
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


def signin_complete(*, request, account, methods, backend=None) -> None:
    """Start the session of a sign-in that passed every step, and note how it was made.

    `methods` are RFC 8176 authentication method references (["pwd"], ["pwd", "otp", "mfa"]...), kept in the
    session as `ump_amr` for whoever asks how this person signed in (the OpenID Connect provider).
    """
    login(request, account, backend=backend or getattr(account, "backend", None))
    request.session[SESSION_AMR] = list(methods)
    address_success_record(request=request, account=account)
    signin_success_record(account=account, request=request)


def signin_success_record(*, account, request) -> None:
    """Audit a sign-in (Django's login view has started the session)."""
    audit_record(
        actor=account,
        action=AuditAction.SIGNIN_SUCCESS,
        targets=[account],
        organisation=account.organisation,
        request=request,
    )


def signin_failure_record(*, account, request) -> None:
    """Audit a refused sign-in: one event naming the account the name given belongs to.

    A name that is no account is counted per address and minute instead (audit_count): it names nobody, and a
    flood of made-up names must not grow the trail per request. One refused by the lockout is recorded by
    signin_lockout_record. Per account the events are bounded: after AXES_FAILURE_LIMIT failures the lockout
    refuses further attempts before any password is checked.
    """
    if getattr(request, "axes_locked_out", False):
        return
    if account is None:
        audit_count(action=AuditAction.SIGNIN_FAILURE, request=request)
        return
    audit_record(
        actor=None,
        action=AuditAction.SIGNIN_FAILURE,
        targets=[account],
        organisation=account.organisation,
        request=request,
        outcome=AuditEvent.Outcome.FAILURE,
    )


def signin_lockout_record(*, account, request) -> None:
    """Audit a sign-in refused by the lockout: the first for an account in a cool-off is an event naming it.

    Every further refusal, and every one for a name that is no account, is counted per address and minute.
    """
    if account is None or _lockout_recorded(account):
        audit_count(action=AuditAction.SIGNIN_LOCKED_OUT, request=request)
        return
    audit_record(
        actor=None,
        action=AuditAction.SIGNIN_LOCKED_OUT,
        targets=[account],
        organisation=account.organisation,
        request=request,
        outcome=AuditEvent.Outcome.DENIED,
    )


def _lockout_recorded(account) -> bool:
    """Whether this account's lockout already has its event within the cool-off (the lock it belongs to)."""
    since = timezone.now() - settings.AXES_COOLOFF_TIME
    return AuditEvent.objects.filter(
        action=AuditAction.SIGNIN_LOCKED_OUT, created_at__gte=since, targets__account_id=account.pk
    ).exists()


def today():
    return timezone.localdate()


# name -> a feature app's hook(account_ids=[...]) that ends what else signs these accounts in (AppConfig.ready)
_SIGN_OUT_HOOKS = {}


def account_sign_out_register(name, hook) -> None:
    """Name a feature's way of signing closed accounts out of it (sso: the tokens its clients hold)."""
    _SIGN_OUT_HOOKS[name] = hook


def account_sessions_end(*, account_ids) -> int:
    """Delete every open session of these accounts, and run the feature apps' sign-out hooks; returns how
    many sessions ended."""
    wanted = {str(pk) for pk in account_ids}
    if not wanted:
        return 0
    for hook in _SIGN_OUT_HOOKS.values():
        hook(account_ids=sorted(int(pk) for pk in wanted))
    doomed = []
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator(chunk_size=2000):
        if str(session.get_decoded().get(SESSION_KEY)) in wanted:
            doomed.append(session.session_key)
    Session.objects.filter(session_key__in=doomed).delete()
    return len(doomed)
