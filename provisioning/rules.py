"""Eligibility rules: which rows may have an account, which are leavers, and why the rest are refused.

Pure functions of an Extract and today's date; the sync applies what they decide.
"""

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date

from accounts.models import Account
from accounts.sealing import upn_hash
from provisioning.models import NameChangeNotice, OneRosterClass
from provisioning.readers import header_key
from provisioning.records import (
    LEARNER,
    STAFF,
    ClassRecord,
    Extract,
    LearnerRecord,
    Picked,
    Reason,
    Refusal,
    StaffRecord,
    pick,
    positions,
)
from provisioning.upn import UpnStatus, upn_key, upn_status

PRE_ADMISSION_WORDS = ("preadmission", "applicant", "newintake")

_UPN_REASONS = {
    UpnStatus.MALFORMED: Reason.UPN_MALFORMED,
    UpnStatus.WRONG_CHECK_LETTER: Reason.UPN_CHECK_LETTER,
    UpnStatus.TEMPORARY: Reason.UPN_TEMPORARY,
}
# The record field a reason is about, named in the refusal where the extract says which column it came from.
_REASON_FIELDS = {
    Reason.MISSING_SURNAME: "surname",
    Reason.MISSING_FORENAME: "forename",
    Reason.MISSING_UPN: "upn",
    Reason.UPN_MALFORMED: "upn",
    Reason.UPN_CHECK_LETTER: "upn",
    Reason.UPN_TEMPORARY: "upn",
    Reason.DUPLICATE_UPN: "upn",
    Reason.MISSING_ADMISSION_NUMBER: "admission_number",
    Reason.MISSING_ADMISSION_DATE: "admission_date",
    Reason.PRE_ADMISSION: "admission_date",
    Reason.MISSING_STAFF_CODE: "staff_code",
    Reason.DUPLICATE_STAFF_CODE: "staff_code",
    Reason.STAFF_NOT_STARTED: "start_date",
}
# Text a record carries, the most the sync can store of it (the model field's max_length, never a copied
# number), and the reason a longer value is refused with. A class name is at most a OneRoster class's title.
_ACCOUNT = Account._meta
# a name goes on the account, and on a name-change notice when it differs from the account's
_SURNAME = min(
    _ACCOUNT.get_field("legal_surname").max_length, NameChangeNotice._meta.get_field("mis_surname").max_length
)
_FORENAME = min(
    _ACCOUNT.get_field("legal_forename").max_length,
    NameChangeNotice._meta.get_field("mis_forename").max_length,
)
_CLASS_TITLE = OneRosterClass._meta.get_field("title").max_length
_LEARNER_TEXT = (
    ("surname", _SURNAME, Reason.SURNAME_TOO_LONG),
    ("forename", _FORENAME, Reason.FORENAME_TOO_LONG),
    ("admission_number", _ACCOUNT.get_field("admission_number").max_length, Reason.ADMISSION_NUMBER_TOO_LONG),
    ("year_group", _ACCOUNT.get_field("year_group").max_length, Reason.YEAR_GROUP_TOO_LONG),
    (
        "registration_group",
        _ACCOUNT.get_field("registration_group").max_length,
        Reason.REGISTRATION_GROUP_TOO_LONG,
    ),
    ("classes", _CLASS_TITLE, Reason.CLASS_TOO_LONG),
)
_STAFF_TEXT = (
    ("surname", _SURNAME, Reason.SURNAME_TOO_LONG),
    ("forename", _FORENAME, Reason.FORENAME_TOO_LONG),
    ("staff_code", _ACCOUNT.get_field("staff_code").max_length, Reason.STAFF_CODE_TOO_LONG),
    ("staff_role", _ACCOUNT.get_field("staff_role").max_length, Reason.STAFF_ROLE_TOO_LONG),
    ("email", _ACCOUNT.get_field("work_email").max_length, Reason.EMAIL_TOO_LONG),
)
_CLASS_ID = OneRosterClass._meta.get_field("sourced_id").max_length
# a homeroom's title becomes its learners' registration group
_HOMEROOM_TITLE = min(_CLASS_TITLE, _ACCOUNT.get_field("registration_group").max_length)
# C0 and C1 control characters: PostgreSQL's text refuses NUL, and the others are never part of a name or a code
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


@dataclass
class Assessment:
    """An extract sorted into what the sync should do."""

    # the extract's eligible learners and its leavers (views of its records: see records.Picked)
    learners: Sequence[LearnerRecord] = field(default_factory=list)
    learner_leavers: Sequence[LearnerRecord] = field(default_factory=list)
    # every permanent UPN on the extract, refused or not, as its key (upn_key): its account is not "absent"
    learner_present: set[bytes] = field(default_factory=set)
    staff: list[StaffRecord] = field(default_factory=list)
    staff_leavers: list[StaffRecord] = field(default_factory=list)
    staff_present: set[str] = field(default_factory=set)
    refused: list[Refusal] = field(default_factory=list)
    # OneRoster: the extract's classes that an account and the class list can hold (by sourcedId)
    classes: dict[str, ClassRecord] = field(default_factory=dict)


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


def learner_misfit(record: LearnerRecord) -> tuple[Reason, str, int] | None:
    """The first text field of a learner row the account cannot hold: (reason, record field, limit or 0)."""
    return _misfit(record, _LEARNER_TEXT)


def staff_misfit(record: StaffRecord) -> tuple[Reason, str, int] | None:
    """The first text field of a staff row the account cannot hold: (reason, record field, limit or 0)."""
    return _misfit(record, _STAFF_TEXT)


