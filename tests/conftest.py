"""Shared fixtures: a small Wales and the named people the tests talk about; the SQLite run's selection."""

import uuid
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.db import connection
from django.utils import translation

from accounts import selectors
from accounts.models import SUPPLY_TEACHER_ROLE, Account, Organisation, RoleGrant
from accounts.services import today
from tests.factories import AccountFactory, OrganisationFactory, grant, learner, staff
from ump.celery import app as celery_app

pytest_plugins = ["tests.celery_worker"]

K = Account.Kind
TESTS = Path(__file__).resolve().parent
# The demo runs on SQLite (README), where the apps' fast paths take their SQLite twins: scripts/test runs
# these folders a second time there. The rest of the suite (browser journeys, quality gates, the catalogue)
# needs the real services or no database, and runs once, on PostgreSQL.
SCHOOL_NETWORKS = ["127.0.0.0/8", "::1/128", "10.0.0.0/8"]
SQLITE_SUITES = {"accounts", "managing", "mfa", "passwords", "printing", "provisioning", "sso"}


def pytest_collection_modifyitems(config, items):
    """Off PostgreSQL: deselect what is not in SQLITE_SUITES and skip tests marked postgres_only(reason=...)."""
    on_postgres = connection.vendor == "postgresql"
    kept, deselected = [], []
    for item in items:
        marker = item.get_closest_marker("postgres_only")
        reason = marker and (marker.kwargs.get("reason") or (marker.args[:1] or [""])[0])
        if marker and not reason:
            raise pytest.UsageError(f"{item.nodeid}: postgres_only needs a reason")
        if on_postgres:
            continue
        if not item.path.is_relative_to(TESTS) or item.path.relative_to(TESTS).parts[0] not in SQLITE_SUITES:
            deselected.append(item)
            continue
        if marker:
            item.add_marker(pytest.mark.skip(reason=f"PostgreSQL only: {reason}"))
        kept.append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept


@pytest.fixture(autouse=True)
def eager_celery():
    """Tasks run in-process, as with no broker configured, unless a test starts a real worker."""
    saved = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = saved


@pytest.fixture(autouse=True)
def filter_choices_of_this_test(monkeypatch):
    """View Learners' cached filters under a key of this test's own: test databases reuse organisation ids, and a
    cache shared by every test would show one test's groups to the next."""
    monkeypatch.setattr(selectors, "FILTER_CHOICES_KEY", f"ump:filter-choices:{uuid.uuid4().hex}")


@pytest.fixture(autouse=True)
def english_afterwards():
    """A Welsh request leaves Welsh active in this thread; later tests expect the default language."""
    yield
    translation.activate("en")


@pytest.fixture
def wales(db):
    """National -> consortium -> LA 681 -> a primary and a secondary school; LA 660 with another school."""
    national = OrganisationFactory(code="NATIONAL", kind=Organisation.Kind.NATIONAL, name="Hwb", phase="")
    consortium = OrganisationFactory(
        code="CSC", kind=Organisation.Kind.CONSORTIUM, name="Central South", phase=""
    )
    la = OrganisationFactory(
        code="681", kind=Organisation.Kind.LOCAL_AUTHORITY, name="Cardiff", parent=consortium, phase=""
    )
    other_consortium = OrganisationFactory(
        code="GWE", kind=Organisation.Kind.CONSORTIUM, name="GwE", phase=""
    )
    other_la = OrganisationFactory(
        code="660", kind=Organisation.Kind.LOCAL_AUTHORITY, name="Anglesey", parent=other_consortium, phase=""
    )
    # As in the demo, the schools' own network holds the test client's address (127.0.0.1) and the private range
    # the sign-in tests use, so their staff sign in with a password as they always have; tests of the second
    # step sign in from elsewhere (tests/mfa).
    school_networks = {"trusted_networks": SCHOOL_NETWORKS}
    primary = OrganisationFactory(
        code="6812001",
        name="Ysgol Gynradd Llanaber",
        phase=Organisation.Phase.PRIMARY,
        parent=la,
        **school_networks,
    )
    secondary = OrganisationFactory(
        code="6814001",
        name="Ysgol Uwchradd Caerdydd",
        phase=Organisation.Phase.SECONDARY,
        parent=la,
        **school_networks,
    )
    other_school = OrganisationFactory(
        code="6604002",
        name="Ysgol David Hughes",
        phase=Organisation.Phase.SECONDARY,
        parent=other_la,
        **school_networks,
    )
    return SimpleNamespace(
        national=national,
        consortium=consortium,
        la=la,
        primary=primary,
        secondary=secondary,
        other_la=other_la,
        other_consortium=other_consortium,
        other_school=other_school,
    )


