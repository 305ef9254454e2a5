"""Audit events are append-only, in the code and (on PostgreSQL) in the database itself; their actions are a closed list."""

import pytest
from django.db import IntegrityError, InternalError, ProgrammingError, connection, transaction
from django.urls import reverse
from django.utils import translation

from accounts.audit import AuditAction, action_choices, action_label, audit_record, audit_record_bulk
from accounts.models import AuditEvent


@pytest.mark.django_db
class TestAppendOnly:
    def test_an_event_records_actor_targets_and_address(self, teacher, secondary_learner, rf):
        request = rf.get("/", REMOTE_ADDR="198.51.100.7")
        event = audit_record(
            actor=teacher,
            action=AuditAction.PASSWORD_RESET,
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
                    AuditAction.PROVISIONING_CREATE,
                    wales.secondary,
                    [secondary_learner.pk, teacher.pk, teacher.pk],
                    {"run": 1},
                ),
                (AuditAction.PROVISIONING_DEACTIVATE, wales.primary, [teacher.pk], {"run": 2}),
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
        event = audit_record(actor=teacher, action=AuditAction.PASSWORD_RESET)
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
        audit_record(actor=teacher, action=AuditAction.PASSWORD_RESET)
        with (
            pytest.raises((InternalError, IntegrityError, ProgrammingError)),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute("UPDATE accounts_auditevent SET action = 'y'")


class TestVocabulary:
    @pytest.mark.parametrize("action", list(AuditAction), ids=str)
    def test_every_action_has_a_welsh_label(self, action):
        english = str(action.label)
        with translation.override("cy"):
            welsh = str(action.label)
        assert welsh and welsh != english

    def test_the_codes_are_the_ones_already_stored(self):
        assert AuditAction("password.reveal") is AuditAction.PASSWORD_REVEAL
        assert len(AuditAction) == len({action.value for action in AuditAction}) == 62

    def test_every_action_is_offered_by_the_audit_filter(self):
        offered = {
            value
            for group, options in action_choices()[1:]
            for value, _label in options
            if not value.endswith(".")
        }
        assert offered == set(AuditAction.values)

    def test_a_code_no_longer_in_use_reads_as_itself(self):
        assert action_label("legacy.code") == "legacy.code"
        with translation.override("cy"):
            assert action_label("password.reveal") == "Cyfrinair wedi'i ddangos"


@pytest.mark.django_db
class TestUnknownActionsAreRefused:
    def test_audit_record_refuses_an_unknown_code(self, teacher):
        with pytest.raises(ValueError, match="password.reveel"):
            audit_record(actor=teacher, action="password.reveel", targets=[teacher])
        assert not AuditEvent.objects.exists()

    def test_audit_record_bulk_refuses_an_unknown_code(self, teacher, wales):
        with pytest.raises(ValueError, match="provisioning.creat"):
            audit_record_bulk(
                actor=teacher,
                events=[
                    (AuditAction.PROVISIONING_CREATE, wales.secondary, [teacher.pk], {}),
                    ("provisioning.creat", wales.secondary, [teacher.pk], {}),
                ],
            )
        assert not AuditEvent.objects.exists()

    def test_an_unknown_outcome_is_refused_too(self, teacher):
        with pytest.raises(ValueError, match="sucess"):
            audit_record(actor=teacher, action=AuditAction.SIGNIN_SUCCESS, outcome="sucess")
        assert not AuditEvent.objects.exists()


@pytest.mark.django_db
class TestAdmin:
    def test_the_admin_lists_events_by_their_label(self, client, national_admin, teacher):
        audit_record(actor=teacher, action=AuditAction.PASSWORD_REVEAL, organisation=teacher.organisation)
        national_admin.is_staff = national_admin.is_superuser = True
        national_admin.save(update_fields=["is_staff", "is_superuser"])
        client.force_login(national_admin, backend="accounts.backends.UsernameOrEmailBackend")
        page = client.get(reverse("admin:accounts_auditevent_changelist")).content.decode()
        assert "Password shown" in page
