"""Eligibility rules: which rows may have an account, which are leavers, and why the rest are refused.

Pure functions of an Extract and today's date; the sync applies what they decide.
"""

from dataclasses import dataclass, field
from datetime import date

from provisioning.readers import header_key
from provisioning.records import LEARNER, STAFF, Extract, LearnerRecord, Reason, Refusal, StaffRecord
from provisioning.upn import UpnStatus, upn_status

PRE_ADMISSION_WORDS = ("preadmission", "applicant", "newintake")

_UPN_REASONS = {
    UpnStatus.MALFORMED: Reason.UPN_MALFORMED,
    UpnStatus.WRONG_CHECK_LETTER: Reason.UPN_CHECK_LETTER,
    UpnStatus.TEMPORARY: Reason.UPN_TEMPORARY,
}


@dataclass
class Assessment:
    """An extract sorted into what the sync should do."""

    learners: list[LearnerRecord] = field(default_factory=list)
    learner_leavers: list[LearnerRecord] = field(default_factory=list)
    # every permanent UPN on the extract, refused or not: its account is not "absent"
    learner_present: set[str] = field(default_factory=set)
    staff: list[StaffRecord] = field(default_factory=list)
    staff_leavers: list[StaffRecord] = field(default_factory=list)
    staff_present: set[str] = field(default_factory=set)
    refused: list[Refusal] = field(default_factory=list)


def is_pre_admission(record: LearnerRecord, today: date) -> bool:
    if record.admission_date is not None and record.admission_date > today:
        return True
    words = header_key(record.enrolment_status) + "|" + header_key(record.registration_group)
    return any(w in words for w in PRE_ADMISSION_WORDS)


def learner_refusal(record: LearnerRecord, today: date, status: UpnStatus | None = None) -> Reason | None:
    """The first rule a learner row breaks, or None if it may have an account."""
    if not record.surname:
        return Reason.MISSING_SURNAME
    if not record.forename:
        return Reason.MISSING_FORENAME
    if not record.upn:
        return Reason.MISSING_UPN
    status = status or upn_status(record.upn)
    if status in _UPN_REASONS:
        return _UPN_REASONS[status]
    if not record.admission_number:
        return Reason.MISSING_ADMISSION_NUMBER
    if record.admission_date is None and "admission_date" not in record.omits:
        # a delta row without its enrolments may still update the account; the sync refuses to make one from it
        return Reason.MISSING_ADMISSION_DATE
    if is_pre_admission(record, today):
        return Reason.PRE_ADMISSION
    return None


def staff_refusal(record: StaffRecord, today: date) -> Reason | None:
    if not record.surname:
        return Reason.MISSING_SURNAME
    if not record.forename:
        return Reason.MISSING_FORENAME
    if not record.staff_code:
        return Reason.MISSING_STAFF_CODE
    if record.start_date is not None and record.start_date > today:
        return Reason.STAFF_NOT_STARTED
    return None


def assess(extract: Extract, today: date) -> Assessment:
    """Sort every row of the extract: eligible, leaver, or refused with a reason."""
    out = Assessment(refused=list(extract.refused))
    upn_counts: dict[str, int] = {}
    for r in extract.learners:
        if r.upn:
            upn_counts[r.upn] = upn_counts.get(r.upn, 0) + 1
    for r in extract.learners:
        status = upn_status(r.upn) if r.upn else None
        permanent = status is UpnStatus.PERMANENT
        if permanent:
            out.learner_present.add(r.upn)
        if permanent and _left(r.leaving_date, r.deleted, today):
            out.learner_leavers.append(r)
            continue
        if r.deleted:
            continue
        reason = learner_refusal(r, today, status)
        if reason is None and upn_counts[r.upn] > 1:
            reason = Reason.DUPLICATE_UPN
        if reason is not None:
            out.refused.append(Refusal(r.row, reason, LEARNER))
        else:
            out.learners.append(r)

    code_counts: dict[str, int] = {}
    for s in extract.staff:
        if s.staff_code:
            code_counts[s.staff_code] = code_counts.get(s.staff_code, 0) + 1
    for s in extract.staff:
        if s.staff_code:
            out.staff_present.add(s.staff_code)
        if s.staff_code and _left(s.leaving_date, s.deleted, today):
            out.staff_leavers.append(s)
            continue
        if s.deleted:
            continue
        reason = staff_refusal(s, today)
        if reason is None and code_counts[s.staff_code] > 1:
            reason = Reason.DUPLICATE_STAFF_CODE
        if reason is not None:
            out.refused.append(Refusal(s.row, reason, STAFF))
        else:
            out.staff.append(s)
    out.refused.sort(key=lambda r: r.row)
    return out


def _left(leaving: date | None, deleted: bool, today: date) -> bool:
    return deleted or (leaving is not None and leaving < today)
