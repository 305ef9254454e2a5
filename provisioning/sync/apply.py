"""Applying: plan each school's extract and write every change of a batch of schools in one transaction.

Set-based (a handful of queries per batch whatever its size, and an UPDATE for each rows.WRITE_CHUNK changes),
converging and idempotent, atomic (a killed worker leaves nothing), one run per school at a time (a
transaction-scoped lock keyed on the school). The UPN exists only in memory; what is stored and compared is its
keyed hash.
"""

import base64
import itertools
import logging
import operator
import os
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

from django.conf import settings
from django.db import IntegrityError, OperationalError, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.audit import AuditAction, audit_record_bulk
from accounts.bulk import ids_reserve
from accounts.models import Account, Organisation
from accounts.selectors import filter_choices_forget
from accounts.services import display_name_for, email_for
from accounts.usernames import username_base, usernames_allocate_bulk, usernames_reserve
from passwords.generators import Draws, learner_password, random_password
from passwords.services import shown_passwords_store_bulk
from provisioning.models import NameChangeNotice, OneRosterClass, OneRosterUser, ProvisioningRun
from provisioning.records import LEARNER, STAFF, Extract
from provisioning.rules import Assessment, assess
from provisioning.sync import rows
from provisioning.sync.plan import Plan, extract_plan, learner_values, oneroster_user_key, staff_values
from provisioning.sync.report import ProvisioningError, Report
from provisioning.upn import upn_key

log = logging.getLogger(__name__)

# Below this many deactivations a run is never held: a small primary school losing three leavers is normal.
BRAKE_MIN_ACCOUNTS = 5
RETRIES = 5
# New accounts are made and written this many at a time (one username claim and id reservation for them all).
CREATE_CHUNK = 5000
# A new account's unusable password: this many random bytes, a multiple of 3 so that each account's share of
# the base64 text is whole characters.
UNUSABLE_BYTES = 24
# Called, inside the batch's transaction, for each item with a run once its report is final (applied or held).
RunFinish = Callable[[ProvisioningRun, Report, int, datetime], None]
# Called, inside the batch's transaction once every school of it is locked, for each item with a run: a report
# ends the item there (its run was overtaken by a newer one, say), None lets it go ahead.
RunGate = Callable[[ProvisioningRun], Report | None]


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


def extract_apply(
    *,
    organisation: Organisation,
    extract: Extract,
    actor=None,
    dry_run: bool = False,
    approve: bool = False,
    today: date | None = None,
    progress: Callable[[str], None] | None = None,
) -> Report:
    """Reconcile one school's accounts with an extract; hold it instead if the brake says so."""
    return extracts_apply(
        items=[Item(organisation, extract)],
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
    run_finish: RunFinish | None = None,
    run_gate: RunGate | None = None,
) -> list[Report]:
    """Apply many schools' extracts in one transaction (all or nothing); a report per item, in order.

    Each school is reconciled exactly as on its own, and held on its own if the brake says so. Batching many
    schools (an authority's first provisioning, the hourly queue) shares the username claim, the id
    reservation and each COPY between them. `run_finish(run, report, active_before, now)` records an item's run,
    in the same transaction, once the run is applied or held; `run_gate(run)` may stop an item's run first.
    """
    today = today or timezone.localdate()
    step = progress or (lambda _name: None)
    reserved = {} if dry_run else _names_reserve(items, today)
    batch = _Batch(actor, dry_run, approve, today, step, run_finish, run_gate)
    for attempt in range(RETRIES):
        try:
            # a failed attempt's claims were rolled back: its reserved numbers are still this run's to use
            mine = {base: numbers.copy() for base, numbers in reserved.items()}
            reports = _apply_batch(items, batch, mine)
        except rows.StaleRows:
            log.info("provisioning batch of %d planned on stale rows; planning again", len(items))
        except IntegrityError:
            # a concurrent run in another school claimed the same UPN hash first: the next plan sees it
            if attempt == RETRIES - 1:
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
                options = {
                    "actor": actor,
                    "dry_run": dry_run,
                    "approve": approve,
                    "today": today,
                    "progress": progress,
                    "run_finish": run_finish,
                    "run_gate": run_gate,
                }
                return extracts_apply(items=items[:half], **options) + extracts_apply(
                    items=items[half:], **options
                )
            if attempt == RETRIES - 1:
                raise
            log.info("provisioning batch of %d hit a deadlock; retrying", len(items))
        else:
            # after the commit, so that no lock is held for the rest of a transaction
            rows.statistics_refresh(0 if dry_run else sum(r.created for r in reports if not r.held))
            return reports
    raise ProvisioningError("accounts kept changing under this run")


