"""The account rows the sync reads and writes: with `spill` (a plan's changes in a temporary table), the only
provisioning modules that speak SQL.

On PostgreSQL the sync reads and writes set-based: raw queries built once from the models, new accounts written
with COPY, changes in one UPDATE for each WRITE_CHUNK of them (a large school's spilled first to a temporary
table: provisioning.sync.spill), transaction-scoped advisory locks. Each fast path
has a plain-ORM twin for other databases (the demo on SQLite), kept beside it here.
"""

import functools
import itertools
import json
import operator
from collections.abc import Iterator, Mapping

from django.db import connection
from django.db.models import Exists, OuterRef

from accounts.bulk import rows_copy
from accounts.models import Account, Organisation
from accounts.usernames import usernames_bind
from provisioning.models import NameChangeNotice
from provisioning.records import LEARNER_FIELDS, STAFF, STAFF_FIELDS

LOCK_CLASS = 0x554D50  # "UMP": the advisory-lock namespace for provisioning runs
# the accounts whose rows changed under a run are locked this many at a time
LOCK_CHUNK = 5000
# a school's accounts read through (never held) are fetched this many at a time
STREAM_CHUNK = 10000
# changed accounts are written this many to a statement (its parameters are a few values of each)
WRITE_CHUNK = 20000
# What the sync reads of an account, and (WRITTEN) what it may change.
LOADED = (
    "id",
    "organisation_id",
    "kind",
    "status",
    "status_reason",
    "status_changed_at",
    "deactivated_at",
    "upn_hash",
    "legal_forename",
    "legal_surname",
    *LEARNER_FIELDS,
    *STAFF_FIELDS,
    "leaving_date",
    "work_email",
    "moved_from_id",
    "updated_at",
)
WRITTEN = (
    "organisation",
    "moved_from",
    "status",
    "status_reason",
    "status_changed_at",
    "deactivated_at",
    *LEARNER_FIELDS,
    *STAFF_FIELDS,
    "leaving_date",
    "work_email",
    "updated_at",
)
# WRITTEN field -> its LOADED name (a foreign key is loaded and set by its id)
ATTNAMES = {name: Account._meta.get_field(name).attname for name in WRITTEN}
_JSON_LOADED = {
    name
    for name in LOADED
    if name != "id" and Account._meta.get_field(name).get_internal_type() == "JSONField"
}
# A planned change is kept as one tuple: (updated_at as read, a mask of the WRITTEN fields it sets, the values of
# those, in WRITTEN order). A field it leaves out keeps the value read: the write compares updated_at first.
BITS = tuple((name, 1 << n) for n, name in enumerate(WRITTEN))
JSON_WRITTEN = {name for name in WRITTEN if Account._meta.get_field(name).get_internal_type() == "JSONField"}
SQL_TYPES = {
    "ForeignKey": "bigint",
    "CharField": "text",
    "EmailField": "text",
    "DateTimeField": "timestamptz",
    "DateField": "date",
    "BooleanField": "boolean",
    "JSONField": "jsonb",
}


class StaleRows(Exception):
    """Another run changed an account this run planned to change: plan again."""


# ---------------------------------------------------------------- planned changes


def change_pack(seen, values: dict, shared: dict) -> tuple:
    """A planned change as kept: the account's updated_at as read (`seen`), and the WRITTEN `values` it sets.

    A JSON list is kept as a tuple. Equal values are kept once, through `shared` (a plan's, (type, value) ->
    value): a school's learners share a few year groups, groups, class lists and dates.
    """
    mask, kept = 0, []
    for name, bit in BITS:
        if name in values:
            value = values[name]
            if isinstance(value, list):
                value = tuple(value)
            mask |= bit
            kept.append(shared.setdefault((type(value), value), value))
    return (shared.setdefault((type(seen), seen), seen), shared.setdefault((int, mask), mask), *kept)


def change_values(change: tuple) -> dict:
    """The WRITTEN values a planned change sets, by name."""
    mask, values, position = change[1], {}, 2
    for name, bit in BITS:
        if mask & bit:
            value = change[position]
            values[name] = list(value) if name in JSON_WRITTEN and isinstance(value, tuple) else value
            position += 1
    return values


