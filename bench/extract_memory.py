#!/usr/bin/env python
"""Bounded memory: a large extract uploaded and applied as a run is, its peak memory measured.

Generates extracts of --mb megabytes, then for each uploads it (sealed to disk in chunks, as run_create does) and
applies it (run_apply: read, assessed, planned and written) in a child process of its own, and prints the file's
size, its rows, the time taken and the child's peak resident memory (VmHWM), against the target: a 256 MB extract
applies within 1 GB. With --later it applies the same extract again, in a child of its own, as the school's later
run (its accounts now exist, and none changes), and measures that run too; with --later changed the later run's
extract is the same learners with every year group moved on (the September roll-over: year, registration group and
classes change for every learner), so that it changes every account.

  mis        one school's MIS CSV pupil export of that size, with the columns a SIMS pupil report has (--columns
             narrow: only the 8 the reader takes, so as many rows as the size holds): every row a learner of
             the school, each given an account (a first provisioning of all its rows: the most accounts a run
             makes; with --later, then a later run, which compares every account the school has)
  oneroster  a broker's OneRoster 1.1 bulk package for a whole country (orgs, users, classes, enrollments of
             1,470 schools), its files together that size uncompressed (the most a zip may hold), applied for
             one school of it

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ump_bench .venv/bin/python bench/extract_memory.py --mb 256
    ... bench/extract_memory.py --mb 256 --format mis --columns narrow --later
    ... bench/extract_memory.py --mb 256 --format mis --columns narrow --later changed

It works in a database of its own, and drops it at the end.
"""

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/ump_bench")

from _common import FORENAMES, SURNAMES, drop, test_database  # noqa: E402

from accounts.models import Organisation  # noqa: E402
from provisioning.upn import upn_make  # noqa: E402

DB_NAME = "ump_bench_extract_memory"
TARGET_BYTES = 1024 * 1024 * 1024
SCHOOL = "6814001"  # the MIS export's school
ONEROSTER_SCHOOL = "6814002"  # the school the OneRoster package is applied for
# generated files stop this far short of their size, so that neither passes the upload or inflated-zip limit
MARGIN = 1024 * 1024
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
# What a SIMS pupil report carries beside them, which no field reads (--columns sims)
SIMS_HEADER = [
    "Preferred Surname",
    "Preferred Forename",
    "Date of Birth",
    "Gender",
    "House",
    "Home Language",
    "Ethnicity",
    "FSM Eligible",
    "SEN Status",
    "Address",
    "Postcode",
    "Primary Contact",
    "Contact Telephone",
    "Contact Email",
]
STREETS = ["Heol y Bont", "Ffordd yr Orsaf", "Stryd Fawr", "Lôn Glan Môr", "Heol Eglwys", "Maes y Dre"]
TOWNS = ["Caerdydd", "Abertawe", "Aberystwyth", "Caernarfon", "Wrecsam", "Y Fenni"]
SCHOOLS = 1470
CLASSES_PER_SCHOOL = 40
ENROLMENTS_PER_LEARNER = 6


