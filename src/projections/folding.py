"""Folding a batch into rows keyed by organisation: one read and one write per batch."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, Table, delete, insert, select


def load_rows(
    connection: Connection, table: Table, key: str, ids: Collection[UUID]
) -> dict[UUID, dict[str, Any]]:
    if not ids:
        return {}
    column = table.c[key]
    result = connection.execute(select(table).where(column.in_(ids)))
    return {row._mapping[key]: dict(row._mapping) for row in result}


def replace_rows(
    connection: Connection,
    table: Table,
    key: str,
    ids: Collection[UUID],
    rows: Iterable[dict[str, Any]],
) -> None:
    """Delete the batch's rows by key and insert their new state (both dialects, one trip each)."""
    if not ids:
        return
    connection.execute(delete(table).where(table.c[key].in_(ids)))
    fresh = list(rows)
    if fresh:
        connection.execute(insert(table), fresh)
