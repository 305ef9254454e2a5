"""Reads the account pages share."""

import functools

from django.db import connection
from django.db.models import F, Q
from django.db.models.functions import Collate
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from accounts.models import Account, Organisation
from accounts.permissions import Action, Role, role_orgs

K = Account.Kind

# The View Users sections: slug -> (title, account kinds, the organisation kinds they belong to).
SECTIONS = {
    "learners": (_("Learners"), (K.LEARNER,), (Organisation.Kind.SCHOOL,)),
    "staff": (_("School Staff"), (K.STAFF,), (Organisation.Kind.SCHOOL,)),
    "governors": (_("Governors"), (K.GOVERNOR,), (Organisation.Kind.SCHOOL,)),
    "non-mis": (
        _("Non-MIS users"),
        (K.SCHOOL_NON_MIS, K.ITE_STUDENT, K.SERVICE),
        (Organisation.Kind.SCHOOL, Organisation.Kind.ITE_PROVIDER),
    ),
    "organisation": (
        _("Organisation users"),
        (K.LA_NON_MIS, K.CONSORTIUM_NON_MIS),
        (Organisation.Kind.LOCAL_AUTHORITY, Organisation.Kind.CONSORTIUM, Organisation.Kind.NATIONAL),
    ),
}

SORTS = {
    "surname": ("legal_surname", "legal_forename", "pk"),
    "forename": ("legal_forename", "legal_surname", "pk"),
    "username": ("username",),
    "year": ("year_group", "legal_surname", "pk"),
    "reg": ("registration_group", "legal_surname", "pk"),
    "adno": ("admission_number", "pk"),
    "status": ("status", "legal_surname", "pk"),
    "created": ("created_at", "pk"),
}


NAME_FIELDS = {"legal_surname", "legal_forename"}


@functools.cache
def _icu_collations() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_collation WHERE collname IN ('cy-x-icu', 'und-x-icu')")
        return cursor.fetchone()[0] == 2


def name_order(field: str, *, descending: bool = False, language: str | None = None):
    """An ORDER BY term for a name as people read lists of them, whatever the database's own collation.

    On PostgreSQL with ICU: case and accents count only to break ties (ap Rhys among the A's, Ŵyn among the W's),
    and in Welsh the digraphs ch, dd, ff, ng, ll, ph, rh and th follow c, d, f, g, l, p, r and t (Lynch, Lloyd).
    """
    term = F(field)
    if connection.vendor == "postgresql" and _icu_collations():
        welsh = (language or get_language() or "").startswith("cy")
        term = Collate(term, "cy-x-icu" if welsh else "und-x-icu")
    return term.desc() if descending else term.asc()


def section_organisations(actor, section):
    """Organisations whose users of this section the actor may list."""
    _title, kinds, org_kinds = SECTIONS[section]
    from accounts.permissions import TABLE

    roles = role_orgs(actor)
    org_ids = set()
    for kind in kinds:
        for role in TABLE[Action.VIEW][kind]:
            if role in (Role.SELF, Role.SELF_NOT_PRIMARY_LEARNER):
                continue
            org_ids |= roles[role]
    return Organisation.objects.filter(pk__in=org_ids, kind__in=org_kinds).order_by("name")


def account_list(
    *, actor, section, organisation, search="", active="", year="", reg_group="", sort="surname"
):
    """The scoped, filtered, sorted queryset behind a View Users table."""
    _title, kinds, _org_kinds = SECTIONS[section]
    qs = Account.objects.visible_to(actor).filter(organisation=organisation, kind__in=kinds)
    if search:
        term = search.strip()
        qs = qs.filter(
            Q(legal_surname__icontains=term)
            | Q(legal_forename__icontains=term)
            | Q(username__icontains=term)
            | Q(admission_number__iexact=term)
        )
    if active == "Y":
        qs = qs.filter(status=Account.Status.ACTIVE)
    elif active == "N":
        qs = qs.exclude(status=Account.Status.ACTIVE)
    if year:
        qs = qs.filter(year_group=year)
    if reg_group:
        qs = qs.filter(registration_group=reg_group)
    descending = sort.startswith("-")
    fields = SORTS.get(sort.lstrip("-"), SORTS["surname"])
    order = [
        name_order(f, descending=descending) if f in NAME_FIELDS else ("-" + f if descending else f)
        for f in fields
    ]
    return qs.select_related("organisation").order_by(*order)


def group_choices(*, organisation):
    """Year groups, registration groups and classes present among a school's active learners."""
    learners = Account.objects.filter(organisation=organisation, kind=K.LEARNER, status=Account.Status.ACTIVE)
    # DISTINCT in the database: a school of 2,000 has a few dozen groups, not 2,000 rows to send over.
    years = sorted(
        set(learners.exclude(year_group="").values_list("year_group", flat=True).order_by().distinct()),
        key=lambda y: (len(y), y),
    )
    regs = sorted(
        set(
            learners.exclude(registration_group="")
            .values_list("registration_group", flat=True)
            .order_by()
            .distinct()
        )
    )
    classes = sorted(
        {c for row in learners.values_list("classes", flat=True).order_by().distinct() for c in (row or [])}
    )
    return {"years": years, "reg_groups": regs, "classes": classes}


