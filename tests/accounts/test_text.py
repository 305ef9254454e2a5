"""without_accents: the one accent-folding step that usernames and the password rules build on."""

import pytest

from accounts.text import name_sort_key, without_accents


class WithoutAccentsTests:
    @pytest.mark.parametrize(
        ("text", "plain"),
        [
            ("Siân", "Sian"),
            ("Ŵyn", "Wyn"),
            ("Llŷr", "Llyr"),
            ("Gwenllïan", "Gwenllian"),
            ("ap Rhys", "ap Rhys"),
        ],
    )
    def test_it_takes_the_accents_off_welsh_letters(self, text, plain):
        assert without_accents(text) == plain

    def test_case_and_punctuation_stay(self):
        assert without_accents("O'Brien-JONES") == "O'Brien-JONES"

    def test_letters_that_do_not_decompose_stay(self):
        assert without_accents("Łukasz Strauß") == "Łukasz Strauß"


class NameSortKeyTests:
    """The SQLite twin of ICU's name order (accounts.selectors.name_order uses it off PostgreSQL)."""

    def test_accents_and_case_only_break_ties(self):
        names = ["Wynne", "Ŵyn", "ap Rhys", "Evans", "Wyn", "wyn"]
        assert sorted(names, key=name_sort_key) == ["ap Rhys", "Evans", "wyn", "Wyn", "Ŵyn", "Wynne"]

    def test_in_welsh_each_digraph_is_one_letter(self):
        names = ["Llwyd", "Lynch", "Chwarae", "Cyw", "Thomas", "Tudur", "Rhys", "Roberts", "Banc", "Bangor"]
        welsh = sorted(names, key=lambda n: name_sort_key(n, welsh=True))
        # ch after c, ll after l, rh after r, th after t; ng is the letter after g
        assert welsh == [
            "Bangor",
            "Banc",
            "Cyw",
            "Chwarae",
            "Lynch",
            "Llwyd",
            "Roberts",
            "Rhys",
            "Tudur",
            "Thomas",
        ]

    def test_in_english_digraphs_are_two_letters(self):
        assert sorted(["Lynch", "Llwyd"], key=name_sort_key) == ["Llwyd", "Lynch"]
