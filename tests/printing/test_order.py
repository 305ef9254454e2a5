"""Paper order is screen order: slips and CSVs list names as View Users does, in English and in Welsh."""

import io
import re

import pytest
from django.urls import reverse
from pypdf import PdfReader

from printing.selectors import slips_for
from tests.factories import learner

pytestmark = pytest.mark.django_db

LEARNERS = reverse("accounts:user_list", args=["learners"])
SURNAMES = ("Llwyd", "Lynch", "Lewis", "ap Rhys", "Ŵyn", "Evans")


def pdf_text(response) -> str:
    return "\n".join(
        page.extract_text() for page in PdfReader(io.BytesIO(b"".join(response.streaming_content))).pages
    )


def in_order_of(text):
    return sorted(SURNAMES, key=text.index)


@pytest.fixture
def group(wales):
    return [
        learner(wales.secondary, legal_forename="Nia", legal_surname=s, registration_group="8C")
        for s in SURNAMES
    ]


class SlipOrderTests:
    def test_in_welsh_a_pdf_lists_lynch_before_llwyd_as_the_screen_does(self, wales, group, teacher, login):
        client = login(teacher)
        client.cookies["django_language"] = "cy"
        data = {"org": wales.secondary.code, "group_kind": "reg", "group": "8C"}
        paper = in_order_of(pdf_text(client.post(reverse("printing:group", args=["details"]), data)))
        screen = in_order_of(client.get(LEARNERS, {"sort": "surname"}).content.decode())
        assert paper == ["ap Rhys", "Evans", "Lewis", "Lynch", "Llwyd", "Ŵyn"]
        assert paper == screen

    def test_in_english_llwyd_comes_before_lynch_on_paper_and_screen(self, wales, group, teacher, login):
        client = login(teacher)
        data = {"org": wales.secondary.code, "group_kind": "reg", "group": "8C"}
        paper = in_order_of(pdf_text(client.post(reverse("printing:group", args=["details"]), data)))
        screen = in_order_of(client.get(LEARNERS, {"sort": "surname"}).content.decode())
        assert paper == ["ap Rhys", "Evans", "Lewis", "Llwyd", "Lynch", "Ŵyn"]
        assert paper == screen

    def test_selected_learners_print_in_name_order_whatever_order_they_were_ticked(
        self, group, teacher, login
    ):
        data = {"accounts": [a.pk for a in reversed(group)]}
        text = pdf_text(login(teacher).post(reverse("printing:selected", args=["details"]), data))
        assert in_order_of(text) == ["ap Rhys", "Evans", "Lewis", "Llwyd", "Lynch", "Ŵyn"]


class SlipsForTests:
    def test_case_and_accents_only_break_ties(self, wales):
        people = [
            learner(wales.secondary, legal_forename=f, legal_surname=s)
            for f, s in (("Ann", "Williams"), ("Bob", "ŵen"), ("Cai", "Evans"))
        ]
        slips = slips_for(people, with_passwords=False, language="en")
        assert [s.surname for s in slips] == ["Evans", "ŵen", "Williams"]

    def test_in_welsh_ll_follows_l(self, wales):
        people = [learner(wales.secondary, legal_surname=s) for s in ("Llwyd", "Lynch")]
        assert [s.surname for s in slips_for(people, with_passwords=False, language="cy")] == [
            "Lynch",
            "Llwyd",
        ]
        assert [s.surname for s in slips_for(people, with_passwords=False, language="en")] == [
            "Llwyd",
            "Lynch",
        ]


# PostgreSQL's ICU collations (und-x-icu, cy-x-icu) put these surnames in these orders; the SQLite twins must
# give the same, so the demo lists, downloads and prints as production does.
ICU_SURNAMES = ["Wilson", "Hughes", "Hâf", "ap Rhys", "Williams", "Ní Bhriain", "Nia", "Ngaio", "Gruffudd",
                "O'Brien", "Owen", "Chwyn", "Cyw", "Rhys", "Ryan", "Lloyd", "Lynch", "Ŵyn", "Wyn"]  # fmt: skip
ICU_ORDER = {
    "en": ["ap Rhys", "Chwyn", "Cyw", "Gruffudd", "Hâf", "Hughes", "Lloyd", "Lynch", "Ngaio", "Ní Bhriain",
           "Nia", "O'Brien", "Owen", "Rhys", "Ryan", "Williams", "Wilson", "Wyn", "Ŵyn"],
    "cy": ["ap Rhys", "Cyw", "Chwyn", "Gruffudd", "Ngaio", "Hâf", "Hughes", "Lynch", "Lloyd", "Ní Bhriain",
           "Nia", "O'Brien", "Owen", "Ryan", "Rhys", "Wilson", "Williams", "Wyn", "Ŵyn"],
}  # fmt: skip


class OneOrderOnBothEnginesTests:
    @pytest.mark.parametrize("language", ["en", "cy"])
    def test_screen_csv_and_pdf_follow_icus_order(self, wales, teacher, login, language):
        made = {
            surname: learner(
                wales.secondary, legal_forename="Nia", legal_surname=surname, registration_group="5"
            )
            for surname in ICU_SURNAMES
        }
        client = login(teacher)
        client.cookies["django_language"] = language

        def order(text):
            return sorted(ICU_SURNAMES, key=lambda s: re.search(rf"\b{made[s].username}\b", text).start())

        screen = order(
            client.get(LEARNERS, {"sort": "surname", "org": wales.secondary.code}).content.decode()
        )
        raw = client.post(reverse("printing:download", args=["pupils"]), {"org": wales.secondary.code})
        csv_order = order(b"".join(raw.streaming_content).decode())
        data = {"org": wales.secondary.code, "group_kind": "reg", "group": "5"}
        paper = order(pdf_text(client.post(reverse("printing:group", args=["details"]), data)))
        assert screen == ICU_ORDER[language]
        assert csv_order == ICU_ORDER[language]
        assert paper == ICU_ORDER[language]
