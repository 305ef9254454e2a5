"""Reads the account pages share."""

import functools

from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.models import Case, F, IntegerField, Q, Value, When
from django.db.models.functions import Collate
from django.http import Http404
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from accounts.models import Account, Organisation
from accounts.permissions import Action, can, organisation_ids_for
from accounts.text import name_sort_key, school_order_key, search_fold, search_name

K = Account.Kind

# The View Users sections: slug -> (title, account kinds, the organisation kinds they belong to).
SECTIONS = {
    "learners": (_("Learners"), (K.LEARNER,), (Organisation.Kind.SCHOOL,)),
    "staff": (_("School Staff"), (K.STAFF,), (Organisation.Kind.SCHOOL,)),
    "governors": (_("Governors"), (K.GOVERNOR,), (Organisation.Kind.SCHOOL,)),
    "non-mis": (
        _("Non-MIS users"),
        (K.SCHOOL_NON_MIS, K.ITE_STUDENT, K.SERVICE),
        (Organisation.Kind.SCHOOL, Organisation.Kind.ITE_PROVIDER),
    ),
    "organisation": (
        _("Manage Local Authority Non-MIS Users"),
        (K.LA_NON_MIS, K.CONSORTIUM_NON_MIS),
        (Organisation.Kind.LOCAL_AUTHORITY, Organisation.Kind.CONSORTIUM, Organisation.Kind.NATIONAL),
    ),
}

SORTS = {
    "surname": ("legal_surname", "legal_forename", "pk"),
    "forename": ("legal_forename", "legal_surname", "pk"),
    "username": ("username",),
    "year": ("year_group", "legal_surname", "pk"),
    "reg": ("registration_group", "legal_surname", "pk"),
    "adno": ("admission_number", "pk"),
    "status": ("status", "legal_surname", "pk"),
    "created": ("created_at", "pk"),
}


# How long View Learners' year and registration group filters are kept between reads (list_filter_choices): the
# longest a group can be missing from them after a change that did not forget them.
FILTER_CHOICES_SECONDS = 60
FILTER_CHOICES_KEY = "ump:filter-choices"  # tests give each test a key of its own: their databases reuse ids

NAME_FIELDS = {"legal_surname", "legal_forename"}
# Sorted as schools order them (accounts.text.school_order_key), not as text: Year 7 before Year 10.
GROUP_FIELDS = {"year_group", "registration_group"}

# What user_list_rows reads of each account, and `can` of it (its organisation is the list's, given whole).
USER_LIST_COLUMNS = (
    "kind",
    "organisation",
    "legal_surname",
    "legal_forename",
    "username",
    "year_group",
    "registration_group",
    "admission_number",
    "status",
)
# name -> a feature app's View Users row hook (registered in its AppConfig.ready)
_ROW_HOOKS = {}


@functools.cache
def _icu_collations() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_collation WHERE collname IN ('cy-x-icu', 'und-x-icu')")
        return cursor.fetchone()[0] == 2


def name_order(field: str, *, descending: bool = False, language: str | None = None):
    """An ORDER BY term for a name as people read lists of them, whatever the database's own collation.

    Case and accents count only to break ties (ap Rhys among the A's, Ŵyn among the W's), and in Welsh the
    digraphs ch, dd, ff, ng, ll, ph, rh and th follow c, d, f, g, l, p, r and t (Lynch, Lloyd): ICU's
    collations on PostgreSQL, their twins from accounts.text.name_sort_key on SQLite (the demo).
    """
    term = F(field)
    welsh = (language or get_language() or "").startswith("cy")
    if connection.vendor == "postgresql" and _icu_collations():
        term = Collate(term, "cy-x-icu" if welsh else "und-x-icu")
    elif connection.vendor == "sqlite":
        term = Collate(term, "ump_names_cy" if welsh else "ump_names")
    return term.desc() if descending else term.asc()


def sqlite_collations(sender, connection, **kwargs):
    """connection_created receiver: a SQLite connection learns the name orders PostgreSQL has from ICU, and
    the name fold PostgreSQL has from unaccent (Account.search_name is generated with it)."""
    if connection.vendor != "sqlite":
        return
    for name, welsh in (("ump_names", False), ("ump_names_cy", True)):
        connection.connection.create_collation(name, functools.partial(_compare_names, welsh=welsh))
    connection.connection.create_function("ump_search_name", 2, search_name, deterministic=True)


