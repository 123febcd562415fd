"""Folding a batch into rows: a read and a write or two per table, whatever the batch's size.

A projection loads the rows its batch touches (`load_rows`), changes them in memory, and writes
them back (`save_rows`, `insert_rows`). How one statement carries a whole batch differs by SQL
dialect, and only here (ADR 19): on PostgreSQL new rows go by binary COPY, and keys and
replaced rows travel as one array a column (`= ANY(...)`, `INSERT ... SELECT FROM unnest(...)
ON CONFLICT`); elsewhere (SQLite) an IN list and executemany, with a replacement as delete +
insert.

Every text value is made storable on the way in, whatever an event held (imports, older
versions, other writers): a projection never fails on a string. No store can encode a lone
surrogate (UTF-8); PostgreSQL text holds no NUL and refuses a value longer than its column.
Each such character becomes U+FFFD and an overlong value is cut to its column's length.
Likewise a time: one stored without its zone (never ours; another writer's) is taken as UTC,
the service's zone, for a column of UTC times, which refuses it otherwise; one whose instant in
UTC falls before the first datetime or after the last (year 1 ahead of UTC, year 9999 behind
it) is taken as that first or last instant, which every store holds and gives back.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import (
    Column,
    ColumnElement,
    Connection,
    Dialect,
    String,
    Table,
    any_,
    bindparam,
    delete,
    insert,
    select,
    tuple_,
)
from sqlalchemy.dialects.postgresql import ARRAY

from projections.events import RecordedEvent
from sharedkernel.sqltypes import UtcDateTime

Row = dict[str, Any]
REPLACEMENT = "\ufffd"
_NO_LIMIT = sys.maxsize
_SURROGATES = re.compile("[\ud800-\udfff]")
_SURROGATES_OR_NUL = re.compile("[\x00\ud800-\udfff]")


def _text_columns(table: Table) -> list[tuple[int, str, int]]:
    """(index, name, length limit) of each text column of `table`."""
    return [
        (i, column.name, column.type.length or _NO_LIMIT)
        for i, column in enumerate(table.columns)
        if isinstance(column.type, String)
    ]


def _time_columns(table: Table) -> list[tuple[int, str]]:
    """(index, name) of each column of UTC times of `table`."""
    return [(i, c.name) for i, c in enumerate(table.columns) if isinstance(c.type, UtcDateTime)]


# Only a time in these years can have a UTC instant outside datetime's range.
_EDGE_YEARS = (1, 9999)
_FIRST = datetime.min.replace(tzinfo=UTC)
_LAST = datetime.max.replace(tzinfo=UTC)


def _utc(value: Any) -> Any:
    """A time without its zone as UTC; one whose UTC instant is outside datetime's range as
    the first or last instant; any other value as it is."""
    if type(value) is not datetime:
        return value
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    if value.year in _EDGE_YEARS:
        try:
            return value.astimezone(UTC)
        except OverflowError:
            return _FIRST if value.year == 1 else _LAST
    return value


class _Bulk:
    """Any dialect."""

    # Lone surrogates: Python's sqlite3 cannot encode them. SQLite keeps NUL and any length.
    _unsafe = _SURROGATES
    _limits = False

    def storable(self, value: str, limit: int = _NO_LIMIT) -> str:
        """`value` as this store can hold it in a column of at most `limit` characters."""
        value = self._unsafe.sub(REPLACEMENT, value)
        return value[:limit] if self._limits else value

    def is_storable(self, value: str, limit: int) -> bool:
        return value.isascii()

    def storable_rows(self, table: Table, rows: Collection[Row]) -> list[Row]:
        """The rows, their text values made storable (a row is copied only when changed)."""
        texts = _text_columns(table)
        times = _time_columns(table)
        ok = self.is_storable
        result = []
        for row in rows:
            for _, name, limit in texts:
                value = row.get(name)
                if type(value) is str and not ok(value, limit):
                    row = dict(row)
                    for _, each, most in texts:
                        if type(row.get(each)) is str:
                            row[each] = self.storable(row[each], most)
                    break
            for _, name in times:
                value = row.get(name)
                # `_utc` changes it (inline: this runs for every time of a rebuild).
                if type(value) is datetime and (value.tzinfo is None or value.year in _EDGE_YEARS):
                    row = dict(row)
                    for _, each in times:
                        if each in row:
                            row[each] = _utc(row[each])
                    break
            result.append(row)
        return result

    def commit_without_waiting_for_flush(self, connection: Connection) -> None:
        return None

    def clear(self, connection: Connection, tables: Sequence[Table]) -> None:
        for table in tables:
            connection.execute(delete(table))

    def matching(self, column: Column[Any], ids: Collection[Any]) -> ColumnElement[bool]:
        return column.in_(ids)

    def insert(self, connection: Connection, table: Table, rows: Collection[Row]) -> None:
        connection.execute(insert(table), self.storable_rows(table, rows))

    def upsert(self, connection: Connection, table: Table, key: str, rows: Collection[Row]) -> None:
        ids = [row[key] for row in rows]
        connection.execute(delete(table).where(self.matching(table.c[key], ids)))
        self.insert(connection, table, rows)


class _PostgresBulk(_Bulk):
    """PostgreSQL: new rows by binary COPY; keys, and rows to replace, as one array a column."""

    _unsafe = _SURROGATES_OR_NUL
    _limits = True

    def __init__(self) -> None:
        self._copies: dict[str, tuple[str, list[str]]] = {}
        self._upserts: dict[str, str] = {}

    def is_storable(self, value: str, limit: int) -> bool:
        return value.isascii() and "\x00" not in value and len(value) <= limit

    def commit_without_waiting_for_flush(self, connection: Connection) -> None:
        connection.exec_driver_sql("SET LOCAL synchronous_commit = off")

    def clear(self, connection: Connection, tables: Sequence[Table]) -> None:
        # Unlike DELETE, leaves no dead rows behind for the rebuild's inserts to wade through.
        names = ", ".join(connection.dialect.identifier_preparer.format_table(t) for t in tables)
        connection.exec_driver_sql(f"TRUNCATE {names}")

    def matching(self, column: Column[Any], ids: Collection[Any]) -> ColumnElement[bool]:
        return column == any_(bindparam(None, list(ids), type_=ARRAY(column.type)))

    def insert(self, connection: Connection, table: Table, rows: Collection[Row]) -> None:
        if table.name not in self._copies:
            self._copies[table.name] = _copy_sql(connection.dialect, table)
        statement, types = self._copies[table.name]
        names = [column.name for column in table.columns]
        texts = [(i, limit) for i, _, limit in _text_columns(table)]
        times = [i for i, _ in _time_columns(table)]
        storable = self.storable
        # The transaction's own connection: the rows commit, or vanish, with the batch.
        driver = connection.connection.driver_connection
        assert driver is not None
        with driver.cursor() as cursor, cursor.copy(statement) as copy:
            copy.set_types(types)
            for row in rows:
                values = [row[name] for name in names]
                for i, limit in texts:
                    value = values[i]
                    # `is_storable`, inline: this runs for every text value of a rebuild.
                    if type(value) is str and not (
                        value.isascii() and "\x00" not in value and len(value) <= limit
                    ):
                        values[i] = storable(value, limit)
                for i in times:
                    value = values[i]
                    if type(value) is datetime and (
                        value.tzinfo is None or value.year in _EDGE_YEARS
                    ):
                        values[i] = _utc(value)
                copy.write_row(values)

    def upsert(self, connection: Connection, table: Table, key: str, rows: Collection[Row]) -> None:
        if table.name not in self._upserts:
            self._upserts[table.name] = _upsert_sql(connection.dialect, table)
        columns = tuple([row[column.name] for row in rows] for column in table.columns)
        ok, storable = self.is_storable, self.storable
        for i, _, limit in _text_columns(table):
            columns[i][:] = [
                storable(v, limit) if type(v) is str and not ok(v, limit) else v for v in columns[i]
            ]
        for i, _ in _time_columns(table):
            columns[i][:] = [_utc(v) for v in columns[i]]
        connection.exec_driver_sql(self._upserts[table.name], columns)


# These statements are built from our own table metadata, names quoted by the dialect.


def _copy_sql(dialect: Dialect, table: Table) -> tuple[str, list[str]]:
    quote = dialect.identifier_preparer.quote
    names = ", ".join(quote(column.name) for column in table.columns)
    # Binary COPY is told each column's type: "VARCHAR(200)" -> "varchar".
    types = [column.type.compile(dialect=dialect).split("(")[0].lower() for column in table.columns]
    table_name = dialect.identifier_preparer.format_table(table)
    return f"COPY {table_name} ({names}) FROM STDIN (FORMAT BINARY)", types


def _upsert_sql(dialect: Dialect, table: Table) -> str:
    quote = dialect.identifier_preparer.quote
    names = ", ".join(quote(column.name) for column in table.columns)
    # %b: arrays in binary, which psycopg writes without quoting each text element.
    arrays = ", ".join(f"%b::{column.type.compile(dialect=dialect)}[]" for column in table.columns)
    keys = ", ".join(quote(column.name) for column in table.primary_key)
    changes = ", ".join(
        f"{quote(c.name)} = EXCLUDED.{quote(c.name)}" for c in table.columns if not c.primary_key
    )
    return (
        f"INSERT INTO {dialect.identifier_preparer.format_table(table)} ({names}) "  # noqa: S608
        f"SELECT * FROM unnest({arrays}) ON CONFLICT ({keys}) DO UPDATE SET {changes}"
    )


_GENERIC = _Bulk()
_POSTGRES = _PostgresBulk()


def _bulk(connection: Connection) -> _Bulk:
    return _POSTGRES if connection.dialect.name == "postgresql" else _GENERIC


def storable(connection: Connection, value: str, limit: int = _NO_LIMIT) -> str:
    """`value` as this connection's store can hold it (for writes by plain statements)."""
    return _bulk(connection).storable(value, limit)