# ---------------------------------------------------------------- the batch


@dataclass(frozen=True)
class _Batch:
    """How a batch is applied: the same for every attempt and every school in it."""

    actor: object
    dry_run: bool
    approve: bool
    today: date
    step: Callable[[str], None]
    run_finish: RunFinish | None
    run_gate: RunGate | None = None


def _apply_batch(items: list[Item], batch: _Batch, reserved: dict) -> list[Report]:
    """One attempt at the batch, in one transaction: plan every school, then write those whose plans still hold.

    Plans are made against one snapshot. Where two would touch the same account (a learner leaving one school of
    the batch for another) or make the same UPN, the later school waits for the earlier one's writes and plans
    again, exactly as if it had run after it.
    """
    reports: dict[int, Report] = {}
    with transaction.atomic():
        if not batch.dry_run:
            # every school of the batch, in one order, so that two batches never wait on each other in a cycle
            schools = {i.organisation.pk: i.organisation for i in items}.values()
            for organisation in sorted(schools, key=operator.attrgetter("pk")):
                rows.school_lock(organisation)
        waiting = []
        for n, item in enumerate(items):
            gated = _gate(item, batch)
            if gated is None:
                waiting.append((n, item))
            else:
                reports[n] = gated
        while waiting:
            batch.step("plan")
            applying, deferred = _plan_waiting(waiting, batch, reports)
            # A school whose accounts another worker changed since they were read plans again (after this
            # batch's writes, with those rows now locked); the rest of the batch goes on.
            stale = rows.accounts_lock(*(plan.changes.held for _n, _item, plan, _report in applying))
            for _n, _item, plan, _report in applying:
                stale |= plan.changes.lock_spilled()
            fresh = [(i, p, r) for _n, i, p, r in applying if p.changes.isdisjoint(stale)]
            if stale:
                if not fresh:
                    raise rows.StaleRows
                deferred += [(n, i) for n, i, p, _r in applying if not p.changes.isdisjoint(stale)]
            if fresh:
                _write_batch(fresh, batch, reserved)
            waiting = sorted(deferred, key=operator.itemgetter(0))
        batch.step("done")
    return [reports[n] for n in range(len(items))]


def _gate(item: Item, batch: _Batch) -> Report | None:
    """The gate's report for an item's run, with its school locked; None when it goes ahead."""
    if batch.dry_run or batch.run_gate is None or item.run is None:
        return None
    return batch.run_gate(item.run)


def _plan_waiting(waiting: list, batch: _Batch, reports: dict[int, Report]) -> tuple[list, list]:
    """Plan each waiting school: those to write now (position, item, plan, report), and those to plan again."""
    applying, deferred = [], []
    touched, hashes = set(), set()
    # only schools planned together can make the same UPN (a learner on two of their rolls); one school alone
    # is not read through again for it
    together = len(waiting) > 1
    for n, item in waiting:
        plan = extract_plan(item.organisation, item.extract, item.assessment(batch.today))
        report = _report(item, plan, batch.dry_run, batch.approve)
        reports[n] = report
        if batch.dry_run or report.held:
            if item.run is not None and not batch.dry_run and batch.run_finish is not None:
                batch.run_finish(item.run, report, plan.active_before, timezone.now())
            continue
        overlaps = False
        if together:  # (one school alone overlaps nobody: its changed accounts are not gathered again)
            new = {upn_key(h) for _k, _r, h in plan.creates if h}
            overlaps = not touched.isdisjoint(plan.changes) or new & hashes
            # a waiting school's accounts count as touched too, so that the order between them holds
            touched.update(plan.changes)
            hashes |= new
        if overlaps:
            deferred.append((n, item))
            continue
        applying.append((n, item, plan, report))
    return applying, deferred


