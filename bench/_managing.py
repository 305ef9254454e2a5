"""Shared set-up for the managing-users benchmarks: environment, a throwaway database and seed data."""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ump.settings")
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-0123456789abcdefghijklmnop")
os.environ.setdefault("UMP_SEAL_KEYS", "YmVuY2gtb25seS1zZWFsLWtleS0zMi1ieXRlcy0hISE=")
os.environ.setdefault("UMP_HASH_KEY", "bench-only-hash-key-0123456789abcdefghij")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/ump_mgmt")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/4")
os.environ.setdefault("AXES_ENABLED", "false")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

FORENAMES = [
    "Siân",
    "Llŷr",
    "Gwenllïan",
    "Ŵyn",
    "Dafydd",
    "Cerys",
    "Osian",
    "Elin",
    "Rhys",
    "Nia",
    "Iolo",
    "Mali",
]
SURNAMES = [
    "Jones",
    "Williams",
    "ap Rhys",
    "Hâf",
    "Evans",
    "Llwyd",
    "Prys",
    "Ŵatcyn",
    "Morgan",
    "Tomos",
    "Bowen",
    "Pritchard",
    "Gruffydd",
    "Huws",
    "Owen",
    "Parry",
    "Roberts",
    "Thomas",
    "Vaughan",
    "Wyn",
]


def test_database(name):
    """Create a fresh database for the run (dropped again by `drop`)."""
    setup_test_environment()
    settings.DATABASES["default"]["TEST"]["NAME"] = name
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)


def drop(name):
    connection.creation.destroy_test_db(name, verbosity=0)


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


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]
