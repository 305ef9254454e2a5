"""The Provisioning page: who may see it, held runs, refused rows, name-change notices."""

import re

import pytest
from django.urls import reverse

from accounts.models import Account, RoleGrant
from provisioning.models import NameChangeNotice, ProvisioningRun
from provisioning.readers import read_extract
from provisioning.runs import run_apply, run_create
from provisioning.sync import extract_apply
from tests.factories import grant
from tests.factories import staff as staff_account

from .conftest import TODAY
from .extracts import pupil, pupils_csv

pytestmark = pytest.mark.django_db


def held_run(org, n=30):
    rows = [pupil(i) for i in range(1, n + 1)]
    run_apply(run=run_create(organisation=org, data=pupils_csv(rows), source="command"), today=TODAY)
    run = run_create(organisation=org, data=pupils_csv(rows[: n // 2]), source="command")
    run_apply(run=run, today=TODAY)
    run.refresh_from_db()
    return run


@pytest.fixture
def other_champion(wales):
    account = staff_account(wales.other_school, legal_forename="Aled", legal_surname="Roberts")
    grant(account, RoleGrant.Role.DIGITAL_CHAMPION, wales.other_school)
    return account


class PageTests:
    def test_a_digital_champion_sees_runs_held_runs_and_the_chart(self, wales, digital_champion, login):
        run = held_run(wales.secondary)
        response = login(digital_champion).get(reverse("provisioning:page"))
        assert response.status_code == 200
        html = response.content.decode()
        assert "Runs waiting for approval" in html
        assert reverse("provisioning:run_approve", args=[run.pk]) in html
        assert "<svg" in html and 'role="img"' in html

    def test_the_charts_labels_fit_inside_it(self, wales, digital_champion, login):
        """A run that made 801 accounts: its label '+801' after the longest bar was clipped to '+'."""
        for made, gone in ((801, 12), (35, 801), (3, 0)):
            ProvisioningRun.objects.create(
                organisation=wales.secondary,
                status=ProvisioningRun.Status.APPLIED,
                created=made,
                deactivated=gone,
            )
        page = login(digital_champion).get(reverse("provisioning:page")).content.decode()
        svg = re.search(r'<svg[^>]*width="([\d.]+)"[^>]*>(.*?)</svg>', page, re.S)
        width = float(svg.group(1))
        labels = re.findall(r'<text x="([\d.]+)"[^>]*font-size="11">([^<]*)</text>', svg.group(2))
        assert {"+801", "−801"} <= {text for _x, text in labels}
        for x, text in labels:
            assert float(x) + 7 * len(text) <= width, f"{text!r} at {x} is clipped at {width}"

    def test_anonymous_is_sent_to_log_in(self, client, wales):
        response = client.get(reverse("provisioning:page"))
        assert response.status_code == 302 and reverse("accounts:login") in response["Location"]

    def test_a_teacher_may_not(self, wales, teacher, login):
        assert login(teacher).get(reverse("provisioning:page")).status_code == 403

    def test_wrong_method(self, wales, digital_champion, login):
        assert login(digital_champion).post(reverse("provisioning:page")).status_code == 405

    def test_a_national_admin_picks_a_school(self, wales, national_admin, login):
        held_run(wales.secondary)
        client = login(national_admin)
        every = client.get(reverse("provisioning:page"))
        assert every.status_code == 200 and every.context["school"] is None  # all their schools
        response = client.get(reverse("provisioning:page"), {"org": wales.secondary.code})
        assert response.status_code == 200 and "Runs waiting for approval" in response.content.decode()
        assert response.context["school"] == wales.secondary
        assert f"({wales.secondary.code})</span></h1>" in response.content.decode()
        assert (
            client.get(reverse("provisioning:page"), {"org": wales.la.code}).status_code == 404
        )  # not a school


class RunDetailTests:
    def test_it_shows_refused_rows_with_their_messages(self, wales, digital_champion, login):
        run = run_create(
            organisation=wales.secondary,
            data=pupils_csv([pupil(1, upn_value="X00180001701A")]),
            source="command",
        )
        run_apply(run=run, today=TODAY)
        html = login(digital_champion).get(reverse("provisioning:run_detail", args=[run.pk])).content.decode()
        assert "upn_temporary" in html and "permanent UPN" in html

    def test_it_is_shown_in_welsh(self, wales, digital_champion, login):
        run = run_create(organisation=wales.secondary, data=pupils_csv([pupil(1)]), source="command")
        run_apply(run=run, today=TODAY)
        client = login(digital_champion)
        client.cookies["django_language"] = "cy"
        response = client.get(reverse("provisioning:run_detail", args=[run.pk]), HTTP_ACCEPT_LANGUAGE="cy")
        html = response.content.decode()
        assert response.status_code == 200 and '<html lang="cy">' in html
        for welsh in ("Rhediad darparu", "Beth wnaeth y rhediad", "Ni wrthodwyd unrhyw resi."):
            assert welsh in html
        assert "Provisioning run" not in html

    def test_another_schools_run_is_not_found(self, wales, other_champion, login):
        run = held_run(wales.secondary)
        assert login(other_champion).get(reverse("provisioning:run_detail", args=[run.pk])).status_code == 404
        assert (
            login(other_champion).post(reverse("provisioning:run_approve", args=[run.pk])).status_code == 404
        )


class HeldRunTests:
    def test_approve_asks_for_confirmation_then_applies(self, wales, digital_champion, login):
        run = held_run(wales.secondary)
        client = login(digital_champion)
        response = client.get(reverse("provisioning:run_approve", args=[run.pk]))
        assert response.status_code == 200 and "Yes, apply it" in response.content.decode()
        run.refresh_from_db()
        assert run.status == "held"
        response = client.post(reverse("provisioning:run_approve", args=[run.pk]))
        assert response.status_code == 302
        run.refresh_from_db()
        assert run.status == "applied" and run.decided_by_id == digital_champion.pk
        assert (
            Account.objects.filter(organisation=wales.secondary, kind="learner", status="deactivated").count()
            == 15
        )

    def test_reject_discards(self, wales, digital_champion, login):
        run = held_run(wales.secondary)
        login(digital_champion).post(reverse("provisioning:run_reject", args=[run.pk]))
        run.refresh_from_db()
        assert run.status == "rejected"
        assert not Account.objects.filter(
            organisation=wales.secondary, kind="learner", status="deactivated"
        ).exists()

    def test_a_teacher_may_not_approve(self, wales, teacher, login):
        run = held_run(wales.secondary)
        assert login(teacher).post(reverse("provisioning:run_approve", args=[run.pk])).status_code == 403

    def test_approving_needs_csrf(self, wales, digital_champion):
        from django.test import Client

        run = held_run(wales.secondary)
        client = Client(enforce_csrf_checks=True)
        client.force_login(digital_champion, backend="accounts.backends.UsernameOrEmailBackend")
        assert client.post(reverse("provisioning:run_approve", args=[run.pk])).status_code == 403
        run.refresh_from_db()
        assert run.status == ProvisioningRun.Status.HELD


class NoticeTests:
    def _notice(self, org):
        extract_apply(
            organisation=org, extract=read_extract(pupils_csv([pupil(1, "Jones", "Elin")])), today=TODAY
        )
        extract_apply(
            organisation=org, extract=read_extract(pupils_csv([pupil(1, "Parri", "Elin")])), today=TODAY
        )
        return NameChangeNotice.objects.get()

    def test_a_pending_notice_is_listed_and_can_be_accepted(self, wales, digital_champion, login):
        notice = self._notice(wales.secondary)
        client = login(digital_champion)
        assert "Parri" in client.get(reverse("provisioning:page")).content.decode()
        response = client.post(reverse("provisioning:notice_accept", args=[notice.pk]))
        assert response["Location"] == reverse("provisioning:page") + f"?org={wales.secondary.code}"
        notice.refresh_from_db()
        notice.account.refresh_from_db()
        assert notice.status == "accepted" and notice.account.legal_surname == "Parri"

    def test_dismiss_needs_post(self, wales, digital_champion, login):
        notice = self._notice(wales.secondary)
        assert (
            login(digital_champion).get(reverse("provisioning:notice_dismiss", args=[notice.pk])).status_code
            == 405
        )

    def test_another_school_cannot_touch_it(self, wales, other_champion, login):
        notice = self._notice(wales.secondary)
        assert (
            login(other_champion).post(reverse("provisioning:notice_dismiss", args=[notice.pk])).status_code
            == 404
        )


class QueryCountTests:
    def test_the_page_does_not_grow_queries_with_runs(
        self, wales, digital_champion, login, django_assert_max_num_queries
    ):
        client = login(digital_champion)
        for n in range(3):
            run_apply(
                run=run_create(
                    organisation=wales.secondary, data=pupils_csv([pupil(n + 1)]), source="command"
                ),
                today=TODAY,
            )
        client.get(reverse("provisioning:page"))
        with django_assert_max_num_queries(14) as ctx:
            client.get(reverse("provisioning:page"))
        few = len(ctx.captured_queries)
        for n in range(10):
            run_apply(
                run=run_create(
                    organisation=wales.secondary, data=pupils_csv([pupil(n + 1)]), source="command"
                ),
                today=TODAY,
            )
        with django_assert_max_num_queries(few):
            client.get(reverse("provisioning:page"))


class AccessMatrixTests:
    """Every page: anonymous to log in, a teacher 403, another school's Digital Champion 404."""

    def _urls(self, org):
        run = held_run(org)
        extract_apply(
            organisation=org,
            extract=read_extract(
                pupils_csv([pupil(1, "Newname", "Elin")] + [pupil(i) for i in range(2, 31)])
            ),
            today=TODAY,
        )
        notice = NameChangeNotice.objects.get()
        return [
            ("get", reverse("provisioning:run_detail", args=[run.pk])),
            ("get", reverse("provisioning:run_approve", args=[run.pk])),
            ("post", reverse("provisioning:run_reject", args=[run.pk])),
            ("post", reverse("provisioning:notice_accept", args=[notice.pk])),
            ("post", reverse("provisioning:notice_dismiss", args=[notice.pk])),
        ]

    def test_anonymous_is_sent_to_log_in(self, client, wales):
        for method, url in self._urls(wales.secondary):
            response = getattr(client, method)(url)
            assert response.status_code == 302 and "/login/" in response["Location"], url

    def test_a_teacher_is_refused(self, wales, teacher, login):
        client = login(teacher)
        for method, url in self._urls(wales.secondary):
            assert getattr(client, method)(url).status_code == 403, url

    def test_another_schools_champion_finds_nothing(self, wales, other_champion, login):
        client = login(other_champion)
        for method, url in self._urls(wales.secondary):
            assert getattr(client, method)(url).status_code == 404, url

    def test_an_la_admin_is_refused_at_their_las_schools(self, wales, la_admin, login):
        client = login(la_admin)
        for method, url in self._urls(wales.secondary):
            assert getattr(client, method)(url).status_code == 403, url
        assert client.get(reverse("provisioning:page")).status_code == 403

    def test_a_national_admin_may(self, wales, national_admin, login):
        client = login(national_admin)
        for method, url in self._urls(wales.secondary)[:2]:
            assert getattr(client, method)(url).status_code == 200, url
