"""Readers: turn an MIS CSV export or a OneRoster 1.1 CSV package into an Extract.

A reader never writes anything. A row it cannot read becomes a Refusal; a file it cannot read raises
ExtractError with a code and a message, so that nothing is applied from it.
"""

import codecs
import csv
import functools
import io
import re
import zipfile
from collections.abc import Iterable
from datetime import date, datetime
from pathlib import Path, PurePosixPath

from django.db import models
from django.utils.translation import gettext_lazy as _

from provisioning.records import (
    ENROLMENT_FIELDS,
    LEARNER,
    STAFF,
    ClassRecord,
    EnrolmentChange,
    Extract,
    LearnerRecord,
    Reason,
    Refusal,
    StaffRecord,
)
from provisioning.upn import upn_normalise

# Limits on what an uploaded zip may hold; a OneRoster package has five files.
ZIP_MAX_FILES = 32
ZIP_MAX_TOTAL_BYTES = 256 * 1024 * 1024
ZIP_MAX_RATIO = 200
ONEROSTER_FILES = ("manifest.csv", "orgs.csv", "users.csv", "classes.csv", "enrollments.csv")


class Problem(models.TextChoices):
    """Why a whole file was refused."""

    ENCODING = "encoding", _("The file is not text in UTF-8 or Windows-1252. Export it again from the MIS.")
    NOT_CSV = "not_csv", _("The file could not be read as CSV. Export it again from the MIS.")
    UNKNOWN_HEADERS = (
        "unknown_headers",
        _(
            "The file's headers are not those of a pupil or staff export: it needs Legal Surname, Legal Forename and "
            "either UPN or Staff Code."
        ),
    )
    BAD_ZIP = "bad_zip", _("The zip file is damaged or is not a zip file.")
    ZIP_UNSAFE = "zip_unsafe", _("The zip file holds a path outside the archive, or a link. It was not read.")
    ZIP_TOO_LARGE = "zip_too_large", _("The zip file is too large, or holds too many files. It was not read.")
    ONEROSTER_MISSING = (
        "oneroster_missing",
        _("The OneRoster package lacks manifest.csv, orgs.csv or users.csv."),
    )
    ONEROSTER_VERSION = "oneroster_version", _("The package is not OneRoster 1.1.")
    SCHOOL_NOT_FOUND = "school_not_found", _("The school is not in the package's orgs.csv.")
    UNKNOWN_FORMAT = "unknown_format", _("The file is neither an MIS CSV export nor a OneRoster package.")


class ExtractError(Exception):
    """A file that cannot be read at all."""

    def __init__(self, problem: Problem, detail: str = ""):
        self.problem = problem
        self.detail = detail
        super().__init__(f"{problem.value}: {detail}" if detail else problem.value)

    @property
    def message(self):
        return self.problem.label


# ---------------------------------------------------------------- text


def decode(data: bytes) -> str:
    """UTF-8 (with or without BOM), UTF-16 with BOM, else Windows-1252; anything else is refused."""
    if data.startswith(codecs.BOM_UTF8):
        return _decode(data[len(codecs.BOM_UTF8) :], "utf-8")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _decode(data, "utf-16")
    if b"\x00" in data:
        raise ExtractError(Problem.ENCODING, "NUL byte")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        # The five bytes Windows-1252 leaves undefined make this strict decode fail: not text.
        return _decode(data, "cp1252")


