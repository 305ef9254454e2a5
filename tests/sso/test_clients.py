"""Registering and looking after clients: the oidc_client command, the Connected services page, and the
settings that refuse to start without a signing key."""

import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth.hashers import check_password
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.urls import reverse

from accounts.audit import AuditAction
from accounts.models import AuditEvent
from sso.models import Client
from sso.services import client_register

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def _run(*args):
    out, err = StringIO(), StringIO()
    call_command("oidc_client", *args, stdout=out, stderr=err)
    return dict(line.split("=", 1) for line in out.getvalue().split() if "=" in line), out.getvalue()


class CommandTests:
    def test_add_prints_the_secret_once_and_keeps_only_its_hash(self):
        printed, _out = _run(
            "add",
            "Nextcloud",
            "--redirect-uri",
            "https://cloud.example.org/apps/oidc/redirect",
            "--scopes",
            "profile",
            "email",
        )
        client = Client.objects.get(client_id=printed["client_id"])
        assert client.name == "Nextcloud"
        assert client.client_type == Client.CLIENT_CONFIDENTIAL
        assert client.allowed_scopes == "openid profile email"
        assert client.client_secret != printed["client_secret"]
        assert check_password(printed["client_secret"], client.client_secret)
        event = AuditEvent.objects.get(action=AuditAction.SSO_CLIENT_ADD)
        assert printed["client_secret"] not in str(event.details)

    def test_a_public_trusted_client_has_no_secret(self):
        printed, _out = _run(
            "add", "App", "--redirect-uri", "http://127.0.0.1:9000/cb", "--public", "--trusted"
        )
        client = Client.objects.get(client_id=printed["client_id"])
        assert "client_secret" not in printed
        assert client.is_public and client.skip_authorization and client.client_secret == ""

    @pytest.mark.parametrize(
        "uri",
        ["http://moodle.example.org/cb", "https://moodle.example.org/cb#x", "https://a@b.example.org/", "cb"],
    )
    def test_it_refuses_an_unsafe_redirect_uri(self, uri):
        with pytest.raises(CommandError):
            _run("add", "Bad", "--redirect-uri", uri)
        assert not Client.objects.exists()

    def test_it_refuses_an_unknown_scope(self):
        with pytest.raises(CommandError, match="Unknown scopes"):
            _run("add", "Bad", "--redirect-uri", "https://x.example.org/cb", "--scopes", "admin")

    def test_rotate_replaces_the_secret_and_list_shows_the_state(self):
        printed, _out = _run("add", "Moodle", "--redirect-uri", "https://m.example.org/cb")
        rotated, _out = _run("rotate", printed["client_id"])
        client = Client.objects.get(client_id=printed["client_id"])
        assert check_password(rotated["client_secret"], client.client_secret)
        assert not check_password(printed["client_secret"], client.client_secret)
        _printed, listing = _run("list")
        assert printed["client_id"] in listing and "active" in listing

    def test_disable_with_dry_run_changes_nothing_then_disables(self):
        printed, _out = _run("add", "Moodle", "--redirect-uri", "https://m.example.org/cb")
        _run("disable", printed["client_id"], "--dry-run")
        assert Client.objects.get().disabled_at is None
        _run("disable", printed["client_id"])
        assert Client.objects.get().disabled_at is not None
        with pytest.raises(CommandError):
            _run("rotate", printed["client_id"])


@pytest.fixture
def registered(db):
    return client_register(name="Moodle", redirect_uris=["https://m.example.org/cb"])


