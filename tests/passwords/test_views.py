import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import AuditEvent
from passwords import selectors, services
from passwords.models import ShownPassword

pytestmark = pytest.mark.django_db

PASSWORD = "Xk7pQr2mWz9a"


@pytest.fixture
def shown(secondary_learner, teacher):
    services.password_set(account=secondary_learner, actor=teacher, new_password=PASSWORD)
    return secondary_learner


def reveal_url(account):
    return reverse("passwords:reveal", args=[account.pk])


class RevealTests:
    def test_it_returns_the_password_uncached_and_audits_it(self, shown, teacher, login):
        response = login(teacher).post(reveal_url(shown))
        assert response.status_code == 200
        assert response.json() == {"password": PASSWORD}
        assert "no-store" in response["Cache-Control"]
        event = AuditEvent.objects.get(action="password.reveal")
        assert event.actor_id == teacher.pk and event.target_count == 1
        assert PASSWORD not in str(event.details)

    def test_get_is_not_allowed(self, shown, teacher, login):
        assert login(teacher).get(reveal_url(shown)).status_code == 405
        assert not AuditEvent.objects.filter(action="password.reveal").exists()

    def test_anonymous_is_sent_to_sign_in(self, shown, client):
        response = client.post(reveal_url(shown))
        assert response.status_code == 302 and "/login/" in response["Location"]

    def test_a_teacher_of_another_school_gets_404(self, shown, other_teacher, login):
        assert login(other_teacher).post(reveal_url(shown)).status_code == 404

    def test_only_the_digital_champion_may_show_a_staff_password(self, teacher, digital_champion, login):
        services.password_set(account=teacher, actor=digital_champion, new_password=PASSWORD)
        colleague = login(digital_champion)
        assert colleague.post(reveal_url(teacher)).status_code == 200
        from tests.factories import staff

        other_colleague = staff(teacher.organisation, legal_forename="Nia", legal_surname="Morgan")
        # Staff accounts are not visible to other teachers at all: 404, not 403.
        assert login(other_colleague).post(reveal_url(teacher)).status_code == 404

    def test_a_learner_cannot_show_their_own(self, shown, login):
        assert login(shown).post(reveal_url(shown)).status_code == 403

    def test_a_reveal_without_csrf_is_refused(self, shown, teacher):
        client = Client(enforce_csrf_checks=True)
        client.force_login(teacher, backend="accounts.backends.UsernameOrEmailBackend")
        response = client.post(reveal_url(shown))
        assert response.status_code == 403
        assert PASSWORD not in response.content.decode()
        assert not AuditEvent.objects.filter(action="password.reveal").exists()

    def test_no_sealed_copy_is_a_404_and_not_audited(self, secondary_learner, teacher, login):
        assert login(teacher).post(reveal_url(secondary_learner)).status_code == 404
        assert not AuditEvent.objects.filter(action="password.reveal").exists()


class StatusTests:
    def test_detail_page_offers_show_password_without_the_password(self, shown, teacher, login):
        page = login(teacher).get(reverse("accounts:account_detail", args=[shown.pk])).content.decode()
        assert "Show password" in page and reveal_url(shown) in page
        assert PASSWORD not in page

    def test_list_shows_each_status_in_one_query(
        self, shown, teacher, login, wales, django_assert_max_num_queries
    ):
        from tests.factories import learner

        changed = learner(wales.secondary, legal_forename="Cai", legal_surname="Rowlands")
        services.password_set(account=changed, actor=changed, new_password="Qw8rTy5uZx3c", by_owner=True)
        nothing = learner(wales.secondary, legal_forename="Elin", legal_surname="Tomos")
        client = login(teacher)
        url = reverse("accounts:user_list", args=["learners"]) + f"?org={wales.secondary.code}"
        client.get(url)
        with django_assert_max_num_queries(12) as queries:
            page = client.get(url).content.decode()
        assert sum("passwords_shownpassword" in q["sql"] for q in queries.captured_queries) == 1
        assert "Show password" in page and "User changed password" in page
        assert PASSWORD not in page
        assert nothing.username in page

    def test_reveal_buttons_are_absent_for_those_who_may_not_show(self, teacher, digital_champion, login):
        services.password_set(account=teacher, actor=digital_champion, new_password=PASSWORD)
        from tests.factories import staff

        colleague = staff(teacher.organisation, legal_forename="Nia", legal_surname="Morgan")
        colleague_page = login(colleague).get(reverse("accounts:profile")).content.decode()
        assert reveal_url(teacher) not in colleague_page


