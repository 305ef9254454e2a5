"""Fixtures for single sign-on: registered clients, and the authorization code flow driven through the test client."""

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse
from jwcrypto import jwk, jwt

from sso.services import client_register

REDIRECT = "https://moodle.example.org/auth/oidc/"
LOGOUT_REDIRECT = "https://moodle.example.org/"


@dataclass
class Registered:
    client: object
    secret: str


@pytest.fixture
def moodle(db):
    """A confidential client that may ask for every scope, not trusted (the consent page is shown)."""
    registered = client_register(
        name="Moodle",
        redirect_uris=[REDIRECT],
        post_logout_redirect_uris=[LOGOUT_REDIRECT],
        scopes=["openid", "profile", "email", "ump"],
    )
    return Registered(registered.client, registered.secret)


@pytest.fixture
def trusted_app(db):
    """A trusted public client (no secret, no consent page) registered for openid and profile only."""
    registered = client_register(
        name="Hwb Classroom",
        redirect_uris=["https://classroom.example.org/cb"],
        public=True,
        trusted=True,
        scopes=["openid", "profile"],
    )
    return Registered(registered.client, registered.secret)


def pkce_pair():
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


class Flow:
    """The authorization code flow with PKCE, as a relying party does it, through Django's test client."""

    def __init__(self, client):
        self.http = client

    def authorize(
        self, app, *, scope="openid", redirect_uri=None, pkce=True, method="S256", extra=None, headers=None
    ):
        """GET the authorization endpoint; returns (response, verifier)."""
        verifier, challenge = pkce_pair()
        params = {
            "response_type": "code",
            "client_id": app.client.client_id,
            "redirect_uri": redirect_uri or app.client.redirect_uris.split()[0],
            "scope": scope,
            "state": "st4te",
            "nonce": "n0nce",
        }
        if pkce:
            params.update(
                code_challenge=challenge if method == "S256" else verifier, code_challenge_method=method
            )
        params.update(extra or {})
        return self.http.get(reverse("oauth2_provider:authorize"), params, headers=headers), verifier

    def consent(self, response, *, allow=True):
        """POST the consent form the authorization endpoint showed."""
        form = response.context["form"]
        data = {name: value for name, value in form.initial.items() if value is not None}
        if allow:
            data["allow"] = "on"
        return self.http.post(reverse("oauth2_provider:authorize"), data)

    def code(self, app, **kwargs):
        """A code (and its verifier) for the signed-in person, consenting where the page asks."""
        response, verifier = self.authorize(app, **kwargs)
        if response.status_code == 200:
            response = self.consent(response)
        assert response.status_code == 302, response.status_code
        query = parse_qs(urlsplit(response["Location"]).query)
        assert "code" in query, query
        assert query["state"] == ["st4te"]
        return query["code"][0], verifier

    def token(self, app, data):
        if app.secret:
            auth = base64.b64encode(f"{app.client.client_id}:{app.secret}".encode()).decode()
            return self.http.post(
                reverse("oauth2_provider:token"), data, headers={"authorization": f"Basic {auth}"}
            )
        return self.http.post(reverse("oauth2_provider:token"), {**data, "client_id": app.client.client_id})

    def exchange(self, app, code, verifier, *, redirect_uri=None):
        data = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri or app.client.redirect_uris.split()[0],
        }
        if verifier:
            data["code_verifier"] = verifier
        return self.token(app, data)

    def tokens(self, app, **kwargs):
        """Sign in to `app` all the way: the token response's JSON."""
        code, verifier = self.code(app, **kwargs)
        response = self.exchange(app, code, verifier)
        assert response.status_code == 200, response.content
        return response.json()

    def refresh(self, app, refresh_token):
        return self.token(app, {"grant_type": "refresh_token", "refresh_token": refresh_token})

    def userinfo(self, access_token):
        return self.http.get(
            reverse("oauth2_provider:user-info"), headers={"authorization": f"Bearer {access_token}"}
        )

    def jwks(self):
        return jwk.JWKSet.from_json(self.http.get(reverse("oauth2_provider:jwks-info")).content)

    def id_claims(self, id_token):
        """The ID token's claims, its signature checked against the published JWKS (by kid)."""
        token = jwt.JWT(jwt=id_token, key=self.jwks(), expected_type="JWS")
        return json.loads(token.claims)


@pytest.fixture
def flow(client):
    return Flow(client)
