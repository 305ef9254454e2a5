"""Counted refusals: a flood from unauthenticated sources costs a row per action, address and minute (issue 11,
item 8). Reproduced before: 50 wrong API tokens wrote 50 audit events, 100 failed sign-ins for made-up
usernames wrote 100, plus the lockout's own. What a signed-in person does stays one event each.
"""

import threading
from datetime import timedelta

import pytest
from django.db import IntegrityError, InternalError, ProgrammingError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from accounts.audit import AuditAction, audit_count
from accounts.models import AuditEvent, AuditEventTarget, AuditFailureCount
from tests.factories import DEMO_PASSWORD

LOGIN = reverse("accounts:login")


def sign_in(client, username, password="Wrong-Password-1", ip="203.0.113.9"):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=ip)


def counted(action):
    return list(
        AuditFailureCount.objects.filter(action=action).order_by("minute").values_list("client_ip", "count")
    )


@pytest.fixture
def clock(monkeypatch):
    """timezone.now, set by the test (`clock.now = ...`), from 5 seconds into the current minute.

    Near the real time: django-axes keeps part of its own clock (its cool-off is measured from the real one).
    """
    start = timezone.now().replace(second=5, microsecond=0)
    state = type("Clock", (), {"start": start, "now": start})()
    monkeypatch.setattr(timezone, "now", lambda: state.now)
    return state


@pytest.mark.django_db
class TestAuditCount:
    def test_one_row_per_action_address_and_minute_counts_up(self, rf, clock):
        here, there = rf.get("/", REMOTE_ADDR="203.0.113.9"), rf.get("/", REMOTE_ADDR="198.51.100.7")
        for _ in range(3):
            audit_count(action=AuditAction.PROVISIONING_API_DENIED, request=here)
        audit_count(action=AuditAction.PROVISIONING_API_DENIED, request=there)
        audit_count(action=AuditAction.SIGNIN_FAILURE, request=here)
        clock.now = clock.start + timedelta(minutes=1)
        audit_count(action=AuditAction.PROVISIONING_API_DENIED, request=here)
        rows = AuditFailureCount.objects.order_by("minute", "action", "client_ip").values_list(
            "minute", "action", "client_ip", "count"
        )
        minute = clock.start.replace(second=0)
        assert list(rows) == [
            (minute, "provisioning.api_denied", "198.51.100.7", 1),
            (minute, "provisioning.api_denied", "203.0.113.9", 3),
            (minute, "signin.failure", "203.0.113.9", 1),
            (minute + timedelta(minutes=1), "provisioning.api_denied", "203.0.113.9", 1),
        ]
        assert not AuditEvent.objects.exists()

    def test_a_request_without_an_address_is_counted_under_none(self, rf):
        request = rf.get("/", REMOTE_ADDR="")
        audit_count(action=AuditAction.SIGNIN_LOCKED_OUT, request=request)
        audit_count(action=AuditAction.SIGNIN_LOCKED_OUT, request=request)
        assert counted("signin.locked_out") == [("", 2)]

    def test_only_refusals_that_name_nobody_are_counted(self, rf):
        for action in (AuditAction.PASSWORD_REVEAL, "signin.failur"):
            with pytest.raises(ValueError):
                audit_count(action=action, request=rf.get("/"))
        assert not AuditFailureCount.objects.exists()

    def test_a_count_is_never_changed_or_deleted_through_the_orm(self, rf):
        audit_count(action=AuditAction.SIGNIN_FAILURE, request=rf.get("/"))
        row = AuditFailureCount.objects.get()
        with pytest.raises(PermissionError):
            row.save()
        with pytest.raises(PermissionError):
            row.delete()
        with pytest.raises(PermissionError):
            AuditFailureCount.objects.update(count=0)
        with pytest.raises(PermissionError):
            AuditFailureCount.objects.all().delete()

    @pytest.mark.postgres_only(reason="the count-up-only trigger")
    @pytest.mark.parametrize(
        "sql",
        [
            "UPDATE accounts_auditfailurecount SET count = count - 1",
            "UPDATE accounts_auditfailurecount SET client_ip = '192.0.2.1'",
            "DELETE FROM accounts_auditfailurecount",
        ],
    )
    def test_the_database_refuses_anything_but_counting_up(self, rf, sql):
        audit_count(action=AuditAction.SIGNIN_FAILURE, request=rf.get("/"))
        with (
            pytest.raises((InternalError, IntegrityError, ProgrammingError)),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql)
        assert AuditFailureCount.objects.get().count == 1


