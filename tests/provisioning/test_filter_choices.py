"""View Learners' year and registration group filters are cached, and a provisioning run forgets them at once."""

import re

import pytest
from django.urls import reverse

from accounts.models import Account
from accounts.selectors import group_choices, list_filter_choices
from managing.services import account_deactivate
from provisioning.readers import read_extract
from provisioning.sync import extract_apply

from .conftest import TODAY
from .extracts import pupil, pupils_csv

pytestmark = pytest.mark.django_db
LEARNERS = reverse("accounts:user_list", args=["learners"])


def apply(org, rows):
    return extract_apply(
        organisation=org, extract=read_extract(pupils_csv(rows), school_code=org.code), today=TODAY
    )


def offered_groups(page):
    select = re.search(r'<select name="reg".*?</select>', page, re.S).group(0)
    return [value for value in re.findall(r'<option value="([^"]*)"', select) if value]


def test_the_filters_are_read_once_and_kept(wales, django_assert_num_queries):
    apply(wales.secondary, [pupil(1, reg="7A")])
    assert list_filter_choices(organisation=wales.secondary)["reg_groups"] == ["7A"]
    with django_assert_num_queries(0):
        assert list_filter_choices(organisation=wales.secondary)["reg_groups"] == ["7A"]


def test_a_provisioning_run_shows_its_new_groups_on_the_next_page(
    wales, login, teacher, django_capture_on_commit_callbacks
):
    apply(wales.secondary, [pupil(1, reg="7A")])
    client = login(teacher)
    assert offered_groups(client.get(LEARNERS).content.decode()) == ["7A"]
    with django_capture_on_commit_callbacks(execute=True):  # the run forgets them once it is committed
        apply(wales.secondary, [pupil(1, reg="7A"), pupil(2, reg="7B", year="Year 7")])
    assert offered_groups(client.get(LEARNERS).content.decode()) == ["7A", "7B"]


def test_deactivating_a_groups_last_learner_takes_it_off_the_filters(
    wales, login, teacher, digital_champion, django_capture_on_commit_callbacks
):
    apply(wales.secondary, [pupil(1, reg="7A"), pupil(2, reg="8C", year="Year 8")])
    client = login(teacher)
    assert offered_groups(client.get(LEARNERS).content.decode()) == ["7A", "8C"]
    last = Account.objects.get(organisation=wales.secondary, registration_group="8C")
    with django_capture_on_commit_callbacks(execute=True):
        account_deactivate(account=last, actor=digital_champion)
    assert offered_groups(client.get(LEARNERS).content.decode()) == ["7A"]


def test_group_resets_and_printing_check_against_groups_read_afresh(wales):
    apply(wales.secondary, [pupil(1, reg="7A")])
    list_filter_choices(organisation=wales.secondary)  # cached
    Account.objects.filter(organisation=wales.secondary).update(registration_group="9Z")  # no forget
    assert group_choices(organisation=wales.secondary)["reg_groups"] == ["9Z"]
