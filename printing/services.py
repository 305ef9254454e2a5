"""The audit trail of printing and downloads (the documents themselves are never stored)."""

from accounts.services import audit_record


def print_record(*, actor, accounts, organisation, with_passwords: bool, request=None, what: str = "account"):
    """Audit one print: who, which accounts, with or without passwords."""
    return audit_record(
        actor=actor,
        action="print.with_password" if with_passwords else "print.details",
        targets=accounts,
        organisation=organisation,
        request=request,
        details={"what": what},
    )


def download_record(*, actor, organisation, kind: str, account_ids, request=None):
    """Audit one credentials CSV download (kind: "pupils" or "staff")."""
    return audit_record(
        actor=actor,
        action=f"download.{kind}_csv",
        targets=account_ids,
        organisation=organisation,
        request=request,
    )
