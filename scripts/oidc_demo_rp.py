"""A tiny OpenID Connect relying party: a "school service" that signs people in with their UMP account.

    .venv/bin/python scripts/oidc_demo_rp.py                 # the demo client, against scripts/run's portal
    .venv/bin/python scripts/oidc_demo_rp.py --issuer URL --client-id ID --port 8001

Then open http://127.0.0.1:8001/ and choose "Sign in with UMP". It is built on Authlib's OAuth client, as a
real service would be: discovery, the authorization code flow with PKCE (S256) and a nonce, the ID token's
signature checked against the portal's JWKS (by kid) and its iss, aud, exp and nonce, userinfo, refresh and
RP-initiated logout. A confidential client's secret comes from the environment (OIDC_RP_CLIENT_SECRET), never
the command line; the demo client is public and has none. Sessions live in memory; nothing is written to disk.

Two links exist to show what the portal refuses (the test suite follows them): /login?pkce=0 asks without
PKCE, /login?redirect_uri=URI asks for a redirect URI other than the registered one.
"""

import argparse
import contextlib
import html
import json
import os
import secrets
import sys
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

import requests
from authlib.integrations.requests_client import OAuth2Session
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

TIMEOUT = 10


class RelyingParty:
    """The client's configuration, the provider's metadata, and the signed-in sessions (in memory)."""

    def __init__(self, *, issuer, client_id, client_secret, port, scope):
        self.issuer = issuer.rstrip("/")
        self.client_id = client_id
        self.client_secret = client_secret or None
        self.base = f"http://127.0.0.1:{port}"
        self.redirect_uri = f"{self.base}/callback"
        self.scope = scope
        self.metadata = requests.get(
            f"{self.issuer}/.well-known/openid-configuration", timeout=TIMEOUT
        ).json()
        if self.metadata["issuer"] != self.issuer:
            raise SystemExit(f"the provider says its issuer is {self.metadata['issuer']}, not {self.issuer}")
        self.sessions = {}  # cookie value -> this browser's state

    def oauth(self, **kwargs):
        return OAuth2Session(
            self.client_id,
            self.client_secret,
            scope=self.scope,
            token_endpoint_auth_method="client_secret_basic" if self.client_secret else "none",
            **kwargs,
        )

    def keys(self):
        return KeySet.import_key_set(requests.get(self.metadata["jwks_uri"], timeout=TIMEOUT).json())

    def verify(self, id_token, nonce):
        """The ID token's claims and the kid that signed it, after checking signature, iss, aud, exp, nonce."""
        token = jwt.decode(id_token, self.keys(), algorithms=["RS256"])
        jwt.JWTClaimsRegistry(
            iss={"essential": True, "value": self.issuer},
            aud={"essential": True, "value": self.client_id},
            nonce={"essential": True, "value": nonce},
            exp={"essential": True},
        ).validate(token.claims)
        return token.claims, token.header["kid"]


