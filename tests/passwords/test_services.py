import pytest
from django.core.exceptions import ValidationError

from accounts.models import AuditEvent
from accounts.sealing import unseal
from passwords import selectors, services
from passwords.models import ShownPassword
from tests.factories import learner

pytestmark = pytest.mark.django_db


class PasswordSetTests:
    def test_staff_set_keeps_a_sealed_copy_and_a_hash(self, secondary_learner, teacher):
        services.password_set(account=secondary_learner, actor=teacher, new_password="Xk7pQr2mWz9a")
        secondary_learner.refresh_from_db()
        assert secondary_learner.check_password("Xk7pQr2mWz9a")
        shown = ShownPassword.objects.get(account=secondary_learner)
        assert shown.sealed != "Xk7pQr2mWz9a" and unseal(shown.sealed) == "Xk7pQr2mWz9a"
        assert selectors.password_statuses([secondary_learner.pk]) == {secondary_learner.pk: selectors.SHOWN}

    def test_an_owner_change_destroys_the_sealed_copy(self, secondary_learner, teacher):
        services.password_set(account=secondary_learner, actor=teacher, new_password="Xk7pQr2mWz9a")
        services.password_set(
            account=secondary_learner, actor=secondary_learner, new_password="Qw8rTy5uZx3c", by_owner=True
        )
        shown = ShownPassword.objects.get(account=secondary_learner)
        assert shown.sealed is None and shown.changed_by_owner
        assert selectors.shown_password(secondary_learner) is None
        assert (
            selectors.password_statuses([secondary_learner.pk])[secondary_learner.pk]
            == selectors.USER_CHANGED
        )

    def test_it_applies_the_policy_for_that_account(self, secondary_learner, teacher):
        with pytest.raises(ValidationError) as caught:
            services.password_set(account=secondary_learner, actor=teacher, new_password="short")
        assert "password_too_short" in {e.code for e in caught.value.error_list}
        surname = secondary_learner.legal_surname.replace("'", "")
        with pytest.raises(ValidationError):
            services.password_set(account=secondary_learner, actor=teacher, new_password=f"{surname}X99")
        assert not ShownPassword.objects.exists()

    def test_it_is_audited_without_the_password(self, secondary_learner, teacher):
        services.password_set(account=secondary_learner, actor=teacher, new_password="Xk7pQr2mWz9a")
        event = AuditEvent.objects.get(action="password.set")
        assert event.actor_id == teacher.pk
        assert list(event.targets.values_list("account_id", flat=True)) == [secondary_learner.pk]
        assert "Xk7pQr2mWz9a" not in str(event.details)


class PasswordResetTests:
    def test_a_generated_reset_gives_a_learner_a_learner_password(self, secondary_learner, teacher):
        result = services.password_reset(account=secondary_learner, actor=teacher)
        assert result.generated
        password = selectors.shown_password(secondary_learner)
        assert password[0].isupper() and password[-2:].isdigit()
        secondary_learner.refresh_from_db()
        assert secondary_learner.check_password(password)
        event = AuditEvent.objects.get(action="password.reset")
        assert event.details == {"generated": True}

    def test_staff_get_the_random_style(self, teacher, digital_champion):
        services.password_reset(account=teacher, actor=digital_champion)
        password = selectors.shown_password(teacher)
        assert len(password) >= 10


class BulkStoreTests:
    def test_it_seals_and_upserts_without_hashing(self, wales, django_assert_max_num_queries):
        pupils = [learner(wales.secondary) for _ in range(5)]
        before = {p.pk: p.password for p in pupils}
        services.shown_passwords_store_bulk(items=[(p.pk, f"Otter{i}234") for i, p in enumerate(pupils)])
        with django_assert_max_num_queries(1):
            services.shown_passwords_store_bulk(items=[(p.pk, f"Badger{i}34") for i, p in enumerate(pupils)])
        assert selectors.shown_passwords([p.pk for p in pupils]) == {
            p.pk: f"Badger{i}34" for i, p in enumerate(pupils)
        }
        for p in pupils:
            p.refresh_from_db()
            assert p.password == before[p.pk]

    def test_a_bulk_store_clears_user_changed(self, secondary_learner, teacher):
        services.password_set(
            account=secondary_learner, actor=secondary_learner, new_password="Qw8rTy5uZx3c", by_owner=True
        )
        services.shown_passwords_store_bulk(items=[(secondary_learner.pk, "Otter2345")])
        assert selectors.password_statuses([secondary_learner.pk])[secondary_learner.pk] == selectors.SHOWN


class KeyRotationTests:
    def test_every_reveal_works_across_a_key_rotation(self, wales, teacher, settings):
        from django.core.management import call_command

        from accounts.sealing import generate_key

        pupils = [learner(wales.secondary) for _ in range(3)]
        services.shown_passwords_store_bulk(items=[(p.pk, f"Otter{i}234") for i, p in enumerate(pupils)])
        old_tokens = dict(ShownPassword.objects.values_list("account_id", "sealed"))
        settings.UMP_SEAL_KEYS = [generate_key(), *settings.UMP_SEAL_KEYS]
        # Before re-sealing the old key still opens them ...
        assert selectors.shown_passwords([p.pk for p in pupils]) == {
            p.pk: f"Otter{i}234" for i, p in enumerate(pupils)
        }
        call_command("rotate_keys", verbosity=0)
        new_tokens = dict(ShownPassword.objects.values_list("account_id", "sealed"))
        assert all(new_tokens[pk] != old_tokens[pk] for pk in old_tokens)
        # ... and after re-sealing, the newest key alone is enough.
        settings.UMP_SEAL_KEYS = settings.UMP_SEAL_KEYS[:1]
        assert selectors.shown_passwords([p.pk for p in pupils]) == {
            p.pk: f"Otter{i}234" for i, p in enumerate(pupils)
        }
