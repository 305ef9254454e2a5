"""An MIS CSV export (SIMS, Teacher Centre and the like): the full list of a school's pupils, or of its staff."""

import functools

from provisioning.readers.text import (
    CsvFile,
    ExtractError,
    Problem,
    header_key,
    opener,
    parse_bool,
    parse_date,
    parse_year,
    split_list,
)
from provisioning.records import (
    LEARNER,
    LEARNER_FIELDS,
    STAFF,
    STAFF_FIELDS,
    Extract,
    LearnerRecord,
    Reason,
    RecordStream,
    Refusal,
    StaffRecord,
)
from provisioning.upn import upn_normalise

# Each field's header variants, most specific first: a file with both "Legal Surname" and "Surname" uses the legal one.
LEARNER_HEADERS = {
    "surname": ("legalsurname", "surname", "lastname", "familyname"),
    "forename": ("legalforename", "forename", "firstname", "givenname"),
    "upn": ("upn", "uniquepupilnumber"),
    "admission_number": ("adno", "admissionnumber", "admissionno", "admno"),
    "admission_date": ("admissiondate", "dateofadmission", "dateofentry", "entrydate"),
    "year_group": ("yeargroup", "ncyear", "ncyearactual", "year", "curriculumyear"),
    "registration_group": ("reggroup", "registrationgroup", "regroup", "form", "tutorgroup"),
    "classes": ("class", "classes"),
    "leaving_date": ("leavingdate", "dateofleaving"),
    "enrolment_status": ("enrolmentstatus", "enrollmentstatus", "status"),
    "consent": ("consent", "hwbconsent", "internetconsent"),
}
STAFF_HEADERS = {
    "surname": ("legalsurname", "surname", "lastname", "familyname"),
    "forename": ("legalforename", "forename", "firstname", "givenname"),
    "staff_code": ("staffcode", "code"),
    "start_date": ("employmentstartdate", "startdate", "dateofarrival"),
    "leaving_date": ("leavingdate", "employmentenddate", "enddate", "dateofleaving"),
    "staff_role": ("role", "staffrole", "workforcecensusrole", "post"),
    "email": ("workemail", "email", "emailaddress"),
}


def read_mis_csv(source) -> Extract:
    """A SIMS or Teacher Centre export of pupils or of staff: the full list of that kind at the school.

    `source` is the file's bytes, its path, or an opener of its bytes (text.opener): the file is streamed, a row at
    a time. Staff records are kept (a school has hundreds); learner records are read again from the file each
    time they are wanted (a RecordStream), so that memory does not grow with a school's pupils.
    """
    open_stream = opener(source)
    rows = CsvFile(open_stream)
    header = rows.header
    extract = Extract(format="mis-csv", full=True)
    learner_cols = _columns(header, LEARNER_HEADERS)
    staff_cols = _columns(header, STAFF_HEADERS)
    names = {"surname", "forename"}
    # a school's rows repeat a few names, groups and roles: each is kept once, not once a row
    shared: dict[str, str] = {}
    if names <= learner_cols.keys() and "upn" in learner_cols:
        extract.kinds.add(LEARNER)
        extract.learner_fields = {f for f in learner_cols if f in LEARNER_FIELDS}
        # Read through once for the rows it refuses and how many records it makes, keeping none: a school's
        # pupils are read again from the file wherever the rules and the sync need them.
        count = 0
        for line, fields in rows:
            extract.rows += 1
            count += (
                _learner_row(line, fields, learner_cols, len(header), extract.refused, shared) is not None
            )
        read = functools.partial(_learners, open_stream, rows.encoding, learner_cols, len(header))
        extract.learners = RecordStream(read, count)
    elif names <= staff_cols.keys() and "staff_code" in staff_cols:
        extract.kinds.add(STAFF)
        extract.staff_fields = {f for f in staff_cols if f in STAFF_FIELDS}
        for line, fields in rows:
            extract.rows += 1
            record = _staff_row(line, fields, staff_cols, len(header), extract.refused, shared)
            if record is not None:
                extract.staff.append(record)
    else:
        raise ExtractError(Problem.UNKNOWN_HEADERS, ", ".join(header[:20]))
    extract.truncated = rows.truncated
    return extract


# ---------------------------------------------------------------- helpers


def _learners(open_stream, encoding: str, cols: dict[str, int], width: int):
    """The export's learner records, read from its file again (rows it refuses were counted the first time)."""
    shared: dict[str, str] = {}
    for line, fields in CsvFile(open_stream, encoding):
        record = _learner_row(line, fields, cols, width, [], shared)
        if record is not None:
            yield record


def _columns(header: list[str], variants: dict[str, tuple[str, ...]]) -> dict[str, int]:
    keys = [header_key(h) for h in header]
    found: dict[str, int] = {}
    for name, options in variants.items():
        for option in options:
            if option in keys:
                found[name] = keys.index(option)
                break
    return found


def _learner_row(line, fields, cols, width, refused, shared) -> LearnerRecord | None:
    cells = _cells(line, fields, cols, width, refused, LEARNER, ("admission_date", "leaving_date"))
    if cells is None:
        return None
    get, (admission_date, leaving_date) = cells
    one = _sharer(shared)
    return LearnerRecord(
        row=line,
        forename=one(get("forename", "")),
        surname=one(get("surname", "")),
        upn=upn_normalise(get("upn", "")),
        admission_number=get("admission_number", ""),
        admission_date=admission_date,
        year_group=parse_year(get("year_group", "")),
        registration_group=one(get("registration_group", "")),
        classes=split_list(get("classes", "")),
        consent=parse_bool(get("consent", "")),
        leaving_date=leaving_date,
        enrolment_status=one(get("enrolment_status", "")),
    )


def _staff_row(line, fields, cols, width, refused, shared) -> StaffRecord | None:
    cells = _cells(line, fields, cols, width, refused, STAFF, ("start_date", "leaving_date"))
    if cells is None:
        return None
    get, (start_date, leaving_date) = cells
    one = _sharer(shared)
    return StaffRecord(
        row=line,
        forename=one(get("forename", "")),
        surname=one(get("surname", "")),
        staff_code=get("staff_code", "").upper(),
        staff_role=one(get("staff_role", "")),
        start_date=start_date,
        leaving_date=leaving_date,
        email=get("email", "").lower(),
    )


def _sharer(shared: dict[str, str]):
    """A function giving, for each value, the one copy of it kept for the whole file."""

    def one(value: str) -> str:
        return shared.setdefault(value, value)

    return one


def _cells(line, fields, cols, width, refused, kind, date_names):
    """A row's cells by field name (a getter) and its dates parsed, or None with the row refused."""
    if len(fields) != width:
        refused.append(Refusal(line, Reason.MALFORMED_ROW, kind))
        return None
    get = {name: fields[i].strip() for name, i in cols.items()}.get
    try:
        dates = tuple(parse_date(get(name, "")) for name in date_names)
    except ValueError:
        refused.append(Refusal(line, Reason.BAD_DATE, kind))
        return None
    return get, dates
