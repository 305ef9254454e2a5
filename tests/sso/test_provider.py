"""The OpenID Connect provider end to end through the test client: discovery, keys, PKCE, redirect URIs,
ID tokens and their claims, refresh, and what a closed account's tokens can still do (nothing)."""

import base64
import hashlib
import json
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings as django_settings
from django.urls import reverse
from django.utils import timezone
from oauth2_provider.models import get_access_token_model, get_refresh_token_model

from accounts.audit import AuditAction
from accounts.models import Account, AuditEvent, AuditFailureCount, EmailAlias
from managing.services import account_deactivate, account_rename
from sso.claims import ACR_MFA, ACR_PASSWORD, subject_for
from sso.models import Client
from tests.sso.conftest import REDIRECT

pytestmark = pytest.mark.django_db
AccessToken = get_access_token_model()
RefreshToken = get_refresh_token_model()


def _query(response):
    return parse_qs(urlsplit(response["Location"]).query)


class DiscoveryTests:
    def test_it_publishes_the_endpoints_and_what_it_supports(self, client):
        data = client.get("/.well-known/openid-configuration").json()
        issuer = data["issuer"]
        assert issuer == "http://testserver"
        assert data["authorization_endpoint"] == f"{issuer}{reverse('oauth2_provider:authorize')}"
        assert data["token_endpoint"] == f"{issuer}{reverse('oauth2_provider:token')}"
        assert data["userinfo_endpoint"] == f"{issuer}{reverse('oauth2_provider:user-info')}"
        assert data["jwks_uri"] == f"{issuer}/.well-known/jwks.json"
        assert data["end_session_endpoint"] == f"{issuer}{reverse('oauth2_provider:rp-initiated-logout')}"
        assert data["response_types_supported"] == ["code"]
        assert data["code_challenge_methods_supported"] == ["S256"]
        assert data["id_token_signing_alg_values_supported"] == ["RS256"]
        assert data["subject_types_supported"] == ["public"]
        assert set(data["scopes_supported"]) == {"openid", "profile", "email", "ump"}
        assert {"sub", "email", "ump_organisation_code", "amr", "acr"} <= set(data["claims_supported"])
        assert data["acr_values_supported"] == [ACR_PASSWORD, ACR_MFA]

    def test_the_jwks_publishes_every_key_by_kid_and_no_private_part(self, client, settings):
        old = django_settings.OAUTH2_PROVIDER["OIDC_RSA_PRIVATE_KEY"]
        new = _new_key()
        settings.OAUTH2_PROVIDER = {
            **settings.OAUTH2_PROVIDER,
            "OIDC_RSA_PRIVATE_KEY": new,
            "OIDC_RSA_PRIVATE_KEYS_INACTIVE": [old],
        }
        keys = client.get("/.well-known/jwks.json").json()["keys"]
        assert len(keys) == 2
        assert len({key["kid"] for key in keys}) == 2
        assert all(key["kty"] == "RSA" and key["alg"] == "RS256" and "d" not in key for key in keys)


