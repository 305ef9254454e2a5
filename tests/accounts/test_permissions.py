"""The whole permission table, walked: every role x action x account kind, own school and another school.

EXPECTED below is written from the product rules in the issue, independently of accounts.permissions.TABLE,
so a change to the table that breaks a rule fails here.
"""

import pytest
from django.core.exceptions import PermissionDenied

from accounts.models import Account, Organisation, RoleGrant
from accounts.permissions import (
    ORG_TABLE,
    TABLE,
    Action,
    Scope,
    can,
    is_hwb_admin,
    organisation_ids_for,
    organisations_for,
    require,
    role_orgs,
)
from tests.factories import AccountFactory, grant, learner, staff

K = Account.Kind
A = Action
SCHOOL_NON_MIS_KINDS = {K.GOVERNOR, K.SCHOOL_NON_MIS, K.SERVICE}
ALL = set(K)

# action -> actor role -> the account kinds (in the actor's scope) that role may act on. Least privilege: an LA
# admin's grant covers the LA's own accounts (LA non-MIS users), not its schools' and not the consortium
# above it; a consortium admin's covers the consortium's own accounts, not its LAs' or their schools'.
STAFF_ROLES = ("teacher", "digital_champion", "la_admin", "consortium_admin", "national_admin")
# School non-MIS users who sign in at the school: a supply teacher is school staff (the help: ANY school staff
# user may reset a learner's password); a governor and a service account have no powers over anyone.
SCHOOL_STAFF_ALIKE = ("supply_teacher",)
POWERLESS = ("governor", "service")
OWN_ORGANISATION_USERS = {
    "la_admin": {K.LA_NON_MIS},
    "consortium_admin": {K.CONSORTIUM_NON_MIS},
}
EXPECTED = {
    A.VIEW: {
        "teacher": {K.LEARNER},
        "digital_champion": ALL - {K.LA_NON_MIS, K.CONSORTIUM_NON_MIS},
        **OWN_ORGANISATION_USERS,
        "national_admin": ALL,
    },
    A.RESET_PASSWORD: {
        "teacher": {K.LEARNER},
        "digital_champion": ALL - {K.LA_NON_MIS, K.CONSORTIUM_NON_MIS},
        **OWN_ORGANISATION_USERS,
        "national_admin": ALL,
    },
    A.PRINT_DETAILS: {
        "teacher": {K.LEARNER},
        "digital_champion": ALL - {K.LA_NON_MIS, K.CONSORTIUM_NON_MIS},
        **OWN_ORGANISATION_USERS,
        "national_admin": ALL,
    },
    A.CREATE_ACCOUNT: {
        "teacher": set(),
        "digital_champion": SCHOOL_NON_MIS_KINDS | {K.ITE_STUDENT},
        **OWN_ORGANISATION_USERS,
        "national_admin": SCHOOL_NON_MIS_KINDS | {K.ITE_STUDENT, K.LA_NON_MIS, K.CONSORTIUM_NON_MIS},
    },
    A.DEACTIVATE: {
        "teacher": set(),
        "digital_champion": SCHOOL_NON_MIS_KINDS | {K.ITE_STUDENT},
        **OWN_ORGANISATION_USERS,
        "national_admin": SCHOOL_NON_MIS_KINDS | {K.ITE_STUDENT, K.LA_NON_MIS, K.CONSORTIUM_NON_MIS},
    },
    A.RENAME: {
        "teacher": set(),
        "digital_champion": ALL - {K.LA_NON_MIS, K.CONSORTIUM_NON_MIS},
        **OWN_ORGANISATION_USERS,
        "national_admin": ALL,
    },
}
# Rules that are the same as another's in the product text.
EXPECTED[A.SHOW_PASSWORD] = EXPECTED[A.RESET_PASSWORD]
EXPECTED[A.PRINT_WITH_PASSWORD] = EXPECTED[A.PRINT_DETAILS]
EXPECTED[A.REACTIVATE] = EXPECTED[A.DEACTIVATE]
EXPECTED[A.REACTIVATE_EXPIRED] = EXPECTED[A.DEACTIVATE]
EXPECTED[A.MANAGE_EXPIRING] = EXPECTED[A.DEACTIVATE]
# Multi-factor sign-in: every non-learner a role reaches; learners never use it.
EXPECTED[A.MFA_TOGGLE] = {
    "teacher": set(),
    "digital_champion": ALL - {K.LEARNER, K.LA_NON_MIS, K.CONSORTIUM_NON_MIS},
    **OWN_ORGANISATION_USERS,
    "national_admin": ALL - {K.LEARNER},
}
EXPECTED[A.MFA_RESET] = EXPECTED[A.MFA_TOGGLE]
EXPECTED[A.MFA_SETUP_CODE] = EXPECTED[A.MFA_TOGGLE]
for _rules in EXPECTED.values():
    _rules.update(dict.fromkeys(SCHOOL_STAFF_ALIKE, _rules["teacher"]))
    _rules.update(dict.fromkeys(POWERLESS, set()))
