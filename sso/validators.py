"""django-oauth-toolkit's request validator, with the portal's rules.

- A person whose account is deactivated or past its expiry date gets nothing through a client, and every token
  already issued for them stops working at its next use: the authorization code, the refresh token and the
  access token (userinfo, introspection) are each checked against the account as it is now, and a refusal
  revokes all of the person's tokens and is audited naming them. Deactivating through the portal or the expiry
  sweep also revokes them at once (the sign-out hook sso registers with accounts); the provisioning sync closes
  leavers with one UPDATE and no hook, and the check on every use covers that.
- A client gets only the scopes it was registered for: asking for another is refused (invalid_scope).
- The ID token carries `amr` (how the person signed in, from the session at authorization) and `acr`.
- A code works once. Its use marks it spent (kept an hour, not deleted), so a second use is known: it is refused,
  and every token the client holds for the person is revoked with it (RFC 6749 4.1.2), audited.
- Refreshing gives a new access token, never a new ID token: the sign-in it describes happened once.
- Every issue of tokens is audited (sso.token_issue), never with the token.
"""

from collections import OrderedDict
from datetime import timedelta

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from jwcrypto import jws
from oauth2_provider.models import get_access_token_model, get_grant_model
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauth2_provider.settings import oauth2_settings
from oauth2_provider.utils import jwk_from_pem
from oauthlib.oauth2.rfc6749 import errors

from sso import claims as ump_claims
from sso.backends import SESSION_ACCOUNT
from sso.services import (
    CLOSED_REASON,
    account_may_sign_in,
    account_tokens_revoke,
    code_reuse_revoke,
    refusal_record,
    token_issue_record,
)

SPENT_KEPT = timedelta(hours=1)  # how long a used code is remembered, to know a second use of it


class UmpValidator(OAuth2Validator):
    oidc_claim_scope = ump_claims.CLAIM_SCOPES

    # ---------------------------------------------------------------- claims

    def get_additional_claims(self):
        # Request-agnostic (no request argument), so discovery's claims_supported lists every claim.
        return {name: _claim(name) for name in ump_claims.CLAIM_SCOPES}

    def get_id_token_dictionary(self, token, token_handler, request):
        claims, expires = super().get_id_token_dictionary(token, token_handler, request)
        amr = getattr(request, "ump_amr", None) or list(ump_claims.DEFAULT_AMR)
        claims["amr"] = amr
        claims["acr"] = ump_claims.acr_for(amr)
        return claims, expires

    def refresh_id_token(self, request):
        return False

    def _get_key_for_token(self, token):
        """The key that signed an ID token (logout's id_token_hint), found by kid among every published key:
        a hint signed before a key rotation still verifies."""
        key = super()._get_key_for_token(token)  # the key signing now; None for a token of no client
        if key is None:
            return None
        unverified = jws.JWS()
        unverified.deserialize(token)
        kid = unverified.jose_header.get("kid")
        for pem in (oauth2_settings.OIDC_RSA_PRIVATE_KEY, *oauth2_settings.OIDC_RSA_PRIVATE_KEYS_INACTIVE):
            candidate = jwk_from_pem(pem)
            if candidate.thumbprint() == kid:
                return candidate
        return key

    # ---------------------------------------------------------------- scopes

    def validate_scopes(self, client_id, scopes, client, request, *args, **kwargs):
        registered = set(scopes) <= set(client.scopes)
        return registered and super().validate_scopes(client_id, scopes, client, request, *args, **kwargs)

    # ---------------------------------------------------------------- prompt=none

    def validate_silent_login(self, request):
        return bool(request.headers.get(SESSION_ACCOUNT))

    def validate_silent_authorization(self, request):
        """Without a page to ask on: a trusted client, or one holding a live token for these scopes."""
        if request.client.skip_authorization:
            return True
        tokens = get_access_token_model().objects.filter(
            user_id=request.headers.get(SESSION_ACCOUNT),
            application=request.client,
            expires__gt=timezone.now(),
        )
        return any(token.allow_scopes(request.scopes) for token in tokens)

    # ---------------------------------------------------------------- the account, at every use

    def _create_authorization_code(self, request, code, expires=None):
        grant = super()._create_authorization_code(request, code, expires)
        grant.amr = list(getattr(request, "ump_amr", None) or ump_claims.DEFAULT_AMR)
        grant.save(update_fields=["amr"])
        return grant

    def validate_code(self, client_id, code, client, request, *args, **kwargs):
        spent = (
            get_grant_model().objects.filter(code=code, application=client, spent_at__isnull=False).first()
        )
        if spent is not None:
            code_reuse_revoke(grant=spent)
            return False
        if not super().validate_code(client_id, code, client, request, *args, **kwargs):
            return False
        if not self._usable(request.user, client):
            return False
        request.ump_amr = (
            get_grant_model()
            .objects.filter(code=code, application=client)
            .values_list("amr", flat=True)
            .first()
        )
        return True

    def invalidate_authorization_code(self, client_id, code, request, *args, **kwargs):
        now = timezone.now()
        grants = get_grant_model().objects.filter(application=request.client)
        if not grants.filter(code=code, spent_at__isnull=True).update(spent_at=now):
            raise errors.InvalidGrantError(request=request)
        grants.filter(spent_at__lt=now - SPENT_KEPT).delete()

    def validate_refresh_token(self, refresh_token, client, request, *args, **kwargs):
        if not super().validate_refresh_token(refresh_token, client, request, *args, **kwargs):
            return False
        return self._usable(request.user, client)

    def validate_bearer_token(self, token, scopes, request):
        if not super().validate_bearer_token(token, scopes, request):
            return False
        if not self._usable(request.user, request.client):
            request.oauth2_error = OrderedDict(
                [("error", "invalid_token"), ("error_description", str(_("The account is closed.")))]
            )
            return False
        return True

    def _usable(self, account, client):
        """The account may still sign in; if not, its tokens are revoked and the refusal audited."""
        if account is None or account_may_sign_in(account):
            return True
        account_tokens_revoke(account=account)
        refusal_record(account=account, client=client, reason=CLOSED_REASON)
        return False

    # ---------------------------------------------------------------- audit

    def _save_bearer_token(self, token, request, *args, **kwargs):
        saved = super()._save_bearer_token(token, request, *args, **kwargs)
        if request.user is not None:
            token_issue_record(
                account=request.user,
                client=request.client,
                grant_type=request.grant_type,
                scopes=list(request.scopes or []),
                amr=getattr(request, "ump_amr", None),
            )
        return saved


def _claim(name):
    """One claim's value for the request's person: all of them are worked out once per request."""

    def value(request):
        cached = getattr(request, "_ump_claims", None)
        if cached is None or cached[0] != request.user.pk:
            cached = request._ump_claims = (request.user.pk, ump_claims.claims_for(request.user))
        return cached[1][name]

    return value
