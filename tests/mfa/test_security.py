"""My Profile > Security: adding an authenticator, recovery codes, removing a factor."""

import pytest
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import AuditEvent
from tests.mfa.conftest import AT_HOME, AT_SCHOOL, code_of, second_step, sign_in

pytestmark = pytest.mark.django_db


def add_authenticator(client, ip=AT_SCHOOL):
    response = client.post(reverse("mfa:totp_add"), {"name": "My phone"}, REMOTE_ADDR=ip)
    return response


class AddAuthenticatorTests:
    def test_from_the_school_network_it_shows_a_qr_code_and_key_then_turns_on(
        self, client, teacher, school_network
    ):
        client.force_login(teacher)
        response = add_authenticator(client)
        device = TOTPDevice.objects.get(user=teacher)
        assert response.url == reverse("mfa:totp_confirm", args=[device.pk]) and not device.confirmed
        page = client.get(response.url, REMOTE_ADDR=AT_SCHOOL)
        assert page["Cache-Control"].startswith("no-store")
        html = page.content.decode()
        assert 'src="data:image/svg+xml' in html and 'id="totp-key"' in html
        confirmed = client.post(response.url, {"code": code_of(device)}, REMOTE_ADDR=AT_SCHOOL)
        assert confirmed.url == reverse("mfa:recovery_codes")
        device.refresh_from_db()
        assert device.confirmed and device.name == "My phone"
        event = AuditEvent.objects.get(action="mfa.setup")
        assert event.details == {"factor": "totp"} and device.key not in str(event.details)

    def test_a_wrong_code_leaves_it_off(self, client, teacher, school_network):
        client.force_login(teacher)
        url = add_authenticator(client).url
        assert client.post(url, {"code": "000000"}, REMOTE_ADDR=AT_SCHOOL).status_code == 200
        assert not TOTPDevice.objects.get(user=teacher).confirmed

    def test_the_first_factor_is_not_set_up_from_home(self, client, teacher, school_network):
        client.force_login(teacher)
        assert add_authenticator(client, ip=AT_HOME).status_code == 403
        assert (
            "only from your school"
            in client.get(reverse("mfa:security"), REMOTE_ADDR=AT_HOME).content.decode()
        )

    def test_after_a_second_step_another_may_be_added_from_home(self, client, teacher, teacher_app):
        sign_in(client, teacher)
        second_step(client, code_of(teacher_app))
        assert add_authenticator(client, ip=AT_HOME).status_code == 302

    def test_learners_have_no_security_page(self, client, secondary_learner):
        client.force_login(secondary_learner)
        assert client.get(reverse("mfa:security")).status_code == 403


class RecoveryCodesPageTests:
    def test_they_are_shown_once_never_stored_and_audited_without_them(self, client, teacher, teacher_app):
        client.force_login(teacher)
        response = client.post(reverse("mfa:recovery_codes"), REMOTE_ADDR=AT_HOME)
        assert response["Cache-Control"].startswith("no-store")
        html = response.content.decode()
        codes = teacher_app.user.staticdevice_set.get().token_set.values_list("token", flat=True)
        assert len(codes) == 10 and all(code in html for code in codes)
        event = AuditEvent.objects.get(action="mfa.recovery_codes")
        assert not any(code in str(event.details) for code in codes)
        security = client.get(reverse("mfa:security")).content.decode()
        assert "10 recovery codes left" in security and codes[0] not in security


class RemoveTests:
    def test_removing_an_authenticator_is_confirmed_and_audited(self, client, teacher, teacher_app):
        client.force_login(teacher)
        url = reverse("mfa:totp_remove", args=[teacher_app.pk])
        assert client.get(url).status_code == 200
        assert TOTPDevice.objects.filter(pk=teacher_app.pk).exists()
        assert client.post(url).url == reverse("mfa:security")
        assert not TOTPDevice.objects.filter(pk=teacher_app.pk).exists()
        assert AuditEvent.objects.filter(action="mfa.remove").count() == 1

    def test_someone_elses_is_a_404(self, client, digital_champion, teacher_app):
        client.force_login(digital_champion)
        assert client.post(reverse("mfa:totp_remove", args=[teacher_app.pk])).status_code == 404
