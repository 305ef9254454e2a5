"""without_accents: the one accent-folding step that usernames and the password rules build on."""

import pytest

from accounts.text import without_accents


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