def school_order(queryset, field: str, *, descending: bool = False):
    """An ORDER BY term for year or registration groups in school order, the same on every database.

    Reception before year 1, Year 7 before Year 10, 9Ma2 before 9Ma10 (accounts.text.school_order_key): the few
    group names among `queryset`'s rows are put in that order here (one query) and the database sorts by each
    name's place (a name that appeared since ranks after them all).
    """
    names = sorted(set(queryset.order_by().values_list(field, flat=True).distinct()), key=school_order_key)
    place = Case(
        *(When(**{field: name}, then=Value(i)) for i, name in enumerate(names)),
        default=Value(len(names)),
        output_field=IntegerField(),
    )
    return place.desc() if descending else place.asc()


def by_surname(*, language: str | None = None) -> tuple:
    """ORDER BY terms for a list of people: surname, then forename, as people read them (name_order), then pk.

    The one order of names: View Users sorted by surname, the credential CSVs and the PDF slips all use it.
    """
    return (
        name_order("legal_surname", language=language),
        name_order("legal_forename", language=language),
        "pk",
    )


def organisation_from_request(request, action, *, kinds=None, org_kinds=None, source=None, fallback=True):
    """The organisation a page is for, named by the request's one `org` parameter (a code).

    A code the actor may not see, or naming another kind of organisation than `org_kinds`, is a 404; one they
    may see but where they may not do `action` (to accounts of `kinds`) is a 403 (a 404 when the action is
    VIEW: what they may not view they cannot see). Without a code: with `fallback`, the actor's own
    organisation where they may do the action there, else the first (by name) where they may; else None.
    `source` is request.GET unless given (a form posts its `org`).
    """
    actor = request.user
    code = (request.GET if source is None else source).get("org", "")
    if code:
        organisation = Organisation.objects.filter(code=code).first()
    elif fallback:
        organisation = _default_organisation(actor, action, kinds=kinds, org_kinds=org_kinds)
    else:
        return None
    if (
        organisation is None
        or organisation.pk not in organisation_ids_for(actor, Action.VIEW)
        or (org_kinds is not None and organisation.kind not in org_kinds)
    ):
        raise Http404
    if organisation.pk not in organisation_ids_for(actor, action, kinds=kinds):
        raise Http404 if action == Action.VIEW else PermissionDenied
    return organisation


def section_organisations(actor, section):
    """Organisations whose users of this section the actor may list."""
    return Organisation.objects.filter(pk__in=section_organisation_ids(actor, section)).order_by("name")


def section_organisation_ids(actor, section) -> set:
    """section_organisations' ids, without a query (the permission table's cache)."""
    _title, kinds, org_kinds = SECTIONS[section]
    return organisation_ids_for(actor, Action.VIEW, kinds=kinds, org_kinds=org_kinds)


def account_list(
    *, actor, section, organisation, search="", active="", year="", reg_group="", sort="surname"
):
    """The scoped, filtered, sorted queryset behind a View Users table."""
    _title, kinds, _org_kinds = SECTIONS[section]
    qs = Account.objects.restrict(actor, Action.VIEW).filter(organisation=organisation, kind__in=kinds)
    term = search.strip()
    if term:
        # Names as folded text (accounts.text.search_fold: "Wyn" finds "Ŵyn", "Ni Bhriain" finds "Ní Bhriain");
        # the organisation filter above keeps the search within its index range.
        found = Q(username__icontains=term) | Q(admission_number__iexact=term)
        folded = search_fold(term)
        if folded:
            found |= Q(search_name__contains=folded)
        qs = qs.filter(found)
    if active == "Y":
        qs = qs.filter(status=Account.Status.ACTIVE)
    elif active == "N":
        qs = qs.exclude(status=Account.Status.ACTIVE)
    if year:
        qs = qs.filter(year_group=year)
    if reg_group:
        qs = qs.filter(registration_group=reg_group)
    descending = sort.startswith("-")
    fields = SORTS.get(sort.lstrip("-"), SORTS["surname"])
    order = [_order_term(qs, f, descending=descending) for f in fields]
    # Only the columns a row shows (USER_LIST_COLUMNS): the rows are sorted in the database before the page is
    # cut, and narrow rows sort and travel faster than whole accounts.
    return qs.only(*USER_LIST_COLUMNS).order_by(*order)


