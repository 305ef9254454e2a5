"""View Learners (with the managing-users banner, navigation and Add new user partials) in constant queries."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Account
from accounts.services import today
from tests.factories import AccountFactory, learner

LEARNERS = reverse("accounts:user_list", args=["learners"])
GOVERNORS = reverse("accounts:user_list", args=["governors"])


def queries(client, url, params=None):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, params or {})
    assert response.status_code == 200
    return len(captured)


@pytest.mark.django_db
class TestConstantQueries:
    @pytest.mark.parametrize("params", [{}, {"q": "a"}, {"active": "N"}])
    def test_view_learners_costs_the_same_for_20_and_200_learners(
        self, login, digital_champion, wales, params
    ):
        """A page of 20 rows and a full page of 50 cost the same: a query per row would show here."""
        client = login(digital_champion)
        for n in range(20):
            learner(
                wales.secondary,
                legal_surname=f"Jones{n:03d}",
                status=Account.Status.DEACTIVATED if n % 7 == 0 else Account.Status.ACTIVE,
            )
        AccountFactory(
            organisation=wales.secondary, kind=Account.Kind.SCHOOL_NON_MIS, source=Account.Source.MANUAL
        )
        client.get(LEARNERS, params)  # warm the per-process caches (content types, translations)
        with_20 = queries(client, LEARNERS, params)
        for n in range(180):
            learner(
                wales.secondary,
                legal_surname=f"Evans{n:03d}",
                status=Account.Status.DEACTIVATED if n % 7 == 0 else Account.Status.ACTIVE,
            )
        with_200 = queries(client, LEARNERS, params)
        assert with_20 == with_200, (with_20, with_200)
        assert with_20 <= 6  # session, account, roles, page and its length, banner, passwords

    def test_governors_with_pending_requests_cost_the_same(
        self, login, digital_champion, wales, django_capture_on_commit_callbacks
    ):
        from datetime import date

        from managing.services import account_request_submit

        client = login(digital_champion)

        def submit(n):
            with django_capture_on_commit_callbacks(execute=False):
                account_request_submit(
                    actor=digital_champion,
                    organisation=wales.secondary,
                    kind=Account.Kind.GOVERNOR,
                    legal_forename="Aled",
                    legal_surname=f"Prys{n}",
                    password="Tywydd2026x",
                    expires_on=date(2030, 1, 1),
                )

        submit(0)
        client.get(GOVERNORS)
        few = queries(client, GOVERNORS)
        for n in range(1, 30):
            submit(n)
        assert queries(client, GOVERNORS) == few


@pytest.mark.django_db
def test_view_learners_is_five_queries_with_the_banners_count_and_the_filters_cached(
    login, digital_champion, wales, django_assert_num_queries
):
    """Session, account and organisation, roles, the page with the list's length, password statuses: the
    expiring-accounts banner's count and the year and registration group filters are cached after the first
    page, and a person with one school needs no query for the organisation picker."""
    client = login(digital_champion)
    for n in range(60):
        learner(wales.secondary, legal_surname=f"Jones{n:03d}")
    AccountFactory(
        organisation=wales.secondary,
        kind=Account.Kind.GOVERNOR,
        source=Account.Source.MANUAL,
        expires_on=today() + timedelta(days=10),
    )
    first = client.get(LEARNERS).content.decode()
    assert "1 non-MIS account expires in the next 8 weeks." in first
    with django_assert_num_queries(5):
        page = client.get(LEARNERS, {"page": "2"}).content.decode()
    assert "1 non-MIS account expires in the next 8 weeks." in page


@pytest.mark.django_db
def test_keep_and_close_refresh_the_banner_at_once(login, digital_champion, wales):
    client = login(digital_champion)
    expiring = AccountFactory(
        organisation=wales.secondary,
        kind=Account.Kind.GOVERNOR,
        source=Account.Source.MANUAL,
        expires_on=today() + timedelta(days=10),
    )
    assert "1 non-MIS account expires" in client.get(GOVERNORS).content.decode()
    client.post(reverse("accounts:manage_keep", args=[expiring.pk]), {"keep_for": "6"})
    assert "expires in the next 8 weeks" not in client.get(GOVERNORS).content.decode()
