import csv
import io

import pytest
from django.urls import reverse
from pypdf import PdfReader

from accounts.models import AuditEvent
from passwords import services
from tests.factories import learner

pytestmark = pytest.mark.django_db

PASSWORD = "Xk7pQr2mWz9a"


def pdf_text(response) -> str:
    return "\n".join(
        page.extract_text() for page in PdfReader(io.BytesIO(b"".join(response.streaming_content))).pages
    )


def csv_rows(response) -> list[list[str]]:
    raw = b"".join(response.streaming_content).decode("utf-8")
    assert raw.startswith("\ufeff")
    return list(csv.reader(io.StringIO(raw[1:], newline="")))


@pytest.fixture
def reg_group(wales, teacher):
    pupils = [
        learner(wales.secondary, legal_forename="Siân", legal_surname="Llŷr", registration_group="8C"),
        learner(wales.secondary, legal_forename="Gwenllïan", legal_surname="ap Ŵyn", registration_group="8C"),
    ]
    services.password_set(account=pupils[0], actor=teacher, new_password=PASSWORD)
    return pupils


class PrintAccountTests:
    def test_print_with_password_is_a_pdf_with_the_welsh_name_and_is_audited(self, reg_group, teacher, login):
        url = reverse("printing:account", args=[reg_group[0].pk, "with-password"])
        response = login(teacher).post(url)
        assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
        assert "no-store" in response["Cache-Control"]
        text = pdf_text(response)
        assert "Siân Llŷr" in text and PASSWORD in text and "Ysgol Uwchradd Caerdydd" in text
        event = AuditEvent.objects.get(action="print.with_password")
        assert event.actor_id == teacher.pk and event.target_count == 1

    def test_print_details_has_no_password(self, reg_group, teacher, login):
        response = login(teacher).post(reverse("printing:account", args=[reg_group[0].pk, "details"]))
        assert PASSWORD not in pdf_text(response)
        assert AuditEvent.objects.filter(action="print.details").count() == 1

    def test_in_welsh_the_slip_is_in_welsh(self, reg_group, teacher, login):
        client = login(teacher)
        client.cookies["django_language"] = "cy"
        response = client.post(
            reverse("printing:account", args=[reg_group[0].pk, "with-password"]),
            headers={"accept-language": "cy"},
        )
        assert "Enw defnyddiwr" in pdf_text(response)

    def test_get_other_school_and_anonymous(self, reg_group, teacher, other_teacher, login, client):
        url = reverse("printing:account", args=[reg_group[0].pk, "with-password"])
        assert client.post(url).status_code == 302
        assert login(other_teacher).post(url).status_code == 404
        assert login(teacher).get(url).status_code == 405
        assert not AuditEvent.objects.filter(action__startswith="print.").exists()

    def test_a_learner_may_not_print_their_own_slip(self, reg_group, login):
        url = reverse("printing:account", args=[reg_group[0].pk, "details"])
        assert login(reg_group[0]).post(url).status_code == 403

    def test_an_unknown_variant_is_404(self, reg_group, teacher, login):
        assert (
            login(teacher).post(reverse("printing:account", args=[reg_group[0].pk, "all"])).status_code == 404
        )


class PrintGroupTests:
    def test_a_registration_group_prints_sorted_by_surname(self, wales, reg_group, teacher, login):
        client = login(teacher)
        page = client.get(reverse("printing:group_choose"), {"org": wales.secondary.code}).content.decode()
        assert "8C" in page
        data = {"org": wales.secondary.code, "group_kind": "reg", "group": "8C"}
        text = pdf_text(client.post(reverse("printing:group", args=["with-password"]), data))
        assert text.index("Gwenllïan ap Ŵyn") < text.index("Siân Llŷr")
        assert PASSWORD in text and "Not available" in text
        assert AuditEvent.objects.get(action="print.with_password").target_count == 2

    def test_another_school_is_404(self, wales, reg_group, other_teacher, login):
        data = {"org": wales.secondary.code, "group_kind": "reg", "group": "8C"}
        assert login(other_teacher).post(reverse("printing:group", args=["details"]), data).status_code == 404


class SlipGroupTests:
    def test_each_slip_names_the_registration_group_on_the_page(self, wales, reg_group, teacher, login):
        data = {"org": wales.secondary.code, "group_kind": "reg", "group": "8C"}
        text = pdf_text(login(teacher).post(reverse("printing:group", args=["details"]), data))
        assert text.count("Reg group 8C") == 2

    def test_in_welsh_too(self, wales, reg_group, teacher, login):
        client = login(teacher)
        client.cookies["django_language"] = "cy"
        data = {"org": wales.secondary.code, "group_kind": "reg", "group": "8C"}
        text = pdf_text(client.post(reverse("printing:group", args=["details"]), data))
        assert text.count("Grŵp cofrestru 8C") == 2


