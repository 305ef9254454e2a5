"""The Audit page: events in scope, search, pagination, CSV export, read-only."""

import csv
import html
import io
import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.audit import AuditAction, audit_count, audit_record
from accounts.models import AuditEvent, AuditFailureCount

AUDIT = reverse("accounts:audit")
EXPORT = reverse("accounts:audit_export")


@pytest.fixture
def events(wales, digital_champion, teacher, secondary_learner, other_learner, other_teacher):
    return {
        "reveal": audit_record(
            actor=teacher,
            action=AuditAction.PASSWORD_REVEAL,
            targets=[secondary_learner],
            organisation=wales.secondary,
        ),
        "signin": audit_record(
            actor=teacher, action=AuditAction.SIGNIN_SUCCESS, targets=[teacher], organisation=wales.secondary
        ),
        "rename": audit_record(
            actor=digital_champion,
            action=AuditAction.ACCOUNT_RENAME,
            targets=[secondary_learner],
            organisation=wales.secondary,
            details={"old": {"surname": "=HYPERLINK(1)"}},
        ),
        "other": audit_record(
            actor=other_teacher,
            action=AuditAction.PASSWORD_REVEAL,
            targets=[other_learner],
            organisation=wales.other_school,
        ),
    }


def actions(response):
    return [row["event"].action for row in response.context["rows"]]


@pytest.mark.django_db
class TestAuditPage:
    def test_a_digital_champion_sees_their_schools_events(self, login, digital_champion, events):
        response = login(digital_champion).get(AUDIT)
        assert response.status_code == 200
        ids = {row["event"].pk for row in response.context["rows"]}
        assert ids == {events["reveal"].pk, events["signin"].pk, events["rename"].pk}

    def test_the_navigation_links_to_it(self, login, digital_champion, teacher):
        assert AUDIT in login(digital_champion).get(reverse("accounts:home")).content.decode()
        assert AUDIT not in login(teacher).get(reverse("accounts:home")).content.decode()

    def test_it_names_actor_and_accounts(self, login, digital_champion, teacher, secondary_learner, events):
        page = login(digital_champion).get(AUDIT, {"action": "password.reveal"}).content.decode()
        assert teacher.username in page and secondary_learner.username in page

    def test_search_by_account(self, login, digital_champion, secondary_learner, events):
        response = login(digital_champion).get(AUDIT, {"account": secondary_learner.username.lower()})
        assert sorted(actions(response)) == ["account.rename", "password.reveal"]

    def test_search_by_actor(self, login, digital_champion, teacher, events):
        response = login(digital_champion).get(AUDIT, {"actor": teacher.username})
        assert sorted(actions(response)) == ["password.reveal", "signin.success"]

    def test_search_by_action_prefix(self, login, digital_champion, events):
        assert actions(login(digital_champion).get(AUDIT, {"action": "account."})) == ["account.rename"]

    def test_search_by_date(self, login, digital_champion, wales, events):
        old = AuditEvent.objects.create(
            action="account.create",
            organisation=wales.secondary,
            created_at=timezone.now() - timedelta(days=40),
        )
        day = timezone.localdate(old.created_at)
        response = login(digital_champion).get(
            AUDIT, {"date_from": day.isoformat(), "date_to": day.isoformat()}
        )
        assert [row["event"].pk for row in response.context["rows"]] == [old.pk]

    def test_a_deleted_account_is_found_by_its_opaque_id(self, login, digital_champion, wales):
        audit_record(
            actor=None,
            action=AuditAction.LIFECYCLE_DELETE_LEAVER,
            targets=[987654],
            organisation=wales.secondary,
        )
        response = login(digital_champion).get(AUDIT, {"account": "987654"})
        assert actions(response) == ["lifecycle.delete_leaver"]
        assert "#987654" in response.content.decode()

    def test_it_is_paginated_with_a_constant_number_of_queries(
        self, login, digital_champion, wales, teacher, django_assert_max_num_queries
    ):
        for n in range(120):
            audit_record(
                actor=teacher,
                action=AuditAction.PASSWORD_REVEAL,
                targets=[teacher],
                organisation=wales.secondary,
                details={"n": n},
            )
        client = login(digital_champion)
        client.get(AUDIT)
        with django_assert_max_num_queries(14):
            response = client.get(AUDIT, {"page": 2})
        assert len(response.context["rows"]) == 50 and response.context["page"].paginator.num_pages == 3

    def test_an_la_admin_sees_their_las_own_events_not_its_schools(self, login, la_admin, wales, events):
        own = audit_record(
            actor=la_admin, action=AuditAction.PASSWORD_RESET, targets=[la_admin], organisation=wales.la
        )
        ids = {row["event"].pk for row in login(la_admin).get(AUDIT).context["rows"]}
        assert ids == {own.pk}

    def test_a_national_admin_sees_everything(self, login, national_admin, events):
        ids = {row["event"].pk for row in login(national_admin).get(AUDIT).context["rows"]}
        assert {e.pk for e in events.values()} <= ids

    def test_a_teacher_is_refused(self, login, teacher, events):
        assert login(teacher).get(AUDIT).status_code == 403
        assert login(teacher).post(EXPORT).status_code == 403

    def test_anonymous_and_wrong_methods(self, client, login, digital_champion):
        assert client.get(AUDIT).url.startswith(reverse("accounts:login"))
        client = login(digital_champion)
        assert client.post(AUDIT).status_code == 405
        assert client.get(EXPORT).status_code == 405

    def test_the_page_is_read_only(self, login, digital_champion, events):
        before = AuditEvent.objects.count()
        login(digital_champion).get(AUDIT, {"account": "x", "page": "3"})
        assert AuditEvent.objects.count() == before


