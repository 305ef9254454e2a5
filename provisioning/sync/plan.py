"""Planning: compare one school's extract (and the rules' verdict on it) with its accounts; decide, write nothing.

Learners are matched by UPN hash anywhere in Wales, staff by staff code at the school or by work email at another.
A plan holds, of every account it changes, the fields it sets that differ from the values read, and when it read
them (updated_at); applying it writes them only where nobody changed the account since, so the other fields keep
the values read. A school's learners are read a chunk at a time, as the extract's are, and let go once that chunk is
planned: a later run of a school of millions holds no account it leaves as it is, and little of each it changes
(past a chunk's worth, its changes are spilled to a temporary table as it goes, and it keeps a bit an account:
provisioning.sync.changes).
"""

import itertools
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

from django.utils import timezone

from accounts.models import Account, Organisation
from accounts.sealing import keyed_hash, upn_hash
from provisioning.models import OneRosterClass, OneRosterUser
from provisioning.records import (
    CLASS_FIELDS,
    LEARNER,
    STAFF,
    ClassRecord,
    Extract,
    LearnerRecord,
    Picked,
    Reason,
    Refusal,
    StaffRecord,
    positions,
)
from provisioning.rules import Assessment
from provisioning.sync import rows
from provisioning.sync.changes import Changes, Ids
from provisioning.upn import upn_key

ACTIVE = Account.Status.ACTIVE
DEACTIVATED = Account.Status.DEACTIVATED
LEAVER = Account.StatusReason.LEAVER
# UPN hashes looked up anywhere in Wales this many at a time (a school's first run asks for every learner it has)
LOOKUP_CHUNK = 20000
# what a delta row's enrolment changes decide, relative to the account's classes, instead of the row itself
PATCHED = CLASS_FIELDS


class Creates:
    """The accounts a plan makes: (kind, record, UPN hash or None) each as iterated, learners first.

    A new learner is kept as its position in the extract's records (4 bytes), and read again from the extract
    when the accounts are written; only a record the plan changed (a delta's enrolments applied) is kept whole.
    A school's first run makes an account for every row of its export.
    """

    def __init__(self, eligible: Picked):
        self.eligible = eligible  # the assessment's learners, whose positions these are
        self.learners = positions()
        self.changed: dict[int, LearnerRecord] = {}  # position -> the record as the plan changed it
        self.staff: list[StaffRecord] = []

    def add_learner(self, position: int, record: LearnerRecord | None = None) -> None:
        self.learners.append(position)
        if record is not None:
            self.changed[position] = record

    def add_staff(self, record: StaffRecord) -> None:
        self.staff.append(record)

    def __len__(self) -> int:
        return len(self.learners) + len(self.staff)

    def __bool__(self) -> bool:
        return len(self) > 0

    def __iter__(self) -> Iterator[tuple[str, LearnerRecord | StaffRecord, str | None]]:
        for position, record in self.eligible.at(self.learners):
            record = self.changed.get(position, record)
            yield LEARNER, record, upn_hash(record.upn)
        for record in self.staff:
            yield STAFF, record, None


@dataclass
class Plan:
    """Every change one school's run would make, decided against one reading of its accounts."""

    creates: Creates  # the accounts to make
    # account id -> rows.change_pack(updated_at as read, the WRITTEN fields set that differ from those read),
    # a large school's spilled to a temporary table as planning goes
    changes: Changes = field(default_factory=Changes)
    updated: Ids = field(default_factory=Ids)
    transferred: Ids = field(default_factory=Ids)
    reactivated: Ids = field(default_factory=Ids)
    deactivated: Ids = field(default_factory=Ids)
    unchanged: int = 0
    names: dict[int, tuple[str, str]] = field(default_factory=dict)  # account -> MIS names that differ
    names_match: set[int] = field(default_factory=set)  # MIS names match, and a notice may be pending
    refused: list[Refusal] = field(default_factory=list)
    active_before: int = 0
    links: dict[str, int] = field(default_factory=dict)  # OneRoster user sourcedId -> account kept
    classes: dict[str, ClassRecord] = field(default_factory=dict)  # OneRoster classes to keep, by sourcedId


def extract_plan(organisation: Organisation, extract: Extract, assessment: Assessment) -> Plan:
    """Compare the extract (and its assessment) with what the school has; decide every change, write nothing."""
    return _Planner(organisation, extract, assessment).make()


def learner_values(record: LearnerRecord, fields: set[str]) -> dict:
    """The MIS fields of a learner row its extract carries (and the row does not omit), as account values."""
    omits = record.omits
    values = {} if "leaving_date" in omits else {"leaving_date": record.leaving_date}
    for name in fields:
        if name in omits:
            continue
        value = getattr(record, name)
        values[name] = list(value) if name == "classes" else value
    return values