def commit_without_waiting_for_flush(connection: Connection) -> None:
    """Let this transaction's commit return before its log is flushed to disk (PostgreSQL)."""
    _bulk(connection).commit_without_waiting_for_flush(connection)


def clear_tables(connection: Connection, tables: Sequence[Table]) -> None:
    """Empty the tables (in the caller's transaction)."""
    _bulk(connection).clear(connection, tables)


def load_rows(
    connection: Connection, table: Table, key: str, ids: Collection[UUID]
) -> dict[UUID, Row]:
    """The rows whose `key` is one of `ids`, by key."""
    if not ids:
        return {}
    column = table.c[key]
    result = connection.execute(select(table).where(_bulk(connection).matching(column, ids)))
    return {row._mapping[key]: dict(row._mapping) for row in result}


def load_touched(
    connection: Connection,
    table: Table,
    key: str,
    events: Sequence[RecordedEvent],
    created_by: str,
) -> tuple[dict[UUID, Row], set[UUID]]:
    """The stored rows of the aggregates the batch's `events` touch, by key, and the aggregates
    the batch makes (by a `created_by` event), whose rows are not read: they are new."""
    created = {e.originator_id for e in events if e.name == created_by}
    earlier = {e.originator_id for e in events} - created
    return load_rows(connection, table, key, earlier), created


