"""factory_boy factories and the named demo people the tests talk about."""

import itertools

import factory
from django.contrib.auth.hashers import make_password

from accounts.models import Account, Organisation, RoleGrant
from accounts.services import display_name_for, email_for
from accounts.usernames import username_allocate, usernames_bind

DEMO_PASSWORD = "CroesoHwb2026"
_counter = itertools.count(1)
# Hashing once keeps fixtures fast while still going through the real (argon2id) hasher.
_HASHES = {}


def hashed(password):
    if password not in _HASHES:
        _HASHES[password] = make_password(password)
    return _HASHES[password]


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation
        django_get_or_create = ("code",)

    kind = Organisation.Kind.SCHOOL
    code = factory.Sequence(lambda n: f"6{n % 100:02d}{4000 + n:04d}")
    name = factory.Sequence(lambda n: f"School {n}")
    name_cy = factory.Sequence(lambda n: f"Ysgol {n}")
    phase = Organisation.Phase.SECONDARY


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account
        skip_postgeneration_save = True

    kind = Account.Kind.LEARNER
    source = Account.Source.MIS
    organisation = factory.SubFactory(OrganisationFactory)
    legal_forename = factory.Iterator(["Siân", "Llŷr", "Gwenllïan", "Ŵyn", "Dafydd", "Cerys", "Osian"])
    legal_surname = factory.Iterator(["Jones", "O'Brien", "ap Rhys", "Jones-Williams", "Hâf", "Evans"])
    status = Account.Status.ACTIVE
    display_name = factory.LazyAttribute(
        lambda o: display_name_for(o.kind, o.legal_forename, o.legal_surname)
    )
    username = factory.LazyAttribute(
        lambda o: username_allocate(forename=o.legal_forename, surname=o.legal_surname)
    )
    email = factory.LazyAttribute(lambda o: email_for(o.username))
    password = factory.LazyFunction(lambda: hashed(DEMO_PASSWORD))

    @factory.post_generation
    def bind_username(obj, create, extracted, **kwargs):
        if create:
            usernames_bind([obj])


def learner(organisation, **kwargs):
    n = next(_counter)
    defaults = {
        "kind": Account.Kind.LEARNER,
        "year_group": "9",
        "registration_group": "9A",
        "admission_number": f"{n:06d}",
        "classes": ["9Ma1"],
    }
    defaults.update(kwargs)
    return AccountFactory(organisation=organisation, **defaults)


def staff(organisation, **kwargs):
    n = next(_counter)
    defaults = {"kind": Account.Kind.STAFF, "staff_code": f"T{n:03d}"}
    defaults.update(kwargs)
    return AccountFactory(organisation=organisation, **defaults)


def grant(account, role, organisation):
    return RoleGrant.objects.create(account=account, role=role, organisation=organisation)
