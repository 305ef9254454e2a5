"""The audit trail of printing and downloads (the documents themselves are never stored)."""

from accounts.audit import AuditAction, audit_record

# a download's kind (the Download Passwords slug) -> what the audit trail calls it
DOWNLOAD_ACTIONS = {
    "pupils": AuditAction.DOWNLOAD_PUPILS_CSV,
    "staff": AuditAction.DOWNLOAD_STAFF_CSV,
}


def print_record(*, actor, accounts, organisation, with_passwords: bool, request=None, what: str = "account"):
    """Audit one print: who, which accounts, with or without passwords."""
    return audit_record(
        actor=actor,
        action=AuditAction.PRINT_WITH_PASSWORD if with_passwords else AuditAction.PRINT_DETAILS,
        targets=accounts,
        organisation=organisation,
        request=request,
        details={"what": what},
    )


def download_record(*, actor, organisation, kind: str, account_ids, request=None):
    """Audit one credentials CSV download (kind: "pupils" or "staff")."""
    return audit_record(
        actor=actor,
        action=DOWNLOAD_ACTIONS[kind],
        targets=account_ids,
        organisation=organisation,
        request=request,
    )
