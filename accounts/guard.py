"""The spraying guard: failures from one address across many accounts are slowed, then refused for a while.

django-axes locks one account after repeated failures, never an address (a school's children share one). That
left one address free to try a common password against every account. Here each address is judged by its
*unexplained* failures in a sliding window: failed attempts (passwords or second-step codes) for accounts that
have not since signed in from that address. A child who mistypes and then gets in explains their failures, so a
class signing in together stays far below the limits; a sprayer's failures are never explained.

- Below UMP_SIGNIN_SLOW_ACCOUNTS accounts and UMP_SIGNIN_SLOW_FAILURES failures: nothing happens.
- From there: one attempt per UMP_SIGNIN_SLOW_SECONDS; a sooner one is refused before any password is checked.
- From UMP_SIGNIN_HOLD_ACCOUNTS accounts or UMP_SIGNIN_HOLD_FAILURES failures: every attempt is refused until
  enough failures have left the window.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db.models import Count, Max
from django.utils import timezone

from accounts.models import SigninFailure
from accounts.network import client_address
from accounts.sealing import keyed_hash

# Set on a request by address_check: the address's failures in the window as the attempt began. With none, a
# success has nothing to explain, and address_success_record skips its delete (a write per sign-in at rush hour).
FAILURES_SEEN = "_signin_guard_failures"


@dataclass(frozen=True)
class Verdict:
    """What the guard says of an address now: may it try, and if not, for how many seconds not."""

    allowed: bool
    held: bool = False
    retry_after: int = 0


OPEN = Verdict(True)


def address_check(request) -> Verdict:
    """May an attempt from this request's address go ahead? (Nothing is written.)"""
    address = client_address(request)
    if not settings.UMP_SIGNIN_GUARD or address is None:
        return OPEN
    now = timezone.now()
    window = _window()
    stats = SigninFailure.objects.filter(client_ip=address, at__gte=now - window).aggregate(
        failures=Count("id"), accounts=Count("account_key", distinct=True), last=Max("at")
    )
    failures, accounts = stats["failures"], stats["accounts"]
    setattr(request, FAILURES_SEEN, failures)
    if failures >= settings.UMP_SIGNIN_HOLD_FAILURES or accounts >= settings.UMP_SIGNIN_HOLD_ACCOUNTS:
        return Verdict(False, held=True, retry_after=_until_below_hold(address, now, window))
    if failures >= settings.UMP_SIGNIN_SLOW_FAILURES or accounts >= settings.UMP_SIGNIN_SLOW_ACCOUNTS:
        wait = stats["last"] + timedelta(seconds=settings.UMP_SIGNIN_SLOW_SECONDS) - now
        if wait > timedelta(0):
            return Verdict(False, retry_after=max(1, int(wait.total_seconds() + 0.999)))
    return OPEN


def address_failure_record(*, request, account=None, identifier="") -> None:
    """Count a failed step from this request's address against `account` (or the name given, if no account)."""
    address = client_address(request)
    if not settings.UMP_SIGNIN_GUARD or address is None:
        return
    request.__dict__.pop(FAILURES_SEEN, None)  # a later success in this request has this failure to explain
    now = timezone.now()
    SigninFailure.objects.filter(at__lt=now - _window()).delete()
    SigninFailure.objects.create(client_ip=address, account_key=_key(account, identifier), at=now)


def address_success_record(*, request, account) -> None:
    """A sign-in from this address explains that account's earlier failures from it."""
    address = client_address(request)
    if address is not None and getattr(request, FAILURES_SEEN, None) != 0:
        SigninFailure.objects.filter(client_ip=address, account_key=_key(account, "")).delete()


def _key(account, identifier):
    if account is not None:
        return f"a{account.pk}"
    return "n" + keyed_hash((identifier or "").strip().lower())[:40]


def _window():
    return timedelta(minutes=settings.UMP_SIGNIN_WINDOW_MINUTES)


def _until_below_hold(address, now, window) -> int:
    """Seconds until the address's oldest failure in the window leaves it (the soonest anything can change)."""
    oldest = (
        SigninFailure.objects.filter(client_ip=address, at__gte=now - window)
        .order_by("at")
        .values_list("at", flat=True)
        .first()
    )
    return max(1, int(((oldest or now) + window - now).total_seconds() + 0.999))
