"""Who may do what: one table of action x account kind -> roles, and the three questions asked of it.

- `can(actor, action, target)`: may they do it to this account (or organisation-wide Scope)? `require` turns
  a no into a 403.
- `Account.objects.restrict(actor, action)` (`restrict` here): the accounts they may do it to, as one filter
  (NetBox's `restrict()`). Every lookup is scoped with VIEW, so what a person sees and what they may do never
  drift apart: an account outside the actor's scope is a 404; a visible account they may not act on is a 403.
- `organisations_for(actor, action, kinds=...)`: the organisations where they may do it (pickers, navigation,
  the audit trail's scope); `organisation_ids_for` is the same set as ids, for a yes/no that costs no query,
  and with `org_kinds=` only organisations of those kinds (the navigation: a school page is offered only to
  someone who may use it at a school).

Least privilege decides where a role holds. A Digital Champion grant covers its school. A Hwb administrator
grant covers the organisation it names and nothing below it: at a school, that school's accounts; at a local
authority, the LA's own accounts (its LA non-MIS users: "Manage Local Authority Non-MIS Users"), not its
schools'; at a consortium, the consortium's own accounts, neither its LAs' nor their schools'. Only a grant at
the national organisation reaches everything. Powers over a school's accounts therefore come only from a role
at that school or a national grant. An ITE lead grant covers the school it names and anything below it.

School staff are the school's MIS staff and its supply teachers (school non-MIS users recorded as supply
teachers): the help gives ANY school staff user a teacher's powers over the school's learners. Governors,
other school non-MIS users and service accounts are not school staff.
"""

from dataclasses import dataclass
from enum import StrEnum

from django.core.exceptions import PermissionDenied
from django.db.models import Q

from accounts.models import SUPPLY_TEACHER_ROLE, Account, Organisation, RoleGrant

K = Account.Kind


class Role(StrEnum):
    """How an actor stands towards the organisation an account (or scope) belongs to."""

    SELF = "self"  # the account is the actor's own
    SELF_NOT_PRIMARY_LEARNER = "self_not_primary_learner"
    SCHOOL_STAFF = "school_staff"  # a staff account of that school, or a supply teacher working there
    DIGITAL_CHAMPION = "digital_champion"  # the school's Digital Champion
    HWB_ADMIN = "hwb_admin"  # a Hwb administrator granted at that organisation, or nationally
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
    MANAGE_SSO_CLIENTS = "manage_sso_clients"
    MFA_TOGGLE = "mfa_toggle"
    MFA_RESET = "mfa_reset"
    MFA_SETUP_CODE = "mfa_setup_code"
    MFA_MANAGE_OWN = "mfa_manage_own"
    VIEW_MFA_STATUS = "view_mfa_status"
    MANAGE_TRUSTED_NETWORKS = "manage_trusted_networks"


@dataclass(frozen=True)
class Scope:
    """A target that is not one account: 'learners of this school', 'LA non-MIS users of this LA'."""

    organisation: Organisation
    kind: str = "*"


R = Role
STAFF_DC_ADMIN = frozenset({R.SCHOOL_STAFF, R.DIGITAL_CHAMPION, R.HWB_ADMIN})
DC_ADMIN = frozenset({R.DIGITAL_CHAMPION, R.HWB_ADMIN})
DC_ADMIN_ITE = DC_ADMIN | {R.ITE_LEAD}
ADMIN = frozenset({R.HWB_ADMIN})
OWN = frozenset({R.SELF})
OWN_NOT_PRIMARY = frozenset({R.SELF_NOT_PRIMARY_LEARNER})
NOBODY = frozenset()
SCHOOL_KINDS = (K.GOVERNOR, K.SCHOOL_NON_MIS, K.SERVICE)
# Roles about the actor's own account rather than an organisation: they never put an organisation in scope.
SELF_ROLES = frozenset({R.SELF, R.SELF_NOT_PRIMARY_LEARNER})