def _report(item: Item, plan: Plan, dry_run: bool, approve: bool) -> Report:
    extract = item.extract
    report = Report(
        created=len(plan.creates),
        updated=len(plan.updated),
        transferred_in=len(plan.transferred),
        deactivated=len(plan.deactivated),
        reactivated=sum(1 for i in plan.reactivated if i not in plan.transferred),
        unchanged=plan.unchanged,
        refused=plan.refused,
        name_changes=len(plan.names),
        dry_run=dry_run,
        run_id=item.run.pk if item.run else None,
        rows=len(extract.learners) + len(extract.staff) + len(extract.refused),
    )
    report.held = "" if approve else _hold_reason(plan, extract)
    return report


def _hold_reason(plan: Plan, extract: Extract) -> str:
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


def _names_reserve(items: list[Item], today: date) -> dict:
    """Reserve username numbers for the schools in `items` having their first provisioning of a kind.

    Such a school creates an account for every eligible row of that kind. Reserving their names in a short
    transaction before the run's own (usernames_reserve) lets workers provisioning many schools at once number
    disjointly instead of queueing on each other's uncommitted claims. Later runs create few accounts and number
    them in the run's transaction. A reserved number left unused (a learner moving in, a run that failed) is a gap.
    """
    pairs = sorted({(item.organisation.pk, kind) for item in items for kind in item.extract.kinds})
    first = rows.first_provisionings(pairs)
    if first is None:
        return {}
    counts: dict[str, int] = {}
    for item in items:
        org = item.organisation.pk
        assessment = item.assessment(today)
        records = []
        if (org, LEARNER) in first:
            records.append(assessment.learners)
        if (org, STAFF) in first:
            records.append(assessment.staff)
        # read through, never gathered: a school's first run reserves a name for each of its rows
        for record in itertools.chain.from_iterable(records):
            base = username_base(record.forename.strip(), record.surname.strip())
            counts[base] = counts.get(base, 0) + 1
    return usernames_reserve(counts)


# ---------------------------------------------------------------- writing


def _write_batch(applying: list, batch: _Batch, reserved: dict) -> None:
    """Write the plans of (item, plan, report) in `applying`: accounts, notices, OneRoster links, audit, runs."""
    now = timezone.now()
    batch.step("create")
    # ids as 8-byte numbers: a school's first run makes an account for each of its rows
    created = [array("q") for _a in applying]
    # new accounts are claimed, made, written and let go a chunk at a time (a row is a few dozen values, a claim
    # a few more), so that a school of very many new accounts never holds all of them at once
    pending = (
        (n, (item, kind, record, h))
        for n, (item, plan, _r) in enumerate(applying)
        for kind, record, h in plan.creates
    )
    languages = {
        item.organisation.pk: item.organisation.learner_password_language() for item, _p, _r in applying
    }
    while chunk := list(itertools.islice(pending, CREATE_CHUNK)):
        new_rows = _new_account_rows([create for _n, create in chunk], now, reserved)
        made = rows.accounts_insert(new_rows)
        _store_initial_passwords(
            [
                (row["kind"], pk, languages[row["organisation_id"]])
                for row, pk in zip(new_rows, made, strict=True)
            ]
        )
        for (n, _create), pk in zip(chunk, made, strict=True):
            created[n].append(pk)
    batch.step("update")
    rows.changes_write(*(plan.changes.held for _item, plan, _report in applying))
    for _item, plan, _report in applying:
        plan.changes.write_spilled()
    events = []
    for (item, plan, report), mine in zip(applying, created, strict=True):
        report.name_changes = _write_notices(item.organisation, plan, item.run)
        if item.extract.format == "oneroster":
            _write_oneroster(item.organisation, item.extract, plan, mine)
        events += _audit_events(item.organisation, item.run, plan, mine)
    audit_record_bulk(actor=batch.actor, events=events)
    # after the changes' audit events, so that a run's own event follows them
    for item, plan, report in applying:
        if item.run is not None and batch.run_finish is not None:
            batch.run_finish(item.run, report, plan.active_before, now)
    # View Learners' year and registration group filters are read afresh once the run's changes are committed
    schools = [item.organisation.pk for item, _p, _r in applying]
    transaction.on_commit(lambda: filter_choices_forget(schools))


