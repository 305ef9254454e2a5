"""Sign in with username or email address (current or an earlier alias), case-insensitively; lockouts audited."""

from django.contrib.auth.backends import ModelBackend
from django.db.models import Q

from accounts.models import Account
from accounts.services import signin_lockout_record


def find_account(identifier, request=None):
    """The account a sign-in name names, or None. With `request`, looked up once per request and name.

    One sign-in asks up to four times (the lockout check, each backend, the lockout reset after success); at
    rush hour those repeats were a quarter of a sign-in's queries. Only the one request reuses the answer.
    """
    identifier = (identifier or "").strip()
    if not identifier:
        return None
    found = request.__dict__.setdefault("_accounts_found", {}) if request is not None else {}
    if identifier not in found:
        accounts = Account.objects.select_related("organisation")
        if "@" in identifier:
            # Only the join to the aliases can repeat a row; DISTINCT over every column of two wide tables
            # was a third of this lookup's CPU, so a plain username goes without it.
            query = Q(username__lower_exact=identifier) | Q(email__lower_exact=identifier)
            accounts = accounts.filter(query | Q(email_aliases__email__iexact=identifier)).distinct()
        else:
            accounts = accounts.filter(username__lower_exact=identifier)
        account = accounts.first()
        found[identifier] = account
        if account is not None:
            found.setdefault(account.username, account)  # as the lockout reset names it after a sign-in
    return found[identifier]


def axes_username(request, credentials):
    """Lockout is per account: every spelling of one account counts against the same record."""
    identifier = (credentials or {}).get("username") or request.POST.get("username", "")
    account = find_account(identifier, request)
    return account.username.lower() if account else identifier.strip().lower()


class UsernameOrEmailBackend(ModelBackend):
    """ModelBackend that finds the account by username, email or email alias."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None or password is None:
            return None
        account = find_account(username, request)
        if account is None:
            # Spend the same time as a real check so usernames cannot be probed by timing.
            Account().set_password(password)
            return None
        if account.check_password(password) and self.user_can_authenticate(account):
            return account
        return None

    def get_user(self, user_id):
        """The signed-in account with its organisation in the same query: nearly every page reads it."""
        try:
            user = Account._default_manager.select_related("organisation").get(pk=user_id)
        except Account.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None


def audit_lockout(sender, request, username, ip_address, **kwargs):
    """django-axes refuses the sign-in before our view runs; the lockout still belongs in the audit trail."""
    signin_lockout_record(account=find_account(username, request), request=request)
