"""Sign-in from the sealed copy for an account that has no password hash yet.

Accounts created in bulk (provisioning) and learners in a group reset get an unusable hash and a sealed
copy of their new password; hashing each with argon2 up front would cost seconds per class. At the first
successful sign-in the password is checked against the sealed copy and the argon2 hash is stored, after
which this backend never answers for that account again.
"""

from django.contrib.auth.hashers import make_password
from django.utils.crypto import constant_time_compare

from accounts.backends import UsernameOrEmailBackend, find_account
from accounts.sealing import SealError, unseal
from passwords.models import ShownPassword


class SealedCopyBackend(UsernameOrEmailBackend):
    """Answers only for accounts without a usable hash; everything else is left to the next backend."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if not username or password is None:
            return None
        account = find_account(username, request)
        if account is None or account.has_usable_password():
            return None
        sealed = ShownPassword.objects.filter(account=account).values_list("sealed", flat=True).first()
        try:
            expected = unseal(sealed) if sealed else None
        except SealError:
            expected = None
        if expected is None or not constant_time_compare(expected, password):
            make_password(password)  # the same time as a real check, so this path cannot be told apart
            return None
        if not self.user_can_authenticate(account):
            return None
        account.set_password(password)
        account.save(update_fields=["password"])
        return account