def _new_account_rows(creates: list, now, reserved: dict) -> list[dict]:
    """These new accounts' rows (each (item, kind, record, UPN hash) of a plan), with claimed usernames and (on
    PostgreSQL) reserved primary keys.

    One username claim and one id reservation for them all, whichever schools of the batch they are in: the claim
    reads what each name base has issued once per chunk of accounts, not once per school.
    """
    keys = ids_reserve(Account, len(creates))
    pairs = [(record.forename.strip(), record.surname.strip()) for _i, _k, record, _h in creates]
    usernames = usernames_allocate_bulk(pairs, account_ids=keys, reserved=reserved)
    # unusable: the new account signs in with its sealed initial password; no argon2 hash per row
    unusable = base64.urlsafe_b64encode(os.urandom(UNUSABLE_BYTES * len(creates))).decode()
    width = UNUSABLE_BYTES * 4 // 3
    new_rows = []
    for n, ((item, kind, record, hashed), username) in enumerate(zip(creates, usernames, strict=True)):
        forename, surname = pairs[n]
        if kind == LEARNER:
            row = learner_values(record, item.extract.learner_fields)
        else:
            row = staff_values(record, item.extract.staff_fields)
        row.update(
            kind=kind,
            source=Account.Source.MIS,
            organisation_id=item.organisation.id,
            legal_forename=forename,
            legal_surname=surname,
            display_name=display_name_for(kind, forename, surname),
            username=username,
            email=email_for(username),
            status=Account.Status.ACTIVE,
            upn_hash=hashed,
            password="!" + unusable[n * width : (n + 1) * width],
            created_at=now,
            updated_at=now,
            status_changed_at=now,
        )
        if keys is not None:
            row["id"] = keys[n]
        new_rows.append(row)
    return new_rows


def _store_initial_passwords(kinds_ids: list[tuple[str, int, str]]) -> None:
    """Every new account's first password: learners' in their school's language of teaching (English where it
    has none recorded or teaches in both), everyone else's random."""
    draws = Draws()  # one read of the system's randomness serves hundreds of passwords
    items = [
        (
            pk,
            learner_password(language=language, draws=draws)
            if kind == LEARNER
            else random_password(draws=draws),
        )
        for kind, pk, language in kinds_ids
    ]
    shown_passwords_store_bulk(items=items, new=True)


def _write_notices(organisation: Organisation, plan: Plan, run: ProvisioningRun | None) -> int:
    """Open, update or clear the school's name-change notices as the plan's name comparisons say; how many open."""
    # names_match holds only accounts whose notice may be pending (the plan keeps no other account's values)
    if not plan.names and not plan.names_match:
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
    """A school's audit events for audit_record_bulk: one per kind of change, naming every account changed (as
    ascending arrays, which it keeps as they are: a roll-over changes every learner of a school)."""
    details = {"run": run.pk if run else None}
    return [
        (action, organisation, targets, details)
        for action, targets in (
            (AuditAction.PROVISIONING_CREATE, created_ids),
            (AuditAction.PROVISIONING_TRANSFER_IN, plan.transferred.ascending()),
            (AuditAction.PROVISIONING_UPDATE, plan.updated.ascending()),
            (AuditAction.PROVISIONING_REACTIVATE, plan.reactivated.ascending()),
            (AuditAction.PROVISIONING_DEACTIVATE, plan.deactivated.ascending()),
        )
        if targets
    ]


def _write_oneroster(
    organisation: Organisation, extract: Extract, plan: Plan, created_ids: list[int]
) -> None:
    """Keep what later deltas name by id alone: the school's classes, and which account each user is."""
    _write_oneroster_classes(organisation, plan.classes, full=extract.classes_full)
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
    links = {oneroster_user_key(sid): pk for sid, pk in links.items()}
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


def _write_oneroster_classes(organisation: Organisation, named: dict, *, full: bool) -> None:
    """Keep the school's classes as the package names them (a bulk package's list is all of them)."""
    live = {sid: c for sid, c in named.items() if not c.deleted}
    classes = OneRosterClass.objects.filter(organisation=organisation)
    stored = {
        sid: (title, homeroom)
        for sid, title, homeroom in classes.values_list("sourced_id", "title", "homeroom")
    }
    if full:
        gone = stored.keys() - live.keys()
    else:
        gone = {sid for sid, c in named.items() if c.deleted} & stored.keys()
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
