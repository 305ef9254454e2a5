"""Provisioning writes outside the sync and its runs: the Provisioning Client's tokens, name-change notices.

The sync is `provisioning.sync`; uploads, runs and the queue are `provisioning.runs`.
"""

import secrets

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.audit import AuditAction, audit_count, audit_record
from accounts.models import Organisation
from accounts.sealing import keyed_hash
from accounts.services import display_name_for
from provisioning.models import NameChangeNotice, SchoolToken
from provisioning.sync import ProvisioningError

# ---------------------------------------------------------------- tokens


@transaction.atomic
def token_issue(*, organisation: Organisation, actor=None) -> str:
    """Issue (or rotate) a school's Provisioning Client token; the raw token is returned once, never stored."""
    raw = f"ump_{organisation.code}_{secrets.token_urlsafe(32)}"
    SchoolToken.objects.update_or_create(
        organisation=organisation,
        defaults={
            "token_hash": _token_hash(raw),
            "created_at": timezone.now(),
            "revoked_at": None,
            "last_used_at": None,
        },
    )
    audit_record(actor=actor, action=AuditAction.PROVISIONING_TOKEN_ISSUE, organisation=organisation)
    return raw


@transaction.atomic
def token_revoke(*, organisation: Organisation, actor=None) -> bool:
    """Revoke a school's token; the client can no longer upload until a new one is issued."""
    n = SchoolToken.objects.filter(organisation=organisation, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    if n:
        audit_record(actor=actor, action=AuditAction.PROVISIONING_TOKEN_REVOKE, organisation=organisation)
    return bool(n)


def token_authenticate(raw: str) -> Organisation | None:
    """The school a live token belongs to, or None."""
    if not raw:
        return None
    token = (
        SchoolToken.objects.select_related("organisation")
        .filter(token_hash=_token_hash(raw), revoked_at__isnull=True)
        .first()
    )
    if token is None:
        return None
    SchoolToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
    return token.organisation


def token_refuse(*, request) -> None:
    """Count a request to the Provisioning API that carried no live token (per address and minute)."""
    audit_count(action=AuditAction.PROVISIONING_API_DENIED, request=request)


# ---------------------------------------------------------------- name-change notices


@transaction.atomic
def notice_decide(*, notice: NameChangeNotice, actor, accept: bool) -> NameChangeNotice:
    """Accept (the legal and display names follow the MIS; the username stays) or dismiss a notice."""
    notice = NameChangeNotice.objects.select_for_update().select_related("account").get(pk=notice.pk)
    if notice.status != NameChangeNotice.Status.PENDING:
        raise ProvisioningError(_("This notice has already been dealt with."))
    account = notice.account
    if accept:
        account.legal_forename = notice.mis_forename
        account.legal_surname = notice.mis_surname
        account.display_name = display_name_for(account.kind, notice.mis_forename, notice.mis_surname)
        account.full_clean(exclude=["password"])
        account.save(update_fields=["legal_forename", "legal_surname", "display_name", "updated_at"])
    notice.status = NameChangeNotice.Status.ACCEPTED if accept else NameChangeNotice.Status.DISMISSED
    notice.decided_at = timezone.now()
    notice.decided_by = actor
    notice.save(update_fields=["status", "decided_at", "decided_by"])
    audit_record(
        actor=actor,
        action=AuditAction.PROVISIONING_NAME_CHANGE_ACCEPT
        if accept
        else AuditAction.PROVISIONING_NAME_CHANGE_DISMISS,
        targets=[account],
        organisation=notice.organisation,
    )
    return notice


# ---------------------------------------------------------------- helpers


def _token_hash(raw: str) -> str:
    return keyed_hash("provisioning-token:" + raw)