def user_list_rows(*, actor, organisation, accounts) -> list[dict]:
    """What each row of a View Users table shows, as plain values worked out once per page: the template's
    row loop only prints them (a template tag, include or translation per row was most of the page's time).

    Each row holds the account's columns, `name`, `url` (View Details), `can_show` (may the actor see its
    password), and whatever the feature apps' hooks add (passwords: the `password` cell).
    """
    statuses = {value: str(label) for value, label in Account.Status.choices}
    accounts = list(accounts)
    for account in accounts:  # all of `organisation` (account_list's): given, not joined to every row
        account.organisation = organisation
    detail_url = reverse("accounts:account_detail", args=[0]).removesuffix("0/")
    rows = [
        {
            "pk": account.pk,
            "surname": account.legal_surname,
            "forename": account.legal_forename,
            "username": account.username,
            "year_group": account.year_group,
            "registration_group": account.registration_group,
            "admission_number": account.admission_number,
            "status": statuses.get(account.status, account.status),
            "name": account.get_full_name(),
            "url": f"{detail_url}{account.pk}/",
            "can_show": can(actor, Action.SHOW_PASSWORD, account),
        }
        for account in accounts
    ]
    if rows:
        for hook in _ROW_HOOKS.values():
            hook(rows=rows)
    return rows


def user_list_row_register(name, hook) -> None:
    """Name a feature's hook(rows=[...]) that adds its cells to every row of a View Users page at once."""
    _ROW_HOOKS[name] = hook


def list_filter_choices(*, organisation):
    """The year groups and registration groups present among a school's active learners, in school order, as
    View Learners offers them as filters.

    Kept in the cache for FILTER_CHOICES_SECONDS: they change when a provisioning run writes (which forgets them,
    filter_choices_forget) and hardly otherwise, while every View Learners page draws them. Group resets and
    printing check a chosen group against group_choices, which always reads them afresh.
    """
    key = _filter_choices_key(organisation.pk)
    choices = cache.get(key)
    if choices is None:
        choices = _filter_choices_read(organisation)
        cache.set(key, choices, FILTER_CHOICES_SECONDS)
    return choices


def filter_choices_forget(organisation_ids) -> None:
    """Forget the cached View Learners filters of these organisations (after their learners' groups or statuses
    changed), so that the next page reads them afresh."""
    cache.delete_many([_filter_choices_key(pk) for pk in organisation_ids])


def _filter_choices_key(organisation_id) -> str:
    # The database's name too: two portals (or a benchmark's throwaway database) may share one Redis.
    return f"{FILTER_CHOICES_KEY}:{connection.settings_dict['NAME']}:{organisation_id}"


def _filter_choices_read(organisation):
    """list_filter_choices from the database: one query (the distinct pairs; a school of 2,000 has a few dozen)."""
    pairs = (
        Account.objects.filter(organisation=organisation, kind=K.LEARNER, status=Account.Status.ACTIVE)
        .values_list("year_group", "registration_group")
        .order_by()
        .distinct()
    )
    years, regs = set(), set()
    for year, reg in pairs:
        years.add(year)
        regs.add(reg)
    return {
        "years": sorted(years - {""}, key=school_order_key),
        "reg_groups": sorted(regs - {""}, key=school_order_key),
    }


def group_choices(*, organisation):
    """Year groups, registration groups and classes present among a school's active learners, in school order
    (reception before year 1, 7A before 10A: accounts.text.school_order_key), as group resets and printing offer
    them: list_filter_choices' two lists read afresh (a chosen group is checked against them), and the classes."""
    learners = Account.objects.filter(organisation=organisation, kind=K.LEARNER, status=Account.Status.ACTIVE)
    # DISTINCT in the database: a school of 2,000 has a few dozen class lists, not 2,000 rows to send over.
    classes = {
        c for row in learners.values_list("classes", flat=True).order_by().distinct() for c in (row or [])
    }
    return {
        **_filter_choices_read(organisation),
        "classes": sorted(classes, key=school_order_key),
    }


def _order_term(queryset, field, *, descending):
    if field in NAME_FIELDS:
        return name_order(field, descending=descending)
    if field in GROUP_FIELDS:
        return school_order(queryset, field, descending=descending)
    return f"-{field}" if descending else field


def _default_organisation(actor, action, *, kinds, org_kinds):
    """The actor's own organisation where they may do `action`, else the first by name where they may.

    Where they may do it nowhere, their own organisation all the same: the caller's checks then refuse it.
    """
    ids = organisation_ids_for(actor, action, kinds=kinds)
    own = actor.organisation
    if own.pk in ids and (org_kinds is None or own.kind in org_kinds):
        return own
    candidates = Organisation.objects.filter(pk__in=ids)
    if org_kinds is not None:
        candidates = candidates.filter(kind__in=org_kinds)
    return candidates.order_by("name").first() or own


def _compare_names(a: str, b: str, *, welsh: bool) -> int:
    key_a, key_b = name_sort_key(a, welsh=welsh), name_sort_key(b, welsh=welsh)
    return (key_a > key_b) - (key_a < key_b)
