"""Signing in and out: username or email, case-insensitive, lockout per account, audited."""

import pytest
from django.contrib.auth.hashers import check_password, identify_hasher, make_password
from django.urls import reverse

from accounts.models import Account, AuditEvent, EmailAlias
from tests.factories import DEMO_PASSWORD, learner

LOGIN = reverse("accounts:login")


def sign_in(client, username, password=DEMO_PASSWORD, ip="10.1.2.3"):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=ip)


@pytest.mark.django_db
class TestSignIn:
    def test_it_signs_in_with_the_username_in_any_case(self, client, teacher):
        response = sign_in(client, teacher.username.upper())
        assert response.status_code == 302
        assert response.url == reverse("accounts:home")
        assert client.session["_auth_user_id"] == str(teacher.pk)

    def test_it_signs_in_with_the_email_address(self, client, teacher):
        assert sign_in(client, teacher.email.upper()).status_code == 302

    def test_it_signs_in_with_an_earlier_email_alias(self, client, teacher):
        EmailAlias.objects.create(account=teacher, email="old.name@hwbcymru.net")
        assert sign_in(client, "Old.Name@hwbcymru.net").status_code == 302

    def test_a_wrong_password_is_refused_with_a_clear_message(self, client, teacher):
        response = sign_in(client, teacher.username, "Wrong-Password-1")
        assert response.status_code == 200
        assert "not right" in response.content.decode()
        assert "_auth_user_id" not in client.session

    def test_a_deactivated_account_cannot_sign_in(self, client, teacher):
        Account.objects.filter(pk=teacher.pk).update(status=Account.Status.DEACTIVATED)
        assert sign_in(client, teacher.username).status_code == 200
        assert "_auth_user_id" not in client.session

    def test_sign_ins_are_audited_without_the_password(self, client, teacher):
        sign_in(client, teacher.username, "Wrong-Password-1")
        sign_in(client, teacher.username)
        actions = list(AuditEvent.objects.order_by("id").values_list("action", "outcome", "client_ip"))
        assert actions == [
            ("signin.failure", "failure", "10.1.2.3"),
            ("signin.success", "success", "10.1.2.3"),
        ]
        for event in AuditEvent.objects.all():
            assert DEMO_PASSWORD not in str(event.details) and "Wrong-Password-1" not in str(event.details)
        assert AuditEvent.objects.get(action="signin.failure").targets.get().account_id == teacher.pk

    def test_logout_is_a_post(self, client, teacher):
        client.force_login(teacher, backend="accounts.backends.UsernameOrEmailBackend")
        assert client.get(reverse("accounts:logout")).status_code == 405
        assert client.post(reverse("accounts:logout")).status_code == 302
        assert "_auth_user_id" not in client.session

    def test_last_login_is_recorded(self, client, teacher):
        sign_in(client, teacher.username)
        teacher.refresh_from_db()
        assert teacher.last_login is not None


@pytest.mark.django_db
class TestLockout:
    def test_repeated_failures_lock_the_account(self, client, teacher, settings):
        for _ in range(settings.AXES_FAILURE_LIMIT):
            sign_in(client, teacher.username, "Wrong-Password-1")
        response = sign_in(client, teacher.username)
        assert response.status_code == 429
        assert "_auth_user_id" not in client.session
        locked = AuditEvent.objects.filter(action="signin.locked_out").first()
        assert locked is not None and locked.targets.get().account_id == teacher.pk

    def test_the_lock_follows_the_account_whatever_spelling_is_used(self, client, teacher, settings):
        for i in range(settings.AXES_FAILURE_LIMIT):
            name = teacher.email if i % 2 else teacher.username.lower()
            sign_in(client, name, "Wrong-Password-1")
        assert sign_in(client, teacher.username.upper()).status_code == 429

    def test_thirty_children_at_one_school_address_never_lock_each_other_out(self, client, wales, settings):
        children = [learner(wales.secondary) for _ in range(30)]
        # One child mistypes several times first, as children do.
        for _ in range(settings.AXES_FAILURE_LIMIT - 1):
            sign_in(client, children[0].username, "Wrong-Password-1", ip="192.0.2.10")
        for child in children:
            client.logout()
            response = sign_in(client, child.username, ip="192.0.2.10")
            assert response.status_code == 302, child.username
            assert client.session["_auth_user_id"] == str(child.pk)

    def test_another_account_on_the_same_address_is_not_locked(
        self, client, teacher, secondary_learner, settings
    ):
        for _ in range(settings.AXES_FAILURE_LIMIT + 2):
            sign_in(client, teacher.username, "Wrong-Password-1", ip="192.0.2.20")
        assert sign_in(client, secondary_learner.username, ip="192.0.2.20").status_code == 302