class PkceAndRedirectTests:
    def test_a_request_without_pkce_is_refused(self, flow, login, teacher, moodle):
        login(teacher)
        response, _verifier = flow.authorize(moodle, pkce=False)
        assert response.status_code == 302
        assert _query(response)["error"] == ["invalid_request"]
        assert "code" not in _query(response)

    def test_the_plain_method_is_refused(self, flow, login, teacher, moodle):
        login(teacher)
        response, _verifier = flow.authorize(moodle, method="plain")
        if response.status_code == 200:  # django-oauth-toolkit refuses it as the code would be made
            response = flow.consent(response)
        assert _query(response)["error"] == ["invalid_request"]
        assert "code" not in _query(response)

    def test_a_code_without_its_verifier_gets_no_token(self, flow, login, teacher, moodle):
        login(teacher)
        code, _verifier = flow.code(moodle)
        response = flow.exchange(moodle, code, None)
        assert response.status_code == 400
        assert response.json()["error"] == "invalid_request"

    def test_a_wrong_verifier_gets_no_token(self, flow, login, teacher, moodle):
        login(teacher)
        code, _verifier = flow.code(moodle)
        response = flow.exchange(moodle, code, "x" * 50)
        assert response.status_code == 400
        assert response.json()["error"] == "invalid_grant"

    @pytest.mark.parametrize(
        "uri",
        [
            "https://evil.example.org/auth/oidc/",
            "https://moodle.example.org/auth/oidc",  # no trailing slash
            "https://moodle.example.org/auth/oidc/?x=1",
            "https://moodle.example.org:8443/auth/oidc/",
            "http://moodle.example.org/auth/oidc/",
        ],
    )
    def test_only_the_exact_redirect_uri_is_accepted(self, flow, login, teacher, moodle, uri):
        login(teacher)
        response, _verifier = flow.authorize(moodle, redirect_uri=uri)
        assert response.status_code == 400  # shown, never redirected to the unregistered address
        assert "Location" not in response
        assert AuditEvent.objects.filter(
            action=AuditAction.SSO_REFUSED, targets__account_id=teacher.pk
        ).exists()

    def test_the_code_is_bound_to_its_redirect_uri(self, flow, login, teacher, moodle):
        login(teacher)
        code, verifier = flow.code(moodle)
        response = flow.exchange(moodle, code, verifier, redirect_uri="https://evil.example.org/auth/oidc/")
        assert response.status_code == 400

    def test_a_code_works_once(self, flow, login, teacher, moodle):
        login(teacher)
        code, verifier = flow.code(moodle)
        assert flow.exchange(moodle, code, verifier).status_code == 200
        assert flow.exchange(moodle, code, verifier).status_code == 400

    @pytest.mark.parametrize("name", ["token", "revoke-token", "introspect", "user-info"])
    def test_the_client_endpoints_ask_for_no_csrf_token(self, name, moodle):
        from django.test import Client as HttpClient

        response = HttpClient(enforce_csrf_checks=True).post(reverse(f"oauth2_provider:{name}"), {})
        assert response.status_code != 403 or b"CSRF" not in response.content

    def test_a_wrong_secret_is_refused_and_counted(self, flow, login, teacher, moodle):
        login(teacher)
        code, verifier = flow.code(moodle)
        moodle.secret = "wrong"
        response = flow.exchange(moodle, code, verifier)
        assert response.status_code == 401
        assert AuditFailureCount.objects.filter(action=AuditAction.SSO_DENIED).exists()


