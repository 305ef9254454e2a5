"""The demo is provisioned through the real sync, so it looks like a school fed by its MIS."""

import pyotp
import pytest
from django.core.management import call_command
from django.urls import reverse

from accounts.models import Account, Organisation, RoleGrant
from accounts.permissions import Action, organisation_ids_for
from passwords.models import ShownPassword
from provisioning.management.commands.seed_demo import DEMO_TOTP_KEY
from provisioning.models import ProvisioningRun


@pytest.mark.django_db
class SeedDemoTests:
    def test_it_provisions_the_schools_and_is_idempotent(self, capsys):
        call_command("seed_demo")
        count = Account.objects.count()
        runs = ProvisioningRun.objects.count()
        call_command("seed_demo")
        assert Account.objects.count() == count
        assert ProvisioningRun.objects.count() == runs == 4
        assert 1200 <= Account.objects.filter(kind=Account.Kind.LEARNER).count() <= 1300
        assert not ProvisioningRun.objects.exclude(status=ProvisioningRun.Status.APPLIED).exists()
        out = capsys.readouterr().out
        assert "ApRhysG " in out and "Demo sign-ins" in out

    def test_welsh_names_arrive_as_written(self):
        call_command("seed_demo", verbosity=0)
        assert Account.objects.filter(legal_forename="Llŷr", legal_surname="O'Brien").exists()
        assert Account.objects.filter(legal_surname="Jones-Williams").exists()
        assert all(a.username.isascii() for a in Account.objects.all())

    def test_learners_have_a_password_to_show_and_named_people_sign_in(self, client):
        call_command("seed_demo", verbosity=0)
        learner = Account.objects.filter(kind=Account.Kind.LEARNER).exclude(legal_surname="O'Brien").first()
        assert ShownPassword.objects.filter(account=learner, sealed__isnull=False).exists()
        assert not learner.has_usable_password()
        champion = RoleGrant.objects.get(
            role=RoleGrant.Role.DIGITAL_CHAMPION, organisation__code="6614001"
        ).account
        response = client.post("/login/", {"username": champion.username, "password": "CroesoHwb2026"})
        assert response.status_code == 302

    def test_the_national_administrator_is_asked_for_the_published_authenticators_code(self, client):
        call_command("seed_demo", verbosity=0)
        admin = RoleGrant.objects.get(role=RoleGrant.Role.HWB_ADMIN, organisation__code="NATIONAL").account
        response = client.post("/login/", {"username": admin.username, "password": "CroesoHwb2026"})
        assert response.url == reverse("mfa:verify")
        code = pyotp.TOTP(DEMO_TOTP_KEY).now()
        assert client.post(reverse("mfa:verify"), {"code": code}).url == reverse("accounts:home")
        assert client.session["ump_amr"] == ["pwd", "otp", "mfa"]

    def test_the_la_administrator_manages_the_las_own_users_only(self):
        call_command("seed_demo", verbosity=0)
        admin = RoleGrant.objects.get(role=RoleGrant.Role.HWB_ADMIN, organisation__code="661").account
        visible = Account.objects.restrict(admin, Action.VIEW)
        assert set(visible.values_list("organisation__code", flat=True)) == {"661"}
        assert visible.filter(legal_forename="Dylan", legal_surname="Ellis").exists()
        assert not organisation_ids_for(admin, Action.RESET_PASSWORD, org_kinds=(Organisation.Kind.SCHOOL,))


@pytest.mark.django_db
def test_the_demos_supply_teacher_resets_learner_passwords_and_aber_teaches_in_welsh():
    import re

    from accounts.permissions import can
    from accounts.sealing import unseal
    from passwords.words import WORDS

    call_command("seed_demo", verbosity=0)
    supply = Account.objects.get(legal_forename="Carys", legal_surname="Bevan")
    pupil = Account.objects.filter(organisation=supply.organisation, kind=Account.Kind.LEARNER).first()
    assert can(supply, Action.RESET_PASSWORD, pupil)
    aber = Organisation.objects.get(code="6612001")
    assert aber.language_medium == Organisation.Medium.WELSH
    shown = ShownPassword.objects.filter(account__organisation=aber, account__kind=Account.Kind.LEARNER)[:20]
    words = {w.lower() for s in shown for w in re.findall(r"[A-Z][a-z]*", unseal(s.sealed))}  # two words each
    assert words and words <= set(WORDS["cy"])
