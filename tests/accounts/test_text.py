"""without_accents: the one accent-folding step that usernames and the password rules build on."""

import pytest

from accounts.text import name_sort_key, school_order_key, without_accents


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


class SchoolOrderKeyTests:
    """Year and registration groups in the order a school reads them, not text order."""

    def test_reception_comes_before_year_one_and_years_go_by_number(self):
        groups = ["10A", "7A", "1", "R", "11C", "2B", "N1", "Reception", "13", "7B"]
        assert sorted(groups, key=school_order_key) == [
            "N1", "R", "Reception", "1", "2B", "7A", "7B", "10A", "11C", "13",
        ]  # fmt: skip

    def test_year_words_in_english_and_welsh_are_read_as_years(self):
        groups = ["Year 10", "Y2", "Blwyddyn 3", "Bl 11", "Derbyn", "Meithrin"]
        assert sorted(groups, key=school_order_key) == [
            "Meithrin",
            "Derbyn",
            "Y2",
            "Blwyddyn 3",
            "Year 10",
            "Bl 11",
        ]

    def test_numbers_inside_class_names_compare_as_numbers(self):
        assert sorted(["9Ma10", "9Ma2", "10Ma1"], key=school_order_key) == ["9Ma2", "9Ma10", "10Ma1"]

    def test_names_that_are_not_years_come_last_and_are_not_mistaken_for_reception(self):
        assert sorted(["Rhiw", "Nant", "3", "R"], key=school_order_key) == ["R", "3", "Nant", "Rhiw"]