def change_seen(change: tuple):
    """The account's updated_at as the plan read it."""
    return change[0]


# ---------------------------------------------------------------- locks


def school_lock(organisation: Organisation) -> None:
    """Serialise runs for one school until the transaction ends."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [LOCK_CLASS, organisation.pk])
    else:
        Organisation.objects.select_for_update().filter(pk=organisation.pk).first()


def accounts_lock(*changes: Mapping[int, tuple]) -> set[int]:
    """Lock the accounts of these planned changes (each id -> change_pack); return those another worker changed
    since they were read."""
    seen = changes[0] if len(changes) == 1 else {i: c for each in changes for i, c in each.items()}
    stale = set()
    ids = sorted(seen)
    for start in range(0, len(ids), LOCK_CHUNK):
        chunk = ids[start : start + LOCK_CHUNK]
        # in id order, so that two workers locking overlapping accounts queue rather than deadlock
        rows = (
            Account.objects.select_for_update()
            .filter(pk__in=chunk)
            .order_by("pk")
            .values_list("pk", "updated_at")
        )
        found = set()
        for pk, updated_at in rows:
            found.add(pk)
            if updated_at != change_seen(seen[pk]):
                stale.add(pk)
        stale.update(i for i in chunk if i not in found)  # a row gone since is stale too
    return stale


# ---------------------------------------------------------------- reading


def local_values(
    organisation: Organisation,
    kinds: list[str],
    *,
    ids: list[int] | None = None,
    upn_hashes: list[str] | None = None,
) -> dict[int, dict]:
    """`_values` of the school's MIS accounts of these kinds (only those with these ids, or UPN hashes, if given),
    each with whether a name-change notice is pending.

    On PostgreSQL the query is written once from the model: every school's plan runs it, and building it with the
    ORM cost more than running it for a school with few accounts.
    """
    if connection.vendor != "postgresql":
        qs = Account.objects.filter(organisation=organisation, source=Account.Source.MIS, kind__in=kinds)
        if ids is not None:
            qs = qs.filter(pk__in=ids)
        if upn_hashes is not None:
            qs = qs.filter(upn_hash__in=upn_hashes)
        return _values(qs.annotate(pending_notice=_pending_notice()), "pending_notice")
    params = [NameChangeNotice.Status.PENDING, organisation.pk, Account.Source.MIS, list(kinds)]
    if ids is not None:
        params.append(list(ids))
    if upn_hashes is not None:
        params.append(",".join(upn_hashes))
    with connection.cursor() as cursor:
        cursor.execute(_local_sql(ids is not None, upn_hashes is not None), params)
        return _rows_as_values((*LOADED, "pending_notice"), cursor)


def local_active_count(organisation: Organisation, kinds: list[str]) -> int:
    """How many of the school's MIS accounts of these kinds are not deactivated."""
    return (
        Account.objects.filter(organisation=organisation, source=Account.Source.MIS, kind__in=kinds)
        .exclude(status=Account.Status.DEACTIVATED)
        .count()
    )


def local_active_hashes(organisation: Organisation, kind: str) -> Iterator[tuple[int, str | None]]:
    """(id, UPN hash) of each of the school's MIS accounts of this kind that is not deactivated.

    Read from the database a chunk at a time (a server-side cursor on PostgreSQL) and held by nobody: a school
    may have millions, and a later run only looks for those its extract no longer lists.
    """
    return (
        Account.objects.filter(organisation=organisation, source=Account.Source.MIS, kind=kind)
        .exclude(status=Account.Status.DEACTIVATED)
        .values_list("id", "upn_hash")
        .iterator(chunk_size=STREAM_CHUNK)
    )