class SignInTests:
    def test_an_anonymous_person_is_sent_to_the_portals_sign_in_and_back(self, flow, moodle):
        response, _verifier = flow.authorize(moodle)
        assert response.status_code == 302
        target = urlsplit(response["Location"])
        assert target.path == reverse("accounts:login")
        assert parse_qs(target.query)["next"][0].startswith(reverse("oauth2_provider:authorize"))

    def test_the_consent_page_is_shown_in_english_and_welsh(self, flow, login, teacher, moodle):
        login(teacher)
        response, _verifier = flow.authorize(moodle, scope="openid email")
        assert response.status_code == 200
        assert "Sign in to Moodle?" in response.text
        assert "Your email address" in response.text
        assert response["Cache-Control"].startswith("no-store")
        flow.http.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "cy"
        response, _verifier = flow.authorize(moodle, scope="openid email")
        assert "Mewngofnodi i Moodle?" in response.text
        assert "Eich cyfeiriad e-bost" in response.text

    def test_the_consent_forms_answer_reaches_the_client_through_a_page_of_its_own(
        self, flow, login, teacher, moodle
    ):
        login(teacher)
        response, _verifier = flow.authorize(moodle)
        assert "form-action 'self';" in response["Content-Security-Policy"]  # no wider than elsewhere
        flow.http.defaults["HTTP_SEC_FETCH_SITE"] = "same-origin"
        response = flow.consent(response)
        assert response.status_code == 200
        assert response.context["url"].startswith(f"{REDIRECT}?code=")

    def test_reached_through_the_portals_own_forms_the_hand_over_is_a_page_of_its_own(
        self, flow, login, teacher, trusted_app
    ):
        login(teacher)
        flow.http.defaults["HTTP_SEC_FETCH_SITE"] = "same-origin"  # after the sign-in form's redirect
        response, _verifier = flow.authorize(trusted_app, scope="openid profile")
        assert response.status_code == 200
        assert response.templates[0].name == "sso/continue.html"
        url = response.context["url"]
        assert url.startswith("https://classroom.example.org/cb?") and "code=" in url
        assert f'content="0;url={url.replace("&", "&amp;")}"' in response.text
        flow.http.defaults["HTTP_SEC_FETCH_SITE"] = "cross-site"  # straight from the client: a redirect
        response, _verifier = flow.authorize(trusted_app, scope="openid profile")
        assert response.status_code == 302

    def test_declining_sends_access_denied_and_is_audited(self, flow, login, teacher, moodle):
        login(teacher)
        response, _verifier = flow.authorize(moodle)
        response = flow.consent(response, allow=False)
        assert _query(response)["error"] == ["access_denied"]
        event = AuditEvent.objects.get(action=AuditAction.SSO_REFUSED)
        assert event.details["reason"] == "access_denied"

    def test_a_trusted_client_skips_the_consent_page(self, flow, login, teacher, trusted_app):
        login(teacher)
        response, _verifier = flow.authorize(trusted_app, scope="openid profile")
        assert response.status_code == 302
        assert "code" in _query(response)

    def test_a_public_client_signs_in_with_pkce_alone(self, flow, login, teacher, trusted_app):
        login(teacher)
        tokens = flow.tokens(trusted_app, scope="openid profile")
        claims = flow.id_claims(tokens["id_token"])
        assert claims["aud"] == trusted_app.client.client_id
        assert claims["name"] == teacher.display_name

    def test_a_client_gets_only_the_scopes_it_was_registered_for(self, flow, login, teacher, trusted_app):
        login(teacher)
        response, _verifier = flow.authorize(trusted_app, scope="openid profile email")
        assert _query(response)["error"] == ["invalid_scope"]

    def test_a_disabled_client_can_start_no_sign_in(self, flow, login, teacher, moodle):
        Client.objects.filter(pk=moodle.client.pk).update(disabled_at=timezone.now())
        login(teacher)
        response, _verifier = flow.authorize(moodle)
        assert response.status_code in (400, 401)
        assert "Location" not in response

    def test_an_expired_account_cannot_sign_in_through_a_client(self, flow, login, governor, moodle):
        Account.objects.filter(pk=governor.pk).update(expires_on=timezone.localdate() - timedelta(days=1))
        login(governor)
        response, _verifier = flow.authorize(moodle)
        assert response.status_code == 403
        assert AuditEvent.objects.get(action=AuditAction.SSO_REFUSED).details["reason"] == "account_closed"


