"""Multi-factor sign-in pages: the second step, My Profile > Security, and trusted networks."""

import base64

import django_otp
import segno
from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_lockout_response
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.models import WebAuthnCredential

from accounts.caching import never_stored, no_store
from accounts.guard import address_check
from accounts.models import Account
from accounts.network import on_trusted_network
from accounts.permissions import Action, Scope, can, require
from accounts.selectors import organisation_from_request
from accounts.services import signin_complete
from accounts.views import address_held
from mfa import signin
from mfa.forms import (
    AuthenticatorNameForm,
    CodeForm,
    ConfirmCodeForm,
    MfaSwitchForm,
    NetworksForm,
    SetupCodeForm,
)
from mfa.models import SetupCode
from mfa.selectors import authenticators, has_factor, passkeys_of, recovery_device, status_list
from mfa.services import (
    authenticator_begin,
    authenticator_confirm,
    factor_remove,
    mfa_reset,
    mfa_set,
    mfa_use_record,
    organisation_networks_set,
    recovery_codes_make,
    setup_code_issue,
    setup_code_use,
)


@never_stored
@sensitive_post_parameters("code")
@require_http_methods(["GET", "POST"])
def verify(request):
    """The second step: the right password was given; a code (or a recovery code) signs the person in."""
    found, refusal = _pending_sign_in(request)
    if refusal is not None:
        return refusal
    account, data = found
    form = CodeForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        passed = signin.code_check(account, form.cleaned_data["code"])
        if passed is not None:
            device, factor = passed
            signin.pending_clear(request)
            signin_complete(
                request=request, account=account, methods=signin.AMR[factor], backend=data["backend"]
            )
            django_otp.login(request, device)
            mfa_use_record(account=account, factor=factor, request=request)
            return redirect(signin.next_url(request, data))
        signin.failure_count(request=request, account=account)
        form.add_error("code", _("That code is not right. Check it and try again."))
    has_passkey = passkeys_of(account).exists()
    return no_store(render(request, "mfa/verify.html", {"form": form, "has_passkey": has_passkey}))