def values_by_upn_hash(hashes: list[str]) -> dict[int, dict]:
    """`_values` of the accounts holding these UPN hashes, anywhere in Wales, each with whether a name-change
    notice is pending.

    On PostgreSQL the hashes go as one parameter: a school's first run asks for every learner it has, and an
    IN list of 1,500 64-character parameters costs more to send and plan than the lookup itself. They are joined
    as a set: with `= ANY(array)` the planner cannot tell the array's size and often scans the whole table.
    """
    if connection.vendor != "postgresql":
        qs = Account.objects.filter(upn_hash__in=hashes).annotate(pending_notice=_pending_notice())
        return _values(qs, "pending_notice")
    quote = connection.ops.quote_name
    table = quote(Account._meta.db_table)
    column = quote(Account._meta.get_field("upn_hash").column)
    with connection.cursor() as cursor:
        # identifiers come from the model; the hashes (hex digits, so no commas) are one text parameter
        cursor.execute(
            f"SELECT {_loaded_columns()}, {_pending_sql()} "  # noqa: S608
            f"FROM unnest(string_to_array(%s, ',')) AS h(upn_hash) "
            f"JOIN {table} a ON a.{column} = h.upn_hash",
            [NameChangeNotice.Status.PENDING, ",".join(hashes)],
        )
        return _rows_as_values((*LOADED, "pending_notice"), cursor)


def staff_values_by_email(emails: list[str], *, elsewhere_than: Organisation) -> dict[int, dict]:
    """`_values` of the MIS staff accounts with these work emails at other schools than this one."""
    return _values(
        Account.objects.filter(kind=STAFF, source=Account.Source.MIS, work_email__in=emails).exclude(
            organisation=elsewhere_than
        )
    )


def first_provisionings(pairs: list[tuple[int, str]]) -> set[tuple[int, str]] | None:
    """Those (school id, kind) pairs whose school has no MIS account of that kind yet.

    None where usernames are not reserved ahead (see usernames_reserve): off PostgreSQL, inside a transaction,
    or with no pairs to ask about.
    """
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return None
    if not pairs:
        return None
    table = connection.ops.quote_name(Account._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            # the table name comes from the model; every value is a parameter
            f"SELECT v.o, v.k FROM unnest(%s::bigint[], %s::text[]) AS v(o, k) WHERE NOT EXISTS "  # noqa: S608
            f"(SELECT 1 FROM {table} a WHERE a.organisation_id = v.o AND a.kind = v.k AND a.source = %s)",
            [[o for o, _k in pairs], [k for _o, k in pairs], Account.Source.MIS],
        )
        return set(cursor.fetchall())


# ---------------------------------------------------------------- writing


def accounts_insert(rows: list[dict]) -> list[int]:
    """Insert new accounts (one COPY on PostgreSQL, their ids and username claims already made); their ids."""
    if not rows:
        return []
    plan = _copy_plan()
    defaults = {f.attname: (f.get_default() if callable_ else d) for f, d, callable_ in plan}
    if connection.vendor != "postgresql":
        del defaults[Account._meta.pk.attname]
        Account.objects.bulk_create([Account(**{**defaults, **row}) for row in rows], batch_size=1000)
        ids = dict(
            Account.objects.filter(username__in=[r["username"] for r in rows]).values_list("username", "id")
        )
        usernames_bind(list(Account.objects.filter(pk__in=ids.values())))
        return [ids[r["username"]] for r in rows]
    names = [f.name for f, _d, _c in plan]
    pick = operator.itemgetter(*(f.attname for f, _d, _c in plan))
    rows_copy(Account, names, (pick({**defaults, **row}) for row in rows))
    return [row["id"] for row in rows]


def changes_write(*changes: Mapping[int, tuple]) -> None:
    """Write every changed account (of each mapping: id -> its planned change, change_pack), WRITE_CHUNK to a
    statement, only where nobody changed it since this run read it. A field a change leaves out keeps its value:
    the value read. Raises StaleRows if any was changed since (the run's transaction then writes nothing)."""
    pairs = itertools.chain.from_iterable(c.items() for c in changes)
    for chunk in itertools.batched(pairs, WRITE_CHUNK):
        _changes_write(dict(chunk))


