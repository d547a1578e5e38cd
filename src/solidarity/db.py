"""Bulk inserts without the ORM's per-object overhead, for the booking hot path; and a test
against a list of values bound as one value, for reads by many ids.

SQLite, inside a transaction: one single-row `INSERT` prepared once and run by the driver's
`executemany`, the ids given by us (every transaction here begins IMMEDIATE, so this writer
alone draws ids until it ends: the next ones follow the table's largest id and its
AUTOINCREMENT counter); outside one, multi-row `INSERT ... VALUES (...), (...) RETURNING id`
in chunks. PostgreSQL: `COPY ... FROM STDIN`,
with the ids drawn from the table's own sequence first when the caller needs them (a statement
of thousands of placeholders costs more to build and parse than the insert itself: measured,
the client-side binding of such statements took a third of an import's time).
Callers pass values already adapted for the database (see `db_datetime`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
from django.db import connection
from django.db.models import Model

_MAX_PARAMS = 30_000  # below SQLite's 32,766 host parameters


def values_among(values: Sequence[int] | Sequence[str]) -> tuple[str, Any]:
    """SQL that tests a column against `values` with a single bound value, and that value:
    `col IN (SELECT value FROM json_each(%s))` on SQLite, `col = ANY(%s)` on PostgreSQL.
    One value whatever the number of ids (SQLite caps bound values; Django binds each value of
    an `__in` list apart, at a cost per value that a page of 50 gifts paid three times over)."""
    if connection.vendor == "sqlite":
        return "IN (SELECT value FROM json_each(%s))", orjson.dumps(list(values)).decode()
    if values and isinstance(next(iter(values)), int):  # Sequence[int] (a bitmap: ints)
        # An array literal: psycopg's own adaptation of a list costs about 100 ns per item
        # in Python, and picks the element type from the values (int2[] for small ids).
        return "= ANY(%s::bigint[])", "{" + ",".join(map(str, values)) + "}"
    return "= ANY(%s)", list(values)


def db_datetime(value: datetime) -> Any:
    """A timezone-aware datetime in the form the database column expects.

    SQLite stores naive UTC text (`str(naive)`, as Django does); others take the value.
    """
    if value.tzinfo is None:
        raise ValueError("a booked time must carry a time zone")
    if connection.vendor == "sqlite":
        return str(value.astimezone(UTC).replace(tzinfo=None))
    return value


def db_datetime_read(value: Any) -> datetime:
    """A datetime column's value from a raw read, aware, as the ORM gives it: SQLite stores
    UTC without a zone (text, or a naive datetime through the driver's converters),
    PostgreSQL an aware one."""
    if connection.vendor != "sqlite":
        return value  # type: ignore[no-any-return]
    return connection.ops.convert_datetimefield_value(value, None, connection)  # type: ignore[no-any-return]


def db_datetime_adapter() -> Callable[[datetime], Any]:
    """`db_datetime` for the current connection, its vendor looked up once (for loops over
    many rows)."""
    if connection.vendor != "sqlite":
        return _aware
    utc = UTC

    def sqlite_text(value: datetime) -> str:
        if value.tzinfo is None:
            raise ValueError("a booked time must carry a time zone")
        return str(value.astimezone(utc).replace(tzinfo=None))

    return sqlite_text


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("a booked time must carry a time zone")
    return value


def rows_insert(
    table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]], *, returning: bool = False
) -> list[int]:
    """Insert `rows` into `table`; with `returning`, the new ids in row order.

    `table` and `columns` come from model metadata, never from input.
    """
    if not rows:
        return []
    if connection.vendor == "postgresql":
        return _rows_copy(table, columns, rows, returning=returning)
    if connection.in_atomic_block:
        return _rows_executemany(table, columns, rows, returning=returning)
    qn = connection.ops.quote_name
    names = ", ".join(qn(c) for c in columns)
    head = f"INSERT INTO {qn(table)} ({names}) VALUES "  # noqa: S608 (names from model meta)
    one = "(" + ", ".join(["%s"] * len(columns)) + ")"
    per_chunk = max(1, _MAX_PARAMS // len(columns))
    ids: list[int] = []
    with connection.cursor() as cur:
        for start in range(0, len(rows), per_chunk):
            chunk = rows[start : start + per_chunk]
            sql = head + ", ".join([one] * len(chunk))
            if returning:
                sql += " RETURNING id"
            params = [value for row in chunk for value in row]
            cur.execute(sql, params)
            if returning:
                ids.extend(int(r[0]) for r in cur.fetchall())
    return ids


def _rows_executemany(
    table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]], *, returning: bool
) -> list[int]:
    """SQLite inside a transaction (holding the write lock): `rows` through `executemany`,
    bypassing Django's placeholder rewriting (a regex over the statement per call); with
    `returning`, the ids after the table's largest and its AUTOINCREMENT counter, in order."""
    qn = connection.ops.quote_name
    ids: list[int] = []
    with connection.cursor() as cur:
        if returning:
            last = f"SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = %s), 0), coalesce((SELECT max(id) FROM {qn(table)}), 0))"  # noqa: S608, E501 (name from model meta)
            cur.execute(last, [table])
            first = int(cur.fetchone()[0]) + 1
            ids = list(range(first, first + len(rows)))
            columns = ("id", *columns)
            rows = [(i, *row) for i, row in zip(ids, rows, strict=True)]
        names = ", ".join(qn(c) for c in columns)
        marks = ", ".join(["?"] * len(columns))
        sql = f"INSERT INTO {qn(table)} ({names}) VALUES ({marks})"  # noqa: S608 (names from model meta)
        with connection.wrap_database_errors:
            sqlite3.Cursor.executemany(cur.cursor, sql, rows)
    return ids


def _rows_copy(
    table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]], *, returning: bool
) -> list[int]:
    """PostgreSQL: `rows` through COPY; with `returning`, the ids drawn from the table's `id`
    sequence (as INSERT would draw them), ascending, given to the rows in order."""
    qn = connection.ops.quote_name
    ids: list[int] = []
    with connection.cursor() as cur:
        if returning:
            cur.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                [table, len(rows)],
            )
            ids = sorted(int(r[0]) for r in cur.fetchall())
            columns = ("id", *columns)
            rows = [(i, *row) for i, row in zip(ids, rows, strict=True)]
        names = ", ".join(qn(c) for c in columns)
        # The raw cursor's COPY, its errors translated as Django's own (IntegrityError for a
        # unique row a concurrent booker committed first: callers retry on it).
        with (
            connection.wrap_database_errors,
            cur.cursor.copy(f"COPY {qn(table)} ({names}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
    return ids


def objects_insert_new(objs: Sequence[Model], unique: Sequence[str]) -> list[bool]:
    """Insert each unsaved model instance unless a row with the same `unique` columns exists
    (`INSERT ... ON CONFLICT (unique) DO NOTHING`, SQLite and PostgreSQL); per instance,
    whether it was inserted. Values go through each field's own conversion, as `save` does;
    ids are not set on the instances. Call inside a transaction to make the lot atomic.
    """
    if not objs:
        return []
    meta = objs[0]._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    qn = connection.ops.quote_name
    sql = (
        f"INSERT INTO {qn(meta.db_table)} ({', '.join(qn(f.column) for f in fields)}) "  # noqa: S608 (names from model meta)
        f"VALUES ({', '.join(['%s'] * len(fields))}) "
        f"ON CONFLICT ({', '.join(qn(meta.get_field(u).column) for u in unique)}) DO NOTHING"
    )
    inserted = []
    with connection.cursor() as cur:
        for obj in objs:
            cur.execute(
                sql, [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields]
            )
            inserted.append(cur.rowcount == 1)
    return inserted


def append_only_triggers(schema_editor: Any, tables: Sequence[str], *, create: bool) -> None:
    """Create (or drop) triggers that make the database refuse UPDATE and DELETE on `tables`.

    For migrations (RunPython): SQLite gets BEFORE UPDATE/DELETE triggers that abort;
    PostgreSQL a row trigger calling `solidarity_append_only()`. A later migration that
    rebuilds such a table on SQLite must call this again, since the rebuild drops them.
    """
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql" and create:
        schema_editor.execute(
            "CREATE OR REPLACE FUNCTION solidarity_append_only() RETURNS trigger "
            "LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION "
            "'%% is append-only: post a reversing transaction instead', TG_TABLE_NAME; "
            "END $$"
        )
    for table in tables:
        if vendor == "sqlite":
            for op in ("UPDATE", "DELETE"):
                name = f"{table}_no_{op.lower()}"
                schema_editor.execute(
                    f"CREATE TRIGGER {name} BEFORE {op} ON {table} BEGIN SELECT "
                    f"RAISE(ABORT, '{table} is append-only: post a reversing transaction "
                    "instead'); END"
                    if create
                    else f"DROP TRIGGER IF EXISTS {name}"
                )
        elif vendor == "postgresql":
            schema_editor.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION solidarity_append_only()"
                if create
                else f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}"
            )


def plain_indexes_drop(schema_editor: Any, table: str, columns: Sequence[str]) -> None:
    """Drop every index on `table` over exactly `columns` that is not unique, whatever its
    name (for migrations, RunPython: Django names them differently on each database, and
    PostgreSQL adds a LIKE twin to an indexed text column)."""
    connection = schema_editor.connection
    with connection.cursor() as cur:
        found = connection.introspection.get_constraints(cur, table)
    for name, info in found.items():
        if info["index"] and not info["unique"] and info["columns"] == list(columns):
            schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(name)}")
