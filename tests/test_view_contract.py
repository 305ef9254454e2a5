"""Every URL name keeps one contract (NetBox's ViewTestCases), checked for every view at once.

Anonymous people are sent to the sign-in page (the token API answers 401), another HTTP method is a 405,
the wrong role a 403 and another school's object a 404, while the person the table names is let in, and
a GET writes nothing.
CONTRACTS is keyed by URL name only (views may move between modules) and the names come from the URL
resolver, so a new view fails test_every_url_name_has_a_contract until it has a row. A cell that does not
apply says why: na("...").
"""

import base64
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from io import StringIO
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.models import WebAuthnCredential
from oauth2_provider.models import get_access_token_model, set_token_value

from accounts.models import Account, RoleGrant
from passwords.models import GroupResetJob
from passwords.services import password_reset
from provisioning.models import NameChangeNotice, ProvisioningRun
from sso.services import client_register
from tests.factories import AccountFactory, grant, staff

pytestmark = pytest.mark.django_db
AccessToken = get_access_token_model()

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
SIGN_IN = "the sign-in page"
ADMIN_SIGN_IN = "the admin's sign-in page"
REFUSALS = {401, 403, 404, 405}


@dataclass(frozen=True)
class NA:
    """A check that does not apply to this view, and why."""

    why: str


na = NA
NO_OBJECT = na("it names no object: nothing of another school's to ask for")


@dataclass(frozen=True)
class Call:
    """One request: the URL's arguments, the query string of a GET or the body of a POST, and headers."""

    kwargs: dict = field(default_factory=dict)
    params: dict = field(default_factory=dict)
    headers: dict = field(default_factory=dict)


Get = Callable[[str], Any]  # a fixture by name (request.getfixturevalue)
Builder = Callable[[Get], Call]


def plain(get: Get) -> Call:
    """The URL alone: no arguments, no parameters."""
    return Call()


@dataclass(frozen=True)
class Contract:
    """One view's row: each check's expectation, or na("why not")."""

    methods: tuple[str, ...]  # what the view answers; every other one of METHODS is a 405
    user: str | None | NA  # who the table lets in (a fixture); None: no session (public, or a token)
    call: Builder = plain  # what `user` asks for; the first of `methods`
    anonymous: str | int | NA = SIGN_IN  # the same call without a session (or token)
    wrong_role: tuple[str, Builder] | NA = NO_OBJECT  # this person asking this gets a 403
    other_school: Builder | NA = NO_OBJECT  # `user` asking for another school's object gets a 404
    wrong_method: NA | None = None  # None: the methods above are the whole story
    get_records: tuple[str, ...] = ()  # tables a GET may write to: bookkeeping, never what a person sees


def pk(fixture: str, **kwargs) -> Builder:
    return lambda get: Call(kwargs={"pk": get(fixture).pk, **kwargs})


def at(school: str, kwargs: dict | None = None, **params) -> Builder:
    """A call naming an organisation by code (`school` is an attribute of the `wales` fixture)."""
    return lambda get: Call(kwargs=kwargs or {}, params={"org": getattr(get("wales"), school).code, **params})


def in_group(school: str, kwargs: dict | None = None) -> Builder:
    """A call naming registration group 9A at a school; both schools have a learner in it."""

    def build(get):
        for fixture in ("secondary_learner", "other_learner"):  # made in 9A, one at each school
            get(fixture)
        return at(school, kwargs, **REG_9A)(get)

    return build


def bearer(run: str | None = None) -> Builder:
    def build(get):
        kwargs = {"pk": get(run).pk} if run else {}
        return Call(kwargs=kwargs, headers={"authorization": f"Bearer {get('school_token')}"})

    return build


def at_school(builder: Builder) -> Builder:
    """The same call from inside the secondary school's trusted network (where factors are set up)."""

    def build(get):
        school = get("wales").secondary
        school.trusted_networks = ["127.0.0.0/8"]
        school.save(update_fields=["trusted_networks"])
        return builder(get)

    return build


