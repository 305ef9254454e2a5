"""The expiring-accounts banner and Manage Expiring Accounts: keep for longer, or close now or at expiry."""

from datetime import timedelta

import pytest
from django.urls import reverse

from accounts.lifecycle import add_months, lifecycle_sweep
from accounts.models import Account, AuditEvent
from accounts.services import today
from managing.services import academic_year_end
from tests.factories import AccountFactory

K = Account.Kind
EXPIRING = reverse("accounts:manage_expiring")


def keep_url(account):
    return reverse("accounts:manage_keep", args=[account.pk])


def close_url(account):
    return reverse("accounts:manage_close", args=[account.pk])


def non_mis(org, days, **kwargs):
    kwargs.setdefault("kind", K.SCHOOL_NON_MIS)
    return AccountFactory(
        organisation=org, source=Account.Source.MANUAL, expires_on=today() + timedelta(days=days), **kwargs
    )


@pytest.mark.django_db
class TestBanner:
    def test_it_counts_accounts_expiring_in_the_next_8_weeks(self, login, digital_champion, wales):
        non_mis(wales.secondary, 0)
        non_mis(wales.secondary, 56)
        non_mis(wales.secondary, 57)  # after 8 weeks
        non_mis(wales.secondary, 10, status=Account.Status.DEACTIVATED)
        non_mis(wales.other_school, 10)
        page = login(digital_champion).get(reverse("accounts:home")).content.decode()
        assert "2 non-MIS accounts expire in the next 8 weeks." in page
        assert EXPIRING in page

    def test_an_la_admin_sees_their_las_own_accounts_only(self, login, la_admin, wales):
        non_mis(wales.primary, 10)  # a school of their LA: not theirs to keep or close
        non_mis(wales.la, 10, kind=K.LA_NON_MIS)
        non_mis(wales.la, 20, kind=K.LA_NON_MIS)
        non_mis(wales.other_school, 10)
        page = login(la_admin).get(reverse("accounts:home")).content.decode()
        assert "2 non-MIS accounts expire in the next 8 weeks." in page

    def test_a_teacher_sees_no_banner(self, login, teacher, wales):
        non_mis(wales.secondary, 10)
        page = login(teacher).get(reverse("accounts:home")).content.decode()
        assert "expire in the next 8 weeks" not in page and EXPIRING not in page

    def test_nothing_expiring_no_banner(self, login, digital_champion, wales):
        non_mis(wales.secondary, 100)
        assert (
            "expire in the next 8 weeks"
            not in login(digital_champion).get(reverse("accounts:home")).content.decode()
        )


@pytest.mark.django_db
class TestManageExpiring:
    def test_it_lists_the_expiring_accounts_in_scope(self, login, digital_champion, wales):
        mine = non_mis(wales.secondary, 10)
        other = non_mis(wales.other_school, 10)
        page = login(digital_champion).get(EXPIRING).content.decode()
        assert mine.username in page and other.username not in page
        assert "To the end of next academic year" in page and "At its expiry date" in page

    def test_accounts_expiring_on_one_day_are_in_name_order(self, login, digital_champion, wales):
        made = {
            s: non_mis(wales.secondary, 10, legal_surname=s) for s in ("Wilson", "Hughes", "ap Rhys", "Hâf")
        }
        page = login(digital_champion).get(EXPIRING).content.decode()
        listed = sorted(made, key=lambda s: page.index(made[s].username))
        assert listed == ["ap Rhys", "Hâf", "Hughes", "Wilson"]

    @pytest.mark.parametrize(
        ("keep_for", "expected"),
        [
            ("next_year", lambda d: academic_year_end(d).replace(year=academic_year_end(d).year + 1)),
            ("6", lambda d: add_months(d, 6)),
            ("3", lambda d: add_months(d, 3)),
            ("1", lambda d: add_months(d, 1)),
        ],
    )
    def test_keep_extends_from_the_expiry_date(self, login, digital_champion, wales, keep_for, expected):
        account = non_mis(wales.secondary, 10)
        old = account.expires_on
        response = login(digital_champion).post(keep_url(account), {"keep_for": keep_for})
        assert response.status_code == 302
        account.refresh_from_db()
        assert account.expires_on == expected(old)
        event = AuditEvent.objects.get(action="account.keep")
        assert event.details["old_expires_on"] == old.isoformat()

    def test_close_now_deactivates(self, login, digital_champion, wales):
        account = non_mis(wales.secondary, 10)
        login(digital_champion).post(close_url(account), {"when": "now"})
        account.refresh_from_db()
        assert account.status == Account.Status.DEACTIVATED
        assert account.status_reason == Account.StatusReason.EXPIRED

    def test_close_at_expiry_takes_it_off_the_banner_and_it_still_expires(
        self, login, digital_champion, wales
    ):
        account = non_mis(wales.secondary, 10, last_login=None)
        client = login(digital_champion)
        client.post(close_url(account), {"when": "at_expiry"})
        account.refresh_from_db()
        assert account.is_active
        assert AuditEvent.objects.filter(action="account.close_at_expiry").exists()
        assert "expire in the next 8 weeks" not in client.get(reverse("accounts:home")).content.decode()
        assert account.username not in client.get(EXPIRING).content.decode()
        lifecycle_sweep(on=account.expires_on + timedelta(days=1))
        account.refresh_from_db()
        assert account.status == Account.Status.DEACTIVATED

    def test_keeping_after_close_at_expiry_brings_it_back_when_it_next_expires(
        self, login, digital_champion, wales
    ):
        account = non_mis(wales.secondary, 10)
        client = login(digital_champion)
        client.post(close_url(account), {"when": "at_expiry"})
        client.post(keep_url(account), {"keep_for": "1"})
        from accounts.models import ExpiryDecision

        assert not ExpiryDecision.objects.exists()

    def test_a_bad_choice_changes_nothing(self, login, digital_champion, wales):
        account = non_mis(wales.secondary, 10)
        old = account.expires_on
        login(digital_champion).post(keep_url(account), {"keep_for": "120"})
        account.refresh_from_db()
        assert account.expires_on == old

    def test_permissions(self, login, teacher, digital_champion, wales, secondary_learner):
        mine = non_mis(wales.secondary, 10)
        other = non_mis(wales.other_school, 10)
        assert login(teacher).get(EXPIRING).status_code == 403
        assert login(teacher).post(keep_url(mine), {"keep_for": "1"}).status_code == 404
        assert login(teacher).post(keep_url(secondary_learner), {"keep_for": "1"}).status_code == 403
        client = login(digital_champion)
        assert client.post(keep_url(other), {"keep_for": "1"}).status_code == 404
        assert client.post(close_url(other), {"when": "now"}).status_code == 404
        assert client.post(keep_url(secondary_learner), {"keep_for": "1"}).status_code == 403
        assert client.get(keep_url(mine)).status_code == 405
        other.refresh_from_db()
        assert other.is_active

    def test_anonymous(self, client, wales):
        account = non_mis(wales.secondary, 10)
        assert client.get(EXPIRING).url.startswith(reverse("accounts:login"))
        assert client.post(keep_url(account), {"keep_for": "1"}).url.startswith(reverse("accounts:login"))
