"""Many schools in one transaction: each reconciled as if alone, held alone, and all or nothing together."""

import pytest

from accounts.models import Account, AuditEvent, AuditEventTarget, IssuedUsername
from accounts.sealing import upn_hash
from provisioning.models import ProvisioningRun
from provisioning.readers import read_extract
from provisioning.runs import run_create, runs_apply_queued
from provisioning.sync import Item, extract_apply, extracts_apply
from provisioning.sync import apply as sync_apply

from .conftest import TODAY
from .extracts import pupil, pupils_csv, staff, staff_csv, upn

pytestmark = pytest.mark.django_db


def item(org, data):
    return Item(org, read_extract(data, school_code=org.code))


def apply_alone(org, data):
    return extract_apply(organisation=org, extract=read_extract(data, school_code=org.code), today=TODAY)


def batch(*items):
    return extracts_apply(items=list(items), today=TODAY)


class BatchTests:
    def test_each_school_of_a_batch_gets_its_own_report_and_audit(self, wales):
        reports = batch(
            item(wales.secondary, pupils_csv([pupil(1, "Jones", "Dafydd"), pupil(2, "Jones", "Dylan")])),
            item(wales.other_school, pupils_csv([pupil(1, "Jones", "Deio", est=2001)])),
            item(wales.secondary, staff_csv([staff("RMO", "Morgan", "Rhys")])),
        )
        assert [r.created for r in reports] == [2, 1, 1]
        learners = Account.objects.filter(kind="learner", upn_hash__isnull=False)
        assert sorted(learners.values_list("username", flat=True)) == ["JonesD", "JonesD2", "JonesD3"]
        assert Account.objects.get(upn_hash=upn_hash(upn(1, est=2001))).organisation == wales.other_school
        # every claim points at its account, and every school has its own audit event with its own targets
        assert not IssuedUsername.objects.filter(username_lower__startswith="jonesd", account=None).exists()
        # (the ledger's account and the audit's event are not checked by the database row by row: check them here)
        claimed = dict(IssuedUsername.objects.values_list("username_lower", "account_id"))
        holders = {a.username.lower(): a.pk for a in Account.objects.filter(pk__in=claimed.values())}
        assert holders == claimed
        targets = AuditEventTarget.objects.filter(event__action="provisioning.create")
        assert targets.count() == 4 and set(targets.values_list("event_id", flat=True)) <= set(
            AuditEvent.objects.values_list("pk", flat=True)
        )
        events = AuditEvent.objects.filter(action="provisioning.create")
        assert sorted((e.organisation_id, e.target_count) for e in events) == sorted(
            [(wales.secondary.pk, 2), (wales.other_school.pk, 1), (wales.secondary.pk, 1)]
        )

    @pytest.mark.parametrize("order", ["leaver_first", "joiner_first"])
    def test_a_learner_moving_between_two_schools_of_one_batch_keeps_one_account(self, wales, order):
        apply_alone(wales.other_school, pupils_csv([pupil(1, "Parry", "Siân"), pupil(2)]))
        moving = Account.objects.get(upn_hash=upn_hash(upn(1)))
        leaving = item(wales.other_school, pupils_csv([pupil(2)]))
        joining = item(wales.secondary, pupils_csv([pupil(1, "Parry", "Siân", reg="10C")]))
        items = [leaving, joining] if order == "leaver_first" else [joining, leaving]
        reports = batch(*items)
        after = Account.objects.get(upn_hash=upn_hash(upn(1)))
        assert after.pk == moving.pk and after.username == moving.username
        assert (after.organisation_id, after.status, after.registration_group) == (
            wales.secondary.pk,
            "active",
            "10C",
        )
        joined = reports[items.index(joining)]
        assert (joined.transferred_in, joined.created) == (1, 0)
        # and the same extracts again change nothing
        again = batch(*items)
        assert [r.unchanged for r in again] == [1, 1]
        assert sum(r.created + r.updated + r.transferred_in + r.deactivated for r in again) == 0

    def test_two_schools_of_one_batch_listing_one_new_upn_make_one_account(self, wales):
        reports = batch(
            item(wales.secondary, pupils_csv([pupil(5, "Rees", "Nia")])),
            item(wales.other_school, pupils_csv([pupil(5, "Rees", "Nia")])),
        )
        assert Account.objects.filter(upn_hash=upn_hash(upn(5))).count() == 1
        assert sum(r.created for r in reports) == 1

    def test_a_held_school_does_not_hold_back_the_rest(self, wales):
        apply_alone(wales.secondary, pupils_csv([pupil(n) for n in range(1, 21)]))
        reports = batch(
            item(wales.secondary, pupils_csv([pupil(1)])),  # 19 of 20 would go: the brake holds it
            item(wales.other_school, pupils_csv([pupil(1, est=2001)])),
        )
        assert (reports[0].held, reports[0].deactivated) == ("brake", 19)
        assert (reports[1].held, reports[1].created) == ("", 1)
        assert Account.objects.filter(organisation=wales.secondary, status="active").count() == 20
        assert Account.objects.filter(organisation=wales.other_school, upn_hash__isnull=False).count() == 1

    def test_a_batch_is_all_or_nothing(self, wales, monkeypatch):
        def killed(*args, **kwargs):
            raise RuntimeError("worker killed")

        monkeypatch.setattr(sync_apply, "audit_record_bulk", killed)
        with pytest.raises(RuntimeError):
            batch(
                item(wales.secondary, pupils_csv([pupil(1), pupil(2)])),
                item(wales.other_school, pupils_csv([pupil(1, est=2001)])),
            )
        assert not Account.objects.filter(upn_hash__isnull=False).exists()
        assert not IssuedUsername.objects.exists()


