"""What every page needs to draw the navigation."""

from django.conf import settings

from accounts.permissions import Action, Role, can, role_orgs


def portal(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav": {}}
    roles = role_orgs(user)
    is_school_staff = bool(roles[Role.SCHOOL_STAFF])
    is_dc = bool(roles[Role.DIGITAL_CHAMPION])
    is_admin = bool(roles[Role.HWB_ADMIN])
    nav = {
        "learners": is_school_staff or is_dc or is_admin,
        "staff": is_dc or is_admin,
        "governors": is_dc or is_admin,
        "non_mis": is_dc or is_admin or bool(roles[Role.ITE_LEAD]),
        "organisation": is_admin,
        "audit": is_dc or is_admin,
        "provisioning": is_dc or is_admin,
        "downloads": is_school_staff or is_dc or is_admin,
        "can_reset_own": can(user, Action.RESET_OWN_PASSWORD, user),
    }
    return {"nav": nav, "signin_url": settings.UMP_SIGNIN_URL}
