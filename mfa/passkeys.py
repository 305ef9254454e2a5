"""Passkeys and security keys (django-otp-webauthn), fitted to the portal's two-step sign-in.

The library's views sign in whoever is signed in already, or anyone at all (passwordless). Here they serve the
second step of a sign-in whose password was right (mfa.signin.pending), and only that: no passwordless sign-in
(OTP_WEBAUTHN_ALLOW_PASSWORDLESS_LOGIN is off), the address and the account's lockout checked first, a
failure counted like a wrong code, a success finished by accounts.services.signin_complete with amr
["pwd", "hwk", "mfa"]. Registration is My Profile > Security's, under the same rule as an authenticator app.
"""

from urllib.parse import urlsplit

from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.shortcuts import resolve_url
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop
from django.views.i18n import JavaScriptCatalog
from django_otp import login as otp_login
from django_otp_webauthn import exceptions
from django_otp_webauthn.helpers import WebAuthnHelper
from django_otp_webauthn.views import (
    BeginCredentialAuthenticationView,
    BeginCredentialRegistrationView,
    CompleteCredentialAuthenticationView,
    CompleteCredentialRegistrationView,
)

from accounts.guard import address_check
from accounts.network import on_trusted_network
from accounts.permissions import Action, can
from accounts.services import signin_complete
from mfa import signin
from mfa.services import mfa_use_record, passkey_registered_record


def rp_id(request) -> str:
    """The relying party: UMP_WEBAUTHN_RP_ID, else the host the portal is served as (ALLOWED_HOSTS-checked)."""
    return settings.UMP_WEBAUTHN_RP_ID or request.get_host().rsplit(":", 1)[0].strip("[]")


def rp_name(request) -> str:
    return settings.OTP_TOTP_ISSUER


class Helper(WebAuthnHelper):
    """The configured origins; on a developer's machine (relying party `localhost`) any localhost port too."""

    def get_allowed_origins(self) -> list[str]:
        origins = list(settings.OTP_WEBAUTHN_ALLOWED_ORIGINS)
        origin = f"{self.request.scheme}://{self.request.get_host()}"
        if rp_id(self.request) == "localhost" and urlsplit(origin).hostname == "localhost":
            origins.append(origin)
        return origins


# The library's script shows a refusal's detail to the person as it is: a sentence, in their language.
ADDRESS_HELD = _(
    "There have been too many unsuccessful attempts to sign in from this network. Wait a few minutes and "
    "try again."
)
ACCOUNT_LOCKED = _(
    "There have been too many unsuccessful attempts to sign in to this account. Wait 15 minutes and try "
    "again, or ask your school's Digital Champion to reset your password."
)
# The library's own refusals (django_otp_webauthn.exceptions), marked here so that the portal's catalogue
# gives them Welsh: the library ships none, and LOCALE_PATHS come before an app's own translations.
LIBRARY_MESSAGES = [
    gettext_noop("Error processing WebAuthn request."),
    gettext_noop("Malformed request. JSON not parsable."),
    gettext_noop(
        "State is missing or invalid. Please begin the operation first before trying to complete it."
    ),
    gettext_noop("Unprocessable Entity"),
    gettext_noop("Passwordless login is disabled."),
    gettext_noop("This user account is marked as disabled."),
    gettext_noop("This Passkey has been marked as disabled."),
    gettext_noop("The Passkey you tried to use was not found. Perhaps it was removed?"),
    gettext_noop(
        "The Passkey you tried to use does not belong to the currently logged-in user. Try using a "
        "different Passkey or logout first to use this Passkey."
    ),
    gettext_noop("Authentication required."),
    gettext_noop("User is not verified."),
    gettext_noop(
        "You must verify your identity first with an existing MFA device before you can register a new "
        "passkey."
    ),
]


class NotAllowed(exceptions.OTPWebAuthnApiError):
    status_code = 403
    default_code = "not_allowed"


class _Registration:
    """Who may register follows My Profile > Security's rule (_require_set_up), not the library's own."""

    def check_can_register(self):
        _require_set_up(self.request)

    def user_is_mfa_enrolled(self, user):
        return False  # _require_set_up has already asked for the trusted network or a passed second step


class PasskeyRegisterBegin(_Registration, BeginCredentialRegistrationView):
    pass


class PasskeyRegisterComplete(_Registration, CompleteCredentialRegistrationView):
    def post(self, *args, **kwargs):
        response = super().post(*args, **kwargs)
        if response.status_code == 200:
            passkey_registered_record(account=self.request.user, request=self.request)
        return response


class _SecondStep:
    """The pending sign-in's account is the user of the ceremony; nobody else's, and never nobody."""

    def get_user(self):
        found = signin.pending(self.request)
        return found[0] if found else None

    def check_can_authenticate(self):
        account = self.get_user()
        if account is None:
            raise exceptions.NotAuthenticated()
        if not address_check(self.request).allowed:
            raise NotAllowed(detail=ADDRESS_HELD)
        if AxesProxyHandler.is_locked(self.request, {"username": account.username}):
            raise NotAllowed(detail=ACCOUNT_LOCKED)


class PasskeySignInBegin(_SecondStep, BeginCredentialAuthenticationView):
    pass


class PasskeySignInComplete(_SecondStep, CompleteCredentialAuthenticationView):
    def post(self, *args, **kwargs):
        account = self.get_user()
        try:
            return super().post(*args, **kwargs)
        except exceptions.OTPWebAuthnApiError:
            signin.failure_count(request=self.request, account=account)
            raise

    def complete_auth(self, device):
        found = signin.pending(self.request)
        if found is None or device.user_id != found[0].pk:
            raise exceptions.CredentialUserMismatch()
        account, data = found
        self._next = signin.next_url(self.request, data)
        signin.pending_clear(self.request)
        signin_complete(
            request=self.request, account=account, methods=signin.AMR["hwk"], backend=data["backend"]
        )
        otp_login(self.request, device)
        mfa_use_record(account=account, factor="passkey", request=self.request)

    def get_success_url(self):
        return resolve_url(self._next)


def _require_set_up(request):
    user = request.user
    if not can(user, Action.MFA_MANAGE_OWN, user):
        raise NotAllowed()
    if not (
        user.is_verified() or request.session.get(signin.SETUP_ALLOWED) or on_trusted_network(user, request)
    ):
        raise NotAllowed()


class PasskeyCatalog(JavaScriptCatalog):
    """The library's script messages (domain djangojs): its own catalogues, then the portal's Welsh
    (locale/cy/LC_MESSAGES/djangojs.po), which Django's JavaScriptCatalog would not look in."""

    def get_paths(self, packages):
        return [*super().get_paths(packages), *(str(path) for path in settings.LOCALE_PATHS)]