def upn(n, la=681):
    return upn_make(la, 1000 + n // 100_000, (n // 1000) % 100, n % 1000)


# ---------------------------------------------------------------- the extracts


def mis_extract(path: Path, size: int, columns: str = "sims", *, moved_on: int | None = None) -> int:
    """One school's pupil export of `size` bytes; its rows. `columns`: "sims" as a SIMS pupil report has them,
    "narrow" only those the reader takes (the most rows a file of that size can hold).

    `moved_on`: instead, that many rows (the same learners, admitted when they were), each a year group on (Year 13
    back to Year 7, so that every learner's year, registration group and classes change and each stays eligible).
    """
    rows = 0
    wide = columns == "sims"
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\r\n")
        writer.writerow(PUPIL_HEADER + (SIMS_HEADER if wide else []))
        while rows < moved_on if moved_on is not None else fh.tell() < size - MARGIN:
            for _ in range(1000 if moved_on is None else min(1000, moved_on - rows)):
                n = rows
                admitted = 7 + n % 7
                year = admitted if moved_on is None else 7 + (n + 1) % 7
                reg = f"{year}{'ABCDEF'[n % 6]}"
                surname = SURNAMES[n % len(SURNAMES)]
                forename = FORENAMES[(n // len(SURNAMES)) % len(FORENAMES)]
                row = [
                    surname,
                    forename,
                    upn(n),
                    f"{n:07d}",
                    f"01/09/{2026 - (admitted - 7)}",
                    str(year),
                    reg,
                    f"{reg}/Ma;{reg}/Cy;{reg}/Gw",
                ]
                if wide:
                    town = TOWNS[n % len(TOWNS)]
                    row += [
                        surname,
                        forename,
                        f"{1 + n % 28:02d}/{1 + n % 12:02d}/{2026 - year - 5}",
                        "FM"[n % 2],
                        ["Dewi", "Glyndŵr", "Llywelyn", "Hywel"][n % 4],
                        ["Cymraeg", "Saesneg"][n % 2],
                        "White - Welsh",
                        ["Y", "N"][n % 3 == 0],
                        ["", "K - SEN Support"][n % 7 == 0],
                        f"{1 + n % 180} {STREETS[n % len(STREETS)]}, {town}",
                        f"CF{n % 90 + 10} {n % 9}{'ABDEFGHJLN'[n % 10]}{'PQRSTUWXYZ'[n % 10]}",
                        f"Mr/Mrs {surname}",
                        f"07{n % 1000:03d} {n % 1_000_000:06d}",
                        f"{surname.lower().replace(' ', '')}.{n}@example.org",
                    ]
                writer.writerow(row)
                rows += 1
    return rows


def oneroster_extract(path: Path, size: int) -> tuple[int, int]:
    """A national bulk package whose files are `size` bytes together; its users, and the target school's."""
    from tests.provisioning.extracts import CLASSES, ENROL, ORGS, USERS

    folder = path.with_suffix(".d")
    folder.mkdir()
    codes = [ONEROSTER_SCHOOL] + [f"{660 + n % 22}{5000 + n:04d}" for n in range(1, SCHOOLS)]
    files = {name: (folder / name).open("w", encoding="utf-8", newline="") for name in ("orgs", "classes")}
    writers = {name: csv.writer(fh, lineterminator="\r\n") for name, fh in files.items()}
    writers["orgs"].writerow(ORGS)
    writers["classes"].writerow(CLASSES)
    for s, code in enumerate(codes):
        writers["orgs"].writerow([f"org-{s}", "", "", f"Ysgol {code}", "school", code, ""])
        for c in range(CLASSES_PER_SCHOOL):
            kind = "homeroom" if c < 8 else "scheduled"
            title = f"{7 + c % 7}{'ABCDEFGH'[c % 8]}" if c < 8 else f"{7 + c % 7}/S{c}"
            writers["classes"].writerow(
                [f"cls-{s}-{c}", "", "", title, "", "", title, kind, "", f"org-{s}", "", "", "", ""]
            )
    for fh in files.values():
        fh.close()
    budget = size - MARGIN - sum((folder / name).stat().st_size for name in ("orgs", "classes"))
    users, school_users = 0, 0
    with (
        (folder / "users").open("w", encoding="utf-8", newline="") as ufh,
        (folder / "enrollments").open("w", encoding="utf-8", newline="") as efh,
    ):
        u, e = csv.writer(ufh, lineterminator="\r\n"), csv.writer(efh, lineterminator="\r\n")
        u.writerow(USERS)
        e.writerow(ENROL)
        while ufh.tell() + efh.tell() < budget:
            for _ in range(500):
                n = users
                s = n % SCHOOLS
                uid = f"stu-{n}"
                u.writerow(
                    [
                        uid,
                        "",
                        "",
                        "true",
                        f"org-{s}",
                        "student",
                        "",
                        f"{{UPN:{upn(n, la=660)}}}",  # none of them the MIS export's learners
                        FORENAMES[n % len(FORENAMES)],
                        SURNAMES[(n // len(FORENAMES)) % len(SURNAMES)],
                        "",
                        f"{n:07d}",
                        "",
                        "",
                        "",
                        "",
                        f"{7 + n % 7:02d}",
                        "",
                    ]
                )
                for k in range(ENROLMENTS_PER_LEARNER):
                    c = (n + k * 8) % CLASSES_PER_SCHOOL if k else n % 8
                    e.writerow(
                        [
                            f"enr-{n}-{k}",
                            "",
                            "",
                            f"cls-{s}-{c}",
                            f"org-{s}",
                            uid,
                            "student",
                            "",
                            "2025-09-01",
                            "",
                        ]
                    )
                users += 1
                school_users += s == 0
    manifest = folder / "manifest"
    manifest.write_text(
        "propertyName,value\r\nmanifest.version,1.0\r\noneroster.version,1.1\r\nfile.orgs,bulk\r\n"
        "file.users,bulk\r\nfile.classes,bulk\r\nfile.enrollments,bulk\r\n"
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for name in ("manifest", "orgs", "users", "classes", "enrollments"):
            zf.write(folder / name, f"{name}.csv")
            (folder / name).unlink()
    folder.rmdir()
    return users, school_users


# ---------------------------------------------------------------- the run, in a child process


def child(path: str, fmt: str) -> None:
    """Upload and apply one extract as a run; print what it did and this process's peak memory, as JSON."""
    from provisioning.models import ProvisioningRun
    from provisioning.runs import run_apply, run_create

    organisation = Organisation.objects.get(code=SCHOOL if fmt == "mis-csv" else ONEROSTER_SCHOOL)
    start = time.perf_counter()
    with open(path, "rb") as data:
        run = run_create(organisation=organisation, data=data, source=ProvisioningRun.Source.COMMAND, fmt=fmt)
    uploaded = time.perf_counter() - start
    report = run_apply(run=run)
    elapsed = time.perf_counter() - start
    run.refresh_from_db()
    status = Path("/proc/self/status").read_text()
    peak_kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:"))
    print(
        json.dumps(
            {
                "status": run.status,
                "rows": report.rows,
                "created": report.created,
                "unchanged": report.unchanged,
                "changed": report.updated + report.transferred_in + report.reactivated + report.deactivated,
                "refused": len(report.refused),
                "upload_s": uploaded,
                "total_s": elapsed,
                "peak_rss": peak_kb * 1024,
            }
        )
    )


def measure(path: Path, fmt: str, database_url: str) -> dict:
    env = {**os.environ, "DATABASE_URL": database_url}
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(path), "--format", fmt],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        sys.stderr.write(out.stderr)
        raise SystemExit(f"the {fmt} run failed (exit {out.returncode})")
    return json.loads(out.stdout.strip().splitlines()[-1])


def mb(n: float) -> str:
    return f"{n / 1024 / 1024:,.1f} MB"


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mb", type=float, default=256, help="the extract's size in MB (default 256)")
    parser.add_argument("--format", choices=("mis", "oneroster", "both"), default="both")
    parser.add_argument(
        "--columns",
        choices=("sims", "narrow"),
        default="sims",
        help="the MIS export's columns: as a SIMS pupil report (default), or only those the reader takes",
    )
    parser.add_argument(
        "--later",
        nargs="?",
        const="same",
        choices=("same", "changed"),
        help="apply each extract a second time, as the school's later run, and measure that run too; "
        "'changed' (MIS only): the later run's extract has every learner a year group on",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, {"mis": "mis-csv", "oneroster": "oneroster"}[args.format])
        return
    size = int(args.mb * 1024 * 1024)
    formats = ("mis", "oneroster") if args.format == "both" else (args.format,)
    test_database(DB_NAME)
    from django.conf import settings
    from django.db import connection

    parts = urlsplit(os.environ["DATABASE_URL"])
    database_url = urlunsplit(parts._replace(path="/" + settings.DATABASES["default"]["NAME"]))
    failed = False
    try:
        la = Organisation.objects.create(kind=Organisation.Kind.LOCAL_AUTHORITY, code="681", name="LA 681")
        for code in (SCHOOL, ONEROSTER_SCHOOL):
            Organisation.objects.create(
                kind=Organisation.Kind.SCHOOL, code=code, name=f"Ysgol {code}", phase="secondary", parent=la
            )
        connection.close()
        with tempfile.TemporaryDirectory(prefix="ump-bench-") as tmp:
            os.environ["UMP_UPLOAD_DIR"] = str(Path(tmp) / "uploads")
            print(f"target: a {args.mb:g} MB extract applies within {mb(TARGET_BYTES)} peak RSS")
            for fmt in formats:
                path = Path(tmp) / f"extract.{'csv' if fmt == 'mis' else 'zip'}"
                start = time.perf_counter()
                if fmt == "mis":
                    rows = mis_extract(path, size, args.columns)
                    shape = f"{rows:,} learner rows of one school, {len(PUPIL_HEADER)} columns"
                    if args.columns == "sims":
                        shape += f" and {len(SIMS_HEADER)} more that no field reads"
                else:
                    users, mine = oneroster_extract(path, size)
                    with zipfile.ZipFile(path) as zf:
                        inflated = sum(i.file_size for i in zf.infolist())
                    shape = (
                        f"{users:,} learners of {SCHOOLS:,} schools, {mine:,} of them at the school applied; "
                        f"{mb(inflated)} uncompressed"
                    )
                made = time.perf_counter() - start
                print(f"{fmt:<9}  file {mb(path.stat().st_size)} ({shape}; made in {made:.1f} s)")
                for run in ("first", "later") if args.later else ("first",):
                    label = run
                    if run == "later" and args.later == "changed" and fmt == "mis":
                        mis_extract(path, size, args.columns, moved_on=rows)
                        label = "later run (every learner a year group on)"
                    else:
                        label += " run"
                    result = measure(path, fmt, database_url)
                    met = result["peak_rss"] <= TARGET_BYTES
                    failed |= not met
                    print(
                        f"           {label} {result['status']}: {result['rows']:,} rows, "
                        f"{result['created']:,} accounts created, {result['changed']:,} changed, "
                        f"{result['unchanged']:,} unchanged, {result['refused']:,} refused; "
                        f"upload {result['upload_s']:.1f} s, upload and apply {result['total_s']:.1f} s\n"
                        f"           peak RSS {mb(result['peak_rss'])}: "
                        f"{'meets' if met else 'MISSES'} the {mb(TARGET_BYTES)} target"
                    )
                path.unlink()
    finally:
        drop(DB_NAME)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
