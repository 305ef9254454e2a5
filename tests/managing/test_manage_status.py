"""Deactivate and Activate: confirmation, sessions ending at once, and the permission table."""

from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse

from accounts.models import Account, AuditEvent, AuditEventTarget
from accounts.services import today
from tests.factories import AccountFactory, learner

K = Account.Kind


def url(name, account):
    return reverse(f"accounts:manage_{name}", args=[account.pk])


@pytest.fixture
def other_supply_teacher(wales):
    return AccountFactory(
        organisation=wales.other_school, kind=K.SCHOOL_NON_MIS, source=Account.Source.MANUAL
    )


@pytest.mark.django_db
class TestDeactivate:
    def test_it_asks_first(self, login, digital_champion, supply_teacher):
        page = login(digital_champion).get(url("deactivate", supply_teacher)).content.decode()
        assert "Are you sure you wish to deactivate this account?" in page
        assert "Yes" in page and "Cancel" in page
        supply_teacher.refresh_from_db()
        assert supply_teacher.is_active  # GET changes nothing

    def test_the_detail_page_offers_it(self, login, digital_champion, supply_teacher):
        page = login(digital_champion).get(reverse("accounts:account_detail", args=[supply_teacher.pk]))
        assert url("deactivate", supply_teacher) in page.content.decode()

    def test_yes_deactivates_and_audits(self, login, digital_champion, supply_teacher):
        response = login(digital_champion).post(url("deactivate", supply_teacher))
        assert response.status_code == 302
        supply_teacher.refresh_from_db()
        assert supply_teacher.status == Account.Status.DEACTIVATED
        assert supply_teacher.status_reason == Account.StatusReason.MANUAL
        event = AuditEvent.objects.get(action="account.deactivate")
        assert event.actor_id == digital_champion.pk
        assert AuditEventTarget.objects.get(event=event).account_id == supply_teacher.pk

    def test_open_sessions_end_at_once(self, login, digital_champion, supply_teacher):
        theirs = Client()
        theirs.force_login(supply_teacher, backend="accounts.backends.UsernameOrEmailBackend")
        assert theirs.get(reverse("accounts:profile")).status_code == 200
        key = theirs.session.session_key
        login(digital_champion).post(url("deactivate", supply_teacher))
        assert not Session.objects.filter(session_key=key).exists()
        response = theirs.get(reverse("accounts:profile"))
        assert response.status_code == 302 and response.url.startswith(reverse("accounts:login"))

    def test_other_accounts_sessions_are_untouched(self, login, digital_champion, supply_teacher, teacher):
        theirs = Client()
        theirs.force_login(teacher, backend="accounts.backends.UsernameOrEmailBackend")
        login(digital_champion).post(url("deactivate", supply_teacher))
        assert theirs.get(reverse("accounts:profile")).status_code == 200

    def test_a_deactivated_account_cannot_sign_in(self, client, login, digital_champion, supply_teacher):
        login(digital_champion).post(url("deactivate", supply_teacher))
        client.logout()
        response = client.post(
            reverse("accounts:login"), {"username": supply_teacher.username, "password": "CroesoHwb2026"}
        )
        assert response.status_code == 200  # the form again, not a redirect

    def test_mis_accounts_cannot_be_deactivated_by_hand(
        self, login, digital_champion, teacher, secondary_learner
    ):
        client = login(digital_champion)
        assert client.post(url("deactivate", teacher)).status_code == 403
        assert client.post(url("deactivate", secondary_learner)).status_code == 403

    def test_a_teacher_is_refused(self, login, teacher, secondary_learner, supply_teacher):
        client = login(teacher)
        assert client.post(url("deactivate", secondary_learner)).status_code == 403  # visible, not allowed
        assert client.post(url("deactivate", supply_teacher)).status_code == 404  # not visible to a teacher

    def test_another_school_is_404(self, login, digital_champion, other_supply_teacher):
        assert login(digital_champion).post(url("deactivate", other_supply_teacher)).status_code == 404

    def test_an_la_admin_may_for_their_las_own_users_only(
        self, login, la_admin, wales, supply_teacher, other_supply_teacher
    ):
        officer = AccountFactory(organisation=wales.la, kind=K.LA_NON_MIS, source=Account.Source.MANUAL)
        client = login(la_admin)
        assert client.post(url("deactivate", officer)).status_code == 302
        assert client.post(url("deactivate", supply_teacher)).status_code == 404  # a school of their LA
        assert client.post(url("deactivate", other_supply_teacher)).status_code == 404

    def test_anonymous_and_wrong_method(self, client, login, digital_champion, supply_teacher):
        assert client.post(url("deactivate", supply_teacher)).url.startswith(reverse("accounts:login"))
        assert login(digital_champion).put(url("deactivate", supply_teacher)).status_code == 405


@pytest.mark.django_db
class TestActivate:
    def test_it_brings_a_deactivated_account_back(self, login, digital_champion, supply_teacher):
        client = login(digital_champion)
        client.post(url("deactivate", supply_teacher))
        assert (
            "Activate"
            in client.get(reverse("accounts:account_detail", args=[supply_teacher.pk])).content.decode()
        )
        assert client.get(url("activate", supply_teacher)).status_code == 200
        response = client.post(url("activate", supply_teacher))
        assert response.status_code == 302
        supply_teacher.refresh_from_db()
        assert supply_teacher.is_active and supply_teacher.status_reason == ""
        assert AuditEvent.objects.filter(action="account.activate").exists()

    def test_an_expired_account_needs_a_new_expiry(self, login, digital_champion, supply_teacher):
        supply_teacher.status = Account.Status.DEACTIVATED
        supply_teacher.status_reason = Account.StatusReason.EXPIRED
        supply_teacher.expires_on = today() - timedelta(days=3)
        supply_teacher.save()
        client = login(digital_champion)
        response = client.post(url("activate", supply_teacher))
        assert response.status_code == 200 and "duration" in response.context["form"].errors
        response = client.post(url("activate", supply_teacher), {"duration": "1"})
        assert response.status_code == 302
        supply_teacher.refresh_from_db()
        assert supply_teacher.is_active and supply_teacher.expires_on > today()

    def test_expired_reactivation_follows_its_own_row(self, login, teacher, wales, supply_teacher):
        supply_teacher.status = Account.Status.DEACTIVATED
        supply_teacher.status_reason = Account.StatusReason.EXPIRED
        supply_teacher.save()
        l1 = learner(wales.secondary, status=Account.Status.DEACTIVATED)
        client = login(teacher)
        assert client.post(url("activate", l1)).status_code == 403
        assert client.post(url("activate", supply_teacher)).status_code == 404

    def test_another_school_is_404(self, login, digital_champion, other_supply_teacher):
        other_supply_teacher.status = Account.Status.DEACTIVATED
        other_supply_teacher.save()
        assert login(digital_champion).post(url("activate", other_supply_teacher)).status_code == 404
