"""OneRoster as brokers really send it: every role mapped or refused by name, enrolments for users the portal
does not know refused, the staff start date kept, and refusals that name the OneRoster column."""

import json
from datetime import date

import pytest
from django.core.management import call_command
from django.urls import reverse

from accounts.models import Account
from provisioning.readers import read_extract
from provisioning.records import Reason
from provisioning.runs import run_apply, run_create
from provisioning.services import token_issue
from provisioning.sync import extract_apply

from .conftest import TODAY
from .extracts import ENROL, _table, oneroster_members, oneroster_zip, pupil, pupils_csv, zip_bytes

pytestmark = pytest.mark.django_db


def apply(org, data):
    return extract_apply(organisation=org, extract=read_extract(data, school_code=org.code), today=TODAY)


def staff_at(org):
    return Account.objects.filter(organisation=org, kind=Account.Kind.STAFF, source=Account.Source.MIS)


class RoleTests:
    def test_an_aide_and_an_administrator_get_staff_accounts(self, wales):
        data = oneroster_zip(
            teachers=[{"code": "ta1", "role": "aide"}, {"code": "adm", "role": "administrator"}]
        )
        report = apply(wales.secondary, data)
        assert (report.created, report.refused) == (2, [])
        assert set(staff_at(wales.secondary).values_list("staff_code", flat=True)) == {"TA1", "ADM"}

    def test_a_teaching_assistant_sent_as_an_aide_keeps_their_account(self, wales):
        apply(wales.secondary, oneroster_zip(teachers=[{"code": "rmo"}, {"code": "ta1"}]))
        report = apply(
            wales.secondary, oneroster_zip(teachers=[{"code": "rmo"}, {"code": "ta1", "role": "aide"}])
        )
        assert (report.deactivated, report.refused) == (0, [])
        assert staff_at(wales.secondary).get(staff_code="TA1").status == Account.Status.ACTIVE

    def test_every_other_role_is_refused_naming_the_role(self, wales):
        others = ["guardian", "parent", "relative", "proctor", "ext:governor", ""]
        data = oneroster_zip(
            teachers=[{"code": "rmo"}] + [{"code": f"x{n}", "role": r} for n, r in enumerate(others)]
        )
        report = apply(wales.secondary, data)
        assert report.created == 1
        assert [(r.row, r.reason, r.field, r.detail) for r in report.refused] == [
            *[(n + 3, Reason.ROLE_NOT_PROVISIONED, "users.role", role) for n, role in enumerate(others[:-1])],
            (8, Reason.MISSING_ROLE, "users.role", ""),
        ]
        assert "“guardian”" in report.refused[0].message
        assert report.as_dict()["refused_rows"][0]["field"] == "users.role"


class DeltaEnrolmentTests:
    def test_an_enrolment_for_a_user_the_portal_has_no_account_for_is_refused(self, wales):
        apply(wales.secondary, oneroster_zip(learners=[{"n": 1}]))
        delta = oneroster_zip(
            learners=[{"n": 9, "user": False, "reg": "", "classes": ["7B/Sc1"]}], mode="delta"
        )
        report = apply(wales.secondary, delta)
        assert [(r.row, r.reason, r.field) for r in report.refused] == [
            (2, Reason.ENROLMENT_UNKNOWN_USER, "enrollments.userSourcedId")
        ]
        assert report.counts()["unchanged"] == 0 and report.created == 0


class StaffStartDateTests:
    def test_the_earliest_enrolment_begin_date_is_stored(self, wales):
        apply(wales.secondary, oneroster_zip(teachers=[{"code": "rmo", "begin": "2015-09-01"}]))
        assert staff_at(wales.secondary).get().start_date == date(2015, 9, 1)
        apply(wales.secondary, oneroster_zip(teachers=[{"code": "rmo", "begin": "2016-01-04"}]))
        assert staff_at(wales.secondary).get().start_date == date(2016, 1, 4)

    def test_a_delta_staff_row_without_enrolments_keeps_the_start_date(self, wales):
        apply(wales.secondary, oneroster_zip(teachers=[{"code": "rmo", "begin": "2015-09-01"}]))
        members = oneroster_members(teachers=[{"code": "rmo", "family": "Morgan-Jones"}], mode="delta")
        members["enrollments.csv"] = _table(ENROL, [])
        report = apply(wales.secondary, zip_bytes(members))
        assert report.refused == [] and report.name_changes == 1
        assert staff_at(wales.secondary).get().start_date == date(2015, 9, 1)


