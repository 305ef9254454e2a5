"""A real relying party signs people in through UMP, in real Chromium.

The relying party is scripts/oidc_demo_rp.py (Authlib's OAuth client), started on its own port: it reads the
portal's discovery document, sends the browser to sign in with PKCE and a nonce, checks the ID token's
signature against the JWKS and its iss, aud, exp and nonce, calls userinfo, refreshes and logs out.
"""

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

from accounts.models import Account
from managing.services import account_deactivate, account_rename
from sso.claims import ACR_PASSWORD, subject_for
from sso.services import client_register
from tests.factories import DEMO_PASSWORD

ROOT = Path(__file__).resolve().parents[2]


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def relying_party(live_server):
    """The demo relying party, registered as a confidential client (consent shown), on a port of its own."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    registered = client_register(
        name="Moodle Ysgol",
        redirect_uris=[f"{base}/callback"],
        post_logout_redirect_uris=[f"{base}/"],
        scopes=["openid", "profile", "email", "ump"],
    )
    process = subprocess.Popen(
        [sys.executable, "scripts/oidc_demo_rp.py", "--issuer", live_server.url, "--port", str(port),
         "--client-id", registered.client.client_id],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "OIDC_RP_CLIENT_SECRET": registered.secret},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        line = process.stdout.readline()  # printed once it listens: the real condition, no sleep
        if "Demo school service" not in line:
            pytest.fail(f"the relying party did not start: {line}{process.stderr.read()}", pytrace=False)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


def _sign_in_at_ump(page, username, password=DEMO_PASSWORD):
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def _claims(page):
    page.locator("#claims").wait_for()
    return json.loads(page.locator("#claims").inner_text()), json.loads(
        page.locator("#userinfo").inner_text()
    )


@pytest.mark.browser
class RelyingPartyJourneyTests:
    def test_a_learner_signs_in_and_lands_back_with_the_right_claims(
        self, page, live_server, relying_party, secondary_learner
    ):
        page.goto(f"{relying_party}/")
        page.get_by_role("link", name="Sign in with UMP").click()
        page.wait_for_url(f"{live_server.url}{reverse('accounts:login')}?**")
        _sign_in_at_ump(page, secondary_learner.username)
        page.get_by_role("heading", name="Sign in to Moodle Ysgol?").wait_for()
        page.get_by_role("button", name="Allow", exact=True).click()
        page.wait_for_url(f"{relying_party}/")
        claims, userinfo = _claims(page)
        assert claims["sub"] == subject_for(secondary_learner) == userinfo["sub"]
        assert claims["preferred_username"] == secondary_learner.username
        assert claims["email"] == secondary_learner.email
        assert claims["ump_kind"] == "learner"
        assert claims["ump_organisation_code"] == secondary_learner.organisation.code
        assert claims["amr"] == ["pwd"] and claims["acr"] == ACR_PASSWORD
        # the relying party verified the signature with a key the portal publishes
        kids = {
            key["kid"] for key in page.request.get(f"{live_server.url}/.well-known/jwks.json").json()["keys"]
        }
        assert page.locator("#kid").inner_text() in kids

    def test_without_pkce_or_with_another_redirect_uri_the_portal_refuses(
        self, page, live_server, relying_party, teacher
    ):
        page.goto(f"{relying_party}/login?pkce=0")
        _sign_in_at_ump(page, teacher.username)
        page.wait_for_url(f"{relying_party}/callback?**")
        assert "invalid_request" in page.locator("#error").inner_text()
        assert "code=" not in page.url

        page.goto(f"{relying_party}/login?redirect_uri={relying_party}/elsewhere")
        page.get_by_role("heading", name="This service cannot sign you in").wait_for()
        assert page.url.startswith(live_server.url)  # shown by the portal, never sent to the unregistered URI

    def test_a_rename_keeps_sub_and_deactivation_makes_the_refresh_fail(
        self, new_page, live_server, relying_party, governor
    ):
        page = new_page()
        page.goto(f"{relying_party}/login")
        _sign_in_at_ump(page, governor.username)
        page.get_by_role("button", name="Allow", exact=True).click()
        first, _userinfo = _claims(page)

        account_rename(
            account=governor, actor=None, legal_forename="Alun", legal_surname="Morgan", display_name="",
            new_username=True,
        )  # fmt: skip
        governor.refresh_from_db()
        governor.set_password(DEMO_PASSWORD)
        governor.save(update_fields=["password"])
        page = new_page()  # a new browser, signing in afresh with the new username
        page.goto(f"{relying_party}/login")
        _sign_in_at_ump(page, governor.username)  # consent is remembered while the first token lives
        second, _userinfo = _claims(page)
        assert second["preferred_username"] == governor.username != first["preferred_username"]
        assert second["sub"] == first["sub"]

        page.get_by_role("link", name="Refresh the access token").click()
        page.locator("#refreshed").get_by_text("refreshed").wait_for()
        account_deactivate(account=Account.objects.get(pk=governor.pk), actor=None)
        page.get_by_role("link", name="Refresh the access token").click()
        assert "invalid_grant" in page.locator("#error").inner_text()

    def test_log_out_through_the_relying_party_ends_the_portal_session(
        self, page, live_server, relying_party, teacher
    ):
        page.goto(f"{relying_party}/login")
        _sign_in_at_ump(page, teacher.username)
        page.get_by_role("button", name="Allow", exact=True).click()
        _claims(page)
        page.get_by_role("link", name="Log out").click()
        page.wait_for_url(f"{relying_party}/")
        page.goto(f"{live_server.url}{reverse('accounts:home')}")
        assert urlsplit_path(page.url) == reverse("accounts:login")


@pytest.mark.browser
def test_a_trusted_client_signs_in_straight_from_the_sign_in_form(page, live_server, teacher):
    """No consent page: the sign-in form's answer is redirected on to the client in one go."""
    port = _free_port()
    registered = client_register(
        name="Hwb Classroom", redirect_uris=[f"http://127.0.0.1:{port}/callback"], public=True, trusted=True
    )
    received = []
    page.route(
        f"http://127.0.0.1:{port}/**",
        lambda route: (received.append(route.request.url), route.fulfill(body="ok")),
    )
    page.goto(
        f"{live_server.url}{reverse('oauth2_provider:authorize')}?response_type=code&scope=openid"
        f"&client_id={registered.client.client_id}&redirect_uri=http://127.0.0.1:{port}/callback"
        "&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256&state=s"
    )
    _sign_in_at_ump(page, teacher.username)
    page.wait_for_url(f"http://127.0.0.1:{port}/callback?**")
    assert "code=" in received[0]


def urlsplit_path(url):
    from urllib.parse import urlsplit

    return urlsplit(url).path


@pytest.mark.browser
@pytest.mark.parametrize("language", ["en", "cy"])
def test_the_single_sign_on_pages_are_accessible(new_page, sign_in, live_server, national_admin, language):
    from tests.browser.test_accessibility import html_language, serious_violations

    registered = client_register(
        name="Moodle", redirect_uris=["https://moodle.example.org/cb"], scopes=["openid", "ump"]
    )
    page = new_page(locale="cy" if language == "cy" else "en-GB")
    sign_in(page, national_admin)
    authorize = (
        f"{reverse('oauth2_provider:authorize')}?response_type=code&scope=openid+ump&client_id="
        f"{registered.client.client_id}&redirect_uri=https://moodle.example.org/cb"
        "&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256"
    )
    pk = registered.client.pk
    problems = []
    for path in (
        authorize,
        reverse("sso:clients"),
        reverse("sso:client_rotate", args=[pk]),
        reverse("sso:client_disable", args=[pk]),
    ):
        page.goto(path)
        assert html_language(page) == language, path
        problems += [f"{path}: {problem}" for problem in serious_violations(page)]
    assert not problems, "\n".join(problems)
