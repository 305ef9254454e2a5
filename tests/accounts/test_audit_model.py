"""Audit events are append-only, in the code and (on PostgreSQL) in the database itself."""

import pytest
from django.db import IntegrityError, InternalError, ProgrammingError, connection, transaction

from accounts.models import AuditEvent
from accounts.services import audit_record, audit_record_bulk


@pytest.mark.django_db
class TestAppendOnly:
    def test_an_event_records_actor_targets_and_address(self, teacher, secondary_learner, rf):
        request = rf.get("/", REMOTE_ADDR="198.51.100.7")
        event = audit_record(
            actor=teacher,
            action="password.reset",
            targets=[secondary_learner],
            organisation=teacher.organisation,
            request=request,
            details={"kind": "single"},
        )
        assert event.actor_id == teacher.pk and event.client_ip == "198.51.100.7"
        assert list(event.targets.values_list("account_id", flat=True)) == [secondary_learner.pk]

    def test_many_events_at_once_each_keep_their_own_targets(self, teacher, secondary_learner, wales):
        events = audit_record_bulk(
            actor=teacher,
            events=[
                (
                    "provisioning.create",
                    wales.secondary,
                    [secondary_learner.pk, teacher.pk, teacher.pk],
                    {"run": 1},
                ),
                ("provisioning.deactivate", wales.primary, [teacher.pk], {"run": 2}),
            ],
        )
        got = [
            (
                e.action,
                e.organisation_id,
                e.target_count,
                e.details,
                sorted(e.targets.values_list("account_id", flat=True)),
            )
            for e in AuditEvent.objects.filter(pk__in=[e.pk for e in events]).order_by("pk")
        ]
        assert got == [
            (
                "provisioning.create",
                wales.secondary.pk,
                2,
                {"run": 1},
                sorted([secondary_learner.pk, teacher.pk]),
            ),
            ("provisioning.deactivate", wales.primary.pk, 1, {"run": 2}, [teacher.pk]),
        ]
        assert {e.actor_id for e in events} == {teacher.pk}

    def test_saving_again_is_refused(self, teacher):
        event = audit_record(actor=teacher, action="x")
        event.action = "y"
        with pytest.raises(PermissionError):
            event.save()
        with pytest.raises(PermissionError):
            event.delete()
        with pytest.raises(PermissionError):
            AuditEvent.objects.all().update(action="y")
        with pytest.raises(PermissionError):
            AuditEvent.objects.all().delete()

    @pytest.mark.postgres_only(reason="the append-only trigger")
    def test_the_database_refuses_updates_behind_the_orms_back(self, teacher):
        audit_record(actor=teacher, action="x")
        with (
            pytest.raises((InternalError, IntegrityError, ProgrammingError)),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute("UPDATE accounts_auditevent SET action = 'y'")
