"""accounts.paging.page_of: Django's get_page numbering, with the list's length read beside the page's rows."""

import pytest
from django.core.paginator import Paginator
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Account
from accounts.paging import page_of
from tests.factories import learner


@pytest.fixture
def thirty(wales):
    for n in range(30):
        learner(wales.secondary, legal_surname=f"Jones{n:03d}")
    return Account.objects.filter(organisation=wales.secondary, kind=Account.Kind.LEARNER).order_by(
        "legal_surname", "pk"
    )


@pytest.mark.django_db
class TestPageOf:
    @pytest.mark.parametrize(
        "asked", [None, "", "abc", "1", "2", "3", "4", "99", "0", "-2", 1, 3, "99999999999999999999"]
    )
    def test_it_numbers_and_fills_pages_as_get_page_does(self, thirty, asked):
        ours = page_of(thirty, asked, 12)
        django = Paginator(thirty, 12).get_page(asked)
        assert ours.number == django.number
        assert [a.pk for a in ours] == [a.pk for a in django]
        assert ours.paginator.count == 30 and ours.paginator.num_pages == 3
        assert ours.has_next() == django.has_next() and ours.has_previous() == django.has_previous()

    def test_a_page_with_rows_is_one_query(self, thirty):
        with CaptureQueriesContext(connection) as captured:
            page = page_of(thirty, "2", 12)
            assert page.paginator.count == 30 and len(page) == 12 and page.paginator.num_pages == 3
        assert len(captured) == 1

    def test_an_empty_list_is_page_1_of_1(self, thirty):
        page = page_of(thirty.filter(legal_surname="Nobody"), "5", 12)
        assert page.number == 1 and page.paginator.count == 0 and list(page) == []
        assert page.paginator.num_pages == 1


@pytest.mark.django_db
def test_view_learners_counts_and_numbers_its_pages(login, teacher, wales):
    for n in range(120):
        learner(wales.secondary, legal_surname=f"Jones{n:03d}")
    client = login(teacher)
    url = reverse("accounts:user_list", args=["learners"])
    last = client.get(url, {"page": "99"}).content.decode()
    assert "120 accounts" in last and 'aria-label="Page 3 of 3" aria-current="page"' in last
    assert "Jones119" in last and "Jones099" not in last
    assert "0 accounts" in client.get(url, {"q": "nobody-called-this"}).content.decode()
