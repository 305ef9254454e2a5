#!/usr/bin/env python
"""National-scale provisioning benchmark: a synthetic Wales provisioned from MIS CSV extracts.

Generates 1,470 schools in the 22 Welsh local authorities with 470,000 learners and 35,000 staff (realistic Welsh
and English names, valid UPNs), then times, in one run against a fresh PostgreSQL test database:

  copy      a raw COPY of the same account rows into a copy of the accounts table (the floor to compare with):
            the usernames, emails and UPN hashes the sync gives them, derived before the clock starts
  copy-seq  the same COPY with sequential placeholder keys (U1, U2, ...), as earlier versions measured; every
            unique index then grows at its right-hand end, which no real load does
  initial   full initial provisioning, one pupil and one staff extract per school
  rerun     the identical extracts again (nothing may change)
  delta     1% changed, 0.5% joiners, 0.5% leavers, 200 transfers between schools (every school's full extract)
  one       one school of 1,500 learners with no change (best of 3)

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ump_bench .venv/bin/python bench/provision_wales.py --scale 0.1

--scale shrinks the country (the one-school case keeps its 1,500 learners); --jobs runs schools in parallel
processes (each school is still one atomic run under its own lock).
"""

import argparse
import csv
import io
import json
import os
import random
import sys
import time
from datetime import date

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/ump_bench")

from _common import ROOT  # noqa: E402, F401  (sets up the environment and Django)
from django.db import connection  # noqa: E402

from accounts.models import Account, Organisation  # noqa: E402
from provisioning.readers import read_mis_csv  # noqa: E402
from provisioning.sync import Item, extract_apply, extracts_apply  # noqa: E402
from provisioning.upn import upn_make  # noqa: E402

TODAY = date(2026, 11, 23)
LAS = list(range(660, 682))
PUPIL_HEADER = [
    "Legal Surname",
    "Legal Forename",
    "UPN",
    "Adno",
    "Admission Date",
    "Year",
    "Reg Group",
    "Class",
]
STAFF_HEADER = ["Legal Surname", "Legal Forename", "Staff Code", "Employment Start Date", "Role"]
# Surnames weighted roughly as in Wales, where a handful of patronymic names are very common.
SURNAMES = (
    [
        ("Jones", 40),
        ("Williams", 25),
        ("Davies", 25),
        ("Evans", 20),
        ("Thomas", 18),
        ("Roberts", 14),
        ("Hughes", 12),
        ("Lewis", 12),
        ("Morgan", 10),
        ("Griffiths", 10),
        ("Edwards", 9),
        ("Rees", 7),
        ("Jenkins", 7),
        ("Owen", 7),
        ("Price", 6),
        ("Phillips", 6),
        ("Parry", 5),
        ("Powell", 5),
        ("Lloyd", 5),
        ("Pritchard", 4),
        ("Prydderch", 2),
        ("ap Rhys", 2),
        ("ap Iorwerth", 1),
        ("Llwyd", 2),
        ("Bowen", 4),
        ("Howells", 3),
        ("Vaughan", 3),
        ("Gwyn", 2),
        ("Jones-Williams", 2),
        ("Meredith", 2),
        ("Pugh", 3),
        ("Watkins", 3),
        ("Probert", 2),
        ("Beynon", 2),
        ("Gruffydd", 2),
        ("Cadwaladr", 1),
        ("Tudur", 1),
    ]
    + [
        (s, 2)
        for s in (
            "Smith",
            "Brown",
            "Taylor",
            "Wilson",
            "Johnson",
            "Walker",
            "Wright",
            "Robinson",
            "Thompson",
            "White",
            "Green",
            "Hall",
            "Wood",
            "Harris",
            "Martin",
            "Jackson",
            "Clarke",
            "Clark",
            "Turner",
            "Hill",
            "Scott",
            "Cooper",
            "Ward",
            "Moore",
            "King",
            "Watson",
            "Baker",
            "Harrison",
            "Young",
            "Allen",
            "Mitchell",
            "Anderson",
            "Bell",
            "Kelly",
            "Cook",
            "Carter",
            "Shaw",
            "Murphy",
            "Bailey",
            "Collins",
            "Bennett",
            "O'Brien",
            "O'Connor",
            "Kaur",
            "Singh",
            "Khan",
            "Ahmed",
            "Begum",
            "Nowak",
            "Kowalski",
            "Chen",
            "Nguyen",
        )
    ]
    + [
        (f"{a}{b}", 1)
        for a in ("Ll", "Rh", "Gw", "Tr", "Pen", "Cae", "Bryn", "Mor")
        for b in (
            "ewellyn",
            "ydderch",
            "ynne",
            "eharne",
            "rhyn",
            "nant",
            "mawr",
            "fryn",
            "wyn",
            "gan",
            "ris",
            "dwr",
        )
    ]
)
FORENAMES = [
    "Dafydd",
    "Siân",
    "Llŷr",
    "Gwenllïan",
    "Rhys",
    "Cerys",
    "Osian",
    "Elin",
    "Ffion",
    "Iwan",
    "Nia",
    "Gethin",
    "Megan",
    "Aled",
    "Catrin",
    "Dylan",
    "Heledd",
    "Ioan",
    "Lowri",
    "Math",
    "Mali",
    "Tomos",
    "Alaw",
    "Owain",
    "Seren",
    "Ŵyn",
    "Efa",
    "Gruffudd",
    "Non",
    "Hâf",
    "Deio",
    "Anest",
    "Cai",
    "Begw",
    "Twm",
    "Lleucu",
    "Macsen",
    "Gwern",
    "Eira",
    "Steffan",
    "Carwyn",
    "Bethan",
    "Sioned",
    "Huw",
    "Eleri",
    "Emrys",
    "Manon",
    "Ianto",
    "Oliver",
    "Amelia",
    "Jack",
    "Olivia",
    "Harry",
    "Isla",
    "George",
    "Ava",
    "Noah",
    "Emily",
    "Charlie",
    "Sophie",
    "Jacob",
    "Grace",
    "Alfie",
    "Mia",
    "Freddie",
    "Poppy",
    "Oscar",
    "Ella",
    "Leo",
    "Lily",
    "Theo",
    "Evie",
    "Arthur",
    "Freya",
    "Muhammad",
    "Aisha",
    "Zofia",
    "Jakub",
    "Chloe",
    "Ethan",
    "Ruby",
    "Mason",
]