class ResetOneTests:
    def test_the_page_offers_both_ways(self, secondary_learner, teacher, login):
        page = login(teacher).get(reverse("passwords:reset", args=[secondary_learner.pk])).content.decode()
        assert "Generate Password" in page and "Update Password" in page

    def test_generate_shows_a_password_and_applies_nothing(self, secondary_learner, teacher, login):
        before = secondary_learner.password
        url = reverse("passwords:reset", args=[secondary_learner.pk])
        response = login(teacher).get(url, {"generate": "1"})
        suggestion = response.context["suggestion"]
        page = response.content.decode()
        assert suggestion and f'value="{suggestion}"' in page  # filled in, in clear, to be noted
        assert "no-store" in response["Cache-Control"]
        secondary_learner.refresh_from_db()
        assert secondary_learner.password == before
        assert not ShownPassword.objects.exists()
        assert not AuditEvent.objects.filter(action="password.reset").exists()

    def test_update_password_applies_the_generated_one(self, secondary_learner, teacher, login):
        client = login(teacher)
        suggestion = client.get(
            reverse("passwords:reset", args=[secondary_learner.pk]), {"generate": "1"}
        ).context["suggestion"]
        response = client.post(
            reverse("passwords:reset_chosen", args=[secondary_learner.pk]),
            {"new_password1": suggestion, "new_password2": suggestion},
        )
        assert response.status_code == 302
        secondary_learner.refresh_from_db()
        assert secondary_learner.check_password(suggestion)
        assert selectors.shown_password(secondary_learner) == suggestion

    def test_a_learner_is_offered_a_learner_style_password(self, secondary_learner, teacher, login):
        url = reverse("passwords:reset", args=[secondary_learner.pk])
        suggestion = login(teacher).get(url, {"generate": "1"}).context["suggestion"]
        assert suggestion[0].isupper() and suggestion[-2:].isdigit()

    def test_a_chosen_password_must_meet_the_policy(self, secondary_learner, teacher, login):
        url = reverse("passwords:reset_chosen", args=[secondary_learner.pk])
        client = login(teacher)
        response = client.post(url, {"new_password1": "password1", "new_password2": "password1"})
        assert response.status_code == 400
        assert not ShownPassword.objects.exists()
        response = client.post(url, {"new_password1": PASSWORD, "new_password2": PASSWORD})
        assert response.status_code == 302
        assert selectors.shown_password(secondary_learner) == PASSWORD

    def test_another_school_is_404_and_a_colleague_403(
        self, secondary_learner, teacher, other_teacher, login
    ):
        url = reverse("passwords:reset_chosen", args=[secondary_learner.pk])
        data = {"new_password1": PASSWORD, "new_password2": PASSWORD}
        assert login(other_teacher).post(url, data).status_code == 404
        assert (
            login(teacher).post(reverse("passwords:reset_chosen", args=[teacher.pk]), data).status_code == 403
        )
        assert not AuditEvent.objects.filter(action="password.reset").exists()

    def test_anonymous_is_sent_to_sign_in(self, secondary_learner, client):
        response = client.post(reverse("passwords:reset_chosen", args=[secondary_learner.pk]))
        assert response.status_code == 302 and "/login/" in response["Location"]


