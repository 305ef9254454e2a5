"""Edit name: names and display name, optionally a new username with a new email, alias and password."""

import pytest
from django.urls import reverse

from accounts.models import Account, AuditEvent, EmailAlias, IssuedUsername
from passwords.selectors import shown_password
from tests.factories import learner

K = Account.Kind


def url(account):
    return reverse("accounts:manage_rename", args=[account.pk])


@pytest.mark.django_db
class TestRename:
    def test_the_form_starts_with_the_current_names(self, login, digital_champion, governor):
        response = login(digital_champion).get(url(governor))
        assert response.context["form"].initial["legal_surname"] == "Tudur"

    def test_it_changes_names_and_audits_old_and_new(self, login, digital_champion, governor):
        old_username = governor.username
        response = login(digital_champion).post(
            url(governor),
            {"legal_forename": "Alun", "legal_surname": "Tudur-Jones", "display_name": "Alun T-J"},
        )
        assert response.status_code == 302
        governor.refresh_from_db()
        assert (governor.legal_surname, governor.display_name, governor.username) == (
            "Tudur-Jones",
            "Alun T-J",
            old_username,
        )
        details = AuditEvent.objects.get(action="account.rename").details
        assert details["old"]["surname"] == "Tudur" and details["new"]["surname"] == "Tudur-Jones"
        assert not EmailAlias.objects.exists()

    def test_an_empty_display_name_is_made_from_the_names(self, login, digital_champion, governor):
        login(digital_champion).post(
            url(governor), {"legal_forename": "Alun", "legal_surname": "Rhys", "display_name": ""}
        )
        governor.refresh_from_db()
        assert governor.display_name == "A Rhys"

    def test_a_display_name_made_from_the_names_follows_a_new_forename(self, login, digital_champion, wales):
        elin = learner(wales.secondary, legal_forename="Elin", legal_surname="Bowen")
        assert elin.display_name == "Elin B"
        form = login(digital_champion).get(url(elin)).context["form"]
        login(digital_champion).post(url(elin), {**form.initial, "legal_forename": "Elan"})
        elin.refresh_from_db()
        assert (elin.legal_forename, elin.display_name) == ("Elan", "Elan B")

    def test_a_display_name_someone_chose_stays_when_the_names_change(self, login, digital_champion, wales):
        elin = learner(
            wales.secondary, legal_forename="Elin", legal_surname="Bowen", display_name="Eli Bowen"
        )
        data = {"legal_forename": "Elan", "legal_surname": "Bowen", "display_name": "Eli Bowen"}
        login(digital_champion).post(url(elin), data)
        elin.refresh_from_db()
        assert (elin.legal_forename, elin.display_name) == ("Elan", "Eli Bowen")

    def test_a_new_username_gives_a_new_email_alias_and_password(self, login, digital_champion, governor):
        old_email, old_username = governor.email, governor.username
        client = login(digital_champion)
        response = client.post(
            url(governor),
            {"legal_forename": "Alun", "legal_surname": "Rhys", "display_name": "", "new_username": "on"},
        )
        assert response.status_code == 302
        governor.refresh_from_db()
        assert governor.username == "RhysA" and governor.email == "rhysa@hwbcymru.net"
        assert EmailAlias.objects.get(account=governor).email == old_email
        assert shown_password(governor)  # the new password is under Show password
        assert IssuedUsername.objects.filter(username_lower=old_username.lower()).exists()  # never reissued
        actions = list(AuditEvent.objects.values_list("action", flat=True))
        assert "account.rename" in actions and "password.set" in actions
        page = client.get(reverse("accounts:account_detail", args=[governor.pk])).content.decode()
        assert old_email in page

    def test_the_old_address_still_signs_in(self, client, login, digital_champion, governor):
        old_email = governor.email
        login(digital_champion).post(
            url(governor),
            {"legal_forename": "Alun", "legal_surname": "Rhys", "display_name": "", "new_username": "on"},
        )
        governor.refresh_from_db()
        password = shown_password(governor)
        client.logout()
        response = client.post(
            reverse("accounts:login"), {"username": governor.username, "password": password}
        )
        assert response.status_code == 302
        assert old_email != governor.email

    def test_a_digital_champion_may_rename_learners_a_teacher_may_not(
        self, login, digital_champion, teacher, secondary_learner
    ):
        data = {"legal_forename": "Llŷr", "legal_surname": "Brien", "display_name": ""}
        assert login(teacher).post(url(secondary_learner), data).status_code == 403
        assert login(digital_champion).post(url(secondary_learner), data).status_code == 302
        secondary_learner.refresh_from_db()
        assert secondary_learner.display_name == "Llŷr B"  # learners: forename and surname initial

    def test_another_school_is_404(self, login, digital_champion, other_learner):
        response = login(digital_champion).post(
            url(other_learner), {"legal_forename": "A", "legal_surname": "B"}
        )
        assert response.status_code == 404

    def test_a_national_admin_may_rename_anywhere(self, login, national_admin, other_learner):
        response = login(national_admin).post(
            url(other_learner), {"legal_forename": "Siân", "legal_surname": "Pari"}
        )
        assert response.status_code == 302

    def test_names_are_required(self, login, digital_champion, governor):
        response = login(digital_champion).post(url(governor), {"legal_forename": "", "legal_surname": ""})
        assert response.status_code == 200 and response.context["form"].errors

    def test_anonymous_and_wrong_method(self, client, login, digital_champion, governor):
        assert client.get(url(governor)).url.startswith(reverse("accounts:login"))
        assert login(digital_champion).delete(url(governor)).status_code == 405
