"""Plain records that readers make from an extract and the rules and the sync consume.

Nothing here touches the database. A UPN appears only in a LearnerRecord in memory: the sync stores its keyed
hash and nothing else.
"""

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
# What a OneRoster package learns from a learner's enrolments; a delta row without them omits these.
ENROLMENT_FIELDS = frozenset({"admission_date", "registration_group", "classes", "leaving_date"})


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


@dataclass(frozen=True, slots=True)
class Refusal:
    """A row the sync will not act on, and why."""

    row: int
    reason: Reason
    kind: str = ""

    def as_dict(self) -> dict:
        return {"row": self.row, "reason": str(self.reason.value), "kind": self.kind}


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


@dataclass(frozen=True, slots=True)
class EnrolmentChange:
    """A OneRoster delta's enrolment changes for a learner its users.csv does not list."""

    enrolled: tuple[str, ...]
    unenrolled: tuple[str, ...]
    begins: date | None = None


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


@dataclass(slots=True)
class Extract:
    """What a reader made of one file: records per kind, the rows it could not read, and its shape."""

    format: str
    full: bool = True
    school_code: str = ""
    learners: list[LearnerRecord] = field(default_factory=list)
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
    # The latest change the extract records (OneRoster: its rows' dateLastModified); None when it has none.
    # An MIS CSV export and a OneRoster manifest carry no time of their own.
    changed_at: datetime | None = None

    @property
    def empty(self) -> bool:
        return not self.learners and not self.staff and not self.refused and not self.enrolment_changes
