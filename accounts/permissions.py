"""Who may do what: one table of action x account kind -> roles, and one function, `can`.

Every view and service asks `can` (or `require`); every list is scoped by `visible_accounts`, which is
derived from the VIEW row of the same table, so what a person sees and what they may do never drift apart.
An account outside the actor's scope is a 404; a visible account the actor may not act on is a 403.
"""

from dataclasses import dataclass
from enum import StrEnum

from django.core.exceptions import PermissionDenied
from django.db.models import Q

from accounts.models import Account, Organisation, RoleGrant

K = Account.Kind


class Role(StrEnum):
    """How an actor stands towards the organisation an account (or scope) belongs to."""

    SELF = "self"  # the account is the actor's own
    SELF_NOT_PRIMARY_LEARNER = "self_not_primary_learner"
    SCHOOL_STAFF = "school_staff"  # a staff account of that school
    DIGITAL_CHAMPION = "digital_champion"  # the school's Digital Champion
    HWB_ADMIN = "hwb_admin"  # a Hwb administrator whose scope covers it
    ITE_LEAD = "ite_lead"  # the Digital Champion of an ITE lead school covering it


class Action(StrEnum):
    VIEW = "view"
    RESET_PASSWORD = "reset_password"
    SHOW_PASSWORD = "show_password"
    RESET_OWN_PASSWORD = "reset_own_password"
    PRINT_DETAILS = "print_details"
    PRINT_WITH_PASSWORD = "print_with_password"
    PRINT_GROUP = "print_group"
    RESET_GROUP = "reset_group"
    DOWNLOAD_PUPILS_CSV = "download_pupils_csv"
    DOWNLOAD_STAFF_CSV = "download_staff_csv"
    CREATE_ACCOUNT = "create_account"
    DEACTIVATE = "deactivate"
    REACTIVATE = "reactivate"
    REACTIVATE_EXPIRED = "reactivate_expired"
    RENAME = "rename"
    MANAGE_EXPIRING = "manage_expiring"
    VIEW_AUDIT = "view_audit"
    MANAGE_PROVISIONING = "manage_provisioning"


@dataclass(frozen=True)
class Scope:
    """A target that is not one account: 'learners of this school', 'LA non-MIS users of this LA'."""

    organisation: Organisation
    kind: str = "*"


R = Role
STAFF_DC_ADMIN = frozenset({R.SCHOOL_STAFF, R.DIGITAL_CHAMPION, R.HWB_ADMIN})
DC_ADMIN = frozenset({R.DIGITAL_CHAMPION, R.HWB_ADMIN})
ADMIN = frozenset({R.HWB_ADMIN})
NOBODY = frozenset()
SCHOOL_KINDS = (K.GOVERNOR, K.SCHOOL_NON_MIS, K.SERVICE)


def _row(learner, staff, school_non_mis, ite, la_consortium):
    row = {K.LEARNER: learner, K.STAFF: staff, K.ITE_STUDENT: ite}
    row.update(dict.fromkeys(SCHOOL_KINDS, school_non_mis))
    row.update({K.LA_NON_MIS: la_consortium, K.CONSORTIUM_NON_MIS: la_consortium})
    return row


# TABLE[action][account kind] = the roles that may do it. "*" is an organisation-wide scope.
# Every action must have a row for every account kind (tests/accounts/test_permissions.py checks).
TABLE = {
    Action.VIEW: _row(STAFF_DC_ADMIN, DC_ADMIN, DC_ADMIN, DC_ADMIN | {R.ITE_LEAD}, ADMIN),
    Action.RESET_PASSWORD: _row(STAFF_DC_ADMIN, DC_ADMIN, DC_ADMIN, DC_ADMIN | {R.ITE_LEAD}, ADMIN),
    Action.SHOW_PASSWORD: _row(STAFF_DC_ADMIN, DC_ADMIN, DC_ADMIN, DC_ADMIN | {R.ITE_LEAD}, ADMIN),
    Action.RESET_OWN_PASSWORD: _row(frozenset({R.SELF_NOT_PRIMARY_LEARNER}), *[frozenset({R.SELF})] * 4),
    Action.PRINT_DETAILS: _row(STAFF_DC_ADMIN, DC_ADMIN, DC_ADMIN, DC_ADMIN, ADMIN),
    Action.PRINT_WITH_PASSWORD: _row(STAFF_DC_ADMIN, DC_ADMIN, DC_ADMIN, DC_ADMIN, ADMIN),
    Action.PRINT_GROUP: _row(STAFF_DC_ADMIN, DC_ADMIN, DC_ADMIN, DC_ADMIN, ADMIN),
    Action.RESET_GROUP: _row(STAFF_DC_ADMIN, NOBODY, NOBODY, NOBODY, NOBODY),
    Action.DOWNLOAD_PUPILS_CSV: _row(STAFF_DC_ADMIN, NOBODY, NOBODY, NOBODY, NOBODY),
    Action.DOWNLOAD_STAFF_CSV: _row(NOBODY, DC_ADMIN, NOBODY, NOBODY, NOBODY),
    # Learners and staff come only from the MIS; learners never get non-MIS accounts.
    Action.CREATE_ACCOUNT: _row(NOBODY, NOBODY, DC_ADMIN, DC_ADMIN | {R.ITE_LEAD}, ADMIN),
    Action.DEACTIVATE: _row(NOBODY, NOBODY, DC_ADMIN, DC_ADMIN, ADMIN),
    Action.REACTIVATE: _row(NOBODY, NOBODY, DC_ADMIN, DC_ADMIN, ADMIN),
    Action.REACTIVATE_EXPIRED: _row(NOBODY, NOBODY, DC_ADMIN, DC_ADMIN, ADMIN),
    Action.RENAME: _row(DC_ADMIN, DC_ADMIN, DC_ADMIN, DC_ADMIN, ADMIN),
    # Keep or close a non-MIS account that is about to expire.
    Action.MANAGE_EXPIRING: _row(NOBODY, NOBODY, DC_ADMIN, DC_ADMIN, ADMIN),
}
# Organisation-wide actions: the key "*" stands for "this organisation" rather than one kind.
ORG_TABLE = {
    Action.VIEW_AUDIT: DC_ADMIN,
    Action.MANAGE_PROVISIONING: DC_ADMIN,
}


