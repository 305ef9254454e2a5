"""Template helpers shared by the account pages: the page numbers of a paginated list, and View Users' rows."""

from django import template
from django.utils.safestring import mark_safe
from django.utils.translation import gettext

from accounts.rendering import escaped

register = template.Library()


@register.filter
def page_numbers(page):
    """The page numbers to link, with Paginator.ELLIPSIS where a run is left out: 1 … 8 9 10 11 12 … 40."""
    return page.paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1)


@register.simple_tag(takes_context=True)
def sort_header(context, key, label):
    """A sortable column's header: its link sorts by `key`, the other way round when it already does, and
    aria-sort says how the table is sorted now. The page's other filters are kept (`sort_query`)."""
    sort, query = context.get("sort", ""), context.get("sort_query", "")
    state = (
        ' aria-sort="ascending"' if sort == key else ' aria-sort="descending"' if sort == f"-{key}" else ""
    )
    href = f"?{query}&sort=" if query else "?sort="
    href += f"-{key}" if sort == key else key
    return mark_safe(f'<th scope="col"{state}><a href="{escaped(href)}">{escaped(label)}</a></th>')  # noqa: S308


@register.simple_tag
def filter_select(field, current):
    """A plain <select> for a View Users filter field, `current` chosen: View Learners' registration groups are
    dozens of options, and Django's widget templates (or a template loop) drew them in several milliseconds."""
    e = escaped
    current = str(current)
    options = "".join(
        f'<option value="{e(value)}"{" selected" if str(value) == current else ""}>{e(label)}</option>'
        for value, label in field.field.choices
    )
    return mark_safe(  # noqa: S308 - every value is escaped
        f'<select name="{e(field.html_name)}" id="{e(field.id_for_label)}">{options}</select>'
    )


@register.simple_tag
def user_rows(rows, *, section, selectable):
    """The body rows of a View Users table, from accounts.selectors.user_list_rows' ready values.

    Joined here rather than looped in the template: a page's 50 rows of ten cells were half the time the page
    took to draw, and each cell is only an escaped value. Every value is escaped (the Password cell comes
    already built, and safe, from its feature's hook).
    """
    learners = section == "learners"  # the Year, Reg group and Admission number columns
    e = escaped
    select, details = e(gettext("Select")), e(gettext("View Details"))
    html = []
    for row in rows:
        pk, name = e(row["pk"]), e(row["name"])
        html.append("<tr>")
        if selectable:
            html.append(
                f'<td><input type="checkbox" class="js-select" name="accounts" form="selected-form" value="{pk}"'
                f' id="sel-{pk}" aria-label="{select} {name}"></td>'
            )
        html.append(f"<td>{e(row['surname'])}</td><td>{e(row['forename'])}</td><td>{e(row['username'])}</td>")
        if learners:
            html.append(
                f"<td>{e(row['year_group'])}</td><td>{e(row['registration_group'])}</td>"
                f"<td>{e(row['admission_number'])}</td>"
            )
        html.append(
            f"<td>{e(row['status'])}</td><td>{e(row.get('password', ''))}</td>"
            f'<td><a href="{e(row["url"])}">{details}<span class="visually-hidden"> – {name}</span></a></td></tr>\n'
        )
    return mark_safe("".join(html))  # noqa: S308 - every value above is escaped