# Managing users ---------------------------------------------------------------------------------------------

# Which account kinds each Add new user page offers, by the kind of organisation it is for.
ADDABLE_KINDS = {
    "governors": {Organisation.Kind.SCHOOL: (K.GOVERNOR,)},
    "non-mis": {
        Organisation.Kind.SCHOOL: (K.SCHOOL_NON_MIS, K.ITE_STUDENT, K.SERVICE),
        Organisation.Kind.ITE_PROVIDER: (K.ITE_STUDENT,),
    },
    "organisation": {
        Organisation.Kind.LOCAL_AUTHORITY: (K.LA_NON_MIS,),
        Organisation.Kind.CONSORTIUM: (K.CONSORTIUM_NON_MIS,),
        Organisation.Kind.NATIONAL: (K.LA_NON_MIS,),
    },
}


def addable_kinds(actor, section, organisation):
    """The kinds of account the actor may ask for on this section's Add new user page."""
    from accounts.permissions import Scope, can

    kinds = ADDABLE_KINDS.get(section, {}).get(organisation.kind, ())
    return [kind for kind in kinds if can(actor, Action.CREATE_ACCOUNT, Scope(organisation, kind))]


def likely_duplicates(*, organisation, legal_forename, legal_surname):
    """Active MIS accounts at the organisation with the same legal names (accents and case as typed)."""
    return Account.objects.filter(
        organisation=organisation,
        source=Account.Source.MIS,
        status=Account.Status.ACTIVE,
        legal_forename__iexact=legal_forename.strip(),
        legal_surname__iexact=legal_surname.strip(),
    )


def pending_requests(*, organisation, kinds):
    """Account requests still waiting on the creation queue."""
    from accounts.models import AccountRequest

    return AccountRequest.objects.filter(
        organisation=organisation, kind__in=kinds, status=AccountRequest.Status.QUEUED
    ).order_by("created_at", "pk")


def expiring_accounts(actor, *, on):
    """Active non-MIS accounts the actor may keep or close whose expiry falls in the next 8 weeks."""
    from accounts.lifecycle import expiring_soon
    from accounts.permissions import TABLE

    roles = role_orgs(actor)
    condition = Q(pk__in=[])
    for kind, allowed in TABLE[Action.MANAGE_EXPIRING].items():
        org_ids = set().union(*(roles[role] for role in allowed)) if allowed else set()
        if org_ids:
            condition |= Q(kind=kind, organisation_id__in=org_ids)
    return expiring_soon(on).filter(condition).exclude(pk=actor.pk)


def audit_scope_ids(actor):
    """Organisation ids whose audit events the actor may read."""
    from accounts.permissions import ORG_TABLE

    roles = role_orgs(actor)
    return set().union(*(roles[role] for role in ORG_TABLE[Action.VIEW_AUDIT]))


def audit_events(actor, *, account="", actor_name="", action="", date_from=None, date_to=None):
    """The audit events in the actor's scope, newest first, filtered by account, actor, action and date."""
    from accounts.models import AuditEvent, AuditEventTarget

    events = AuditEvent.objects.filter(organisation_id__in=audit_scope_ids(actor))
    if account:
        term = account.strip()
        ids = list(
            Account.objects.filter(Q(username__iexact=term) | Q(email__iexact=term)).values_list(
                "pk", flat=True
            )
        )
        if term.isdigit():
            ids.append(int(term))  # an opaque id, e.g. of a deleted account
        events = events.filter(pk__in=AuditEventTarget.objects.filter(account_id__in=ids).values("event_id"))
    if actor_name:
        term = actor_name.strip()
        ids = list(
            Account.objects.filter(Q(username__iexact=term) | Q(email__iexact=term)).values_list(
                "pk", flat=True
            )
        )
        if term.isdigit():
            ids.append(int(term))
        events = events.filter(actor_id__in=ids)
    if action:
        events = events.filter(action__startswith=action.strip())
    if date_from:
        events = events.filter(created_at__date__gte=date_from)
    if date_to:
        events = events.filter(created_at__date__lte=date_to)
    return events.select_related("organisation").order_by("-created_at", "-id")


def audit_rows(events):
    """Each event with its actor's and targets' usernames (ids where the account is gone), in 2 queries."""
    from accounts.models import AuditEventTarget

    events = list(events)
    targets = {}
    for event_id, account_id in AuditEventTarget.objects.filter(event__in=events).values_list(
        "event_id", "account_id"
    ):
        targets.setdefault(event_id, []).append(account_id)
    ids = {e.actor_id for e in events if e.actor_id} | {pk for pks in targets.values() for pk in pks}
    names = dict(Account.objects.filter(pk__in=ids).values_list("pk", "username"))
    return [
        {
            "event": event,
            "actor": names.get(event.actor_id, f"#{event.actor_id}") if event.actor_id else "",
            "targets": [names.get(pk, f"#{pk}") for pk in targets.get(event.pk, [])],
        }
        for event in events
    ]