@login_required
@require_GET
def security(request):
    """My Profile > Security: the person's factors, their last use, and recovery codes."""
    require(request.user, Action.MFA_MANAGE_OWN, request.user)
    recovery = recovery_device(request.user)
    return render(
        request,
        "mfa/security.html",
        {
            "authenticators": authenticators(request.user),
            "passkeys": passkeys_of(request.user),
            "recovery": recovery,
            "recovery_left": recovery.token_set.count() if recovery else 0,
            "may_set_up": _may_set_up(request),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def totp_add(request):
    """Add an authenticator app: name it, then scan the code it is given (totp_confirm)."""
    require(request.user, Action.MFA_MANAGE_OWN, request.user)
    if not _may_set_up(request):
        raise PermissionDenied
    form = AuthenticatorNameForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        device = authenticator_begin(account=request.user, name=form.cleaned_data["name"])
        return redirect("mfa:totp_confirm", pk=device.pk)
    return render(request, "mfa/totp_add.html", {"form": form})


@login_required
@sensitive_post_parameters("code")
@require_http_methods(["GET", "POST"])
def totp_confirm(request, pk):
    """The new authenticator's QR code and key; the code it then shows turns it on."""
    require(request.user, Action.MFA_MANAGE_OWN, request.user)
    device = get_object_or_404(TOTPDevice, pk=pk, user=request.user, confirmed=False)
    if not _may_set_up(request):
        raise PermissionDenied
    form = ConfirmCodeForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        if authenticator_confirm(device=device, code=form.cleaned_data["code"], request=request):
            messages.success(request, _("Your authenticator app is set up."))
            if recovery_device(request.user) is None:
                return redirect("mfa:recovery_codes")
            return redirect("mfa:security")
        form.add_error("code", _("That code is not right. Check the app shows this account and try again."))
    key = base64.b32encode(device.bin_key).decode()
    qr = segno.make(device.config_url, error="m").svg_data_uri(scale=5, border=2)
    context = {"device": device, "form": form, "key": " ".join(key[i : i + 4] for i in range(0, len(key), 4))}
    context["qr"] = qr
    return no_store(render(request, "mfa/totp_confirm.html", context))


@login_required
@require_http_methods(["GET", "POST"])
def totp_remove(request, pk):
    """Remove one authenticator after a confirmation page."""
    require(request.user, Action.MFA_MANAGE_OWN, request.user)
    device = get_object_or_404(TOTPDevice, pk=pk, user=request.user, confirmed=True)
    if request.method == "POST":
        factor_remove(device=device, actor=request.user, request=request)
        messages.success(request, _("The authenticator has been removed."))
        return redirect("mfa:security")
    return render(request, "mfa/totp_remove.html", {"device": device})


@login_required
@require_http_methods(["GET", "POST"])
def passkey_remove(request, pk):
    """Remove one passkey or security key after a confirmation page."""
    require(request.user, Action.MFA_MANAGE_OWN, request.user)
    device = get_object_or_404(WebAuthnCredential, pk=pk, user=request.user)
    if request.method == "POST":
        factor_remove(device=device, actor=request.user, request=request)
        messages.success(request, _("The passkey has been removed."))
        return redirect("mfa:security")
    return render(request, "mfa/totp_remove.html", {"device": device, "passkey": True})


@login_required
@require_http_methods(["GET", "POST"])
def recovery_codes(request):
    """Make ten new recovery codes (any left stop working) and show them once."""
    require(request.user, Action.MFA_MANAGE_OWN, request.user)
    if not has_factor(request.user) and not _may_set_up(request):
        raise PermissionDenied
    if request.method == "POST":
        codes = recovery_codes_make(account=request.user, request=request)
        return no_store(render(request, "mfa/recovery_codes_shown.html", {"codes": codes}))
    return render(request, "mfa/recovery_codes.html", {"recovery": recovery_device(request.user)})


@login_required
@require_http_methods(["GET", "POST"])
def networks(request):
    """An organisation's trusted address ranges: its people signing in from inside them are not asked for a code."""
    source = request.POST if request.method == "POST" else request.GET
    organisation = organisation_from_request(request, Action.MANAGE_TRUSTED_NETWORKS, source=source)
    form = NetworksForm(
        request.POST if request.method == "POST" else None,
        initial={"networks": "\n".join(organisation.trusted_networks or [])},
    )
    if request.method == "POST" and form.is_valid():
        organisation_networks_set(
            organisation=organisation,
            networks=form.cleaned_data["networks"],
            actor=request.user,
            request=request,
        )
        messages.success(request, _("The trusted address ranges have been saved."))
        return redirect(f"{reverse('mfa:networks')}?{urlencode({'org': organisation.code})}")
    return render(request, "mfa/networks.html", {"organisation": organisation, "form": form})


@never_stored
@sensitive_post_parameters("setup_code")
@require_POST
def setup_code(request):
    """The right password, no factor, off the trusted network: a Digital Champion's set-up code signs the person
    in to set up their first factor (and is then used up)."""
    found, refusal = _pending_sign_in(request)
    if refusal is not None:
        return refusal
    account, data = found
    form = SetupCodeForm(request.POST)
    if form.is_valid() and setup_code_use(account=account, code=form.cleaned_data["setup_code"]):
        signin.pending_clear(request)
        signin_complete(
            request=request, account=account, methods=signin.AMR["setup_code"], backend=data["backend"]
        )
        request.session[signin.SETUP_ALLOWED] = True
        mfa_use_record(account=account, factor="setup_code", request=request)
        messages.success(request, _("Now set up a second way to sign in."))
        return redirect("mfa:totp_add")
    if form.is_valid():
        signin.failure_count(request=request, account=account)
        form.add_error("setup_code", _("That set-up code is not right, or it has expired."))
    return render(request, "mfa/not_set_up.html", {"form": form}, status=403)


@login_required
@require_GET
def status(request):
    """Who at an organisation has multi-factor sign-in on, and who has not set it up."""
    organisation = organisation_from_request(request, Action.VIEW_MFA_STATUS)
    rows = [
        {
            "account": account,
            "can_manage": can(request.user, Action.MFA_TOGGLE, account),
        }
        for account in status_list(actor=request.user, organisation=organisation)
    ]
    return render(
        request,
        "mfa/status.html",
        {
            "organisation": organisation,
            "rows": rows,
            "not_set_up": sum(1 for row in rows if row["account"].mfa_on and not row["account"].has_factor),
            "may_edit_networks": can(request.user, Action.MANAGE_TRUSTED_NETWORKS, Scope(organisation)),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def switch(request, pk):
    """Turn multi-factor sign-in on or off for one non-learner (View Details > Manage User)."""
    account = _account(request, pk, Action.MFA_TOGGLE)
    form = MfaSwitchForm(
        request.POST if request.method == "POST" else None,
        initial={"enabled": "1" if account.mfa_on else "0"},
    )
    if request.method == "POST" and form.is_valid():
        try:
            mfa_set(
                account=account, enabled=form.cleaned_data["enabled"], actor=request.user, request=request
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(
                request,
                _("Multi-factor sign-in is now on.")
                if account.mfa_on
                else _("Multi-factor sign-in is now off."),
            )
            return redirect("accounts:account_detail", pk=account.pk)
    return render(request, "mfa/switch.html", {"account": account, "form": form})


@login_required
@require_http_methods(["GET", "POST"])
def reset(request, pk):
    """Reset MFA (a lost phone): after a confirmation page, remove every factor; the person sets up again."""
    account = _account(request, pk, Action.MFA_RESET)
    if request.method == "POST":
        mfa_reset(account=account, actor=request.user, request=request)
        messages.success(request, _("MFA has been reset. They need to set up a second way to sign in again."))
        return redirect("accounts:account_detail", pk=account.pk)
    return render(
        request, "mfa/reset.html", {"account": account, "authenticators": authenticators(account).count()}
    )


@login_required
@require_http_methods(["GET", "POST"])
def setup_code_print(request, pk):
    """Print a one-time set-up code (7 days) for someone who cannot set up a factor at school."""
    account = _account(request, pk, Action.MFA_SETUP_CODE)
    if request.method == "POST":
        code = setup_code_issue(account=account, actor=request.user, request=request)
        expires = timezone.localtime(SetupCode.objects.get(account=account).expires_at)
        return no_store(
            render(
                request, "mfa/setup_code_shown.html", {"account": account, "code": code, "expires": expires}
            )
        )
    return render(request, "mfa/setup_code.html", {"account": account})


def _account(request, pk, action):
    """The account named in the URL: another school's is a 404, one the actor may not do `action` to a 403."""
    account = get_object_or_404(
        Account.objects.restrict(request.user, Action.VIEW).select_related("organisation"), pk=pk
    )
    require(request.user, action, account)
    return account


def _may_set_up(request) -> bool:
    """A factor is added from the trusted network, in a session that passed the second step, or one a set-up
    code signed in."""
    return (
        request.user.is_verified()
        or bool(request.session.get(signin.SETUP_ALLOWED))
        or on_trusted_network(request.user, request)
    )


def _pending_sign_in(request):
    """The sign-in waiting for its second step as (account, data), or else the response that ends this step:
    back to the sign-in page when none is waiting, the address's hold, or the account's lockout."""
    found = signin.pending(request)
    if found is None:
        signin.pending_clear(request)
        return None, redirect("accounts:login")
    verdict = address_check(request)
    if not verdict.allowed:
        return None, address_held(request, verdict)
    credentials = {"username": found[0].username}
    if AxesProxyHandler.is_locked(request, credentials):
        return None, get_lockout_response(request, credentials)
    return found, None