class DisplayTests:
    def run(self, org):
        # a delta: a full staff list would deactivate the Digital Champion, whom it does not list. With no bulk
        # before it the delta is held for the gap, so it is applied as a Digital Champion approving it would be.
        data = oneroster_zip(
            learners=[{"n": 1, "adno": ""}],
            teachers=[{"code": "rmo"}, {"code": "p1", "role": "parent"}],
            mode="delta",
        )
        run = run_create(organisation=org, data=data, source="command")
        run_apply(run=run, today=TODAY)
        run.refresh_from_db()
        assert run.status == run.Status.HELD and run.hold_reason == "gap"
        run_apply(run=run, today=TODAY, approve=True)
        return run

    def test_the_run_page_names_the_oneroster_column(self, wales, digital_champion, login):
        run = self.run(wales.secondary)
        html = login(digital_champion).get(reverse("provisioning:run_detail", args=[run.pk])).content.decode()
        assert "Field in the file" in html
        assert "<code>users.identifier</code>" in html and "The admission number is missing" in html
        assert "<code>users.role</code>" in html and "The role “parent” has no Hwb account" in html

    def test_the_run_page_names_it_in_welsh(self, wales, digital_champion, login):
        run = self.run(wales.secondary)
        client = login(digital_champion)
        client.cookies["django_language"] = "cy"
        html = client.get(
            reverse("provisioning:run_detail", args=[run.pk]), HTTP_ACCEPT_LANGUAGE="cy"
        ).content.decode()
        assert "Maes yn y ffeil" in html and "<code>users.role</code>" in html
        assert "Nid oes cyfrif Hwb o&#x27;r MIS i&#x27;r rôl “parent”" in html

    def test_an_mis_run_page_has_no_field_column(self, wales, digital_champion, login):
        run = run_create(organisation=wales.secondary, data=pupils_csv([pupil(1, adno="")]), source="command")
        run_apply(run=run, today=TODAY)
        html = login(digital_champion).get(reverse("provisioning:run_detail", args=[run.pk])).content.decode()
        assert "Field in the file" not in html and "missing_admission_number" in html

    def test_the_stored_run_names_the_column(self, wales):
        run = self.run(wales.secondary)
        run.refresh_from_db()
        assert {
            "row": 2,
            "reason": "missing_admission_number",
            "kind": "learner",
            "field": "users.identifier",
        } in (run.refused_rows)
        assert {
            "row": 4,
            "reason": "role_not_provisioned",
            "kind": "",
            "field": "users.role",
            "detail": "parent",
        } in (run.refused_rows)
        json.dumps(run.refused_rows)

    def test_the_client_api_names_the_column(self, client, wales):
        token = token_issue(organisation=wales.secondary)
        run = self.run(wales.secondary)
        body = client.get(
            reverse("provisioning:api_run", args=[run.pk]), HTTP_AUTHORIZATION=f"Bearer {token}"
        ).json()
        rows = {r["reason"]: r for r in body["refused_rows"]}
        assert rows["missing_admission_number"]["field"] == "users.identifier"
        assert "“parent”" in rows["role_not_provisioned"]["message"]

    def test_the_command_names_the_column(self, wales, tmp_path, capsys):
        path = tmp_path / "package.zip"
        # a bulk package: a delta with none before it would be held for the gap without being read
        path.write_bytes(oneroster_zip(learners=[{"n": 1, "adno": ""}, {"n": 2}]))
        call_command("provision", str(path), school=wales.secondary.code)
        assert "row 2 (users.identifier): missing_admission_number" in capsys.readouterr().out
