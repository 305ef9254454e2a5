"""The lifecycle sweep: expiry, 90 days without sign-in, and deleting leavers 12 months on, at their edges."""

from datetime import date, datetime, time, timedelta
from io import StringIO

import pytest
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from accounts.lifecycle import lifecycle_sweep
from accounts.models import Account, AuditEvent, AuditEventTarget, EmailAlias, IssuedUsername, RoleGrant
from accounts.services import academic_year_end, account_activate, add_months, expiry_for
from passwords.models import ShownPassword
from passwords.services import shown_passwords_store_bulk
from tests.factories import AccountFactory, grant, learner, staff

K = Account.Kind
LONG_AGO = timezone.make_aware(datetime(2000, 1, 1))


def at(day, hour=12):
    return timezone.make_aware(datetime.combine(day, time(hour)))


def non_mis(org, **kwargs):
    kwargs.setdefault("kind", K.SCHOOL_NON_MIS)
    return AccountFactory(organisation=org, source=Account.Source.MANUAL, **kwargs)


def leaver(org, leaving_date, kind=K.LEARNER, **kwargs):
    maker = learner if kind == K.LEARNER else staff
    return maker(
        org,
        status=Account.Status.DEACTIVATED,
        status_reason=Account.StatusReason.LEAVER,
        leaving_date=leaving_date,
        deactivated_at=at(leaving_date),
        **kwargs,
    )


def status(account):
    account.refresh_from_db()
    return account.status


def recent(on):
    """Signed in yesterday, so only the rule under test can apply."""
    return {
        "last_login": at(on - timedelta(days=1)),
        "created_at": at(on - timedelta(days=1)),
        "status_changed_at": at(on - timedelta(days=1)),
    }


@pytest.mark.django_db
class TestExpiry:
    @pytest.mark.parametrize(
        ("on", "expected"),
        [
            (date(2026, 8, 30), Account.Status.ACTIVE),  # the day before
            (date(2026, 8, 31), Account.Status.ACTIVE),  # the day of: its last day of use
            (date(2026, 9, 1), Account.Status.DEACTIVATED),  # the day after
        ],
    )
    def test_an_account_to_the_end_of_the_academic_year_closes_on_1_september(self, wales, on, expected):
        account = non_mis(wales.secondary, expires_on=date(2026, 8, 31), **recent(on))
        lifecycle_sweep(on=on)
        assert status(account) == expected
        if expected == Account.Status.DEACTIVATED:
            account.refresh_from_db()
            assert account.status_reason == Account.StatusReason.EXPIRED

    def test_governors_expire_too_but_mis_accounts_never_do(self, wales):
        on = date(2026, 3, 1)
        governor = non_mis(wales.secondary, kind=K.GOVERNOR, expires_on=date(2026, 2, 1), **recent(on))
        teacher = staff(wales.secondary, expires_on=date(2026, 2, 1), **recent(on))
        lifecycle_sweep(on=on)
        assert status(governor) == Account.Status.DEACTIVATED
        assert status(teacher) == Account.Status.ACTIVE

    def test_an_extended_account_stays(self, wales):
        on = date(2026, 3, 1)
        account = non_mis(wales.secondary, expires_on=date(2026, 2, 28), **recent(on))
        account.expires_on = date(2026, 8, 31)
        account.save()
        lifecycle_sweep(on=on)
        assert status(account) == Account.Status.ACTIVE

    def test_each_school_gets_its_own_audit_event(self, wales):
        on = date(2026, 3, 1)
        a = non_mis(wales.secondary, expires_on=date(2026, 2, 1), **recent(on))
        b = non_mis(wales.other_school, expires_on=date(2026, 2, 1), **recent(on))
        lifecycle_sweep(on=on)
        events = AuditEvent.objects.filter(action="lifecycle.expire")
        assert {e.organisation_id for e in events} == {wales.secondary.pk, wales.other_school.pk}
        assert set(
            AuditEventTarget.objects.filter(event__in=events).values_list("account_id", flat=True)
        ) == {a.pk, b.pk}

    def test_expired_accounts_lose_their_sessions(self, wales):
        on = timezone.localdate()
        account = non_mis(wales.secondary, expires_on=on - timedelta(days=1), **recent(on))
        theirs = Client()
        theirs.force_login(account, backend="accounts.backends.UsernameOrEmailBackend")
        report = lifecycle_sweep(on=on)
        assert report.sessions_ended == 1 and not Session.objects.exists()


