"""Shared set-up for the managing-users benchmarks: a school with a Digital Champion and its learners."""

import os
from urllib.parse import urlsplit

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/ump_mgmt")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/4")

from _common import FORENAMES, SURNAMES, drop, percentile, test_database  # noqa: E402

__all__ = ["bench_database", "drop", "percentile", "school_with_champion", "seed_learners", "test_database"]


def bench_database(purpose):
    """The throwaway database's name: DATABASE_URL's database name, then `_bench_<purpose>`.

    Two people running the same benchmark with their own DATABASE_URL then never drop each other's database.
    """
    return f"{urlsplit(os.environ['DATABASE_URL']).path.lstrip('/')}_bench_{purpose}"


def school_with_champion():
    from accounts.models import Account, Organisation, RoleGrant
    from accounts.usernames import username_allocate, usernames_bind

    la = Organisation.objects.create(kind=Organisation.Kind.LOCAL_AUTHORITY, code="681", name="Cardiff")
    school = Organisation.objects.create(
        kind=Organisation.Kind.SCHOOL,
        code="6814001",
        name="Ysgol Uwchradd Caerdydd",
        phase="secondary",
        parent=la,
    )
    username = username_allocate(forename="Gwenllïan", surname="ap Rhys")
    champion = Account.objects.create(
        organisation=school, kind=Account.Kind.STAFF, legal_forename="Gwenllïan", legal_surname="ap Rhys",
        display_name="G ap Rhys", username=username, email=f"{username.lower()}@hwbcymru.net",
    )  # fmt: skip
    usernames_bind([champion])
    RoleGrant.objects.create(account=champion, role=RoleGrant.Role.DIGITAL_CHAMPION, organisation=school)
    return school, champion


def seed_learners(school, n):
    from accounts.models import Account
    from accounts.usernames import usernames_allocate_bulk, usernames_bind
    from passwords.generators import learner_password
    from passwords.services import shown_passwords_store_bulk

    names = [(FORENAMES[i % len(FORENAMES)], SURNAMES[(i * 7) % len(SURNAMES)]) for i in range(n)]
    usernames = usernames_allocate_bulk(names)
    accounts = [
        Account(
            organisation=school, kind=Account.Kind.LEARNER, source=Account.Source.MIS, legal_forename=forename,
            legal_surname=surname, display_name=f"{forename} {surname[0]}", username=username,
            email=f"{username.lower()}@hwbcymru.net", password="!unusable", year_group=str(7 + i % 5),
            registration_group=f"R{i // 30:03d}", classes=[f"C{i // 250:02d}"], admission_number=f"{i:06d}",
            status=Account.Status.DEACTIVATED if i % 25 == 0 else Account.Status.ACTIVE,
        )
        for i, ((forename, surname), username) in enumerate(zip(names, usernames, strict=True))
    ]  # fmt: skip
    created = Account.objects.bulk_create(accounts, batch_size=2000)
    usernames_bind(created)
    shown_passwords_store_bulk(items=[(a.pk, learner_password()) for a in created])
    return created