def pending_sign_in(get: Get) -> Call:
    """The session of someone whose password was right and who is asked for the second step."""
    session = get("client").session
    session["ump_mfa_pending"] = {
        "account": get("teacher").pk,
        "backend": "accounts.backends.UsernameOrEmailBackend",
        "next": "",
        "at": time.time(),
    }
    session.save()
    return Call()


def own(fixture: str, **kwargs) -> tuple[str, Builder]:
    """The person asking about their own account: visible to them, and not theirs to act on."""
    return fixture, pk(fixture, **kwargs)


LEARNERS, GOVERNORS = {"section": "learners"}, {"section": "governors"}
REG_9A = {"group_kind": GroupResetJob.GroupKind.REGISTRATION_GROUP, "group": "9A"}
ANY_ONE = na("anyone signed in may: there is no role to lack")
SEES_IS_ALL = na("seeing the account is its only permission, and one not seen is a 404 (checked below)")

CONTRACTS: dict[str, Contract] = {
    # accounts: signing in, home, profile, View Users
    "accounts:home": Contract(("GET",), "teacher", wrong_role=ANY_ONE),
    "accounts:login": Contract(
        ("GET", "POST"), None, anonymous=na("the sign-in page itself"), wrong_role=ANY_ONE
    ),
    "accounts:logout": Contract(("POST",), "teacher", wrong_role=ANY_ONE),
    "accounts:profile": Contract(("GET",), "teacher", wrong_role=ANY_ONE),
    "accounts:account_detail": Contract(
        ("GET",),
        "teacher",
        pk("secondary_learner"),
        wrong_role=SEES_IS_ALL,
        other_school=pk("other_learner"),
    ),
    "accounts:user_list": Contract(
        ("GET",),
        "teacher",
        at("secondary", LEARNERS),
        wrong_role=na("a section a person may not list has no organisations for them: a 404, never a 403"),
        other_school=at("other_school", LEARNERS),
    ),
    # accounts: managing users
    "accounts:manage_add_warning": Contract(
        ("GET",),
        "digital_champion",
        at("secondary", GOVERNORS),
        wrong_role=("teacher", at("secondary", LEARNERS)),
        other_school=at("other_school", GOVERNORS),
    ),
    "accounts:manage_add": Contract(
        ("GET", "POST"),
        "digital_champion",
        at("secondary", GOVERNORS),
        wrong_role=("teacher", at("secondary", LEARNERS)),
        other_school=at("other_school", GOVERNORS),
    ),
    "accounts:manage_add_generate": Contract(
        ("POST",),
        "digital_champion",
        at("secondary", {**GOVERNORS, "style": "learner"}),
        wrong_role=("teacher", at("secondary", {**LEARNERS, "style": "learner"})),
        other_school=at("other_school", {**GOVERNORS, "style": "random"}),
    ),
    "accounts:manage_expiring": Contract(("GET",), "digital_champion", wrong_role=("teacher", plain)),
    **{
        f"accounts:manage_{name}": Contract(
            methods,
            "digital_champion",
            pk("governor"),
            wrong_role=("teacher", pk("secondary_learner")),
            other_school=pk("other_governor"),
        )
        for name, methods in (
            ("keep", ("POST",)),
            ("close", ("POST",)),
            ("deactivate", ("GET", "POST")),
            ("activate", ("GET", "POST")),
            ("rename", ("GET", "POST")),
        )
    },
    "accounts:audit": Contract(("GET",), "digital_champion", wrong_role=("teacher", plain)),
    "accounts:audit_export": Contract(("POST",), "digital_champion", wrong_role=("teacher", plain)),
    # passwords
    "passwords:reveal": Contract(
        ("POST",),
        "teacher",
        pk("shown_learner"),
        wrong_role=own("secondary_learner"),
        other_school=pk("other_learner"),
    ),
    **{
        f"passwords:{name}": Contract(
            methods,
            "teacher",
            pk("secondary_learner"),
            wrong_role=own("secondary_learner"),
            other_school=pk("other_learner"),
        )
        for name, methods in (
            ("reset", ("GET",)),
            ("reset_chosen", ("POST",)),
        )
    },
    "passwords:own_password": Contract(("GET", "POST"), "teacher", wrong_role=("primary_learner", plain)),
    "passwords:group_reset": Contract(
        ("GET",),
        "teacher",
        at("secondary"),
        wrong_role=("ite_lead", at("secondary")),
        other_school=at("other_school"),
    ),
    "passwords:group_reset_confirm": Contract(
        ("GET", "POST"),
        "teacher",
        in_group("secondary"),
        wrong_role=("ite_lead", in_group("secondary")),
        other_school=in_group("other_school"),
    ),
    **{
        f"passwords:{name}": Contract(
            ("GET",),
            "teacher",
            pk("group_job"),
            wrong_role=("ite_lead", pk("group_job")),
            other_school=pk("other_group_job"),
        )
        for name in ("group_reset_job", "group_reset_status")
    },
    # printing
    "printing:account": Contract(
        ("POST",),
        "teacher",
        pk("secondary_learner", variant="details"),
        wrong_role=own("secondary_learner", variant="details"),
        other_school=pk("other_learner", variant="details"),
    ),
    "printing:group_choose": Contract(
        ("GET",),
        "teacher",
        at("secondary"),
        wrong_role=("ite_lead", at("secondary")),
        other_school=at("other_school"),
    ),
    "printing:group": Contract(
        ("POST",),
        "teacher",
        in_group("secondary", {"variant": "details"}),
        wrong_role=("ite_lead", in_group("secondary", {"variant": "details"})),
        other_school=in_group("other_school", {"variant": "details"}),
    ),
    "printing:selected": Contract(
        ("POST",),
        "teacher",
        lambda get: Call({"variant": "details"}, {"accounts": [get("secondary_learner").pk]}),
        wrong_role=(
            "secondary_learner",
            lambda get: Call({"variant": "details"}, {"accounts": [get("secondary_learner").pk]}),
        ),
        other_school=lambda get: Call({"variant": "details"}, {"accounts": [get("other_learner").pk]}),
    ),
    "printing:downloads": Contract(("GET",), "teacher", wrong_role=("secondary_learner", plain)),
    **{
        f"printing:{name}": Contract(
            methods,
            "teacher",
            at("secondary", {"slug": "pupils"}),
            wrong_role=("teacher", at("secondary", {"slug": "staff"})),
            other_school=at("other_school", {"slug": "pupils"}),
        )
        for name, methods in (("download_warning", ("GET",)), ("download", ("POST",)))
    },
    # provisioning: the page, and the Provisioning Client's API (a bearer token, no session)
    "provisioning:page": Contract(
        ("GET",),
        "digital_champion",
        wrong_role=("teacher", plain),
        other_school=at("other_school"),
    ),
    **{
        f"provisioning:{name}": Contract(
            methods,
            "digital_champion",
            pk(fixture),
            wrong_role=("teacher", pk(fixture)),
            other_school=pk(f"other_{fixture}"),
        )
        for name, methods, fixture in (
            ("run_detail", ("GET",), "held_run"),
            ("run_approve", ("GET", "POST"), "held_run"),
            ("run_reject", ("GET", "POST"), "held_run"),
            ("notice_accept", ("POST",), "notice"),
            ("notice_dismiss", ("POST",), "notice"),
        )
    },
    "provisioning:api_upload": Contract(
        ("POST",),
        None,
        bearer(),
        anonymous=401,
        wrong_role=na("a token stands for a school, not a person: a wrong token is a 401"),
    ),
    "provisioning:api_run": Contract(
        ("GET",),
        None,
        bearer("held_run"),
        anonymous=401,
        wrong_role=na("a token stands for a school, not a person: a wrong token is a 401"),
        other_school=bearer("other_held_run"),
        get_records=("provisioning_schooltoken",),  # when the token was last used
    ),
    # single sign-on: the OpenID Connect provider's endpoints, and the Connected services pages
    **{
        f"oauth2_provider:{name}": Contract(
            ("GET",),
            None,
            anonymous=na("public metadata that every relying party reads without signing in"),
            wrong_role=na("public metadata: there is no role to lack"),
        )
        for name in ("oidc-connect-discovery-info", "jwks-info")
    },
    "oauth2_provider:authorize": Contract(
        ("GET", "POST"),
        "teacher",
        lambda get: Call(params=oidc_authorization(get("oidc_client"))),
        wrong_role=ANY_ONE,
    ),
    **{
        f"oauth2_provider:{name}": Contract(
            ("POST",),
            None,
            anonymous=na("a client proves itself with its own credentials, never a session"),
            wrong_role=na("a client, not a person: wrong credentials are a 401"),
        )
        for name in ("token", "revoke-token")
    },
    "oauth2_provider:introspect": Contract(
        ("GET", "POST"),
        None,
        lambda get: Call(
            params={"token": get("oidc_access_token")},
            headers={"authorization": get("oidc_client_basic")},
        ),
        anonymous=403,
        wrong_role=na("a client, not a person: a client without credentials is refused (anonymous)"),
        wrong_method=na("django-oauth-toolkit checks the client's credentials before the method"),
    ),
    "oauth2_provider:user-info": Contract(
        ("GET", "POST"),
        None,
        lambda get: Call(headers={"authorization": f"Bearer {get('oidc_access_token')}"}),
        anonymous=401,
        wrong_role=na("a bearer token stands for one person's consent: a wrong token is a 401"),
    ),
    "oauth2_provider:rp-initiated-logout": Contract(
        ("GET", "POST"),
        "teacher",
        anonymous=na("logging out needs no sign-in"),
        wrong_role=ANY_ONE,
    ),
    "sso:clients": Contract(
        ("GET",),
        "national_admin",
        wrong_role=("la_admin", plain),
        other_school=na("connected services serve all of Wales: they belong to no school"),
    ),
    **{
        f"sso:{name}": Contract(
            ("GET", "POST"),
            "national_admin",
            pk("oidc_client"),
            wrong_role=("la_admin", pk("oidc_client")),
            other_school=na("connected services serve all of Wales: they belong to no school"),
        )
        for name in ("client_rotate", "client_disable")
    },
    # mfa: multi-factor sign-in
    "mfa:verify": Contract(
        ("GET", "POST"),
        None,
        anonymous=na(
            "the second step of signing in: nobody is signed in yet (without a pending sign-in it "
            "sends people to the sign-in page)"
        ),
        wrong_role=ANY_ONE,
    ),
    "mfa:setup_code": Contract(
        ("POST",),
        None,
        anonymous=na(
            "the second step of signing in: nobody is signed in yet (without a pending sign-in it "
            "sends people to the sign-in page)"
        ),
        wrong_role=ANY_ONE,
    ),
    "mfa:status": Contract(
        ("GET",), "digital_champion", wrong_role=("teacher", plain), other_school=at("other_school")
    ),
    **{
        f"mfa:{name}": Contract(
            methods,
            "digital_champion",
            pk("governor"),
            wrong_role=("teacher", pk("secondary_learner")),
            other_school=pk("other_governor"),
        )
        for name, methods in (
            ("switch", ("GET", "POST")),
            ("reset", ("GET", "POST")),
            ("setup_code_print", ("GET", "POST")),
        )
    },
    "mfa:passkey_register_begin": Contract(
        ("POST",),
        "teacher",
        at_school(plain),
        anonymous=403,  # a JSON endpoint of django-otp-webauthn's script: refused, not redirected
        wrong_role=("secondary_learner", at_school(plain)),
    ),
    "mfa:passkey_register_complete": Contract(
        ("POST",),
        "teacher",
        at_school(plain),
        anonymous=403,
        wrong_role=("secondary_learner", at_school(plain)),
    ),
    **{
        f"mfa:{name}": Contract(
            ("POST",),
            None,
            pending_sign_in,
            anonymous=na(
                "the second step of signing in: nobody is signed in yet (without a pending sign-in "
                "it answers 403: tests/mfa/test_passkeys.py)"
            ),
            wrong_role=ANY_ONE,
        )
        for name in ("passkey_sign_in_begin", "passkey_sign_in_complete")
    },
    "mfa:passkey_jsi18n": Contract(
        ("GET", "POST"),
        None,
        anonymous=na("the passkey script's translations: public"),
        wrong_role=ANY_ONE,
        wrong_method=na("Django's JavaScriptCatalog answers every method; it changes nothing"),
    ),
    "mfa:passkey_remove": Contract(
        ("GET", "POST"),
        "teacher",
        pk("passkey"),
        wrong_role=na("a factor is its owner's: anyone else's is a 404, never a 403"),
        other_school=pk("other_passkey"),
    ),
    "mfa:security": Contract(("GET",), "teacher", wrong_role=("secondary_learner", plain)),
    "mfa:totp_add": Contract(
        ("GET", "POST"), "teacher", at_school(plain), wrong_role=("secondary_learner", at_school(plain))
    ),
    "mfa:recovery_codes": Contract(
        ("GET", "POST"), "teacher", at_school(plain), wrong_role=("secondary_learner", at_school(plain))
    ),
    **{
        f"mfa:{name}": Contract(
            ("GET", "POST"),
            "teacher",
            at_school(pk(fixture)),
            wrong_role=na("a factor is its owner's: anyone else's is a 404, never a 403"),
            other_school=pk(f"other_{fixture}"),
        )
        for name, fixture in (("totp_confirm", "new_authenticator"), ("totp_remove", "authenticator"))
    },
    "mfa:networks": Contract(
        ("GET", "POST"),
        "digital_champion",
        wrong_role=("teacher", plain),
        other_school=at("other_school"),
    ),
    # Django's own views
    "set_language": Contract(
        METHODS,
        None,
        anonymous=na("choosing a language needs no sign-in"),
        wrong_role=ANY_ONE,
        wrong_method=na("Django's view answers every method with a redirect; only a POST changes anything"),
    ),
}
ADMIN_NAMES = {
    # Django's admin, for staff only, behind its own sign-in page; each page gets the same contract.
    "admin:login": na("the admin's sign-in page itself"),
    "admin:logout": na("signing out of the admin needs no sign-in (it is sent to the admin's index)"),
}
ADMIN = na("Django's admin: staff only, and Django decides its methods and objects")