@pytest.mark.django_db
class TestInactivity:
    @pytest.mark.parametrize(
        ("days", "expected"),
        [(89, Account.Status.ACTIVE), (90, Account.Status.ACTIVE), (91, Account.Status.DEACTIVATED)],
    )
    def test_90_days_without_sign_in(self, wales, days, expected):
        on = date(2026, 6, 1)
        # Signed in at noon `days` days ago: 90 whole days have passed only from the 91st day on.
        seen = at(on - timedelta(days=days))
        account = non_mis(
            wales.secondary,
            last_login=seen,
            created_at=LONG_AGO,
            status_changed_at=LONG_AGO,
            expires_on=date(2027, 8, 31),
        )
        lifecycle_sweep(on=on)
        assert status(account) == expected

    def test_never_signed_in_counts_from_creation(self, wales):
        on = date(2026, 6, 1)
        old = non_mis(
            wales.secondary,
            last_login=None,
            created_at=at(on - timedelta(days=91)),
            status_changed_at=at(on - timedelta(days=91)),
            expires_on=date(2027, 8, 31),
        )
        new = non_mis(
            wales.secondary,
            last_login=None,
            created_at=at(on - timedelta(days=10)),
            status_changed_at=at(on - timedelta(days=10)),
            expires_on=date(2027, 8, 31),
        )
        lifecycle_sweep(on=on)
        assert status(old) == Account.Status.DEACTIVATED and status(new) == Account.Status.ACTIVE
        old.refresh_from_db()
        assert old.status_reason == Account.StatusReason.INACTIVE

    def test_it_can_be_reactivated_keeps_its_expiry_and_is_not_closed_again(self, wales, digital_champion):
        on = timezone.localdate()
        account = non_mis(
            wales.secondary,
            last_login=LONG_AGO,
            created_at=LONG_AGO,
            status_changed_at=LONG_AGO,
            expires_on=on + timedelta(days=200),
        )
        lifecycle_sweep(on=on)
        assert status(account) == Account.Status.DEACTIVATED
        account_activate(account=account, actor=digital_champion)
        account.refresh_from_db()
        assert account.expires_on == on + timedelta(days=200)
        lifecycle_sweep(on=on)
        assert status(account) == Account.Status.ACTIVE

    def test_mis_accounts_and_hwb_administrators_are_exempt(self, wales):
        on = date(2026, 6, 1)
        teacher = staff(wales.secondary, last_login=LONG_AGO, created_at=LONG_AGO, status_changed_at=LONG_AGO)
        admin = non_mis(
            wales.la, kind=K.LA_NON_MIS, last_login=LONG_AGO, created_at=LONG_AGO, status_changed_at=LONG_AGO
        )
        grant(admin, RoleGrant.Role.HWB_ADMIN, wales.la)
        lifecycle_sweep(on=on)
        assert status(teacher) == Account.Status.ACTIVE and status(admin) == Account.Status.ACTIVE