class Handler(BaseHTTPRequestHandler):
    rp: RelyingParty

    def do_GET(self):
        url = urlsplit(self.path)
        query = {key: values[-1] for key, values in parse_qs(url.query).items()}
        route = {
            "/": self.home,
            "/login": self.login,
            "/callback": self.callback,
            "/refresh": self.refresh,
            "/logout": self.logout,
        }.get(url.path)
        if route is None:
            self.send_error(404)
            return
        route(query)

    # ---------------------------------------------------------------- pages

    def home(self, query):
        state = self.state()
        if not state.get("claims"):
            self.page("<p><a id='sign-in' href='/login'>Sign in with UMP</a></p>")
            return
        claims = state["claims"]
        self.page(
            f"<p id='signed-in'>Signed in as {html.escape(str(claims.get('name', claims['sub'])))}</p>"
            f"<p>ID token verified with key <code id='kid'>{html.escape(state['kid'])}</code></p>"
            f"<h2>ID token claims</h2><pre id='claims'>{html.escape(json.dumps(claims, indent=2))}</pre>"
            f"<h2>Userinfo</h2><pre id='userinfo'>{html.escape(json.dumps(state['userinfo'], indent=2))}</pre>"
            f"<p id='refreshed'>{html.escape(state.get('refreshed', ''))}</p>"
            "<p><a id='refresh' href='/refresh'>Refresh the access token</a> · "
            "<a id='log-out' href='/logout'>Log out</a></p>"
        )

    def login(self, query):
        state = self.state()
        pkce = query.get("pkce") != "0"
        redirect_uri = query.get("redirect_uri", self.rp.redirect_uri)
        oauth = self.rp.oauth(redirect_uri=redirect_uri, code_challenge_method="S256" if pkce else None)
        verifier = secrets.token_urlsafe(48) if pkce else None
        nonce = secrets.token_urlsafe(16)
        uri, oauth_state = oauth.create_authorization_url(
            self.rp.metadata["authorization_endpoint"], code_verifier=verifier, nonce=nonce
        )
        state.update(oauth_state=oauth_state, verifier=verifier, nonce=nonce, redirect_uri=redirect_uri)
        self.redirect(uri)

    def callback(self, query):
        state = self.state()
        if "error" in query:
            self.page(f"<p id='error'>The portal refused: {html.escape(query['error'])}</p>", status=400)
            return
        if query.get("state") != state.get("oauth_state"):
            self.page("<p id='error'>state does not match</p>", status=400)
            return
        oauth = self.rp.oauth(redirect_uri=state["redirect_uri"])
        try:
            token = oauth.fetch_token(
                self.rp.metadata["token_endpoint"],
                authorization_response=f"{self.rp.base}{self.path}",
                code_verifier=state["verifier"],
            )
            claims, kid = self.rp.verify(token["id_token"], state["nonce"])
        except (JoseError, ValueError, KeyError) as error:
            self.page(
                f"<p id='error'>{html.escape(type(error).__name__)}: {html.escape(str(error))}</p>", 400
            )
            return
        oauth.token = token
        userinfo = oauth.get(self.rp.metadata["userinfo_endpoint"], timeout=TIMEOUT).json()
        state.update(token=token, claims=claims, kid=kid, userinfo=userinfo, refreshed="")
        self.redirect("/")

    def refresh(self, query):
        state = self.state()
        if "token" not in state:
            self.redirect("/")
            return
        oauth = self.rp.oauth()
        try:
            state["token"] = oauth.refresh_token(
                self.rp.metadata["token_endpoint"], refresh_token=state["token"]["refresh_token"]
            )
        except Exception as error:  # the page shows whatever the provider answered
            self.page(f"<p id='error'>Refresh refused: {html.escape(str(error))}</p>", status=400)
            return
        state["refreshed"] = "The access token was refreshed."
        self.redirect("/")

    def logout(self, query):
        state = self.state()
        id_token = state.get("token", {}).get("id_token")
        state.clear()
        if not id_token:
            self.redirect("/")
            return
        params = {"id_token_hint": id_token, "post_logout_redirect_uri": f"{self.rp.base}/"}
        self.redirect(f"{self.rp.metadata['end_session_endpoint']}?{urlencode(params)}")

    # ---------------------------------------------------------------- plumbing

    def state(self):
        cookie = SimpleCookie(self.headers.get("Cookie", ""))
        key = cookie["rp_session"].value if "rp_session" in cookie else None
        if key not in self.rp.sessions:
            key = secrets.token_urlsafe(16)
            self.rp.sessions[key] = {}
        self._session_key = key
        return self.rp.sessions[key]

    def _cookie(self):
        key = getattr(self, "_session_key", None)
        if key:
            self.send_header("Set-Cookie", f"rp_session={key}; HttpOnly; SameSite=Lax; Path=/")

    def redirect(self, location):
        self.send_response(302)
        self.send_header("Location", location)
        self._cookie()
        self.end_headers()

    def page(self, body, status=200):
        content = (
            "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Demo school service</title>"
            f"</head><body><main><h1>Demo school service</h1>{body}</main></body></html>"
        ).encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Length", str(len(content)))
        self._cookie()
        self.end_headers()
        self.wfile.write(content)

    def log_message(self, format, *args):
        pass  # query strings hold codes: no access log


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issuer", default="http://127.0.0.1:8000")
    parser.add_argument("--client-id", default="ump-demo-service")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--scope", default="openid profile email ump")
    args = parser.parse_args(argv)
    Handler.rp = RelyingParty(
        issuer=args.issuer,
        client_id=args.client_id,
        client_secret=os.environ.get("OIDC_RP_CLIENT_SECRET", ""),
        port=args.port,
        scope=args.scope,
    )
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    print(f"Demo school service at http://127.0.0.1:{args.port}/ (issuer {args.issuer})", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
