"""Home, My Profile and View Users: scoped, paginated, searchable, with a constant number of queries."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Account
from tests.factories import learner, staff

LEARNERS = reverse("accounts:user_list", args=["learners"])


def detail(account):
    return reverse("accounts:account_detail", args=[account.pk])


@pytest.mark.django_db
class TestAnonymous:
    @pytest.mark.parametrize("url", ["/", "/profile/", "/users/learners/", "/users/account/1/"])
    def test_it_redirects_to_sign_in(self, client, url):
        response = client.get(url)
        assert response.status_code == 302
        assert response.url.startswith(reverse("accounts:login"))


@pytest.mark.django_db
class TestViewUsers:
    def test_a_teacher_sees_their_schools_learners(self, login, teacher, secondary_learner, other_learner):
        response = login(teacher).get(LEARNERS)
        page = response.content.decode()
        assert response.status_code == 200
        assert secondary_learner.username in page
        assert other_learner.username not in page
        assert "Llŷr" in page and "O&#x27;Brien" in page

    def test_pages_with_personal_data_are_not_stored(self, login, teacher):
        response = login(teacher).get(LEARNERS)
        assert "no-store" in response["Cache-Control"]

    def test_a_teacher_cannot_list_staff(self, login, teacher):
        assert login(teacher).get(reverse("accounts:user_list", args=["staff"])).status_code == 404

    def test_the_digital_champion_lists_staff_and_governors(self, login, digital_champion, teacher, governor):
        client = login(digital_champion)
        assert teacher.username in client.get(reverse("accounts:user_list", args=["staff"])).content.decode()
        assert (
            governor.username
            in client.get(reverse("accounts:user_list", args=["governors"])).content.decode()
        )

    def test_search_matches_surname_forename_username_and_admission_number(self, login, teacher, wales):
        a = learner(
            wales.secondary, legal_forename="Gwenllïan", legal_surname="Prosser", admission_number="004242"
        )
        b = learner(wales.secondary, legal_forename="Dafydd", legal_surname="Maddocks")
        client = login(teacher)
        for term in ("pross", "gwenll", a.username.lower(), "004242"):
            page = client.get(LEARNERS, {"q": term}).content.decode()
            assert a.username in page and b.username not in page, term

    def test_filters_by_year_and_registration_group_and_active(self, login, teacher, wales):
        seven = learner(wales.secondary, year_group="7", registration_group="7B")
        nine = learner(wales.secondary, year_group="9", registration_group="9A")
        gone = learner(
            wales.secondary, year_group="7", registration_group="7B", status=Account.Status.DEACTIVATED
        )
        client = login(teacher)
        page = client.get(LEARNERS, {"year": "7"}).content.decode()
        assert seven.username in page and nine.username not in page
        page = client.get(LEARNERS, {"reg": "7B", "active": "N"}).content.decode()
        assert gone.username in page and seven.username not in page

    def test_columns_sort_both_ways(self, login, teacher, wales):
        learner(wales.secondary, legal_forename="Ann", legal_surname="Aaron")
        learner(wales.secondary, legal_forename="Zed", legal_surname="Zephaniah")
        client = login(teacher)
        up = client.get(LEARNERS, {"sort": "surname"}).content.decode()
        down = client.get(LEARNERS, {"sort": "-surname"}).content.decode()
        assert up.index("Aaron") < up.index("Zephaniah")
        assert down.index("Zephaniah") < down.index("Aaron")

    def test_column_headers_link_the_other_way_and_say_how_the_table_is_sorted(self, login, teacher, wales):
        learner(wales.secondary, legal_surname="Ab")
        client = login(teacher)
        page = client.get(LEARNERS, {"sort": "surname", "q": "ab", "active": "Y"}).content.decode()
        assert '<th scope="col" aria-sort="ascending"><a href="?q=ab&amp;active=Y&amp;sort=-surname">' in page
        assert '<th scope="col"><a href="?q=ab&amp;active=Y&amp;sort=forename">Forename</a></th>' in page
        page = client.get(LEARNERS, {"sort": "-adno"}).content.decode()
        assert '<th scope="col" aria-sort="descending"><a href="?sort=adno">Admission number</a></th>' in page
        welsh = client.get(LEARNERS, {"sort": "-adno"}, headers={"accept-language": "cy"}).content.decode()
        assert "?sort=adno" in welsh and "Rhif derbyn" in welsh

    def test_names_sort_as_people_read_them_in_english_and_in_welsh(self, login, teacher, wales):
        for surname in ("Wynne", "Ŵyn", "Llwyd", "Lynch", "ap Rhys", "Evans", "Lewis"):
            learner(wales.secondary, legal_forename="Nia", legal_surname=surname)
        client = login(teacher)

        def order(**headers):
            page = client.get(LEARNERS, {"sort": "surname"}, **headers).content.decode()
            names = ("ap Rhys", "Evans", "Lewis", "Llwyd", "Lynch", "Ŵyn", "Wynne")
            return sorted(names, key=page.index)

        # case and accents only break ties: ap Rhys among the A's, Ŵyn among the W's
        assert order() == ["ap Rhys", "Evans", "Lewis", "Llwyd", "Lynch", "Ŵyn", "Wynne"]
        # the Welsh alphabet puts ll after l
        assert order(HTTP_ACCEPT_LANGUAGE="cy") == [
            "ap Rhys",
            "Evans",
            "Lewis",
            "Lynch",
            "Llwyd",
            "Ŵyn",
            "Wynne",
        ]

    def test_every_cell_and_filter_is_escaped(self, login, teacher, wales):
        """The rows and the filters' options are joined in Python (accounts.templatetags.pages), not by the
        template's autoescaping: a name or group that is markup is shown as text."""
        odd = learner(
            wales.secondary,
            legal_forename='<img src=x onerror="alert(1)">',
            legal_surname="O'Brien<b>",
            registration_group="<7&A>",
        )
        page = login(teacher).get(LEARNERS).content.decode()
        assert "<b>" not in page and "<img" not in page and "<7&A>" not in page
        assert "O&#x27;Brien&lt;b&gt;" in page and "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in page
        assert '<option value="&lt;7&amp;A&gt;">&lt;7&amp;A&gt;</option>' in page
        assert f'href="/users/account/{odd.pk}/"' in page

    def test_query_count_does_not_grow_with_the_page(self, login, teacher, wales):
        client = login(teacher)
        for _ in range(5):
            learner(wales.secondary)
        client.get(LEARNERS)
        with CaptureQueriesContext(connection) as few:
            assert client.get(LEARNERS).status_code == 200
        for _ in range(45):
            learner(wales.secondary)
        with CaptureQueriesContext(connection) as many:
            assert client.get(LEARNERS).status_code == 200
        assert len(many) == len(few)

    def test_an_la_admin_lists_no_school_of_their_la(self, login, la_admin, wales, primary_learner):
        client = login(la_admin)
        assert client.get(LEARNERS, {"org": wales.primary.code}).status_code == 404
        assert client.get(LEARNERS).status_code == 404
        assert client.get(LEARNERS, {"org": wales.other_school.code}).status_code == 404

    def test_a_national_admin_picks_any_school(
        self, login, national_admin, wales, primary_learner, other_learner
    ):
        client = login(national_admin)
        assert primary_learner.username in client.get(LEARNERS, {"org": wales.primary.code}).content.decode()
        assert (
            other_learner.username in client.get(LEARNERS, {"org": wales.other_school.code}).content.decode()
        )

    def test_unknown_sections_are_not_found(self, login, digital_champion):
        assert login(digital_champion).get("/users/nonsense/").status_code == 404