@pytest.mark.django_db
class TestHashing:
    def test_passwords_are_hashed_with_argon2id_at_the_promised_cost(self, teacher):
        teacher.set_password("Ffenest-Las-42")
        teacher.save()
        assert teacher.password.startswith("argon2$argon2id$v=19$m=19456,t=2,p=1$")
        assert check_password("Ffenest-Las-42", teacher.password)

    def test_pbkdf2_hashes_upgrade_at_sign_in(self, client, teacher):
        teacher.password = make_password(DEMO_PASSWORD, hasher="pbkdf2_sha256")
        teacher.save()
        assert sign_in(client, teacher.username).status_code == 302
        teacher.refresh_from_db()
        assert identify_hasher(teacher.password).algorithm == "argon2"


@pytest.mark.django_db
class TestLanguage:
    def test_the_switch_changes_the_page_language(self, client, teacher):
        client.force_login(teacher, backend="accounts.backends.UsernameOrEmailBackend")
        english = client.get(reverse("accounts:home")).content.decode()
        assert '<html lang="en">' in english and "Cymraeg" in english
        response = client.post(reverse("set_language"), {"language": "cy", "next": reverse("accounts:home")})
        assert response.status_code == 302
        welsh = client.get(reverse("accounts:home")).content.decode()
        assert '<html lang="cy">' in welsh
        assert "Porth Rheoli Defnyddwyr" in welsh
        assert "English" in welsh

    def test_the_login_page_is_served_in_welsh_when_asked(self, client):
        response = client.get(LOGIN, HTTP_ACCEPT_LANGUAGE="cy")
        assert '<html lang="cy">' in response.content.decode()
        assert "Mewngofnodi" in response.content.decode()


def account_lookups(queries):
    """The queries that look an account up by a name (its username, on PostgreSQL and SQLite alike)."""
    return [
        q["sql"]
        for q in queries
        if q["sql"].startswith("SELECT")
        and 'FROM "accounts_account"' in q["sql"]
        and '"username"' in q["sql"].partition(" WHERE ")[2]
    ]


@pytest.mark.django_db
class TestSignInCost:
    """What one sign-in writes and asks (bench/rush_hour.py: 20 a second at rush hour)."""

    def test_a_sign_in_looks_the_account_up_once(self, client, teacher):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as queries:
            assert sign_in(client, teacher.username.upper()).status_code == 302
        lookups = account_lookups(queries)
        assert len(lookups) == 1

    def test_a_wrong_password_looks_the_account_up_once_too(self, client, teacher):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as queries:
            assert sign_in(client, teacher.username, "Wrong-Password-1").status_code == 200
        lookups = account_lookups(queries)
        assert len(lookups) == 1
        assert AuditEvent.objects.get(action="signin.failure").targets.get().account_id == teacher.pk

    def test_a_sign_in_keeps_no_second_log_beside_the_audit_trail(self, client, teacher):
        from axes.models import AccessLog

        assert sign_in(client, teacher.username).status_code == 302
        assert AuditEvent.objects.filter(action="signin.success").count() == 1
        assert not AccessLog.objects.exists()

    def test_a_first_try_sign_in_neither_resets_the_lockout_nor_explains_failures(self, client, teacher):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as queries:
            assert sign_in(client, teacher.username).status_code == 302
        # nothing to forget: only the lockout's count and the spraying guard's check touch their tables
        axes = [q["sql"] for q in queries if "axes_accessattempt" in q["sql"]]
        guard = [q["sql"] for q in queries if "accounts_signinfailure" in q["sql"]]
        assert len(axes) == 1 and axes[0].startswith("SELECT SUM(")
        assert len(guard) == 1 and guard[0].startswith("SELECT COUNT(")

    def test_a_sign_in_after_failures_still_forgets_them(self, client, teacher, settings):
        from axes.models import AccessAttempt

        from accounts.models import SigninFailure

        for _ in range(settings.AXES_FAILURE_LIMIT - 1):
            sign_in(client, teacher.username, "Wrong-Password-1")
        assert AccessAttempt.objects.filter(username=teacher.username.lower()).exists()
        assert SigninFailure.objects.filter(account_key=f"a{teacher.pk}").exists()
        assert sign_in(client, teacher.username).status_code == 302
        assert not AccessAttempt.objects.exists()
        assert not SigninFailure.objects.exists()
        client.logout()
        # the count starts again: as many failures again do not lock the account
        for _ in range(settings.AXES_FAILURE_LIMIT - 1):
            sign_in(client, teacher.username, "Wrong-Password-1")
        assert sign_in(client, teacher.username).status_code == 302
