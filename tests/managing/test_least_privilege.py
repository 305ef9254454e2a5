"""Least privilege for LA and consortium administrators (issue 11, item 7).

Reproduced before: a Hwb administrator grant at an LA reached every school in it, so an LA administrator
could show school staff passwords, download All Staff with passwords, reset and deactivate there. Now a grant
at an LA or consortium covers that organisation's own accounts only; a school's accounts need a grant at the
school or a national one. What the LA admin may not see is a 404, as for any other school.
"""

import pytest
from django.urls import reverse

from accounts.models import Account, AuditEvent, RoleGrant
from passwords import services as password_services
from tests.factories import AccountFactory, grant

K = Account.Kind
PASSWORD = "Xk7pQr2mWz9a"
SCHOOL_PAGES = {
    "learners": reverse("accounts:user_list", args=["learners"]),
    "staff": reverse("accounts:user_list", args=["staff"]),
    "governors": reverse("accounts:user_list", args=["governors"]),
    "non-MIS users": reverse("accounts:user_list", args=["non-mis"]),
    "downloads": reverse("printing:downloads"),
    "provisioning": reverse("provisioning:page"),
}


@pytest.fixture
def staff_password(teacher, digital_champion):
    """The teacher's password as the school's Digital Champion set it: sealed, so Show password has one."""
    password_services.password_set(account=teacher, actor=digital_champion, new_password=PASSWORD)
    return teacher


@pytest.fixture
def la_officer(wales):
    """An LA non-MIS user of the LA admin's own LA."""
    return AccountFactory(organisation=wales.la, kind=K.LA_NON_MIS, source=Account.Source.MANUAL)


def attempts(wales, teacher, supply_teacher):
    """(what, method, url, data): the four powers the audit found LA administrators using at schools."""
    return [
        ("show a staff password", "post", reverse("passwords:reveal", args=[teacher.pk]), {}),
        (
            "download All Staff",
            "post",
            reverse("printing:download", args=["staff"]),
            {"org": wales.secondary.code},
        ),
        (
            "reset a staff password",
            "post",
            reverse("passwords:reset_chosen", args=[teacher.pk]),
            {"new_password1": "Xk7pQr2mWz9b", "new_password2": "Xk7pQr2mWz9b"},
        ),
        ("deactivate", "post", reverse("accounts:manage_deactivate", args=[supply_teacher.pk]), {}),
    ]


@pytest.mark.django_db
class TestLaAdministratorAtASchoolOfTheirLa:
    def test_it_cannot_show_download_reset_or_deactivate(
        self, login, wales, la_admin, staff_password, supply_teacher
    ):
        before = AuditEvent.objects.count()
        client = login(la_admin)
        for what, method, url, data in attempts(wales, staff_password, supply_teacher):
            assert getattr(client, method)(url, data).status_code == 404, what
        staff_password.refresh_from_db()
        supply_teacher.refresh_from_db()
        assert staff_password.check_password(PASSWORD)
        assert supply_teacher.status == Account.Status.ACTIVE
        assert AuditEvent.objects.count() == before

    def test_it_cannot_see_the_schools_accounts(self, login, la_admin, staff_password, secondary_learner):
        client = login(la_admin)
        for account in (staff_password, secondary_learner):
            assert client.get(reverse("accounts:account_detail", args=[account.pk])).status_code == 404

    def test_a_grant_at_the_school_gives_those_powers_there(
        self, login, wales, la_admin, staff_password, supply_teacher
    ):
        grant(la_admin, RoleGrant.Role.HWB_ADMIN, wales.secondary)
        client = login(la_admin)
        show, download, _reset, deactivate = attempts(wales, staff_password, supply_teacher)
        assert client.post(show[2]).json() == {"password": PASSWORD}
        assert client.post(download[2], download[3]).status_code == 200
        assert client.post(deactivate[2]).status_code == 302

    def test_a_national_admin_keeps_every_power(
        self, login, wales, national_admin, staff_password, supply_teacher
    ):
        client = login(national_admin)
        show, download, _reset, deactivate = attempts(wales, staff_password, supply_teacher)
        assert client.post(show[2]).json() == {"password": PASSWORD}
        assert client.post(download[2], download[3]).status_code == 200
        assert client.post(deactivate[2]).status_code == 302


@pytest.mark.django_db
class TestLaAdministratorsOwnUsers:
    def test_it_manages_its_las_non_mis_users(self, login, la_admin, la_officer):
        client = login(la_admin)
        assert client.get(reverse("accounts:account_detail", args=[la_officer.pk])).status_code == 200
        new = {"new_password1": "Xk7pQr2mWz9b", "new_password2": "Xk7pQr2mWz9b"}
        assert client.post(reverse("passwords:reset_chosen", args=[la_officer.pk]), new).status_code == 302
        assert client.post(reverse("accounts:manage_deactivate", args=[la_officer.pk])).status_code == 302

    def test_a_consortium_admin_manages_the_consortiums_users_not_its_las(
        self, login, wales, consortium_admin, la_officer
    ):
        colleague = AccountFactory(
            organisation=wales.consortium, kind=K.CONSORTIUM_NON_MIS, source=Account.Source.MANUAL
        )
        client = login(consortium_admin)
        assert client.get(reverse("accounts:account_detail", args=[colleague.pk])).status_code == 200
        assert client.get(reverse("accounts:account_detail", args=[la_officer.pk])).status_code == 404


@pytest.mark.django_db
class TestNavigation:
    def test_an_la_admin_is_offered_no_school_page(self, login, la_admin, wales):
        client = login(la_admin)
        home = client.get(reverse("accounts:home")).content.decode()
        for what, url in SCHOOL_PAGES.items():
            assert f'href="{url}"' not in home, f"{what} is offered"
            assert client.get(url).status_code in (403, 404), what
        assert "Manage Local Authority Non-MIS Users" in home and "Organisation users" not in home
        # one page, one name: the help's
        assert (
            home.count(f'href="{reverse("accounts:user_list", args=["organisation"])}"') <= 2
        )  # nav and home
        listing = client.get(reverse("accounts:user_list", args=["organisation"])).content.decode()
        assert "Manage Local Authority Non-MIS Users" in listing and "Organisation users" not in listing
        assert f'href="{reverse("accounts:audit")}"' in home

    def test_a_digital_champion_is_still_offered_their_schools_pages(self, login, digital_champion):
        home = login(digital_champion).get(reverse("accounts:home")).content.decode()
        for what, url in SCHOOL_PAGES.items():
            assert f'href="{url}"' in home, f"{what} is not offered"