class IdTokenTests:
    def test_the_id_token_is_signed_rs256_by_a_published_key(self, flow, login, teacher, moodle):
        login(teacher)
        tokens = flow.tokens(moodle)
        header = json.loads(base64.urlsafe_b64decode(tokens["id_token"].split(".")[0] + "=="))
        assert header["alg"] == "RS256"
        assert header["kid"] in {key.get("kid") for key in flow.jwks()}
        claims = flow.id_claims(tokens["id_token"])  # raises if the signature does not verify
        assert claims["iss"] == "http://testserver"
        assert claims["aud"] == moodle.client.client_id
        assert claims["nonce"] == "n0nce"
        assert claims["exp"] - claims["iat"] in (300, 301)  # iat and exp are taken a moment apart
        assert tokens["expires_in"] == 300
        assert tokens["token_type"] == "Bearer"

    def test_a_token_signed_by_the_old_key_still_verifies_after_rotation(
        self, flow, login, teacher, moodle, settings
    ):
        login(teacher)
        before = flow.tokens(moodle)["id_token"]
        old = settings.OAUTH2_PROVIDER["OIDC_RSA_PRIVATE_KEY"]
        settings.OAUTH2_PROVIDER = {
            **settings.OAUTH2_PROVIDER,
            "OIDC_RSA_PRIVATE_KEY": _new_key(),
            "OIDC_RSA_PRIVATE_KEYS_INACTIVE": [old],
        }
        after = flow.tokens(moodle)["id_token"]
        kid = lambda token: json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))["kid"]  # noqa: E731
        assert kid(before) != kid(after)
        assert flow.id_claims(before)["sub"] == flow.id_claims(after)["sub"]

    def test_claims_follow_the_scopes(self, flow, login, secondary_learner, moodle):
        EmailAlias.objects.create(account=secondary_learner, email="oldname@hwbcymru.net")
        login(secondary_learner)
        only_openid = flow.id_claims(flow.tokens(moodle)["id_token"])
        assert "email" not in only_openid and "name" not in only_openid and "ump_kind" not in only_openid
        claims = flow.id_claims(flow.tokens(moodle, scope="openid profile email ump")["id_token"])
        account = secondary_learner
        assert claims["sub"] == subject_for(account)
        assert claims["preferred_username"] == account.username
        assert claims["name"] == account.display_name
        assert claims["given_name"] == "Llŷr"
        assert claims["family_name"] == "O'Brien"
        assert claims["email"] == account.email
        assert claims["ump_previous_emails"] == ["oldname@hwbcymru.net"]
        assert claims["ump_kind"] == "learner"
        assert claims["ump_organisation_code"] == "6814001"
        assert claims["ump_organisation_name"] == "Ysgol Uwchradd Caerdydd"
        assert claims["ump_year_group"] == account.year_group
        assert claims["ump_registration_group"] == account.registration_group
        assert claims["ump_roles"] == []

    def test_userinfo_answers_the_same_claims(self, flow, login, digital_champion, moodle):
        login(digital_champion)
        tokens = flow.tokens(moodle, scope="openid profile ump")
        info = flow.userinfo(tokens["access_token"]).json()
        assert info["sub"] == subject_for(digital_champion)
        assert info["ump_roles"] == [{"role": "digital_champion", "organisation_code": "6814001"}]
        assert "email" not in info

    def test_sub_is_never_the_username_email_or_pk_and_survives_rename_and_transfer(
        self, flow, login, digital_champion, wales, moodle
    ):
        account = digital_champion
        old_username = account.username
        login(account)
        first = flow.id_claims(flow.tokens(moodle)["id_token"])["sub"]
        assert first not in (account.username, account.email, str(account.pk))
        account_rename(
            account=account,
            actor=account,
            legal_forename="Gwenllïan",
            legal_surname="Morgan",
            display_name="",
            new_username=True,
        )
        Account.objects.filter(pk=account.pk).update(organisation=wales.other_school)
        account.refresh_from_db()
        login(account)
        claims = flow.id_claims(flow.tokens(moodle, scope="openid profile")["id_token"])
        assert claims["preferred_username"] == account.username != old_username
        assert account.organisation == wales.other_school
        assert claims["sub"] == first

    def test_amr_and_acr_say_how_the_person_signed_in(self, flow, login, teacher, moodle):
        client = login(teacher)
        claims = flow.id_claims(flow.tokens(moodle)["id_token"])
        assert claims["amr"] == ["pwd"]
        assert claims["acr"] == ACR_PASSWORD
        session = client.session
        session["ump_amr"] = ["pwd", "otp", "mfa"]
        session.save()
        claims = flow.id_claims(flow.tokens(moodle)["id_token"])
        assert claims["amr"] == ["pwd", "otp", "mfa"]
        assert claims["acr"] == ACR_MFA
        assert isinstance(claims["auth_time"], int)