def weighted(pairs):
    out = []
    for name, weight in pairs:
        out += [name] * weight
    return out


class Wales:
    """The synthetic country: schools, and per school its learners and staff as rows of the MIS exports."""

    def __init__(self, scale: float, seed: int):
        rng = random.Random(seed)
        self.rng = rng
        surnames = weighted(SURNAMES)
        n_schools = max(2, round(1470 * scale))
        n_learners = max(1500 + 100, round(470_000 * scale))
        n_staff = max(20, round(35_000 * scale))
        self.schools = []  # (code, la, est, phase)
        for i in range(n_schools):
            la = LAS[i % len(LAS)]
            secondary = i % 7 == 0
            est = (4000 if secondary else 2000) + i // len(LAS)
            self.schools.append((f"{la}{est:04d}", la, est, "secondary" if secondary else "primary"))
        # one secondary of exactly 1,500 learners; the rest shared by size (secondaries about 4x primaries)
        weights = [4 if s[3] == "secondary" else 1 for s in self.schools]
        weights[0] = 0
        rest = n_learners - 1500
        total_w = sum(weights)
        sizes = [1500] + [max(1, round(rest * w / total_w)) for w in weights[1:]]
        self.learners = {s[0]: [] for s in self.schools}
        self.staff = {s[0]: [] for s in self.schools}
        self.next_serial = {}
        for school, size in zip(self.schools, sizes, strict=True):
            code, la, est, phase = school
            for n in range(size):
                self.learners[code].append(self._learner(school, n, surnames))
        staff_weights = [w or 4 for w in weights]
        staff_total = sum(staff_weights)
        for school, w in zip(self.schools, staff_weights, strict=True):
            code = school[0]
            for n in range(max(2, round(n_staff * w / staff_total))):
                surname, forename = rng.choice(surnames), rng.choice(FORENAMES)
                staff_code = f"{forename[:1]}{surname.replace(' ', '')[:2]}{n}".upper()
                start = f"01/09/{rng.randint(1995, 2025)}"
                self.staff[code].append(
                    [surname, forename, staff_code, start, rng.choice(["Teacher", "TA", "Admin"])]
                )
        self.surnames = surnames

    def _learner(self, school, n, surnames):
        code, la, est, phase = school
        rng = self.rng
        year = rng.randint(0, 6) if phase == "primary" else rng.randint(7, 13)
        entry = 2026 - (year - (0 if phase == "primary" else 7))
        key = (la, est, entry % 100)
        serial = self.next_serial.get(key, 0)
        self.next_serial[key] = serial + 1
        if serial > 999:  # a serial has 3 digits: borrow the next allocation year
            key = (la, est, (entry + 50) % 100)
            serial = self.next_serial.get(key, 0)
            self.next_serial[key] = serial + 1
        upn = upn_make(la, est, key[2], serial)
        reg = f"{year if year else 'R'}{'ABCDEF'[rng.randint(0, 3)]}"
        return [
            rng.choice(surnames),
            rng.choice(FORENAMES),
            upn,
            f"{n + 1:06d}",
            f"01/09/{entry}",
            str(year) if year else "R",
            reg,
            f"{reg}/Ma;{reg}/Cy",
        ]

    def pupils_csv(self, code):
        return _csv(PUPIL_HEADER, self.learners[code])

    def staff_csv(self, code):
        return _csv(STAFF_HEADER, self.staff[code])

    def counts(self):
        return sum(map(len, self.learners.values())), sum(map(len, self.staff.values()))

    def delta(self, transfers=200):
        """1% changed, 0.5% joiners, 0.5% leavers, `transfers` learners moving school."""
        rng = self.rng
        n_learners, _n_staff = self.counts()
        codes = [s[0] for s in self.schools]
        by_code = {s[0]: s for s in self.schools}
        everyone = [(c, i) for c in codes for i in range(len(self.learners[c]))]
        picked = rng.sample(everyone, round(n_learners * 0.01))
        for c, i in picked:
            row = self.learners[c][i]
            row[6] = row[6][:-1] + ("F" if row[6][-1] != "F" else "E")
            row[7] = f"{row[6]}/Ma"
        leavers = set(rng.sample(everyone, round(n_learners * 0.005)))
        movers = [e for e in rng.sample(everyone, transfers * 3) if e not in leavers][:transfers]
        moving = set(movers)
        new_lists = {}
        for c in codes:
            new_lists[c] = [
                r for i, r in enumerate(self.learners[c]) if (c, i) not in leavers and (c, i) not in moving
            ]
        for c, i in movers:
            target = rng.choice([x for x in codes if x != c])
            new_lists[target].append(self.learners[c][i])
        for _ in range(round(n_learners * 0.005)):
            c = rng.choice(codes[1:])
            new_lists[c].append(self._learner(by_code[c], len(new_lists[c]) + 5000, self.surnames))
        self.learners = new_lists
        return len(picked), len(leavers), len(movers)


