"""Everything that differs between the stores lives here; no other module branches on them.

Two stores: the embedded default (SQLite files in a data directory) and PostgreSQL. Each
provides the eventsourcing settings for an Application, the SQLAlchemy URLs for migrations and
async reads, and recorders that run "side writes" (SQLAlchemy Core statements, such as the user
row written at registration) in the same transaction as the events they accompany.
"""

from __future__ import annotations

import abc
import contextlib
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import psycopg
from eventsourcing.application import Application
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor
from psycopg import sql
from sqlalchemy import ClauseElement, Connection, Dialect, create_engine, make_url, text
from sqlalchemy.dialects.postgresql.psycopg import dialect as psycopg_dialect
from sqlalchemy.dialects.sqlite.pysqlite import dialect as pysqlite_dialect
from sqlalchemy.engine import URL, Engine
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.sql.compiler import SQLCompiler

from projections.runner import Waker
from tradehall.alembic_runner import alembic_heads, current_revisions, upgrade_to_head

_log = logging.getLogger("tradehall.store")
EVENTS_SCHEMA = "events"
AGGREGATE_CACHE_SIZE = 10_000
# The bounded contexts that keep an event log, by Application name.
EVENT_LOGS = ("membership",)


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


_SQLITE_DIALECT = pysqlite_dialect(paramstyle="named")
_POSTGRES_DIALECT = psycopg_dialect()  # type: ignore[no-untyped-call]


class LocalSignal:
    """Wakes this process's projector when this process records events (SQLite has no NOTIFY)."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._generation = 0

    def fire(self) -> None:
        with self._condition:
            self._generation += 1
            self._condition.notify_all()

    def wait(self, timeout: float) -> None:
        with self._condition:
            seen = self._generation
            self._condition.wait_for(lambda: self._generation != seen, timeout=timeout)

    def interrupt(self) -> None:
        self.fire()

    def close(self) -> None:
        return None


LOCAL_EVENTS_RECORDED = LocalSignal()


class SQLiteRecorderWithSideWrites(SQLiteApplicationRecorder):
    def insert_events(self, stored_events: Sequence[Any], **kwargs: Any) -> Sequence[int] | None:
        ids = super().insert_events(stored_events, **kwargs)
        LOCAL_EVENTS_RECORDED.fire()
        return ids

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[Any], **kwargs: Any
    ) -> Sequence[int] | None:
        for statement in kwargs.get("side_writes", ()):
            sql, params = compile_for(statement, _SQLITE_DIALECT)
            c.execute(sql, params)
        return super()._insert_events(c, stored_events, **kwargs)


class PostgresRecorderWithSideWrites(PostgresApplicationRecorder):
    def insert_events(self, stored_events: Sequence[Any], **kwargs: Any) -> Sequence[int] | None:
        if kwargs.get("side_writes") and self.datastore.enable_db_functions:
            # The library's database-function path never calls _insert_events.
            raise RuntimeError("side writes need POSTGRES_ENABLE_DB_FUNCTIONS off")
        ids: Sequence[int] | None = super().insert_events(stored_events, **kwargs)
        return ids

    def _insert_events(
        self, curs: psycopg.Cursor[Any], stored_events: Sequence[Any], **kwargs: Any
    ) -> None:
        for statement in kwargs.get("side_writes", ()):
            sql, params = compile_for(statement, _POSTGRES_DIALECT)
            curs.execute(sql, params)
        super()._insert_events(curs, stored_events, **kwargs)


class PostgresWaker:
    """LISTENs on the event tables' channels (the library NOTIFYs on every insert).

    Reconnects when the connection drops; the runner's poll interval covers the gap.
    """

    def __init__(self, conninfo: str, channels: Sequence[str]) -> None:
        self._conninfo = conninfo
        self._channels = list(channels)
        self._connection: psycopg.Connection[Any] | None = None
        self._interrupted = threading.Event()
        # Set while a LISTEN connection is open (operators' status, and tests, wait on it).
        self.listening = threading.Event()

    def _connect(self) -> psycopg.Connection[Any]:
        connection = psycopg.connect(self._conninfo, autocommit=True)
        for channel in self._channels:
            connection.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
        self.listening.set()
        return connection

    def wait(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        if self._connection is None or self._connection.closed:
            try:
                self._connection = self._connect()
            except psycopg.Error:
                _log.warning("cannot LISTEN for new events; polling", exc_info=True)
                self._interrupted.wait(min(timeout, RECONNECT_BACKOFF_SECONDS))
                return
            # Listening now: let the runner read once more, for events committed before the
            # LISTEN, whose NOTIFY nobody heard. After that, every commit wakes us.
            return
        try:
            # Short slices, so `interrupt` (shutdown) is noticed within a tenth of a second.
            while not self._interrupted.is_set():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return
                for _ in self._connection.notifies(timeout=min(remaining, 0.1), stop_after=1):
                    return
        except psycopg.Error:
            # Dropped: return at once, so the runner reads what it may have missed, then
            # reconnects on its next wait.
            _log.warning("projection wake-up connection lost; reconnecting", exc_info=True)
            self.close()

    def interrupt(self) -> None:
        self._interrupted.set()

    def close(self) -> None:
        self.listening.clear()
        if self._connection is not None:
            with contextlib.suppress(psycopg.Error):
                self._connection.close()
            self._connection = None


PROJECTIONS_CHANNEL = "tradehall_projections"
RECONNECT_BACKOFF_SECONDS = 1.0


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
    def migrate(self) -> None:
        """Create the event stores' tables and bring every other table to the newest schema."""

    @abc.abstractmethod
    def prepare_for_serving(self) -> None:
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

    def schema_is_current(self) -> StoreStatus:
        engine = self.sync_engine()
        try:
            with engine.connect() as connection:
                current = current_revisions(connection)
                missing = [log for log in EVENT_LOGS if not self._has_event_table(connection, log)]
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
        # a function that every insert needs, which a hand-written migration would miss.
        env = self.application_env(app_name, pool_size=1, create_table=True)
        named_app = type(f"{app_name}_tables", (Application,), {"name": app_name})
        named_app(env=env).close()


