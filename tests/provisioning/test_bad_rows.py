"""A bad row never fails a school: every field the readers take is checked against what the accounts can hold.

A row that does not fit is refused with a reason a Digital Champion can act on, and the rest of the extract
applies, on a school's first run and on every later one. Limits come from the models, never copied numbers.
"""

import pytest
from django.utils import translation

from accounts.models import Account
from accounts.sealing import upn_hash
from provisioning.models import OneRosterClass
from provisioning.readers import read_extract
from provisioning.records import LearnerRecord, Reason, StaffRecord, refusal_message
from provisioning.rules import learner_misfit, staff_misfit
from provisioning.sync import extract_apply

from .conftest import TODAY
from .extracts import oneroster_zip, pupil, pupils_csv, staff, staff_csv, upn

SURNAME_MAX = Account._meta.get_field("legal_surname").max_length
TOO_LONG = "W" * (SURNAME_MAX + 50)


def apply(org, data):
    return extract_apply(organisation=org, extract=read_extract(data, school_code=org.code), today=TODAY)


def refused(report):
    return [(r.row, r.reason, r.field) for r in report.refused]


def learner_account(n):
    return Account.objects.get(upn_hash=upn_hash(upn(n)))


def max_length(name, model=Account):
    return model._meta.get_field(name).max_length


class FitRuleTests:
    """The checks are pure: plain records in, a reason and the field out; no database."""

    def record(self, **kw):
        return LearnerRecord(**{"row": 2, "forename": "Cerys", "surname": "Williams", "upn": upn(1), **kw})

    def test_a_value_as_long_as_the_model_field_fits_and_one_more_character_does_not(self):
        assert learner_misfit(self.record(year_group="N" * max_length("year_group"))) is None
        assert learner_misfit(self.record(year_group="N" * (max_length("year_group") + 1))) == (
            Reason.YEAR_GROUP_TOO_LONG,
            "year_group",
            max_length("year_group"),
        )

    def test_every_text_field_a_learner_row_carries_is_checked(self):
        cases = {
            "surname": ("legal_surname", Reason.SURNAME_TOO_LONG),
            "forename": ("legal_forename", Reason.FORENAME_TOO_LONG),
            "admission_number": ("admission_number", Reason.ADMISSION_NUMBER_TOO_LONG),
            "registration_group": ("registration_group", Reason.REGISTRATION_GROUP_TOO_LONG),
        }
        for name, (model_field, reason) in cases.items():
            record = self.record()
            setattr(record, name, "x" * (max_length(model_field) + 1))
            assert learner_misfit(record) == (reason, name, max_length(model_field))
        long_class = "x" * (max_length("title", OneRosterClass) + 1)
        assert learner_misfit(self.record(classes=("7A", long_class)))[0] is Reason.CLASS_TOO_LONG

    def test_every_text_field_a_staff_row_carries_is_checked(self):
        cases = {
            "staff_code": ("staff_code", Reason.STAFF_CODE_TOO_LONG),
            "staff_role": ("staff_role", Reason.STAFF_ROLE_TOO_LONG),
            "email": ("work_email", Reason.EMAIL_TOO_LONG),
            "surname": ("legal_surname", Reason.SURNAME_TOO_LONG),
        }
        for name, (model_field, reason) in cases.items():
            record = StaffRecord(row=2, forename="Siân", surname="Evans", staff_code="SEV")
            setattr(record, name, "x" * (max_length(model_field) + 1))
            assert staff_misfit(record) == (reason, name, max_length(model_field))

    def test_control_characters_and_nul_are_refused_and_welsh_letters_are_not(self):
        assert learner_misfit(self.record(surname="Ŵyn-Llŷr ap Siôn")) is None
        for bad in ("Wil\x00liams", "Wil\tliams", "Wil\nliams", "Wil\x7fliams", "Wil\x85liams"):
            assert learner_misfit(self.record(surname=bad)) == (Reason.CONTROL_CHARACTER, "surname", 0)
        assert learner_misfit(self.record(classes=("7A\x00",))) == (Reason.CONTROL_CHARACTER, "classes", 0)

    def test_the_message_says_the_limit_in_english_and_welsh(self):
        with translation.override("en"):
            assert refusal_message("surname_too_long", "100") == (
                "The legal surname is longer than 100 characters: shorten it in the MIS."
            )
        with translation.override("cy"):
            message = refusal_message("surname_too_long", "100")
            assert "100" in message and "MIS" in message and "longer" not in message


