"""Template helpers for the multi-factor sign-in partials (navigation, View Details actions, My Profile)."""

from django import template
from django.middleware import csrf
from django.urls import reverse

from accounts.permissions import Action, can

register = template.Library()


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


@register.simple_tag(takes_context=True)
def passkey_config(context):
    """What django-otp-webauthn's scripts read (as JSON): this portal's endpoints for them, and the CSRF token."""
    request = context["request"]
    return {
        "autocompleteLoginFieldSelector": None,
        "nextFieldSelector": "input[name='next']",
        "csrfToken": csrf.get_token(request),
        "beginAuthenticationUrl": reverse("mfa:passkey_sign_in_begin"),
        "completeAuthenticationUrl": reverse("mfa:passkey_sign_in_complete"),
        "beginRegistrationUrl": reverse("mfa:passkey_register_begin"),
        "completeRegistrationUrl": reverse("mfa:passkey_register_complete"),
    }
