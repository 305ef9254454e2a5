"""Add new user: the warning, the form, the likely-duplicate check and the account-creation queue."""

from datetime import date

import pytest
from django.urls import reverse

from accounts.lifecycle import add_months
from accounts.models import Account, AccountRequest, AuditEvent, RoleGrant
from accounts.services import today
from managing.services import academic_year_end
from passwords.selectors import shown_password
from tests.factories import AccountFactory, grant, staff

K = Account.Kind


def warning_url(section, org):
    return reverse("accounts:manage_add_warning", args=[section]) + f"?org={org.code}"


def form_url(section, org):
    return reverse("accounts:manage_add", args=[section]) + f"?org={org.code}"


def governor_data(**overrides):
    data = {
        "user_type": "governor",
        "legal_forename": "Mererid",
        "legal_surname": "Hopwood",
        "password": "Tywydd2026x",
        "duration": "3",
    }
    data.update(overrides)
    return data


@pytest.mark.django_db
class TestWarning:
    def test_it_warns_before_the_form(self, login, digital_champion, wales):
        page = login(digital_champion).get(warning_url("governors", wales.secondary)).content.decode()
        assert "Are you sure?" in page
        assert "Please only use this feature for users who are not maintained in your MIS" in page
        assert "I understand" in page and "Take me back" in page
        assert (
            form_url("governors", wales.secondary).replace("&", "&amp;") in page
            or form_url("governors", wales.secondary) in page
        )

    def test_the_list_links_to_the_warning(self, login, digital_champion, wales):
        page = login(digital_champion).get(reverse("accounts:user_list", args=["governors"])).content.decode()
        assert reverse("accounts:manage_add_warning", args=["governors"]) in page

    def test_anonymous_is_sent_to_sign_in(self, client, wales):
        response = client.get(warning_url("governors", wales.secondary))
        assert response.status_code == 302 and response.url.startswith(reverse("accounts:login"))

    def test_a_teacher_may_not_add_users(self, login, teacher, wales):
        # A teacher may list learners but no section where users are added: the section is not theirs (404).
        assert login(teacher).get(warning_url("governors", wales.secondary)).status_code == 404

    def test_another_schools_digital_champion_gets_404(self, login, digital_champion, wales):
        assert login(digital_champion).get(warning_url("governors", wales.other_school)).status_code == 404

    def test_learners_section_is_visible_but_not_allowed(self, login, digital_champion, wales):
        assert login(digital_champion).get(warning_url("learners", wales.secondary)).status_code == 403

    def test_post_is_not_allowed(self, login, digital_champion, wales):
        assert login(digital_champion).post(warning_url("governors", wales.secondary)).status_code == 405