def _subtree_ids(org_ids):
    """The organisations themselves and everything below them (consortium -> LA -> school).

    The national organisation covers every organisation, whether or not it is recorded as their parent.
    """
    if Organisation.objects.filter(pk__in=org_ids, kind=Organisation.Kind.NATIONAL).exists():
        return set(Organisation.objects.values_list("pk", flat=True))
    found, frontier = set(org_ids), set(org_ids)
    while frontier:
        frontier = (
            set(Organisation.objects.filter(parent_id__in=frontier).values_list("pk", flat=True)) - found
        )
        found |= frontier
    return found


def role_orgs(actor):
    """Role -> the set of organisation ids where the actor holds it. Cached on the actor object."""
    cached = getattr(actor, "_ump_role_orgs", None)
    if cached is not None:
        return cached
    roles = {role: set() for role in Role}
    if actor is not None and actor.is_authenticated and actor.is_active:
        if actor.kind == K.STAFF:
            roles[R.SCHOOL_STAFF].add(actor.organisation_id)
        grants = list(RoleGrant.objects.filter(account=actor).values_list("role", "organisation_id"))
        roles[R.DIGITAL_CHAMPION] = {org for role, org in grants if role == RoleGrant.Role.DIGITAL_CHAMPION}
        admin_roots = {org for role, org in grants if role == RoleGrant.Role.HWB_ADMIN}
        lead_roots = {org for role, org in grants if role == RoleGrant.Role.ITE_LEAD}
        roles[R.HWB_ADMIN] = _subtree_ids(admin_roots) if admin_roots else set()
        roles[R.ITE_LEAD] = _subtree_ids(lead_roots) if lead_roots else set()
    actor._ump_role_orgs = roles
    return roles


def roles_at(actor, organisation_id):
    return {role for role, orgs in role_orgs(actor).items() if organisation_id in orgs}


def is_privileged(actor):
    """Holds any grant (Digital Champion, Hwb administrator, ITE lead)."""
    roles = role_orgs(actor)
    return bool(roles[R.DIGITAL_CHAMPION] or roles[R.HWB_ADMIN] or roles[R.ITE_LEAD])


def can(actor, action, target):
    """May `actor` do `action` to `target` (an Account, or a Scope)?"""
    if actor is None or not actor.is_authenticated or not actor.is_active:
        return False
    action = Action(action)
    if isinstance(target, Scope):
        roles = roles_at(actor, target.organisation.pk)
        allowed = ORG_TABLE[action] if action in ORG_TABLE else TABLE[action].get(target.kind, NOBODY)
        return bool(roles & allowed)
    if action in ORG_TABLE:
        raise ValueError(f"{action} takes a Scope, not an account")
    allowed = TABLE[action].get(target.kind, NOBODY)
    if target.pk == actor.pk:
        if R.SELF in allowed:
            return True
        if R.SELF_NOT_PRIMARY_LEARNER in allowed:
            return not (target.kind == K.LEARNER and target.organisation.is_primary)
    return bool(roles_at(actor, target.organisation_id) & allowed)


def require(actor, action, target):
    """Raise PermissionDenied (a 403) unless `can` says yes."""
    if not can(actor, action, target):
        raise PermissionDenied


def visible_accounts(actor, queryset=None):
    """Scope a queryset to the accounts the actor may VIEW, plus their own."""
    queryset = Account.objects.all() if queryset is None else queryset
    if actor is None or not actor.is_authenticated or not actor.is_active:
        return queryset.none()
    roles = role_orgs(actor)
    condition = Q(pk=actor.pk)
    for kind, allowed in TABLE[Action.VIEW].items():
        org_ids = set().union(*(roles[role] for role in allowed)) if allowed else set()
        if org_ids:
            condition |= Q(kind=kind, organisation_id__in=org_ids)
    return queryset.filter(condition)


def scopes_for(actor, action):
    """Organisations where the actor may do an organisation-wide action (for navigation and pickers)."""
    roles = role_orgs(actor)
    allowed = ORG_TABLE.get(action) or set().union(*TABLE[action].values())
    org_ids = set().union(*(roles[role] for role in allowed if role in roles))
    return Organisation.objects.filter(pk__in=org_ids)