def save_rows(
    connection: Connection,
    table: Table,
    key: str,
    rows: dict[UUID, Row],
    created: Collection[UUID],
) -> None:
    """Write back a batch's rows by key: those `created` in the batch are inserted (cheaper,
    and a clash is a bug made loud), the others (loaded, then changed) replaced."""
    insert_rows(connection, table, [rows[k] for k in created])
    upsert_rows(connection, table, key, [row for k, row in rows.items() if k not in created])


def upsert_rows(connection: Connection, table: Table, key: str, rows: Collection[Row]) -> None:
    """Write whole rows of a table whose primary key is `key`: insert, or replace what is there."""
    assert [column.name for column in table.primary_key] == [key], table.name
    if rows:
        _bulk(connection).upsert(connection, table, key, rows)


def delete_rows(connection: Connection, table: Table, key: str, ids: Collection[UUID]) -> None:
    """Delete the rows whose `key` is one of `ids` (every row of each, in a child table)."""
    if ids:
        connection.execute(delete(table).where(_bulk(connection).matching(table.c[key], ids)))


def insert_rows(connection: Connection, table: Table, rows: Collection[Row]) -> None:
    if rows:
        _bulk(connection).insert(connection, table, rows)


def distinct_rows(connection: Connection, table: Table, rows: Collection[Row]) -> list[Row]:
    """`rows` once each by the table's primary key as the store will hold it (the first of any
    that clash: an event may state a code twice, or two that this store cuts to one)."""
    bulk = _bulk(connection)
    limits = {name: limit for _, name, limit in _text_columns(table)}
    key = [(column.name, limits.get(column.name)) for column in table.primary_key]
    seen: set[tuple[Any, ...]] = set()
    kept = []
    for row in rows:
        values = []
        for name, limit in key:
            value = row[name]
            if limit is not None and type(value) is str and not bulk.is_storable(value, limit):
                value = bulk.storable(value, limit)
            values.append(value)
        stored = tuple(values)
        if stored not in seen:
            seen.add(stored)
            kept.append(row)
    return kept


def replace_rows(
    connection: Connection, table: Table, key: str, owners: Collection[UUID], rows: Collection[Row]
) -> None:
    """Replace every row of the `owners` (by their `key`) with `rows`."""
    delete_rows(connection, table, key, owners)
    insert_rows(connection, table, rows)


def replace_keyed_rows(
    connection: Connection, table: Table, key: tuple[str, str], rows: Collection[Row]
) -> None:
    """Insert `rows`, replacing any row stored under the same two-column `key` (a row written
    twice, by another writer too, is kept once)."""
    if not rows:
        return
    first, second = key
    keys = [(row[first], row[second]) for row in rows]
    connection.execute(delete(table).where(tuple_(table.c[first], table.c[second]).in_(keys)))
    insert_rows(connection, table, rows)
