"""The second step of signing in: who is asked, when, and what passes it."""

import pytest
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import Account, AuditEvent
from mfa.services import recovery_codes_make
from tests.mfa.conftest import AT_HOME, AT_SCHOOL, code_of, second_step, sign_in

pytestmark = pytest.mark.django_db
HOME = reverse("accounts:home")
VERIFY = reverse("mfa:verify")


def signed_in_as(client):
    return client.session.get("_auth_user_id")


class WhoIsAskedTests:
    def test_a_learner_is_never_asked_even_from_home(self, client, secondary_learner, school_network):
        response = sign_in(client, secondary_learner, ip=AT_HOME)
        assert response.url == HOME
        assert signed_in_as(client) == str(secondary_learner.pk)
        assert client.session["ump_amr"] == ["pwd"]

    def test_staff_on_the_school_network_sign_in_with_the_password(
        self, client, teacher, teacher_app, school_network
    ):
        response = sign_in(client, teacher, ip=AT_SCHOOL)
        assert response.url == HOME
        assert client.session["ump_amr"] == ["pwd"]

    def test_staff_from_home_are_asked_and_not_yet_signed_in(
        self, client, teacher, teacher_app, school_network
    ):
        response = sign_in(client, teacher, ip=AT_HOME)
        assert response.url == VERIFY
        assert signed_in_as(client) is None
        assert client.get(HOME, REMOTE_ADDR=AT_HOME).status_code == 302  # still the sign-in page

    def test_mfa_is_on_by_default_for_every_non_learner(self, wales):
        for kind in set(Account.Kind) - {Account.Kind.LEARNER}:
            assert Account(kind=kind, organisation=wales.secondary).mfa_on
        assert not Account(kind=Account.Kind.LEARNER, organisation=wales.secondary, mfa_enabled=True).mfa_on

    def test_with_mfa_turned_off_staff_sign_in_from_home(self, client, teacher, teacher_app, school_network):
        Account.objects.filter(pk=teacher.pk).update(mfa_enabled=False)
        assert sign_in(client, teacher, ip=AT_HOME).url == HOME

    def test_a_hwb_administrator_is_asked_on_the_trusted_network_too(self, client, national_admin, wales):
        wales.national.trusted_networks = ["192.0.2.0/24"]
        wales.national.save()
        TOTPDevice.objects.create(user=national_admin, name="phone", confirmed=True)
        assert sign_in(client, national_admin, ip=AT_SCHOOL).url == VERIFY

    def test_without_a_factor_from_home_they_are_told_and_not_signed_in(
        self, client, teacher, school_network
    ):
        response = sign_in(client, teacher, ip=AT_HOME)
        assert response.status_code == 403
        page = response.content.decode()
        assert "Sign in at school" in page and "Digital Champion" in page
        assert signed_in_as(client) is None
        event = AuditEvent.objects.get(action="mfa.not_set_up")
        assert event.targets.get().account_id == teacher.pk


class SecondStepTests:
    def test_the_authenticators_code_signs_in_with_its_methods(self, client, teacher, teacher_app):
        sign_in(client, teacher)
        response = second_step(client, code_of(teacher_app))
        assert response.url == HOME
        assert signed_in_as(client) == str(teacher.pk)
        assert client.session["ump_amr"] == ["pwd", "otp", "mfa"]
        use = AuditEvent.objects.get(action="mfa.use")
        assert use.details == {"factor": "totp"} and use.client_ip == AT_HOME
        assert AuditEvent.objects.filter(action="signin.success").count() == 1

    def test_next_is_honoured_when_it_is_this_site(self, client, teacher, teacher_app):
        sign_in(client, teacher, next_url="/profile/")
        assert second_step(client, code_of(teacher_app)).url == "/profile/"

    def test_next_to_another_site_is_not(self, client, teacher, teacher_app):
        sign_in(client, teacher, next_url="https://evil.example/")
        assert second_step(client, code_of(teacher_app)).url == HOME

    def test_a_wrong_code_is_refused_and_audited_without_the_code(self, client, teacher, teacher_app):
        sign_in(client, teacher)
        response = second_step(client, "000000")
        assert response.status_code == 200 and "not right" in response.content.decode()
        assert signed_in_as(client) is None
        failure = AuditEvent.objects.get(action="mfa.failure")
        assert "000000" not in str(failure.details)

    def test_wrong_codes_count_towards_the_lockout_like_passwords(
        self, client, teacher, teacher_app, settings
    ):
        sign_in(client, teacher, password="Wrong-Password-1")
        sign_in(client, teacher)
        for _ in range(settings.AXES_FAILURE_LIMIT - 1):
            second_step(client, "000000")
        response = second_step(client, code_of(teacher_app))
        assert response.status_code == 429
        assert signed_in_as(client) is None

    def test_the_second_step_expires(self, client, teacher, teacher_app, settings):
        sign_in(client, teacher)
        session = client.session
        session["ump_mfa_pending"]["at"] -= settings.UMP_MFA_STEP_MINUTES * 60 + 1
        session.save()
        assert second_step(client, code_of(teacher_app)).url == reverse("accounts:login")
        assert signed_in_as(client) is None

    def test_without_a_password_first_there_is_no_second_step(self, client):
        assert client.get(VERIFY).url == reverse("accounts:login")

    def test_a_code_is_used_once(self, client, teacher, teacher_app):
        code = code_of(teacher_app)
        sign_in(client, teacher)
        second_step(client, code)
        client.post(reverse("accounts:logout"))
        sign_in(client, teacher)
        assert second_step(client, code).status_code == 200
        assert signed_in_as(client) is None


class RecoveryCodeTests:
    def test_ten_different_codes(self, teacher):
        codes = recovery_codes_make(account=teacher)
        assert len(set(codes)) == 10

    def test_a_recovery_code_signs_in_once(self, client, teacher, teacher_app):
        code = recovery_codes_make(account=teacher)[0]
        sign_in(client, teacher)
        assert second_step(client, code.upper()).url == HOME
        assert client.session["ump_amr"] == ["pwd", "otp", "mfa"]
        assert AuditEvent.objects.get(action="mfa.use").details == {"factor": "recovery"}
        client.post(reverse("accounts:logout"))
        sign_in(client, teacher)
        assert second_step(client, code).status_code == 200
        assert signed_in_as(client) is None

    def test_new_codes_replace_the_old(self, client, teacher, teacher_app):
        old = recovery_codes_make(account=teacher)
        recovery_codes_make(account=teacher)
        sign_in(client, teacher)
        assert second_step(client, old[0]).status_code == 200
