"""The sync and every other provisioning write.

`extract_apply` reconciles one school's extract with its accounts: set-based (a handful of queries per run
whatever its size, new accounts written with COPY on PostgreSQL), converging and idempotent, atomic (one
transaction: a killed worker leaves nothing), one run per school at a time (a transaction-scoped advisory lock
keyed on the school). The UPN exists only in memory; what is stored and compared is its keyed hash.
"""

import base64
import functools
import json
import logging
import operator
import os
import secrets
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.bulk import ids_reserve, rows_copy
from accounts.models import Account, Organisation
from accounts.sealing import keyed_hash, upn_hash
from accounts.services import audit_record, audit_record_bulk, display_name_for, email_for
from accounts.usernames import username_base, usernames_allocate_bulk, usernames_bind, usernames_reserve
from passwords.generators import Draws, learner_password, random_password
from provisioning.models import NameChangeNotice, OneRosterClass, OneRosterUser, ProvisioningRun, SchoolToken
from provisioning.readers import ExtractError, read_extract
from provisioning.records import LEARNER, STAFF, ClassRecord, Extract, Reason, Refusal
from provisioning.rules import Assessment, assess

log = logging.getLogger(__name__)

MIS = Account.Source.MIS
ACTIVE = Account.Status.ACTIVE
DEACTIVATED = Account.Status.DEACTIVATED
LEAVER = Account.StatusReason.LEAVER
# Below this many deactivations a run is never held: a small primary school losing three leavers is normal.
BRAKE_MIN_ACCOUNTS = 5
_LOCK_CLASS = 0x554D50  # "UMP": the advisory-lock namespace for provisioning runs
_RETRIES = 5
# A run still "running" after this long was left by a killed worker: the hourly sweep applies it again.
STALE_AFTER = timedelta(minutes=60)

LOADED = (
    "id",
    "organisation_id",
    "kind",
    "status",
    "status_reason",
    "status_changed_at",
    "deactivated_at",
    "upn_hash",
    "legal_forename",
    "legal_surname",
    "admission_number",
    "admission_date",
    "year_group",
    "registration_group",
    "classes",
    "consent",
    "staff_code",
    "staff_role",
    "start_date",
    "leaving_date",
    "work_email",
    "moved_from_id",
    "updated_at",
)
WRITTEN = (
    "organisation",
    "moved_from",
    "status",
    "status_reason",
    "status_changed_at",
    "deactivated_at",
    "admission_number",
    "admission_date",
    "year_group",
    "registration_group",
    "classes",
    "consent",
    "staff_code",
    "staff_role",
    "start_date",
    "leaving_date",
    "work_email",
    "updated_at",
)
# WRITTEN field -> its LOADED name (a foreign key is loaded and set by its id)
_ATTNAMES = {name: Account._meta.get_field(name).attname for name in WRITTEN}


class ProvisioningError(Exception):
    """A run that cannot go ahead (an unreadable file, a run in the wrong state)."""


class _Stale(Exception):
    """Another run changed an account this run planned to change: plan again."""


@dataclass
class Report:
    """What a run did, or with dry_run or a hold, would do."""

    created: int = 0
    updated: int = 0
    transferred_in: int = 0
    deactivated: int = 0
    reactivated: int = 0
    unchanged: int = 0
    refused: list[Refusal] = field(default_factory=list)
    name_changes: int = 0
    held: str = ""
    dry_run: bool = False
    run_id: int | None = None
    rows: int = 0

    def counts(self) -> dict[str, int]:
        return {
            "created": self.created,
            "updated": self.updated,
            "transferred_in": self.transferred_in,
            "deactivated": self.deactivated,
            "reactivated": self.reactivated,
            "unchanged": self.unchanged,
            "refused": len(self.refused),
            "held": 1 if self.held else 0,
        }

    def as_dict(self) -> dict:
        return {
            **self.counts(),
            "run": self.run_id,
            "dry_run": self.dry_run,
            "hold_reason": self.held,
            "name_changes": self.name_changes,
            "refused_rows": [
                {"row": r.row, "reason": r.reason.value, "message": str(r.reason.label)} for r in self.refused
            ],
        }


@dataclass
class _Plan:
    creates: list = field(default_factory=list)  # (kind, record, upn hash or None)
    changes: dict[int, dict] = field(default_factory=dict)  # account id -> full new values of WRITTEN fields
    loaded: dict[int, dict] = field(default_factory=dict)
    updated: set[int] = field(default_factory=set)
    transferred: set[int] = field(default_factory=set)
    reactivated: set[int] = field(default_factory=set)
    deactivated: set[int] = field(default_factory=set)
    unchanged: int = 0
    names: dict[int, tuple[str, str]] = field(default_factory=dict)  # account -> MIS names that differ
    names_match: set[int] = field(default_factory=set)
    refused: list[Refusal] = field(default_factory=list)
    active_before: int = 0
    links: dict[str, int] = field(default_factory=dict)  # OneRoster user sourcedId -> account kept


# ---------------------------------------------------------------- planning


