"""What every page needs to draw the navigation: where the signed-in person may do what, from the table."""

from django.conf import settings

from accounts.permissions import Action, can, organisation_ids_for
from accounts.selectors import SECTIONS


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
        "provisioning": _anywhere(user, Action.MANAGE_PROVISIONING),
        "downloads": _anywhere(user, Action.DOWNLOAD_PUPILS_CSV)
        or _anywhere(user, Action.DOWNLOAD_STAFF_CSV),
        "can_reset_own": can(user, Action.RESET_OWN_PASSWORD, user),
    }
    return {"nav": nav, "signin_url": settings.UMP_SIGNIN_URL}


def _lists(user, section):
    """May the user list this View Users section for some organisation?"""
    _title, kinds, _org_kinds = SECTIONS[section]
    return _anywhere(user, Action.VIEW, kinds=kinds)


def _anywhere(user, action, kinds=None):
    return bool(organisation_ids_for(user, action, kinds=kinds))