def _url_names(patterns=None, namespace=""):
    """Every named URL, namespaced, with the names of its arguments."""
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _url_names(entry.url_patterns, inner)
        elif isinstance(entry, URLPattern) and entry.name:
            yield f"{namespace}{entry.name}", list(entry.pattern.regex.groupindex)


URL_ARGUMENTS = dict(_url_names())
NAMES = sorted(URL_ARGUMENTS)


def contract(name: str) -> Contract:
    if name in CONTRACTS:
        return CONTRACTS[name]
    if name.startswith("admin:"):
        # Any object id: the admin's sign-in check comes before it looks the object up.
        arguments = {arg: "accounts" if arg == "app_label" else "1" for arg in URL_ARGUMENTS[name]}
        return Contract(
            ("GET",),
            ADMIN,
            lambda get: Call(kwargs=arguments),
            anonymous=ADMIN_NAMES.get(name, ADMIN_SIGN_IN),
            wrong_role=ADMIN,
            other_school=ADMIN,
            wrong_method=ADMIN,
        )
    raise AssertionError(f"{name} has no row in CONTRACTS")


def names_where(check: str, *, get: bool = False) -> list[str]:
    """The URL names whose row applies `check`: a cell marked na(...) is not a test, and says why in the table."""
    return [
        name
        for name in NAMES
        if not isinstance(getattr(contract(name), check), NA) and (not get or "GET" in contract(name).methods)
    ]