def _lock_school(organisation: Organisation) -> None:
    """Serialise runs for one school until the transaction ends."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_LOCK_CLASS, organisation.pk])
    else:
        Organisation.objects.select_for_update().filter(pk=organisation.pk).first()


def _values(qs, *extra) -> dict[int, dict]:
    """Account id -> {field: value} for LOADED (and `extra` annotations), as `qs.values()` would give."""
    names = (*LOADED, *extra)
    if connection.vendor != "postgresql":
        return {row["id"]: row for row in qs.values(*names)}
    # The ORM's per-row conversion costs several times the query on a large school. psycopg already gives
    # PostgreSQL's types as Python's; only JSON arrives as text (Django's connection asks for it so).
    sql, params = qs.values_list(*names).query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return _rows_as_values(names, cursor.fetchall())


def _local_values(organisation: Organisation, kinds: list[str]) -> dict[int, dict]:
    """`_values` of the school's MIS accounts of these kinds, each with whether a name-change notice is pending.

    On PostgreSQL the query is written once from the model: every school's plan runs it, and building it with the
    ORM cost more than running it for a school with few accounts.
    """
    if connection.vendor != "postgresql":
        pending = NameChangeNotice.objects.filter(
            account=OuterRef("pk"), status=NameChangeNotice.Status.PENDING
        )
        qs = Account.objects.filter(organisation=organisation, source=MIS, kind__in=kinds)
        return _values(qs.annotate(pending_notice=Exists(pending)), "pending_notice")
    with connection.cursor() as cursor:
        cursor.execute(_local_sql(), [NameChangeNotice.Status.PENDING, organisation.pk, MIS, list(kinds)])
        return _rows_as_values((*LOADED, "pending_notice"), cursor.fetchall())


@functools.cache
def _loaded_columns() -> str:
    """LOADED as SQL columns of the accounts table aliased `a` (names from the model)."""
    return ", ".join(f"a.{connection.ops.quote_name(Account._meta.get_field(n).column)}" for n in LOADED)


@functools.cache
def _local_sql() -> str:
    quote = connection.ops.quote_name
    notice = NameChangeNotice._meta
    return (
        f"SELECT {_loaded_columns()}, EXISTS (SELECT 1 FROM {quote(notice.db_table)} n "  # noqa: S608 - names from the models
        f"WHERE n.{quote(notice.get_field('account').column)} = a.{quote(Account._meta.pk.column)} "
        f"AND n.{quote(notice.get_field('status').column)} = %s) "
        f"FROM {quote(Account._meta.db_table)} a WHERE a.{quote(Account._meta.get_field('organisation').column)} = %s "
        f"AND a.{quote(Account._meta.get_field('source').column)} = %s "
        f"AND a.{quote(Account._meta.get_field('kind').column)} = ANY(%s)"
    )


def _values_by_upn_hash(hashes: list[str]) -> dict[int, dict]:
    """`_values` of the accounts holding these UPN hashes, anywhere in Wales.

    On PostgreSQL the hashes go as one parameter: a school's first run asks for every learner it has, and an
    IN list of 1,500 64-character parameters costs more to send and plan than the lookup itself. They are joined
    as a set: with `= ANY(array)` the planner cannot tell the array's size and often scans the whole table.
    """
    if connection.vendor != "postgresql":
        return _values(Account.objects.filter(upn_hash__in=hashes))
    quote = connection.ops.quote_name
    table = quote(Account._meta.db_table)
    column = quote(Account._meta.get_field("upn_hash").column)
    with connection.cursor() as cursor:
        # identifiers come from the model; the hashes (hex digits, so no commas) are one text parameter
        cursor.execute(
            f"SELECT {_loaded_columns()} FROM unnest(string_to_array(%s, ',')) AS h(upn_hash) "  # noqa: S608
            f"JOIN {table} a ON a.{column} = h.upn_hash",
            [",".join(hashes)],
        )
        return _rows_as_values(LOADED, cursor.fetchall())


def _rows_as_values(names, rows) -> dict[int, dict]:
    json_names = [n for n in names if n in _JSON_LOADED]
    out = {}
    for row in rows:
        values = dict(zip(names, row, strict=True))
        for name in json_names:
            if isinstance(values[name], str):
                values[name] = json.loads(values[name])
        out[values["id"]] = values
    return out


_JSON_LOADED = {
    name
    for name in LOADED
    if name != "id" and Account._meta.get_field(name).get_internal_type() == "JSONField"
}


def _learner_fields(record, fields: set[str]) -> dict:
    omits = record.omits
    values = {} if "leaving_date" in omits else {"leaving_date": record.leaving_date}
    for name in fields:
        if name in omits:
            continue
        value = getattr(record, name)
        values[name] = list(value) if name == "classes" else value
    return values


def _staff_fields(record, fields: set[str]) -> dict:
    values = {"leaving_date": record.leaving_date}
    for name in fields:
        values[name] = getattr(record, name)
    if record.email:
        values["work_email"] = record.email
    return values


def _plan(organisation: Organisation, extract: Extract, today: date, assessment: Assessment) -> _Plan:
    """Compare the extract (and its assessment) with what the school has; decide every change, write nothing."""
    plan = _Plan(refused=list(assessment.refused))
    kinds = [k for k in (LEARNER, STAFF) if k in extract.kinds]
    local = _local_values(organisation, kinds)
    plan.loaded.update(local)
    plan.active_before = sum(1 for a in local.values() if a["status"] != DEACTIVATED)
    now = timezone.now()

    def change(account_id: int, **values):
        current = plan.changes.get(account_id) or {
            name: plan.loaded[account_id][_ATTNAMES[name]] for name in WRITTEN if name != "updated_at"
        }
        current.update(values)
        current["updated_at"] = now
        plan.changes[account_id] = current

    def differs(account_id: int, values: dict) -> bool:
        row = plan.loaded[account_id]
        return any(row[k] != v for k, v in values.items())

    def reactivate(account_id: int):
        change(account_id, status=ACTIVE, status_reason="", status_changed_at=now, deactivated_at=None)
        plan.reactivated.add(account_id)

    def deactivate(account_id: int, **values):
        change(
            account_id,
            status=DEACTIVATED,
            status_reason=LEAVER,
            status_changed_at=now,
            deactivated_at=now,
            **values,
        )
        plan.deactivated.add(account_id)

    def compare_names(account_id: int, forename: str, surname: str):
        row = plan.loaded[account_id]
        if (row["legal_forename"].strip(), row["legal_surname"].strip()) != (
            forename.strip(),
            surname.strip(),
        ):
            plan.names[account_id] = (forename.strip(), surname.strip())
        else:
            plan.names_match.add(account_id)

    def keep(account_id: int, values: dict, record_forename: str, record_surname: str, *, moved: bool):
        """An account the extract lists: move it here, bring it back, or bring its MIS fields up to date."""
        row = plan.loaded[account_id]
        compare_names(account_id, record_forename, record_surname)
        if moved:
            change(account_id, organisation=organisation.pk, moved_from=row["organisation_id"], **values)
            plan.transferred.add(account_id)
            if row["status"] == DEACTIVATED and row["status_reason"] == LEAVER:
                reactivate(account_id)
            return
        if row["status"] == DEACTIVATED:
            if row["status_reason"] != LEAVER:
                # deactivated by a person, not by the MIS: the MIS does not overrule them
                plan.unchanged += 1
                return
            change(account_id, **values)
            reactivate(account_id)
        elif differs(account_id, values):
            change(account_id, **values)
            plan.updated.add(account_id)
        else:
            plan.unchanged += 1

    # OneRoster deltas join and leave classes named by id: those of this package over those stored before
    patches = not extract.full and {"registration_group", "classes"} <= extract.learner_fields
    class_map = _classes_known(organisation, extract) if patches else {}

    # --- learners, matched by UPN hash anywhere in Wales
    if LEARNER in extract.kinds:
        by_hash = {a["upn_hash"]: i for i, a in local.items() if a["upn_hash"]}
        hashes = {r.upn: upn_hash(r.upn) for r in (*assessment.learners, *assessment.learner_leavers)}
        present = {hashes.get(u) or upn_hash(u) for u in assessment.learner_present}
        wanted = [hashes[r.upn] for r in assessment.learners if hashes[r.upn] not in by_hash]
        if wanted:
            # anywhere in Wales: another school's learner moving here, or a UPN hash some other account holds
            found = _values_by_upn_hash(wanted)
            plan.loaded.update(found)
            by_hash.update({a["upn_hash"]: i for i, a in found.items()})
        for r in assessment.learners:
            h = hashes[r.upn]
            i = by_hash.get(h)
            a = plan.loaded.get(i)
            moved = a is not None and a["organisation_id"] != organisation.pk
            if a is not None and a["kind"] != LEARNER:
                plan.refused.append(Refusal(r.row, Reason.UPN_BELONGS_TO_STAFF, LEARNER))
            elif (a is None or moved) and "admission_date" in r.omits:
                # a delta row without its enrolments can update an account here, but not admit a learner here
                plan.refused.append(Refusal(r.row, Reason.MISSING_ADMISSION_DATE, LEARNER))
            elif a is None:
                if patches and (r.enrolled or r.unenrolled):
                    reg, classes = _enrolments_apply("", [], r.enrolled, r.unenrolled, class_map)
                    r = replace(r, registration_group=reg, classes=tuple(classes), omits=r.omits - _PATCHED)
                plan.creates.append((LEARNER, r, h))
            elif moved and a["moved_from_id"] == organisation.pk and a["status"] != DEACTIVATED:
                # dual registration: it left here for a school that still has it on roll. Taking it back would
                # have the two schools' runs move it to and fro every hour; it returns once it leaves there.
                plan.refused.append(Refusal(r.row, Reason.REGISTERED_ELSEWHERE, LEARNER))
            else:
                values = _learner_fields(r, extract.learner_fields)
                if patches and (r.enrolled or r.unenrolled):
                    values.update(
                        _enrolment_values(
                            a, moved, r.enrolled, r.unenrolled, values.get("admission_date"), class_map
                        )
                    )
                if r.source_id:
                    plan.links[r.source_id] = i
                keep(i, values, r.forename, r.surname, moved=moved)
        for r in assessment.learner_leavers:
            i = by_hash.get(hashes[r.upn])
            if i in local and local[i]["status"] != DEACTIVATED:
                deactivate(i, leaving_date=r.leaving_date)
        if patches and extract.enrolment_changes:
            # a delta's enrolment changes for learners it does not list: found by the ids earlier packages gave
            hashed = {_user_key(uid): uid for uid in extract.enrolment_changes}
            links = {
                hashed[key]: i
                for key, i in OneRosterUser.objects.filter(
                    organisation=organisation, sourced_id_hash__in=list(hashed)
                ).values_list("sourced_id_hash", "account_id")
            }
            for uid, enrolment in extract.enrolment_changes.items():
                i = links.get(uid)
                a = local.get(i)
                if a is None or a["kind"] != LEARNER or a["status"] == DEACTIVATED or i in plan.changes:
                    continue
                values = _enrolment_values(
                    a, False, enrolment.enrolled, enrolment.unenrolled, enrolment.begins, class_map
                )
                if differs(i, values):
                    change(i, **values)
                    plan.updated.add(i)
        if extract.full:
            for i, a in local.items():
                if a["kind"] == LEARNER and a["status"] != DEACTIVATED and a["upn_hash"] not in present:
                    deactivate(i)

    # --- staff, matched by staff code at the school, or by work email at another school
    if STAFF in extract.kinds:
        by_code = {
            a["staff_code"].upper(): i for i, a in local.items() if a["kind"] == STAFF and a["staff_code"]
        }
        codes = {s.staff_code for s in assessment.staff} | assessment.staff_present
        # a staff code changed at the school: the same person (same work email) keeps the account
        by_email = {
            a["work_email"]: i
            for i, a in local.items()
            if a["kind"] == STAFF and a["work_email"] and a["staff_code"].upper() not in codes
        }
        wanted_emails = [
            s.email
            for s in assessment.staff
            if s.staff_code not in by_code and s.email and s.email not in by_email
        ]
        if wanted_emails:
            found = _values(
                Account.objects.filter(kind=STAFF, source=MIS, work_email__in=wanted_emails).exclude(
                    organisation=organisation
                )
            )
            plan.loaded.update(found)
            by_email.update({a["work_email"]: i for i, a in found.items()})
        kept = set()
        for s in assessment.staff:
            values = _staff_fields(s, extract.staff_fields)
            if s.staff_code in by_code:
                keep(by_code[s.staff_code], values, s.forename, s.surname, moved=False)
            elif s.email and s.email in by_email:
                i = by_email.pop(s.email)
                kept.add(i)
                a = plan.loaded[i]
                moved = a["organisation_id"] != organisation.pk
                if moved and a["moved_from_id"] == organisation.pk and a["status"] != DEACTIVATED:
                    # working at two schools: as for a learner on two rolls, the account stays where it went
                    plan.refused.append(Refusal(s.row, Reason.EMPLOYED_ELSEWHERE, STAFF))
                else:
                    keep(i, values, s.forename, s.surname, moved=moved)
            else:
                plan.creates.append((STAFF, s, None))
        for s in assessment.staff_leavers:
            i = by_code.get(s.staff_code)
            if i in local and local[i]["status"] != DEACTIVATED:
                deactivate(i, leaving_date=s.leaving_date)
        if extract.full:
            for i, a in local.items():
                if (
                    a["kind"] == STAFF
                    and i not in kept
                    and a["status"] != DEACTIVATED
                    and a["staff_code"].upper() not in assessment.staff_present
                ):
                    deactivate(i)
    plan.refused.sort(key=lambda r: r.row)
    return plan


# what a delta row's enrolment changes decide, relative to the account's classes, instead of the row itself
_PATCHED = frozenset({"registration_group", "classes"})


def _classes_known(organisation: Organisation, extract: Extract) -> dict[str, ClassRecord]:
    """The school's OneRoster classes by sourcedId: those earlier packages named, with this package's over them."""
    known = {
        sid: ClassRecord(title, homeroom)
        for sid, title, homeroom in OneRosterClass.objects.filter(organisation=organisation).values_list(
            "sourced_id", "title", "homeroom"
        )
    }
    known.update(extract.classes)  # deleted ones too: leaving a deleted class still names it
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


def _hold_reason(plan: _Plan, extract: Extract) -> str:
    # An empty full list would deactivate everyone; an empty delta (a broker's quiet hour) changes nothing.
    if extract.empty and extract.full:
        return ProvisioningRun.Hold.EMPTY
    if extract.truncated:
        return ProvisioningRun.Hold.TRUNCATED
    share = settings.UMP_PROVISIONING_BRAKE
    n = len(plan.deactivated)
    if n >= BRAKE_MIN_ACCOUNTS and n > share * plan.active_before:
        return ProvisioningRun.Hold.BRAKE
    return ""


# ---------------------------------------------------------------- applying


def _new_account_rows(applying: list, now, reserved: dict) -> tuple[list[dict], list[int]]:
    """Every applying item's new accounts, with claimed usernames and (on PostgreSQL) reserved primary keys,
    and for each row the position in `applying` of the item it belongs to.

    One username claim and one id reservation for the whole batch: the claim reads what each name base has
    issued once per batch, not once per school.
    """
    creates = [(item, kind, record, h) for item, plan, _r in applying for kind, record, h in plan.creates]
    owners = [n for n, (_item, plan, _r) in enumerate(applying) for _c in plan.creates]
    ids = ids_reserve(Account, len(creates))
    pairs = [(record.forename.strip(), record.surname.strip()) for _i, _k, record, _h in creates]
    usernames = usernames_allocate_bulk(pairs, account_ids=ids, reserved=reserved)
    # unusable: the new account signs in with its sealed initial password; no argon2 hash per row
    unusable = base64.urlsafe_b64encode(os.urandom(_UNUSABLE_BYTES * len(creates))).decode()
    width = _UNUSABLE_BYTES * 4 // 3
    rows = []
    for n, ((item, kind, record, h), username) in enumerate(zip(creates, usernames, strict=True)):
        forename, surname = pairs[n]
        if kind == LEARNER:
            row = _learner_fields(record, item.extract.learner_fields)
        else:
            row = _staff_fields(record, item.extract.staff_fields)
        row.update(
            kind=kind,
            source=MIS,
            organisation_id=item.organisation.id,
            legal_forename=forename,
            legal_surname=surname,
            display_name=display_name_for(kind, forename, surname),
            username=username,
            email=email_for(username),
            status=ACTIVE,
            upn_hash=h,
            password="!" + unusable[n * width : (n + 1) * width],
            created_at=now,
            updated_at=now,
            status_changed_at=now,
        )
        if ids is not None:
            row["id"] = ids[n]
        rows.append(row)
    return rows, owners


_UNUSABLE_BYTES = 24  # a multiple of 3: each account's share of the base64 text is whole characters
_COPY_FIELDS = None


def _copy_plan():
    """Account's columns for COPY (the id first), with the value each takes when a new row does not give one."""
    global _COPY_FIELDS
    if _COPY_FIELDS is None:
        plan = []
        for f in Account._meta.concrete_fields:
            callable_default = f.has_default() and callable(f.default)
            default = (
                None if callable_default else (f.get_default() if f.has_default() else None if f.null else "")
            )
            plan.append((f, default, callable_default))
        _COPY_FIELDS = plan
    return _COPY_FIELDS


