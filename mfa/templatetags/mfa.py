"""Template helpers for the multi-factor sign-in partials (navigation, View Details actions, My Profile)."""

from django import template

from accounts.permissions import Action, can, organisation_ids_for

register = template.Library()


@register.simple_tag(takes_context=True)
def mfa_nav(context):
    """Which multi-factor links the navigation shows."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "status": bool(organisation_ids_for(user, Action.VIEW_MFA_STATUS)),
        "networks": bool(organisation_ids_for(user, Action.MANAGE_TRUSTED_NETWORKS)),
    }


@register.simple_tag(takes_context=True)
def mfa_profile(context):
    """What My Profile offers about the person's own sign-in factors."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"may_manage": can(user, Action.MFA_MANAGE_OWN, user)}


@register.simple_tag(takes_context=True)
def mfa_actions(context, account):
    """Which multi-factor actions View Details > Manage User offers for `account`."""
    user = getattr(context.get("request"), "user", None)
    return {
        "toggle": can(user, Action.MFA_TOGGLE, account) and account.pk != getattr(user, "pk", None),
        "reset": can(user, Action.MFA_RESET, account),
        "setup_code": can(user, Action.MFA_SETUP_CODE, account),
    }
