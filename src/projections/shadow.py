"""Shadow tables for a rebuild: built beside the live ones, swapped in by one transaction.

A rebuild applies every event again into new tables that readers cannot see, then, in one
transaction, puts them in place of the live tables. Readers see the old view, whole, until that
transaction commits, and the new view, whole, after it; a rebuild that fails leaves the old view
serving. The shadow tables are made from the tables' own metadata, so they have the live
tables' names, columns, keys and index names (Alembic's schema stays what it was).

Projections write to the shadow tables without knowing it: inside the rebuild's transactions
their unqualified table names resolve to the shadow tables.

- PostgreSQL: the shadow tables live in a schema of their own, named first on the rebuild's
  `search_path`. The swap drops the live tables and moves the shadow ones into the live schema
  (`ALTER TABLE ... SET SCHEMA`), indexes and constraints with them. DDL is transactional.
  The rebuild's connection holds an advisory lock on its schema's name while it lives, so the
  next rebuild can tell a schema left by one that died (dropped) from one at work (kept).
- SQLite: the shadow tables are TEMP tables of the rebuild's connection (unqualified names look
  in `temp` before `main`). The swap replaces the live rows by the shadow's in one transaction
  (`DELETE`, then `INSERT ... SELECT`): the live tables themselves never change.
"""

from __future__ import annotations

import abc
import uuid
from collections.abc import Sequence

from sqlalchemy import Connection, MetaData, Table, text


class ShadowTables(abc.ABC):
    """Shadow copies of `tables`, held by one connection for the rebuild's whole length."""

    def __init__(self, connection: Connection, tables: Sequence[Table]) -> None:
        self.connection = connection
        self.tables = list(tables)

    @abc.abstractmethod
    def create(self) -> None:
        """Make the empty shadow tables (committed: they outlive the rebuild's transactions)."""

    @abc.abstractmethod
    def enter(self) -> None:
        """In the current transaction, the tables' names now mean the shadow tables."""

    @abc.abstractmethod
    def swap(self) -> None:
        """In the current transaction, put the shadow tables' rows in place of the live ones."""

    @abc.abstractmethod
    def drop(self) -> None:
        """Drop whatever is left of the shadow tables (committed)."""

    def _copy(self, table: Table, schema: str) -> Table:
        # The same naming convention: the primary key and indexes keep their live names.
        metadata = MetaData(naming_convention=table.metadata.naming_convention)
        copy = table.to_metadata(metadata, schema=schema)
        # to_metadata drops an index's `ddl_if`: a PostgreSQL-only index (full text's GIN,
        # projections.search_tables) must not be made on SQLite's TEMP copy.
        conditions = {index.name: index._ddl_if for index in table.indexes}
        for index in copy.indexes:
            index._ddl_if = conditions.get(index.name)
        return copy

    def _quote(self, name: str) -> str:
        return self.connection.dialect.identifier_preparer.quote(name)


SHADOW_PREFIX = "rebuild_"
# The advisory lock space of shadow schemas: (this, hashtext(schema name)).
_LOCK_CLASS = 0x7468


class _PostgresShadow(ShadowTables):
    def __init__(self, connection: Connection, tables: Sequence[Table]) -> None:
        super().__init__(connection, tables)
        self.schema = f"{SHADOW_PREFIX}{uuid.uuid4().hex[:16]}"
        self.live_schema = ""
        self.search_path = ""

    def _lock(self, schema: str, *, wait: bool) -> bool:
        call = "pg_advisory_lock" if wait else "pg_try_advisory_lock"
        taken = self.connection.execute(
            text(f"SELECT {call}(:class, hashtext(:schema))"),
            {"class": _LOCK_CLASS, "schema": schema},
        ).scalar()
        return wait or bool(taken)

    def _unlock(self, schema: str) -> None:
        self.connection.execute(
            text("SELECT pg_advisory_unlock(:class, hashtext(:schema))"),
            {"class": _LOCK_CLASS, "schema": schema},
        )

    def create(self) -> None:
        connection = self.connection
        with connection.begin():
            # Session locks: held until `drop`, across the rebuild's transactions.
            self._lock(self.schema, wait=True)
            left = connection.execute(
                text("SELECT nspname FROM pg_namespace WHERE starts_with(nspname, :prefix)"),
                {"prefix": SHADOW_PREFIX},
            ).scalars()
            for schema in list(left):
                if schema != self.schema and self._lock(schema, wait=False):
                    # No rebuild holds it: a rebuild that died left it.
                    connection.exec_driver_sql(
                        f"DROP SCHEMA IF EXISTS {self._quote(schema)} CASCADE"
                    )
                    self._unlock(schema)
            self.live_schema = str(connection.exec_driver_sql("SELECT current_schema()").scalar())
            self.search_path = str(connection.exec_driver_sql("SHOW search_path").scalar())
            connection.exec_driver_sql(f"CREATE SCHEMA {self._quote(self.schema)}")
            for table in self.tables:
                self._copy(table, self.schema).create(connection)

    def enter(self) -> None:
        # The live schema stays on the path for what the rebuild reads but does not rebuild.
        path = f"{self._quote(self.schema)}, {self.search_path}"
        self.connection.exec_driver_sql(f"SET LOCAL search_path TO {path}")

    def swap(self) -> None:
        connection = self.connection
        shadow, live = self._quote(self.schema), self._quote(self.live_schema)
        names = [self._quote(table.name) for table in self.tables]
        connection.exec_driver_sql(f"DROP TABLE {', '.join(f'{live}.{n}' for n in names)}")
        for name in names:
            connection.exec_driver_sql(f"ALTER TABLE {shadow}.{name} SET SCHEMA {live}")
        connection.exec_driver_sql(f"DROP SCHEMA {shadow}")

    def drop(self) -> None:
        with self.connection.begin():
            self.connection.exec_driver_sql(
                f"DROP SCHEMA IF EXISTS {self._quote(self.schema)} CASCADE"
            )
            self._unlock(self.schema)


class _SQLiteShadow(ShadowTables):
    def create(self) -> None:
        self.drop()  # a connection from the pool may hold a failed rebuild's
        with self.connection.begin():
            for table in self.tables:
                self._copy(table, "temp").create(self.connection)

    def enter(self) -> None:
        return None  # `temp` comes first in SQLite's name resolution

    def swap(self) -> None:
        for table in self.tables:
            name = self._quote(table.name)
            columns = ", ".join(self._quote(column.name) for column in table.columns)
            self.connection.exec_driver_sql(f"DELETE FROM main.{name}")  # noqa: S608
            self.connection.exec_driver_sql(
                f"INSERT INTO main.{name} ({columns}) SELECT {columns} FROM temp.{name}"  # noqa: S608
            )

    def drop(self) -> None:
        with self.connection.begin():
            for table in self.tables:
                name = self._quote(table.name)
                self.connection.exec_driver_sql(f"DROP TABLE IF EXISTS temp.{name}")


def shadow_tables(connection: Connection, tables: Sequence[Table]) -> ShadowTables:
    """Shadow tables for `tables` on `connection`, which the rebuild must use throughout."""
    if connection.dialect.name == "postgresql":
        return _PostgresShadow(connection, tables)
    return _SQLiteShadow(connection, tables)
