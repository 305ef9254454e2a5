from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SsoConfig(AppConfig):
    name = "sso"
    verbose_name = _("Single sign-on")

    def ready(self):
        # Imported here, as Django's docs do: these modules need the app registry this method completes.
        from accounts.services import account_sign_out_register
        from sso.services import accounts_tokens_revoke

        # A deactivated or expired account's tokens are revoked as it is closed (they are also refused at
        # every use, which covers the provisioning sync's deactivations too).
        account_sign_out_register("sso", accounts_tokens_revoke)
