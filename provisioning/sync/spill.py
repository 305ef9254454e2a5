"""A plan's changes spilled to a temporary table (PostgreSQL), as provisioning.sync.changes.Changes keeps them
past SPILL_AT: a table made in the run's transaction and dropped when it ends, a row a change.

Its rows are written to the accounts as rows.changes_write writes those held: only where nobody changed the
account since the plan read it, else StaleRows.
"""

import itertools
import json
from collections.abc import Mapping

from django.db import connection

from accounts.models import Account
from provisioning.sync import rows

# tables are numbered: a batch may spill the plans of several schools, and plan one again
_tables = itertools.count(1)


def possible() -> bool:
    """Whether planned changes can be spilled to a temporary table: on PostgreSQL, inside a transaction (the
    table is dropped when it ends, and what a plan spilled is written in the same one)."""
    return connection.vendor == "postgresql" and connection.in_atomic_block


def create() -> str:
    """A new temporary table for planned changes (dropped when the transaction ends); its name.

    A row a change: the account id, updated_at as read (`seen`), the mask of rows.WRITTEN fields it sets, and a
    column for each of those fields (the accounts table's own name and type), NULL where the change leaves it out.
    """
    quote = connection.ops.quote_name
    name = f"ump_sync_changes_{next(_tables)}"
    columns = ", ".join(
        f"{quote(f.column)} {rows.SQL_TYPES[f.get_internal_type()]}"
        for f in (Account._meta.get_field(n) for n in rows.WRITTEN)
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMPORARY TABLE {quote(name)} "
            f"(id bigint PRIMARY KEY, seen timestamptz NOT NULL, mask bigint NOT NULL, {columns}) ON COMMIT DROP"
        )
    return name


def copy(table: str, changes: Mapping[int, tuple]) -> None:
    """Add planned changes (id -> rows.change_pack) to a spill table in one COPY (none of them may be there yet)."""
    quote = connection.ops.quote_name
    columns = ", ".join(["id", "seen", "mask", *(quote(_column(n)) for n in rows.WRITTEN)])
    positions = {name: 3 + n for n, name in enumerate(rows.WRITTEN)}
    with (
        connection.wrap_database_errors,
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {quote(table)} ({columns}) FROM STDIN") as writer,
    ):
        for account_id, change in changes.items():
            row = [account_id, rows.change_seen(change), change[1], *([None] * len(rows.WRITTEN))]
            for name, value in rows.change_values(change).items():
                row[positions[name]] = json.dumps(value) if name in rows.JSON_WRITTEN else value
            writer.write_row(row)


def analyze(table: str) -> None:
    """Give a spill table, once filled, statistics: without them (autovacuum never looks at a temporary table)
    PostgreSQL may plan each chunk's lock and write as a scan of the whole table."""
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {connection.ops.quote_name(table)}")


def get(table: str, account_id: int) -> tuple | None:
    """A spilled change (rows.change_pack), or None if the table holds none for the account."""
    quote = connection.ops.quote_name
    names = [quote(_column(n)) for n in rows.WRITTEN]
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT seen, mask, {', '.join(names)} FROM {quote(table)} WHERE id = %s",  # noqa: S608
            [account_id],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    seen, mask, values = row[0], row[1], {}
    for (name, bit), value in zip(rows.BITS, row[2:], strict=True):
        if mask & bit:
            values[name] = (
                json.loads(value) if name in rows.JSON_WRITTEN and isinstance(value, str) else value
            )
    return rows.change_pack(seen, values, {})


def delete(table: str, account_id: int) -> None:
    """Take an account's change out of a spill table (the plan holds a newer one in memory)."""
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {connection.ops.quote_name(table)} WHERE id = %s", [account_id])  # noqa: S608


def lock(table: str, ids: list[int]) -> set[int]:
    """Lock the accounts of these spilled changes (ascending ids, all the table holds from the first to the last);
    return those another worker changed since they were read (or that are gone)."""
    quote = connection.ops.quote_name
    accounts = quote(Account._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            # names from the model and the plan; the id range is two parameters
            f"SELECT a.id, a.updated_at = v.seen FROM {accounts} a JOIN {quote(table)} v ON v.id = a.id "  # noqa: S608
            f"WHERE v.id BETWEEN %s AND %s AND a.id BETWEEN %s AND %s ORDER BY a.id FOR UPDATE OF a",
            [ids[0], ids[-1], ids[0], ids[-1]],
        )
        found = dict(cursor.fetchall())
    return {i for i in ids if not found.get(i, False)}


def write(table: str, ids: list[int], mask: int) -> None:
    """Write the spilled changes of these accounts (ascending ids, all the table holds from the first to the
    last; `mask` every field any of them sets) as changes_write does: only where nobody changed the account
    since it was read, else rows.StaleRows."""
    quote = connection.ops.quote_name
    sets = []
    for name, bit in rows.BITS:
        if mask & bit:
            column = quote(_column(name))
            # the bit is a constant of rows.BITS
            sets.append(f"{column} = CASE WHEN v.mask & {bit} <> 0 THEN v.{column} ELSE a.{column} END")
    with connection.cursor() as cursor:
        cursor.execute(
            # names from the model and the plan; the id range is two parameters
            f"UPDATE {quote(Account._meta.db_table)} AS a SET {', '.join(sets)} FROM {quote(table)} v "  # noqa: S608
            f"WHERE a.id = v.id AND a.updated_at = v.seen AND v.id BETWEEN %s AND %s AND a.id BETWEEN %s AND %s",
            [ids[0], ids[-1], ids[0], ids[-1]],
        )
        if cursor.rowcount != len(ids):
            raise rows.StaleRows


def _column(name: str) -> str:
    """A WRITTEN field's column in the accounts table."""
    return Account._meta.get_field(name).column