@pytest.mark.django_db
class TestLeavers:
    @pytest.mark.parametrize(
        ("on", "deleted"),
        [(date(2026, 7, 19), False), (date(2026, 7, 20), True), (date(2026, 7, 21), True)],
    )
    def test_deleted_12_months_after_the_leaving_date(self, wales, on, deleted):
        account = leaver(wales.secondary, date(2025, 7, 20))
        lifecycle_sweep(on=on)
        assert Account.objects.filter(pk=account.pk).exists() is not deleted

    @pytest.mark.parametrize(
        ("on", "deleted"),
        [(date(2025, 2, 28), False), (date(2025, 3, 1), True)],
    )
    def test_a_leap_day_leaver_is_deleted_on_1_march(self, wales, on, deleted):
        account = leaver(wales.secondary, date(2024, 2, 29))
        lifecycle_sweep(on=on)
        assert Account.objects.filter(pk=account.pk).exists() is not deleted

    def test_a_leaver_on_28_february_before_a_leap_year(self, wales):
        account = leaver(wales.secondary, date(2023, 2, 28))
        lifecycle_sweep(on=date(2024, 2, 27))
        assert Account.objects.filter(pk=account.pk).exists()
        lifecycle_sweep(on=date(2024, 2, 28))
        assert not Account.objects.filter(pk=account.pk).exists()

    def test_staff_leavers_too(self, wales):
        account = leaver(wales.secondary, date(2025, 1, 1), kind=K.STAFF)
        lifecycle_sweep(on=date(2026, 1, 1))
        assert not Account.objects.filter(pk=account.pk).exists()

    def test_a_leaver_reactivated_by_a_transfer_is_kept(self, wales):
        account = leaver(wales.secondary, date(2025, 7, 20))
        account.organisation = wales.other_school
        account.status = Account.Status.ACTIVE
        account.status_reason = ""
        account.save()
        lifecycle_sweep(on=date(2026, 9, 1))
        assert status(account) == Account.Status.ACTIVE

    def test_other_deactivations_are_never_deleted(self, wales):
        account = learner(
            wales.secondary,
            status=Account.Status.DEACTIVATED,
            status_reason=Account.StatusReason.MANUAL,
            leaving_date=date(2020, 1, 1),
        )
        lifecycle_sweep(on=date(2026, 9, 1))
        assert Account.objects.filter(pk=account.pk).exists()

    def test_without_a_leaving_date_it_counts_from_deactivation(self, wales):
        account = learner(
            wales.secondary,
            status=Account.Status.DEACTIVATED,
            status_reason=Account.StatusReason.LEAVER,
            deactivated_at=at(date(2025, 5, 1)),
        )
        lifecycle_sweep(on=date(2026, 4, 30))
        assert Account.objects.filter(pk=account.pk).exists()
        lifecycle_sweep(on=date(2026, 5, 1))
        assert not Account.objects.filter(pk=account.pk).exists()

    def test_deletion_removes_the_sealed_password_and_leaves_an_opaque_id(self, wales):
        account = leaver(wales.secondary, date(2025, 1, 1), legal_forename="Cadi", legal_surname="Gwynfor")
        shown_passwords_store_bulk(items=[(account.pk, "Dyfrgi4821")])
        EmailAlias.objects.create(account=account, email="hen@hwbcymru.net")
        pk, username = account.pk, account.username
        lifecycle_sweep(on=date(2026, 1, 1))
        assert not ShownPassword.objects.filter(account_id=pk).exists()
        assert not EmailAlias.objects.exists()
        event = AuditEvent.objects.get(action="lifecycle.delete_leaver")
        assert AuditEventTarget.objects.get(event=event).account_id == pk
        assert "Gwynfor" not in str(event.details) and username not in str(event.details)
        # The username is never issued again.
        assert IssuedUsername.objects.filter(username_lower=username.lower(), account=None).exists()