def send(client, name: str, method: str, call: Call):
    url = reverse(name, kwargs=call.kwargs)
    if method == "GET":
        return client.get(url, call.params, headers=call.headers)
    if method == "POST":
        return client.post(url, call.params, headers=call.headers)
    return client.generic(method, url, headers=call.headers)


@pytest.fixture
def as_person(client, login, request):
    """A client signed in as the person a fixture names (None: nobody)."""
    return lambda person: client if person is None else login(request.getfixturevalue(person))


# ---------------------------------------------------------------- the people and objects the table names


@pytest.fixture
def ite_lead(wales):
    """The Digital Champion of an ITE lead school covering the secondary: sees it, may not act on learners."""
    account = staff(wales.other_school, legal_forename="Rhodri", legal_surname="Morgan")
    grant(account, RoleGrant.Role.ITE_LEAD, wales.secondary)
    return account


@pytest.fixture
def other_governor(wales):
    return AccountFactory(
        organisation=wales.other_school, kind=Account.Kind.GOVERNOR, source=Account.Source.MANUAL
    )


@pytest.fixture
def shown_learner(secondary_learner, teacher):
    password_reset(account=secondary_learner, actor=teacher)
    return secondary_learner


@pytest.fixture
def new_authenticator(teacher):
    return TOTPDevice.objects.create(user=teacher, name="phone", confirmed=False)


