from django import template
from django.urls import get_script_prefix, reverse

from passwords.selectors import password_statuses

register = template.Library()


@register.simple_tag(takes_context=True)
def password_status(context, account):
    """The password status of `account`, loaded for every row of the page at the first call.

    The user list renders this partial once per row; loading all rows' statuses together (cached on the
    request) keeps the page to one query for the column however long it is.
    """
    request = context.get("request")
    cache = getattr(request, "_ump_password_statuses", None) if request is not None else None
    if cache is None or account.pk not in cache:
        ids = {account.pk}
        ids.update(
            row["account"].pk
            for row in context.get("rows") or []
            if isinstance(row, dict) and "account" in row
        )
        cache = {**(cache or {}), **password_statuses(ids)}
        if request is not None:
            request._ump_password_statuses = cache
    return cache[account.pk]


@register.simple_tag
def reveal_url(account):
    """The Show password address of `account`: {% url 'passwords:reveal' pk %}, without a reverse() per row."""
    prefix = get_script_prefix()
    if prefix not in _REVEAL_URLS:
        _REVEAL_URLS[prefix] = reverse("passwords:reveal", args=[0]).split("/0/", 1)
    head, tail = _REVEAL_URLS[prefix]
    return f"{head}/{account.pk}/{tail}"


_REVEAL_URLS: dict[str, list[str]] = {}  # script prefix -> the address around the id