class TokenRulesTests:
    def test_tokens_are_stored_only_as_hashes(self, flow, login, teacher, moodle):
        login(teacher)
        tokens = flow.tokens(moodle)
        access = AccessToken.objects.get()
        assert access.token == ""
        assert access.token_checksum == hashlib.sha256(tokens["access_token"].encode()).hexdigest()
        refresh = RefreshToken.objects.get()
        assert refresh.token == ""
        assert refresh.token_checksum == hashlib.sha256(tokens["refresh_token"].encode()).hexdigest()
        client = Client.objects.get(pk=moodle.client.pk)
        assert client.client_secret != moodle.secret
        assert client.client_secret.startswith("argon2")

    def test_a_refresh_gives_new_tokens_and_the_old_refresh_token_dies(self, flow, login, teacher, moodle):
        login(teacher)
        tokens = flow.tokens(moodle)
        renewed = flow.refresh(moodle, tokens["refresh_token"])
        assert renewed.status_code == 200
        assert renewed.json()["access_token"] != tokens["access_token"]
        assert "id_token" not in renewed.json()  # the sign-in it would describe happened once
        assert flow.refresh(moodle, tokens["refresh_token"]).status_code == 400

    def test_every_issue_is_audited_without_the_token(self, flow, login, teacher, moodle):
        login(teacher)
        tokens = flow.tokens(moodle, scope="openid email")
        flow.refresh(moodle, tokens["refresh_token"])
        events = AuditEvent.objects.filter(action=AuditAction.SSO_TOKEN_ISSUE).order_by("id")
        assert [e.details["grant"] for e in events] == ["authorization_code", "refresh_token"]
        assert events[0].actor_id == teacher.pk
        assert events[0].details["client"] == "Moodle"
        assert events[0].details["scopes"] == ["openid", "email"]
        assert events[0].details["amr"] == ["pwd"]
        dumped = json.dumps([e.details for e in AuditEvent.objects.all()])
        for secret in (tokens["access_token"], tokens["refresh_token"], tokens["id_token"], moodle.secret):
            assert secret not in dumped

    @pytest.mark.parametrize(
        "use",
        [
            lambda flow, app, tokens: flow.userinfo(tokens["access_token"]).status_code == 401,
            lambda flow, app, tokens: flow.refresh(app, tokens["refresh_token"]).status_code == 400,
            lambda flow, app, tokens: _introspect(flow, app, tokens["access_token"]) == {"active": False},
        ],
        ids=["userinfo", "refresh", "introspection"],
    )
    def test_a_closed_account_is_refused_at_every_use_of_its_tokens(self, flow, login, governor, moodle, use):
        login(governor)
        tokens = flow.tokens(moodle, scope="openid profile")
        # as the provisioning sync deactivates leavers: one UPDATE, no sign-out hook runs
        Account.objects.filter(pk=governor.pk).update(status=Account.Status.DEACTIVATED)
        assert use(flow, moodle, tokens)
        refused = AuditEvent.objects.get(action=AuditAction.SSO_REFUSED, targets__account_id=governor.pk)
        assert refused.details["reason"] == "account_closed"
        assert not AccessToken.objects.filter(user=governor).exists()  # the refusal revoked them all
        assert not RefreshToken.objects.filter(user=governor, revoked__isnull=True).exists()

    def test_deactivation_revokes_the_tokens_before_any_use(self, flow, login, governor, teacher, moodle):
        login(teacher)
        flow.tokens(moodle)
        login(governor)
        flow.tokens(moodle)
        account_deactivate(account=governor, actor=None)
        assert not AccessToken.objects.filter(user=governor).exists()
        assert not RefreshToken.objects.filter(user=governor, revoked__isnull=True).exists()
        assert AccessToken.objects.filter(user=teacher).exists()  # nobody else's

    def test_the_expiry_sweep_revokes_the_tokens(self, flow, login, governor, moodle):
        from accounts.lifecycle import lifecycle_sweep

        login(governor)
        flow.tokens(moodle)
        Account.objects.filter(pk=governor.pk).update(expires_on=timezone.localdate() - timedelta(days=1))
        lifecycle_sweep()
        assert not AccessToken.objects.filter(user=governor).exists()

    def test_an_account_past_its_expiry_date_loses_its_tokens(self, flow, login, governor, moodle):
        login(governor)
        tokens = flow.tokens(moodle)
        Account.objects.filter(pk=governor.pk).update(expires_on=timezone.localdate() - timedelta(days=1))
        assert flow.refresh(moodle, tokens["refresh_token"]).status_code == 400

    def test_a_live_token_introspects_as_active(self, flow, login, teacher, moodle):
        login(teacher)
        tokens = flow.tokens(moodle)
        data = _introspect(flow, moodle, tokens["access_token"])
        assert data["active"] is True
        assert data["client_id"] == moodle.client.client_id

    def test_disabling_a_client_revokes_its_tokens(self, flow, login, teacher, moodle):
        from sso.services import client_disable

        login(teacher)
        tokens = flow.tokens(moodle)
        client_disable(client=moodle.client)
        assert flow.userinfo(tokens["access_token"]).status_code == 401
        assert flow.refresh(moodle, tokens["refresh_token"]).status_code in (400, 401)

    def test_userinfo_with_a_made_up_token_is_counted(self, flow):
        assert flow.userinfo("made-up").status_code == 401
        assert AuditFailureCount.objects.filter(action=AuditAction.SSO_DENIED).exists()

    @pytest.mark.parametrize("name", ["introspect", "revoke-token"])
    def test_a_client_without_its_credentials_is_refused_and_counted(self, client, moodle, name):
        response = client.post(
            reverse(f"oauth2_provider:{name}"), {"token": "x", "client_id": moodle.client.client_id}
        )
        assert response.status_code in (401, 403)
        assert AuditFailureCount.objects.get(action=AuditAction.SSO_DENIED).count == 1


