"""Multi-factor sign-in in real Chromium: set-up, the second step away from school, recovery codes, Reset MFA,
learners never asked; in English and Welsh."""

import time

import pyotp
import pytest
from django.urls import reverse
from django.utils import translation
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.models import WebAuthnCredential

from accounts.models import AuditEvent
from mfa.services import recovery_codes_make
from tests.browser.test_accessibility import serious_violations
from tests.factories import DEMO_PASSWORD

HOME = reverse("accounts:home")
VERIFY = reverse("mfa:verify")
AWAY = ["192.0.2.0/24"]  # the school's network no longer holds this machine: as if signing in from home


def path_of(page):
    return page.url.split(page.url.split("/")[2], 1)[1].split("?")[0]


def text(message, language):
    with translation.override(language):
        return str(translation.gettext(message))


def leave_school(school):
    school.trusted_networks = AWAY
    school.save(update_fields=["trusted_networks"])


def log_out(page):
    with page.expect_navigation():
        page.locator(".whoami form button").click()


def submit(page):
    with page.expect_navigation():
        page.locator("main form button[type=submit]").first.click()


@pytest.mark.browser
@pytest.mark.parametrize("language", ["en", "cy"])
def test_an_authenticator_set_up_at_school_is_asked_for_at_home(new_page, sign_in, teacher, wales, language):
    page = new_page(locale="cy" if language == "cy" else "en-GB")
    sign_in(page, teacher, second_step=False)
    assert path_of(page) == HOME  # at school: the password alone
    page.goto(reverse("accounts:profile"))
    page.get_by_role(
        "link", name=text("Multi-factor sign-in, authenticator apps and recovery codes", language)
    ).click()
    page.get_by_role("link", name=text("Add an authenticator app", language)).click()
    page.locator("input[name=name]").fill("Ffôn")
    submit(page)
    key = page.locator("#totp-key").inner_text().replace(" ", "")
    assert page.locator("img.qr").get_attribute("src").startswith("data:image/svg+xml")
    app = pyotp.TOTP(key)
    page.locator("input[name=code]").fill(app.now())
    submit(page)
    assert page.get_by_role("heading", name=text("Make new recovery codes", language)).is_visible()
    submit(page)
    assert page.locator("#recovery-codes li").count() == 10

    leave_school(wales.secondary)
    log_out(page)
    sign_in(page, teacher, second_step=False)
    assert path_of(page) == VERIFY
    assert page.get_by_role("heading", name=text("Check it is you", language)).is_visible()
    assert not serious_violations(page)
    page.locator("input[name=code]").fill(app.at(time.time() + 30))  # the set-up's code is used: the next one
    submit(page)
    assert path_of(page) == HOME
    assert page.locator(".whoami").is_visible()


@pytest.mark.browser
def test_a_recovery_code_works_once_and_is_refused_twice(page, sign_in, teacher, wales):
    TOTPDevice.objects.create(user=teacher, name="phone", confirmed=True)
    code = recovery_codes_make(account=teacher)[0]
    leave_school(wales.secondary)
    sign_in(page, teacher, second_step=False)
    page.locator("input[name=code]").fill(code)
    submit(page)
    assert path_of(page) == HOME
    log_out(page)
    sign_in(page, teacher, second_step=False)
    for _attempt in range(2):
        page.locator("input[name=code]").fill(code)
        submit(page)
        assert path_of(page) == VERIFY
        assert page.locator(".errorlist").inner_text() == "That code is not right. Check it and try again."


@pytest.mark.browser
def test_a_digital_champion_resets_a_teachers_mfa(page, sign_in, digital_champion, teacher):
    TOTPDevice.objects.create(user=teacher, name="phone", confirmed=True)
    recovery_codes_make(account=teacher)
    sign_in(page, digital_champion)
    page.goto(reverse("accounts:account_detail", args=[teacher.pk]))
    page.locator("summary", has_text="Manage User").click()  # View Details > Manage User > Reset MFA
    page.get_by_role("link", name="Reset MFA").click()
    assert page.get_by_role("heading", name="Reset MFA").is_visible()
    assert TOTPDevice.objects.filter(user=teacher).exists()  # nothing yet: a confirmation page
    assert not serious_violations(page)
    submit(page)
    assert "MFA has been reset" in page.locator(".govuk-notification-banner").first.inner_text()
    assert not TOTPDevice.objects.filter(user=teacher).exists()
    assert not teacher.staticdevice_set.exists()


@pytest.mark.browser
def test_away_from_school_without_a_factor_the_page_says_what_to_do(page, sign_in, teacher, wales):
    leave_school(wales.secondary)
    page.goto(reverse("accounts:login"))
    page.locator("input[name=username]").fill(teacher.username)
    page.locator("input[name=password]").fill(DEMO_PASSWORD)
    submit(page)  # the right password: the page answers, but nobody is signed in
    assert page.get_by_role("heading", name="Set up a second way to sign in").is_visible()
    assert "ask your Digital Champion for a set-up code" in page.content()
    assert not serious_violations(page)
    page.goto(HOME)
    assert path_of(page) == reverse("accounts:login")


@pytest.mark.browser
def test_a_learner_is_never_asked(page, sign_in, secondary_learner, wales):
    wales.secondary.trusted_networks = []
    wales.secondary.save(update_fields=["trusted_networks"])
    sign_in(page, secondary_learner, second_step=False)
    assert path_of(page) == HOME


@pytest.mark.browser
def test_a_passkey_is_registered_and_used_through_chromiums_virtual_authenticator(
    page, sign_in, teacher, wales
):
    devtools = page.context.new_cdp_session(page)
    devtools.send("WebAuthn.enable")
    devtools.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    sign_in(page, teacher, second_step=False)  # at school
    page.goto(reverse("mfa:security"))
    page.locator("#passkey-register-button").click()
    page.locator("table td").first.wait_for()  # the page reloads with the new passkey listed
    assert WebAuthnCredential.objects.filter(user=teacher, confirmed=True).count() == 1
    assert AuditEvent.objects.filter(action="mfa.setup", details__factor="passkey").exists()

    leave_school(wales.secondary)
    log_out(page)
    sign_in(page, teacher, second_step=False)
    assert path_of(page) == VERIFY
    with page.expect_navigation():
        page.locator("#passkey-verification-button").click()
    assert path_of(page) == HOME
    assert AuditEvent.objects.get(action="mfa.use").details == {"factor": "passkey"}