def _decode(data: bytes, encoding: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise ExtractError(Problem.ENCODING, encoding) from exc


@functools.lru_cache(maxsize=8192)
def header_key(name: str) -> str:
    """Header names compared ignoring case, spaces and punctuation."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


def parse_date(value: str) -> date | None:
    """dd/mm/yyyy (or dd-mm-yyyy, dd.mm.yyyy) or yyyy-mm-dd, optionally followed by a time; blank is None."""
    value = value.strip()
    if not value:
        return None
    return _parse_date(value)


@functools.lru_cache(maxsize=8192)
def _parse_date(value: str) -> date:
    # a school's extract repeats a few hundred distinct dates thousands of times
    value = value.split("T")[0].split(" ")[0]
    for fmt in ("%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y", "%d.%m.%Y"):
        try:
            return datetime.strptime(value, fmt).date()  # noqa: DTZ007 - a calendar date, no zone
        except ValueError:
            continue
    raise ValueError(value)


_TRUE = {"y", "yes", "true", "1", "ie", "i", "granted", "given"}
_FALSE = {"n", "no", "false", "0", "na", "refused", "withdrawn"}


def parse_bool(value: str) -> bool | None:
    v = value.strip().lower()
    if v in _TRUE:
        return True
    if v in _FALSE:
        return False
    return None


@functools.lru_cache(maxsize=8192)
def split_list(value: str) -> tuple[str, ...]:
    parts = re.split(r"[;|,]", value)
    return tuple(dict.fromkeys(p.strip() for p in parts if p.strip()))


def read_rows(text: str) -> tuple[list[str], list[tuple[int, list[str]]], bool]:
    """Header, (line number, fields) rows, and whether the file looks cut short.

    Cut short: the last record has fewer fields than the header, or ends inside a quoted field.
    """
    sample = text[:4096]
    delimiter = ","
    first = sample.split("\n", 1)[0]
    if first.count("\t") > first.count(",") and first.count("\t") >= first.count(";"):
        delimiter = "\t"
    elif first.count(";") > first.count(","):
        delimiter = ";"
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    truncated = False
    try:
        header = next(reader, None)
        if header is None:
            return [], [], False
        rows: list[tuple[int, list[str]]] = []
        for fields in reader:
            if not any(f.strip() for f in fields):
                continue
            rows.append((reader.line_num, fields))
    except csv.Error as exc:
        if "unexpected end of data" in str(exc) or "EOF" in str(exc):
            truncated = True
        else:
            raise ExtractError(Problem.NOT_CSV, str(exc)) from exc
    if rows and len(rows[-1][1]) < len(header) and not text.endswith(("\n", "\r")):
        truncated = True
        rows.pop()
    return header, rows, truncated


# ---------------------------------------------------------------- MIS CSV

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
# MIS-kept account fields each column feeds
_LEARNER_SYNCED = {
    "admission_number",
    "admission_date",
    "year_group",
    "registration_group",
    "classes",
    "consent",
}
_STAFF_SYNCED = {"staff_code", "staff_role", "start_date"}


def _columns(header: list[str], variants: dict[str, tuple[str, ...]]) -> dict[str, int]:
    keys = [header_key(h) for h in header]
    found: dict[str, int] = {}
    for name, options in variants.items():
        for option in options:
            if option in keys:
                found[name] = keys.index(option)
                break
    return found


def read_mis_csv(data: bytes) -> Extract:
    """A SIMS or Teacher Centre export of pupils or of staff: the full list of that kind at the school."""
    text = decode(data)
    header, rows, truncated = read_rows(text)
    extract = Extract(format="mis-csv", full=True, truncated=truncated, rows=len(rows))
    learner_cols = _columns(header, LEARNER_HEADERS)
    staff_cols = _columns(header, STAFF_HEADERS)
    names = {"surname", "forename"}
    if names <= learner_cols.keys() and "upn" in learner_cols:
        extract.kinds.add(LEARNER)
        extract.learner_fields = {f for f in learner_cols if f in _LEARNER_SYNCED}
        for line, fields in rows:
            record = _learner_row(line, fields, learner_cols, len(header), extract)
            if record is not None:
                extract.learners.append(record)
    elif names <= staff_cols.keys() and "staff_code" in staff_cols:
        extract.kinds.add(STAFF)
        extract.staff_fields = {f for f in staff_cols if f in _STAFF_SYNCED}
        for line, fields in rows:
            record = _staff_row(line, fields, staff_cols, len(header), extract)
            if record is not None:
                extract.staff.append(record)
    else:
        raise ExtractError(Problem.UNKNOWN_HEADERS, ", ".join(header[:20]))
    return extract


def _learner_row(line, fields, cols, width, extract) -> LearnerRecord | None:
    if len(fields) != width:
        extract.refused.append(Refusal(line, Reason.MALFORMED_ROW, LEARNER))
        return None
    v = {name: fields[i].strip() for name, i in cols.items()}
    get = v.get
    try:
        admission_date = parse_date(get("admission_date", ""))
        leaving_date = parse_date(get("leaving_date", ""))
    except ValueError:
        extract.refused.append(Refusal(line, Reason.BAD_DATE, LEARNER))
        return None
    return LearnerRecord(
        row=line,
        forename=get("forename", ""),
        surname=get("surname", ""),
        upn=upn_normalise(get("upn", "")),
        admission_number=get("admission_number", ""),
        admission_date=admission_date,
        year_group=_year(get("year_group", "")),
        registration_group=get("registration_group", ""),
        classes=split_list(get("classes", "")),
        consent=parse_bool(get("consent", "")),
        leaving_date=leaving_date,
        enrolment_status=get("enrolment_status", ""),
    )


def _staff_row(line, fields, cols, width, extract) -> StaffRecord | None:
    if len(fields) != width:
        extract.refused.append(Refusal(line, Reason.MALFORMED_ROW, STAFF))
        return None
    v = {name: fields[i].strip() for name, i in cols.items()}
    get = v.get
    try:
        start_date = parse_date(get("start_date", ""))
        leaving_date = parse_date(get("leaving_date", ""))
    except ValueError:
        extract.refused.append(Refusal(line, Reason.BAD_DATE, STAFF))
        return None
    return StaffRecord(
        row=line,
        forename=get("forename", ""),
        surname=get("surname", ""),
        staff_code=get("staff_code", "").upper(),
        staff_role=get("staff_role", ""),
        start_date=start_date,
        leaving_date=leaving_date,
        email=get("email", "").lower(),
    )


@functools.lru_cache(maxsize=4096)
def _year(value: str) -> str:
    """'Year 7', 'Y7', '07' -> '7'; 'R', 'N1' kept."""
    v = value.strip()
    m = re.fullmatch(r"(?i)(?:year|yr|y)?\s*0*(\d{1,2})", v)
    return m.group(1) if m else v


# ---------------------------------------------------------------- OneRoster


def read_zip_members(data: bytes, wanted: Iterable[str] = ONEROSTER_FILES) -> dict[str, bytes]:
    """The named top-level members of a zip, read within limits; unsafe or oversized archives are refused."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError) as exc:
        raise ExtractError(Problem.BAD_ZIP) from exc
    with archive:
        infos = archive.infolist()
        if len(infos) > ZIP_MAX_FILES:
            raise ExtractError(Problem.ZIP_TOO_LARGE, f"{len(infos)} files")
        wanted = set(wanted)
        chosen: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            name = info.filename.replace("\\", "/")
            path = PurePosixPath(name)
            if name.startswith("/") or ".." in path.parts or re.match(r"^[A-Za-z]:", name):
                raise ExtractError(Problem.ZIP_UNSAFE, name)
            if (info.external_attr >> 16) & 0o170000 == 0o120000:
                raise ExtractError(Problem.ZIP_UNSAFE, name)
            if info.is_dir():
                continue
            # a package zipped with its folder: accept one level of nesting
            if path.name in wanted and len(path.parts) <= 2:
                chosen[path.name] = info
        members: dict[str, bytes] = {}
        total = 0
        for name, info in chosen.items():
            # never trust the sizes the archive declares: read in chunks and stop at the limit
            limit = max(info.compress_size * ZIP_MAX_RATIO, 1024 * 1024)
            buf = bytearray()
            try:
                with archive.open(info) as fh:
                    while chunk := fh.read(1024 * 1024):
                        buf += chunk
                        total += len(chunk)
                        if total > ZIP_MAX_TOTAL_BYTES or len(buf) > limit:
                            raise ExtractError(Problem.ZIP_TOO_LARGE, name)
            except (zipfile.BadZipFile, OSError, EOFError) as exc:
                raise ExtractError(Problem.BAD_ZIP, name) from exc
            members[name] = bytes(buf)
        return members


def read_folder_members(folder: Path) -> dict[str, bytes]:
    members = {}
    for name in ONEROSTER_FILES:
        path = folder / name
        if path.is_file() and not path.is_symlink():
            members[name] = path.read_bytes()
    return members


def _dict_rows(data: bytes) -> tuple[list[dict[str, str]], bool]:
    header, rows, truncated = read_rows(decode(data))
    keys = [h.strip() for h in header]
    out = []
    for line, fields in rows:
        row = {k: (fields[i].strip() if i < len(fields) else "") for i, k in enumerate(keys)}
        row["__line__"] = str(line)
        row["__width_ok__"] = "1" if len(fields) == len(keys) else ""
        out.append(row)
    return out, truncated


def parse_user_ids(value: str) -> dict[str, str]:
    """'{UPN:A123...},{Other:x}' -> {'upn': 'A123...', 'other': 'x'}"""
    found = {}
    for kind, ident in re.findall(r"\{\s*([^:{}]+?)\s*:\s*([^{}]*?)\s*\}", value):
        found[header_key(kind)] = ident
    return found


def read_oneroster(members: dict[str, bytes], *, school_code: str = "") -> Extract:
    """A OneRoster 1.1 CSV package: learners and staff of one school (from orgs.csv identifier)."""
    for name in ("manifest.csv", "orgs.csv", "users.csv"):
        if name not in members:
            raise ExtractError(Problem.ONEROSTER_MISSING, name)
    manifest_rows, _t = _dict_rows(members["manifest.csv"])
    manifest = {r.get("propertyName", ""): r.get("value", "") for r in manifest_rows}
    if manifest.get("oneroster.version", "1.1") not in ("1.1", "1.1.0"):
        raise ExtractError(Problem.ONEROSTER_VERSION, manifest.get("oneroster.version", ""))
    users_mode = manifest.get("file.users", "bulk").lower()
    full = users_mode != "delta"

    orgs, _t = _dict_rows(members["orgs.csv"])
    schools = [o for o in orgs if o.get("type", "school").lower() == "school"]
    if school_code:
        schools = [o for o in schools if o.get("identifier", "").strip() == school_code]
    if len(schools) != 1:
        raise ExtractError(Problem.SCHOOL_NOT_FOUND, school_code)
    org = schools[0]
    org_id = org["sourcedId"]
    extract = Extract(format="oneroster", full=full, school_code=org.get("identifier", "").strip())

    users, truncated = _dict_rows(members["users.csv"])
    extract.truncated = truncated
    classes_rows, t2 = _dict_rows(members["classes.csv"]) if "classes.csv" in members else ([], False)
    enrol_rows, t3 = _dict_rows(members["enrollments.csv"]) if "enrollments.csv" in members else ([], False)
    extract.truncated = truncated or t2 or t3

    # the school's classes, a delta's deleted ones too: a learner leaving a deleted class still names it
    classes = {
        c["sourcedId"]: ClassRecord(
            title=c.get("classCode") or c.get("title", ""),
            homeroom=c.get("classType", "").lower() == "homeroom",
            deleted=c.get("status", "").lower() == "tobedeleted",
        )
        for c in classes_rows
        if c.get("schoolSourcedId", org_id) == org_id
    }
    extract.classes = classes
    extract.classes_full = (
        "classes.csv" in members and manifest.get("file.classes", "bulk").lower() != "delta"
    )
    by_user: dict[str, list[dict[str, str]]] = {}
    left_by_user: dict[str, list[dict[str, str]]] = {}
    for e in enrol_rows:
        if e.get("schoolSourcedId", org_id) != org_id:
            continue
        left = e.get("status", "").lower() == "tobedeleted"
        (left_by_user if left else by_user).setdefault(e.get("userSourcedId", ""), []).append(e)

    listed = set()
    for u in users:
        org_ids = {o.strip() for o in u.get("orgSourcedIds", "").split(",")}
        if org_id not in org_ids:
            continue
        role = u.get("role", "").strip().lower()
        line = int(u["__line__"])
        kind = LEARNER if role == "student" else STAFF if role in ("teacher", "administrator") else ""
        if not kind:
            continue
        extract.rows += 1
        if not u["__width_ok__"]:
            extract.refused.append(Refusal(line, Reason.MALFORMED_ROW, kind))
            continue
        deleted = u.get("status", "").lower() == "tobedeleted"
        ids = parse_user_ids(u.get("userIds", ""))
        uid = u.get("sourcedId", "")
        listed.add(uid)
        enrolments = by_user.get(uid, [])
        left = left_by_user.get(uid, []) if not full else []
        try:
            begins = [d for d in (parse_date(e.get("beginDate", "")) for e in enrolments) if d]
            ends = [parse_date(e.get("endDate", "")) for e in enrolments]
        except ValueError:
            extract.refused.append(Refusal(line, Reason.BAD_DATE, kind))
            continue
        # left when every enrolment at the school (in a delta: every one it lists) has ended
        leaving = max(ends) if ends and all(ends) else None  # type: ignore[type-var]
        if kind == LEARNER:
            reg_group = ""
            class_names = []
            for e in enrolments:
                c = classes.get(e.get("classSourcedId", ""))
                if c is None or c.deleted:
                    continue
                if c.homeroom:
                    reg_group = reg_group or c.title
                else:
                    class_names.append(c.title)
            grades = split_list(u.get("grades", ""))
            if full:
                omits = frozenset()
            elif enrolments or left:
                # A delta's enrolments are changes: the sync joins and leaves these classes, keeping the rest
                # (resolving ids against the classes earlier packages named), and keeps the earliest admission.
                omits = frozenset(
                    {"registration_group", "classes"} | (set() if leaving else {"leaving_date"})
                )
                omits |= set() if begins else {"admission_date"}
            else:
                # a delta lists only what changed: no enrolments here means they did not change
                omits = ENROLMENT_FIELDS
            extract.learners.append(
                LearnerRecord(
                    row=line,
                    forename=u.get("givenName", ""),
                    surname=u.get("familyName", ""),
                    upn=upn_normalise(ids.get("upn", "")),
                    admission_number=u.get("identifier", ""),
                    admission_date=min(begins) if begins else None,
                    year_group=_year(grades[0]) if grades else "",
                    registration_group=reg_group,
                    classes=tuple(sorted(set(class_names))),
                    leaving_date=leaving,
                    deleted=deleted,
                    omits=omits,
                    source_id=uid,
                    enrolled=() if full else tuple(e.get("classSourcedId", "") for e in enrolments),
                    unenrolled=tuple(e.get("classSourcedId", "") for e in left),
                )
            )
        else:
            extract.staff.append(
                StaffRecord(
                    row=line,
                    forename=u.get("givenName", ""),
                    surname=u.get("familyName", ""),
                    staff_code=u.get("identifier", "").upper(),
                    start_date=min(begins) if begins else None,
                    leaving_date=leaving,
                    email=u.get("email", "").lower(),
                    deleted=deleted,
                )
            )
    if not full:
        # a delta may change a learner's enrolments without listing the learner
        for uid in (by_user.keys() | left_by_user.keys()) - listed:
            joined = [e for e in by_user.get(uid, []) if e.get("role", "").lower() == "student"]
            left_rows = [e for e in left_by_user.get(uid, []) if e.get("role", "").lower() == "student"]
            if not joined and not left_rows:
                continue
            try:
                begins = [d for d in (parse_date(e.get("beginDate", "")) for e in joined) if d]
            except ValueError:
                begins = []
            extract.enrolment_changes[uid] = EnrolmentChange(
                enrolled=tuple(e.get("classSourcedId", "") for e in joined),
                unenrolled=tuple(e.get("classSourcedId", "") for e in left_rows),
                begins=min(begins) if begins else None,
            )
    extract.kinds = {LEARNER, STAFF}
    extract.learner_fields = {"admission_number", "admission_date", "year_group"}
    if "enrollments.csv" in members and ("classes.csv" in members or not full):
        extract.learner_fields |= {"registration_group", "classes"}
    extract.staff_fields = {"staff_code"}
    return extract


# ---------------------------------------------------------------- entry point


def read_extract(source: bytes | Path, *, fmt: str = "auto", school_code: str = "") -> Extract:
    """Read a file (bytes or a path; a path may be a OneRoster folder) in the given or detected format."""
    if isinstance(source, Path) and source.is_dir():
        if fmt not in ("auto", "oneroster"):
            raise ExtractError(Problem.UNKNOWN_FORMAT, "folder")
        return read_oneroster(read_folder_members(source), school_code=school_code)
    data = source.read_bytes() if isinstance(source, Path) else source
    is_zip = data[:4] == b"PK\x03\x04" or data[:4] == b"PK\x05\x06"
    if fmt == "oneroster" or (fmt == "auto" and is_zip):
        return read_oneroster(read_zip_members(data), school_code=school_code)
    if fmt in ("auto", "mis-csv"):
        return read_mis_csv(data)
    raise ExtractError(Problem.UNKNOWN_FORMAT, fmt)
