"""Digital Champions and Hwb administrators: Turn MFA on/off, Reset MFA, set-up codes, the school's list."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import Account, AuditEvent
from mfa.models import SetupCode
from mfa.services import recovery_codes_make
from tests.mfa.conftest import AT_HOME, sign_in

pytestmark = pytest.mark.django_db


class SwitchTests:
    def test_a_digital_champion_turns_it_off_and_on_audited(self, client, digital_champion, governor):
        client.force_login(digital_champion)
        url = reverse("mfa:switch", args=[governor.pk])
        assert client.post(url, {"enabled": "0"}).status_code == 302
        governor.refresh_from_db()
        assert governor.mfa_enabled is False and not governor.mfa_on
        client.post(url, {"enabled": "1"})
        governor.refresh_from_db()
        assert governor.mfa_on
        assert [e.action for e in AuditEvent.objects.order_by("id")] == ["mfa.turn_off", "mfa.turn_on"]

    def test_nobody_turns_off_their_own(self, client, digital_champion):
        client.force_login(digital_champion)
        response = client.post(reverse("mfa:switch", args=[digital_champion.pk]), {"enabled": "0"})
        assert response.status_code == 200 and "your own account" in response.content.decode()
        digital_champion.refresh_from_db()
        assert digital_champion.mfa_on

    def test_learners_are_not_offered_it(self, client, digital_champion, secondary_learner):
        client.force_login(digital_champion)
        assert client.get(reverse("mfa:switch", args=[secondary_learner.pk])).status_code == 403
        page = client.get(reverse("accounts:account_detail", args=[secondary_learner.pk])).content.decode()
        assert "MFA" not in page

    def test_view_details_offers_the_actions(self, client, digital_champion, governor):
        client.force_login(digital_champion)
        page = client.get(reverse("accounts:account_detail", args=[governor.pk])).content.decode()
        assert "Turn MFA off" in page and "Reset MFA" in page and "set-up code" in page


class ResetTests:
    def test_a_confirmation_page_then_every_factor_goes(self, client, digital_champion, teacher, teacher_app):
        recovery_codes_make(account=teacher)
        client.force_login(digital_champion)
        url = reverse("mfa:reset", args=[teacher.pk])
        assert client.get(url).status_code == 200
        assert TOTPDevice.objects.filter(user=teacher).exists()
        assert client.post(url).url == reverse("accounts:account_detail", args=[teacher.pk])
        assert not TOTPDevice.objects.filter(user=teacher).exists()
        assert not StaticDevice.objects.filter(user=teacher).exists()
        event = AuditEvent.objects.get(action="mfa.reset")
        assert event.actor_id == digital_champion.pk and event.details == {"factors_removed": 2}

    def test_after_a_reset_they_cannot_sign_in_from_home(
        self, client, digital_champion, teacher, teacher_app
    ):
        client.force_login(digital_champion)
        client.post(reverse("mfa:reset", args=[teacher.pk]))
        client.logout()
        assert sign_in(client, teacher).status_code == 403


class SetupCodeTests:
    def print_code(self, client, champion, account):
        client.force_login(champion)
        response = client.post(reverse("mfa:setup_code_print", args=[account.pk]))
        assert response["Cache-Control"].startswith("no-store")
        client.logout()
        return re.search(r'id="setup-code">([^<]+)<', response.content.decode()).group(1)

    def test_a_printed_code_lets_them_set_up_from_home_once(self, client, digital_champion, teacher):
        code = self.print_code(client, digital_champion, teacher)
        assert code not in str(SetupCode.objects.get().code_hash)
        assert code not in str(list(AuditEvent.objects.values_list("details", flat=True)))
        assert sign_in(client, teacher).status_code == 403  # no factor: the page asks for a set-up code
        response = client.post(reverse("mfa:setup_code"), {"setup_code": code.lower()}, REMOTE_ADDR=AT_HOME)
        assert response.url == reverse("mfa:totp_add")
        assert client.session["ump_amr"] == ["pwd", "otp", "mfa"]
        assert client.post(reverse("mfa:totp_add"), {"name": "phone"}, REMOTE_ADDR=AT_HOME).status_code == 302
        client.logout()
        sign_in(client, teacher)
        again = client.post(reverse("mfa:setup_code"), {"setup_code": code}, REMOTE_ADDR=AT_HOME)
        assert again.status_code == 403 and "_auth_user_id" not in client.session

    def test_it_expires_after_7_days(self, client, digital_champion, teacher):
        code = self.print_code(client, digital_champion, teacher)
        SetupCode.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
        sign_in(client, teacher)
        response = client.post(reverse("mfa:setup_code"), {"setup_code": code}, REMOTE_ADDR=AT_HOME)
        assert response.status_code == 403 and "_auth_user_id" not in client.session
        assert SetupCode.objects.get().created_at + timedelta(days=7) >= SetupCode.objects.get().expires_at

    def test_without_the_password_first_a_code_is_nothing(self, client, digital_champion, teacher):
        code = self.print_code(client, digital_champion, teacher)
        response = client.post(reverse("mfa:setup_code"), {"setup_code": code}, REMOTE_ADDR=AT_HOME)
        assert response.url == reverse("accounts:login")


class StatusPageTests:
    def test_it_lists_who_has_it_on_and_who_has_not_set_it_up(
        self, client, digital_champion, teacher, teacher_app, governor, secondary_learner
    ):
        Account.objects.filter(pk=governor.pk).update(mfa_enabled=False)
        client.force_login(digital_champion)
        page = client.get(reverse("mfa:status")).content.decode()
        assert teacher.username in page and governor.username in page
        assert secondary_learner.username not in page
        # the Digital Champion has it on and nothing set up; the governor has it off
        assert "1 person with multi-factor sign-in on has not set it up" in page
