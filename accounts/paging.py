"""A page of a list and the list's length in one query, for the pages everyone opens most (View Users).

Django's Paginator counts the list (one query) and then reads the page (another). `page_of` reads the page with
the length beside each row (`COUNT(*) OVER ()`, worked out over the rows the database has already filtered to
sort them), and counts separately only when the page asked for has no rows: past the end, or an empty list.

The page it gives is Django's own Page, numbered as Paginator.get_page numbers it: a page number that is not a
number is page 1, one past the end is the last page.
"""

import math
from functools import cached_property

from django.core.paginator import Page, Paginator
from django.db.models import Count, Window

LENGTH = "list_length"  # the annotation each row of the page carries
# Past any list's end, and taken as such without asking the database (whose OFFSET a typed number can overflow)
MAX_PAGE = 10**9


class _Counted(Paginator):
    """A Paginator whose count is already known (no COUNT query)."""

    def __init__(self, object_list, per_page, count):
        super().__init__(object_list, per_page)
        self._known_count = count

    @cached_property
    def count(self):
        return self._known_count


def page_of(queryset, number, per_page) -> Page:
    """Page `number` of `queryset` (sorted), `per_page` rows, with the paginator's count from the same query."""
    try:
        number = int(number)
    except (TypeError, ValueError):
        number = 1
    in_range = 1 <= number <= MAX_PAGE
    rows = _rows(queryset.annotate(**{LENGTH: Window(Count("*"))}), number, per_page) if in_range else []
    if rows:
        count = getattr(rows[0], LENGTH)
    elif number != 1:  # past the end (or below page 1): the last page, as get_page gives it
        count = queryset.count()
        number = max(math.ceil(count / per_page), 1)
        rows = _rows(queryset, number, per_page) if count else []
    else:
        count = 0
    return Page(rows, number, _Counted(queryset, per_page, count))


def _rows(queryset, number, per_page) -> list:
    start = (number - 1) * per_page
    return list(queryset[start : start + per_page])
