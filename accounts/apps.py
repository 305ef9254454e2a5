from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Accounts")

    def ready(self):
        # Imported here, as Django's docs do: these modules need the app registry this method completes.
        from axes.signals import user_locked_out
        from django.db.backends.signals import connection_created

        from accounts.backends import audit_lockout
        from accounts.selectors import sqlite_collations

        user_locked_out.connect(audit_lockout, dispatch_uid="ump_audit_lockout")
        connection_created.connect(sqlite_collations, dispatch_uid="ump_sqlite_collations")
