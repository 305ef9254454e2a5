"""Bounded memory: extracts are streamed, so a run's memory follows the rows it keeps, not the file's size.

Each extract here is mostly what the sync does not keep (a long column no field reads, other schools' rows), so
a reader that holds the file, its text or its rows needs several times the file, and one that streams needs a
small part of it. Allocations are measured with tracemalloc (Python's own, independent of timing).
"""

import csv
import functools
import io
import tracemalloc
import zipfile
from pathlib import Path

import pytest
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Account, AuditEvent
from accounts.sealing import sealed_file_open, upn_hash
from provisioning.models import ProvisioningRun
from provisioning.readers import read_extract
from provisioning.rules import assess
from provisioning.runs import run_apply, run_create
from provisioning.sync import apply as sync_apply
from provisioning.sync import changes as sync_changes
from provisioning.sync import extract_apply
from provisioning.sync import plan as sync_plan
from provisioning.sync import rows as sync_rows
from provisioning.sync import spill as sync_spill

from .conftest import TODAY
from .extracts import CLASSES, ENROL, ORGS, PUPIL_HEADER, USERS, pupil, pupils_csv, upn

MB = 1024 * 1024


def learner_upn(n: int) -> str:
    return upn(n % 1000, est=1000 + n // 1000)


def assert_bytes_each(per_account: float, *, postgresql: int, sqlite: int) -> None:
    """Bytes an account under this database's bound (SQLite holds more of each change than PostgreSQL)."""
    bound = postgresql if connection.vendor == "postgresql" else sqlite
    assert per_account < bound, f"{per_account:.0f} bytes an account"


def later_plan_peak(school, *, first, again):
    """Apply the export `first` to the school, then read, assess and plan `again` (without writing it): the plan,
    and the most memory that took (peak_of)."""
    extract_apply(organisation=school, extract=read_extract(first), today=TODAY)

    def read_assess_plan():
        extract = read_extract(again)
        return sync_plan.extract_plan(school, extract, assess(extract, TODAY))

    return peak_of(read_assess_plan)


def peak_of(fn):
    """fn's result, and the most memory Python held at once while it ran (beyond what was held before)."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before, _ = tracemalloc.get_traced_memory()
        result = fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, peak - before


def wide_pupils(rows: int, note_bytes: int) -> bytes:
    """A pupil export whose rows carry a long column the reader does not take (as a "Notes" column would)."""
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([*PUPIL_HEADER, "Notes"])
    for n in range(rows):
        writer.writerow([*pupil(n + 1, upn_value=learner_upn(n + 1)), f"{n:06d}" + "x" * note_bytes])
    return buf.getvalue().encode()


def national_package(schools: int, learners_per_school: int) -> bytes:
    """A broker's bulk package for many schools: orgs, users, classes and enrolments of every one."""
    files = {name: io.StringIO(newline="") for name in ("orgs", "users", "classes", "enrollments")}
    out = {name: csv.writer(buf, lineterminator="\n") for name, buf in files.items()}
    out["orgs"].writerow(ORGS)
    out["users"].writerow(USERS)
    out["classes"].writerow(CLASSES)
    out["enrollments"].writerow(ENROL)
    n = 0
    for s in range(schools):
        code = "6814001" if s == 0 else f"{660 + s % 22}{5000 + s:04d}"
        out["orgs"].writerow([f"org-{s}", "", "", f"Ysgol {s}", "school", code, ""])
        for c in range(4):
            cid = f"cls-{s}-{c}"
            kind = "homeroom" if c == 0 else "scheduled"
            out["classes"].writerow(
                [cid, "", "", f"7/{c}", "07", "", f"7/{c}", kind, "", f"org-{s}"] + [""] * 4
            )
        for _ in range(learners_per_school):
            n += 1
            uid = f"stu-{n}"
            user = [
                uid,
                "",
                "",
                "true",
                f"org-{s}",
                "student",
                "",
                f"{{UPN:{learner_upn(n)}}}",
            ]
            out["users"].writerow([*user, "Cerys", "Williams", "", f"{n:07d}", "", "", "", "", "07", ""])
            for c in range(4):
                out["enrollments"].writerow(
                    [f"e-{n}-{c}", "", "", f"cls-{s}-{c}", f"org-{s}", uid, "student", "", "2025-09-01", ""]
                )
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("manifest.csv", "propertyName,value\noneroster.version,1.1\nfile.users,bulk\n")
        for name, buf in files.items():
            zf.writestr(f"{name}.csv", buf.getvalue())
    return zipped.getvalue()


class ReaderTests:
    def test_an_mis_export_is_read_a_row_at_a_time(self):
        data = wide_pupils(1000, 12 * 1024)  # 12 MB, of which the reader keeps a thousand short records
        extract, peak = peak_of(lambda: read_extract(data))
        assert len(extract.learners) == 1000
        # holding the file's text and rows takes several times its size; streaming, a small part of it
        assert peak < len(data) / 8, f"peak {peak / MB:.1f} MB reading {len(data) / MB:.1f} MB"

    def test_a_national_package_keeps_only_the_schools_rows(self):
        data = national_package(schools=200, learners_per_school=100)
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            inflated = sum(i.file_size for i in zf.infolist())
        extract, peak = peak_of(lambda: read_extract(data, school_code="6814001"))
        assert len(extract.learners) == 100
        assert {r.registration_group for r in extract.learners} == {"7/0"}
        assert peak < inflated / 3, f"peak {peak / MB:.1f} MB reading {inflated / MB:.1f} MB inflated"

    def test_a_file_is_read_as_its_rows_are_wanted(self):
        from provisioning.readers.text import CsvFile  # noqa: PLC0415 - new with streaming: the others run without it

        data = wide_pupils(2000, 8 * 1024)
        read = []

        class Counted(io.BytesIO):
            def read(self, size=-1):
                chunk = super().read(size)
                read.append(len(chunk))
                return chunk

            def read1(self, size=-1):
                chunk = super().read1(size)
                read.append(len(chunk))
                return chunk

            def readinto(self, buffer):
                n = super().readinto(buffer)
                read.append(n)
                return n

        rows = CsvFile(lambda: Counted(data), encoding="utf-8")
        read.clear()
        line, fields = next(iter(rows))
        assert (line, fields[2]) == (2, learner_upn(1))
        assert sum(read) < len(data) / 4, f"{sum(read)} of {len(data)} bytes read for the first row"


class RunTests:
    pytestmark = pytest.mark.django_db

    def test_a_run_streams_its_sealed_extract(self, wales, tmp_path):
        path = tmp_path / "pupils.csv"
        # few accounts (the ORM twin on SQLite holds each as a model instance), in a 20 MB file
        path.write_bytes(wide_pupils(250, 80 * 1024))
        with path.open("rb") as data:
            run = run_create(organisation=wales.secondary, data=data, source=ProvisioningRun.Source.COMMAND)
        report, peak = peak_of(lambda: run_apply(run=run, today=TODAY))
        run.refresh_from_db()
        assert run.status == ProvisioningRun.Status.APPLIED and report.created == 250
        assert Account.objects.filter(organisation=wales.secondary, kind="learner").count() >= 250
        # the file was never decrypted whole, nor decoded whole
        assert peak < path.stat().st_size / 4, (
            f"peak {peak / MB:.1f} MB applying {path.stat().st_size / MB:.1f} MB"
        )

    def test_a_sealed_zip_is_read_in_place(self, wales):
        data = national_package(schools=50, learners_per_school=20)
        run = run_create(organisation=wales.secondary, data=data, source=ProvisioningRun.Source.COMMAND)
        stream = functools.partial(sealed_file_open, Path(run.file_path))
        extract = read_extract(stream, school_code="6814001")
        assert extract.format == "oneroster" and len(extract.learners) == 20


@pytest.fixture
def small_chunks(monkeypatch):
    """Chunks of 250, so that 1,000 and 5,000 learners are planned, spilled and written in several, as a large
    school's are."""
    monkeypatch.setattr(sync_plan, "LOOKUP_CHUNK", 250)
    monkeypatch.setattr(sync_rows, "STREAM_CHUNK", 250)
    monkeypatch.setattr(sync_rows, "WRITE_CHUNK", 250)
    monkeypatch.setattr(sync_changes, "SPILL_AT", 250)


def moved_on_pupils(rows: int, *, year: str = "Year 7") -> bytes:
    """A school's pupil export: `rows` learners, all in `year` (September's is every one a year on)."""
    return pupils_csv([pupil(n, upn_value=learner_upn(n), year=year) for n in range(1, rows + 1)])


class PlanTests:
    """A school's first run plans an account for every row, and a later one compares every account it has: what
    either keeps must not grow by a record, or an account's values, a row."""

    pytestmark = pytest.mark.django_db

    def test_a_first_plan_keeps_a_few_bytes_a_row(self, wales, monkeypatch):
        # chunks of 250 rows, so that a chunk's records (held while they are looked up) are small beside the rest
        monkeypatch.setattr(sync_plan, "LOOKUP_CHUNK", 250)

        def planned(rows: int) -> int:
            data = pupils_csv([pupil(n, upn_value=learner_upn(n)) for n in range(1, rows + 1)])

            def read_assess_plan():
                extract = read_extract(data)
                return sync_plan.extract_plan(wales.secondary, extract, assess(extract, TODAY))

            plan, peak = peak_of(read_assess_plan)
            assert len(plan.creates) == rows
            return peak

        small, large = planned(1000), planned(5000)
        per_row = (large - small) / 4000
        # each row's UPN key (about 100 bytes in a set) and position; a record, a UPN or a hex hash kept for each
        # row costs several hundred more (about 700 bytes when every record was held)
        assert per_row < 250, f"{per_row:.0f} bytes a row"

    def test_a_later_plan_keeps_nothing_of_the_accounts_it_leaves_as_they_are(self, wales, small_chunks):
        # a school's second run of the same export: every learner has an account, and none changes
        def planned_again(rows: int) -> int:
            data = pupils_csv([pupil(n, upn_value=learner_upn(n)) for n in range(1, rows + 1)])
            plan, peak = later_plan_peak(wales.secondary, first=data, again=data)
            assert (plan.unchanged, len(plan.creates), len(plan.changes)) == (rows, 0, 0)
            return peak

        small, large = planned_again(1000), planned_again(5000)
        per_account = (large - small) / 4000
        # about 180 bytes: what a first run keeps of a row (its UPN key). Holding every account's values as read (to
        # compare with, and to find those the extract no longer lists), their ids by UPN hash and the ids of those
        # whose names match took about 1,380.
        assert per_account < 250, f"{per_account:.0f} bytes an account"

    def test_a_later_plan_keeps_little_of_each_account_it_changes(self, wales, small_chunks):
        # September: the same learners, every one of them a year group on, so the plan changes every account
        def planned_moved_on(rows: int) -> int:
            first = pupils_csv([pupil(n, upn_value=learner_upn(n)) for n in range(1, rows + 1)])
            data = pupils_csv([pupil(n, upn_value=learner_upn(n), year="Year 8") for n in range(1, rows + 1)])
            plan, peak = later_plan_peak(wales.secondary, first=first, again=data)
            assert (len(plan.updated), len(plan.creates), len(plan.changes)) == (rows, 0, rows)
            return peak

        small, large = planned_moved_on(1000), planned_moved_on(5000)
        # PostgreSQL: about 180 bytes, as for an account left as it is (above): the changes are spilled to a
        # temporary table a few chunks at a time, and the plan keeps a bit for each changed account. Holding every
        # change (its id, its place among the changes and a set of the updated, and a tuple of updated_at as read,
        # which fields change and their new values) took about 420.
        # SQLite: about 420 bytes, where every change is held (a tuple of updated_at as read, which fields change
        # and their new values, equal values kept once), and a bit an account for the updated ones. Keeping every
        # changed account's values as read, and its full new values in a dict, took about 2,530.
        assert_bytes_each((large - small) / 4000, postgresql=250, sqlite=650)


@pytest.mark.django_db
@pytest.mark.postgres_only(reason="PostgreSQL's reading of the accounts (SQLite's gives Django's own dicts)")
def test_a_later_run_holds_little_for_each_account_of_the_school(wales):
    """Reading a school's accounts: what each costs is its values and little more (a later run's plan holds them
    for a chunk of its learners at a time, and for those it changes)."""

    def add(start: int, count: int) -> None:
        Account.objects.bulk_create(
            Account(
                kind=Account.Kind.LEARNER,
                source=Account.Source.MIS,
                organisation=wales.secondary,
                username=f"Llwyd{n}",
                email=f"llwyd{n}@hwbcymru.net",
                legal_forename="Siân",
                legal_surname="Llwyd",
                upn_hash=f"{n:064x}",
                year_group="9",
                registration_group="9A",
                admission_number=f"{n:06d}",
                classes=["9Ma1"],
            )
            for n in range(start, start + count)
        )

    def held() -> int:
        _values, peak = peak_of(lambda: sync_rows.local_values(wales.secondary, [Account.Kind.LEARNER]))
        return peak

    add(0, 500)
    small = held()
    add(500, 2000)
    per_account = (held() - small) / 2000
    # about 960 bytes: its values and the tuple holding them; as a dict of them, with every row fetched at once
    # before it was turned into one, about 1,800
    assert per_account < 1200, f"{per_account:.0f} bytes an account"


@pytest.mark.django_db
class ApplyTests:
    """Applying a plan that changes every account (the September roll-over) holds little for each."""

    def test_a_roll_over_run_holds_little_for_each_account_it_changes(self, wales, small_chunks):
        def applied_moved_on(rows: int) -> int:
            school = wales.secondary
            extract_apply(organisation=school, extract=read_extract(moved_on_pupils(rows)), today=TODAY)
            data = moved_on_pupils(rows, year="Year 8")
            report, peak = peak_of(
                lambda: extract_apply(organisation=school, extract=read_extract(data), today=TODAY)
            )
            assert (report.updated, report.created) == (rows, 0)
            return peak

        small, large = applied_moved_on(1000), applied_moved_on(5000)
        # PostgreSQL: about 180 bytes, what its plan keeps (above): locking, writing and auditing the changes add
        # nothing that grows with them (the audit's targets are an array of 8 bytes each, read from a bit each).
        # Before the changes were spilled the run's peak grew about 420 bytes an account changed (tests above); a
        # 256 MB roll-over (3.69 million learners) peaked at 1,400 MB.
        # SQLite: about 320 bytes, as it holds every change (above).
        assert_bytes_each((large - small) / 4000, postgresql=250, sqlite=650)


@pytest.mark.django_db
@pytest.mark.postgres_only(reason="changes are spilled to a temporary table on PostgreSQL only")
class SpillTests:
    """A plan of many changes spills them to a temporary table, and writes them from it by the same rules."""

    def test_a_roll_over_spilled_to_a_table_writes_every_change(self, wales, small_chunks, monkeypatch):
        spilled = []
        real_copy = sync_spill.copy
        monkeypatch.setattr(
            sync_spill, "copy", lambda table, c: (spilled.append(len(c)), real_copy(table, c))
        )
        extract_apply(organisation=wales.secondary, extract=read_extract(moved_on_pupils(1000)), today=TODAY)
        report = extract_apply(
            organisation=wales.secondary,
            extract=read_extract(moved_on_pupils(1000, year="Year 8")),
            today=TODAY,
        )
        assert report.updated == 1000 and sum(spilled) == 1000 and len(spilled) == 4
        learners = Account.objects.filter(organisation=wales.secondary, kind=Account.Kind.LEARNER)
        assert set(learners.values_list("year_group", flat=True)) == {"8"}
        event = AuditEvent.objects.get(action="provisioning.update")
        assert event.target_count == 1000
        assert set(event.targets.values_list("account_id", flat=True)) == set(
            learners.values_list("pk", flat=True)
        )

    def test_a_spilled_change_another_worker_overtook_makes_the_run_plan_again(
        self, wales, small_chunks, monkeypatch
    ):
        extract_apply(organisation=wales.secondary, extract=read_extract(moved_on_pupils(1000)), today=TODAY)
        first = Account.objects.get(upn_hash=upn_hash(learner_upn(1)))
        real, plans = sync_apply.extract_plan, []

        def plan_then_someone_else_writes(*args, **kwargs):
            plan = real(*args, **kwargs)
            if not plans:
                assert first.pk in plan.changes.spilled
                Account.objects.filter(pk=first.pk).update(updated_at=timezone.now())
            plans.append(plan)
            return plan

        monkeypatch.setattr(sync_apply, "extract_plan", plan_then_someone_else_writes)
        report = extract_apply(
            organisation=wales.secondary,
            extract=read_extract(moved_on_pupils(1000, year="Year 8")),
            today=TODAY,
        )
        assert len(plans) == 2 and report.updated == 1000
        learners = Account.objects.filter(organisation=wales.secondary, kind=Account.Kind.LEARNER)
        assert set(learners.values_list("year_group", flat=True)) == {"8"}

    def test_a_spilled_change_changed_again_keeps_the_newer(self, wales, small_chunks):
        extract_apply(organisation=wales.secondary, extract=read_extract(moved_on_pupils(300)), today=TODAY)
        accounts = list(Account.objects.filter(organisation=wales.secondary, kind=Account.Kind.LEARNER))
        now = timezone.now()
        with transaction.atomic():
            changes = sync_changes.Changes()
            for account in accounts:
                changes[account.pk] = sync_rows.change_pack(
                    account.updated_at, {"year_group": "8", "classes": ["8A/Ma1"], "updated_at": now}, {}
                )
            assert changes.spill() and len(changes.held) == 0 and len(changes) == 300
            one, two = accounts[0].pk, accounts[1].pk
            assert sync_rows.change_values(changes[one]) == {
                "year_group": "8",
                "classes": ["8A/Ma1"],
                "updated_at": now,
            }
            assert sync_rows.change_seen(changes[one]) == accounts[0].updated_at
            # a later chunk changes it again: the newer change, held, replaces the spilled one
            changes[one] = sync_rows.change_pack(
                accounts[0].updated_at, {"year_group": "9", "updated_at": now}, {}
            )
            del changes[two]
            assert (one in changes.held, one in changes.spilled, two in changes, len(changes)) == (
                True,
                False,
                False,
                299,
            )
            assert changes.lock_spilled() == set()
            sync_rows.changes_write(changes.held)
            changes.write_spilled()
        years = dict(Account.objects.filter(pk__in=[a.pk for a in accounts]).values_list("pk", "year_group"))
        assert (years.pop(one), years.pop(two), set(years.values())) == ("9", "7", {"8"})

    def test_a_spilled_change_is_written_only_where_nobody_changed_the_account_since(
        self, wales, small_chunks
    ):
        extract_apply(organisation=wales.secondary, extract=read_extract(moved_on_pupils(300)), today=TODAY)
        accounts = list(Account.objects.filter(organisation=wales.secondary, kind=Account.Kind.LEARNER))
        now = timezone.now()
        with pytest.raises(sync_rows.StaleRows), transaction.atomic():
            changes = sync_changes.Changes()
            for account in accounts:
                changes[account.pk] = sync_rows.change_pack(
                    account.updated_at, {"year_group": "8", "updated_at": now}, {}
                )
            assert changes.spill()
            Account.objects.filter(pk=accounts[-1].pk).update(updated_at=timezone.now())
            changes.write_spilled()
        assert set(
            Account.objects.filter(pk__in=[a.pk for a in accounts]).values_list("year_group", flat=True)
        ) == {"7"}


class IdsTests:
    def test_it_holds_each_id_once_and_gives_them_ascending(self):
        ids = sync_changes.Ids([9000, 5, 70000, 5, 4096, 4095])
        ids.add(0)
        ids.discard(9000)
        ids.discard(12)
        assert (list(ids), len(ids), 5 in ids, 9000 in ids, "5" in ids) == (
            [0, 5, 4095, 4096, 70000],
            5,
            True,
            False,
            False,
        )
        assert ids.ascending().tolist() == [0, 5, 4095, 4096, 70000]

    def test_it_keeps_a_bit_an_id(self):
        ids, peak = peak_of(lambda: sync_changes.Ids(range(1_000_000, 1_200_000)))
        assert len(ids) == 200_000
        assert peak < 200_000, f"{peak} bytes for 200,000 ids"
