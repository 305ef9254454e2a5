"""What every page needs to draw the navigation: where the signed-in person may do what, from the table.

A link is offered only where its page has an organisation of the right kind to show: an LA administrator
holds their role at the LA, so no school page (learners, staff, downloads, provisioning) is offered to them.
"""

from django.conf import settings

from accounts.models import Account, Organisation
from accounts.permissions import Action, can, organisation_ids_for
from accounts.selectors import SECTIONS

SCHOOLS = (Organisation.Kind.SCHOOL,)


def portal(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav": {}}
    nav = {
        "learners": _lists(user, "learners"),
        "staff": _lists(user, "staff"),
        "governors": _lists(user, "governors"),
        "non_mis": _lists(user, "non-mis"),
        "organisation": _lists(user, "organisation"),
        "audit": _anywhere(user, Action.VIEW_AUDIT),
        "provisioning": _anywhere(user, Action.MANAGE_PROVISIONING, org_kinds=SCHOOLS),
        "downloads": _anywhere(user, Action.DOWNLOAD_PUPILS_CSV, org_kinds=SCHOOLS)
        or _anywhere(user, Action.DOWNLOAD_STAFF_CSV, org_kinds=SCHOOLS),
        "sso_clients": _anywhere(user, Action.MANAGE_SSO_CLIENTS, org_kinds=(Organisation.Kind.NATIONAL,)),
        "expiring": _anywhere(user, Action.MANAGE_EXPIRING),
        "mfa_status": _anywhere(user, Action.VIEW_MFA_STATUS),
        "trusted_networks": _anywhere(user, Action.MANAGE_TRUSTED_NETWORKS),
        "can_reset_own": can(user, Action.RESET_OWN_PASSWORD, user),
    }
    nav["view_users"] = nav["learners"] or nav["staff"] or nav["governors"] or nav["non_mis"]
    nav["administration"] = any(
        nav[name]
        for name in (
            "downloads",
            "provisioning",
            "audit",
            "expiring",
            "mfa_status",
            "trusted_networks",
            "sso_clients",
        )
    )
    # School staff land on the School Administrator Dashboard (the help's name for the home page).
    nav["school_dashboard"] = user.organisation_id in organisation_ids_for(
        user, Action.VIEW, kinds=(Account.Kind.LEARNER,), org_kinds=SCHOOLS
    )
    return {"nav": nav, "signin_url": settings.UMP_SIGNIN_URL}


def _lists(user, section):
    """May the user list this View Users section for some organisation of the kinds it shows?"""
    _title, kinds, org_kinds = SECTIONS[section]
    return _anywhere(user, Action.VIEW, kinds=kinds, org_kinds=org_kinds)


def _anywhere(user, action, kinds=None, org_kinds=None):
    return bool(organisation_ids_for(user, action, kinds=kinds, org_kinds=org_kinds))