def _row(*, learner, staff, school_non_mis, ite, la_consortium):
    """One action's row: `school_non_mis` covers governors, school non-MIS users and service accounts."""
    row = {K.LEARNER: learner, K.STAFF: staff, K.ITE_STUDENT: ite}
    row.update(dict.fromkeys(SCHOOL_KINDS, school_non_mis))
    row.update({K.LA_NON_MIS: la_consortium, K.CONSORTIUM_NON_MIS: la_consortium})
    return row


# TABLE[action][account kind] = the roles that may do it. "*" is an organisation-wide scope.
# Every action must have a row for every account kind (tests/accounts/test_permissions.py checks).
TABLE = {
    Action.VIEW: _row(
        learner=STAFF_DC_ADMIN, staff=DC_ADMIN, school_non_mis=DC_ADMIN, ite=DC_ADMIN_ITE, la_consortium=ADMIN
    ),
    Action.RESET_PASSWORD: _row(
        learner=STAFF_DC_ADMIN, staff=DC_ADMIN, school_non_mis=DC_ADMIN, ite=DC_ADMIN_ITE, la_consortium=ADMIN
    ),
    Action.SHOW_PASSWORD: _row(
        learner=STAFF_DC_ADMIN, staff=DC_ADMIN, school_non_mis=DC_ADMIN, ite=DC_ADMIN_ITE, la_consortium=ADMIN
    ),
    Action.RESET_OWN_PASSWORD: _row(
        learner=OWN_NOT_PRIMARY, staff=OWN, school_non_mis=OWN, ite=OWN, la_consortium=OWN
    ),
    Action.PRINT_DETAILS: _row(
        learner=STAFF_DC_ADMIN, staff=DC_ADMIN, school_non_mis=DC_ADMIN, ite=DC_ADMIN, la_consortium=ADMIN
    ),
    Action.PRINT_WITH_PASSWORD: _row(
        learner=STAFF_DC_ADMIN, staff=DC_ADMIN, school_non_mis=DC_ADMIN, ite=DC_ADMIN, la_consortium=ADMIN
    ),
    Action.PRINT_GROUP: _row(
        learner=STAFF_DC_ADMIN, staff=DC_ADMIN, school_non_mis=DC_ADMIN, ite=DC_ADMIN, la_consortium=ADMIN
    ),
    Action.RESET_GROUP: _row(
        learner=STAFF_DC_ADMIN, staff=NOBODY, school_non_mis=NOBODY, ite=NOBODY, la_consortium=NOBODY
    ),
    Action.DOWNLOAD_PUPILS_CSV: _row(
        learner=STAFF_DC_ADMIN, staff=NOBODY, school_non_mis=NOBODY, ite=NOBODY, la_consortium=NOBODY
    ),
    Action.DOWNLOAD_STAFF_CSV: _row(
        learner=NOBODY, staff=DC_ADMIN, school_non_mis=NOBODY, ite=NOBODY, la_consortium=NOBODY
    ),
    # Learners and staff come only from the MIS; learners never get non-MIS accounts.
    Action.CREATE_ACCOUNT: _row(
        learner=NOBODY, staff=NOBODY, school_non_mis=DC_ADMIN, ite=DC_ADMIN_ITE, la_consortium=ADMIN
    ),
    Action.DEACTIVATE: _row(
        learner=NOBODY, staff=NOBODY, school_non_mis=DC_ADMIN, ite=DC_ADMIN, la_consortium=ADMIN
    ),
    Action.REACTIVATE: _row(
        learner=NOBODY, staff=NOBODY, school_non_mis=DC_ADMIN, ite=DC_ADMIN, la_consortium=ADMIN
    ),
    Action.REACTIVATE_EXPIRED: _row(
        learner=NOBODY, staff=NOBODY, school_non_mis=DC_ADMIN, ite=DC_ADMIN, la_consortium=ADMIN
    ),
    Action.RENAME: _row(
        learner=DC_ADMIN, staff=DC_ADMIN, school_non_mis=DC_ADMIN, ite=DC_ADMIN, la_consortium=ADMIN
    ),
    # Keep or close a non-MIS account that is about to expire.
    Action.MANAGE_EXPIRING: _row(
        learner=NOBODY, staff=NOBODY, school_non_mis=DC_ADMIN, ite=DC_ADMIN, la_consortium=ADMIN
    ),
    # Multi-factor sign-in: learners never use it. Turn it on or off, Reset MFA (a lost phone), print a one-time
    # set-up code for someone who cannot come to school to set it up.
    Action.MFA_TOGGLE: _row(
        learner=NOBODY, staff=DC_ADMIN, school_non_mis=DC_ADMIN, ite=DC_ADMIN, la_consortium=ADMIN
    ),
    Action.MFA_RESET: _row(
        learner=NOBODY, staff=DC_ADMIN, school_non_mis=DC_ADMIN, ite=DC_ADMIN, la_consortium=ADMIN
    ),
    Action.MFA_SETUP_CODE: _row(
        learner=NOBODY, staff=DC_ADMIN, school_non_mis=DC_ADMIN, ite=DC_ADMIN, la_consortium=ADMIN
    ),
    # My Profile > Security: one's own factors and recovery codes.
    Action.MFA_MANAGE_OWN: _row(learner=NOBODY, staff=OWN, school_non_mis=OWN, ite=OWN, la_consortium=OWN),
}
# Organisation-wide actions: the key "*" stands for "this organisation" rather than one kind.
ORG_TABLE = {
    Action.VIEW_AUDIT: DC_ADMIN,
    Action.MANAGE_PROVISIONING: DC_ADMIN,
    # The services that sign people in through UMP (OpenID Connect clients) serve all of Wales: asked of the
    # national organisation, so only a national Hwb administrator holds it.
    Action.MANAGE_SSO_CLIENTS: ADMIN,
    # Who has MFA on and who has not set it up; the organisation's trusted address ranges.
    Action.VIEW_MFA_STATUS: DC_ADMIN,
    Action.MANAGE_TRUSTED_NETWORKS: DC_ADMIN,
}


