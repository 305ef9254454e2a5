"""Reads about passwords that views and printing share."""

from accounts.sealing import SealError, unseal
from passwords.models import ShownPassword

SHOWN = "shown"
USER_CHANGED = "user_changed"
NONE = "none"


def password_statuses(account_ids) -> dict[int, str]:
    """Account id -> SHOWN (a sealed copy exists), USER_CHANGED (the owner set it) or NONE."""
    statuses = dict.fromkeys(account_ids, NONE)
    rows = ShownPassword.objects.filter(account_id__in=list(statuses)).values_list(
        "account_id", "sealed", "changed_by_owner"
    )
    for pk, sealed, by_owner in rows:
        statuses[pk] = SHOWN if sealed else (USER_CHANGED if by_owner else NONE)
    return statuses


def shown_passwords(account_ids) -> dict[int, str]:
    """Account id -> the plaintext of its sealed copy, for the ids that have a readable one."""
    found = {}
    rows = ShownPassword.objects.filter(account_id__in=list(account_ids), sealed__isnull=False)
    for pk, sealed in rows.values_list("account_id", "sealed").iterator(chunk_size=2000):
        try:
            found[pk] = unseal(sealed)
        except SealError:
            continue  # sealed under a key no longer in the ring: as good as no copy
    return found


def shown_password(account) -> str | None:
    return shown_passwords([account.pk]).get(account.pk)