@pytest.fixture
def other_new_authenticator(other_teacher):
    return TOTPDevice.objects.create(user=other_teacher, name="phone", confirmed=False)


@pytest.fixture
def authenticator(teacher):
    return TOTPDevice.objects.create(user=teacher, name="phone", confirmed=True)


@pytest.fixture
def other_authenticator(other_teacher):
    return TOTPDevice.objects.create(user=other_teacher, name="phone", confirmed=True)


@pytest.fixture
def passkey(teacher):
    return WebAuthnCredential.objects.create(
        user=teacher, name="key", confirmed=True, credential_id=b"one", public_key=b"k", sign_count=0
    )


@pytest.fixture
def other_passkey(other_teacher):
    return WebAuthnCredential.objects.create(
        user=other_teacher, name="key", confirmed=True, credential_id=b"two", public_key=b"k", sign_count=0
    )


@pytest.fixture
def held_run(wales):
    return ProvisioningRun.objects.create(organisation=wales.secondary, status=ProvisioningRun.Status.HELD)


@pytest.fixture
def other_held_run(wales):
    return ProvisioningRun.objects.create(organisation=wales.other_school, status=ProvisioningRun.Status.HELD)


@pytest.fixture
def notice(wales, secondary_learner):
    return NameChangeNotice.objects.create(
        account=secondary_learner, organisation=wales.secondary, mis_forename="Llŷr", mis_surname="Bryn"
    )