def staff_values(record: StaffRecord, fields: set[str]) -> dict:
    """The MIS fields of a staff row its extract carries, as account values."""
    values = {"leaving_date": record.leaving_date}
    for name in fields - record.omits:
        values[name] = getattr(record, name)
    if record.email:
        values["work_email"] = record.email
    return values


def oneroster_user_key(sourced_id: str) -> str:
    """A OneRoster user's sourcedId as kept: its keyed hash (a broker may use the UPN as the id)."""
    return keyed_hash("oneroster-user:" + sourced_id)


class _Planner:
    """One school's plan in the making: each method decides one step, and none writes."""

    def __init__(self, organisation: Organisation, extract: Extract, assessment: Assessment):
        self.organisation = organisation
        self.extract = extract
        self.assessment = assessment
        self.plan = Plan(
            creates=Creates(assessment.learners), refused=list(assessment.refused), classes=assessment.classes
        )
        self.kinds: list[str] = []
        self.local: dict[int, dict] = {}  # the school's MIS staff accounts, as read (staff are few)
        # the accounts being planned, as read: a chunk of learners at a time, and staff throughout
        self.read: dict[int, dict] = {}
        self.shared: dict = {}  # equal values of the plan's changes, kept once (rows.change_pack)
        self.now = None
        self.patches = False
        self.class_map: dict[str, ClassRecord] = {}

    def make(self) -> Plan:
        extract = self.extract
        self.kinds = [k for k in (LEARNER, STAFF) if k in extract.kinds]
        if STAFF in extract.kinds:
            self.local = rows.local_values(self.organisation, [STAFF])
            self.read.update(self.local)
        # the school's active staff, and (read through as absent learners are looked for, or else counted) learners
        self.plan.active_before = sum(1 for a in self.local.values() if a["status"] != DEACTIVATED)
        if LEARNER in extract.kinds and not extract.full:
            self.plan.active_before += rows.local_active_count(self.organisation, [LEARNER])
        self.now = timezone.now()
        # OneRoster deltas join and leave classes named by id: those of this package over those stored before
        self.patches = not extract.full and extract.learner_fields >= PATCHED
        self.class_map = _classes_known(self.organisation, self.assessment) if self.patches else {}
        if LEARNER in extract.kinds:
            self._plan_learners()
        if STAFF in extract.kinds:
            self._plan_staff()
        self.plan.refused.sort(key=lambda r: r.row)
        return self.plan

    # ------------------------------------------------------------ learners

    def _plan_learners(self) -> None:
        """Learners, matched by UPN hash anywhere in Wales: read a chunk at a time, looked up a chunk at a time.

        Of each chunk's accounts the plan keeps only what it changes (apply writes that only where nobody changed
        the account since it read it); a later run of a school leaves most as they are.
        """
        assessment = self.assessment
        for chunk in itertools.batched(assessment.learners.pairs(), LOOKUP_CHUNK):
            hashes = [upn_hash(record.upn) for _position, record in chunk]
            # anywhere in Wales: the school's own, another school's learner moving here, or a UPN hash some other
            # account holds
            by_hash = self._read(rows.values_by_upn_hash(hashes))
            for (position, record), hashed in zip(chunk, hashes, strict=True):
                self._plan_learner(position, record, by_hash.get(hashed))
            self._forget(by_hash.values())
            self._spill()
        # a leaver is deactivated only at this school: the school's own accounts are all it is matched with
        for chunk in itertools.batched(assessment.learner_leavers, LOOKUP_CHUNK):
            hashes = [upn_hash(record.upn) for record in chunk]
            by_hash = self._read(rows.local_values(self.organisation, self.kinds, upn_hashes=hashes))
            mine = {account_id: self.read[account_id] for account_id in by_hash.values()}
            for record, hashed in zip(chunk, hashes, strict=True):
                self._plan_leaver(by_hash.get(hashed), record.leaving_date, mine)
            self._forget(by_hash.values())
            self._spill()
        if self.patches and self.extract.enrolment_changes:
            self._plan_enrolment_changes()
        if self.extract.full:
            self._deactivate_absent_learners(assessment.learner_present)

    def _spill(self) -> None:
        """Once a chunk is planned: spill the changes held, if they are many (Changes.spill). The values they
        shared are then let go too, so that what is held stays a chunk's worth whatever the school's size."""
        if self.plan.changes.spill():
            self.shared.clear()

    def _read(self, found: dict[int, dict]) -> dict[str, int]:
        """Add accounts just read to those being planned (staff, held throughout, as first read); their ids by UPN
        hash. An account read again after the plan changed it compares as read now: if another run has changed it
        since the first reading, the change the plan keeps (with updated_at as first read) fails and it plans
        again."""
        read = self.read
        for account_id, account in found.items():
            read.setdefault(account_id, account)
        return {a["upn_hash"]: account_id for account_id, a in found.items() if a["upn_hash"]}

    def _forget(self, account_ids) -> None:
        """Let go of accounts read for a chunk (staff, few, are held throughout): the plan keeps its changes."""
        read, local = self.read, self.local
        for account_id in account_ids:
            if account_id not in local:
                read.pop(account_id, None)

    def _plan_learner(self, position: int, record: LearnerRecord, account_id: int | None) -> None:
        """One eligible learner row (at `position` in the extract's records): refuse it, make its account, or keep
        the account its UPN names."""
        account = self.read.get(account_id)
        moved = account is not None and account["organisation_id"] != self.organisation.pk
        if account is not None and account["kind"] != LEARNER:
            self.plan.refused.append(Refusal(record.row, Reason.UPN_BELONGS_TO_STAFF, LEARNER))
        elif (account is None or moved) and "admission_date" in record.omits:
            # a delta row without its enrolments can update an account here, but not admit a learner here
            self.plan.refused.append(Refusal(record.row, Reason.MISSING_ADMISSION_DATE, LEARNER))
        elif account is None:
            self._plan_new_learner(position, record)
        elif moved and account["moved_from_id"] == self.organisation.pk and account["status"] != DEACTIVATED:
            # dual registration: it left here for a school that still has it on roll. Taking it back would
            # have the two schools' runs move it to and fro every hour; it returns once it leaves there.
            self.plan.refused.append(Refusal(record.row, Reason.REGISTERED_ELSEWHERE, LEARNER))
        else:
            values = learner_values(record, self.extract.learner_fields)
            if self.patches and (record.enrolled or record.unenrolled):
                admitted = values.get("admission_date")
                values.update(
                    _enrolment_values(
                        account, moved, record.enrolled, record.unenrolled, admitted, self.class_map
                    )
                )
            if record.source_id:
                self.plan.links[record.source_id] = account_id
            self._keep(account_id, values, record.forename, record.surname, moved=moved)

    def _plan_new_learner(self, position: int, record: LearnerRecord) -> None:
        if not (self.patches and (record.enrolled or record.unenrolled)):
            self.plan.creates.add_learner(position)
            return
        registration_group, classes = _enrolments_apply(
            "", [], record.enrolled, record.unenrolled, self.class_map
        )
        record = replace(
            record,
            registration_group=registration_group,
            classes=tuple(classes),
            omits=record.omits - PATCHED,
        )
        self.plan.creates.add_learner(position, record)

    def _plan_enrolment_changes(self) -> None:
        """A delta's enrolment changes for learners it does not list: found by the ids earlier packages gave."""
        changes = self.extract.enrolment_changes
        hashed = {oneroster_user_key(uid): uid for uid in changes}
        links = {
            hashed[key]: account_id
            for key, account_id in OneRosterUser.objects.filter(
                organisation=self.organisation, sourced_id_hash__in=list(hashed)
            ).values_list("sourced_id_hash", "account_id")
        }
        # the school's accounts these ids name, as they are now (only its own: one that moved away is unknown here)
        mine = rows.local_values(self.organisation, self.kinds, ids=sorted(set(links.values())))
        self._read(mine)
        for uid, enrolment in changes.items():
            account_id = links.get(uid)
            if account_id not in mine:
                # no package listed this user here (or their account moved away): nothing to join or leave
                self.plan.refused.append(
                    Refusal(
                        enrolment.row,
                        Reason.ENROLMENT_UNKNOWN_USER,
                        LEARNER,
                        field="enrollments.userSourcedId",
                    )
                )
                continue
            account = self.read[account_id]
            if (
                account["kind"] != LEARNER
                or account["status"] == DEACTIVATED
                or account_id in self.plan.changes
            ):
                continue
            values = _enrolment_values(
                account, False, enrolment.enrolled, enrolment.unenrolled, enrolment.begins, self.class_map
            )
            if self._differs(account_id, values):
                self._change(account_id, **values)
                self.plan.updated.add(account_id)
        self._forget(mine)

    def _deactivate_absent_learners(self, present: set[bytes]) -> None:
        """A full extract lists every learner: an active one whose UPN it does not hold has left.

        The school's learners are read through for their UPN hashes alone; only those absent are read whole, a
        chunk at a time, and checked again as they are then.
        """
        # 8 bytes an account the extract no longer lists (every learner of the school, were it empty)
        absent = array("q")
        for account_id, hashed in rows.local_active_hashes(self.organisation, LEARNER):
            self.plan.active_before += 1
            if upn_key(hashed) not in present:
                absent.append(account_id)
        for start in range(0, len(absent), LOOKUP_CHUNK):
            chunk = absent[start : start + LOOKUP_CHUNK].tolist()
            found = rows.local_values(self.organisation, self.kinds, ids=chunk)
            self._read(found)
            for account_id in found:
                account = self.read[account_id]
                if (
                    account["kind"] == LEARNER
                    and account["status"] != DEACTIVATED
                    and upn_key(account["upn_hash"]) not in present
                ):
                    self._deactivate(account_id)
            self._forget(chunk)
            self._spill()

    # ------------------------------------------------------------ staff

    def _plan_staff(self) -> None:
        """Staff, matched by staff code at the school, or by work email at another school."""
        by_code, by_email = self._staff_by_code_and_email()
        kept = set()
        for record in self.assessment.staff:
            self._plan_staff_member(record, by_code, by_email, kept)
        for record in self.assessment.staff_leavers:
            self._plan_leaver(by_code.get(record.staff_code), record.leaving_date, self.local)
        if self.extract.full:
            self._deactivate_absent_staff(kept)

    def _staff_by_code_and_email(self) -> tuple[dict[str, int], dict[str, int]]:
        """Account ids by staff code at the school, and by work email of those whose code the extract lacks."""
        local, assessment = self.local, self.assessment
        by_code = {
            a["staff_code"].upper(): account_id
            for account_id, a in local.items()
            if a["kind"] == STAFF and a["staff_code"]
        }
        codes = {s.staff_code for s in assessment.staff} | assessment.staff_present
        # a staff code changed at the school: the same person (same work email) keeps the account
        by_email = {
            a["work_email"]: account_id
            for account_id, a in local.items()
            if a["kind"] == STAFF and a["work_email"] and a["staff_code"].upper() not in codes
        }
        wanted_emails = [
            s.email
            for s in assessment.staff
            if s.staff_code not in by_code and s.email and s.email not in by_email
        ]
        if wanted_emails:
            found = rows.staff_values_by_email(wanted_emails, elsewhere_than=self.organisation)
            self.read.update(found)
            by_email.update({a["work_email"]: account_id for account_id, a in found.items()})
        return by_code, by_email

    def _plan_staff_member(
        self, record: StaffRecord, by_code: dict[str, int], by_email: dict[str, int], kept: set[int]
    ) -> None:
        """One eligible staff row: keep the account its code (or work email) names, or make one."""
        values = staff_values(record, self.extract.staff_fields)
        if record.staff_code in by_code:
            self._keep(by_code[record.staff_code], values, record.forename, record.surname, moved=False)
        elif record.email and record.email in by_email:
            account_id = by_email.pop(record.email)
            kept.add(account_id)
            account = self.read[account_id]
            moved = account["organisation_id"] != self.organisation.pk
            if (
                moved
                and account["moved_from_id"] == self.organisation.pk
                and account["status"] != DEACTIVATED
            ):
                # working at two schools: as for a learner on two rolls, the account stays where it went
                self.plan.refused.append(Refusal(record.row, Reason.EMPLOYED_ELSEWHERE, STAFF))
            else:
                self._keep(account_id, values, record.forename, record.surname, moved=moved)
        else:
            self.plan.creates.add_staff(record)

    def _deactivate_absent_staff(self, kept: set[int]) -> None:
        """A full extract lists every member of staff: an active one whose code it does not hold has left."""
        for account_id, account in self.local.items():
            if (
                account["kind"] == STAFF
                and account_id not in kept
                and account["status"] != DEACTIVATED
                and account["staff_code"].upper() not in self.assessment.staff_present
            ):
                self._deactivate(account_id)

    # ------------------------------------------------------------ one account

    def _plan_leaver(self, account_id: int | None, leaving_date, local: dict[int, dict]) -> None:
        """A leaver the extract lists: the school's account (one of `local`, as read), if still active, is
        deactivated."""
        if account_id in local and local[account_id]["status"] != DEACTIVATED:
            self._deactivate(account_id, leaving_date=leaving_date)

    def _keep(self, account_id: int, values: dict, forename: str, surname: str, *, moved: bool) -> None:
        """An account the extract lists: move it here, bring it back, or bring its MIS fields up to date."""
        plan = self.plan
        account = self.read[account_id]
        self._compare_names(account_id, forename, surname)
        if moved:
            self._change(
                account_id,
                organisation=self.organisation.pk,
                moved_from=account["organisation_id"],
                **values,
            )
            plan.transferred.add(account_id)
            if account["status"] == DEACTIVATED and account["status_reason"] == LEAVER:
                self._reactivate(account_id)
            return
        if account["status"] == DEACTIVATED:
            if account["status_reason"] != LEAVER:
                # deactivated by a person, not by the MIS: the MIS does not overrule them
                plan.unchanged += 1
                return
            self._change(account_id, **values)
            self._reactivate(account_id)
        elif self._differs(account_id, values):
            self._change(account_id, **values)
            plan.updated.add(account_id)
        else:
            plan.unchanged += 1

    def _compare_names(self, account_id: int, forename: str, surname: str) -> None:
        """Note MIS names that differ from the account's (a name-change notice), or that they match."""
        account = self.read[account_id]
        if (account["legal_forename"].strip(), account["legal_surname"].strip()) != (
            forename.strip(),
            surname.strip(),
        ):
            self.plan.names[account_id] = (forename.strip(), surname.strip())
        elif account.get("pending_notice", True):
            # only a pending notice needs the match (to clear it): a later run's names mostly match
            self.plan.names_match.add(account_id)

    def _reactivate(self, account_id: int) -> None:
        self._change(
            account_id, status=ACTIVE, status_reason="", status_changed_at=self.now, deactivated_at=None
        )
        self.plan.reactivated.add(account_id)

    def _deactivate(self, account_id: int, **values) -> None:
        self._change(
            account_id,
            status=DEACTIVATED,
            status_reason=LEAVER,
            status_changed_at=self.now,
            deactivated_at=self.now,
            **values,
        )
        self.plan.deactivated.add(account_id)

    def _differs(self, account_id: int, values: dict) -> bool:
        account = self.read[account_id]
        return any(account[name] != value for name, value in values.items())

    def _change(self, account_id: int, **values) -> None:
        """Set new values on the account's planned change (the account is one being planned, as read).

        The change keeps only the values that differ from those read (and updated_at): the write leaves the rest
        as they are, which is as read, since it writes only where nobody changed the account since.
        """
        changes, account = self.plan.changes, self.read[account_id]
        change = changes.get(account_id)
        current = rows.change_values(change) if change else {}
        current.update(values)
        current["updated_at"] = self.now
        differ = {
            name: value
            for name, value in current.items()
            if name == "updated_at" or account[rows.ATTNAMES[name]] != value
        }
        seen = rows.change_seen(change) if change else account["updated_at"]
        changes[account_id] = rows.change_pack(seen, differ, self.shared)