ORG_EXPECTED = {
    # action, kind of the scope -> roles, at a school: no LA or consortium admin holds a role there
    (A.DOWNLOAD_PUPILS_CSV, K.LEARNER): {"teacher", "supply_teacher", "digital_champion", "national_admin"},
    (A.DOWNLOAD_STAFF_CSV, K.STAFF): {"digital_champion", "national_admin"},
    (A.PRINT_GROUP, K.LEARNER): {"teacher", "supply_teacher", "digital_champion", "national_admin"},
    (A.RESET_GROUP, K.LEARNER): {"teacher", "supply_teacher", "digital_champion", "national_admin"},
    (A.CREATE_ACCOUNT, K.LEARNER): set(),
    (A.CREATE_ACCOUNT, K.STAFF): set(),
    (A.CREATE_ACCOUNT, K.GOVERNOR): {"digital_champion", "national_admin"},
    (A.VIEW_AUDIT, "*"): {"digital_champion", "national_admin"},
    (A.MANAGE_PROVISIONING, "*"): {"digital_champion", "national_admin"},
    (A.MANAGE_SSO_CLIENTS, "*"): {"national_admin"},
    (A.VIEW_MFA_STATUS, "*"): {"digital_champion", "national_admin"},
    (A.MANAGE_TRUSTED_NETWORKS, "*"): {"digital_champion", "national_admin"},
}


@pytest.fixture
def people(
    wales,
    digital_champion,
    teacher,
    supply_teacher,
    governor,
    service_account,
    la_admin,
    consortium_admin,
    national_admin,
):
    return {
        "teacher": teacher,
        "supply_teacher": supply_teacher,
        "governor": governor,
        "service": service_account,
        "digital_champion": digital_champion,
        "la_admin": la_admin,
        "consortium_admin": consortium_admin,
        "national_admin": national_admin,
    }


def _account_of_kind(kind, wales, school):
    """An account of `kind` belonging to `school` (or to its LA, for LA/consortium users)."""
    if kind == K.LEARNER:
        return learner(school)
    if kind == K.STAFF:
        return staff(school)
    if kind == K.LA_NON_MIS:
        org = wales.la if school == wales.secondary else wales.other_la
        return AccountFactory(organisation=org, kind=kind, source=Account.Source.MANUAL)
    if kind == K.CONSORTIUM_NON_MIS:
        org = wales.consortium if school == wales.secondary else wales.other_consortium
        return AccountFactory(organisation=org, kind=kind, source=Account.Source.MANUAL)
    return AccountFactory(organisation=school, kind=kind, source=Account.Source.MANUAL)


class TableShapeTests:
    def test_every_action_has_rules(self):
        for action in Action:
            assert action in TABLE or action in ORG_TABLE, f"{action} has no row in the permission table"

    def test_every_row_covers_every_account_kind(self):
        for action, row in TABLE.items():
            assert set(row) == set(K), f"{action} is missing kinds {set(K) - set(row)}"

    def test_the_test_covers_every_account_action(self):
        covered = set(EXPECTED) | {a for a, _k in ORG_EXPECTED} | {A.RESET_OWN_PASSWORD, A.MFA_MANAGE_OWN}
        assert set(TABLE) <= covered, f"add EXPECTED rows for {set(TABLE) - covered}"


