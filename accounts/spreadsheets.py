"""Cells for CSV files that people open in a spreadsheet: text stays text.

A spreadsheet runs a cell that starts with = + - or @ as a formula, and some also one that starts with a tab
or a carriage return (OWASP "CSV injection"). A leading apostrophe makes any of them plain text.
"""

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value) -> str:
    """The text of a cell that a spreadsheet will show as text, never evaluate (None is an empty cell)."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_TRIGGERS):
        return "'" + text
    return text