def role_orgs(actor):
    """Role -> the set of organisation ids where the actor holds it. Cached on the actor object."""
    cached = getattr(actor, "_ump_role_orgs", None)
    if cached is not None:
        return cached
    roles = {role: set() for role in Role}
    kinds = {}  # organisation id -> kind, for every organisation in some role's scope
    if _signed_in(actor):
        grants = list(
            RoleGrant.objects.filter(account=actor).values_list(
                "role", "organisation_id", "organisation__kind"
            )
        )
        kinds.update((org, kind) for _role, org, kind in grants)
        if _is_school_staff(actor):
            roles[R.SCHOOL_STAFF].add(actor.organisation_id)
            # staff come from their school's MIS; a supply teacher's account is made at their school
            kinds[actor.organisation_id] = Organisation.Kind.SCHOOL
        roles[R.DIGITAL_CHAMPION] = {
            org for role, org, _k in grants if role == RoleGrant.Role.DIGITAL_CHAMPION
        }
        admin_grants = {org for role, org, _k in grants if role == RoleGrant.Role.HWB_ADMIN}
        national = any(
            role == RoleGrant.Role.HWB_ADMIN and kind == Organisation.Kind.NATIONAL
            for role, _o, kind in grants
        )
        if national:
            kinds.update(Organisation.objects.values_list("pk", "kind"))
            roles[R.HWB_ADMIN] = set(kinds)
        else:
            roles[R.HWB_ADMIN] = admin_grants  # least privilege: the granted organisations, nothing below
        lead_roots = {org: kind for role, org, kind in grants if role == RoleGrant.Role.ITE_LEAD}
        if lead_roots:
            below = _subtree(lead_roots)
            kinds.update(below)
            roles[R.ITE_LEAD] = set(below)
    actor._ump_role_orgs = roles
    actor._ump_org_kinds = kinds
    return roles