@pytest.mark.django_db
class TestWalk(TableShapeTests):
    @pytest.mark.parametrize("action", sorted(EXPECTED))
    def test_own_scope_follows_the_rules(self, action, people, wales):
        accounts = {kind: _account_of_kind(kind, wales, wales.secondary) for kind in K}
        for role, actor in people.items():
            for kind, target in accounts.items():
                expected = kind in EXPECTED[action][role]
                assert can(actor, action, target) is expected, f"{role} {action} {kind}: expected {expected}"

    @pytest.mark.parametrize("action", sorted(EXPECTED))
    def test_another_school_is_out_of_scope_except_for_national_admins(self, action, people, wales):
        accounts = {kind: _account_of_kind(kind, wales, wales.other_school) for kind in K}
        for role, actor in people.items():
            for kind, target in accounts.items():
                expected = role == "national_admin" and kind in EXPECTED[action][role]
                assert can(actor, action, target) is expected, f"{role} {action} other {kind}"

    @pytest.mark.parametrize(("action", "kind"), sorted(ORG_EXPECTED))
    def test_organisation_wide_actions(self, action, kind, people, wales):
        for role, actor in people.items():
            own = can(actor, action, Scope(wales.secondary, kind))
            other = can(actor, action, Scope(wales.other_school, kind))
            assert own is (role in ORG_EXPECTED[(action, kind)]), f"{role} {action} {kind} own school"
            assert other is (role == "national_admin" and role in ORG_EXPECTED[(action, kind)]), (
                f"{role} other"
            )

    def test_create_for_la_users_is_for_that_las_admins_only(self, people, wales):
        assert can(people["la_admin"], A.CREATE_ACCOUNT, Scope(wales.la, K.LA_NON_MIS))
        assert not can(people["la_admin"], A.CREATE_ACCOUNT, Scope(wales.other_la, K.LA_NON_MIS))
        assert not can(people["digital_champion"], A.CREATE_ACCOUNT, Scope(wales.la, K.LA_NON_MIS))

    def test_only_national_admins_manage_connected_services(self, people, wales):
        # asked of the national organisation: an LA or consortium administrator's grant is not there
        national = (Organisation.Kind.NATIONAL,)
        for role, actor in people.items():
            allowed = bool(organisation_ids_for(actor, A.MANAGE_SSO_CLIENTS, org_kinds=national))
            assert allowed is (role == "national_admin"), role
            assert can(actor, A.MANAGE_SSO_CLIENTS, Scope(wales.national)) is (role == "national_admin"), role

    def test_learners_never_get_non_mis_accounts(self, people, wales):
        for actor in people.values():
            assert not can(actor, A.CREATE_ACCOUNT, Scope(wales.secondary, K.LEARNER))

    def test_own_password_for_everyone_but_primary_learners(
        self, wales, primary_learner, secondary_learner, teacher, governor
    ):
        assert not can(primary_learner, A.RESET_OWN_PASSWORD, primary_learner)
        for account in (secondary_learner, teacher, governor):
            assert can(account, A.RESET_OWN_PASSWORD, account)
        assert not can(teacher, A.RESET_OWN_PASSWORD, secondary_learner)

    def test_own_factors_for_every_non_learner_and_no_learner(
        self, primary_learner, secondary_learner, teacher, governor, digital_champion
    ):
        for account in (primary_learner, secondary_learner):
            assert not can(account, A.MFA_MANAGE_OWN, account)
        for account in (teacher, governor, digital_champion):
            assert can(account, A.MFA_MANAGE_OWN, account)
        assert not can(digital_champion, A.MFA_MANAGE_OWN, teacher)

    def test_a_teacher_acts_on_learners_of_their_school_only(self, teacher, other_teacher, secondary_learner):
        assert can(teacher, A.RESET_PASSWORD, secondary_learner)
        assert not can(other_teacher, A.RESET_PASSWORD, secondary_learner)

    def test_ite_lead_may_create_ite_students_where_they_lead(self, wales, digital_champion):
        lead = staff(wales.primary)
        grant(lead, RoleGrant.Role.ITE_LEAD, wales.secondary)
        assert can(lead, A.CREATE_ACCOUNT, Scope(wales.secondary, K.ITE_STUDENT))
        assert not can(lead, A.CREATE_ACCOUNT, Scope(wales.secondary, K.GOVERNOR))
        assert not can(lead, A.CREATE_ACCOUNT, Scope(wales.other_school, K.ITE_STUDENT))

    def test_a_supply_teacher_acts_on_learners_of_their_school_only(
        self, wales, supply_teacher, secondary_learner, other_learner, teacher
    ):
        for action in (A.RESET_PASSWORD, A.SHOW_PASSWORD, A.PRINT_DETAILS, A.PRINT_WITH_PASSWORD):
            assert can(supply_teacher, action, secondary_learner), action
            assert not can(supply_teacher, action, other_learner), action
            assert not can(supply_teacher, action, teacher), action
        assert can(supply_teacher, A.PRINT_GROUP, Scope(wales.secondary, K.LEARNER))

    def test_other_school_non_mis_users_are_not_school_staff(self, wales, secondary_learner):
        for role in ("temporary_staff", "stakeholder", ""):
            other = AccountFactory(
                organisation=wales.secondary,
                kind=K.SCHOOL_NON_MIS,
                source=Account.Source.MANUAL,
                staff_role=role,
            )
            assert not can(other, A.RESET_PASSWORD, secondary_learner), role

    def test_a_staff_role_of_supply_teacher_on_a_governor_gives_nothing(self, wales, secondary_learner):
        governor = AccountFactory(
            organisation=wales.secondary,
            kind=K.GOVERNOR,
            source=Account.Source.MANUAL,
            staff_role="supply_teacher",
        )
        assert not can(governor, A.RESET_PASSWORD, secondary_learner)

    def test_deactivated_actors_may_do_nothing(self, digital_champion, secondary_learner):
        digital_champion.status = Account.Status.DEACTIVATED
        digital_champion.save()
        fresh = Account.objects.get(pk=digital_champion.pk)
        assert not can(fresh, A.RESET_PASSWORD, secondary_learner)
        with pytest.raises(PermissionDenied):
            require(fresh, A.RESET_PASSWORD, secondary_learner)


