"""Plain records that readers make from an extract and the rules and the sync consume.

Nothing here touches the database. A UPN appears only in a LearnerRecord in memory: the sync stores its keyed
hash and nothing else.
"""

import itertools
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from django.db import models
from django.utils.translation import gettext_lazy as _

LEARNER = "learner"
STAFF = "staff"

# MIS fields a sync keeps in step; an extract updates only those it carries.
LEARNER_FIELDS = (
    "admission_number",
    "admission_date",
    "year_group",
    "registration_group",
    "classes",
    "consent",
)
STAFF_FIELDS = ("staff_code", "staff_role", "start_date")
# The learner fields a learner's classes make (a OneRoster package's enrolments; a delta's change them).
CLASS_FIELDS = frozenset({"registration_group", "classes"})
# What a OneRoster package learns from a learner's enrolments; a delta row without them omits these.
ENROLMENT_FIELDS = CLASS_FIELDS | {"admission_date", "leaving_date"}


class Reason(models.TextChoices):
    """Why a row was refused: a code that is stable, and a message a Digital Champion can act on."""

    MALFORMED_ROW = (
        "malformed_row",
        _("The row has the wrong number of fields. Check the export from the MIS."),
    )
    BAD_DATE = "bad_date", _("A date on this row could not be read. Dates must be dd/mm/yyyy or yyyy-mm-dd.")
    MISSING_FORENAME = "missing_forename", _("The legal forename is missing. Add it in the MIS.")
    MISSING_SURNAME = "missing_surname", _("The legal surname is missing. Add it in the MIS.")
    MISSING_UPN = "missing_upn", _("The UPN is missing. Add the learner's permanent UPN in the MIS.")
    UPN_MALFORMED = (
        "upn_malformed",
        _(
            "The UPN is not in the right form (13 characters: a letter, 11 digits, then a digit or letter). "
            "Check it in the MIS."
        ),
    )
    UPN_CHECK_LETTER = (
        "upn_check_letter",
        _(
            "The UPN's check letter does not match the rest of the number, so it has been mistyped. Check it in the MIS."
        ),
    )
    UPN_TEMPORARY = (
        "upn_temporary",
        _("The UPN is a temporary one. The account is made once the MIS holds the learner's permanent UPN."),
    )
    DUPLICATE_UPN = (
        "duplicate_upn",
        _("The same UPN is on more than one row of this extract. Correct the duplicate in the MIS."),
    )
    MISSING_ADMISSION_NUMBER = (
        "missing_admission_number",
        _("The admission number is missing. Add it in the MIS."),
    )
    MISSING_ADMISSION_DATE = "missing_admission_date", _("The admission date is missing. Add it in the MIS.")
    PRE_ADMISSION = (
        "pre_admission",
        _(
            "The learner is not admitted yet (pre-admission, applicant, new intake, or an admission date still to "
            "come). The account is made once they are admitted."
        ),
    )
    MISSING_STAFF_CODE = "missing_staff_code", _("The staff code is missing. Add it in the MIS.")
    DUPLICATE_STAFF_CODE = (
        "duplicate_staff_code",
        _("The same staff code is on more than one row of this extract. Correct the duplicate in the MIS."),
    )
    STAFF_NOT_STARTED = (
        "staff_not_started",
        _("The staff member's start date is still to come. The account is made on the start date."),
    )
    UPN_BELONGS_TO_STAFF = (
        "upn_not_learner",
        _(
            "This UPN belongs to an account that is not a learner account. Ask a Hwb administrator to check it."
        ),
    )
    REGISTERED_ELSEWHERE = (
        "registered_elsewhere",
        _(
            "This learner's account moved to another school, where they are still on roll. It moves back here "
            "when that school's MIS records them as having left."
        ),
    )
    EMPLOYED_ELSEWHERE = (
        "employed_elsewhere",
        _(
            "This staff member's account moved to another school, whose MIS still lists them. They keep one "
            "account, at that school; it moves back here when that school's MIS records them as having left."
        ),
    )
    # A value longer than the account can hold: %(limit)s is the model field's max_length.
    FORENAME_TOO_LONG = (
        "forename_too_long",
        _("The legal forename is longer than %(limit)s characters: shorten it in the MIS."),
    )
    SURNAME_TOO_LONG = (
        "surname_too_long",
        _("The legal surname is longer than %(limit)s characters: shorten it in the MIS."),
    )
    ADMISSION_NUMBER_TOO_LONG = (
        "admission_number_too_long",
        _("The admission number is longer than %(limit)s characters: correct it in the MIS."),
    )
    YEAR_GROUP_TOO_LONG = (
        "year_group_too_long",
        _(
            "The year group is longer than %(limit)s characters: use the National Curriculum year (such as 7, R "
            "or N1) in the MIS."
        ),
    )
    REGISTRATION_GROUP_TOO_LONG = (
        "reg_group_too_long",
        _("The registration group's name is longer than %(limit)s characters: shorten it in the MIS."),
    )
    CLASS_TOO_LONG = (
        "class_too_long",
        _("A class name is longer than %(limit)s characters: shorten it in the MIS."),
    )
    STAFF_CODE_TOO_LONG = (
        "staff_code_too_long",
        _("The staff code is longer than %(limit)s characters: correct it in the MIS."),
    )
    STAFF_ROLE_TOO_LONG = (
        "staff_role_too_long",
        _("The staff role is longer than %(limit)s characters: shorten it in the MIS."),
    )
    EMAIL_TOO_LONG = (
        "email_too_long",
        _("The work email address is longer than %(limit)s characters: correct it in the MIS."),
    )
    CONTROL_CHARACTER = (
        "control_character",
        _(
            "A field on this row holds a control character (such as a tab, a line break or a NUL), which "
            "cannot be stored. Remove it in the MIS and export again."
        ),
    )
    # OneRoster: a user the portal makes no account for, or an enrolment it cannot place
    MISSING_ROLE = (
        "missing_role",
        _(
            "The user's role is blank. If this person needs a Hwb account, set their role in the MIS (student, "
            "teacher, aide or administrator)."
        ),
    )
    ROLE_NOT_PROVISIONED = (
        "role_not_provisioned",
        _(
            "The role “%(role)s” has no Hwb account from the MIS: accounts are made for students, teachers, "
            "aides and administrators. Nothing needs doing unless this person should have one; then correct "
            "their role in the MIS."
        ),
    )
    ENROLMENT_UNKNOWN_USER = (
        "enrolment_unknown_user",
        _(
            "This enrolment names a user who has no account at this school: no package has listed them here. "
            "Send a full (bulk) package, or one whose users.csv lists them."
        ),
    )