def _changes_write(changes: dict[int, tuple]) -> None:
    ids = list(changes)
    if connection.vendor != "postgresql":
        current = {
            row["id"]: row
            for row in Account.objects.select_for_update()
            .filter(pk__in=ids)
            .values("id", *{ATTNAMES[name] for name in WRITTEN})
        }
        if any(i not in current or current[i]["updated_at"] != change_seen(changes[i]) for i in ids):
            raise StaleRows
        objs = []
        for account_id, change in changes.items():
            obj = Account(pk=account_id)
            for name in WRITTEN:
                setattr(obj, ATTNAMES[name], current[account_id][ATTNAMES[name]])
            for name, value in change_values(change).items():
                setattr(obj, ATTNAMES[name], value)
            objs.append(obj)
        Account.objects.bulk_update(objs, list(WRITTEN), batch_size=500)
        return
    # each field some change sets: its values (None where a change leaves it out); and each change's mask
    masks = [changes[i][1] for i in ids]
    set_any = functools.reduce(operator.or_, masks, 0)
    written = [(name, bit) for name, bit in BITS if set_any & bit]
    columns = {name: [None] * len(ids) for name, _bit in written}
    for k, account_id in enumerate(ids):
        for name, value in change_values(changes[account_id]).items():
            columns[name][k] = json.dumps(value) if name in JSON_WRITTEN else value
    sets, casts, names = [], [], ["id", "seen", "mask"]
    params = [ids, [change_seen(changes[i]) for i in ids], masks]
    for name, bit in written:
        f = Account._meta.get_field(name)
        sql_type = SQL_TYPES[f.get_internal_type()]
        column = connection.ops.quote_name(f.column)
        values = columns.pop(name)
        new = f"v.{column}"
        if sql_type == "jsonb":
            casts.append("%s::text[]")
            new = f"v.{column}::jsonb"
        else:
            casts.append(f"%s::{sql_type}[]")
        # the bit is a constant of this module
        sets.append(f"{column} = CASE WHEN v.mask & {bit} <> 0 THEN {new} ELSE a.{column} END")
        names.append(column)
        params.append(values)
    table = connection.ops.quote_name(Account._meta.db_table)
    sql = (
        # identifiers come from the model; every value is a parameter
        f"UPDATE {table} AS a SET {', '.join(sets)} "  # noqa: S608
        f"FROM unnest(%s::bigint[], %s::timestamptz[], %s::bigint[], {', '.join(casts)}) "
        f"AS v({', '.join(names)}) WHERE a.id = v.id AND a.updated_at = v.seen"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        # a row another run changed after this one read it is skipped by the WHERE: plan again
        if cursor.rowcount != len(ids):
            raise StaleRows


def statistics_refresh(created: int) -> None:
    """ANALYZE the accounts table's lookup columns when this batch grew it by a fifth or more.

    During a first provisioning the tables grow from nothing faster than autovacuum looks at them. With the
    statistics of an empty table PostgreSQL plans every later school's UPN lookup as a scan of the whole
    table, so the load slows as it goes (quadratic in the end). ANALYZE samples a fixed number of rows.
    """
    if connection.vendor != "postgresql" or created < 1000:
        return
    table = connection.ops.quote_name(Account._meta.db_table)
    # only the columns the sync looks accounts up by: a full ANALYZE also samples every expression index
    columns = ", ".join(
        connection.ops.quote_name(c) for c in ("upn_hash", "organisation_id", "kind", "source")
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [Account._meta.db_table])
        (estimate,) = cursor.fetchone()
        if created >= 0.2 * max(estimate, 0):
            cursor.execute(f"ANALYZE {table} ({columns})")


# ---------------------------------------------------------------- helpers


def _values(qs, *extra) -> dict[int, dict]:
    """Account id -> {field: value} for LOADED (and `extra` annotations), as `qs.values()` would give."""
    names = (*LOADED, *extra)
    if connection.vendor != "postgresql":
        return {row["id"]: row for row in qs.values(*names)}
    # The ORM's per-row conversion costs several times the query on a large school. psycopg already gives
    # PostgreSQL's types as Python's; only JSON arrives as text (Django's connection asks for it so).
    sql, params = qs.values_list(*names).query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return _rows_as_values(names, cursor)


class Loaded(Mapping):
    """One account's loaded values, read as the dict `qs.values()` gives: the row's tuple, and the positions of
    its names shared by every row of the query, read from the cursor a row at a time: about 960 bytes an account,
    where a dict of each row, made after fetching them all, held about 1,800 (tests/provisioning/
    test_bounded_memory.py). A plan holds one for each account of the chunk it is comparing (and for staff); of
    an account it changes it keeps only the change (change_pack)."""

    __slots__ = ("_index", "_values")

    def __init__(self, index: dict[str, int], values: tuple):
        self._index = index
        self._values = values

    def __getitem__(self, name):
        return self._values[self._index[name]]

    def __iter__(self):
        return iter(self._index)

    def __len__(self):
        return len(self._index)

    def __repr__(self):
        return f"Loaded({dict(self)!r})"


def _rows_as_values(names, rows) -> dict[int, dict]:
    """`rows` (a cursor, read a row at a time, or a list) as Loaded values by account id."""
    index = {name: position for position, name in enumerate(names)}
    json_positions = [index[name] for name in names if name in _JSON_LOADED]
    id_position = index["id"]
    out = {}
    for row in rows:
        if any(isinstance(row[position], str) for position in json_positions):
            row = list(row)
            for position in json_positions:
                if isinstance(row[position], str):
                    row[position] = json.loads(row[position])
            row = tuple(row)
        out[row[id_position]] = Loaded(index, row)
    return out


@functools.cache
def _loaded_columns() -> str:
    """LOADED as SQL columns of the accounts table aliased `a` (names from the model)."""
    return ", ".join(f"a.{connection.ops.quote_name(Account._meta.get_field(n).column)}" for n in LOADED)


def _pending_notice() -> Exists:
    """Whether the account has a pending name-change notice (an ORM annotation)."""
    return Exists(
        NameChangeNotice.objects.filter(account=OuterRef("pk"), status=NameChangeNotice.Status.PENDING)
    )


@functools.cache
def _pending_sql() -> str:
    """Whether the account `a` has a pending name-change notice, as an SQL column (the status a parameter)."""
    quote = connection.ops.quote_name
    notice = NameChangeNotice._meta
    return (
        f"EXISTS (SELECT 1 FROM {quote(notice.db_table)} n "  # noqa: S608 - names from the models
        f"WHERE n.{quote(notice.get_field('account').column)} = a.{quote(Account._meta.pk.column)} "
        f"AND n.{quote(notice.get_field('status').column)} = %s)"
    )


@functools.cache
def _local_sql(by_ids: bool, by_hashes: bool) -> str:
    """The school's MIS accounts of some kinds, with their pending notices; only some ids or UPN hashes if asked."""
    quote = connection.ops.quote_name

    def column(name):
        return quote(Account._meta.get_field(name).column)

    sql = (
        f"SELECT {_loaded_columns()}, {_pending_sql()} "  # noqa: S608 - names from the models
        f"FROM {quote(Account._meta.db_table)} a WHERE a.{column('organisation')} = %s "
        f"AND a.{column('source')} = %s AND a.{column('kind')} = ANY(%s)"
    )
    if by_ids:
        sql += f" AND a.{quote(Account._meta.pk.column)} IN (SELECT unnest(%s::bigint[]))"
    if by_hashes:
        sql += f" AND a.{column('upn_hash')} IN (SELECT unnest(string_to_array(%s, ',')))"
    return sql


@functools.cache
def _copy_plan() -> list[tuple]:
    """Account's columns for COPY (the id first), with the value each takes when a new row does not give one."""
    plan = []
    for f in Account._meta.concrete_fields:
        if f.generated:
            continue  # the database computes it (search_name)
        callable_default = f.has_default() and callable(f.default)
        default = (
            None if callable_default else (f.get_default() if f.has_default() else None if f.null else "")
        )
        plan.append((f, default, callable_default))
    return plan
