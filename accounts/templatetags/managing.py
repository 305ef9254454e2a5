"""Template helpers for the managing-users partials (banner, navigation, pending requests)."""

from django import template

from accounts.models import Organisation
from accounts.permissions import Action, Role, can, role_orgs

register = template.Library()


@register.simple_tag(takes_context=True)
def expiring_count(context):
    """How many non-MIS accounts the signed-in person may keep or close expire in the next 8 weeks (cached)."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return 0
    cached = getattr(request, "_ump_expiring_count", None)
    if cached is None:
        from accounts.selectors import expiring_accounts
        from accounts.services import today
        from accounts.views_manage import _may_manage_expiring

        cached = expiring_accounts(user, on=today()).count() if _may_manage_expiring(user) else 0
        request._ump_expiring_count = cached
    return cached


@register.simple_tag(takes_context=True)
def manage_nav(context):
    """Which managing-users links the navigation shows."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    from accounts.views_manage import _may_manage_expiring

    admin_orgs = role_orgs(user)[Role.HWB_ADMIN]
    return {
        "expiring": _may_manage_expiring(user),
        "la_users": bool(admin_orgs)
        and Organisation.objects.filter(
            pk__in=admin_orgs, kind__in=(Organisation.Kind.LOCAL_AUTHORITY, Organisation.Kind.CONSORTIUM)
        ).exists(),
    }


@register.simple_tag
def pending_account_requests(organisation, kinds):
    from accounts.selectors import pending_requests

    return list(pending_requests(organisation=organisation, kinds=kinds))


@register.simple_tag
def may(user, action, account):
    """`can` for templates: {% may user "deactivate" account as allowed %}."""
    return can(user, Action(action), account)