class SQLiteStore(Store):
    """The embedded default: one SQLite file per event log, identity beside membership."""

    name = "sqlite"

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir

    @property
    def main_file(self) -> Path:
        """Identity, read models and the membership event log.

        Identity rows are written in the membership events' transaction (ADR 3), so they share
        a file; other contexts' event logs get files of their own.
        """
        return self.data_dir / "tradehall.sqlite3"

    def database_file(self, app_name: str) -> Path:
        if app_name == "membership":
            return self.main_file
        return self.data_dir / f"{app_name}.sqlite3"

    def _application_env(self, app_name: str, *, pool_size: int) -> dict[str, str]:
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(self.database_file(app_name)),
            "SQLITE_LOCK_TIMEOUT": "10",
            "CREATE_TABLE": "true",
            "APPLICATION_RECORDER_TOPIC": "tradehall.store:SQLiteRecorderWithSideWrites",
        }

    def sync_url(self) -> URL:
        return URL.create("sqlite", database=str(self.main_file))

    def async_url(self) -> URL:
        return URL.create("sqlite+aiosqlite", database=str(self.main_file))

    def _async_engine_options(self, pool_size: int) -> dict[str, Any]:
        return {"connect_args": {"timeout": 10}}

    def _sync_engine_options(self) -> dict[str, Any]:
        return {"connect_args": {"timeout": 10}}

    def waker(self, channels: Sequence[str]) -> Waker:
        # Only this process writes to the embedded files; others are seen at the next poll.
        return LOCAL_EVENTS_RECORDED

    def migrate(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        for log in EVENT_LOGS:
            self._create_event_tables(log)
        engine = self.sync_engine()
        try:
            upgrade_to_head(engine)
        finally:
            engine.dispose()

    def prepare_for_serving(self) -> None:
        self.migrate()

    def _has_event_table(self, connection: Any, log: str) -> bool:
        # The library creates SQLite event tables itself as each Application starts.
        return True


class PostgresStore(Store):
    """PostgreSQL: events in their own schema via the library's recorder; the rest by Alembic."""

    name = "postgresql"

    def __init__(self, url: str, *, lock_timeout_seconds: int = 5) -> None:
        parsed = make_url(url)
        if parsed.get_backend_name() != "postgresql":
            raise ValueError(f"not a PostgreSQL URL: {parsed.render_as_string()}")
        if not parsed.database:
            raise ValueError("the PostgreSQL URL names no database")
        self.url = parsed.set(drivername="postgresql")
        self.lock_timeout_seconds = lock_timeout_seconds

    def _application_env(self, app_name: str, *, pool_size: int) -> dict[str, str]:
        return {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            # Side writes (ADR 3) ride on the insert path that the DB function bypasses.
            "POSTGRES_ENABLE_DB_FUNCTIONS": "n",
            "POSTGRES_DBNAME": self.url.database or "",
            "POSTGRES_HOST": self.url.host or "127.0.0.1",
            "POSTGRES_PORT": str(self.url.port or 5432),
            "POSTGRES_USER": self.url.username or "postgres",
            "POSTGRES_PASSWORD": self.url.password or "",
            "POSTGRES_SCHEMA": EVENTS_SCHEMA,
            "POSTGRES_POOL_SIZE": str(pool_size),
            "POSTGRES_MAX_OVERFLOW": "0",
            "POSTGRES_LOCK_TIMEOUT": str(self.lock_timeout_seconds),
            "POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT": "10",
            # `tradehall migrate` creates the tables; the API never does.
            "CREATE_TABLE": "false",
            "APPLICATION_RECORDER_TOPIC": "tradehall.store:PostgresRecorderWithSideWrites",
        }

    def sync_url(self) -> URL:
        return self.url.set(drivername="postgresql+psycopg")

    def async_url(self) -> URL:
        return self.url.set(drivername="postgresql+asyncpg")

    def _async_engine_options(self, pool_size: int) -> dict[str, Any]:
        return {"pool_size": pool_size, "max_overflow": 0, "pool_pre_ping": True}

    def waker(self, channels: Sequence[str]) -> Waker:
        return PostgresWaker(self.url.render_as_string(hide_password=False), channels)

    def in_projection_commit(
        self, connection: Connection, projection: str, log: str, position: int
    ) -> None:
        # Delivered when the batch commits, so a reader never sees a position before its rows.
        connection.execute(
            text("SELECT pg_notify(:channel, :payload)"),
            {"channel": PROJECTIONS_CHANNEL, "payload": f"{projection}:{log}:{position}"},
        )

    async def listen_for_projection_commits(
        self, on_commit: Callable[[], None]
    ) -> Callable[[], Awaitable[None]]:
        connection = await asyncpg.connect(self.url.render_as_string(hide_password=False))
        await connection.add_listener(PROJECTIONS_CHANNEL, lambda *_: on_commit())

        async def close() -> None:
            await connection.close()

        return close

    def migrate(self) -> None:
        engine = self.sync_engine()
        try:
            with engine.begin() as connection:
                connection.execute(text(f"CREATE SCHEMA IF NOT EXISTS {EVENTS_SCHEMA}"))
            for log in EVENT_LOGS:
                self._create_event_tables(log)
            upgrade_to_head(engine)
        finally:
            engine.dispose()

    def prepare_for_serving(self) -> None:
        status = self.schema_is_current()
        if not status.ok:
            raise RuntimeError(
                f"the PostgreSQL database is behind ({status.detail}): run `tradehall migrate`"
            )

    def _has_event_table(self, connection: Any, log: str) -> bool:
        found = connection.execute(
            text("SELECT to_regclass(:name)"), {"name": f"{EVENTS_SCHEMA}.{log}_events"}
        ).scalar()
        return found is not None


def store_from_settings(database_url: str | None, data_dir: Path) -> Store:
    if database_url:
        return PostgresStore(database_url)
    return SQLiteStore(data_dir)