def _insert_accounts(rows: list[dict]) -> list[int]:
    """Insert new accounts (one COPY on PostgreSQL, their ids and username claims already made); their ids."""
    if not rows:
        return []
    plan = _copy_plan()
    defaults = {f.attname: (f.get_default() if callable_ else d) for f, d, callable_ in plan}
    if connection.vendor != "postgresql":
        del defaults[Account._meta.pk.attname]
        Account.objects.bulk_create([Account(**{**defaults, **row}) for row in rows], batch_size=1000)
        ids = dict(
            Account.objects.filter(username__in=[r["username"] for r in rows]).values_list("username", "id")
        )
        usernames_bind(list(Account.objects.filter(pk__in=ids.values())))
        return [ids[r["username"]] for r in rows]
    names = [f.name for f, _d, _c in plan]
    pick = operator.itemgetter(*(f.attname for f, _d, _c in plan))
    rows_copy(Account, names, (pick({**defaults, **row}) for row in rows))
    return [row["id"] for row in rows]


def _store_initial_passwords(kinds_ids: list[tuple[str, int]]) -> None:
    from passwords.services import shown_passwords_store_bulk

    draws = Draws()  # one read of the system's randomness serves hundreds of passwords
    items = [
        (pk, learner_password(draws=draws) if kind == LEARNER else random_password(draws=draws))
        for kind, pk in kinds_ids
    ]
    shown_passwords_store_bulk(items=items, new=True)


