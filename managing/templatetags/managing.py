"""Template helpers for the managing-users partials (banner, navigation, pending requests, detail actions)."""

from django import template

from accounts.permissions import can
from managing.selectors import expiring_count_cached, may_manage_expiring, pending_requests
from managing.services import reactivation_action

register = template.Library()


@register.simple_tag(takes_context=True)
def expiring_count(context):
    """How many non-MIS accounts the signed-in person may keep or close expire in the next 8 weeks.

    Cached for a few minutes (managing.selectors.expiring_count_cached): the banner is on every page, so most
    pages pay no query for it.
    """
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not may_manage_expiring(user):
        return 0
    return expiring_count_cached(request)


@register.simple_tag
def pending_account_requests(organisation, kinds):
    return list(pending_requests(organisation=organisation, kinds=kinds))


@register.simple_tag
def may_activate(user, account):
    """May `user` activate `account` (an expired one asks for more): {% may_activate user account as yes %}."""
    return can(user, reactivation_action(account), account)