def _classes_known(organisation: Organisation, assessment: Assessment) -> dict[str, ClassRecord]:
    """The school's OneRoster classes by sourcedId: those earlier packages named, with this package's over them."""
    known = {
        sid: ClassRecord(title, homeroom)
        for sid, title, homeroom in OneRosterClass.objects.filter(organisation=organisation).values_list(
            "sourced_id", "title", "homeroom"
        )
    }
    known.update(assessment.classes)  # deleted ones too: leaving a deleted class still names it
    return known


def _enrolments_apply(registration_group, classes, enrolled, unenrolled, known) -> tuple[str, list[str]]:
    """A registration group and class list after joining and leaving classes (unknown ids change nothing)."""
    joined = [known[c] for c in enrolled if c in known and not known[c].deleted]
    left = [known[c] for c in unenrolled if c in known]
    titles = set(classes) - {c.title for c in left if not c.homeroom}
    titles |= {c.title for c in joined if not c.homeroom}
    if any(c.homeroom and c.title == registration_group for c in left):
        registration_group = ""
    homerooms = [c.title for c in joined if c.homeroom]
    if homerooms:
        registration_group = homerooms[0]
    return registration_group, sorted(titles)


def _enrolment_values(account: dict, moved: bool, enrolled, unenrolled, admitted, known) -> dict:
    """An account's registration group, classes and admission date after a delta's enrolment changes."""
    # an account moving here from another school starts from none of that school's classes
    reg, classes = ("", []) if moved else (account["registration_group"], account["classes"] or [])
    reg, classes = _enrolments_apply(reg, classes, enrolled, unenrolled, known)
    out = {"registration_group": reg, "classes": classes}
    earlier = account["admission_date"]
    if admitted is not None:
        # a delta's new enrolment (a new class in March) is not a new admission: keep the earliest
        out["admission_date"] = min(admitted, earlier) if earlier and not moved else admitted
    return out