_SQL_TYPES = {
    "ForeignKey": "bigint",
    "CharField": "text",
    "EmailField": "text",
    "DateTimeField": "timestamptz",
    "DateField": "date",
    "BooleanField": "boolean",
    "JSONField": "jsonb",
}


def _write_changes(changes: dict[int, dict], loaded: dict[int, dict]) -> None:
    """Write every changed account in one statement, only where nobody changed it since this run read it."""
    if not changes:
        return
    ids = list(changes)
    if connection.vendor != "postgresql":
        current = dict(Account.objects.select_for_update().filter(pk__in=ids).values_list("id", "updated_at"))
        if any(current.get(i) != loaded[i]["updated_at"] for i in ids):
            raise _Stale
        objs = []
        for i, values in changes.items():
            obj = Account(pk=i)
            for name, value in values.items():
                setattr(obj, _ATTNAMES[name], value)
            objs.append(obj)
        Account.objects.bulk_update(objs, list(WRITTEN), batch_size=500)
        return
    fields = [Account._meta.get_field(name) for name in WRITTEN]
    sets, casts, params = [], [], [ids, [loaded[i]["updated_at"] for i in ids]]
    for f in fields:
        sql_type = _SQL_TYPES[f.get_internal_type()]
        column = connection.ops.quote_name(f.column)
        values = [changes[i][f.name] for i in ids]
        if sql_type == "jsonb":
            values = [json.dumps(v) for v in values]
            casts.append("%s::text[]")
            sets.append(f"{column} = v.{column}::jsonb")
        else:
            casts.append(f"%s::{sql_type}[]")
            sets.append(f"{column} = v.{column}")
        params.append(values)
    names = ", ".join(["id", "seen"] + [connection.ops.quote_name(f.column) for f in fields])
    table = connection.ops.quote_name(Account._meta.db_table)
    sql = (
        # identifiers come from the model; every value is a parameter
        f"UPDATE {table} AS a SET {', '.join(sets)} "  # noqa: S608
        f"FROM unnest(%s::bigint[], %s::timestamptz[], {', '.join(casts)}) AS v({names}) "
        "WHERE a.id = v.id AND a.updated_at = v.seen"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        # a row another run changed after this one read it is skipped by the WHERE: plan again
        if cursor.rowcount != len(ids):
            raise _Stale


def _write_notices(organisation: Organisation, plan: _Plan, run: ProvisioningRun | None) -> int:
    if not plan.names and not any(plan.loaded[i].get("pending_notice", True) for i in plan.names_match):
        return 0
    # pending notices are few: those of this school, and of accounts moving here with a different name
    pending = {
        n.account_id: n
        for n in NameChangeNotice.objects.filter(status=NameChangeNotice.Status.PENDING).filter(
            Q(organisation=organisation) | Q(account_id__in=list(plan.names))
        )
    }
    now = timezone.now()
    new, changed = [], []
    for account_id, (forename, surname) in plan.names.items():
        notice = pending.get(account_id)
        if notice is None:
            new.append(
                NameChangeNotice(
                    account_id=account_id,
                    organisation=organisation,
                    run=run,
                    mis_forename=forename,
                    mis_surname=surname,
                )
            )
        elif (notice.mis_forename, notice.mis_surname) != (
            forename,
            surname,
        ) or notice.organisation_id != organisation.pk:
            notice.mis_forename, notice.mis_surname, notice.organisation_id, notice.run = (
                forename,
                surname,
                organisation.pk,
                run,
            )
            changed.append(notice)
    NameChangeNotice.objects.bulk_create(new)
    NameChangeNotice.objects.bulk_update(changed, ["mis_forename", "mis_surname", "organisation", "run"])
    cleared = [pending[i].pk for i in plan.names_match if i in pending]
    if cleared:
        NameChangeNotice.objects.filter(pk__in=cleared).update(
            status=NameChangeNotice.Status.CLEARED, decided_at=now
        )
    return len(new) + len(changed)


def _audit_events(organisation, run, plan, created_ids) -> list[tuple]:
    """A school's audit events for audit_record_bulk: one per kind of change, naming every account changed."""
    details = {"run": run.pk if run else None}
    return [
        (action, organisation, targets, details)
        for action, targets in (
            ("provisioning.create", created_ids),
            ("provisioning.transfer_in", plan.transferred),
            ("provisioning.update", plan.updated),
            ("provisioning.reactivate", plan.reactivated),
            ("provisioning.deactivate", plan.deactivated),
        )
        if targets
    ]


@dataclass
class Item:
    """One school's extract to apply, with the run it belongs to (if any)."""

    organisation: Organisation
    extract: Extract
    run: ProvisioningRun | None = None
    _assessed: tuple[date, Assessment] | None = field(default=None, init=False, repr=False)

    def assessment(self, today: date) -> Assessment:
        """The rules' verdict on every row (a pure function of the extract and the day: made once)."""
        if self._assessed is None or self._assessed[0] != today:
            self._assessed = (today, assess(self.extract, today))
        return self._assessed[1]


def _names_reserve(items: list[Item], today: date) -> dict:
    """Reserve username numbers for the schools in `items` having their first provisioning of a kind.

    Such a school creates an account for every eligible row of that kind. Reserving their names in a short
    transaction before the run's own (usernames_reserve) lets workers provisioning many schools at once number
    disjointly instead of queueing on each other's uncommitted claims. Later runs create few accounts and number
    them in the run's transaction. A reserved number left unused (a learner moving in, a run that failed) is a gap.
    """
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return {}
    pairs = sorted({(item.organisation.pk, kind) for item in items for kind in item.extract.kinds})
    if not pairs:
        return {}
    table = connection.ops.quote_name(Account._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            # the table name comes from the model; every value is a parameter
            f"SELECT v.o, v.k FROM unnest(%s::bigint[], %s::text[]) AS v(o, k) WHERE NOT EXISTS "  # noqa: S608
            f"(SELECT 1 FROM {table} a WHERE a.organisation_id = v.o AND a.kind = v.k AND a.source = %s)",
            [[o for o, _k in pairs], [k for _o, k in pairs], MIS],
        )
        first = set(cursor.fetchall())
    counts: dict[str, int] = {}
    for item in items:
        org = item.organisation.pk
        assessment = item.assessment(today)
        records = []
        if (org, LEARNER) in first:
            records += assessment.learners
        if (org, STAFF) in first:
            records += assessment.staff
        for r in records:
            base = username_base(r.forename.strip(), r.surname.strip())
            counts[base] = counts.get(base, 0) + 1
    return usernames_reserve(counts)


def extract_apply(
    *,
    organisation: Organisation,
    extract: Extract,
    actor=None,
    run: ProvisioningRun | None = None,
    dry_run: bool = False,
    approve: bool = False,
    today: date | None = None,
    progress: Callable[[str], None] | None = None,
) -> Report:
    """Reconcile one school's accounts with an extract; hold it instead if the brake says so."""
    return extracts_apply(
        items=[Item(organisation, extract, run)],
        actor=actor,
        dry_run=dry_run,
        approve=approve,
        today=today,
        progress=progress,
    )[0]


def extracts_apply(
    *,
    items: list[Item],
    actor=None,
    dry_run: bool = False,
    approve: bool = False,
    today: date | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[Report]:
    """Apply many schools' extracts in one transaction (all or nothing); a report per item, in order.

    Each school is reconciled exactly as on its own, and held on its own if the brake says so. Batching many
    schools (an authority's first provisioning, the hourly queue) shares the username claim, the id
    reservation and each COPY between them.
    """
    today = today or timezone.localdate()
    step = progress or (lambda _name: None)
    reserved = {} if dry_run else _names_reserve(items, today)
    for attempt in range(_RETRIES):
        try:
            # a failed attempt's claims were rolled back: its reserved numbers are still this run's to use
            mine = {base: deque(numbers) for base, numbers in reserved.items()}
            reports = _apply_batch(items, actor, dry_run, approve, today, step, mine)
        except _Stale:
            log.info("provisioning batch of %d planned on stale rows; planning again", len(items))
        except IntegrityError:
            # a concurrent run in another school claimed the same UPN hash first: the next plan sees it
            if attempt == _RETRIES - 1:
                raise
        except OperationalError as exc:
            # two schools' runs claiming overlapping usernames can deadlock; PostgreSQL aborts one, which retries
            if getattr(exc.__cause__, "sqlstate", "") not in ("40P01", "40001"):
                raise
            if len(items) > 1 and attempt:
                # A large batch holds many claims until it commits, so it keeps meeting another worker's: go on
                # in two halves, each its own transaction, which hold half as many.
                log.info("provisioning batch of %d hit deadlocks again; applying it in halves", len(items))
                half = len(items) // 2
                options = {"actor": actor, "dry_run": dry_run, "approve": approve, "today": today}
                return extracts_apply(items=items[:half], progress=progress, **options) + extracts_apply(
                    items=items[half:], progress=progress, **options
                )
            if attempt == _RETRIES - 1:
                raise
            log.info("provisioning batch of %d hit a deadlock; retrying", len(items))
        else:
            # after the commit, so that no lock is held for the rest of a transaction
            _refresh_statistics(0 if dry_run else sum(r.created for r in reports if not r.held))
            return reports
    raise ProvisioningError("accounts kept changing under this run")


def _report(item: Item, plan: _Plan, dry_run: bool, approve: bool) -> Report:
    extract = item.extract
    report = Report(
        created=len(plan.creates),
        updated=len(plan.updated),
        transferred_in=len(plan.transferred),
        deactivated=len(plan.deactivated),
        reactivated=len(plan.reactivated - plan.transferred),
        unchanged=plan.unchanged,
        refused=plan.refused,
        name_changes=len(plan.names),
        dry_run=dry_run,
        run_id=item.run.pk if item.run else None,
        rows=len(extract.learners) + len(extract.staff) + len(extract.refused),
    )
    report.held = "" if approve else _hold_reason(plan, extract)
    return report


def _apply_batch(items, actor, dry_run, approve, today, step, reserved) -> list[Report]:
    reports: dict[int, Report] = {}
    with transaction.atomic():
        if not dry_run:
            # every school of the batch, in one order, so that two batches never wait on each other in a cycle
            schools = {i.organisation.pk: i.organisation for i in items}.values()
            for organisation in sorted(schools, key=operator.attrgetter("pk")):
                _lock_school(organisation)
        waiting = list(enumerate(items))
        while waiting:
            step("plan")
            applying, deferred = [], []
            touched, hashes = set(), set()
            for n, item in waiting:
                plan = _plan(item.organisation, item.extract, today, item.assessment(today))
                report = _report(item, plan, dry_run, approve)
                reports[n] = report
                if dry_run or report.held:
                    if item.run is not None and not dry_run:
                        _run_finish(item.run, report, plan.active_before, timezone.now())
                    continue
                # Plans are made against one snapshot. Where two would touch the same account (a learner
                # leaving one school of the batch for another) or make the same UPN, the later school waits
                # for the earlier one's writes and plans again, exactly as if it had run after it.
                mine = set(plan.changes)
                new = {h for _k, _r, h in plan.creates if h}
                overlaps = mine & touched or new & hashes
                # a waiting school's accounts count as touched too, so that the order between them holds
                touched |= mine
                hashes |= new
                if overlaps:
                    deferred.append((n, item))
                    continue
                applying.append((n, item, plan, report))
            # A school whose accounts another worker changed since they were read plans again (after this
            # batch's writes, with those rows now locked); the rest of the batch goes on.
            stale = _lock_changed(applying)
            fresh = [(i, p, r) for _n, i, p, r in applying if not stale or not set(p.changes) & stale]
            if stale:
                if not fresh:
                    raise _Stale
                deferred += [(n, i) for n, i, p, _r in applying if set(p.changes) & stale]
            if fresh:
                _write_batch(fresh, actor, step, reserved)
            waiting = sorted(deferred, key=operator.itemgetter(0))
        step("done")
    return [reports[n] for n in range(len(items))]


def _lock_changed(applying) -> set[int]:
    """Lock every account the plans change; return those another worker changed since they were read."""
    loaded = {}
    for _n, _item, plan, _report in applying:
        loaded.update({i: plan.loaded[i]["updated_at"] for i in plan.changes})
    if not loaded:
        return set()
    stale, seen = set(), set()
    ids = sorted(loaded)
    for j in range(0, len(ids), 5000):
        # in id order, so that two workers locking overlapping accounts queue rather than deadlock
        rows = (
            Account.objects.select_for_update()
            .filter(pk__in=ids[j : j + 5000])
            .order_by("pk")
            .values_list("pk", "updated_at")
        )
        for pk, updated_at in rows:
            seen.add(pk)
            if updated_at != loaded[pk]:
                stale.add(pk)
    return stale | (set(loaded) - seen)  # a row gone since is stale too


def _refresh_statistics(created: int) -> None:
    """ANALYZE the accounts table's lookup columns when this batch grew it by a fifth or more.

    During a first provisioning the tables grow from nothing faster than autovacuum looks at them. With the
    statistics of an empty table PostgreSQL plans every later school's UPN lookup as a scan of the whole
    table, so the load slows as it goes (quadratic in the end). ANALYZE samples a fixed number of rows.
    """
    if connection.vendor != "postgresql" or created < 1000:
        return
    table = connection.ops.quote_name(Account._meta.db_table)
    # only the columns the sync looks accounts up by: a full ANALYZE also samples every expression index
    columns = ", ".join(
        connection.ops.quote_name(c) for c in ("upn_hash", "organisation_id", "kind", "source")
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [Account._meta.db_table])
        (estimate,) = cursor.fetchone()
        if created >= 0.2 * max(estimate, 0):
            cursor.execute(f"ANALYZE {table} ({columns})")


def _write_batch(applying, actor, step, reserved) -> None:
    now = timezone.now()
    step("create")
    rows, owners = _new_account_rows(applying, now, reserved)
    ids = _insert_accounts(rows)
    if rows:
        _store_initial_passwords([(row["kind"], pk) for row, pk in zip(rows, ids, strict=True)])
    step("update")
    changes, loaded = {}, {}
    for _item, plan, _report in applying:
        changes.update(plan.changes)
        loaded.update(plan.loaded)
    _write_changes(changes, loaded)
    created = [[] for _a in applying]
    for owner, pk in zip(owners, ids, strict=True):
        created[owner].append(pk)
    events = []
    for (item, plan, report), mine in zip(applying, created, strict=True):
        run = item.run
        report.name_changes = _write_notices(item.organisation, plan, run)
        if item.extract.format == "oneroster":
            _write_oneroster(item.organisation, item.extract, plan, mine)
        events += _audit_events(item.organisation, run, plan, mine)
        if run is not None:
            _run_finish(run, report, plan.active_before, now)
    audit_record_bulk(actor=actor, events=events)


def _write_oneroster(
    organisation: Organisation, extract: Extract, plan: _Plan, created_ids: list[int]
) -> None:
    """Keep what later deltas name by id alone: the school's classes, and which account each user is."""
    live = {sid: c for sid, c in extract.classes.items() if not c.deleted}
    classes = OneRosterClass.objects.filter(organisation=organisation)
    stored = {
        sid: (title, homeroom)
        for sid, title, homeroom in classes.values_list("sourced_id", "title", "homeroom")
    }
    if extract.classes_full:
        gone = stored.keys() - live.keys()
    else:
        gone = {sid for sid, c in extract.classes.items() if c.deleted} & stored.keys()
    if gone:
        classes.filter(sourced_id__in=list(gone)).delete()
    # only what changed: an hourly bulk package names the same classes every time
    OneRosterClass.objects.bulk_create(
        [
            OneRosterClass(organisation=organisation, sourced_id=sid, title=c.title, homeroom=c.homeroom)
            for sid, c in live.items()
            if stored.get(sid) != (c.title, c.homeroom)
        ],
        update_conflicts=True,
        unique_fields=["organisation", "sourced_id"],
        update_fields=["title", "homeroom"],
    )
    links = dict(plan.links)
    # An hourly bulk package lists every learner again: once the school has a link for each, only those that
    # moved here can be new (a learner's sourcedId does not change).
    if (
        extract.full
        and links
        and OneRosterUser.objects.filter(organisation=organisation).count() >= len(links)
    ):
        links = {sid: i for sid, i in links.items() if i in plan.transferred}
    for (kind, record, _h), pk in zip(plan.creates, created_ids, strict=True):
        if kind == LEARNER and record.source_id:
            links[record.source_id] = pk
    if not links:
        return
    links = {_user_key(sid): pk for sid, pk in links.items()}
    known = dict(
        OneRosterUser.objects.filter(organisation=organisation, sourced_id_hash__in=list(links)).values_list(
            "sourced_id_hash", "account_id"
        )
    )
    OneRosterUser.objects.bulk_create(
        [
            OneRosterUser(organisation=organisation, sourced_id_hash=key, account_id=pk)
            for key, pk in links.items()
            if known.get(key) != pk
        ],
        update_conflicts=True,
        unique_fields=["organisation", "sourced_id_hash"],
        update_fields=["account"],
    )


def _user_key(sourced_id: str) -> str:
    """A OneRoster user's sourcedId as kept: its keyed hash (a broker may use the UPN as the id)."""
    return keyed_hash("oneroster-user:" + sourced_id)


def _run_finish(run: ProvisioningRun, report: Report, active_before: int, now) -> None:
    run.status = ProvisioningRun.Status.HELD if report.held else ProvisioningRun.Status.APPLIED
    run.hold_reason = report.held
    run.finished_at = now
    run.active_before = active_before
    run.rows = report.rows
    for name in ("created", "updated", "transferred_in", "deactivated", "reactivated", "unchanged"):
        setattr(run, name, getattr(report, name))
    run.refused = len(report.refused)
    run.refused_rows = [r.as_dict() for r in report.refused]
    run.name_changes = report.name_changes
    run.save()


# ---------------------------------------------------------------- runs


def _upload_dir() -> Path:
    path = Path(settings.UMP_UPLOAD_DIR)
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


# The largest extract kept: far above any one school's MIS export, low enough to keep a disk from filling.
MAX_EXTRACT_BYTES = 256 * 1024 * 1024
CHUNK_BYTES = 1024 * 1024


class ExtractTooLarge(ProvisioningError):
    """An extract over the size cap: nothing was kept and no run was queued."""


def _extract_chunks(data):
    if isinstance(data, bytes | bytearray | memoryview):
        yield data
    elif hasattr(data, "chunks"):  # a Django File or UploadedFile, wherever it is kept
        yield from data.chunks(CHUNK_BYTES)
    else:
        while chunk := data.read(CHUNK_BYTES):
            yield chunk


def run_create(
    *,
    organisation: Organisation,
    data: bytes | BinaryIO,
    source: str,
    fmt: str = "auto",
    actor=None,
    max_bytes: int = MAX_EXTRACT_BYTES,
    limit_uploads: bool = False,
) -> ProvisioningRun:
    """Keep an extract (readable only by the portal) and queue a run for it; the worker applies it.

    `data` is a file object (an UploadedFile, an open file, the request itself) copied in chunks, or bytes.
    Over `max_bytes` the partial copy is deleted and ExtractTooLarge raised. With `limit_uploads` the school's
    hourly API upload limit is checked again as the run is recorded, with the school locked, so that two uploads
    arriving together cannot both pass it (UploadLimitReached; nothing is kept).
    """
    path = _upload_dir() / f"{organisation.code}-{uuid.uuid4().hex}.extract"
    size = 0
    fd = path.open("xb")
    try:
        path.chmod(0o600)
        with fd:
            for chunk in _extract_chunks(data):
                size += len(chunk)
                if size > max_bytes:
                    raise ExtractTooLarge(f"the extract is over {max_bytes} bytes")
                fd.write(chunk)
        with transaction.atomic():
            if limit_uploads:
                _upload_admit(organisation)
            run = ProvisioningRun.objects.create(
                organisation=organisation,
                source=source,
                format=fmt,
                file_path=str(path),
                file_size=size,
                created_by=actor if getattr(actor, "pk", None) else None,
            )
    except BaseException:
        path.unlink(missing_ok=True)  # a refused, broken-off or unrecorded upload leaves nothing behind
        raise
    if source == ProvisioningRun.Source.API:
        from provisioning.tasks import apply_run

        transaction.on_commit(lambda: apply_run.delay(run.pk))
    return run


class UploadLimitReached(ProvisioningError):
    """The school has used its hourly API uploads: nothing was kept."""

    def __init__(self, retry_after: int):
        super().__init__(f"upload limit reached; retry after {retry_after} s")
        self.retry_after = retry_after


def _upload_admit(organisation: Organisation) -> None:
    """Raise UploadLimitReached unless the school may record one more API upload (until the transaction ends)."""
    from provisioning.selectors import upload_retry_after

    # NO KEY UPDATE: uploads for one school queue here, but a provisioning run's foreign-key checks on the
    # school's row (KEY SHARE) are not held up
    Organisation.objects.select_for_update(no_key=True).filter(pk=organisation.pk).first()
    if retry_after := upload_retry_after(organisation):
        raise UploadLimitReached(retry_after)


def _delete_file(run: ProvisioningRun) -> None:
    if run.file_path:
        Path(run.file_path).unlink(missing_ok=True)
        run.file_path = ""
        run.save(update_fields=["file_path"])


def _run_start(run: ProvisioningRun, approve: bool) -> ProvisioningRun:
    """Take a queued (or, to approve, a held) run for this worker: it is `running` from now on."""
    with transaction.atomic():
        run = ProvisioningRun.objects.select_for_update().select_related("organisation").get(pk=run.pk)
        allowed = {ProvisioningRun.Status.QUEUED, ProvisioningRun.Status.RUNNING}
        if approve:
            allowed = {ProvisioningRun.Status.HELD}
        if run.status not in allowed:
            raise ProvisioningError(f"run {run.pk} is {run.status}")
        if run.status == ProvisioningRun.Status.RUNNING and run.started_at > timezone.now() - STALE_AFTER:
            raise ProvisioningError(f"run {run.pk} is running")  # another worker has it
        run.status = ProvisioningRun.Status.RUNNING
        run.started_at = timezone.now()
        run.save(update_fields=["status", "started_at"])
    return run


def _run_failed(run: ProvisioningRun, error_code: str, actor=None) -> None:
    ProvisioningRun.objects.filter(pk=run.pk).update(
        status=ProvisioningRun.Status.FAILED, error_code=error_code, finished_at=timezone.now()
    )
    run.status, run.error_code = ProvisioningRun.Status.FAILED, error_code
    _delete_file(run)
    audit_record(
        actor=actor,
        action="provisioning.run_failed",
        organisation=run.organisation,
        outcome="failure",
        details={"run": run.pk, "error": error_code},
    )


def run_apply(
    *, run: ProvisioningRun, actor=None, approve: bool = False, progress=None, today: date | None = None
) -> Report:
    """Read a queued (or approved held) run's extract and apply it; the file is deleted unless the run is held."""
    run = _run_start(run, approve)
    return _runs_apply([run], actor=actor, approve=approve, progress=progress, today=today)[0]


def _runs_apply(runs, *, actor=None, approve=False, progress=None, today=None) -> list[Report]:
    """Apply started runs together (one transaction); a run whose file cannot be read fails on its own."""
    reports: dict[int, Report] = {}
    items = []
    for run in runs:
        try:
            extract = read_extract(Path(run.file_path), fmt=run.format, school_code=run.organisation.code)
        except (ExtractError, OSError) as exc:
            _run_failed(run, exc.problem.value if isinstance(exc, ExtractError) else "missing_file", actor)
            reports[run.pk] = Report(run_id=run.pk)
            continue
        run.full = extract.full
        if approve:
            run.decided_by = actor if getattr(actor, "pk", None) else None
            run.decided_at = timezone.now()
        items.append(Item(run.organisation, extract, run))
    options = {"actor": actor, "approve": approve, "progress": progress, "today": today}
    try:
        done = list(zip(items, extracts_apply(items=items, **options), strict=True)) if items else []
    except Exception:
        # nothing was applied (one transaction); the school's next extract converges
        if len(items) == 1:
            _run_failed(items[0].run, "error", actor)
            raise
        # One school at a time, so that only the school at fault fails and the rest go ahead.
        done = []
        for item in items:
            try:
                done.append((item, extracts_apply(items=[item], **options)[0]))
            except Exception:
                log.exception("provisioning run %s for %s failed", item.run.pk, item.organisation.code)
                _run_failed(item.run, "error", actor)
                reports[item.run.pk] = Report(run_id=item.run.pk)
    for item, report in done:
        run = item.run
        if not report.held:
            _delete_file(run)
        audit_record(
            actor=actor,
            action="provisioning.run_approve" if approve else "provisioning.run",
            organisation=run.organisation,
            details={"run": run.pk, **report.counts()},
        )
        reports[run.pk] = report
    return [reports[run.pk] for run in runs]


def run_approve(*, run: ProvisioningRun, actor) -> Report:
    """Apply a held run as it stands now (re-planned against today's accounts)."""
    return run_apply(run=run, actor=actor, approve=True)


@transaction.atomic
def run_reject(*, run: ProvisioningRun, actor) -> ProvisioningRun:
    """Discard a held run and its extract; nothing is applied."""
    run = ProvisioningRun.objects.select_for_update().get(pk=run.pk)
    if run.status != ProvisioningRun.Status.HELD:
        raise ProvisioningError(f"run {run.pk} is {run.status}")
    run.status = ProvisioningRun.Status.REJECTED
    run.decided_by = actor
    run.decided_at = timezone.now()
    run.save(update_fields=["status", "decided_by", "decided_at"])
    _delete_file(run)
    audit_record(
        actor=actor, action="provisioning.run_reject", organisation=run.organisation, details={"run": run.pk}
    )
    return run


def runs_apply_queued() -> list[int]:
    """Apply every queued run (and any a killed worker left running) oldest first; returns their ids.

    Runs are applied UMP_PROVISIONING_BATCH schools to a transaction: a local authority's first upload of
    every school's extract goes in at bulk speed, and each school is still reconciled and held on its own.
    """
    stale = timezone.now() - STALE_AFTER
    ids = list(
        ProvisioningRun.objects.filter(status=ProvisioningRun.Status.QUEUED)
        .order_by()  # the model's ordering inside a UNION branch is an error on SQLite (the demo's database)
        .union(
            ProvisioningRun.objects.filter(
                status=ProvisioningRun.Status.RUNNING, started_at__lt=stale
            ).order_by()
        )
        .values_list("id", flat=True)
    )
    queued = list(ProvisioningRun.objects.filter(pk__in=ids).order_by("created_at", "id"))
    done = []
    size = max(1, settings.UMP_PROVISIONING_BATCH)
    for n in range(0, len(queued), size):
        started = []
        for run in queued[n : n + size]:
            try:
                started.append(_run_start(run, approve=False))
            except ProvisioningError:
                continue  # another worker took it
        _runs_apply(started)
        done += [run.pk for run in started]
    return done


# ---------------------------------------------------------------- tokens


def _token_hash(raw: str) -> str:
    return keyed_hash("provisioning-token:" + raw)


@transaction.atomic
def token_issue(*, organisation: Organisation, actor=None) -> str:
    """Issue (or rotate) a school's Provisioning Client token; the raw token is returned once, never stored."""
    raw = f"ump_{organisation.code}_{secrets.token_urlsafe(32)}"
    SchoolToken.objects.update_or_create(
        organisation=organisation,
        defaults={
            "token_hash": _token_hash(raw),
            "created_at": timezone.now(),
            "revoked_at": None,
            "last_used_at": None,
        },
    )
    audit_record(actor=actor, action="provisioning.token_issue", organisation=organisation)
    return raw


@transaction.atomic
def token_revoke(*, organisation: Organisation, actor=None) -> bool:
    """Revoke a school's token; the client can no longer upload until a new one is issued."""
    n = SchoolToken.objects.filter(organisation=organisation, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    if n:
        audit_record(actor=actor, action="provisioning.token_revoke", organisation=organisation)
    return bool(n)


def token_authenticate(raw: str) -> Organisation | None:
    """The school a live token belongs to, or None."""
    if not raw:
        return None
    token = (
        SchoolToken.objects.select_related("organisation")
        .filter(token_hash=_token_hash(raw), revoked_at__isnull=True)
        .first()
    )
    if token is None:
        return None
    SchoolToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
    return token.organisation


# ---------------------------------------------------------------- name-change notices


@transaction.atomic
def notice_decide(*, notice: NameChangeNotice, actor, accept: bool) -> NameChangeNotice:
    """Accept (the legal and display names follow the MIS; the username stays) or dismiss a notice."""
    notice = NameChangeNotice.objects.select_for_update().select_related("account").get(pk=notice.pk)
    if notice.status != NameChangeNotice.Status.PENDING:
        raise ProvisioningError(_("This notice has already been dealt with."))
    account = notice.account
    if accept:
        account.legal_forename = notice.mis_forename
        account.legal_surname = notice.mis_surname
        account.display_name = display_name_for(account.kind, notice.mis_forename, notice.mis_surname)
        account.full_clean(exclude=["password"])
        account.save(update_fields=["legal_forename", "legal_surname", "display_name", "updated_at"])
    notice.status = NameChangeNotice.Status.ACCEPTED if accept else NameChangeNotice.Status.DISMISSED
    notice.decided_at = timezone.now()
    notice.decided_by = actor
    notice.save(update_fields=["status", "decided_at", "decided_by"])
    audit_record(
        actor=actor,
        action="provisioning.name_change_accept" if accept else "provisioning.name_change_dismiss",
        targets=[account],
        organisation=notice.organisation,
    )
    return notice