@pytest.fixture
def digital_champion(wales):
    account = staff(wales.secondary, legal_forename="Gwenllïan", legal_surname="ap Rhys")
    grant(account, RoleGrant.Role.DIGITAL_CHAMPION, wales.secondary)
    return account


@pytest.fixture
def teacher(wales):
    return staff(wales.secondary, legal_forename="Huw", legal_surname="Pritchard")


@pytest.fixture
def other_teacher(wales):
    return staff(wales.other_school, legal_forename="Eirlys", legal_surname="Bowen")


@pytest.fixture
def primary_teacher(wales):
    return staff(wales.primary, legal_forename="Sioned", legal_surname="Wyn")


@pytest.fixture
def primary_learner(wales):
    return learner(
        wales.primary,
        legal_forename="Ŵyn",
        legal_surname="Jones-Williams",
        year_group="4",
        registration_group="4A",
        classes=["4Ma1"],
    )


@pytest.fixture
def secondary_learner(wales):
    return learner(wales.secondary, legal_forename="Llŷr", legal_surname="O'Brien")


@pytest.fixture
def other_learner(wales):
    return learner(wales.other_school, legal_forename="Siân", legal_surname="Parry")


@pytest.fixture
def governor(wales):
    return AccountFactory(
        organisation=wales.secondary,
        kind=K.GOVERNOR,
        source=Account.Source.MANUAL,
        legal_forename="Alun",
        legal_surname="Tudur",
    )


@pytest.fixture
def supply_teacher(wales):
    """A school non-MIS user of type supply teacher: school staff for the school's learners."""
    return AccountFactory(
        organisation=wales.secondary,
        kind=K.SCHOOL_NON_MIS,
        source=Account.Source.MANUAL,
        staff_role=SUPPLY_TEACHER_ROLE,
        legal_forename="Dyfrig",
        legal_surname="Morgan",
        expires_on=today() + timedelta(days=60),
    )


@pytest.fixture
def service_account(wales):
    return AccountFactory(
        organisation=wales.secondary,
        kind=K.SERVICE,
        source=Account.Source.MANUAL,
        legal_forename="Argraffydd",
        legal_surname="Llyfrgell",
        expires_on=today() + timedelta(days=60),
    )


@pytest.fixture
def la_admin(wales):
    account = AccountFactory(
        organisation=wales.la,
        kind=K.LA_NON_MIS,
        source=Account.Source.MANUAL,
        legal_forename="Bethan",
        legal_surname="Llwyd",
    )
    grant(account, RoleGrant.Role.HWB_ADMIN, wales.la)
    return account


@pytest.fixture
def consortium_admin(wales):
    account = AccountFactory(
        organisation=wales.consortium,
        kind=K.CONSORTIUM_NON_MIS,
        source=Account.Source.MANUAL,
        legal_forename="Rhian",
        legal_surname="Gwyn",
    )
    grant(account, RoleGrant.Role.HWB_ADMIN, wales.consortium)
    return account


@pytest.fixture
def national_admin(wales):
    account = AccountFactory(
        organisation=wales.national,
        kind=K.LA_NON_MIS,
        source=Account.Source.MANUAL,
        legal_forename="Ifan",
        legal_surname="Cadwaladr",
    )
    grant(account, RoleGrant.Role.HWB_ADMIN, wales.national)
    return account


@pytest.fixture
def login(client):
    """Sign a client in as someone without going through the form (the form has its own tests)."""

    def _login(account):
        client.force_login(account, backend="accounts.backends.UsernameOrEmailBackend")
        return client

    return _login