@pytest.mark.django_db
class TestAuditExport:
    def test_it_exports_the_filtered_events_as_csv_and_audits_it(
        self, login, digital_champion, teacher, events
    ):
        response = login(digital_champion).post(EXPORT, {"actor": teacher.username})
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/csv")
        assert "attachment" in response["Content-Disposition"]
        rows = list(csv.reader(io.StringIO(response.content.decode())))
        assert rows[0][:3] == ["Time", "Action", "Outcome"]
        assert rows[0][8] == "Action code"
        assert sorted((r[1], r[8]) for r in rows[1:]) == [
            ("Password shown", "password.reveal"),
            ("Signed in", "signin.success"),
        ]
        export = AuditEvent.objects.get(action="audit.export")
        assert export.actor_id == digital_champion.pk and export.details["rows"] == 2

    def test_cells_cannot_become_formulas(self, login, digital_champion, events):
        response = login(digital_champion).post(EXPORT, {"action": "account.rename"})
        rows = list(csv.reader(io.StringIO(response.content.decode())))
        assert "=HYPERLINK" in rows[1][7] and not rows[1][7].startswith("=")

    def test_it_needs_csrf(self, digital_champion):
        from django.test import Client

        client = Client(enforce_csrf_checks=True)
        client.force_login(digital_champion, backend="accounts.backends.UsernameOrEmailBackend")
        assert client.post(EXPORT).status_code == 403

    def test_in_welsh_the_csv_names_the_actions_in_welsh(self, login, digital_champion, teacher, events):
        client = login(digital_champion)
        client.cookies["django_language"] = "cy"
        response = client.post(EXPORT, {"actor": teacher.username})
        rows = list(csv.reader(io.StringIO(response.content.decode())))
        assert rows[0][1] == "Gweithred"
        assert sorted((r[1], r[8]) for r in rows[1:]) == [
            ("Cyfrinair wedi'i ddangos", "password.reveal"),
            ("Wedi mewngofnodi", "signin.success"),
        ]