@pytest.mark.django_db
class TestDryRunAndCommand:
    def _world(self, wales, on):
        expired = non_mis(wales.secondary, expires_on=on - timedelta(days=1), **recent(on))
        idle = non_mis(
            wales.secondary,
            last_login=LONG_AGO,
            created_at=LONG_AGO,
            status_changed_at=LONG_AGO,
            expires_on=on + timedelta(days=100),
        )
        gone = leaver(wales.secondary, add_months(on, -13))
        return expired, idle, gone

    def test_the_dry_run_reports_and_changes_nothing(self, wales):
        on = date(2026, 6, 1)
        expired, idle, gone = self._world(wales, on)
        before = list(Account.objects.order_by("pk").values())
        events = AuditEvent.objects.count()
        report = lifecycle_sweep(on=on, dry_run=True)
        assert (report.expired, report.inactive, report.deleted) == ([expired.pk], [idle.pk], [gone.pk])
        assert list(Account.objects.order_by("pk").values()) == before
        assert AuditEvent.objects.count() == events

    def test_the_dry_run_matches_the_real_run(self, wales):
        on = date(2026, 6, 1)
        self._world(wales, on)
        dry = lifecycle_sweep(on=on, dry_run=True)
        real = lifecycle_sweep(on=on)
        assert (dry.expired, dry.inactive, dry.deleted) == (real.expired, real.inactive, real.deleted)
        assert lifecycle_sweep(on=on).total == 0  # a second run finds nothing

    def test_the_command_reports(self, wales):
        on = date(2026, 6, 1)
        expired, _idle, _gone = self._world(wales, on)
        out = StringIO()
        call_command("lifecycle_sweep", "--dry-run", "--date", on.isoformat(), "-v", "2", stdout=out)
        text = out.getvalue()
        assert "(dry run)" in text and "1 account(s) would be expired" in text and str(expired.pk) in text
        assert status(expired) == Account.Status.ACTIVE
        out = StringIO()
        call_command("lifecycle_sweep", "--date", on.isoformat(), stdout=out)
        assert "1 account(s) were deleted (leavers)" in out.getvalue()
        assert status(expired) == Account.Status.DEACTIVATED

    def test_the_command_refuses_a_bad_date(self):
        from django.core.management.base import CommandError

        with pytest.raises(CommandError):
            call_command("lifecycle_sweep", "--date", "31/08/2026")

    def test_the_beat_schedule_runs_it_daily(self):
        from django.conf import settings

        entry = settings.CELERY_BEAT_SCHEDULE["accounts-lifecycle-sweep"]
        assert entry["task"] == "accounts.tasks.lifecycle_sweep_daily"

    def test_the_task_sweeps(self, wales):
        from accounts.tasks import lifecycle_sweep_daily

        on = timezone.localdate()
        non_mis(wales.secondary, expires_on=on - timedelta(days=1), **recent(on))
        assert lifecycle_sweep_daily.delay().get() == {"expired": 1, "inactive": 0, "deleted": 0}


class TestDates:
    @pytest.mark.parametrize(
        ("start", "months", "expected"),
        [
            (date(2026, 1, 31), 1, date(2026, 2, 28)),
            (date(2028, 1, 31), 1, date(2028, 2, 29)),  # leap year
            (date(2024, 2, 29), 12, date(2025, 2, 28)),
            (date(2024, 2, 29), -12, date(2023, 2, 28)),
            (date(2026, 11, 15), 3, date(2027, 2, 15)),
            (date(2026, 8, 31), 6, date(2027, 2, 28)),
        ],
    )
    def test_add_months(self, start, months, expected):
        assert add_months(start, months) == expected

    @pytest.mark.parametrize(
        ("on", "expected"),
        [
            (date(2026, 8, 31), date(2026, 8, 31)),
            (date(2026, 9, 1), date(2027, 8, 31)),
            (date(2027, 1, 1), date(2027, 8, 31)),
        ],
    )
    def test_the_end_of_the_academic_year(self, on, expected):
        assert academic_year_end(on) == expected
        assert expiry_for("year", start=on) == expected

    def test_the_end_of_next_academic_year(self):
        assert expiry_for("next_year", start=date(2026, 8, 31)) == date(2027, 8, 31)
        assert expiry_for("next_year", start=date(2026, 9, 1)) == date(2028, 8, 31)
