"""The audit trail's vocabulary and its writers: every event's action is an AuditAction.

The codes are stored as they are (rows written before this vocabulary keep theirs); readers see the labels,
in their own language. To add an action: add a member here, write it through audit_record in the service
that does the work, and give its label Welsh in django.po.

Two kinds of record. Whatever a signed-in person (or the system) does is one AuditEvent each: audit_record,
audit_record_bulk. A refusal of an unauthenticated source that names nobody (a wrong API token, a sign-in
for a name that is no account, a sign-in refused by a lockout) is counted instead: audit_count adds one to
the AuditFailureCount of its action, source address and minute, so that a flood costs rows per minute and
address, not per request.
"""

import itertools
from array import array

from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.bulk import count_up, rows_copy
from accounts.models import AuditEvent, AuditEventTarget, AuditFailureCount
from accounts.network import client_address


class AuditAction(models.TextChoices):
    """Every action the audit trail records: the stored code, and the label a reader sees."""

    ACCOUNT_CREATE = "account.create", _("Account created")
    ACCOUNT_REQUEST = "account.request", _("Account requested")
    ACCOUNT_REQUEST_FAILED = "account.request_failed", _("Account request failed")
    ACCOUNT_DEACTIVATE = "account.deactivate", _("Account deactivated")
    ACCOUNT_ACTIVATE = "account.activate", _("Account activated")
    ACCOUNT_RENAME = "account.rename", _("Name edited")
    ACCOUNT_KEEP = "account.keep", _("Expiring account kept")
    ACCOUNT_CLOSE_AT_EXPIRY = "account.close_at_expiry", _("Account to close at its expiry date")
    ROLE_GRANT = "role.grant", _("Role given")
    SIGNIN_SUCCESS = "signin.success", _("Signed in")
    SIGNIN_FAILURE = "signin.failure", _("Sign-in failed")
    SIGNIN_LOCKED_OUT = "signin.locked_out", _("Locked out after failed sign-ins")
    PASSWORD_SET = "password.set", _("Password set")
    PASSWORD_CHANGE_OWN = "password.change_own", _("Password changed by the user")
    PASSWORD_RESET = "password.reset", _("Password reset")
    PASSWORD_REVEAL = "password.reveal", _("Password shown")
    PASSWORD_GROUP_RESET_REQUESTED = "password.group_reset.requested", _("Group password reset requested")
    PASSWORD_GROUP_RESET = "password.group_reset", _("Group passwords reset")
    PRINT_DETAILS = "print.details", _("Details printed")
    PRINT_WITH_PASSWORD = "print.with_password", _("Details printed with passwords")
    DOWNLOAD_PUPILS_CSV = "download.pupils_csv", _("Pupil passwords downloaded")
    DOWNLOAD_STAFF_CSV = "download.staff_csv", _("Staff passwords downloaded")
    LIFECYCLE_EXPIRE = "lifecycle.expire", _("Accounts deactivated at their expiry date")
    LIFECYCLE_INACTIVE = "lifecycle.inactive", _("Accounts deactivated after 90 days without a sign-in")
    LIFECYCLE_DELETE_LEAVER = "lifecycle.delete_leaver", _("Leavers' accounts deleted")
    PROVISIONING_UPLOAD = "provisioning.upload", _("Extract uploaded")
    PROVISIONING_API_DENIED = "provisioning.api_denied", _("Provisioning Client refused: token not valid")
    PROVISIONING_RUN = "provisioning.run", _("Provisioning run applied")
    PROVISIONING_RUN_APPROVE = "provisioning.run_approve", _("Held run approved and applied")
    PROVISIONING_RUN_REJECT = "provisioning.run_reject", _("Held run rejected")
    PROVISIONING_RUN_FAILED = "provisioning.run_failed", _("Provisioning run failed")
    PROVISIONING_RUN_HELD = "provisioning.run_held", _("Run held: an earlier change list never arrived")
    PROVISIONING_RUN_SUPERSEDED = "provisioning.run_superseded", _("Run superseded by a newer extract")
    PROVISIONING_RUN_EXPIRED = "provisioning.run_expired", _("Held run expired and its extract deleted")
    PROVISIONING_CREATE = "provisioning.create", _("Accounts created from the MIS")
    PROVISIONING_TRANSFER_IN = "provisioning.transfer_in", _("Accounts moved in from another school")
    PROVISIONING_UPDATE = "provisioning.update", _("Accounts updated from the MIS")
    PROVISIONING_REACTIVATE = "provisioning.reactivate", _("Accounts reactivated from the MIS")
    PROVISIONING_DEACTIVATE = "provisioning.deactivate", _("Accounts deactivated from the MIS")
    PROVISIONING_NAME_CHANGE_ACCEPT = "provisioning.name_change_accept", _("MIS name change accepted")
    PROVISIONING_NAME_CHANGE_DISMISS = "provisioning.name_change_dismiss", _("MIS name change dismissed")
    PROVISIONING_TOKEN_ISSUE = "provisioning.token_issue", _("Provisioning Client token issued")
    PROVISIONING_TOKEN_REVOKE = "provisioning.token_revoke", _("Provisioning Client token revoked")
    AUDIT_EXPORT = "audit.export", _("Audit trail downloaded")
    SSO_TOKEN_ISSUE = "sso.token_issue", _("Signed in to a connected service")
    SSO_REFUSED = "sso.refused", _("Sign-in to a connected service refused")
    SSO_DENIED = "sso.denied", _("Connected service refused: client or token not valid")
    SSO_CLIENT_ADD = "sso.client_add", _("Connected service registered")
    SSO_CLIENT_ROTATE = "sso.client_rotate", _("Connected service secret rotated")
    SSO_CLIENT_DISABLE = "sso.client_disable", _("Connected service disabled")
    ORGANISATION_NETWORKS = "organisation.networks", _("Trusted networks changed")
    MFA_SETUP = "mfa.setup", _("Sign-in factor added")
    MFA_REMOVE = "mfa.remove", _("Sign-in factor removed")
    MFA_RECOVERY_CODES = "mfa.recovery_codes", _("Recovery codes made")
    MFA_USE = "mfa.use", _("Second step passed")
    MFA_FAILURE = "mfa.failure", _("Second step failed")
    MFA_NOT_SET_UP = "mfa.not_set_up", _("Sign-in refused: no second factor set up")
    MFA_TURN_ON = "mfa.turn_on", _("MFA turned on")
    MFA_TURN_OFF = "mfa.turn_off", _("MFA turned off")
    MFA_RESET = "mfa.reset", _("MFA reset")
    MFA_SETUP_CODE = "mfa.setup_code", _("MFA set-up code printed")
    SIGNIN_ADDRESS_HELD = "signin.address_held", _("Sign-in refused: too many failures from this address")