class LogoutTests:
    def test_rp_initiated_logout_with_a_valid_hint_signs_the_person_out(self, flow, login, teacher, moodle):
        client = login(teacher)
        tokens = flow.tokens(moodle)
        response = client.get(
            reverse("oauth2_provider:rp-initiated-logout"),
            {
                "id_token_hint": tokens["id_token"],
                "post_logout_redirect_uri": "https://moodle.example.org/",
                "state": "bye",
            },
        )
        assert response.status_code == 302
        assert response["Location"] == "https://moodle.example.org/?state=bye"
        assert "_auth_user_id" not in client.session

    def test_a_hint_signed_before_a_key_rotation_still_logs_out(self, flow, login, teacher, moodle, settings):
        client = login(teacher)
        hint = flow.tokens(moodle)["id_token"]
        settings.OAUTH2_PROVIDER = {
            **settings.OAUTH2_PROVIDER,
            "OIDC_RSA_PRIVATE_KEY": _new_key(),
            "OIDC_RSA_PRIVATE_KEYS_INACTIVE": [settings.OAUTH2_PROVIDER["OIDC_RSA_PRIVATE_KEY"]],
        }
        response = client.get(
            reverse("oauth2_provider:rp-initiated-logout"),
            {"id_token_hint": hint, "post_logout_redirect_uri": "https://moodle.example.org/"},
        )
        assert response.status_code == 302
        assert "_auth_user_id" not in client.session

    def test_an_unregistered_post_logout_uri_is_refused(self, flow, login, teacher, moodle):
        client = login(teacher)
        tokens = flow.tokens(moodle)
        response = client.get(
            reverse("oauth2_provider:rp-initiated-logout"),
            {"id_token_hint": tokens["id_token"], "post_logout_redirect_uri": "https://evil.example.org/"},
        )
        assert response.status_code == 400
        assert "_auth_user_id" in client.session


def _introspect(flow, app, token):
    auth = base64.b64encode(f"{app.client.client_id}:{app.secret}".encode()).decode()
    response = flow.http.post(
        reverse("oauth2_provider:introspect"), {"token": token}, headers={"authorization": f"Basic {auth}"}
    )
    assert response.status_code == 200, response.content
    return response.json()


def _new_key():
    return (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        .private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        .decode()
    )


def test_the_redirect_constant_is_the_registered_one(moodle):
    assert moodle.client.redirect_uris == REDIRECT
