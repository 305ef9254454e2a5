"""Every write of single sign-on: registering, rotating and disabling clients, revoking a person's tokens,
and the audit events of issuing and refusing tokens (never the token itself)."""

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from oauth2_provider.generators import generate_client_secret
from oauth2_provider.models import get_access_token_model, get_grant_model, get_refresh_token_model

from accounts.audit import AuditAction, audit_count, audit_record
from accounts.models import AuditEvent
from accounts.services import today
from sso.models import Client

CODE_REUSED_REASON = "code_reused"  # a refusal's reason: an authorization code used a second time
CLOSED_REASON = "account_closed"  # a refusal's reason: the account is deactivated or past its expiry date


@dataclass(frozen=True)
class Registered:
    """A client just registered or rotated, with its secret in clear: shown once, never stored."""

    client: Client
    secret: str  # "" for a public client


def account_may_sign_in(account) -> bool:
    """Active, and not past its expiry date (the daily sweep may not have closed it yet)."""
    if account is None or not account.is_active:
        return False
    return account.expires_on is None or account.expires_on >= today()


@transaction.atomic
def client_register(
    *,
    name,
    redirect_uris,
    public=False,
    trusted=False,
    scopes=("openid",),
    post_logout_redirect_uris=(),
    client_id=None,
    actor=None,
) -> Registered:
    """Register a client: only the hash of its secret is kept, so the secret is returned to be shown once."""
    scopes = _checked_scopes(scopes)
    redirect_uris = [_checked_uri(uri) for uri in redirect_uris]
    if not redirect_uris:
        raise ValidationError(_("Give at least one redirect URI."))
    secret = "" if public else generate_client_secret()
    client = Client(
        name=name.strip(),
        redirect_uris=" ".join(redirect_uris),
        post_logout_redirect_uris=" ".join(_checked_uri(uri) for uri in post_logout_redirect_uris),
        client_type=Client.CLIENT_PUBLIC if public else Client.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Client.GRANT_AUTHORIZATION_CODE,
        algorithm=Client.RS256_ALGORITHM,
        client_secret=secret,
        hash_client_secret=not public,
        skip_authorization=trusted,
        allowed_scopes=" ".join(scopes),
    )
    if client_id:
        client.client_id = client_id
    if not client.name:
        raise ValidationError(_("Give the service a name."))
    client.full_clean(exclude=["client_secret"])
    client.save()
    audit_record(
        actor=actor,
        action=AuditAction.SSO_CLIENT_ADD,
        details={
            "client": client.name,
            "client_id": client.client_id,
            "public": public,
            "trusted": trusted,
            "scopes": scopes,
        },
    )
    return Registered(client, secret)


@transaction.atomic
def client_secret_rotate(*, client, actor=None, request=None) -> Registered:
    """Give a confidential client a new secret (the old one stops working at once); returned to be shown once."""
    if client.is_public:
        raise ValidationError(_("A public client has no secret."))
    secret = generate_client_secret()
    client.client_secret = secret
    client.save(update_fields=["client_secret", "updated"])
    audit_record(
        actor=actor,
        action=AuditAction.SSO_CLIENT_ROTATE,
        request=request,
        details={"client": client.name, "client_id": client.client_id},
    )
    return Registered(client, secret)


@transaction.atomic
def client_disable(*, client, actor=None, request=None) -> Client:
    """Disable a client: it can start no sign-in, and every token and code it holds stops working now."""
    if client.disabled_at is None:
        client.disabled_at = timezone.now()
        client.save(update_fields=["disabled_at", "updated"])
    revoked = _tokens_revoke(application=client)
    audit_record(
        actor=actor,
        action=AuditAction.SSO_CLIENT_DISABLE,
        request=request,
        details={"client": client.name, "client_id": client.client_id, "tokens_revoked": revoked},
    )
    return client


@transaction.atomic
def account_tokens_revoke(*, account) -> int:
    """Revoke every token and code a client holds for this account; how many tokens were live."""
    return _tokens_revoke(user=account)


@transaction.atomic
def code_reuse_revoke(*, grant) -> int:
    """A code used a second time: it may have been stolen, so every token the client holds for the person is
    revoked (RFC 6749 4.1.2) and the refusal audited. How many tokens were live."""
    live = _tokens_revoke(user=grant.user, application=grant.application)
    refusal_record(account=grant.user, client=grant.application, reason=CODE_REUSED_REASON)
    return live


@transaction.atomic
def token_issue_record(*, account, client, grant_type, scopes, amr=None) -> None:
    """Audit tokens issued to a client for a person: who, which client, which grant and scopes; no token."""
    details = {"client": client.name, "client_id": client.client_id, "grant": grant_type, "scopes": scopes}
    if amr:
        details["amr"] = amr
    audit_record(
        actor=account,
        action=AuditAction.SSO_TOKEN_ISSUE,
        targets=[account],
        organisation=account.organisation,
        details=details,
    )


@transaction.atomic
def refusal_record(*, account, client, reason, request=None) -> None:
    """Audit a refusal that names a person (their account is closed or expired, they declined, ...)."""
    details = {"reason": reason}
    if client is not None:
        details.update(client=client.name, client_id=client.client_id)
    audit_record(
        actor=None,
        action=AuditAction.SSO_REFUSED,
        targets=[account],
        organisation=account.organisation,
        request=request,
        outcome=AuditEvent.Outcome.DENIED,
        details=details,
    )


def refusal_count(*, request) -> None:
    """Count a refused request that names nobody (a wrong secret, code or token), per address and minute."""
    audit_count(action=AuditAction.SSO_DENIED, request=request)


@transaction.atomic
def accounts_tokens_revoke(*, account_ids) -> int:
    """Revoke every token and code of these accounts (they were just deactivated or expired)."""
    return _tokens_revoke(user_id__in=list(account_ids))


def _tokens_revoke(**owner) -> int:
    now = timezone.now()
    access = get_access_token_model().objects.filter(**owner)
    live = access.filter(expires__gt=now).count()
    get_refresh_token_model().objects.filter(revoked__isnull=True, **owner).update(revoked=now)
    access.delete()
    get_grant_model().objects.filter(**owner).delete()
    return live


def _checked_scopes(scopes):
    known = settings.OAUTH2_PROVIDER["SCOPES"]
    scopes = list(dict.fromkeys(s for scope in scopes for s in scope.split()))
    unknown = [scope for scope in scopes if scope not in known]
    if unknown:
        raise ValidationError(_("Unknown scopes: %(scopes)s."), params={"scopes": " ".join(unknown)})
    if "openid" not in scopes:
        scopes.insert(0, "openid")
    return scopes


def _checked_uri(uri):
    """https, or http on a loopback address (RFC 8252); absolute, with no fragment or credentials."""
    uri = uri.strip()
    parts = urlsplit(uri)
    if parts.fragment or "#" in uri or "@" in parts.netloc or not parts.hostname:
        raise ValidationError(_("%(uri)s is not a usable redirect URI."), params={"uri": uri})
    if parts.scheme == "https":
        return uri
    if parts.scheme == "http" and _loopback(parts.hostname):
        return uri
    raise ValidationError(
        _("%(uri)s must use https (http only on this computer's own address)."), params={"uri": uri}
    )


def _loopback(host):
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