@pytest.mark.django_db
class TestAddUser:
    def test_a_digital_champion_adds_a_governor_who_becomes_active(
        self, login, digital_champion, wales, django_capture_on_commit_callbacks
    ):
        client = login(digital_champion)
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(form_url("governors", wales.secondary), governor_data())
        assert response.status_code == 302
        assert response.url == reverse("accounts:user_list", args=["governors"]) + "?org=6814001"
        account = Account.objects.get(legal_surname="Hopwood")
        assert account.kind == K.GOVERNOR and account.source == Account.Source.MANUAL
        assert account.status == Account.Status.ACTIVE and account.organisation == wales.secondary
        assert account.username == "HopwoodM" and account.email == "hopwoodm@hwbcymru.net"
        assert account.expires_on == add_months(today(), 3)
        assert shown_password(account)  # Show password works
        pending = AccountRequest.objects.get()
        assert pending.status == AccountRequest.Status.DONE and pending.account == account
        assert pending.sealed_password is None
        actions = set(AuditEvent.objects.values_list("action", flat=True))
        assert {"account.request", "account.create"} <= actions
        assert client.get(response.url).content.decode().count("HopwoodM") == 1

    def test_the_request_is_pending_until_the_worker_has_run(
        self, login, digital_champion, wales, django_capture_on_commit_callbacks
    ):
        client = login(digital_champion)
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            client.post(form_url("governors", wales.secondary), governor_data())
        assert not Account.objects.filter(legal_surname="Hopwood").exists()
        page = client.get(reverse("accounts:user_list", args=["governors"])).content.decode()
        assert "Hopwood, Mererid" in page and "Pending" in page
        for callback in callbacks:
            callback()
        assert Account.objects.get(legal_surname="Hopwood").is_active
        page = client.get(reverse("accounts:user_list", args=["governors"])).content.decode()
        assert "Hopwood, Mererid" not in page and "HopwoodM" in page

    def test_while_queued_the_message_says_where_the_request_is_listed(
        self, login, digital_champion, wales, django_capture_on_commit_callbacks
    ):
        client = login(digital_champion)
        with django_capture_on_commit_callbacks(execute=False):
            response = client.post(form_url("governors", wales.secondary), governor_data(), follow=True)
        page = response.content.decode()
        assert "An account has been requested for Mererid Hopwood" in page
        assert "listed under Accounts being created" in page

    def test_a_typed_password_must_meet_the_policy(self, login, digital_champion, wales):
        response = login(digital_champion).post(
            form_url("governors", wales.secondary), governor_data(password="short")
        )
        assert response.status_code == 200
        assert response.context["form"].errors["password"]
        assert not AccountRequest.objects.exists()

    def test_a_typed_password_is_the_one_shown(
        self, login, digital_champion, wales, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):
            login(digital_champion).post(
                form_url("governors", wales.secondary),
                governor_data(password="Tywydd2026x"),
            )
        account = Account.objects.get(legal_surname="Hopwood")
        assert shown_password(account) == "Tywydd2026x"

    def test_the_typed_password_is_never_in_the_audit_trail(
        self, login, digital_champion, wales, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):
            login(digital_champion).post(
                form_url("governors", wales.secondary),
                governor_data(password="Tywydd2026x"),
            )
        assert "Tywydd2026x" not in str(list(AuditEvent.objects.values_list("details", flat=True)))

    @pytest.mark.parametrize("style", ["learner", "random"])
    def test_generate_fills_in_a_password_to_note_and_saves_nothing(
        self, login, digital_champion, wales, style
    ):
        url = reverse("accounts:manage_add_generate", args=["governors", style])
        data = governor_data(password="", org=wales.secondary.code)
        response = login(digital_champion).post(url, data)
        assert response.status_code == 200 and "no-store" in response["Cache-Control"]
        form = response.context["form"]
        password = form.initial["password"]
        html = response.content.decode()
        assert f'value="{password}"' in html and 'value="Mererid"' in html  # what was typed stays
        assert not form.errors
        assert sum(c.isdigit() for c in password) >= 2 if style == "learner" else len(password) >= 10
        assert not AccountRequest.objects.exists()

    def test_the_generated_password_is_the_one_the_account_gets(
        self, login, digital_champion, wales, django_capture_on_commit_callbacks
    ):
        client = login(digital_champion)
        url = reverse("accounts:manage_add_generate", args=["governors", "learner"])
        password = (
            client.post(url, governor_data(password="", org=wales.secondary.code))
            .context["form"]
            .initial["password"]
        )
        with django_capture_on_commit_callbacks(execute=True):
            client.post(form_url("governors", wales.secondary), governor_data(password=password))
        assert shown_password(Account.objects.get(legal_surname="Hopwood")) == password

    def test_add_user_without_a_password_asks_for_one(self, login, digital_champion, wales):
        response = login(digital_champion).post(
            form_url("governors", wales.secondary), governor_data(password="")
        )
        assert "password" in response.context["form"].errors
        assert not AccountRequest.objects.exists()

    @pytest.mark.parametrize(
        ("duration", "expected"),
        [("1", lambda d: add_months(d, 1)), ("6", lambda d: add_months(d, 6)), ("year", academic_year_end)],
    )
    def test_the_duration_sets_the_expiry_date(
        self, login, digital_champion, wales, duration, expected, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):
            login(digital_champion).post(
                form_url("governors", wales.secondary), governor_data(duration=duration)
            )
        assert Account.objects.get(legal_surname="Hopwood").expires_on == expected(today())

    def test_a_governor_may_have_no_end_date_and_still_closes_after_90_days_unseen(
        self, login, digital_champion, wales, django_capture_on_commit_callbacks
    ):
        from datetime import timedelta

        from django.utils import timezone

        from accounts.lifecycle import due_for_inactivity

        client = login(digital_champion)
        page = client.get(form_url("governors", wales.secondary)).content.decode()
        assert 'value="none"' in page and "No end date" in page
        with django_capture_on_commit_callbacks(execute=True):
            client.post(form_url("governors", wales.secondary), governor_data(duration="none"))
        governor = Account.objects.get(legal_surname="Hopwood")
        assert governor.is_active and governor.expires_on is None
        long_ago = timezone.now() - timedelta(days=91)
        Account.objects.filter(pk=governor.pk).update(created_at=long_ago, status_changed_at=long_ago)
        assert due_for_inactivity(today()).filter(pk=governor.pk).exists()

    def test_an_la_user_may_have_no_end_date(
        self, login, la_admin, wales, django_capture_on_commit_callbacks
    ):
        data = governor_data(user_type="la_user", duration="none")
        with django_capture_on_commit_callbacks(execute=True):
            login(la_admin).post(form_url("organisation", wales.la), data)
        assert Account.objects.get(legal_surname="Hopwood").expires_on is None

    def test_supply_teachers_and_student_teachers_still_need_an_end_date(
        self, login, digital_champion, wales
    ):
        client = login(digital_champion)
        assert 'value="none"' not in client.get(form_url("non-mis", wales.secondary)).content.decode()
        response = client.post(
            form_url("non-mis", wales.secondary), governor_data(user_type="supply_teacher", duration="none")
        )
        assert response.status_code == 200 and not AccountRequest.objects.exists()

    def test_the_service_refuses_no_end_date_for_a_temporary_account(self, digital_champion, wales):
        from django.core.exceptions import ValidationError

        from managing.services import account_request_submit

        with pytest.raises(ValidationError):
            account_request_submit(
                actor=digital_champion,
                organisation=wales.secondary,
                kind=K.SCHOOL_NON_MIS,
                legal_forename="Dyfrig",
                legal_surname="Morgan",
                password="Tywydd2026x",
                expires_on=None,
            )

    def test_a_likely_duplicate_must_be_confirmed(
        self, login, digital_champion, wales, django_capture_on_commit_callbacks
    ):
        staff(wales.secondary, legal_forename="Mererid", legal_surname="Hopwood")
        client = login(digital_champion)
        response = client.post(form_url("governors", wales.secondary), governor_data())
        assert response.status_code == 200
        page = response.content.decode()
        assert "This may be a duplicate." in page and 'type="checkbox" name="confirm_duplicate"' in page
        assert not AccountRequest.objects.exists()
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                form_url("governors", wales.secondary), governor_data(confirm_duplicate="on")
            )
        assert response.status_code == 302
        assert Account.objects.filter(legal_surname="Hopwood", kind=K.GOVERNOR).exists()

    def test_a_deactivated_or_other_school_namesake_is_not_a_duplicate(self, login, digital_champion, wales):
        staff(
            wales.secondary,
            legal_forename="Mererid",
            legal_surname="Hopwood",
            status=Account.Status.DEACTIVATED,
        )
        staff(wales.other_school, legal_forename="Mererid", legal_surname="Hopwood")
        response = login(digital_champion).post(form_url("governors", wales.secondary), governor_data())
        assert response.status_code == 302

    def test_a_supply_teacher_is_a_school_non_mis_user(
        self, login, digital_champion, wales, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):
            login(digital_champion).post(
                form_url("non-mis", wales.secondary), governor_data(user_type="supply_teacher", duration="1")
            )
        account = Account.objects.get(legal_surname="Hopwood")
        assert account.kind == K.SCHOOL_NON_MIS and account.staff_role == "supply_teacher"

    def test_a_printer_is_a_service_account(
        self, login, digital_champion, wales, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):
            login(digital_champion).post(
                form_url("non-mis", wales.secondary),
                governor_data(user_type="service", legal_forename="Argraffydd", legal_surname="Llyfrgell"),
            )
        assert Account.objects.get(legal_surname="Llyfrgell").kind == K.SERVICE

    def test_an_la_admin_adds_an_la_user_with_the_optional_fields(
        self, login, la_admin, wales, django_capture_on_commit_callbacks
    ):
        client = login(la_admin)
        page = client.get(form_url("organisation", wales.la)).content.decode()
        assert "Job title" in page and "Work email" in page
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                form_url("organisation", wales.la),
                governor_data(
                    user_type="la_user",
                    contact_organisation="Cyngor Caerdydd",
                    job_title="Swyddog",
                    work_email="swyddog@caerdydd.gov.uk",
                    contact_number="029 2087 2000",
                ),
            )
        assert response.status_code == 302
        account = Account.objects.get(legal_surname="Hopwood")
        assert account.kind == K.LA_NON_MIS and account.organisation == wales.la
        assert (
            account.contact_organisation,
            account.job_title,
            account.work_email,
            account.contact_number,
        ) == ("Cyngor Caerdydd", "Swyddog", "swyddog@caerdydd.gov.uk", "029 2087 2000")

    def test_school_forms_have_no_la_fields(self, login, digital_champion, wales):
        page = login(digital_champion).get(form_url("governors", wales.secondary)).content.decode()
        assert "Work email" not in page
        assert 'type="checkbox" name="confirm_duplicate"' not in page  # only once a duplicate is found

    def test_a_digital_champion_cannot_add_la_users(self, login, digital_champion, wales):
        assert login(digital_champion).get(form_url("organisation", wales.la)).status_code == 404

    def test_an_la_admin_cannot_add_in_another_la(self, login, la_admin, wales):
        assert login(la_admin).get(form_url("organisation", wales.other_la)).status_code == 404
        assert login(la_admin).get(form_url("governors", wales.other_school)).status_code == 404

    def test_an_la_admin_adds_no_governors_at_their_las_schools(self, login, la_admin, wales):
        # least privilege: a grant at the LA covers the LA's own users, not its schools'
        client = login(la_admin)
        assert client.get(form_url("governors", wales.primary)).status_code == 404
        assert client.post(form_url("governors", wales.primary), governor_data()).status_code == 404
        assert not Account.objects.filter(legal_surname="Hopwood").exists()

    def test_a_national_admin_adds_governors_at_any_school(
        self, login, national_admin, wales, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):
            response = login(national_admin).post(form_url("governors", wales.primary), governor_data())
        assert response.status_code == 302
        assert Account.objects.get(legal_surname="Hopwood").organisation == wales.primary

    def test_an_ite_lead_may_add_only_student_teachers(self, login, wales):
        lead = staff(wales.primary)
        grant(lead, RoleGrant.Role.ITE_LEAD, wales.secondary)
        client = login(lead)
        form = client.get(form_url("non-mis", wales.secondary)).context["form"]
        assert [value for value, _label in form.fields["user_type"].choices] == ["student_teacher"]
        response = client.post(
            form_url("non-mis", wales.secondary), governor_data(user_type="supply_teacher")
        )
        assert response.status_code == 200 and "user_type" in response.context["form"].errors

    def test_the_service_refuses_a_kind_the_actor_may_not_create(self, digital_champion, wales):
        from django.core.exceptions import PermissionDenied

        from managing.services import account_request_submit

        with pytest.raises(PermissionDenied):
            account_request_submit(
                actor=digital_champion,
                organisation=wales.secondary,
                kind=K.STAFF,
                legal_forename="A",
                legal_surname="B",
                password="Xy12345678",
                expires_on=date(2030, 1, 1),
            )

    def test_get_changes_nothing_and_put_is_refused(self, login, digital_champion, wales):
        client = login(digital_champion)
        client.get(form_url("governors", wales.secondary), governor_data())
        assert not AccountRequest.objects.exists()
        assert client.put(form_url("governors", wales.secondary)).status_code == 405

    def test_the_form_needs_csrf(self, digital_champion, wales):
        from django.test import Client

        client = Client(enforce_csrf_checks=True)
        client.force_login(digital_champion, backend="accounts.backends.UsernameOrEmailBackend")
        assert client.post(form_url("governors", wales.secondary), governor_data()).status_code == 403

    def test_a_request_is_processed_only_once(
        self, digital_champion, wales, django_capture_on_commit_callbacks
    ):
        from managing.services import account_request_fulfil, account_request_submit

        with django_capture_on_commit_callbacks(execute=False):
            pending = account_request_submit(
                actor=digital_champion,
                organisation=wales.secondary,
                kind=K.GOVERNOR,
                legal_forename="Mererid",
                legal_surname="Hopwood",
                password="Tywydd2026x",
                expires_on=date(2030, 1, 1),
            )
        first = account_request_fulfil(request_id=pending.pk)
        again = account_request_fulfil(request_id=pending.pk)
        assert first == again and Account.objects.filter(legal_surname="Hopwood").count() == 1

    def test_the_new_user_signs_in_with_the_shown_password(
        self, client, login, digital_champion, wales, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):
            login(digital_champion).post(
                form_url("governors", wales.secondary),
                governor_data(password="Tywydd2026x"),
            )
        client.logout()
        response = client.post(reverse("accounts:login"), {"username": "HopwoodM", "password": "Tywydd2026x"})
        assert response.status_code == 302


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
class TestQueueWithARealWorker:
    def test_a_real_worker_creates_the_account(self, celery_worker, wales):
        from django.test import Client

        champion = staff(wales.secondary, legal_forename="Gwenllïan", legal_surname="ap Rhys")
        grant(champion, RoleGrant.Role.DIGITAL_CHAMPION, wales.secondary)
        client = Client()
        client.force_login(champion, backend="accounts.backends.UsernameOrEmailBackend")
        response = client.post(form_url("governors", wales.secondary), governor_data())
        assert response.status_code == 302
        celery_worker.wait_for(
            lambda: Account.objects.filter(legal_surname="Hopwood", status=Account.Status.ACTIVE).exists(),
            timeout=10,
            message="the governor's account is active",
        )
        account = Account.objects.get(legal_surname="Hopwood")
        assert shown_password(account)
        assert AccountRequest.objects.get().status == AccountRequest.Status.DONE
        assert any("account_request_process" in line for line in celery_worker.log)

    def test_an_la_user_by_a_real_worker(self, celery_worker, wales):
        admin = AccountFactory(organisation=wales.la, kind=K.LA_NON_MIS, source=Account.Source.MANUAL)
        grant(admin, RoleGrant.Role.HWB_ADMIN, wales.la)
        from managing.services import account_request_submit

        account_request_submit(
            actor=admin,
            organisation=wales.la,
            kind=K.LA_NON_MIS,
            legal_forename="Owain",
            legal_surname="Glyndŵr",
            password="Tywydd2026x",
            expires_on=date(2031, 8, 31),
            job_title="Swyddog",
        )
        celery_worker.wait_for(lambda: Account.objects.filter(legal_surname="Glyndŵr").exists(), timeout=10)
        assert Account.objects.get(legal_surname="Glyndŵr").job_title == "Swyddog"