@pytest.mark.django_db
class TestVisibility:
    def test_a_teacher_sees_their_learners_and_themselves(
        self, teacher, secondary_learner, other_learner, digital_champion, primary_learner
    ):
        visible = set(Account.objects.restrict(teacher, A.VIEW))
        assert visible == {teacher, secondary_learner}

    def test_an_la_admin_sees_their_las_own_users_only(
        self, wales, la_admin, consortium_admin, secondary_learner, primary_learner, teacher, governor
    ):
        colleague = AccountFactory(organisation=wales.la, kind=K.LA_NON_MIS, source=Account.Source.MANUAL)
        other_la_user = AccountFactory(
            organisation=wales.other_la, kind=K.LA_NON_MIS, source=Account.Source.MANUAL
        )
        visible = set(Account.objects.restrict(la_admin, A.VIEW))
        assert visible == {la_admin, colleague}
        assert not visible & {secondary_learner, primary_learner, teacher, governor, other_la_user}

    def test_a_consortium_admin_sees_the_consortiums_own_users_only(
        self, wales, la_admin, consortium_admin, secondary_learner
    ):
        colleague = AccountFactory(
            organisation=wales.consortium, kind=K.CONSORTIUM_NON_MIS, source=Account.Source.MANUAL
        )
        # neither the LA below it (la_admin is an LA user of Cardiff, in Central South) nor its schools
        assert set(Account.objects.restrict(consortium_admin, A.VIEW)) == {consortium_admin, colleague}

    def test_a_national_admin_sees_everyone(self, national_admin, other_learner, secondary_learner):
        assert {other_learner, secondary_learner} <= set(Account.objects.restrict(national_admin, A.VIEW))

    def test_anonymous_sees_nothing(self, secondary_learner):
        from django.contrib.auth.models import AnonymousUser

        assert not Account.objects.restrict(AnonymousUser(), A.VIEW).exists()

    def test_scopes_are_cached_per_actor(self, teacher, secondary_learner, django_assert_max_num_queries):
        can(teacher, A.VIEW, secondary_learner)
        with django_assert_max_num_queries(0):
            for _ in range(50):
                can(teacher, A.VIEW, secondary_learner)


@pytest.mark.django_db
class TestRestrict:
    """Account.objects.restrict(actor, action) is exactly the accounts `can` allows, for every account action."""

    @pytest.fixture
    def everyone(self, people, wales, primary_learner, governor):
        accounts = [
            _account_of_kind(kind, wales, school)
            for kind in K
            for school in (wales.secondary, wales.other_school)
        ]
        return [*accounts, *people.values(), primary_learner, governor]

    @pytest.mark.parametrize("action", sorted(TABLE))
    def test_it_returns_what_can_allows(self, action, people, everyone, primary_learner, governor):
        actors = {**people, "primary_learner": primary_learner, "governor": governor}
        for role, actor in actors.items():
            allowed = {account for account in everyone if can(actor, action, account)}
            if action == A.VIEW:
                allowed.add(actor)  # everyone sees their own account (My Profile)
            restricted = set(Account.objects.filter(pk__in=[a.pk for a in everyone]).restrict(actor, action))
            assert restricted == allowed, f"{role} {action}: {restricted ^ allowed}"

    def test_view_is_the_scope_of_every_lookup_including_their_own_account(self, primary_learner, teacher):
        assert set(Account.objects.restrict(primary_learner, A.VIEW)) == {primary_learner}
        assert not can(primary_learner, A.VIEW, primary_learner)

    def test_own_password_follows_the_self_rules(self, primary_learner, secondary_learner):
        assert not Account.objects.restrict(primary_learner, A.RESET_OWN_PASSWORD).exists()
        assert set(Account.objects.restrict(secondary_learner, A.RESET_OWN_PASSWORD)) == {secondary_learner}

    def test_organisation_wide_actions_are_refused(self, digital_champion):
        with pytest.raises(ValueError):
            Account.objects.restrict(digital_champion, A.VIEW_AUDIT)