class QueueTests:
    def queue(self, org, data):
        return run_create(organisation=org, data=data, source=ProvisioningRun.Source.COMMAND)

    def test_the_hourly_sweep_applies_queued_runs_in_batches(self, wales, settings):
        settings.UMP_PROVISIONING_BATCH = 2
        runs = [
            self.queue(wales.secondary, pupils_csv([pupil(1), pupil(2)])),
            self.queue(wales.other_school, pupils_csv([pupil(1, est=2001)])),
            self.queue(wales.secondary, staff_csv([staff("RMO", "Morgan", "Rhys")])),
        ]
        assert runs_apply_queued() == [r.pk for r in runs]
        runs = [ProvisioningRun.objects.get(pk=r.pk) for r in runs]
        assert [(r.status, r.created, r.file_path) for r in runs] == [
            ("applied", 2, ""),
            ("applied", 1, ""),
            ("applied", 1, ""),
        ]

    def test_one_school_that_fails_does_not_fail_its_batch(self, wales, monkeypatch):
        unreadable = self.queue(wales.secondary, b"\x00\x01 not an extract")
        fine = self.queue(wales.other_school, pupils_csv([pupil(1, est=2001)]))
        broken = self.queue(wales.secondary, staff_csv([staff("RMO", "Morgan", "Rhys")]))
        real_plan = sync_apply.extract_plan

        def plan(organisation, extract, assessment):
            if "staff" in extract.kinds:
                raise RuntimeError("a bug met by one school's data")
            return real_plan(organisation, extract, assessment)

        monkeypatch.setattr(sync_apply, "extract_plan", plan)
        runs_apply_queued()
        status = dict(ProvisioningRun.objects.values_list("pk", "status"))
        assert (status[unreadable.pk], status[fine.pk], status[broken.pk]) == ("failed", "applied", "failed")
        assert Account.objects.filter(organisation=wales.other_school, upn_hash__isnull=False).count() == 1
        assert not Account.objects.filter(kind="staff", staff_code="RMO").exists()
        assert ProvisioningRun.objects.get(pk=broken.pk).error_code == "error"


class StaleRowTests:
    def test_only_the_school_whose_accounts_changed_under_it_plans_again(self, wales, monkeypatch):
        from django.utils import timezone

        apply_alone(wales.secondary, pupils_csv([pupil(1, reg="7A")]))
        apply_alone(wales.other_school, pupils_csv([pupil(1, est=2001, reg="7A")]))
        account = Account.objects.get(upn_hash=upn_hash(upn(1)))
        planned = []
        real_plan = sync_apply.extract_plan

        def plan(organisation, extract, assessment):
            result = real_plan(organisation, extract, assessment)
            planned.append(organisation.code)
            if len(planned) == 1:
                # another worker changes the secondary's learner after this batch read it
                Account.objects.filter(pk=account.pk).update(
                    registration_group="9Z", updated_at=timezone.now()
                )
            return result

        monkeypatch.setattr(sync_apply, "extract_plan", plan)
        reports = batch(
            item(wales.secondary, pupils_csv([pupil(1, reg="7B")])),
            item(wales.other_school, pupils_csv([pupil(1, est=2001, reg="7B")])),
        )
        assert planned == [wales.secondary.code, wales.other_school.code, wales.secondary.code]
        assert [r.updated for r in reports] == [1, 1]
        assert Account.objects.get(pk=account.pk).registration_group == "7B"


class DeadlockTests:
    def test_a_batch_that_keeps_deadlocking_goes_on_in_halves(self, wales, monkeypatch):
        from django.db import OperationalError

        class Deadlock(Exception):
            sqlstate = "40P01"

        real = sync_apply._apply_batch
        sizes = []

        def apply_batch(items, *args):
            sizes.append(len(items))
            if len(items) > 1:  # another worker's claims, every time
                try:
                    raise Deadlock
                except Deadlock as cause:
                    raise OperationalError("deadlock detected") from cause
            return real(items, *args)

        monkeypatch.setattr(sync_apply, "_apply_batch", apply_batch)
        reports = batch(
            item(wales.secondary, pupils_csv([pupil(1)])),
            item(wales.other_school, pupils_csv([pupil(1, est=2001)])),
            item(wales.secondary, staff_csv([staff("RMO", "Morgan", "Rhys")])),
        )
        assert [r.created for r in reports] == [1, 1, 1]
        assert sizes == [3, 3, 1, 2, 2, 1, 1]
