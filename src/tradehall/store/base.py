"""What every store does alike: the `Store` interface, its status, and compiling Core SQL."""

from __future__ import annotations

import abc
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from eventsourcing.system import ProcessApplication
from sqlalchemy import ClauseElement, Connection, Dialect, create_engine
from sqlalchemy.engine import URL, Engine
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.sql.compiler import SQLCompiler

from projections.runner import Waker
from tradehall.store.migrations import alembic_heads, current_revisions

AGGREGATE_CACHE_SIZE = 10_000


def declared_event_logs(event_logs: Sequence[str] | None) -> Sequence[str]:
    """The logs given, or by default every log the declared contexts keep."""
    if event_logs is not None:
        return event_logs
    from tradehall.context import event_logs as logs_of  # the composition root's list
    from tradehall.contexts import CONTEXTS

    return logs_of(CONTEXTS)


def compile_for(statement: ClauseElement, dialect: Dialect) -> tuple[str, dict[str, Any]]:
    """SQL text and DB-API parameters for a Core statement, as SQLAlchemy would send them."""
    compiled = statement.compile(dialect=dialect)
    assert isinstance(compiled, SQLCompiler)
    params = dict(compiled.construct_params())
    for bind, key in compiled.bind_names.items():
        if key not in params:
            continue
        processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if processor is not None:
            params[key] = processor(params[key])
    return str(compiled), params


@dataclass(frozen=True)
class StoreStatus:
    ok: bool
    detail: str


class Store(abc.ABC):
    """One configured store: where events, identity and read models live."""

    name: str

    def application_env(
        self, app_name: str, *, pool_size: int, create_table: bool | None = None
    ) -> dict[str, str]:
        """Settings for an eventsourcing Application of this name.

        The library merges os.environ in and prefers `<APP>_`-prefixed keys, so we give every
        key both ways: nothing in the process environment overrides the store's choices.
        """
        env = self._application_env(app_name, pool_size=pool_size)
        # Keep recently used aggregates in memory; each get still fast-forwards from the
        # database, so other processes' writes are seen (bench/commands.py: ~3.5x direct).
        env["AGGREGATE_CACHE_MAXSIZE"] = str(AGGREGATE_CACHE_SIZE)
        if create_table is not None:
            env["CREATE_TABLE"] = "true" if create_table else "false"
        prefix = app_name.upper() + "_"
        return env | {prefix + key: value for key, value in env.items()}

    @abc.abstractmethod
    def _application_env(self, app_name: str, *, pool_size: int) -> dict[str, str]: ...

    @abc.abstractmethod
    def sync_url(self) -> URL:
        """SQLAlchemy URL for migrations and command-line writes."""

    @abc.abstractmethod
    def async_url(self) -> URL:
        """SQLAlchemy URL for the async engine that serves reads."""

    @abc.abstractmethod
    def migrate(self, event_logs: Sequence[str] | None = None) -> None:
        """Create the event stores' tables (each declared context's log, unless `event_logs`
        names them) and bring every other table to the newest schema."""

    @abc.abstractmethod
    def prepare_for_serving(self, event_logs: Sequence[str] | None = None) -> None:
        """What the API does on start: migrate (embedded) or refuse a database that is behind."""

    def sync_engine(self) -> Engine:
        return create_engine(self.sync_url(), **self._sync_engine_options())

    def _sync_engine_options(self) -> dict[str, Any]:
        return {}

    @abc.abstractmethod
    def waker(self, channels: Sequence[str]) -> Waker:
        """What the projector waits on between batches."""

    def in_projection_commit(  # noqa: B027 (a hook: most stores need nothing)
        self, connection: Connection, projection: str, log: str, position: int
    ) -> None:
        """Statements run in each projector commit (PostgreSQL: tell readers elsewhere)."""

    async def listen_for_projection_commits(
        self, on_commit: Callable[[], None]
    ) -> Callable[[], Awaitable[None]]:
        """Call `on_commit` when a projector in another process commits; returns a closer."""

        async def nothing() -> None:
            return None

        return nothing

    def async_engine(self, *, pool_size: int) -> AsyncEngine:
        return create_async_engine(self.async_url(), **self._async_engine_options(pool_size))

    def _async_engine_options(self, pool_size: int) -> dict[str, Any]:
        return {}

    def schema_is_current(self, event_logs: Sequence[str] | None = None) -> StoreStatus:
        logs = declared_event_logs(event_logs)
        engine = self.sync_engine()
        try:
            with engine.connect() as connection:
                current = current_revisions(connection)
                missing = [log for log in logs if not self._has_event_table(connection, log)]
        finally:
            engine.dispose()
        heads = alembic_heads()
        if current != heads:
            return StoreStatus(False, f"schema at {sorted(current)}, code expects {sorted(heads)}")
        if missing:
            return StoreStatus(False, f"event tables missing for {', '.join(missing)}")
        return StoreStatus(True, "schema current")

    @abc.abstractmethod
    def _has_event_table(self, connection: Any, log: str) -> bool: ...

    def _create_event_tables(self, app_name: str) -> None:
        # The library's own create_table(): its PostgreSQL set-up includes a composite type and
        # a function that every insert needs, which a hand-written migration would miss. As a
        # process application's: its tracking table too, for a log whose Application follows
        # another (the quality mark follows membership, ADR 23).
        env = self.application_env(app_name, pool_size=1, create_table=True)
        named_app = type(f"{app_name}_tables", (ProcessApplication,), {"name": app_name})
        named_app(env=env).close()