@pytest.fixture
def other_notice(wales, other_learner):
    return NameChangeNotice.objects.create(
        account=other_learner, organisation=wales.other_school, mis_forename="Siân", mis_surname="Lewis"
    )


@pytest.fixture
def group_job(wales, teacher):
    return GroupResetJob.objects.create(organisation=wales.secondary, requested_by=teacher, **REG_9A)


@pytest.fixture
def other_group_job(wales, other_teacher):
    return GroupResetJob.objects.create(organisation=wales.other_school, requested_by=other_teacher, **REG_9A)


@pytest.fixture
def oidc_registered(db):
    return client_register(name="Moodle", redirect_uris=["https://moodle.example.org/cb"])


@pytest.fixture
def oidc_client(oidc_registered):
    return oidc_registered.client


@pytest.fixture
def oidc_client_basic(oidc_registered):
    pair = f"{oidc_registered.client.client_id}:{oidc_registered.secret}".encode()
    return f"Basic {base64.b64encode(pair).decode()}"


@pytest.fixture
def oidc_access_token(oidc_client, teacher):
    """A live access token of the teacher's, given to the client (stored as its checksum, like every one)."""
    value = "contract-access-token"
    token = AccessToken(
        user=teacher, application=oidc_client, scope="openid", expires=timezone.now() + timedelta(minutes=5)
    )
    set_token_value(token, value)
    token.save()
    return value


