#!/usr/bin/env python
"""Benchmarks for passwords and printing, against a fresh PostgreSQL database and a real Celery worker.

  group reset 30 / 250   end to end: group_reset_start (draw, seal, queue) until a real worker has marked the
                         job done (polled in the database), and the same apply step in-process for comparison
  PDF 30 / 2,000         slips_pdf from plain dataclasses, and from the database (slips_for + slips_pdf)
  CSV 2,000              All Pupils from the database: rows, unsealing and the whole streamed body
  reveal                 POST to Show password through the full Django stack (middleware, audit), median and p95

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ump_pw REDIS_URL=redis://127.0.0.1:6379/1 \
        .venv/bin/python bench/passwords_printing.py

Targets (issue 3): group of 30 within 3 s; PDF 30 slips within 0.1 s, 2,000 within 2 s; CSV 2,000 within 0.5 s.
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/ump_pw")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/1")

from _common import FORENAMES, ROOT, SURNAMES, connection, settings, setup_test_environment, timed  # noqa: E402, F401


def seed(school, n):
    from accounts.models import Account
    from passwords.generators import learner_password
    from passwords.services import shown_passwords_store_bulk

    accounts = []
    for i in range(n):
        forename, surname = FORENAMES[i % len(FORENAMES)], SURNAMES[(i * 7) % len(SURNAMES)]
        username = f"bench{school.code}{i:05d}"
        accounts.append(
            Account(
                organisation=school, kind=Account.Kind.LEARNER, source=Account.Source.MIS,
                legal_forename=forename, legal_surname=surname, display_name=f"{forename} {surname[0]}",
                username=username, email=f"{username}@hwbcymru.net", password="!unusable",
                year_group=str(7 + i % 5), registration_group=f"R{i // 30:03d}", classes=[f"C{i // 250:02d}"],
                admission_number=f"{i:06d}", consent=bool(i % 3),
            )
        )  # fmt: skip
    created = Account.objects.bulk_create(accounts, batch_size=2000)
    shown_passwords_store_bulk(items=[(a.pk, learner_password()) for a in created])
    return created


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--reveals", type=int, default=200)
    args = parser.parse_args()

    setup_test_environment()
    settings.DATABASES["default"]["TEST"]["NAME"] = "ump_pw_bench"
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    worker = None
    try:
        from django.test import Client

        from accounts.models import Account, Organisation, RoleGrant
        from passwords import services
        from passwords.models import GroupResetJob
        from printing import selectors
        from printing.csv_export import pupils_csv
        from printing.slips import Slip, slips_pdf
        from tests.celery_worker import _start

        school = Organisation.objects.create(
            kind=Organisation.Kind.SCHOOL, code="6814001", name="Ysgol Uwchradd Caerdydd", phase="secondary"
        )
        teacher = Account.objects.create(
            organisation=school, kind=Account.Kind.STAFF, legal_forename="Huw", legal_surname="Pritchard",
            display_name="H Pritchard", username="PritchardH", email="pritchardh@hwbcymru.net",
        )  # fmt: skip
        RoleGrant.objects.create(account=teacher, role=RoleGrant.Role.DIGITAL_CHAMPION, organisation=school)
        pupils = seed(school, 2000)
        rows = []

        # Group resets, end to end through Redis and a real worker process.
        worker = _start()
        for size, kind, group in ((30, "reg", "R000"), (250, "class", "C00")):
            members = services.group_members(organisation=school, group_kind=kind, group=group).count()
            assert members == size, (members, size)

            def run(kind=kind, group=group):
                job = services.group_reset_start(
                    actor=teacher, organisation=school, group_kind=kind, group=group
                )
                worker.wait_for(
                    lambda: GroupResetJob.objects.filter(
                        pk=job.pk, status=GroupResetJob.Status.DONE
                    ).exists(),
                    timeout=120,
                )
                return job

            elapsed, _job = timed(run)
            rows.append((f"group reset {size}, end to end (worker)", elapsed, 3.0 if size == 30 else None))
            job = services.group_reset_start(actor=teacher, organisation=school, group_kind=kind, group=group)
            worker.wait_for(lambda job=job: GroupResetJob.objects.get(pk=job.pk).is_finished, timeout=120)
        from ump.celery import app

        app.conf.task_always_eager = True
        for size, kind, group in ((30, "reg", "R001"), (250, "class", "C01")):
            elapsed, _ = timed(
                lambda kind=kind, group=group: services.group_reset_apply(
                    job_id=services.group_reset_start(
                        actor=teacher, organisation=school, group_kind=kind, group=group
                    ).pk
                )
            )
            rows.append((f"group reset {size}, in-process (draw + apply)", elapsed, None))

        # PDF slips.
        plain = [
            Slip(a.legal_forename, a.legal_surname, a.username, a.email, school.name, "Draenog358")
            for a in pupils
        ]
        for n, target in ((30, 0.1), (2000, 2.0)):
            elapsed, pdf = timed(lambda n=n: slips_pdf(plain[:n], with_passwords=True), repeat=3)
            rows.append((f"PDF {n} slips (dataclasses) [{len(pdf) // 1024} KiB]", elapsed, target))
            elapsed, pdf = timed(
                lambda n=n: slips_pdf(
                    selectors.slips_for(pupils[:n], with_passwords=True, language="en"), with_passwords=True
                ),
                repeat=3,
            )
            rows.append((f"PDF {n} slips (from the database, unsealed)", elapsed, target))

        # CSV.
        def csv_body():
            _ids, data = selectors.pupil_rows(school)
            return b"".join(pupils_csv(data))

        elapsed, body = timed(csv_body, repeat=3)
        rows.append((f"CSV All Pupils 2,000 [{len(body) // 1024} KiB]", elapsed, 0.5))

        # Reveal latency through the whole stack.
        client = Client()
        client.force_login(teacher, backend="accounts.backends.UsernameOrEmailBackend")
        latencies = []
        for i in range(args.reveals):
            pupil = pupils[i % len(pupils)]
            start = time.perf_counter()
            response = client.post(f"/users/account/{pupil.pk}/password/reveal/")
            latencies.append(time.perf_counter() - start)
            assert response.status_code == 200, response.status_code
        latencies.sort()
        rows.append((f"reveal median of {args.reveals}", statistics.median(latencies), None))
        rows.append((f"reveal p95 of {args.reveals}", latencies[int(0.95 * len(latencies)) - 1], None))

        print(f"\n{'benchmark':<52} {'seconds':>9}  target")
        for name, seconds, target in rows:
            verdict = (
                "" if target is None else (f"<= {target:g} s  {'ok' if seconds <= target else 'MISSED'}")
            )
            print(f"{name:<52} {seconds:>9.4f}  {verdict}")
    finally:
        if worker is not None:
            worker.stop()
        connection.creation.destroy_test_db("ump_pw_bench", verbosity=0)


if __name__ == "__main__":
    main()