def refusal_message(reason: str, detail: str = "") -> str:
    """A refused row's message, in the active language: its reason's label with the row's detail in it."""
    try:
        label = str(Reason(reason).label)
    except ValueError:
        return reason
    # a label names at most one detail (a limit, a role); a mapping leaves a label without one as it is
    return label % {"limit": detail, "role": detail}


@dataclass(frozen=True, slots=True)
class Refusal:
    """A row the sync will not act on, and why."""

    row: int
    reason: Reason
    kind: str = ""
    # OneRoster: the file and column at fault ("users.identifier"); a message for the MIS screen alone would
    # leave a broker's support guessing
    field: str = ""
    # what the reason's label names: the limit a value passed, the role that has no account
    detail: str = ""

    @property
    def message(self) -> str:
        return refusal_message(self.reason.value, self.detail)

    def as_dict(self) -> dict:
        out = {"row": self.row, "reason": str(self.reason.value), "kind": self.kind}
        if self.field:
            out["field"] = self.field
        if self.detail:
            out["detail"] = self.detail
        return out


@dataclass(slots=True)
class LearnerRecord:
    """One learner row of an extract."""

    row: int
    forename: str
    surname: str
    upn: str
    admission_number: str = ""
    admission_date: date | None = None
    year_group: str = ""
    registration_group: str = ""
    classes: tuple[str, ...] = ()
    consent: bool | None = None
    leaving_date: date | None = None
    enrolment_status: str = ""
    # OneRoster delta: status tobedeleted
    deleted: bool = False
    # fields this row does not carry although its extract does: the sync leaves them as they are
    omits: frozenset[str] = frozenset()
    # OneRoster: the user's sourcedId; in a delta, the classes (sourcedIds) joined and left, which the sync
    # applies to the classes the account already has
    source_id: str = ""
    enrolled: tuple[str, ...] = ()
    unenrolled: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ClassRecord:
    """A OneRoster class of the school: what enrolments name it by."""

    title: str
    homeroom: bool
    deleted: bool = False
    row: int = 0  # its line in classes.csv
    column: str = ""  # the column its title came from