def _csv(header, rows):
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue().encode()


def make_organisations(wales):
    las = {
        la: Organisation(kind=Organisation.Kind.LOCAL_AUTHORITY, code=str(la), name=f"LA {la}") for la in LAS
    }
    Organisation.objects.bulk_create(las.values())
    las = {int(o.code): o for o in Organisation.objects.filter(code__in=[str(la) for la in LAS])}
    Organisation.objects.bulk_create(
        [
            Organisation(
                kind=Organisation.Kind.SCHOOL, code=code, name=f"Ysgol {code}", phase=phase, parent=las[la]
            )
            for code, la, _est, phase in wales.schools
        ],
        batch_size=2000,
    )
    return {o.code: o for o in Organisation.objects.filter(kind=Organisation.Kind.SCHOOL)}


def account_keys(wales):
    """Each row's username, email and UPN hash as the sync gives them (derived before any clock starts).

    The raw COPY loads these rather than placeholders: sequential keys (U1, U2, ...; 000...1, 000...2) would all
    land at the right-hand end of each unique index, which no real load does, and make the floor a third lower.
    """
    from accounts.sealing import upn_hash
    from accounts.services import email_for
    from accounts.usernames import username_base

    issued, keys = {}, []
    for kind, source in (("learner", wales.learners), ("staff", wales.staff)):
        for rows in source.values():
            for r in rows:
                base = username_base(r[1].strip(), r[0].strip())
                n = issued[base.lower()] = issued.get(base.lower(), 0) + 1
                username = base if n == 1 else f"{base}{n}"
                keys.append((username, email_for(username), upn_hash(r[2]) if kind == "learner" else None))
    return keys


