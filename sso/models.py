"""The services that sign people in with their UMP account (OpenID Connect clients), and authorization codes.

Both swap django-oauth-toolkit's own models (OAUTH2_PROVIDER_APPLICATION_MODEL, OAUTH2_PROVIDER_GRANT_MODEL):
a client carries the scopes it was registered for and can be disabled; a code carries how its person signed in.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _
from oauth2_provider.models import AbstractApplication, AbstractGrant, ApplicationManager


class Client(AbstractApplication):
    """A school's service that signs people in through UMP; `skip_authorization` marks a trusted one."""

    allowed_scopes = models.CharField(
        _("scopes"),
        max_length=200,
        default="openid",
        help_text=_("The scopes it may ask for, space separated"),
    )
    disabled_at = models.DateTimeField(_("disabled"), null=True, blank=True)

    objects = ApplicationManager()

    class Meta(AbstractApplication.Meta):
        verbose_name = _("connected service")
        verbose_name_plural = _("connected services")
        ordering = ["name"]

    def natural_key(self):
        return (self.client_id,)

    @property
    def scopes(self):
        return self.allowed_scopes.split()

    @property
    def is_public(self):
        return self.client_type == self.CLIENT_PUBLIC

    def is_usable(self, request):
        """A disabled client can neither start a sign-in nor use a token it was given."""
        return self.disabled_at is None

    def redirect_uri_allowed(self, uri):
        """Exact string comparison with a registered URI (OpenID Connect Core 3.1.2.1): no port or path leeway."""
        return uri in self.redirect_uris.split()


class Grant(AbstractGrant):
    """An authorization code, with the authentication methods (RFC 8176) its sign-in used."""

    amr = models.JSONField(_("authentication methods"), default=list, blank=True)
    # A used code is kept a while, spent, so that its second use is known and revokes what the first gave.
    spent_at = models.DateTimeField(_("used at"), null=True, blank=True)

    class Meta(AbstractGrant.Meta):
        verbose_name = _("authorization code")
        verbose_name_plural = _("authorization codes")
