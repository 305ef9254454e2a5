#!/usr/bin/env python
"""The spraying guard's figures: what one address may try in an hour, and that a class is never held up.

Drives accounts.guard (the same calls the sign-in view makes before and after each password) on a simulated
clock, so a day of attempts takes seconds; passwords are not hashed (the guard never sees them).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ump_mfa .venv/bin/python bench/signin_spraying.py

Scenarios: a sprayer trying one password against every learner as fast as it is let (one a second), for a
day; the audit's pattern, 9 passwords against each of 30 learners; a class of 30 with three typos each, all
typed before anyone gets in; six lessons a day of such classes from one school address.
"""

from datetime import timedelta
from types import SimpleNamespace

from _common import drop, test_database

DB = "ump_mfa_bench_spraying"


def main():
    test_database(DB)
    try:
        from django.conf import settings
        from django.test import RequestFactory
        from django.utils import timezone

        from accounts import guard

        clock = SimpleNamespace(now=timezone.now())
        timezone.now = lambda: clock.now
        factory = RequestFactory()

        def request(ip):
            return factory.post("/login/", REMOTE_ADDR=ip)

        print(
            f"settings: window {settings.UMP_SIGNIN_WINDOW_MINUTES} min; slowed from "
            f"{settings.UMP_SIGNIN_SLOW_ACCOUNTS} accounts or {settings.UMP_SIGNIN_SLOW_FAILURES} failures "
            f"(one attempt per {settings.UMP_SIGNIN_SLOW_SECONDS} s); held from "
            f"{settings.UMP_SIGNIN_HOLD_ACCOUNTS} accounts or {settings.UMP_SIGNIN_HOLD_FAILURES} failures"
        )

        # 1. One password against every learner, one attempt a second whenever the guard lets one through.
        start, ip = clock.now, "198.51.100.1"
        checked, first_slowed, first_held, per_hour = 0, None, None, [0] * 24
        target = 0
        while clock.now < start + timedelta(hours=24):
            verdict = guard.address_check(request(ip))
            if verdict.allowed:
                guard.address_failure_record(request=request(ip), identifier=f"learner{target}")
                target += 1
                checked += 1
                per_hour[int((clock.now - start).total_seconds() // 3600)] += 1
                clock.now += timedelta(seconds=1)
            else:
                if not verdict.held and first_slowed is None:
                    first_slowed = (checked, clock.now - start)
                if verdict.held and first_held is None:
                    first_held = (checked, clock.now - start)
                clock.now += timedelta(seconds=verdict.retry_after)
        print("\n1. one password against every learner, as fast as allowed, for 24 hours:")
        print(f"   attempts before it was slowed: {first_slowed[0]} (after {first_slowed[1]})")
        print(f"   attempts before it was held:   {first_held[0]} (after {first_held[1]})")
        print(
            f"   attempts checked in hour 1: {per_hour[0]}; in each later hour: {min(per_hour[1:])}-{max(per_hour[1:])}"
        )
        print(f"   in 24 hours: {checked} (without the guard, at one a second: 86,400)")

        # 2. The audit: 270 wrong passwords over 30 learners from one address, as fast as allowed.
        clock.now += timedelta(days=1)
        start, ip, done, checked = clock.now, "198.51.100.2", 0, 0
        while done < 270:
            verdict = guard.address_check(request(ip))
            if verdict.allowed:
                guard.address_failure_record(request=request(ip), account=SimpleNamespace(pk=done % 30))
                done += 1
                checked += 1
                clock.now += timedelta(seconds=1)
            else:
                if verdict.held:
                    break
                clock.now += timedelta(seconds=verdict.retry_after)
        print("\n2. the audit's 270 wrong passwords over 30 learners:")
        print(
            f"   checked before being held: {checked} of 270, over {clock.now - start}; "
            f"the rest refused until failures leave the {settings.UMP_SIGNIN_WINDOW_MINUTES}-minute window"
        )

        # 3. A class of 30, three typos each, every typo before anyone gets in (the worst order).
        clock.now += timedelta(days=1)
        ip, refused = "192.0.2.10", 0
        for _typo in range(3):
            for child in range(30):
                refused += not guard.address_check(request(ip)).allowed
                guard.address_failure_record(request=request(ip), account=SimpleNamespace(pk=child))
                clock.now += timedelta(seconds=2)
        for child in range(30):
            refused += not guard.address_check(request(ip)).allowed
            guard.address_success_record(request=request(ip), account=SimpleNamespace(pk=child))
            clock.now += timedelta(seconds=2)
        print(
            f"\n3. a class of 30, three typos each before anyone gets in: {refused} attempts refused or slowed"
        )

        # 4. Six lessons a day, each a class of 30 (180 learners), each child 0-3 typos then in, 5 days.
        refused = attempts = 0
        for day in range(5):
            for lesson in range(6):
                for child in range(30):
                    pk = 1000 + lesson * 30 + child
                    for _typo in range((child + day) % 4):
                        attempts += 1
                        refused += not guard.address_check(request(ip)).allowed
                        guard.address_failure_record(request=request(ip), account=SimpleNamespace(pk=pk))
                        clock.now += timedelta(seconds=3)
                    attempts += 1
                    refused += not guard.address_check(request(ip)).allowed
                    guard.address_success_record(request=request(ip), account=SimpleNamespace(pk=pk))
                    clock.now += timedelta(seconds=3)
                clock.now += timedelta(minutes=50)
            clock.now += timedelta(hours=16)
        print(f"4. a school week, six classes of 30 a day: {attempts} attempts, {refused} refused or slowed")
    finally:
        drop(DB)


if __name__ == "__main__":
    main()
