"""The second step of signing in: asked after the right password (accounts.views.SignInView, UMP_SIGNIN_STEPS).

Between the two steps the session holds only who passed the password, the backend that checked it, where to
go next and when; nobody is signed in until a code or key is accepted. A wrong code counts towards the
account's lockout (django-axes, through Django's user_login_failed signal) exactly like a wrong password.
"""

import time

from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.guard import address_failure_record
from accounts.models import Account
from mfa.forms import SetupCodeForm
from mfa.selectors import has_factor, recovery_device, second_step_asked
from mfa.services import mfa_failure_record, mfa_not_set_up_record

PENDING = "ump_mfa_pending"
# Set in a session signed in with a set-up code: it may add its first factor away from the trusted network.
SETUP_ALLOWED = "ump_mfa_setup"
# RFC 8176 method references of a sign-in passed with each kind of factor.
AMR = {
    "totp": ["pwd", "otp", "mfa"],
    "recovery": ["pwd", "otp", "mfa"],
    "setup_code": ["pwd", "otp", "mfa"],
    "hwk": ["pwd", "hwk", "mfa"],
    "swk": ["pwd", "swk", "mfa"],
}


def second_step(*, request, account, next_url):
    """After the right password: None to sign in now, or the page that asks for (or refuses without) a factor."""
    if not second_step_asked(account, request):
        return None
    request.session.cycle_key()
    request.session[PENDING] = {
        "account": account.pk,
        "backend": account.backend,
        "next": next_url,
        "at": time.time(),
    }
    if not has_factor(account):
        # Not signed in; a set-up code from their Digital Champion is the one way on from here.
        mfa_not_set_up_record(account=account, request=request)
        return render(request, "mfa/not_set_up.html", {"form": SetupCodeForm()}, status=403)
    return redirect("mfa:verify")


def pending(request):
    """(account, data) of a sign-in waiting for its second step, or None (none, expired, or no longer active)."""
    data = request.session.get(PENDING)
    if not data or time.time() - data.get("at", 0) > settings.UMP_MFA_STEP_MINUTES * 60:
        return None
    account = Account.objects.filter(pk=data["account"]).select_related("organisation").first()
    if account is None or not account.is_active:
        return None
    return account, data


def pending_clear(request) -> None:
    request.session.pop(PENDING, None)


def code_check(account, code):
    """(device, factor) of the factor `code` passes (an authenticator's code, or a recovery code used up), or None."""
    code = "".join((code or "").split()).replace("-", "").lower()
    if not code:
        return None
    if code.isdigit():
        for device in TOTPDevice.objects.filter(user=account, confirmed=True):
            if device.verify_token(code):
                return device, "totp"
        return None
    recovery = recovery_device(account)
    if recovery is not None and recovery.verify_token(code):
        return recovery, "recovery"
    return None


def failure_count(*, request, account) -> None:
    """A wrong second-step code: audited, and counted towards the account's lockout like a wrong password."""
    mfa_failure_record(account=account, request=request)
    address_failure_record(request=request, account=account)
    user_login_failed.send(sender=__name__, credentials={"username": account.username}, request=request)


def next_url(request, data) -> str:
    """Where the person was going, if it is this site (an OpenID Connect authorisation, say); else home."""
    target = data.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return settings.LOGIN_REDIRECT_URL
