"""The spraying guard: one address failing across many accounts is slowed, then held; a class never is."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.guard import address_failure_record
from accounts.models import AuditFailureCount, SigninFailure
from tests.factories import DEMO_PASSWORD, learner

pytestmark = pytest.mark.django_db
LOGIN = reverse("accounts:login")
SCHOOL = "192.0.2.10"
SPRAYER = "198.51.100.66"


@pytest.fixture
def clock(monkeypatch):
    """timezone.now, moved on by the test (`clock.now += ...`)."""
    state = type("Clock", (), {"now": timezone.now()})()
    monkeypatch.setattr(timezone, "now", lambda: state.now)
    return state


@pytest.fixture
def class_of_30(wales):
    return [learner(wales.secondary, registration_group="9B") for _ in range(30)]


def attempt(client, account, password, ip):
    client.logout()  # one shared computer: each child signs out before the next signs in
    return client.post(LOGIN, {"username": account.username, "password": password}, REMOTE_ADDR=ip)


def outcome(response):
    if response.status_code == 302:
        return "in"
    if response.status_code == 429:
        return "held" if "paused" in response.content.decode() else "slowed"
    return "wrong"


class SprayingTests:
    def test_one_password_against_many_accounts_is_slowed_then_held(self, client, wales, clock, settings):
        accounts = [learner(wales.secondary) for _ in range(settings.UMP_SIGNIN_HOLD_ACCOUNTS + 5)]
        results = []
        for account in accounts:
            results.append(outcome(attempt(client, account, "Summer2026", SPRAYER)))
            clock.now += timedelta(seconds=1)
        slow = settings.UMP_SIGNIN_SLOW_ACCOUNTS
        assert results[:slow] == ["wrong"] * slow
        assert results[slow] == "slowed"  # one second after the last failure: too soon
        # Waiting the delay out lets exactly one more through each time, up to the hold.
        tried = slow
        while True:
            clock.now += timedelta(seconds=settings.UMP_SIGNIN_SLOW_SECONDS)
            result = outcome(attempt(client, accounts[tried], "Summer2026", SPRAYER))
            if result != "wrong":
                break
            tried += 1
        assert result == "held" and tried == settings.UMP_SIGNIN_HOLD_ACCOUNTS
        assert AuditFailureCount.objects.filter(action="signin.address_held").exists()

    def test_the_audits_270_attempts_over_30_accounts_no_longer_all_get_through(
        self, client, class_of_30, clock, settings
    ):
        checked = 0
        for round_ in range(9):
            for child in class_of_30:
                if outcome(attempt(client, child, f"Password{round_}", SPRAYER)) == "wrong":
                    checked += 1
                clock.now += timedelta(seconds=1)
        # After the first 100 only one attempt a minute is checked; the rest came too soon after a failure.
        slow = settings.UMP_SIGNIN_SLOW_FAILURES
        assert slow < checked <= slow + 270 // settings.UMP_SIGNIN_SLOW_SECONDS + 1
        # Even waiting out every delay, the address is held long before 270.
        for _ in range(300):
            clock.now += timedelta(seconds=settings.UMP_SIGNIN_SLOW_SECONDS)
            if outcome(attempt(client, class_of_30[0], "Password9", SPRAYER)) == "held":
                break
            checked += 1
        assert checked == settings.UMP_SIGNIN_HOLD_FAILURES == 150

    def test_a_held_address_is_refused_even_the_right_password(self, client, class_of_30, clock, settings):
        SigninFailure.objects.bulk_create(
            SigninFailure(client_ip=SPRAYER, account_key=f"n{i}", at=clock.now)
            for i in range(settings.UMP_SIGNIN_HOLD_ACCOUNTS)
        )
        response = attempt(client, class_of_30[0], DEMO_PASSWORD, SPRAYER)
        assert response.status_code == 429 and int(response["Retry-After"]) > 0
        assert "_auth_user_id" not in client.session

    def test_the_hold_ends_when_the_failures_leave_the_window(self, client, class_of_30, clock, settings):
        SigninFailure.objects.bulk_create(
            SigninFailure(client_ip=SPRAYER, account_key=f"n{i}", at=clock.now)
            for i in range(settings.UMP_SIGNIN_HOLD_ACCOUNTS)
        )
        clock.now += timedelta(minutes=settings.UMP_SIGNIN_WINDOW_MINUTES, seconds=1)
        assert outcome(attempt(client, class_of_30[0], DEMO_PASSWORD, SPRAYER)) == "in"

    def test_another_address_is_not_held_up(self, client, class_of_30, clock, settings):
        SigninFailure.objects.bulk_create(
            SigninFailure(client_ip=SPRAYER, account_key=f"n{i}", at=clock.now)
            for i in range(settings.UMP_SIGNIN_HOLD_ACCOUNTS)
        )
        assert outcome(attempt(client, class_of_30[0], DEMO_PASSWORD, SCHOOL)) == "in"

    def test_made_up_names_count_too_and_no_name_is_stored(self, client, clock, settings, wales):
        for i in range(settings.UMP_SIGNIN_SLOW_ACCOUNTS):
            client.post(LOGIN, {"username": f"nobody{i}", "password": "x"}, REMOTE_ADDR=SPRAYER)
        assert SigninFailure.objects.filter(client_ip=SPRAYER).count() == settings.UMP_SIGNIN_SLOW_ACCOUNTS
        assert not SigninFailure.objects.filter(account_key__contains="nobody").exists()
        assert (
            client.post(LOGIN, {"username": "nobodyx", "password": "x"}, REMOTE_ADDR=SPRAYER).status_code
            == 429
        )


class ClassroomTests:
    def test_a_class_of_30_with_three_typos_each_all_first_is_never_held_up(self, client, class_of_30, clock):
        # The worst order: every child's typos come before anyone gets in.
        for typo in range(3):
            for child in class_of_30:
                assert outcome(attempt(client, child, f"Croeso{typo}", SCHOOL)) == "wrong"
                clock.now += timedelta(seconds=2)
        for child in class_of_30:
            assert outcome(attempt(client, child, DEMO_PASSWORD, SCHOOL)) == "in"
            clock.now += timedelta(seconds=2)
        assert not SigninFailure.objects.filter(client_ip=SCHOOL).exists()  # every failure explained

    def test_lesson_after_lesson_the_class_is_never_held_up(self, client, class_of_30, clock):
        for _lesson in range(6):
            for i, child in enumerate(class_of_30):
                for typo in range(i % 4):
                    assert outcome(attempt(client, child, f"Croeso{typo}", SCHOOL)) == "wrong"
                assert outcome(attempt(client, child, DEMO_PASSWORD, SCHOOL)) == "in"
            clock.now += timedelta(minutes=50)

    def test_a_second_step_code_failure_counts_as_a_failure(self, rf, teacher):
        request = rf.post("/", REMOTE_ADDR=SPRAYER)
        address_failure_record(request=request, account=teacher)
        assert SigninFailure.objects.get().account_key == f"a{teacher.pk}"