# The part of a code before its first dot -> the filter's group label, and its "every action" option's label
# (none where the group holds a single action). Filtering by the group's prefix is the audit page's old search.
GROUPS = {
    "account": (_("Accounts"), _("All account actions")),
    "role": (_("Roles"), None),
    "signin": (_("Signing in"), _("All sign-in actions")),
    "password": (_("Passwords"), _("All password actions")),
    "print": (_("Printing"), _("All printing")),
    "download": (_("Download Passwords"), _("All downloads")),
    "lifecycle": (_("Account life cycle"), _("All life cycle actions")),
    "provisioning": (_("Provisioning"), _("All provisioning actions")),
    "audit": (_("Audit"), None),
    "sso": (_("Single sign-on"), _("All single sign-on actions")),
    "organisation": (_("Organisations"), None),
    "mfa": (_("Multi-factor sign-in"), _("All multi-factor actions")),
}

# The actions audit_count counts (refusals that name nobody), with the outcome each count stands for.
COUNTED = {
    AuditAction.SIGNIN_FAILURE: AuditEvent.Outcome.FAILURE,
    AuditAction.SIGNIN_LOCKED_OUT: AuditEvent.Outcome.DENIED,
    AuditAction.SIGNIN_ADDRESS_HELD: AuditEvent.Outcome.DENIED,
    AuditAction.PROVISIONING_API_DENIED: AuditEvent.Outcome.DENIED,
    AuditAction.SSO_DENIED: AuditEvent.Outcome.DENIED,
}


