"""A OneRoster 1.1 CSV package (a zip, or a folder): one school's learners, staff, classes and enrolments.

A bulk package lists everything; a delta lists what changed, its enrolments joining and leaving classes. A
package may list many schools (a broker's upload for a local authority, or for Wales): its files are streamed,
a row at a time, and only the school's rows are kept.
"""

import contextlib
import functools
import io
import re
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path, PurePosixPath

from provisioning.readers.text import (
    READ_BYTES,
    CsvFile,
    ExtractError,
    Opener,
    Problem,
    header_key,
    opener,
    parse_date,
    parse_year,
    split_list,
)
from provisioning.records import (
    CLASS_FIELDS,
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
# The MIS fields (records.LEARNER_FIELDS, STAFF_FIELDS) a OneRoster package gives; with its enrolments (and the
# classes they name, or as a delta's changes) it gives a learner's CLASS_FIELDS too.
ONEROSTER_LEARNER_FIELDS = frozenset({"admission_number", "admission_date", "year_group"})
ONEROSTER_STAFF_FIELDS = frozenset({"staff_code"})
# with its enrolments, a package gives a member of staff's start date (their earliest beginDate)
ONEROSTER_STAFF_ENROLMENT_FIELDS = frozenset({"start_date"})
# OneRoster 1.1 roles the portal makes accounts for; every other role is refused, naming it
ROLE_KINDS = {"student": LEARNER, "teacher": STAFF, "administrator": STAFF, "aide": STAFF}
# The column each record field comes from, named in a refused row.
COLUMNS = {
    **{
        (kind, name): column
        for kind in (LEARNER, STAFF)
        for name, column in (
            ("surname", "users.familyName"),
            ("forename", "users.givenName"),
            ("email", "users.email"),
            ("leaving_date", "enrollments.endDate"),
        )
    },
    (LEARNER, "upn"): "users.userIds",
    (LEARNER, "admission_number"): "users.identifier",
    (LEARNER, "admission_date"): "enrollments.beginDate",
    (LEARNER, "year_group"): "users.grades",
    (LEARNER, "registration_group"): "classes.classCode",
    (LEARNER, "classes"): "classes.classCode",
    (STAFF, "staff_code"): "users.identifier",
    (STAFF, "start_date"): "enrollments.beginDate",
}
# a role from the file, as a refused row names it: short, and printable
ROLE_SHOWN = 40
# what is kept of each of the school's enrolments
_ENROLMENT_KEPT = ("classSourcedId", "beginDate", "endDate", "role", "__line__")


def read_oneroster(members: Mapping[str, bytes | Opener], *, school_code: str = "") -> Extract:
    """A OneRoster 1.1 CSV package: learners and staff of one school (from orgs.csv identifier).

    `members` are the package's files by name, each its bytes or an opener of them (see zip_members): each file
    is streamed, and only the school's classes, enrolments and users are kept.
    """
    members = {name: opener(member) for name, member in members.items()}
    for name in ("manifest.csv", "orgs.csv", "users.csv"):
        if name not in members:
            raise ExtractError(Problem.ONEROSTER_MISSING, name)
    manifest = _oneroster_manifest(members["manifest.csv"])
    full = manifest.get("file.users", "bulk").lower() != "delta"
    org = _oneroster_school(members["orgs.csv"], school_code)
    org_id = org["sourcedId"]
    extract = Extract(
        format="oneroster", full=full, school_code=org.get("identifier", "").strip(), columns=dict(COLUMNS)
    )
    latest = _Latest()
    if "classes.csv" in members:
        extract.classes = _oneroster_classes(_dict_rows(members["classes.csv"], extract, latest), org_id)
    extract.classes_full = (
        "classes.csv" in members and manifest.get("file.classes", "bulk").lower() != "delta"
    )
    joined, left = {}, {}
    if "enrollments.csv" in members:
        joined, left = _oneroster_enrolments(_dict_rows(members["enrollments.csv"], extract, latest), org_id)
    listed = _oneroster_users(
        extract, _dict_rows(members["users.csv"], extract, latest), org_id, joined, left
    )
    extract.changed_at = latest.stamp
    if not full:
        # a delta may change a learner's enrolments without listing the learner
        extract.enrolment_changes = _oneroster_enrolment_changes(joined, left, listed)
    extract.kinds = {LEARNER, STAFF}
    extract.learner_fields = set(ONEROSTER_LEARNER_FIELDS)
    if "enrollments.csv" in members and ("classes.csv" in members or not full):
        extract.learner_fields |= CLASS_FIELDS
    extract.staff_fields = set(ONEROSTER_STAFF_FIELDS)
    if "enrollments.csv" in members:
        extract.staff_fields |= ONEROSTER_STAFF_ENROLMENT_FIELDS
    return extract


@contextlib.contextmanager
def zip_members(source, wanted: Iterable[str] = ONEROSTER_FILES) -> Iterator[dict[str, Opener]]:
    """The named top-level members of a zip, each an opener of a stream read within limits, while the zip is open.

    `source` is the zip's bytes or an opener of a seekable stream of them (a sealed extract). Unsafe archives (a
    path outside it, a link, too many files) are refused before anything is read; a member is refused as it is
    read once it passes its share of the limits (ZIP_MAX_RATIO times its compressed size, and ZIP_MAX_TOTAL_BYTES
    for all of them): the sizes the archive declares are never trusted.
    """
    with opener(source)() as fh:
        try:
            archive = zipfile.ZipFile(fh)
        except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
            raise ExtractError(Problem.BAD_ZIP) from exc
        with archive:
            chosen = _zip_chosen(archive, set(wanted))
            sizes: dict[str, int] = {}
            yield {
                name: functools.partial(_member_open, archive, name, info, sizes)
                for name, info in chosen.items()
            }


def read_zip_members(data: bytes, wanted: Iterable[str] = ONEROSTER_FILES) -> dict[str, bytes]:
    """The named top-level members of a zip, read whole within its limits (see zip_members)."""
    with zip_members(data, wanted) as members:
        out = {}
        for name, open_member in members.items():
            with open_member() as fh:
                out[name] = fh.read()
        return out


def read_folder_members(folder: Path) -> dict[str, Opener]:
    """A OneRoster package unzipped in a folder: its files (never a link) by name, each an opener."""
    members = {}
    for name in ONEROSTER_FILES:
        path = folder / name
        if path.is_file() and not path.is_symlink():
            members[name] = opener(path)
    return members


def parse_user_ids(value: str) -> dict[str, str]:
    """'{UPN:A123...},{Other:x}' -> {'upn': 'A123...', 'other': 'x'}"""
    found = {}
    for kind, ident in re.findall(r"\{\s*([^:{}]+?)\s*:\s*([^{}]*?)\s*\}", value):
        found[header_key(kind)] = ident
    return found


# ---------------------------------------------------------------- helpers


def _zip_chosen(archive: zipfile.ZipFile, wanted: set[str]) -> dict[str, zipfile.ZipInfo]:
    """The wanted members of an archive found safe: refused whole if it has too many files, a path outside it,
    or a link; a package zipped with its folder (one level of nesting) is accepted."""
    infos = archive.infolist()
    if len(infos) > ZIP_MAX_FILES:
        raise ExtractError(Problem.ZIP_TOO_LARGE, f"{len(infos)} files")
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
        if path.name in wanted and len(path.parts) <= 2:
            chosen[path.name] = info
    return chosen


def _member_open(archive: zipfile.ZipFile, name: str, info: zipfile.ZipInfo, sizes: dict[str, int]):
    try:
        member = archive.open(info)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise ExtractError(Problem.BAD_ZIP, name) from exc
    return io.BufferedReader(_LimitedMember(member, name, info, sizes), buffer_size=READ_BYTES)


class _LimitedMember(io.RawIOBase):
    """A zip member inflated as it is read, refused (ZIP_TOO_LARGE) once it passes its limits.

    `sizes` holds how much of each member has been read, shared by the members of one archive: their sum is held
    to ZIP_MAX_TOTAL_BYTES however often each is read.
    """

    def __init__(self, member, name: str, info: zipfile.ZipInfo, sizes: dict[str, int]):
        self._member = member
        self._name = name
        self._limit = max(info.compress_size * ZIP_MAX_RATIO, 1024 * 1024)
        self._sizes = sizes
        self._read = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        try:
            data = self._member.read(len(buffer))
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise ExtractError(Problem.BAD_ZIP, self._name) from exc
        self._read += len(data)
        self._sizes[self._name] = max(self._sizes.get(self._name, 0), self._read)
        if self._read > self._limit or sum(self._sizes.values()) > ZIP_MAX_TOTAL_BYTES:
            raise ExtractError(Problem.ZIP_TOO_LARGE, self._name)
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._member.close()
        super().close()


@dataclass(frozen=True, slots=True)
class _OneRosterUser:
    """A users.csv row of the school, with what its enrolments there say: what learner and staff records share."""

    fields: dict[str, str]
    line: int
    source_id: str
    deleted: bool
    enrolments: list[dict[str, str]]  # at the school (in a delta: those it adds or changes)
    left: list[dict[str, str]]  # a delta's ended enrolments
    begins: list[date]
    leaving: date | None
    full: bool


class _Latest:
    """The latest dateLastModified of any row seen (UTC when it names no zone); None while no row has had one."""

    def __init__(self):
        self.stamp: datetime | None = None
        self._seen: set[str] = set()

    def see(self, value: str) -> None:
        value = value.strip()
        if not value or value in self._seen:
            return  # blank (a bulk may leave it out), or already seen: a package repeats a few stamps
        if len(self._seen) < 4096:
            self._seen.add(value)
        try:
            stamp = datetime.fromisoformat(value)
        except ValueError:
            return  # unreadable: the row tells no time
        if stamp.tzinfo is None:
            stamp = stamp.replace(tzinfo=UTC)
        if self.stamp is None or stamp > self.stamp:
            self.stamp = stamp


def _dict_rows(open_file: Opener, extract: Extract | None = None, latest: _Latest | None = None):
    """A package file's rows as they are read, each a dict by column with its `__line__` and `__width_ok__`.

    Each row's dateLastModified is shown to `latest`; a file cut short marks the extract truncated.
    """
    rows = CsvFile(open_file)
    keys = [h.strip() for h in rows.header]
    modified = keys.index("dateLastModified") if "dateLastModified" in keys else -1
    for line, fields in rows:
        if latest is not None and 0 <= modified < len(fields):
            latest.see(fields[modified])
        row = {k: (fields[i].strip() if i < len(fields) else "") for i, k in enumerate(keys)}
        row["__line__"] = str(line)
        row["__width_ok__"] = "1" if len(fields) == len(keys) else ""
        yield row
    if extract is not None and rows.truncated:
        extract.truncated = True


def _oneroster_manifest(open_file: Opener) -> dict[str, str]:
    """manifest.csv's properties; a package of another OneRoster version is refused."""
    manifest = {r.get("propertyName", ""): r.get("value", "") for r in _dict_rows(open_file)}
    if manifest.get("oneroster.version", "1.1") not in ("1.1", "1.1.0"):
        raise ExtractError(Problem.ONEROSTER_VERSION, manifest.get("oneroster.version", ""))
    return manifest


def _oneroster_school(open_file: Opener, school_code: str) -> dict[str, str]:
    """The school's orgs.csv row: the only school, or the one whose identifier is `school_code`."""
    schools = []
    for org in _dict_rows(open_file):
        if org.get("type", "school").lower() != "school":
            continue
        if school_code and org.get("identifier", "").strip() != school_code:
            continue
        schools.append(org)
        if len(schools) > 1:
            break  # not one school: which is asked for is unclear
    if len(schools) != 1:
        raise ExtractError(Problem.SCHOOL_NOT_FOUND, school_code)
    return schools[0]


def _oneroster_classes(rows: Iterable[dict[str, str]], org_id: str) -> dict[str, ClassRecord]:
    """The school's classes by sourcedId, a delta's deleted ones too: a learner leaving one still names it."""
    return {
        c["sourcedId"]: ClassRecord(
            title=c.get("classCode") or c.get("title", ""),
            homeroom=c.get("classType", "").lower() == "homeroom",
            deleted=c.get("status", "").lower() == "tobedeleted",
            row=int(c["__line__"]),
            column="classes.classCode" if c.get("classCode") else "classes.title",
        )
        for c in rows
        if c.get("schoolSourcedId", org_id) == org_id
    }


def _oneroster_enrolments(rows: Iterable[dict[str, str]], org_id: str) -> tuple[dict, dict]:
    """The school's enrolments by user sourcedId: those current, and those a delta ends (what the sync reads of
    each, not the whole row)."""
    joined: dict[str, list[dict[str, str]]] = {}
    left: dict[str, list[dict[str, str]]] = {}
    for e in rows:
        if e.get("schoolSourcedId", org_id) != org_id:
            continue
        ended = e.get("status", "").lower() == "tobedeleted"
        kept = {name: e[name] for name in _ENROLMENT_KEPT if name in e}
        (left if ended else joined).setdefault(e.get("userSourcedId", ""), []).append(kept)
    return joined, left


def _oneroster_users(
    extract: Extract, users: Iterable[dict[str, str]], org_id: str, joined, left
) -> set[str]:
    """Add the school's learners and staff in users.csv to the extract (or refuse them); the sourcedIds listed."""
    listed = set()
    for fields in users:
        if org_id not in {o.strip() for o in fields.get("orgSourcedIds", "").split(",")}:
            continue
        extract.rows += 1
        line = int(fields["__line__"])
        role = fields.get("role", "").strip().lower()
        kind = ROLE_KINDS.get(role, "")
        if not fields["__width_ok__"]:
            extract.refused.append(Refusal(line, Reason.MALFORMED_ROW, kind))
            continue
        if not kind:
            extract.refused.append(_role_refusal(line, fields.get("role", "")))
            continue
        uid = fields.get("sourcedId", "")
        listed.add(uid)
        user = _oneroster_user(
            fields,
            line,
            uid,
            joined.get(uid, []),
            left.get(uid, []) if not extract.full else [],
            extract.full,
        )
        if isinstance(user, str):
            extract.refused.append(Refusal(line, Reason.BAD_DATE, kind, field=user))
        elif kind == LEARNER:
            extract.learners.append(_oneroster_learner(user, extract.classes))
        else:
            extract.staff.append(_oneroster_staff(user))
    return listed


def _role_refusal(line: int, role: str) -> Refusal:
    """A users.csv row whose role has no account: refused, naming the role (never dropped without a word)."""
    shown = re.sub(r"[\x00-\x1f\x7f-\x9f]", "", role.strip())[:ROLE_SHOWN]
    reason = Reason.ROLE_NOT_PROVISIONED if shown else Reason.MISSING_ROLE
    return Refusal(line, reason, "", field="users.role", detail=shown)


def _oneroster_user(fields, line, uid, enrolments, left, full) -> _OneRosterUser | str:
    """A user's row with its enrolments' dates; the column at fault if one of them cannot be read."""
    try:
        begins = [d for d in (parse_date(e.get("beginDate", "")) for e in enrolments) if d]
    except ValueError:
        return "enrollments.beginDate"
    try:
        ends = [parse_date(e.get("endDate", "")) for e in enrolments]
    except ValueError:
        return "enrollments.endDate"
    # left when every enrolment at the school (in a delta: every one it lists) has ended
    leaving = max(ends) if ends and all(ends) else None  # type: ignore[type-var]
    return _OneRosterUser(
        fields=fields,
        line=line,
        source_id=uid,
        deleted=fields.get("status", "").lower() == "tobedeleted",
        enrolments=enrolments,
        left=left,
        begins=begins,
        leaving=leaving,
        full=full,
    )


def _oneroster_learner(user: _OneRosterUser, classes: dict[str, ClassRecord]) -> LearnerRecord:
    """A learner record: registration group and classes from the user's enrolments in the school's classes."""
    reg_group = ""
    class_names = []
    for e in user.enrolments:
        c = classes.get(e.get("classSourcedId", ""))
        if c is None or c.deleted:
            continue
        if c.homeroom:
            reg_group = reg_group or c.title
        else:
            class_names.append(c.title)
    fields = user.fields
    grades = split_list(fields.get("grades", ""))
    ids = parse_user_ids(fields.get("userIds", ""))
    return LearnerRecord(
        row=user.line,
        forename=fields.get("givenName", ""),
        surname=fields.get("familyName", ""),
        upn=upn_normalise(ids.get("upn", "")),
        admission_number=fields.get("identifier", ""),
        admission_date=min(user.begins) if user.begins else None,
        year_group=parse_year(grades[0]) if grades else "",
        registration_group=reg_group,
        classes=tuple(sorted(set(class_names))),
        leaving_date=user.leaving,
        deleted=user.deleted,
        omits=_learner_omits(user, full=user.full),
        source_id=user.source_id,
        enrolled=() if user.full else tuple(e.get("classSourcedId", "") for e in user.enrolments),
        unenrolled=tuple(e.get("classSourcedId", "") for e in user.left),
    )


def _learner_omits(user: _OneRosterUser, *, full: bool) -> frozenset[str]:
    """The fields a learner row leaves as they are: none in a bulk package; in a delta, what did not change."""
    if full:
        return frozenset()
    if not user.enrolments and not user.left:
        # a delta lists only what changed: no enrolments here means they did not change
        return ENROLMENT_FIELDS
    # A delta's enrolments are changes: the sync joins and leaves these classes, keeping the rest (resolving ids
    # against the classes earlier packages named), and keeps the earliest admission.
    omits = CLASS_FIELDS | (set() if user.leaving else {"leaving_date"})
    return omits | (set() if user.begins else {"admission_date"})


def _oneroster_staff(user: _OneRosterUser) -> StaffRecord:
    fields = user.fields
    return StaffRecord(
        row=user.line,
        forename=fields.get("givenName", ""),
        surname=fields.get("familyName", ""),
        staff_code=fields.get("identifier", "").upper(),
        start_date=min(user.begins) if user.begins else None,
        leaving_date=user.leaving,
        email=fields.get("email", "").lower(),
        deleted=user.deleted,
        # a delta lists only what changed: a staff row without enrolments keeps the start date it had
        omits=frozenset() if user.full or user.begins else ONEROSTER_STAFF_ENROLMENT_FIELDS,
    )


def _oneroster_enrolment_changes(joined, left, listed: set[str]) -> dict[str, EnrolmentChange]:
    """A delta's enrolment changes for learners whose users.csv rows it does not list."""
    changes = {}
    for uid in (joined.keys() | left.keys()) - listed:
        joined_rows = [e for e in joined.get(uid, []) if e.get("role", "").lower() == "student"]
        left_rows = [e for e in left.get(uid, []) if e.get("role", "").lower() == "student"]
        if not joined_rows and not left_rows:
            continue
        try:
            begins = [d for d in (parse_date(e.get("beginDate", "")) for e in joined_rows) if d]
        except ValueError:
            begins = []
        changes[uid] = EnrolmentChange(
            enrolled=tuple(e.get("classSourcedId", "") for e in joined_rows),
            unenrolled=tuple(e.get("classSourcedId", "") for e in left_rows),
            begins=min(begins) if begins else None,
            row=min(int(e["__line__"]) for e in (*joined_rows, *left_rows)),
        )
    return changes
