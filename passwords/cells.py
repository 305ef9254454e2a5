"""The Password cell of an account, on its page and in each row of View Users: accounts' slot, filled here.

The markup is built here rather than in a template: a View Users page draws 50 of these cells, and a template
(an include, two template tags and three translations) per row was the largest part of the page's time.
"""

from django.urls import get_script_prefix, reverse
from django.utils.safestring import mark_safe
from django.utils.translation import gettext

from accounts.rendering import escaped
from passwords.selectors import SHOWN, USER_CHANGED, password_statuses

# "Show password" lets the person read and copy the sealed copy (passwords/static/js/passwords.js).
_SHOWN = (
    '<span class="password-status js-password" data-reveal-url="{}"><button type="button" class="link-button'
    ' js-reveal">{}<span class="visually-hidden"> – {}</span></button> <code class="password-value js-value"'
    ' hidden></code> <button type="button" class="link-button js-copy" hidden>{}</button></span>'
)
_USER_CHANGED = '<span class="password-status">{}</span>'
_NONE = '<span class="password-status" title="{}">-</span>'


def password_cells_fill(*, rows) -> None:
    """A View Users hook (accounts.selectors.user_list_row_register): each row's `password` cell, for the
    whole page in one query and with each word translated once."""
    statuses = password_statuses([row["pk"] for row in rows])
    words = _words()
    for row in rows:
        row["password"] = _cell(words, statuses[row["pk"]], row["can_show"], row["pk"], row["name"])


def password_cell(*, account, can_show):
    """The Password cell of one account (its View Details page)."""
    status = password_statuses([account.pk])[account.pk]
    return _cell(_words(), status, can_show, account.pk, account.get_full_name())


def reveal_url(pk) -> str:
    """The Show password address of account `pk`: reverse("passwords:reveal", ...) without a reverse() per row."""
    prefix = get_script_prefix()
    if prefix not in _REVEAL_URLS:
        _REVEAL_URLS[prefix] = reverse("passwords:reveal", args=[0]).split("/0/", 1)
    head, tail = _REVEAL_URLS[prefix]
    return f"{head}/{pk}/{tail}"


_REVEAL_URLS: dict[str, list[str]] = {}  # script prefix -> the address around the id


def _words():
    return {
        "show": escaped(gettext("Show password")),
        "copy": escaped(gettext("Copy")),
        "user_changed": escaped(gettext("User changed password")),
        "none": escaped(gettext("No password is available. Reset it to show one.")),
    }


def _cell(words, status, can_show, pk, name):
    # format_html's work, with accounts.rendering.escaped: a page draws 50 of these
    if status == SHOWN and can_show:
        cell = _SHOWN.format(escaped(reveal_url(pk)), words["show"], escaped(name), words["copy"])
    elif status == USER_CHANGED:
        cell = _USER_CHANGED.format(words["user_changed"])
    else:
        cell = _NONE.format(words["none"])
    return mark_safe(cell)  # noqa: S308 - every value is escaped (the words by _words)
