"""SQL column types, the constraint naming convention and the table shapes that every table we
own shares.

Declarations only (SQLAlchemy), no I/O: the read side's, identity's, mail's and payments'
tables, and the Alembic migrations, all import them from here.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, DateTime, Dialect, Index, MetaData, Table, TypeDecorator, Uuid

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_name)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every store (SQLite keeps no zone, so we restore it)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def uuid_key(name: str) -> Column[Any]:
    """A UUID column that is its table's primary key, or a part of it."""
    return Column(name, Uuid, primary_key=True)


def owned_rows_table(
    metadata: MetaData, name: str, owner: str, *columns: Column[Any], indexed: str | None = None
) -> Table:
    """A table of what each owner has, one row a thing: keyed by the owner's UUID (the column
    `owner`) and the primary-key parts among `columns`. With `indexed`, the index
    `ix_<name>_<indexed>` on that column finds the owners from the thing."""
    table = Table(name, metadata, uuid_key(owner), *columns)
    if indexed is not None:
        Index(f"ix_{name}_{indexed}", table.c[indexed])
    return table
