"""Reads of multi-factor sign-in: a person's factors, and whether the second step is asked of them."""

from django.conf import settings
from django.db.models import Exists, OuterRef
from django_otp import devices_for_user
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.models import WebAuthnCredential

from accounts.models import Account
from accounts.network import on_trusted_network
from accounts.permissions import Action, is_hwb_admin

RECOVERY_NAME = "recovery"  # the name of the one static device holding a person's recovery codes


def factors(account):
    """The person's confirmed factors a code or key can pass (recovery codes only while some are left)."""
    found = []
    for device in devices_for_user(account, confirmed=True):
        if isinstance(device, StaticDevice) and not device.token_set.exists():
            continue
        found.append(device)
    return found


def has_factor(account) -> bool:
    """Whether the person has any factor a second step could ask for."""
    return bool(factors(account))


def authenticators(account):
    return TOTPDevice.objects.filter(user=account, confirmed=True).order_by("created_at", "id")


def passkeys_of(account):
    return WebAuthnCredential.objects.filter(user=account, confirmed=True).order_by("created_at", "id")


def recovery_device(account):
    return StaticDevice.objects.filter(user=account, name=RECOVERY_NAME).first()


def second_step_asked(account, request) -> bool:
    """Learners never; Hwb administrators always (setting); others with MFA on, from outside their trusted network."""
    if account.is_learner:
        return False
    if settings.UMP_MFA_ALWAYS_FOR_ADMINS and is_hwb_admin(account):
        return True
    return account.mfa_on and not on_trusted_network(account, request)


def status_list(*, actor, organisation):
    """The organisation's non-learners the actor may see, with MFA on or off and whether a factor is set up."""
    authenticator = TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True)
    passkey = WebAuthnCredential.objects.filter(user=OuterRef("pk"), confirmed=True)
    return (
        Account.objects.restrict(actor, Action.VIEW)
        .filter(organisation=organisation, status=Account.Status.ACTIVE)
        .exclude(kind=Account.Kind.LEARNER)
        .annotate(has_factor=Exists(authenticator) | Exists(passkey))
        .order_by("legal_surname", "legal_forename", "pk")
    )