def oidc_authorization(client) -> dict:
    """A valid authorization request of `client`, with PKCE."""
    return {
        "response_type": "code",
        "client_id": client.client_id,
        "redirect_uri": client.redirect_uris,
        "scope": "openid",
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256",
    }


@pytest.fixture
def school_token(wales):
    out = StringIO()
    call_command("provisioning_token", wales.secondary.code, stdout=out)
    return out.getvalue().strip()


# ---------------------------------------------------------------- the checks


def test_every_url_name_has_a_contract():
    missing = [name for name in NAMES if name not in CONTRACTS and not name.startswith("admin:")]
    assert not missing, f"add a row to CONTRACTS for {missing}"
    stale = sorted(set(CONTRACTS) - set(NAMES))
    assert not stale, f"CONTRACTS names URLs that no longer exist: {stale}"


@pytest.mark.parametrize("name", names_where("anonymous"))
def test_anonymous_people_are_sent_to_sign_in(name, client, request):
    rules = contract(name)
    call = replace(rules.call(request.getfixturevalue), headers={})  # no session, and no token either
    response = send(client, name, rules.methods[0], call)
    if isinstance(rules.anonymous, int):
        assert response.status_code == rules.anonymous
        return
    sign_in = reverse("admin:login" if rules.anonymous == ADMIN_SIGN_IN else "accounts:login")
    assert response.status_code == 302, f"{name}: {response.status_code}, not a redirect to {rules.anonymous}"
    assert urlsplit(response.url).path == sign_in


@pytest.mark.parametrize("name", names_where("user"))
def test_the_person_the_table_names_is_let_in(name, as_person, request):
    rules = contract(name)
    response = send(as_person(rules.user), name, rules.methods[0], rules.call(request.getfixturevalue))
    assert response.status_code not in REFUSALS, f"{name} refused {rules.user}: {response.status_code}"


@pytest.mark.parametrize("name", names_where("wrong_method"))
def test_any_other_method_is_405(name, as_person, request):
    rules = contract(name)
    client = as_person(rules.user)
    call = rules.call(request.getfixturevalue)
    answers = {method: send(client, name, method, call).status_code for method in METHODS}
    assert {m for m, status in answers.items() if status != 405} == set(rules.methods), answers


@pytest.mark.parametrize("name", names_where("wrong_role"))
def test_the_wrong_role_is_403(name, as_person, request):
    rules = contract(name)
    person, build = rules.wrong_role
    response = send(as_person(person), name, rules.methods[0], build(request.getfixturevalue))
    assert response.status_code == 403


@pytest.mark.parametrize("name", names_where("other_school"))
def test_another_schools_object_is_404(name, as_person, request):
    rules = contract(name)
    response = send(
        as_person(rules.user), name, rules.methods[0], rules.other_school(request.getfixturevalue)
    )
    assert response.status_code == 404


@pytest.mark.parametrize("name", names_where("user", get=True))
def test_a_get_changes_nothing(name, as_person, request):
    rules = contract(name)
    client = as_person(rules.user)
    call = rules.call(request.getfixturevalue)
    with CaptureQueriesContext(connection) as queries:
        send(client, name, "GET", call)
    writes = [
        query["sql"]
        for query in queries.captured_queries
        if query["sql"].split(None, 1)[0].upper() in ("INSERT", "UPDATE", "DELETE")
        and not any(f'"{table}"' in query["sql"] for table in rules.get_records)
    ]
    assert not writes, f"a GET of {name} wrote: {writes}"
