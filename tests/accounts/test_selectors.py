"""organisation_from_request: the one way a page learns which organisation it is for (`?org=CODE`)."""

import re

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.test import RequestFactory
from django.urls import reverse

from accounts.models import Account, Organisation, RoleGrant
from accounts.permissions import Action
from accounts.selectors import group_choices, list_filter_choices, organisation_from_request
from tests.factories import grant, learner

K = Account.Kind
SCHOOLS = (Organisation.Kind.SCHOOL,)


def request_as(actor, method="get", **data):
    request = getattr(RequestFactory(), method)("/", data)
    request.user = actor
    return request


@pytest.mark.django_db
class OrganisationFromRequestTests:
    def test_it_returns_the_organisation_the_code_names(self, wales, national_admin):
        request = request_as(national_admin, org=wales.secondary.code)
        assert organisation_from_request(request, Action.RESET_GROUP, kinds=(K.LEARNER,)) == wales.secondary

    def test_a_form_names_it_in_what_it_posts(self, wales, teacher):
        request = request_as(teacher, "post", org=wales.secondary.code)
        assert organisation_from_request(request, Action.PRINT_GROUP, source=request.POST) == wales.secondary

    def test_another_schools_code_is_404(self, wales, teacher):
        with pytest.raises(Http404):
            organisation_from_request(request_as(teacher, org=wales.other_school.code), Action.RESET_GROUP)

    def test_an_unknown_code_is_404(self, wales, teacher):
        with pytest.raises(Http404):
            organisation_from_request(request_as(teacher, org="NOPE"), Action.RESET_GROUP)

    def test_a_school_they_see_but_may_not_act_on_is_403(self, wales, teacher):
        request = request_as(teacher, org=wales.secondary.code)
        with pytest.raises(PermissionDenied):
            organisation_from_request(request, Action.DOWNLOAD_STAFF_CSV, kinds=(K.STAFF,))

    def test_what_they_may_not_view_is_404_not_403(self, wales, teacher):
        request = request_as(teacher, org=wales.secondary.code)
        with pytest.raises(Http404):
            organisation_from_request(request, Action.VIEW, kinds=(K.STAFF,))

    def test_another_kind_of_organisation_is_404(self, wales, la_admin):
        request = request_as(la_admin, org=wales.la.code)
        with pytest.raises(Http404):
            organisation_from_request(request, Action.VIEW, kinds=(K.LEARNER,), org_kinds=SCHOOLS)

    def test_without_a_code_it_is_their_own_organisation_where_they_may_act(self, wales, teacher):
        request = request_as(teacher)
        assert organisation_from_request(request, Action.RESET_GROUP, kinds=(K.LEARNER,)) == wales.secondary

    def test_without_a_code_it_is_otherwise_the_first_by_name(self, wales, la_admin):
        for school in (wales.secondary, wales.primary):  # an LA user holding a grant at each school
            grant(la_admin, RoleGrant.Role.HWB_ADMIN, school)
        request = request_as(la_admin)
        found = organisation_from_request(request, Action.VIEW, kinds=(K.LEARNER,), org_kinds=SCHOOLS)
        assert found == wales.primary  # Ysgol Gynradd Llanaber before Ysgol Uwchradd Caerdydd

    def test_without_a_code_and_without_fallback_it_is_none(self, wales, teacher):
        assert organisation_from_request(request_as(teacher), Action.RESET_GROUP, fallback=False) is None

    def test_without_a_code_someone_who_may_act_nowhere_is_refused(self, wales, secondary_learner):
        with pytest.raises(Http404):
            organisation_from_request(request_as(secondary_learner), Action.RESET_GROUP)


@pytest.mark.django_db
class GroupChoicesTests:
    def test_years_groups_and_classes_come_in_school_order(self, wales):
        for year, reg, cls in [
            ("10", "10A", "10Ma1"),
            ("7", "7A", "7Ma2"),
            ("R", "R", "R1"),
            ("1", "1B", "1Ma10"),
        ]:
            learner(wales.primary, year_group=year, registration_group=reg, classes=[cls])
        choices = group_choices(organisation=wales.primary)
        assert choices["years"] == ["R", "1", "7", "10"]
        assert choices["reg_groups"] == ["R", "1B", "7A", "10A"]
        assert choices["classes"] == ["R1", "1Ma10", "7Ma2", "10Ma1"]

    def test_view_learners_filters_offer_the_same_years_and_groups(self, wales):
        for year, reg in [("10", "10A"), ("7", "7A"), ("7", "7B"), ("R", ""), ("", "X1")]:
            learner(wales.primary, year_group=year, registration_group=reg)
        learner(wales.primary, year_group="11", registration_group="11A", status=Account.Status.DEACTIVATED)
        choices = group_choices(organisation=wales.primary)
        assert list_filter_choices(organisation=wales.primary) == {
            "years": choices["years"],
            "reg_groups": choices["reg_groups"],
        }
        assert choices["years"] == ["R", "7", "10"]

    def test_the_print_and_reset_pages_offer_them_in_that_order(self, wales, login, teacher):
        for reg in ("10A", "7A", "R"):
            learner(wales.secondary, registration_group=reg)
        client = login(teacher)
        for url in (reverse("printing:group_choose"), reverse("passwords:group_reset")):
            page = client.get(url, {"org": wales.secondary.code}).content.decode()
            offered = [g for g in re.findall(r'<option value="([^"]*)"', page) if g in ("R", "7A", "10A")]
            assert offered[:3] == ["R", "7A", "10A"], url


@pytest.mark.django_db
class GroupSortTests:
    """View Learners sorted by Year or Reg group: school order (numbers as numbers), not text order."""

    GROUPS = [("Year 10", "10B"), ("Year 7", "7A"), ("Year 9", "9Ma10"), ("Year 9", "9Ma2"), ("R", "R")]

    def surnames(self, client, sort):
        page = client.get(reverse("accounts:user_list", args=["learners"]), {"sort": sort}).content.decode()
        return re.findall(r"<td>(Pupil(?:R|7A|9Ma2|9Ma10|10B))</td>", page)  # the Surname column

    @pytest.mark.parametrize(
        ("sort", "expected"),
        [
            ("year", ["PupilR", "Pupil7A", "Pupil9Ma10", "Pupil9Ma2", "Pupil10B"]),
            ("-year", ["Pupil10B", "Pupil9Ma2", "Pupil9Ma10", "Pupil7A", "PupilR"]),
            ("reg", ["PupilR", "Pupil7A", "Pupil9Ma2", "Pupil9Ma10", "Pupil10B"]),
            ("-reg", ["Pupil10B", "Pupil9Ma10", "Pupil9Ma2", "Pupil7A", "PupilR"]),
        ],
    )
    def test_year_and_registration_groups_sort_in_school_order(self, wales, login, teacher, sort, expected):
        for year, reg in self.GROUPS:
            learner(wales.secondary, year_group=year, registration_group=reg, legal_surname=f"Pupil{reg}")
        assert self.surnames(login(teacher), sort) == expected