def audit_record(
    *,
    actor,
    action,
    targets=(),
    organisation=None,
    request=None,
    outcome=AuditEvent.Outcome.SUCCESS,
    details=None,
):
    """Append one audit event. `details` must never hold a password, token or UPN."""
    code = AuditAction(action).value  # an unknown code is a bug: refused before anything is written
    outcome = AuditEvent.Outcome(outcome).value
    target_ids = sorted({t if isinstance(t, int) else t.pk for t in targets})
    # the event and its targets together, also where the caller has no transaction of its own
    with transaction.atomic(savepoint=False):
        event = AuditEvent.objects.create(
            actor_id=_actor_id(actor),
            action=code,
            organisation=organisation,
            client_ip=client_ip(request),
            outcome=outcome,
            target_count=len(target_ids),
            details=details or {},
        )
        if target_ids:
            rows_copy(AuditEventTarget, ["event", "account_id"], ((event.pk, pk) for pk in target_ids))
    return event


def audit_record_bulk(*, actor, events):
    """Append many audit events at once: (action, organisation, target ids, details) each, all successes.

    One insert for the events and one COPY for all their targets, where audit_record costs a round trip each:
    a provisioning batch audits thousands of schools' changes. `details` must never hold a secret or UPN.
    """
    rows = [
        (AuditAction(action).value, organisation, _distinct_ascending(targets), details)
        for action, organisation, targets, details in events
    ]
    with transaction.atomic(savepoint=False):
        created = AuditEvent.objects.bulk_create(
            [
                AuditEvent(
                    actor_id=_actor_id(actor),
                    action=code,
                    organisation=organisation,
                    target_count=len(targets),
                    details=details or {},
                )
                for code, organisation, targets, details in rows
            ]
        )
        rows_copy(
            AuditEventTarget,
            ["event", "account_id"],
            (
                (event.pk, pk)
                for event, (_code, _org, targets, _details) in zip(created, rows, strict=True)
                for pk in targets
            ),
        )
    return created


def _distinct_ascending(targets):
    """Target ids ascending, each once. An array already so (a provisioning run's new accounts: a school's first
    run makes one for each of its rows, perhaps millions) is kept as it is, not copied as Python numbers."""
    if isinstance(targets, array) and all(a < b for a, b in itertools.pairwise(targets)):
        return targets
    return sorted(set(targets))


def audit_count(*, action, request) -> None:
    """Count one refused request from an unauthenticated source, per action, source address and minute."""
    code = AuditAction(action).value
    if code not in COUNTED:
        raise ValueError(f"{code} is not counted: write it with audit_record")
    minute = timezone.now().replace(second=0, microsecond=0)
    count_up(AuditFailureCount, {"action": code, "client_ip": client_ip(request) or "", "minute": minute})


def action_label(code: str) -> str:
    """What a reader sees for a stored code: its label, or the code itself for one no longer in use."""
    try:
        return AuditAction(code).label
    except ValueError:
        return code


def action_choices():
    """The audit filter's options: any action, then per group every action of the group and each action."""
    grouped = {prefix: [] for prefix in GROUPS}
    for action in AuditAction:
        grouped[action.value.split(".", 1)[0]].append((action.value, action.label))
    choices = [("", _("Any action"))]
    for prefix, (label, every) in GROUPS.items():
        choices.append((label, ([(f"{prefix}.", every)] if every else []) + grouped[prefix]))
    return choices


def client_ip(request):
    """The address a request came from (None outside a request): X-Forwarded-For only from trusted proxies."""
    return client_address(request)


def _actor_id(actor):
    return getattr(actor, "pk", actor) if actor is not None else None
