import io

from django.utils import translation
from pypdf import PdfReader

from printing.slips import SLIPS_PER_PAGE, Slip, slips_pdf


def text_of(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def slip(forename, surname, password=None, school="Ysgol Gymraeg Bro Ŵyr"):
    username = f"{surname[:6]}{forename[:1]}".replace(" ", "")
    return Slip(
        forename=forename,
        surname=surname,
        username=username,
        email=f"{username}@hwbcymru.net".lower(),
        school=school,
        password=password,
    )


class SlipsPdfTests:
    def test_welsh_names_come_back_exactly_as_written(self):
        people = [
            slip("Siân", "Llŷr", "Otter472"),
            slip("Gwenllïan", "ap Ŵyn", "Draenog358"),
            slip("Dŵr", "Ŷs"),
        ]
        text = text_of(slips_pdf(people, with_passwords=True))[0]
        for expected in ("Siân Llŷr", "Gwenllïan ap Ŵyn", "Dŵr Ŷs", "Ysgol Gymraeg Bro Ŵyr", "Otter472"):
            assert expected in text

    def test_the_font_is_embedded_truetype(self):
        reader = PdfReader(io.BytesIO(slips_pdf([slip("Siân", "Llŷr")], with_passwords=False)))
        fonts = reader.pages[0]["/Resources"]["/Font"]
        descriptors = [f.get_object()["/FontDescriptor"] for f in fonts.values()]
        assert all("/FontFile2" in d for d in descriptors)

    def test_it_keeps_the_order_it_is_given(self):
        # the order of names is the selector's (printing.selectors.slips_for), never re-sorted here
        people = [slip("Ann", "Williams"), slip("Bob", "ŵen"), slip("Cai", "Evans"), slip("Dai", "Wen")]
        text = text_of(slips_pdf(people, with_passwords=False))[0]
        positions = [text.index(name) for name in ("Ann Williams", "Bob ŵen", "Cai Evans", "Dai Wen")]
        assert positions == sorted(positions)

    def test_passwords_print_only_when_asked(self):
        people = [slip("Siân", "Llŷr", "Otter472")]
        assert "Otter472" not in text_of(slips_pdf(people, with_passwords=False))[0]
        assert "Otter472" in text_of(slips_pdf(people, with_passwords=True))[0]

    def test_a_missing_password_says_so(self):
        text = text_of(slips_pdf([slip("Siân", "Llŷr")], with_passwords=True))[0]
        assert "Not available" in text

    def test_it_puts_several_slips_on_a_page(self):
        people = [slip(f"Pupil{i:02d}", f"Surname{i:02d}") for i in range(SLIPS_PER_PAGE * 2 + 1)]
        pages = text_of(slips_pdf(people, with_passwords=False))
        assert len(pages) == 3
        assert pages[0].count("Username") == SLIPS_PER_PAGE
        assert "Pupil20 Surname20" in pages[2]

    def test_labels_follow_the_language_asked_for(self):
        people = [slip("Siân", "Llŷr", "Otter472")]
        with translation.override("en"):
            welsh = text_of(slips_pdf(people, with_passwords=True, language="cy"))[0]
            english = text_of(slips_pdf(people, with_passwords=True, language="en"))[0]
        assert "Enw defnyddiwr" in welsh and "Cyfrinair" in welsh and "Mewngofnodi yn hwb.gov.wales" in welsh
        assert "Username" in english and "Enw defnyddiwr" not in english
        assert translation.get_language() == "en"

    def test_an_empty_list_still_makes_a_valid_pdf(self):
        assert "no accounts" in text_of(slips_pdf([], with_passwords=True))[0]

    def test_a_very_long_email_is_shrunk_not_cut(self):
        long = Slip(
            "A", "B", "AB", "a.very.long.address.for.a.person@some-long-school-domain.hwbcymru.net", "S", None
        )
        assert long.email in text_of(slips_pdf([long], with_passwords=False))[0].replace("\n", "")