@pytest.mark.django_db
class TestSignInFloods:
    def test_a_hundred_made_up_usernames_cost_a_row_per_minute(self, client, clock, teacher, settings):
        # The spraying guard would slow this flood after 40 names (tests/accounts/test_guard.py, where what it
        # refuses is counted as signin.address_held); here: how what reaches the password check is counted.
        settings.UMP_SIGNIN_GUARD = False
        for n in range(100):
            clock.now = clock.start + timedelta(seconds=n)  # hh:mm:05 to hh:mm+1:44: two minutes
            assert sign_in(client, f"nobody{n}").status_code == 200
        assert not AuditEvent.objects.filter(action__startswith="signin.").exists()
        assert counted("signin.failure") == [("203.0.113.9", 55), ("203.0.113.9", 45)]
        assert not AuditFailureCount.objects.exclude(action="signin.failure").exists()

    def test_one_made_up_username_tried_a_hundred_times_locks_and_is_counted(self, client, clock, settings):
        for _ in range(100):
            sign_in(client, "nobody")
        assert not AuditEvent.objects.exists()
        failures = settings.AXES_FAILURE_LIMIT - 1  # the attempt that locks is the lockout's
        assert counted("signin.failure") == [("203.0.113.9", failures)]
        assert counted("signin.locked_out") == [("203.0.113.9", 100 - failures)]

    def test_failures_for_a_real_account_name_it_until_the_lockout_then_are_counted(
        self, client, clock, teacher, settings
    ):
        limit = settings.AXES_FAILURE_LIMIT
        for _ in range(limit + 40):
            sign_in(client, teacher.username)
        failures = AuditEvent.objects.filter(action="signin.failure")
        assert failures.count() == limit - 1
        assert {e.targets.get().account_id for e in failures} == {teacher.pk}
        locked = AuditEvent.objects.get(action="signin.locked_out")  # one event for the lock
        assert locked.targets.get().account_id == teacher.pk and locked.organisation == teacher.organisation
        assert counted("signin.locked_out") == [("203.0.113.9", 40)]  # every refusal after it, counted

    def test_a_later_lock_of_the_same_account_has_its_own_event(self, client, teacher, settings):
        earlier = AuditEvent.objects.create(
            action="signin.locked_out",
            outcome="denied",
            organisation=teacher.organisation,
            created_at=timezone.now() - settings.AXES_COOLOFF_TIME - timedelta(minutes=1),
            target_count=1,
        )
        AuditEventTarget.objects.create(event=earlier, account_id=teacher.pk)
        for _ in range(settings.AXES_FAILURE_LIMIT + 5):
            sign_in(client, teacher.username)
        assert AuditEvent.objects.filter(action="signin.locked_out").count() == 2

    def test_what_a_signed_in_person_does_stays_one_event_each(
        self, client, clock, teacher, secondary_learner
    ):
        for _ in range(5):
            client.logout()
            assert sign_in(client, teacher.username, DEMO_PASSWORD, ip="10.9.9.9").status_code == 302
        assert AuditEvent.objects.filter(action="signin.success", actor_id=teacher.pk).count() == 5
        for _ in range(5):
            new = {"new_password1": "Xk7pQr2mWz9b", "new_password2": "Xk7pQr2mWz9b"}
            client.post(reverse("passwords:reset_chosen", args=[secondary_learner.pk]), new)
        assert AuditEvent.objects.filter(action="password.reset", actor_id=teacher.pk).count() == 5
        assert not AuditFailureCount.objects.exists()


@pytest.mark.postgres_only(reason="concurrent connections")
@pytest.mark.django_db(transaction=True)
class TestConcurrentCounting:
    def test_requests_counted_at_once_from_four_connections_lose_none(self, rf, clock):
        request = rf.get("/", REMOTE_ADDR="203.0.113.9")
        barrier, errors = threading.Barrier(4), []

        def flood():
            try:
                barrier.wait()
                for _ in range(25):
                    audit_count(action=AuditAction.PROVISIONING_API_DENIED, request=request)
            except Exception as exc:  # noqa: BLE001 - surfaced below
                errors.append(exc)
            finally:
                connection.close()

        threads = [threading.Thread(target=flood) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not errors
        assert counted("provisioning.api_denied") == [("203.0.113.9", 100)]
