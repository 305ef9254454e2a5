"""The OpenID Connect endpoints (django-oauth-toolkit's views with the portal's rules) and the Connected
services page where national Hwb administrators list clients, rotate their secrets and disable them."""

import hashlib
import json
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render, resolve_url
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods
from oauth2_provider import views as dot
from oauth2_provider.models import get_access_token_model

from accounts.caching import never_stored
from accounts.models import Organisation
from accounts.permissions import Action, organisation_ids_for
from sso.claims import ACR_VALUES, amr_from_session
from sso.models import Client
from sso.services import (
    CLOSED_REASON,
    account_may_sign_in,
    account_tokens_revoke,
    client_disable,
    client_secret_rotate,
    refusal_count,
    refusal_record,
)

# ---------------------------------------------------------------- the provider's endpoints


class AuthorizeView(dot.AuthorizationView):
    """Sign a person in to a client: the portal's own sign-in first (with ?next=, so the second factor is asked
    there whenever MFA requires it), then consent, which trusted clients skip. Refusals are audited."""

    template_name = "sso/authorize.html"
    http_method_names = ["get", "post"]

    def dispatch(self, request, *args, **kwargs):
        if request.method == "GET" and _asks_a_fresh_sign_in(request):
            return redirect_to_login(
                _without_fresh_sign_in(request), resolve_url(settings.LOGIN_URL) + "?reauth=1"
            )
        if request.user.is_authenticated and not account_may_sign_in(request.user):
            account_tokens_revoke(account=request.user)
            refusal_record(account=request.user, client=None, reason=CLOSED_REASON, request=request)
            return render(request, "sso/refused.html", status=403)
        return super().dispatch(request, *args, **kwargs)

    def create_authorization_response(self, request, scopes, credentials, allow):
        # how the person signed in travels with the code to the ID token (amr, acr)
        credentials["ump_amr"] = amr_from_session(request.session)
        return super().create_authorization_response(request, scopes, credentials, allow)

    def error_response(self, error, application, **kwargs):
        if self.request.user.is_authenticated:
            reason = getattr(getattr(error, "oauthlib_error", None), "error", None) or "invalid_request"
            refusal_record(account=self.request.user, client=application, reason=reason, request=self.request)
        else:
            refusal_count(request=self.request)
        return super().error_response(error, application, **kwargs)

    def redirect(self, redirect_to, application):
        response = super().redirect(redirect_to, application)  # checks the scheme is allowed
        if self.request.headers.get("Sec-Fetch-Site") == "same-origin" and not _same_origin(
            self.request, redirect_to
        ):
            # Reached through the portal's own forms (the sign-in, the second factor, consent): browsers hold a
            # form's redirects to its form-action ('self'), so the hand-over to the client is a page of its own.
            return render(self.request, "sso/continue.html", {"url": redirect_to, "application": application})
        return response


def _asks_a_fresh_sign_in(request) -> bool:
    """OpenID Connect prompt=login, or a max_age older than the person's sign-in: they sign in again first
    (the ID token's auth_time then says when). prompt=none is never sent to a sign-in page: it fails instead."""
    prompt = request.GET.get("prompt", "").split()
    if "none" in prompt:
        return False
    if "login" in prompt:
        return True
    try:
        max_age = int(request.GET.get("max_age", ""))
    except ValueError:
        return False
    last = request.user.last_login if request.user.is_authenticated else None
    return max_age >= 0 and (last is None or (timezone.now() - last).total_seconds() > max_age)


def _without_fresh_sign_in(request) -> str:
    """The authorization request to return to once signed in again, its demand for a fresh sign-in met."""
    query = request.GET.copy()
    prompt = [value for value in query.get("prompt", "").split() if value != "login"]
    query.pop("max_age", None)
    query.pop("prompt", None)
    if prompt:
        query["prompt"] = " ".join(prompt)
    return f"{request.path}?{query.urlencode()}"


def _same_origin(request, url):
    parts = urlsplit(url)
    return (parts.scheme, parts.netloc) == (request.scheme, request.get_host())


