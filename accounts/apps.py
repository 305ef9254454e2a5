from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Accounts")

    def ready(self):
        from axes.signals import user_locked_out

        user_locked_out.connect(_audit_lockout, dispatch_uid="ump_audit_lockout")


def _audit_lockout(sender, request, username, ip_address, **kwargs):
    """django-axes refuses the sign-in before our view runs; the lockout still belongs in the audit trail."""
    from accounts.backends import find_account
    from accounts.services import audit_record

    account = find_account(username)
    audit_record(
        actor=None,
        action="signin.locked_out",
        targets=[account] if account else [],
        organisation=account.organisation if account else None,
        request=request,
        outcome="denied",
    )