@pytest.mark.django_db
class TestViewDetails:
    def test_a_teacher_views_a_learner_of_their_school(self, login, teacher, secondary_learner):
        response = login(teacher).get(detail(secondary_learner))
        assert response.status_code == 200
        assert secondary_learner.email in response.content.decode()

    def test_another_schools_account_is_not_found(self, login, other_teacher, secondary_learner):
        assert login(other_teacher).get(detail(secondary_learner)).status_code == 404

    def test_a_teacher_cannot_view_a_colleague(self, login, teacher, wales):
        assert login(teacher).get(detail(staff(wales.secondary))).status_code == 404

    def test_detail_is_get_only(self, login, teacher, secondary_learner):
        assert login(teacher).post(detail(secondary_learner)).status_code == 405


@pytest.mark.django_db
class TestProfileAndHome:
    def test_my_profile_shows_your_details(self, login, primary_learner):
        page = login(primary_learner).get(reverse("accounts:profile")).content.decode()
        assert "Ŵyn" in page and primary_learner.username in page

    def test_a_primary_learner_sees_basic_school_information_only(self, login, primary_learner, wales):
        page = login(primary_learner).get("/").content.decode()
        assert wales.primary.name in page
        assert reverse("accounts:user_list", args=["learners"]) not in page

    def test_a_deactivated_accounts_session_ends_at_its_next_request(self, login, teacher):
        client = login(teacher)
        Account.objects.filter(pk=teacher.pk).update(status=Account.Status.DEACTIVATED)
        response = client.get("/")
        assert response.status_code == 302
        assert "_auth_user_id" not in client.session

    def test_security_headers(self, login, teacher):
        response = login(teacher).get("/")
        assert "default-src 'self'" in response["Content-Security-Policy"]
        assert response["X-Frame-Options"] == "DENY"
        assert response["X-Content-Type-Options"] == "nosniff"


@pytest.mark.django_db
class TestTheHelpsLabels:
    def test_view_learners_pages_are_numbered(self, login, teacher, wales):
        for n in range(120):
            learner(wales.secondary, legal_surname=f"Jones{n:03d}")
        page = (
            login(teacher)
            .get(reverse("accounts:user_list", args=["learners"]), {"page": "2"})
            .content.decode()
        )
        assert 'aria-label="Page 1 of 3"' in page and 'aria-label="Page 3 of 3"' in page
        assert 'aria-label="Page 2 of 3" aria-current="page"' in page

    def test_the_navigation_names_the_view_users_menu_and_only_what_the_role_may_see(
        self, login, teacher, digital_champion, la_admin
    ):
        home = reverse("accounts:home")
        teachers = login(teacher).get(home).content.decode()
        assert "View Users" in teachers and "View Learners" in teachers
        assert (
            "View Staff" not in teachers
            and "View Governors" not in teachers
            and "View Non-MIS" not in teachers
        )
        assert "School Administrator Dashboard" in teachers
        champions = login(digital_champion).get(home).content.decode()
        assert all(label in champions for label in ("View Staff", "View Governors", "View Non-MIS"))
        admins = login(la_admin).get(home).content.decode()
        assert "Manage Local Authority Non-MIS Users" in admins and "View Learners" not in admins
        assert "School Administrator Dashboard" not in admins

    def test_view_details_has_manage_user_and_print_menus(self, login, teacher, secondary_learner):
        page = login(teacher).get(detail(secondary_learner)).content.decode()
        assert "<summary>Manage User</summary>" in page and "<summary>Print</summary>" in page
        assert "Print With Password" in page and "Reset Password" in page

    def test_my_profile_shows_your_details(self, login, governor):
        page = login(governor).get(reverse("accounts:profile")).content.decode()
        assert "Your Details" in page and "Reset password" in page
