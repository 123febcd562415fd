"""A page of a read's entries: what every paged read of the read side returns, and the one
way they read a page."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from sqlalchemy import ColumnElement, FromClause, Row, Select, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

Entry = TypeVar("Entry")
# A read's entry: a dataclass, most of whose fields are a row's columns of the same names.
Built = TypeVar("Built", bound="DataclassInstance")


@dataclass(frozen=True)
class Page(Generic[Entry]):
    """One page of entries, and how many entries the read finds in all."""

    entries: list[Entry]
    total: int


def entry_of(entry: type[Built], row: Any, **given: Any) -> Built:
    """An `entry` from a row: the `given` fields, and each other field from the row's column of
    the same name (a field with a default may have none)."""
    columns = row._mapping
    found = {f.name: columns[f.name] for f in fields(entry) if f.name in columns}
    return entry(**(found | given))


def equal_where_given(*filters: tuple[ColumnElement[Any], object]) -> list[ColumnElement[bool]]:
    """A read's optional filters: `column == value` for each (column, value) given (not None)."""
    return [column == value for column, value in filters if value is not None]


async def page_rows(
    connection: AsyncConnection,
    query: Select[Any],
    counted: FromClause,
    where: ColumnElement[bool] | None,
    order: Sequence[Any],
    limit: int,
    offset: int,
) -> tuple[Sequence[Row[Any]], int]:
    """One page of `query`'s rows where `where` holds (None: all), in `order`; and how many
    rows of `counted` (the query's FROM, or its main table when a join adds no rows) hold it."""
    count = select(func.count()).select_from(counted)
    if where is not None:
        count, query = count.where(where), query.where(where)
    total = (await connection.execute(count)).scalar_one()
    found = await connection.execute(query.order_by(*order).limit(limit).offset(offset))
    return found.all(), int(total)
