"""django-axes' database handler, minus the writes a sign-in with no failures to forget would make.

On every successful sign-in axes deletes the account's failed attempts and sweeps every expired attempt in the
table: two reads and two empty transactions per sign-in at rush hour, nearly always with nothing to delete.
Here a sign-in whose lockout check (in the same request) found no failures for that account skips both. The
lockout itself is unchanged: failures are counted, and the account locked, exactly as axes does; an attempt
recorded after the check is only ever kept longer, never forgotten early; expired attempts are still swept
before each failure is recorded (axes does that too), so the table stays as small as before.
"""

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username, get_credentials

# Per request: {lockout username: failures the check counted} for each account checked in it.
FAILURES_SEEN = "_lockout_failures"


class LockoutHandler(AxesDatabaseHandler):
    """AxesDatabaseHandler that remembers, per request, what the lockout check counted."""

    def get_failures(self, request, credentials=None) -> int:
        failures = super().get_failures(request, credentials)
        request.__dict__.setdefault(FAILURES_SEEN, {})[get_client_username(request, credentials)] = failures
        return failures

    def user_login_failed(self, sender, credentials, request=None, **kwargs):
        if request is not None:
            request.__dict__.pop(FAILURES_SEEN, None)  # this request now has a failure to forget on success
        return super().user_login_failed(sender, credentials, request, **kwargs)

    def user_logged_in(self, sender, request, user, **kwargs):
        seen = getattr(request, FAILURES_SEEN, {})
        username = get_client_username(request, get_credentials(user.get_username()))
        if seen.get(username) == 0:
            return
        super().user_logged_in(sender, request, user, **kwargs)