def placeholder_keys(wales):
    """Sequential usernames and UPN hashes, as this benchmark's raw COPY used before (reported beside it)."""
    learners, staff = wales.counts()
    return [
        (f"U{i}", f"u{i}@hwbcymru.net", f"{i:064d}" if i <= learners else None)
        for i in range(1, learners + staff + 1)
    ]


def raw_copy(wales, orgs, keys):
    """COPY the same account rows into a copy of the accounts table, with its indexes and constraints."""
    fields = [f for f in Account._meta.concrete_fields if not f.primary_key and not f.generated]
    columns = ", ".join(f.column for f in fields)
    now = time.time()
    from django.utils import timezone

    ts = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_copy")
        cursor.execute("CREATE TABLE bench_copy (LIKE accounts_account INCLUDING ALL)")
    n = 0
    start = time.perf_counter()
    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY bench_copy ({columns}) FROM STDIN") as copy:
        for kind, source in (("learner", wales.learners), ("staff", wales.staff)):
            for code, rows in source.items():
                org_id = orgs[code].pk
                for r in rows:
                    username, email, hashed = keys[n]
                    n += 1
                    values = {
                        "password": "!unusable",
                        "kind": kind,
                        "source": "mis",
                        "organisation_id": org_id,
                        "legal_forename": r[1],
                        "legal_surname": r[0],
                        "display_name": f"{r[1]} {r[0][:1]}",
                        "username": username,
                        "email": email,
                        "status": "active",
                        "status_reason": "",
                        "status_changed_at": ts,
                        "created_at": ts,
                        "updated_at": ts,
                        "classes": json.dumps(r[7].split(";") if kind == "learner" else []),
                        "upn_hash": hashed,
                        "staff_code": r[2] if kind == "staff" else "",
                        "admission_number": r[3] if kind == "learner" else "",
                        "is_superuser": False,
                        "is_staff": False,
                    }
                    copy.write_row([values.get(f.attname, None if f.null else "") for f in fields])
    elapsed = time.perf_counter() - start
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE bench_copy")
    checkpoint()
    del now
    return elapsed, n


def checkpoint():
    """Write out what a step left in shared buffers and the WAL, so that the next step does not pay for it."""
    from django.db import DatabaseError

    try:
        with connection.cursor() as cursor:
            cursor.execute("CHECKPOINT")
    except (
        DatabaseError
    ):  # a role without pg_checkpoint: the figures then carry some of the last step's writes
        print(
            "          (no CHECKPOINT between steps: it needs a superuser or pg_checkpoint)", file=sys.stderr
        )


def extracts_of(wales):
    """Every school's pupil and staff export, made before the clock starts."""
    return {code: (wales.pupils_csv(code), wales.staff_csv(code)) for code, *_rest in wales.schools}


def provision_all(extracts, orgs, codes, batch):
    """Apply every school's extracts, `batch` schools to a transaction (each school still reconciled alone)."""
    totals = {}
    start = time.perf_counter()
    for n in range(0, len(codes), batch):
        if n and n % 250 < batch:
            print(f"          {n} schools, {time.perf_counter() - start:.1f} s", file=sys.stderr, flush=True)
        items = [
            Item(orgs[code], read_mis_csv(data)) for code in codes[n : n + batch] for data in extracts[code]
        ]
        for report in extracts_apply(items=items, today=TODAY):
            for k, v in report.counts().items():
                totals[k] = totals.get(k, 0) + v
    return totals


def _child(args):
    extracts, org_ids, codes, batch = args
    connection.close()
    orgs = {c: Organisation.objects.get(pk=pk) for c, pk in org_ids.items() if c in set(codes)}
    try:
        return provision_all(extracts, orgs, codes, batch)
    finally:
        connection.close()


def provision(extracts, orgs, jobs, batch):
    codes = list(extracts)
    if jobs <= 1:
        return provision_all(extracts, orgs, codes, batch)
    import multiprocessing

    connection.close()
    org_ids = {c: o.pk for c, o in orgs.items()}
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(jobs) as pool:
        parts = pool.map(_child, [(extracts, org_ids, codes[i::jobs], batch) for i in range(jobs)])
    totals = {}
    for part in parts:
        for k, v in part.items():
            totals[k] = totals.get(k, 0) + v
    return totals