def roles_at(actor, organisation_id):
    return {role for role, orgs in role_orgs(actor).items() if organisation_id in orgs}


def is_hwb_admin(actor) -> bool:
    """Whether the actor holds a Hwb administrator grant at any organisation (at any scope)."""
    if not _signed_in(actor):
        return False
    cached = getattr(actor, "_ump_role_orgs", None)
    if cached is not None:
        return bool(cached[R.HWB_ADMIN])
    return RoleGrant.objects.filter(account=actor, role=RoleGrant.Role.HWB_ADMIN).exists()


def can(actor, action, target):
    """May `actor` do `action` to `target` (an Account, or a Scope)?"""
    if not _signed_in(actor):
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


def restrict(queryset, actor, action):
    """`queryset` narrowed to the accounts `actor` may do `action` to: exactly those `can` allows.

    VIEW also always includes the actor's own account (My Profile): seeing it is not acting on it, and what
    they may do to it is still `can`'s answer.
    """
    action = Action(action)
    if action in ORG_TABLE:
        raise ValueError(f"{action} is organisation-wide: ask organisations_for")
    if not _signed_in(actor):
        return queryset.none()
    roles = role_orgs(actor)
    own = action == Action.VIEW or can(actor, action, actor)
    condition = Q(pk=actor.pk) if own else Q(pk__in=[])
    for kind, allowed in TABLE[action].items():
        org_ids = _ids_holding(roles, allowed)
        if org_ids:
            condition |= Q(kind=kind, organisation_id__in=org_ids)
    return queryset.filter(condition)


def organisation_ids_for(actor, action, *, kinds=None, org_kinds=None):
    """Ids of the organisations where `actor` may do `action` to accounts of any of `kinds` (default: any kind).

    For an organisation-wide action (VIEW_AUDIT, MANAGE_PROVISIONING) `kinds` does not apply. With `org_kinds`,
    only organisations of those kinds (no query: the kinds are cached with the roles).
    """
    action = Action(action)
    if action in ORG_TABLE:
        allowed = ORG_TABLE[action]
    else:
        row = TABLE[action]
        allowed = set().union(*(row[kind] for kind in (row if kinds is None else kinds)))
    ids = _ids_holding(role_orgs(actor), allowed - SELF_ROLES)
    if org_kinds is not None:
        ids = {pk for pk in ids if actor._ump_org_kinds.get(pk) in org_kinds}
    return ids


def organisations_for(actor, action, *, kinds=None, org_kinds=None):
    """The organisations where `actor` may do `action` (to accounts of any of `kinds`), as a queryset."""
    return Organisation.objects.filter(
        pk__in=organisation_ids_for(actor, action, kinds=kinds, org_kinds=org_kinds)
    )


def _signed_in(actor):
    return actor is not None and actor.is_authenticated and actor.is_active


def _is_school_staff(actor):
    """Staff from the MIS, and supply teachers (school non-MIS users of that type): not governors or services."""
    if actor.kind == K.STAFF:
        return True
    return actor.kind == K.SCHOOL_NON_MIS and actor.staff_role == SUPPLY_TEACHER_ROLE


def _ids_holding(roles, allowed):
    """Organisation ids where the actor holds any of the `allowed` roles."""
    return set().union(*(roles[role] for role in allowed))


def _subtree(roots):
    """The organisations `roots` (id -> kind) and everything below them (consortium -> LA -> school): id -> kind."""
    found = dict(roots)
    frontier = set(found)
    while frontier:
        below = dict(Organisation.objects.filter(parent_id__in=frontier).values_list("pk", "kind"))
        frontier = set(below) - set(found)
        found.update(below)
    return found