def text_misfit(value: str, limit: int) -> bool:
    """Whether a value is longer than `limit` or holds a control character: what no account field can hold."""
    return len(value) > limit or _CONTROL.search(value) is not None


def assess(extract: Extract, today: date) -> Assessment:
    """Sort every row of the extract: eligible, leaver, or refused with a reason.

    The learners are read through once (twice where a UPN is on more than one row), keeping of each only its
    position and its UPN's key: the eligible learners and leavers are views of the extract's records.
    """
    out = Assessment(refused=list(extract.refused))
    out.classes = _classes_that_fit(extract, out.refused)
    # a class refused on its own row is not also a reason to refuse each learner in it: they apply without it
    unfit = {c.title for sid, c in extract.classes.items() if sid not in out.classes}
    change = functools.partial(_without_classes, titles=unfit) if unfit else None
    eligible, leavers = positions(), positions()
    # every UPN on the extract, as its key: the permanent ones (present), and others only to find duplicates
    present, others, duplicates = out.learner_present, set(), set()
    for i, r in enumerate(extract.learners):
        status = upn_status(r.upn) if r.upn else None
        permanent = status is UpnStatus.PERMANENT
        if r.upn:
            key = upn_key(upn_hash(r.upn))
            if key in present or key in others:
                duplicates.add(r.upn)
            (present if permanent else others).add(key)
        if permanent and _left(r.leaving_date, r.deleted, today):
            leavers.append(i)
            continue
        if r.deleted:
            continue
        if change is not None:
            r = change(r)
        refusal = _refusal(extract, LEARNER, r, learner_misfit(r))
        if refusal is None:
            reason = learner_refusal(r, today, status)
            refusal = _refusal(extract, LEARNER, r, reason and (reason, _REASON_FIELDS.get(reason, ""), 0))
        if refusal is not None:
            out.refused.append(refusal)
        else:
            eligible.append(i)
    if duplicates:
        # a row that is eligible on its own but shares its UPN with another (of any kind) is refused, as is the other
        kept = positions()
        for i, r in pick(extract.learners, eligible):
            if r.upn in duplicates:
                out.refused.append(_refusal(extract, LEARNER, r, (Reason.DUPLICATE_UPN, "upn", 0)))
            else:
                kept.append(i)
        eligible = kept
    out.learners = Picked(extract.learners, eligible, change)
    out.learner_leavers = Picked(extract.learners, leavers)

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
        refusal = _refusal(extract, STAFF, s, staff_misfit(s))
        if refusal is None:
            reason = staff_refusal(s, today)
            if reason is None and code_counts[s.staff_code] > 1:
                reason = Reason.DUPLICATE_STAFF_CODE
            refusal = _refusal(extract, STAFF, s, reason and (reason, _REASON_FIELDS.get(reason, ""), 0))
        if refusal is not None:
            out.refused.append(refusal)
        else:
            out.staff.append(s)
    out.refused.sort(key=lambda r: r.row)
    return out


def _classes_that_fit(extract: Extract, refused: list[Refusal]) -> dict[str, ClassRecord]:
    """The extract's classes whose id and title can be kept; each of the others is a refused classes.csv row."""
    fit = {}
    for sid, c in extract.classes.items():
        limit = _HOMEROOM_TITLE if c.homeroom else _CLASS_TITLE
        if c.deleted:
            column = ""  # a class leaving names no title the sync keeps
        elif text_misfit(sid, _CLASS_ID):
            column, value, limit = "classes.sourcedId", sid, _CLASS_ID
        elif text_misfit(c.title, limit):
            column, value = c.column, c.title
        else:
            column = ""
        if not column:
            fit[sid] = c
            continue
        long = len(value) > limit
        reason = Reason.CONTROL_CHARACTER
        if long:
            reason = Reason.REGISTRATION_GROUP_TOO_LONG if c.homeroom else Reason.CLASS_TOO_LONG
        refused.append(Refusal(c.row, reason, "", field=column, detail=str(limit) if long else ""))
    return fit


def _without_classes(record: LearnerRecord, titles: set[str]) -> LearnerRecord:
    if record.registration_group not in titles and not titles.intersection(record.classes):
        return record
    return replace(
        record,
        registration_group="" if record.registration_group in titles else record.registration_group,
        classes=tuple(c for c in record.classes if c not in titles),
    )


def _refusal(extract: Extract, kind: str, record, found: tuple[Reason, str, int] | None) -> Refusal | None:
    """A row's refusal for (reason, record field, limit), naming the column where the extract says which."""
    if found is None:
        return None
    reason, name, limit = found
    return Refusal(
        record.row,
        reason,
        kind,
        field=extract.columns.get((kind, name), ""),
        detail=str(limit) if limit else "",
    )


def _misfit(record, texts) -> tuple[Reason, str, int] | None:
    # lengths one by one (cheap), control characters in one search over the lot: a country's rows pass through
    joined = []
    for name, limit, reason in texts:
        value = getattr(record, name)
        for item in value if isinstance(value, tuple) else (value,):
            if len(item) > limit:
                return reason, name, limit
            joined.append(item)
    if _CONTROL.search("".join(joined)) is None:
        return None
    for name, _limit, _reason in texts:
        value = getattr(record, name)
        if any(_CONTROL.search(item) for item in (value if isinstance(value, tuple) else (value,))):
            return Reason.CONTROL_CHARACTER, name, 0
    return None  # unreachable: the joined text held one


def _left(leaving: date | None, deleted: bool, today: date) -> bool:
    return deleted or (leaving is not None and leaving < today)