@pytest.mark.django_db
class TestQueueFailuresAndNavigation:
    def test_a_request_the_worker_cannot_carry_out_is_marked_failed(
        self, digital_champion, wales, monkeypatch, django_capture_on_commit_callbacks
    ):
        from managing import services
        from managing.services import account_request_submit

        def broken(**kwargs):
            raise RuntimeError("disk on fire")

        monkeypatch.setattr(services, "account_create", broken)
        with pytest.raises(RuntimeError), django_capture_on_commit_callbacks(execute=True):
            account_request_submit(
                actor=digital_champion,
                organisation=wales.secondary,
                kind=K.GOVERNOR,
                legal_forename="Mererid",
                legal_surname="Hopwood",
                password="Tywydd2026x",
                expires_on=date(2030, 1, 1),
            )
        pending = AccountRequest.objects.get()
        assert pending.status == AccountRequest.Status.FAILED and pending.sealed_password is None
        assert AuditEvent.objects.filter(action="account.request_failed", outcome="failure").exists()

    def test_the_la_warning_does_not_speak_of_a_schools_mis(self, login, la_admin, digital_champion, wales):
        la_page = login(la_admin).get(warning_url("organisation", wales.la)).content.decode()
        assert "your school's MIS" not in la_page.replace("&#x27;", "'")
        assert "local authority or consortium" in la_page
        school_page = login(digital_champion).get(warning_url("governors", wales.secondary)).content.decode()
        assert "your school's MIS" in school_page.replace("&#x27;", "'")
        client = login(digital_champion)
        client.cookies["django_language"] = "cy"
        welsh = client.get(warning_url("governors", wales.secondary)).content.decode().replace("&#x27;", "'")
        assert "MIS eich ysgol" in welsh and "your school's MIS" not in welsh

    def test_only_learner_search_hints_mention_admission_numbers(
        self, login, la_admin, digital_champion, wales
    ):
        def hint(client, section, org):
            page = client.get(
                reverse("accounts:user_list", args=[section]), {"org": org.code}
            ).content.decode()
            return page.split('id="q-hint"', 1)[1].split("</p>", 1)[0]

        assert "admission number" not in hint(login(la_admin), "organisation", wales.la)
        assert "admission number" not in hint(login(digital_champion), "governors", wales.secondary)
        assert "admission number" in hint(login(digital_champion), "learners", wales.secondary)

    def test_la_admins_see_manage_la_non_mis_users(self, login, la_admin, digital_champion):
        label = "Manage Local Authority Non-MIS Users"
        assert label in login(la_admin).get(reverse("accounts:home")).content.decode()
        assert label not in login(digital_champion).get(reverse("accounts:home")).content.decode()

    @pytest.mark.parametrize("section", ["governors", "non-mis"])
    def test_the_pages_render_in_welsh(self, login, digital_champion, wales, section):
        client = login(digital_champion)
        client.cookies["django_language"] = "cy"
        pages = {
            warning_url(section, wales.secondary): ("Ydych chi'n siŵr?", "Rwy'n deall", "Are you sure?"),
            form_url(section, wales.secondary): (
                "Ychwanegu defnyddiwr newydd",
                "Ychwanegu Defnyddiwr",
                "Add User",
            ),
        }
        for url, (heading, button, english) in pages.items():
            response = client.get(url)
            html = response.content.decode()
            assert response.status_code == 200 and '<html lang="cy">' in html
            assert heading in html and button in html and english not in html


@pytest.mark.django_db(transaction=True)
class TestMessageAfterAddUser:
    def test_when_the_account_is_made_at_once_the_message_says_so(self, client, wales):
        """Tasks in-process (the demo) or a quick worker: the account is listed already, and the message says
        it was created, with its username, not that it will appear once it is."""
        champion = staff(wales.secondary, legal_forename="Gwenllïan", legal_surname="ap Rhys")
        grant(champion, RoleGrant.Role.DIGITAL_CHAMPION, wales.secondary)
        client.force_login(champion, backend="accounts.backends.UsernameOrEmailBackend")
        response = client.post(form_url("governors", wales.secondary), governor_data(), follow=True)
        page = response.content.decode()
        assert "The account for Mererid Hopwood has been created. Its username is HopwoodM." in page
        assert "once it has been created" not in page and "HopwoodM" in page