@pytest.mark.django_db
class TestOrganisationsFor:
    """organisations_for(actor, action, kinds=...) is exactly the organisations where `can` allows a Scope."""

    @pytest.mark.parametrize("action", sorted(TABLE))
    def test_it_returns_where_can_allows_some_kind(self, action, people, wales):
        organisations = list(Organisation.objects.all())
        for role, actor in people.items():
            for kinds in (None, (K.LEARNER,), (K.GOVERNOR, K.ITE_STUDENT), (K.LA_NON_MIS,)):
                expected = {
                    org
                    for org in organisations
                    if any(can(actor, action, Scope(org, kind)) for kind in (kinds or K))
                }
                found = set(organisations_for(actor, action, kinds=kinds))
                assert found == expected, f"{role} {action} {kinds}: {found ^ expected}"
                assert organisation_ids_for(actor, action, kinds=kinds) == {org.pk for org in expected}

    @pytest.mark.parametrize("action", sorted(ORG_TABLE))
    def test_organisation_wide_actions(self, action, people, wales):
        organisations = list(Organisation.objects.all())
        for role, actor in people.items():
            expected = {org for org in organisations if can(actor, action, Scope(org))}
            assert set(organisations_for(actor, action)) == expected, role

    def test_an_la_admin_acts_on_their_la_alone(self, la_admin, wales):
        assert set(organisations_for(la_admin, A.CREATE_ACCOUNT, kinds=(K.LA_NON_MIS,))) == {wales.la}
        assert set(organisations_for(la_admin, A.VIEW)) == {wales.la}
        assert set(organisations_for(la_admin, A.VIEW_AUDIT)) == {wales.la}

    def test_a_school_grant_or_a_national_one_reaches_a_school(self, wales, la_admin, national_admin):
        schools = (Organisation.Kind.SCHOOL,)
        assert not organisation_ids_for(la_admin, A.VIEW, kinds=(K.LEARNER,), org_kinds=schools)
        grant(la_admin, RoleGrant.Role.HWB_ADMIN, wales.primary)
        fresh = Account.objects.get(pk=la_admin.pk)
        assert organisation_ids_for(fresh, A.VIEW, kinds=(K.LEARNER,), org_kinds=schools) == {
            wales.primary.pk
        }
        assert organisation_ids_for(national_admin, A.VIEW, org_kinds=schools) == {
            wales.primary.pk,
            wales.secondary.pk,
            wales.other_school.pk,
        }

    def test_org_kinds_narrow_to_organisations_of_those_kinds(self, la_admin, digital_champion, wales):
        la_kinds = (Organisation.Kind.LOCAL_AUTHORITY,)
        assert organisation_ids_for(la_admin, A.VIEW, org_kinds=la_kinds) == {wales.la.pk}
        assert not organisation_ids_for(la_admin, A.VIEW, org_kinds=(Organisation.Kind.SCHOOL,))
        assert not organisation_ids_for(digital_champion, A.VIEW, org_kinds=la_kinds)

    def test_a_role_over_ones_own_account_puts_no_organisation_in_scope(self, secondary_learner, governor):
        assert not organisation_ids_for(secondary_learner, A.RESET_OWN_PASSWORD)
        assert not organisations_for(governor, A.VIEW).exists()

    def test_anonymous_and_deactivated_people_have_none(self, digital_champion):
        from django.contrib.auth.models import AnonymousUser

        assert not organisation_ids_for(AnonymousUser(), A.VIEW)
        digital_champion.status = Account.Status.DEACTIVATED
        digital_champion.save()
        assert not organisation_ids_for(Account.objects.get(pk=digital_champion.pk), A.VIEW)


def test_organisation_kinds_are_known():
    assert {k.value for k in Organisation.Kind} == {
        "school",
        "local_authority",
        "consortium",
        "ite_provider",
        "national",
    }


@pytest.mark.django_db
def test_hwb_administrators_are_those_with_the_grant_at_any_scope(people):
    admins = {name for name, person in people.items() if is_hwb_admin(person)}
    assert admins == {"la_admin", "consortium_admin", "national_admin"}
    # the same answer once the actor's roles are read (and cached on it)
    for name, person in people.items():
        role_orgs(person)
        assert is_hwb_admin(person) is (name in admins)