@pytest.mark.django_db
class MisLearnerTests:
    def test_a_long_surname_among_ten_good_rows_is_refused_and_the_ten_are_made(self, wales):
        rows = [pupil(n) for n in range(1, 11)] + [pupil(11, TOO_LONG)]
        report = apply(wales.secondary, pupils_csv(rows))
        assert refused(report) == [(12, Reason.SURNAME_TOO_LONG, "")]
        assert report.refused[0].message == (
            f"The legal surname is longer than {SURNAME_MAX} characters: shorten it in the MIS."
        )
        assert report.created == 10
        assert not Account.objects.filter(upn_hash=upn_hash(upn(11))).exists()

    def test_a_year_group_that_does_not_fit_is_refused(self, wales):
        rows = [pupil(n) for n in range(1, 11)] + [pupil(11, year="Year Eleven Plus")]
        report = apply(wales.secondary, pupils_csv(rows))
        assert refused(report) == [(12, Reason.YEAR_GROUP_TOO_LONG, "")]
        assert report.created == 10

    def test_a_nul_in_a_utf16_export_is_refused_not_sent_to_postgresql(self, wales):
        rows = [pupil(1), pupil(2, forename="Da\x00fydd"), pupil(3, reg="7\tA")]
        report = apply(wales.secondary, pupils_csv(rows, encoding="utf-16"))
        assert refused(report) == [(3, Reason.CONTROL_CHARACTER, ""), (4, Reason.CONTROL_CHARACTER, "")]
        assert report.created == 1

    def test_a_stray_nul_in_a_utf8_export_refuses_its_row_not_the_file(self, wales):
        rows = [pupil(n) for n in range(1, 11)] + [pupil(11, forename="Da\x00fydd")]
        report = apply(wales.secondary, pupils_csv(rows))
        assert refused(report) == [(12, Reason.CONTROL_CHARACTER, "")]
        assert report.created == 10

    def test_a_later_run_refuses_the_row_keeps_the_account_and_applies_the_rest(self, wales):
        apply(wales.secondary, pupils_csv([pupil(n) for n in range(1, 4)]))
        rows = [pupil(1, reg="R" * 60), pupil(2, year="Year Eleven Plus"), pupil(3, reg="8B"), pupil(4)]
        report = apply(wales.secondary, pupils_csv(rows))
        assert [r[:2] for r in refused(report)] == [
            (2, Reason.REGISTRATION_GROUP_TOO_LONG),
            (3, Reason.YEAR_GROUP_TOO_LONG),
        ]
        assert (report.created, report.updated, report.deactivated) == (1, 1, 0)
        assert learner_account(1).registration_group == "7A" and learner_account(1).status == "active"
        assert learner_account(2).year_group == "7" and learner_account(2).status == "active"
        assert learner_account(3).registration_group == "8B"


@pytest.mark.django_db
class MisStaffTests:
    def test_a_staff_row_that_does_not_fit_is_refused_on_the_first_run(self, wales):
        rows = [staff("AB"), staff("C" * (max_length("staff_code") + 1)), staff("EF", role="R" * 80)]
        report = apply(wales.secondary, staff_csv(rows))
        assert [r[:2] for r in refused(report)] == [
            (3, Reason.STAFF_CODE_TOO_LONG),
            (4, Reason.STAFF_ROLE_TOO_LONG),
        ]
        assert report.created == 1

    def test_a_later_run_refuses_the_row_and_keeps_the_account(self, wales):
        apply(wales.secondary, staff_csv([staff("AB"), staff("CD")]))
        report = apply(wales.secondary, staff_csv([staff("AB", TOO_LONG), staff("CD", role="Head")]))
        assert [r[:2] for r in refused(report)] == [(2, Reason.SURNAME_TOO_LONG)]
        assert (report.updated, report.deactivated) == (1, 0)
        kept = Account.objects.get(staff_code="AB")
        assert (kept.legal_surname, kept.status) == ("Evans", "active")
        assert Account.objects.get(staff_code="CD").staff_role == "Head"


@pytest.mark.django_db
class OneRosterTests:
    def test_a_learner_that_does_not_fit_is_refused_naming_the_oneroster_column(self, wales):
        learners = [{"n": n} for n in range(1, 11)] + [
            {"n": 11, "family": TOO_LONG},
            {"n": 12, "grade": "Year Eleven Plus"},
        ]
        report = apply(wales.secondary, oneroster_zip(learners=learners))
        assert refused(report) == [
            (12, Reason.SURNAME_TOO_LONG, "users.familyName"),
            (13, Reason.YEAR_GROUP_TOO_LONG, "users.grades"),
        ]
        assert report.created == 10

    def test_staff_that_do_not_fit_are_refused_first_time_and_later(self, wales):
        code = "C" * (max_length("staff_code") + 1)
        report = apply(wales.secondary, oneroster_zip(teachers=[{"code": "rmo"}, {"code": code}]))
        assert refused(report) == [(3, Reason.STAFF_CODE_TOO_LONG, "users.identifier")]
        assert report.created == 1
        report = apply(wales.secondary, oneroster_zip(teachers=[{"code": "rmo", "given": TOO_LONG}]))
        assert refused(report) == [(2, Reason.FORENAME_TOO_LONG, "users.givenName")]
        assert Account.objects.get(staff_code="RMO").status == "active"

    def test_a_class_that_cannot_be_kept_is_refused_and_its_learners_still_apply(self, wales):
        long_title = "T" * (max_length("title", OneRosterClass) + 1)
        long_homeroom = "H" * (max_length("registration_group") + 1)
        learners = [{"n": 1}, {"n": 2, "reg": long_homeroom, "classes": [long_title]}]
        report = apply(wales.secondary, oneroster_zip(learners=learners))
        assert {(r.reason, r.field, r.kind) for r in report.refused} >= {
            (Reason.CLASS_TOO_LONG, "classes.classCode", ""),
            (Reason.REGISTRATION_GROUP_TOO_LONG, "classes.classCode", ""),
        }
        assert report.created == 2
        assert set(OneRosterClass.objects.values_list("title", flat=True)) == {"7B", "7B/Sc1"}
        assert (learner_account(2).registration_group, learner_account(2).classes) == ("", [])

    def test_a_delta_joining_a_class_that_cannot_be_kept_is_refused_and_applies_the_rest(self, wales):
        apply(wales.secondary, oneroster_zip(learners=[{"n": 1}, {"n": 2}]))
        long_homeroom = "H" * (max_length("registration_group") + 1)
        delta = oneroster_zip(
            learners=[
                {"n": 1, "reg": long_homeroom, "classes": []},
                {"n": 2, "grade": "08", "enrolments": False},
            ],
            mode="delta",
        )
        report = apply(wales.secondary, delta)
        assert [(r.reason, r.field) for r in report.refused] == [
            (Reason.REGISTRATION_GROUP_TOO_LONG, "classes.classCode")
        ]
        assert learner_account(1).registration_group == "7B"
        assert learner_account(2).year_group == "8"
