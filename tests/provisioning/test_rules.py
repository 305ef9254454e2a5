from datetime import date

from provisioning.readers import read_extract, read_mis_csv
from provisioning.records import Reason
from provisioning.rules import assess

from .extracts import oneroster_zip, pupil, pupils_csv, staff, staff_csv

TODAY = date(2026, 11, 22)


def reasons(rows):
    return [(r.row, r.reason) for r in assess(read_mis_csv(pupils_csv(rows)), TODAY).refused]


class LearnerRuleTests:
    def test_a_complete_row_is_eligible(self):
        result = assess(read_mis_csv(pupils_csv([pupil(1)])), TODAY)
        assert len(result.learners) == 1 and not result.refused

    def test_each_missing_field_has_its_reason(self):
        assert reasons([pupil(1, surname="")]) == [(2, Reason.MISSING_SURNAME)]
        assert reasons([pupil(1, forename="")]) == [(2, Reason.MISSING_FORENAME)]
        assert reasons([pupil(1, upn_value="")]) == [(2, Reason.MISSING_UPN)]
        assert reasons([pupil(1, adno="")]) == [(2, Reason.MISSING_ADMISSION_NUMBER)]
        assert reasons([pupil(1, admitted="")]) == [(2, Reason.MISSING_ADMISSION_DATE)]

    def test_a_delta_row_without_enrolments_is_not_refused_for_their_admission_date(self):
        extract = read_extract(oneroster_zip(learners=[{"n": 1, "enrolments": False}], mode="delta"))
        result = assess(extract, TODAY)
        assert len(result.learners) == 1 and not result.refused

    def test_upn_problems_have_their_reasons(self):
        assert reasons([pupil(1, upn_value="A801200005001")]) == [(2, Reason.UPN_CHECK_LETTER)]
        assert reasons([pupil(1, upn_value="X00180001701A")]) == [(2, Reason.UPN_TEMPORARY)]
        assert reasons([pupil(1, upn_value="12345")]) == [(2, Reason.UPN_MALFORMED)]

    def test_pre_admission_learners_wait(self):
        assert reasons([pupil(1, admitted="01/01/2027")]) == [(2, Reason.PRE_ADMISSION)]
        assert reasons([pupil(1, status="Pre-Admission")]) == [(2, Reason.PRE_ADMISSION)]
        assert reasons([pupil(1, status="Applicant")]) == [(2, Reason.PRE_ADMISSION)]
        assert reasons([pupil(1, reg="New Intake")]) == [(2, Reason.PRE_ADMISSION)]

    def test_a_duplicated_upn_refuses_both_rows(self):
        assert reasons([pupil(1), pupil(1, forename="Other")]) == [
            (2, Reason.DUPLICATE_UPN),
            (3, Reason.DUPLICATE_UPN),
        ]

    def test_a_passed_leaving_date_makes_a_leaver_not_a_refusal(self):
        result = assess(
            read_mis_csv(pupils_csv([pupil(1, leaving="21/11/2026"), pupil(2, leaving="22/11/2026")])), TODAY
        )
        assert [r.row for r in result.learner_leavers] == [2]
        assert [r.row for r in result.learners] == [3]

    def test_refused_rows_with_a_permanent_upn_still_count_as_present(self):
        result = assess(read_mis_csv(pupils_csv([pupil(1, adno="")])), TODAY)
        assert len(result.learner_present) == 1

    def test_every_reason_has_a_message(self):
        for reason in Reason:
            assert str(reason.label).endswith(".")


class StaffRuleTests:
    def test_staff_need_names_and_a_code(self):
        result = assess(
            read_mis_csv(staff_csv([staff("AB"), staff("", surname="X"), staff("CD", forename="")])), TODAY
        )
        assert [s.staff_code for s in result.staff] == ["AB"]
        assert [(r.row, r.reason) for r in result.refused] == [
            (3, Reason.MISSING_STAFF_CODE),
            (4, Reason.MISSING_FORENAME),
        ]

    def test_a_start_date_still_to_come_waits(self):
        result = assess(read_mis_csv(staff_csv([staff("AB", start="01/01/2027")])), TODAY)
        assert [r.reason for r in result.refused] == [Reason.STAFF_NOT_STARTED]

    def test_a_duplicated_staff_code_is_refused(self):
        result = assess(read_mis_csv(staff_csv([staff("AB"), staff("AB", surname="Other")])), TODAY)
        assert [r.reason for r in result.refused] == [Reason.DUPLICATE_STAFF_CODE] * 2

    def test_staff_with_a_passed_leaving_date_are_leavers(self):
        result = assess(read_mis_csv(staff_csv([staff("AB", leaving="31/08/2026")])), TODAY)
        assert [s.staff_code for s in result.staff_leavers] == ["AB"]
