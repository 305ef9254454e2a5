"""What every benchmark shares: the environment, Django set-up, names, a throwaway database and statistics.

Each script takes DATABASE_URL and REDIS_URL from the environment (defaults: the local servers) and works in a
database of its own that it drops at the end.
"""

import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ump.settings")
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-0123456789abcdefghijklmnop")
os.environ.setdefault("UMP_SEAL_KEYS", "YmVuY2gtb25seS1zZWFsLWtleS0zMi1ieXRlcy0hISE=")
os.environ.setdefault("UMP_HASH_KEY", "bench-only-hash-key-0123456789abcdefghij")
os.environ.setdefault("UMP_OIDC_ENABLED", "false")  # the benchmarks sign nobody in to other services
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/ump")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")
os.environ.setdefault("AXES_ENABLED", "false")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402

# Static file names as they are in static/: a fresh clone has run no collectstatic, so the manifest storage
# (DEBUG off) would have no manifest to look names up in. The pages render the same either way.
settings.STORAGES = {
    **settings.STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
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


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


def timed(fn, repeat=1):
    """Best wall time of `repeat` calls, and the last result."""
    best = result = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        elapsed = time.perf_counter() - start
        best = elapsed if best is None else min(best, elapsed)
    return best, result
