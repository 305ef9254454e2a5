"""Template helpers shared by the account pages: the page numbers of a paginated list."""

from django import template

register = template.Library()


@register.filter
def page_numbers(page):
    """The page numbers to link, with Paginator.ELLIPSIS where a run is left out: 1 … 8 9 10 11 12 … 40."""
    return page.paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1)
