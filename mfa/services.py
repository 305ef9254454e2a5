"""Every write of multi-factor sign-in: trusted networks, factors, recovery codes, set-up codes, on/off, reset."""

import hmac
import secrets

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy as _
from django_otp import devices_for_user
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.audit import AuditAction, audit_record
from accounts.models import AuditEvent
from accounts.network import networks_clean
from accounts.sealing import keyed_hash
from mfa.models import SetupCode
from mfa.selectors import RECOVERY_NAME


def _audit(action, account, *, actor, request, **fields) -> None:
    """An audit row about one person's sign-in factors, filed under their organisation."""
    audit_record(
        actor=actor,
        action=action,
        targets=[account],
        organisation=account.organisation,
        request=request,
        **fields,
    )


@transaction.atomic
def organisation_networks_set(*, organisation, networks, actor, request=None):
    """Replace an organisation's trusted address ranges (CIDR); audited with the ranges (they are no secret)."""
    before = list(organisation.trusted_networks or [])
    organisation.trusted_networks = networks_clean(networks)
    organisation.full_clean()
    organisation.save(update_fields=["trusted_networks"])
    audit_record(
        actor=actor,
        action=AuditAction.ORGANISATION_NETWORKS,
        organisation=organisation,
        request=request,
        details={"before": before, "after": organisation.trusted_networks},
    )
    return organisation


def mfa_use_record(*, account, factor, request) -> None:
    """Audit a passed second step: which kind of factor (never the code)."""
    _audit(AuditAction.MFA_USE, account, actor=account, request=request, details={"factor": factor})


def mfa_failure_record(*, account, request) -> None:
    """Audit a wrong second-step code (never the code); django-axes counts it towards the lockout."""
    _audit(AuditAction.MFA_FAILURE, account, actor=None, request=request, outcome=AuditEvent.Outcome.FAILURE)


def mfa_not_set_up_record(*, account, request) -> None:
    """Audit a right password refused because the second step was asked and the person has no factor."""
    _audit(
        AuditAction.MFA_NOT_SET_UP, account, actor=None, request=request, outcome=AuditEvent.Outcome.DENIED
    )


RECOVERY_CODES = 10


@transaction.atomic
def authenticator_begin(*, account, name):
    """A new authenticator, not yet on: it counts only once the person types a code it shows (totp_confirm)."""
    TOTPDevice.objects.filter(user=account, confirmed=False).delete()
    device = TOTPDevice(user=account, name=name.strip()[:64] or str(_("Authenticator app")), confirmed=False)
    device.full_clean()
    device.save()
    return device


@transaction.atomic
def authenticator_confirm(*, device, code, request=None) -> bool:
    """Turn an authenticator on if `code` is the one it shows now; audited (never the key or the code)."""
    if device.confirmed or not device.verify_token("".join((code or "").split())):
        return False
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    _audit(AuditAction.MFA_SETUP, device.user, actor=device.user, request=request, details={"factor": "totp"})
    return True


@transaction.atomic
def recovery_codes_make(*, account, request=None) -> list[str]:
    """Ten new single-use recovery codes, replacing any left; returned once, to be shown once. Audited."""
    device, _created = StaticDevice.objects.get_or_create(
        user=account, name=RECOVERY_NAME, defaults={"confirmed": True}
    )
    device.token_set.all().delete()
    codes = set()
    while len(codes) < RECOVERY_CODES:
        codes.add(StaticToken.random_token())
    StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    _audit(
        AuditAction.MFA_RECOVERY_CODES,
        account,
        actor=account,
        request=request,
        details={"count": RECOVERY_CODES},
    )
    return sorted(codes)


def passkey_registered_record(*, account, request=None) -> None:
    """Audit a passkey or security key registered (django-otp-webauthn saved it)."""
    _audit(AuditAction.MFA_SETUP, account, actor=account, request=request, details={"factor": "passkey"})


@transaction.atomic
def factor_remove(*, device, actor, request=None) -> None:
    """Remove one of a person's factors (an authenticator, a passkey); audited."""
    account = device.user
    kind = "totp" if isinstance(device, TOTPDevice) else "passkey"
    device.delete()
    _audit(AuditAction.MFA_REMOVE, account, actor=actor, request=request, details={"factor": kind})


@transaction.atomic
def mfa_set(*, account, enabled, actor, request=None):
    """Turn multi-factor sign-in on or off for a non-learner; audited. Nobody turns off their own."""
    if account.is_learner:
        raise ValidationError(_("Learners do not use multi-factor sign-in."), code="learner")
    if not enabled and actor is not None and actor.pk == account.pk:
        raise ValidationError(_("You cannot turn off multi-factor sign-in for your own account."), code="own")
    account.mfa_enabled = bool(enabled)
    account.save(update_fields=["mfa_enabled"])
    _audit(
        AuditAction.MFA_TURN_ON if enabled else AuditAction.MFA_TURN_OFF,
        account,
        actor=actor,
        request=request,
    )
    return account


@transaction.atomic
def mfa_reset(*, account, actor, request=None) -> int:
    """Remove every factor of a person (a lost phone) and any set-up code; they set up again. Audited."""
    removed = 0
    for device in devices_for_user(account, confirmed=None):
        device.delete()
        removed += 1
    SetupCode.objects.filter(account=account).delete()
    _audit(AuditAction.MFA_RESET, account, actor=actor, request=request, details={"factors_removed": removed})
    return removed


@transaction.atomic
def setup_code_issue(*, account, actor, request=None) -> str:
    """A new one-time set-up code for `account` (replacing any earlier one), returned once to be printed."""
    code = "-".join(secrets.token_hex(2).upper() + secrets.token_hex(1).upper() for _ in range(3))
    SetupCode.objects.filter(account=account).delete()
    SetupCode.objects.create(account=account, code_hash=keyed_hash(_normal(code)), created_by_id=actor.pk)
    _audit(AuditAction.MFA_SETUP_CODE, account, actor=actor, request=request)
    return code


@transaction.atomic
def setup_code_use(*, account, code) -> bool:
    """Use up `account`'s set-up code if `code` is it and it is still live."""
    found = SetupCode.objects.select_for_update().filter(account=account).first()
    if found is None or not found.is_live:
        return False
    if not hmac.compare_digest(found.code_hash, keyed_hash(_normal(code))):
        return False
    found.delete()
    return True


def _normal(code):
    return "".join(ch for ch in (code or "").upper() if ch.isalnum())