class PageTests:
    def test_national_admins_see_every_client(self, login, national_admin, registered):
        response = login(national_admin).get(reverse("sso:clients"))
        assert response.status_code == 200
        assert registered.client.client_id in response.text
        assert registered.secret not in response.text
        assert 'href="/connected-services/"' in response.text  # in the navigation

    def test_an_la_admin_is_refused_and_not_offered_the_page(self, login, la_admin, registered):
        client = login(la_admin)
        assert client.get(reverse("sso:clients")).status_code == 403
        assert "/connected-services/" not in client.get(reverse("accounts:home")).text

    def test_rotating_shows_the_new_secret_once_and_never_stores_the_page(
        self, login, national_admin, registered
    ):
        client = login(national_admin)
        response = client.post(reverse("sso:client_rotate", args=[registered.client.pk]))
        assert response.status_code == 200
        assert response["Cache-Control"].startswith("no-store")
        secret = response.context["secret"]
        stored = Client.objects.get(pk=registered.client.pk).client_secret
        assert check_password(secret, stored) and not check_password(registered.secret, stored)
        assert secret not in client.get(reverse("sso:clients")).text
        event = AuditEvent.objects.get(action=AuditAction.SSO_CLIENT_ROTATE)
        assert event.actor_id == national_admin.pk

    def test_disabling_asks_then_disables(self, login, national_admin, registered):
        client = login(national_admin)
        assert client.get(reverse("sso:client_disable", args=[registered.client.pk])).status_code == 200
        assert Client.objects.get().disabled_at is None
        response = client.post(reverse("sso:client_disable", args=[registered.client.pk]))
        assert response.status_code == 302
        assert Client.objects.get().disabled_at is not None
        assert AuditEvent.objects.filter(
            action=AuditAction.SSO_CLIENT_DISABLE, actor_id=national_admin.pk
        ).exists()

    def test_the_page_is_in_welsh_too(self, login, national_admin, registered, settings):
        client = login(national_admin)
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "cy"
        assert "Gwasanaethau cysylltiedig" in client.get(reverse("sso:clients")).text


def test_the_service_refuses_an_empty_name():
    with pytest.raises(ValidationError):
        client_register(name=" ", redirect_uris=["https://x.example.org/cb"])


class SettingsTests:
    def _start(self, **env):
        base = {k: v for k, v in os.environ.items() if not k.startswith("UMP_OIDC")}
        return subprocess.run(
            [sys.executable, "-c", "import django; django.setup(); print('started')"],
            cwd=ROOT,
            env={**base, "DJANGO_SETTINGS_MODULE": "ump.settings", **env},
            capture_output=True,
            text=True,
            timeout=60,
        )

    def test_the_portal_refuses_to_start_with_oidc_on_and_no_key(self):
        result = self._start(UMP_OIDC_KEYS="")
        assert result.returncode != 0
        assert "ImproperlyConfigured" in result.stderr and "UMP_OIDC_KEYS" in result.stderr

    def test_a_key_that_is_not_a_pem_is_refused(self):
        result = self._start(UMP_OIDC_KEYS="bm90IGEga2V5")
        assert result.returncode != 0 and "UMP_OIDC_KEYS" in result.stderr

    def test_with_oidc_off_it_starts_without_a_key(self):
        result = self._start(UMP_OIDC_KEYS="", UMP_OIDC_ENABLED="false")
        assert result.returncode == 0, result.stderr
        assert "started" in result.stdout


def test_the_demo_client_is_registered_once_and_enabled_again():
    call_command("seed_sso_demo", verbosity=0)
    call_command("seed_sso_demo", verbosity=0)
    client = Client.objects.get()
    assert client.client_id == "ump-demo-service"
    assert client.is_public and not client.skip_authorization
    assert client.redirect_uris == "http://127.0.0.1:8001/callback"
    Client.objects.update(disabled_at="2026-01-01T00:00:00Z")
    out = StringIO()
    call_command("seed_sso_demo", stdout=out)
    assert Client.objects.get().disabled_at is None
    assert "scripts/oidc_demo_rp.py" in out.getvalue()


def test_the_provider_libraries_never_log_below_warning_whatever_log_level_says():
    import logging

    for name in ("oauth2_provider", "oauthlib"):
        assert logging.getLogger(name).getEffectiveLevel() == logging.WARNING, name
