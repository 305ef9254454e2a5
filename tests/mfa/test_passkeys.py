"""Passkeys (django-otp-webauthn) as the second step only; the ceremony itself is proven in Chromium
(tests/browser/test_mfa_journeys.py, with the DevTools virtual authenticator)."""

import json
import re
from pathlib import Path

import django_otp_webauthn
import pytest
from django.test import RequestFactory
from django.urls import reverse
from django.utils import translation
from django_otp_webauthn import exceptions, views
from django_otp_webauthn.models import WebAuthnCredential

from accounts.models import AuditEvent, SigninFailure
from mfa.passkeys import rp_id
from tests.mfa.conftest import AT_HOME, AT_SCHOOL, sign_in

pytestmark = pytest.mark.django_db
BEGIN = reverse("mfa:passkey_sign_in_begin")
COMPLETE = reverse("mfa:passkey_sign_in_complete")


@pytest.fixture
def teacher_key(teacher):
    return WebAuthnCredential.objects.create(
        user=teacher, name="key", confirmed=True, credential_id=b"cred-1", public_key=b"k", sign_count=0
    )


def post_json(client, url, data=None, ip=AT_HOME):
    return client.post(url, json.dumps(data or {}), content_type="application/json", REMOTE_ADDR=ip)


class SignInTests:
    def test_there_is_no_passwordless_sign_in(self, client, teacher_key):
        assert post_json(client, BEGIN).status_code == 403

    def test_after_the_password_the_ceremony_begins_for_that_account_only(self, client, teacher, teacher_key):
        sign_in(client, teacher)
        response = post_json(client, BEGIN)
        assert response.status_code == 200
        assert len(response.json()["allowCredentials"]) == 1
        assert "_auth_user_id" not in client.session

    def test_a_failed_ceremony_counts_like_a_wrong_code(self, client, teacher, teacher_key):
        sign_in(client, teacher)
        post_json(client, BEGIN)
        response = post_json(client, COMPLETE, {"id": "bm9wZQ", "rawId": "bm9wZQ", "type": "public-key"})
        assert response.status_code >= 400
        assert "_auth_user_id" not in client.session
        assert AuditEvent.objects.filter(action="mfa.failure").count() == 1
        assert SigninFailure.objects.filter(client_ip=AT_HOME).exists()

    def test_the_verify_page_offers_a_passkey_only_to_someone_with_one(self, client, teacher, teacher_key):
        sign_in(client, teacher)
        assert "passkey-verification-button" in client.get(reverse("mfa:verify")).content.decode()
        teacher_key.delete()
        assert "passkey-verification-button" not in client.get(reverse("mfa:verify")).content.decode()


class RegistrationTests:
    def test_from_the_school_network_it_begins(self, client, teacher, school_network):
        client.force_login(teacher)
        response = post_json(client, reverse("mfa:passkey_register_begin"), ip=AT_SCHOOL)
        assert response.status_code == 200 and response.json()["rp"]["id"] == "testserver"

    def test_from_home_the_first_is_refused(self, client, teacher, school_network):
        client.force_login(teacher)
        assert post_json(client, reverse("mfa:passkey_register_begin"), ip=AT_HOME).status_code == 403

    def test_learners_have_none(self, client, secondary_learner):
        client.force_login(secondary_learner)
        assert post_json(client, reverse("mfa:passkey_register_begin"), ip="127.0.0.1").status_code == 403


def test_the_relying_party_is_the_host_without_its_port(settings):
    settings.UMP_WEBAUTHN_RP_ID = ""
    assert rp_id(RequestFactory().get("/", HTTP_HOST="localhost:8000")) == "localhost"
    settings.UMP_WEBAUTHN_RP_ID = "ump.example.gov.wales"
    assert rp_id(RequestFactory().get("/", HTTP_HOST="localhost:8000")) == "ump.example.gov.wales"


class WelshTests:
    """django-otp-webauthn ships no Welsh: the portal's catalogues give its messages, server and script."""

    def test_a_refusal_the_script_shows_is_a_sentence_in_the_readers_language(
        self, client, teacher, teacher_key, monkeypatch
    ):
        sign_in(client, teacher)
        monkeypatch.setattr("mfa.passkeys.AxesProxyHandler.is_locked", lambda *args, **kwargs: True)
        client.cookies["django_language"] = "cy"
        response = post_json(client, COMPLETE, {"id": "bm9wZQ", "rawId": "bm9wZQ", "type": "public-key"})
        assert response.status_code == 403
        assert response.json()["detail"].startswith(
            "Bu gormod o ymgeisiau aflwyddiannus i fewngofnodi i'r cyfrif"
        )

    def test_every_refusal_of_the_library_has_welsh(self):
        def refusals(cls):
            for sub in cls.__subclasses__():
                yield sub
                yield from refusals(sub)

        messages = [cls.default_detail for cls in refusals(exceptions.OTPWebAuthnApiError)]
        messages += [exceptions.OTPWebAuthnApiError.default_detail]
        messages += list(views.BeginCredentialRegistrationView.messages.values())
        untranslated = []
        for message in messages:
            with translation.override("en"):
                english = str(message)
            with translation.override("cy"):
                if str(message) == english:
                    untranslated.append(english)
        assert len(messages) >= 12
        assert not untranslated

    def test_every_message_of_the_librarys_scripts_has_welsh(self, client):
        scripts = Path(django_otp_webauthn.__file__).parent / "static" / "django_otp_webauthn"
        msgids = set()
        for script in scripts.glob("*.js"):
            msgids |= {
                json.loads(f'"{m}"')
                for m in re.findall(r'gettext\("((?:[^"\\]|\\.)*)"\)', script.read_text())
            }
        assert len(msgids) >= 20, "the library's scripts were not read"
        client.cookies["django_language"] = "cy"
        page = client.get(reverse("mfa:passkey_jsi18n")).content.decode()
        catalogue = json.loads(re.search(r"const newcatalog = (\{.*?\});", page, re.S).group(1))
        assert not sorted(m for m in msgids if not catalogue.get(m) or catalogue[m] == m)
        assert catalogue["Verify with Passkey"] == "Gwirio ag allwedd mynediad"
