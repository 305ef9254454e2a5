"""safe_cell: what a credential CSV or the audit CSV writes can never run as a spreadsheet formula."""

import pytest

from accounts.spreadsheets import safe_cell


class SafeCellTests:
    @pytest.mark.parametrize(
        "value", ["=1+1", "+44 1234", "-2+3", "@SUM(A1)", "\tcmd", "\r=cmd", '=HYPERLINK("x")']
    )
    def test_a_cell_that_could_be_a_formula_is_made_text(self, value):
        assert safe_cell(value) == "'" + value

    @pytest.mark.parametrize("value", ["Siân", "a=b", "7W", "", "O'Brien"])
    def test_ordinary_values_are_left_alone(self, value):
        assert safe_cell(value) == value

    def test_none_is_an_empty_cell(self):
        assert safe_cell(None) == ""