@method_decorator(csrf_exempt, name="dispatch")
class CountRefusals:
    """A refused request to a client's endpoint names no person (a wrong secret, code or token): counted per
    address and minute. A refusal that names one (a closed account's token) also has its event. These
    endpoints are called by clients, which authenticate themselves, never by a browser with a session: as in
    django-oauth-toolkit's own views, no CSRF token (this dispatch replaces the one it exempted)."""

    def dispatch(self, request, *args, **kwargs):
        response = super().dispatch(request, *args, **kwargs)
        if response.status_code in (400, 401, 403):
            refusal_count(request=request)
        return response


class TokenView(CountRefusals, dot.TokenView):
    """Codes and refresh tokens for tokens."""


class RevokeView(CountRefusals, dot.RevokeTokenView):
    """RFC 7009, for a client's own tokens."""


class UserInfoView(CountRefusals, dot.UserInfoView):
    """The claims of the access token's scopes."""


class IntrospectView(CountRefusals, dot.IntrospectTokenView):
    """RFC 7662 for a client's own use: a token of a closed or expired account is not active."""

    @staticmethod
    def get_token_response(token_value=None):
        response = dot.IntrospectTokenView.get_token_response(token_value)
        if response.status_code == 200 and json.loads(response.content).get("active"):
            checksum = hashlib.sha256(token_value.encode("utf-8")).hexdigest()
            token = (
                get_access_token_model()
                .objects.select_related("user")
                .filter(token_checksum=checksum)
                .first()
            )
            if token is not None and token.user is not None and not account_may_sign_in(token.user):
                account_tokens_revoke(account=token.user)
                refusal_record(account=token.user, client=token.application, reason=CLOSED_REASON)
                return JsonResponse({"active": False})
        return response


class DiscoveryView(dot.ConnectDiscoveryInfoView):
    """OpenID Provider metadata, with the portal's acr values and the amr/acr claims."""

    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        data = json.loads(response.content)
        data["acr_values_supported"] = list(ACR_VALUES)
        data["id_token_signing_alg_values_supported"] = ["RS256"]  # every client is registered for RS256
        data["claims_supported"] = sorted(
            {*data["claims_supported"], "amr", "acr", "auth_time", "iss", "aud"}
        )
        data["grant_types_supported"] = ["authorization_code", "refresh_token"]
        data["request_parameter_supported"] = False
        data["claims_parameter_supported"] = False
        result = JsonResponse(data)
        result["Access-Control-Allow-Origin"] = "*"
        return result


class LogoutView(dot.RPInitiatedLogoutView):
    template_name = "sso/logout_confirm.html"
    http_method_names = ["get", "post"]


# ---------------------------------------------------------------- Connected services (national administrators)


def _require_national_admin(request):
    if not organisation_ids_for(
        request.user, Action.MANAGE_SSO_CLIENTS, org_kinds=(Organisation.Kind.NATIONAL,)
    ):
        raise PermissionDenied


@login_required
@require_GET
def client_list(request):
    _require_national_admin(request)
    clients = Client.objects.order_by("disabled_at", "name")
    return render(request, "sso/clients.html", {"clients": clients})


@login_required
@require_http_methods(["GET", "POST"])
@never_stored
def client_rotate(request, pk):
    _require_national_admin(request)
    client = get_object_or_404(Client, pk=pk, disabled_at__isnull=True)
    if client.is_public:
        raise PermissionDenied  # nothing to rotate: a public client has no secret
    if request.method == "GET":
        return render(request, "sso/client_rotate.html", {"client": client})
    registered = client_secret_rotate(client=client, actor=request.user, request=request)
    return render(request, "sso/client_secret.html", {"client": client, "secret": registered.secret})


@login_required
@require_http_methods(["GET", "POST"])
def client_disable_view(request, pk):
    _require_national_admin(request)
    client = get_object_or_404(Client, pk=pk, disabled_at__isnull=True)
    if request.method == "GET":
        return render(request, "sso/client_disable.html", {"client": client})
    client_disable(client=client, actor=request.user, request=request)
    messages.success(
        request, _("%(name)s is disabled: its sign-ins and tokens no longer work.") % {"name": client.name}
    )
    return redirect("sso:clients")