@pytest.mark.django_db
class TestActionLabels:
    def test_the_page_shows_each_actions_label_and_never_its_code(self, login, digital_champion, events):
        """A code is English: a Welsh reader saw "password.reveal" as a tooltip. The CSV keeps the codes."""
        for language in ("en", "cy"):
            client = login(digital_champion)
            client.cookies["django_language"] = language
            page = client.get(AUDIT).content.decode()
            shown = re.sub(r'value="[^"]*"', "", page)  # option values are not shown
            assert "password.reveal" not in shown and "signin.success" not in shown, language
        client.cookies["django_language"] = "en"
        assert "<td>Password shown</td>" in client.get(AUDIT).content.decode()

    def test_an_event_about_many_accounts_collapses_them(self, login, digital_champion, wales):
        from tests.factories import learner

        many = [learner(wales.secondary) for _ in range(5)]
        audit_record(
            actor=digital_champion,
            action=AuditAction.PASSWORD_GROUP_RESET,
            targets=many,
            organisation=wales.secondary,
        )
        page = login(digital_champion).get(AUDIT).content.decode()
        assert "<details><summary>5 accounts</summary>" in page
        assert all(account.username in page for account in many)

    def test_in_welsh_the_csv_has_a_welsh_name(self, login, digital_champion, events):
        client = login(digital_champion)
        client.cookies["django_language"] = "cy"
        assert 'filename="archwiliad.csv"' in client.post(EXPORT)["Content-Disposition"]

    def test_in_welsh_the_page_shows_the_welsh_labels(self, login, digital_champion, events):
        client = login(digital_champion)
        client.cookies["django_language"] = "cy"
        page = html.unescape(client.get(AUDIT).content.decode())
        assert "Cyfrinair wedi'i ddangos" in page and "Enw wedi'i olygu" in page
        assert "Password shown" not in page

    def test_a_code_no_longer_in_use_is_shown_as_it_was_stored(self, login, digital_champion, wales):
        AuditEvent.objects.create(action="legacy.something", organisation=wales.secondary)
        page = login(digital_champion).get(AUDIT).content.decode()
        assert "<td>legacy.something</td>" in page

    def test_the_action_filter_offers_the_labels(self, login, digital_champion, events):
        page = login(digital_champion).get(AUDIT).content.decode()
        assert '<option value="password.reveal">Password shown</option>' in page
        assert '<option value="password.">All password actions</option>' in page

    def test_an_action_matches_only_itself(self, login, digital_champion, teacher, wales):
        for action in (AuditAction.PASSWORD_GROUP_RESET, AuditAction.PASSWORD_GROUP_RESET_REQUESTED):
            audit_record(actor=teacher, action=action, organisation=wales.secondary)
        client = login(digital_champion)
        assert actions(client.get(AUDIT, {"action": "password.group_reset"})) == ["password.group_reset"]
        assert sorted(actions(client.get(AUDIT, {"action": "password."}))) == [
            "password.group_reset",
            "password.group_reset.requested",
        ]


@pytest.mark.django_db
class TestCountedRefusals:
    """Refusals of unauthenticated sources are counted per action, address and minute (issue 11, item 8)."""

    @pytest.fixture
    def flood(self, rf):
        request = rf.get("/", REMOTE_ADDR="203.0.113.9")
        # all within one minute, as a flood's counts are kept: a real clock may cross into the next minute
        moment = timezone.now().replace(second=30)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(timezone, "now", lambda: moment)
            for _ in range(50):
                audit_count(action=AuditAction.PROVISIONING_API_DENIED, request=request)
            for _ in range(7):
                audit_count(action=AuditAction.SIGNIN_FAILURE, request=request)
        return request

    def test_a_national_auditor_sees_them_counted(self, login, national_admin, flood):
        response = login(national_admin).get(AUDIT)
        page = response.content.decode()
        assert "Refused requests from unknown sources" in page
        assert [(c.action, c.count) for c, _label in response.context["counts"]] == [
            ("provisioning.api_denied", 50),
            ("signin.failure", 7),
        ]
        assert "Provisioning Client refused: token not valid" in page and "203.0.113.9" in page

    def test_the_action_filter_applies_and_a_search_by_account_matches_none(
        self, login, national_admin, flood
    ):
        client = login(national_admin)
        filtered = client.get(AUDIT, {"action": "signin."}).context["counts"]
        assert [(c.action, c.count) for c, _label in filtered] == [("signin.failure", 7)]
        assert client.get(AUDIT, {"account": national_admin.username}).context["counts"] == []

    def test_a_school_auditor_does_not_see_them(self, login, digital_champion, flood):
        response = login(digital_champion).get(AUDIT)
        assert response.context["counts"] == []
        assert "Refused requests from unknown sources" not in response.content.decode()

    def test_the_csv_has_them_after_the_events(self, login, national_admin, flood):
        response = login(national_admin).post(EXPORT)
        rows = list(csv.reader(io.StringIO(response.content.decode())))
        counted = [row for row in rows if row[-1] in ("provisioning.api_denied", "signin.failure")]
        assert [(row[2], row[6], row[7], row[8]) for row in counted] == [
            ("denied", "203.0.113.9", '{"count": 50}', "provisioning.api_denied"),
            ("failure", "203.0.113.9", '{"count": 7}', "signin.failure"),
        ]
        assert AuditFailureCount.objects.count() == 2