@dataclass(frozen=True, slots=True)
class EnrolmentChange:
    """A OneRoster delta's enrolment changes for a learner its users.csv does not list."""

    enrolled: tuple[str, ...]
    unenrolled: tuple[str, ...]
    begins: date | None = None
    row: int = 0  # its first line in enrollments.csv


@dataclass(slots=True)
class StaffRecord:
    """One staff row of an extract."""

    row: int
    forename: str
    surname: str
    staff_code: str
    staff_role: str = ""
    start_date: date | None = None
    leaving_date: date | None = None
    email: str = ""
    deleted: bool = False
    # fields this row does not carry although its extract does (a OneRoster delta row without enrolments)
    omits: frozenset[str] = frozenset()


class RecordStream:
    """An extract's records read again from its file each time they are iterated: never all held at once.

    A school's export may hold millions of rows; what the rules and the sync keep of each is a few bytes (its
    position, its UPN hash's first bytes), and they read the records again where they need them. `read` yields
    the same records in the same order every time (the file does not change under a run).
    """

    __slots__ = ("_count", "_read")

    def __init__(self, read: Callable[[], Iterator], count: int):
        self._read = read
        self._count = count

    def __iter__(self) -> Iterator:
        return self._read()

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, index: int):
        """The record at `index` (read through to it: for a look at one row, not a loop)."""
        if index < 0:
            index += self._count
        if not 0 <= index < self._count:
            raise IndexError(index)
        return next(itertools.islice(self._read(), index, None))


class Picked:
    """Some of a sequence's records, by position (kept as an array of a few bytes each): re-iterable, in order."""

    __slots__ = ("_change", "_positions", "_source")

    def __init__(self, source: Sequence, positions: array, change: Callable | None = None):
        self._source = source
        self._positions = positions
        self._change = change  # applied to each record picked (the rules' edit of a row), if any

    def __len__(self) -> int:
        return len(self._positions)

    def __iter__(self) -> Iterator:
        return (record for _position, record in self.pairs())

    def pairs(self) -> Iterator[tuple[int, object]]:
        """(position in the source, record) of each record picked."""
        return self.at(self._positions)

    def at(self, wanted: Iterable[int]) -> Iterator[tuple[int, object]]:
        """(position, record) of the source's records at these ascending positions, changed as these are."""
        change = self._change or (lambda record: record)
        for position, record in pick(self._source, wanted):
            yield position, change(record)


def pick(source: Sequence, positions: Iterable[int]) -> Iterator[tuple[int, object]]:
    """(position, record) of a sequence's records at these ascending positions: a list is indexed, a stream read."""
    if isinstance(source, list):
        yield from ((i, source[i]) for i in positions)
        return
    wanted = iter(positions)
    following = next(wanted, None)
    if following is None:
        return
    for i, record in enumerate(source):
        if i == following:
            yield i, record
            following = next(wanted, None)
            if following is None:
                return


def positions() -> array:
    """An empty array of positions in an extract's records (4 bytes each)."""
    return array("I")


@dataclass(slots=True)
class Extract:
    """What a reader made of one file: records per kind, the rows it could not read, and its shape."""

    format: str
    full: bool = True
    school_code: str = ""
    # a list, or (an MIS export's learners, which may be millions) a RecordStream read from the file again
    learners: list[LearnerRecord] | RecordStream = field(default_factory=list)
    staff: list[StaffRecord] = field(default_factory=list)
    # kinds this extract lists; for a full extract, the complete list of that kind at the school
    kinds: set[str] = field(default_factory=set)
    learner_fields: set[str] = field(default_factory=set)
    staff_fields: set[str] = field(default_factory=set)
    refused: list[Refusal] = field(default_factory=list)
    truncated: bool = False
    rows: int = 0
    # OneRoster: the school's classes by sourcedId (`classes_full`: the package lists all of them), and a
    # delta's enrolment changes for learners by sourcedId whose user rows did not change
    classes: dict[str, ClassRecord] = field(default_factory=dict)
    classes_full: bool = False
    enrolment_changes: dict[str, EnrolmentChange] = field(default_factory=dict)
    # (kind, record field) -> the column it was read from, named in refusals (OneRoster: "users.identifier")
    columns: dict[tuple[str, str], str] = field(default_factory=dict)
    # The latest change the extract records (OneRoster: its rows' dateLastModified); None when it has none.
    # An MIS CSV export and a OneRoster manifest carry no time of their own.
    changed_at: datetime | None = None

    @property
    def empty(self) -> bool:
        return not self.learners and not self.staff and not self.refused and not self.enrolment_changes