class PrintSelectedTests:
    def test_selected_learners_print(self, reg_group, teacher, login):
        data = {"accounts": [p.pk for p in reg_group]}
        text = pdf_text(login(teacher).post(reverse("printing:selected", args=["details"]), data))
        assert "Siân Llŷr" in text and "Gwenllïan ap Ŵyn" in text

    def test_an_id_from_another_school_refuses_the_whole_print(
        self, reg_group, other_learner, teacher, login
    ):
        data = {"accounts": [reg_group[0].pk, other_learner.pk]}
        assert (
            login(teacher).post(reverse("printing:selected", args=["with-password"]), data).status_code == 404
        )
        assert not AuditEvent.objects.filter(action__startswith="print.").exists()

    def test_nothing_ticked_goes_back_to_the_list_saying_so(self, wales, reg_group, teacher, login):
        client = login(teacher)
        listing = reverse("accounts:user_list", args=["learners"]) + f"?org={wales.secondary.code}&q=ap"
        response = client.post(
            reverse("printing:selected", args=["details"]),
            {},
            headers={"referer": f"http://testserver{listing}"},
        )
        assert response.status_code == 302 and response["Location"] == f"http://testserver{listing}"
        page = client.get(listing).content.decode()
        assert "Tick at least one learner" in page
        assert not AuditEvent.objects.filter(action__startswith="print.").exists()

    def test_nothing_ticked_in_welsh_says_so_in_welsh_and_never_goes_to_another_site(
        self, reg_group, teacher, login
    ):
        client = login(teacher)
        response = client.post(
            reverse("printing:selected", args=["with-password"]),
            {},
            headers={"referer": "https://evil.example/", "accept-language": "cy"},
        )
        assert response["Location"] == reverse("accounts:user_list", args=["learners"])
        page = client.get(response["Location"], headers={"accept-language": "cy"}).content.decode()
        assert "Ticiwch o leiaf un dysgwr" in page

    def test_garbage_ids_are_404(self, teacher, login):
        response = login(teacher).post(reverse("printing:selected", args=["details"]), {"accounts": ["x"]})
        assert response.status_code == 404


class DownloadTests:
    def test_all_pupils_after_the_warning(self, wales, reg_group, teacher, login):
        client = login(teacher)
        assert reverse("printing:downloads") in client.get(reverse("accounts:home")).content.decode()
        index = client.get(reverse("printing:downloads")).content.decode()
        assert "All Pupils" in index and "All Staff" not in index
        warning = client.get(
            reverse("printing:download_warning", args=["pupils"]), {"org": wales.secondary.code}
        )
        page = warning.content.decode()
        assert "it is your responsibility to then ensure these are handled appropriately" in page
        assert "Proceed with download" in page and "Go Back" in page
        assert not AuditEvent.objects.filter(action__startswith="download.").exists()
        response = client.post(reverse("printing:download", args=["pupils"]), {"org": wales.secondary.code})
        assert response["Content-Type"].startswith("text/csv")
        assert "attachment" in response["Content-Disposition"]
        assert "no-store" in response["Cache-Control"]
        rows = csv_rows(response)
        assert rows[0][:4] == ["Forename", "Surname", "Username", "Password"]
        by_name = {row[0]: row for row in rows[1:]}
        assert by_name["Siân"][3] == PASSWORD and by_name["Gwenllïan"][3] == ""
        assert by_name["Siân"][6] == "8C"
        event = AuditEvent.objects.get(action="download.pupils_csv")
        assert event.target_count == 2 and PASSWORD not in str(event.details)

    def test_all_staff_is_for_the_digital_champion(self, wales, teacher, digital_champion, login):
        services.password_set(account=teacher, actor=digital_champion, new_password=PASSWORD)
        data = {"org": wales.secondary.code}
        assert login(teacher).post(reverse("printing:download", args=["staff"]), data).status_code == 403
        rows = csv_rows(login(digital_champion).post(reverse("printing:download", args=["staff"]), data))
        assert rows[0] == ["Forename", "Surname", "Username", "Password", "Date created", "Staff code"]
        assert [row[3] for row in rows[1:] if row[3]] == [PASSWORD]

    def test_a_name_cannot_become_a_formula(self, wales, teacher, login):
        learner(wales.secondary, legal_forename='=HYPERLINK("http://x")', legal_surname="+Evil")
        rows = csv_rows(
            login(teacher).post(reverse("printing:download", args=["pupils"]), {"org": wales.secondary.code})
        )
        assert rows[1][0].startswith("'=") and rows[1][1] == "'+Evil"

    def test_get_other_school_and_anonymous(self, wales, teacher, other_teacher, login, client):
        url = reverse("printing:download", args=["pupils"])
        assert client.post(url, {"org": wales.secondary.code}).status_code == 302
        assert login(teacher).get(url, {"org": wales.secondary.code}).status_code == 405
        assert login(other_teacher).post(url, {"org": wales.secondary.code}).status_code == 404
        assert (
            login(other_teacher)
            .get(reverse("printing:download_warning", args=["pupils"]), {"org": wales.secondary.code})
            .status_code
            == 404
        )

    def test_learners_have_no_downloads(self, secondary_learner, login):
        assert login(secondary_learner).get(reverse("printing:downloads")).status_code == 403


class FileNameTests:
    """PDFs download rather than replace the portal; file names are in the reader's language."""

    def test_a_pdf_is_a_download(self, reg_group, teacher, login):
        response = login(teacher).post(reverse("printing:account", args=[reg_group[0].pk, "details"]))
        assert response["Content-Disposition"].startswith("attachment;")

    def test_in_welsh_the_files_have_welsh_names(self, wales, reg_group, teacher, login):
        client = login(teacher)
        client.cookies["django_language"] = "cy"
        download = client.post(reverse("printing:download", args=["pupils"]), {"org": wales.secondary.code})
        assert 'filename="disgyblion-6814001-' in download["Content-Disposition"]
        selected = client.post(
            reverse("printing:selected", args=["details"]), {"accounts": [reg_group[0].pk]}
        )
        assert 'filename="dysgwyr-dethol.pdf"' in selected["Content-Disposition"]

    def test_in_english_they_keep_their_english_names(self, wales, reg_group, teacher, login):
        download = login(teacher).post(
            reverse("printing:download", args=["pupils"]), {"org": wales.secondary.code}
        )
        assert 'filename="pupils-6814001-' in download["Content-Disposition"]