# Where a run's time goes (single process only): wall time spent inside each step of the sync.
STEPS = {
    "provisioning.readers": ("read_mis_csv",),
    "provisioning.sync.apply": (
        "extract_plan",
        "usernames_allocate_bulk",
        "_store_initial_passwords",
        "_write_batch",
        "_write_notices",
        "audit_record_bulk",
    ),
    "provisioning.sync.rows": ("accounts_insert", "changes_write"),
    "provisioning.runs": ("_run_finish",),
}
SPENT = {}


def instrument():
    import importlib

    for module_name, names in STEPS.items():
        module = importlib.import_module(module_name)
        for name in names:
            original = getattr(module, name)

            def wrapper(*args, _original=original, _name=name, **kwargs):
                start = time.perf_counter()
                try:
                    return _original(*args, **kwargs)
                finally:
                    SPENT[_name] = SPENT.get(_name, 0.0) + time.perf_counter() - start

            setattr(module, name, wrapper)
    # the benchmark calls read_mis_csv through its own import
    globals()["read_mis_csv"] = importlib.import_module("provisioning.readers").read_mis_csv


PROFILE = set()


def timed(label, fn, results):
    SPENT.clear()
    profiler = None
    if label in PROFILE:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    start = time.perf_counter()
    value = fn()
    elapsed = time.perf_counter() - start
    if profiler is not None:
        import pstats

        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
    results[label] = (elapsed, value)
    print(f"{label:>8}: {elapsed:8.2f} s  {value}", flush=True)
    if SPENT:
        print(
            "          " + ", ".join(f"{k} {v:.1f}" for k, v in sorted(SPENT.items(), key=lambda kv: -kv[1]))
        )
    return value


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--batch", type=int, default=50, help="schools applied in one transaction")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database afterwards")
    parser.add_argument(
        "--profile", action="append", default=[], help="cProfile a step (initial, rerun, ...)"
    )
    args = parser.parse_args()
    PROFILE.update(args.profile)
    if args.jobs <= 1:
        instrument()

    from django.test.utils import setup_databases, teardown_databases

    print(f"Generating Wales at scale {args.scale} ...", flush=True)
    wales = Wales(args.scale, args.seed)
    n_learners, n_staff = wales.counts()
    print(f"{len(wales.schools)} schools, {n_learners} learners, {n_staff} staff", flush=True)
    old = setup_databases(verbosity=0, interactive=False, keepdb=False)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_database()")
            print(f"database {cursor.fetchone()[0]}", flush=True)
        orgs = make_organisations(wales)
        results = {}
        keys, placeholders = account_keys(wales), placeholder_keys(wales)
        timed("copy-seq", lambda: raw_copy(wales, orgs, placeholders), results)
        timed("copy", lambda: raw_copy(wales, orgs, keys), results)
        extracts = extracts_of(wales)
        timed("initial", lambda: provision(extracts, orgs, args.jobs, args.batch), results)
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
        timed("rerun", lambda: provision(extracts, orgs, args.jobs, args.batch), results)
        changed, leavers, movers = wales.delta()
        print(f"delta: {changed} changed, {leavers} leavers, {movers} transfers, 0.5% joiners", flush=True)
        extracts = extracts_of(wales)
        timed("delta", lambda: provision(extracts, orgs, args.jobs, args.batch), results)
        big = wales.schools[0][0]
        best = None
        for _ in range(3):
            start = time.perf_counter()
            report = extract_apply(
                organisation=orgs[big], extract=read_mis_csv(extracts[big][0]), today=TODAY
            )
            elapsed = time.perf_counter() - start
            best = elapsed if best is None else min(best, elapsed)
        results["one"] = (best, report.counts())
        print(
            f"{'one':>8}: {best:8.3f} s  {len(wales.learners[big])} learners, {report.counts()}", flush=True
        )
        copy_s = results["copy"][0]
        print()
        print(f"initial / COPY = {results['initial'][0] / copy_s:.1f}x (target <= 3x, <= 120 s)")
        print(
            f"initial / COPY with sequential placeholder keys = {results['initial'][0] / results['copy-seq'][0]:.1f}x"
        )
        print(
            f"rerun {results['rerun'][0]:.1f} s (target <= 15 s); delta {results['delta'][0]:.1f} s (target <= 30 s);"
            f" one school {results['one'][0]:.3f} s (target <= 0.5 s)"
        )
    finally:
        if not args.keep:
            connection.close()
            teardown_databases(old, verbosity=0)


if __name__ == "__main__":
    main()