class OwnPasswordTests:
    def post(self, client, old, new):
        return client.post(
            reverse("passwords:own_password"),
            {"old_password": old, "new_password1": new, "new_password2": new},
        )

    def test_a_secondary_learner_changes_theirs_and_other_sessions_end(
        self, secondary_learner, shown, client
    ):
        other_device = Client()
        other_device.force_login(secondary_learner, backend="accounts.backends.UsernameOrEmailBackend")
        client.force_login(secondary_learner, backend="accounts.backends.UsernameOrEmailBackend")
        assert other_device.get(reverse("accounts:profile")).status_code == 200
        response = self.post(client, PASSWORD, "Qw8rTy5uZx3c")  # the `shown` fixture set PASSWORD
        assert response.status_code == 302
        # This session carries on; the other device is signed out.
        assert client.get(reverse("accounts:profile")).status_code == 200
        assert other_device.get(reverse("accounts:profile")).status_code == 302
        shown_row = ShownPassword.objects.get(account=secondary_learner)
        assert shown_row.sealed is None and shown_row.changed_by_owner
        assert AuditEvent.objects.filter(action="password.change_own").count() == 1

    def test_a_primary_learner_cannot_reset_their_own(self, primary_learner, login):
        client = login(primary_learner)
        assert client.get(reverse("passwords:own_password")).status_code == 403
        assert self.post(client, "CroesoHwb2026", "Qw8rTy5uZx3c").status_code == 403
        primary_learner.refresh_from_db()
        assert primary_learner.check_password("CroesoHwb2026")
        assert "Reset password" not in client.get(reverse("accounts:profile")).content.decode()

    def test_the_current_password_is_required(self, teacher, login):
        response = self.post(login(teacher), "wrong", "Qw8rTy5uZx3c")
        assert response.status_code == 400
        teacher.refresh_from_db()
        assert not teacher.check_password("Qw8rTy5uZx3c")

    def test_generate_suggests_a_password_without_saving_it(self, teacher, login):
        client = login(teacher)
        page = client.get(reverse("passwords:own_password") + "?generate=1")
        assert "New password:" in page.content.decode()
        assert "no-store" in page["Cache-Control"]
        assert not ShownPassword.objects.exists()

    def test_profile_offers_the_reset_to_those_allowed(self, governor, login):
        page = login(governor).get(reverse("accounts:profile")).content.decode()
        assert reverse("passwords:own_password") in page


class SupplyTeacherTests:
    """The help: ANY school staff user may reset a learner's password, a supply teacher too."""

    def test_a_supply_teacher_lists_resets_shows_and_prints_their_schools_learners(
        self, wales, supply_teacher, secondary_learner, login
    ):
        client = login(supply_teacher)
        listing = client.get(reverse("accounts:user_list", args=["learners"]), {"org": wales.secondary.code})
        assert listing.status_code == 200 and secondary_learner.username in listing.content.decode()
        reset = client.post(
            reverse("passwords:reset_chosen", args=[secondary_learner.pk]),
            {"new_password1": PASSWORD, "new_password2": PASSWORD},
        )
        assert reset.status_code in (200, 302)
        assert AuditEvent.objects.filter(action="password.reset", actor_id=supply_teacher.pk).exists()
        assert client.post(reveal_url(secondary_learner)).json() == {"password": PASSWORD}
        printed = client.post(reverse("printing:account", args=[secondary_learner.pk, "details"]))
        assert printed.status_code == 200 and printed["Content-Type"] == "application/pdf"

    def test_a_supply_teacher_of_another_school_gets_404(self, wales, supply_teacher, other_learner, login):
        url = reverse("passwords:reset", args=[other_learner.pk])
        assert login(supply_teacher).get(url).status_code == 404

    def test_governors_and_service_accounts_may_not_reset_learner_passwords(
        self, governor, service_account, secondary_learner, login
    ):
        for person in (governor, service_account):
            assert (
                login(person).get(reverse("passwords:reset", args=[secondary_learner.pk])).status_code == 404
            )


class WelshPasswordFormTests:
    """Django's own confirm-password wording has no Welsh: the portal's forms word it themselves."""

    def test_a_mismatch_and_the_confirm_help_are_in_welsh(self, secondary_learner, teacher, login):
        client = login(teacher)
        client.cookies["django_language"] = "cy"
        page = client.get(reverse("passwords:reset", args=[secondary_learner.pk])).content.decode()
        assert "Enter the same password as before" not in page
        assert "Teipiwch yr un cyfrinair eto" in page
        response = client.post(
            reverse("passwords:reset_chosen", args=[secondary_learner.pk]),
            {"new_password1": PASSWORD, "new_password2": PASSWORD + "x"},
        )
        page = response.content.decode().replace("&#x27;", "'")
        assert "didn’t match" not in page and "didn't match" not in page
        assert "Nid yw'r ddau gyfrinair yr un fath" in page

    def test_my_profile_asks_for_the_current_password_in_welsh(self, teacher, login):
        client = login(teacher)
        client.cookies["django_language"] = "cy"
        page = client.get(reverse("passwords:own_password")).content.decode()
        assert "Cyfrinair presennol" in page and "Enter the same password as before" not in page
