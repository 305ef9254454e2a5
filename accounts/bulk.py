"""Set-based writes: COPY on PostgreSQL (bulk_create elsewhere), ids reserved up front, atomic counters.

Used where one operation writes thousands of rows (provisioning a school, auditing a whole year group): the
ORM's per-object INSERT batches cost several times a COPY of the same rows. count_up is the one statement a
flood of refused requests costs (accounts.audit.audit_count).
"""

import functools
import json
from collections.abc import Iterable, Sequence

from django.db import connection, models


def _columns(model: type[models.Model], names: Sequence[str]):
    fields = [model._meta.get_field(name) for name in names]
    return fields, [f.get_internal_type() == "JSONField" for f in fields]


def rows_copy(model: type[models.Model], names: Sequence[str], rows: Iterable[Sequence]) -> None:
    """Insert rows (values in the order of the field names `names`) in one COPY; bulk_create off PostgreSQL.

    Every value is sent as data, never as SQL. The caller supplies every column without a database default.
    """
    fields, is_json = _columns(model, names)
    if connection.vendor != "postgresql":
        attnames = [f.attname for f in fields]
        objs = [model(**dict(zip(attnames, row, strict=True))) for row in rows]
        model._base_manager.bulk_create(objs, batch_size=1000)
        return
    table = connection.ops.quote_name(model._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    json_at = [i for i, j in enumerate(is_json) if j]
    with (
        connection.wrap_database_errors,
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
    ):
        for row in rows:
            if json_at:
                row = list(row)
                for i in json_at:
                    row[i] = _json(row[i])
            copy.write_row(row)


def _json(value) -> str:
    if isinstance(value, list | tuple) and all(type(v) is str for v in value):
        return _json_list(tuple(value))
    return json.dumps(value)


@functools.lru_cache(maxsize=4096)
def _json_list(items: tuple[str, ...]) -> str:
    # a school's learners share a few hundred class lists: each is encoded once (strings only, so that no two
    # different lists are equal keys, as [1] and [True] would be)
    return json.dumps(list(items))


def ids_reserve(model: type[models.Model], n: int) -> list[int] | None:
    """Take n primary keys from the table's sequence (PostgreSQL); None where the database cannot."""
    if connection.vendor != "postgresql":
        return None
    if n == 0:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [model._meta.db_table, model._meta.pk.column, n],
        )
        return [row[0] for row in cursor.fetchall()]


def count_up(model: type[models.Model], keys: dict, *, field: str = "count") -> None:
    """Add one to `field` of the row with these unique `keys`, creating it at 1: one atomic statement.

    INSERT ... ON CONFLICT DO UPDATE, in the same words on PostgreSQL and SQLite (3.24+): concurrent requests
    for the same keys each add their one, where a read-then-write (update_or_create) would lose some. `keys`
    must be exactly the fields of a unique constraint of `model`.
    """
    quote = connection.ops.quote_name
    fields = [model._meta.get_field(name) for name in keys]
    counter = model._meta.get_field(field)
    table = quote(model._meta.db_table)
    columns = ", ".join(quote(f.column) for f in [*fields, counter])
    conflict = ", ".join(quote(f.column) for f in fields)
    values = [f.get_db_prep_save(keys[f.name], connection) for f in fields]
    column = quote(counter.column)
    placeholders = ", ".join(["%s"] * (len(fields) + 1))
    with connection.cursor() as cursor:
        cursor.execute(
            # table and column names come from the model; every value is a parameter
            f"INSERT INTO {table} ({columns}) VALUES ({placeholders}) "  # noqa: S608
            f"ON CONFLICT ({conflict}) DO UPDATE SET {column} = {table}.{column} + 1",
            [*values, 1],
        )
