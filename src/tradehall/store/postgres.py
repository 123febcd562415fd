"""PostgreSQL: the event logs in their own schema, everything else by Alembic.

Connections (ADR 38): each Application's pool keeps one connection at rest and opens more on
demand up to the service's pool size, closing an unused one each `POOL_IDLE_SECONDS`; the
read engine opens its connections as it needs them, up to the pool size. Every connection
names its part in `application_name` (`tradehall-events-<log>`, `tradehall-reads`, ...), so
`pg_stat_activity` shows who holds what.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from eventsourcing.persistence import InfrastructureFactory
from eventsourcing.postgres import PostgresFactory
from eventsourcing.utils import Environment, EnvType
from sqlalchemy import Connection, event, exc, make_url, text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from projections.runner import Waker
from tradehall.store.base import Store, declared_event_logs
from tradehall.store.migrations import upgrade_to_head
from tradehall.store.wakeups import PROJECTIONS_CHANNEL, PostgresWaker

EVENTS_SCHEMA = "events"
# What each Application's pool keeps open when idle: it grows to the pool size under load.
APPLICATION_CONNECTIONS_AT_REST = 1
# An unused connection above the one at rest is closed after this long (psycopg_pool closes
# one such connection each period; its default is ten minutes).
POOL_IDLE_SECONDS = 60.0
# TCP keepalives on the event stores' connections: a group commit's leader (ADR 36) waiting on
# a server that vanished without a word (a half-open connection) learns of it within about a
# minute (30 s idle, then 3 probes 10 s apart) instead of the kernel's two hours, and its
# followers with it.
KEEPALIVES = {
    "keepalives": "1",
    "keepalives_idle": "30",
    "keepalives_interval": "10",
    "keepalives_count": "3",
}
APPLICATION_NAME_PREFIX = "tradehall"


def application_name(part: str) -> str:
    """What a connection of this part of the service calls itself in `pg_stat_activity` (no
    spaces: it travels in a URL's query too)."""
    return f"{APPLICATION_NAME_PREFIX}-{part}"[:63]  # PostgreSQL keeps at most 63 bytes


class EventStoreFactory(PostgresFactory):
    """The library's PostgreSQL factory, its pool named after the log and quick to shrink.

    The library's settings give the pool its size (`POSTGRES_POOL_SIZE`, kept open) and its
    overflow; the idle period, the connection's name and its keepalives it does not read from
    settings.
    """

    def __init__(self, env: Environment | EnvType | None):
        super().__init__(env)
        pool = self.datastore.pool
        # The pool opens at its first use: both are read when it opens.
        pool.max_idle = POOL_IDLE_SECONDS
        kwargs = pool.kwargs
        assert isinstance(kwargs, dict)
        kwargs["application_name"] = application_name(f"events-{self.env.name.lower()}")
        kwargs.update(KEEPALIVES)


assert issubclass(EventStoreFactory, InfrastructureFactory)
EVENT_STORE_FACTORY = f"{__name__}:{EventStoreFactory.__qualname__}"


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
        # Marks this store's projector's NOTIFYs, so its own listener skips them: the projector
        # in this process tells the board directly (readside.PositionBoard.advance_threadsafe).
        self._origin = uuid.uuid4().hex[:16]

    def _application_env(self, app_name: str, *, pool_size: int) -> dict[str, str]:
        at_rest = min(APPLICATION_CONNECTIONS_AT_REST, pool_size)
        return {
            "PERSISTENCE_MODULE": EVENT_STORE_FACTORY,
            # Side writes (ADR 3) ride on the insert path that the DB function bypasses.
            "POSTGRES_ENABLE_DB_FUNCTIONS": "n",
            "POSTGRES_DBNAME": self.url.database or "",
            "POSTGRES_HOST": self.url.host or "127.0.0.1",
            "POSTGRES_PORT": str(self.url.port or 5432),
            "POSTGRES_USER": self.url.username or "postgres",
            "POSTGRES_PASSWORD": self.url.password or "",
            "POSTGRES_SCHEMA": EVENTS_SCHEMA,
            # One connection kept, up to `pool_size` under load (the threads that save).
            "POSTGRES_POOL_SIZE": str(at_rest),
            "POSTGRES_MAX_OVERFLOW": str(max(0, pool_size - at_rest)),
            "POSTGRES_LOCK_TIMEOUT": str(self.lock_timeout_seconds),
            "POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT": "10",
            # `tradehall migrate` creates the tables; the API never does.
            "CREATE_TABLE": "false",
            "APPLICATION_RECORDER_TOPIC": (
                "tradehall.store.side_writes:PostgresRecorderWithSideWrites"
            ),
        }

    def sync_url(self) -> URL:
        return self.url.set(drivername="postgresql+psycopg")

    def async_url(self) -> URL:
        return self.url.set(drivername="postgresql+asyncpg")

    def _named(self, part: str) -> str:
        """The libpq URL with the connection's name in it (for psycopg's own connections)."""
        named = self.url.update_query_dict({"application_name": application_name(part)})
        return named.render_as_string(hide_password=False)

    def _sync_engine_options(self) -> dict[str, Any]:
        return {"connect_args": {"application_name": application_name("sync")}}

    def async_engine(self, *, pool_size: int) -> AsyncEngine:
        """The read engine: connections opened as needed, up to `pool_size`, each checked for
        life as it leaves the pool without a round trip (the server's end of a connection it
        closed, on a restart say, has already been seen by the event loop)."""
        engine = create_async_engine(self.async_url(), **self._async_engine_options(pool_size))
        event.listen(engine.sync_engine, "checkin", _checked_in)
        event.listen(engine.sync_engine, "checkout", _checked_out)
        return engine

    def _async_engine_options(self, pool_size: int) -> dict[str, Any]:
        # No pool_pre_ping: on asyncpg it is three round trips (BEGIN, a ping, ROLLBACK) on
        # every checkout, one in five of the event loop's samples under load (ADR 38).
        return {
            "pool_size": pool_size,
            "max_overflow": 0,
            "connect_args": {"server_settings": {"application_name": application_name("reads")}},
        }

    def waker(self, channels: Sequence[str]) -> Waker:
        return PostgresWaker(self._named("wakeup"), channels)

    def in_projection_commit(
        self, connection: Connection, projection: str, log: str, position: int
    ) -> None:
        # Delivered when the batch commits, so a reader never sees a position before its rows.
        payload = f"{self._origin}:{projection}:{log}:{position}"
        connection.execute(
            text("SELECT pg_notify(:channel, :payload)"),
            {"channel": PROJECTIONS_CHANNEL, "payload": payload},
        )

    async def listen_for_projection_commits(
        self, on_commit: Callable[[], None]
    ) -> Callable[[], Awaitable[None]]:
        """Call `on_commit` once for each burst of NOTIFYs from projectors in other processes
        (a batch sends one a projection); this store's own projector's are skipped."""
        connection = await asyncpg.connect(
            self.url.render_as_string(hide_password=False),
            server_settings={"application_name": application_name("listener")},
        )
        signal = CommitSignal(self._origin, on_commit)
        await connection.add_listener(PROJECTIONS_CHANNEL, signal.heard)

        async def close() -> None:
            await connection.close()

        return close

    def migrate(self, event_logs: Sequence[str] | None = None) -> None:
        engine = self.sync_engine()
        try:
            with engine.begin() as connection:
                connection.execute(text(f"CREATE SCHEMA IF NOT EXISTS {EVENTS_SCHEMA}"))
            for log in declared_event_logs(event_logs):
                self._create_event_tables(log)
            upgrade_to_head(engine)
        finally:
            engine.dispose()

    def prepare_for_serving(self, event_logs: Sequence[str] | None = None) -> None:
        status = self.schema_is_current(event_logs)
        if not status.ok:
            raise RuntimeError(
                f"the PostgreSQL database is behind ({status.detail}): run `tradehall migrate`"
            )

    def _has_event_table(self, connection: Any, log: str) -> bool:
        found = connection.execute(
            text("SELECT to_regclass(:name)"), {"name": f"{EVENTS_SCHEMA}.{log}_events"}
        ).scalar()
        return found is not None


class CommitSignal:
    """Turns projectors' NOTIFYs into calls of `on_commit`: one for each burst (a batch sends
    one a projection; asyncpg hands every NOTIFY of a read to the loop before any runs), none
    for the NOTIFYs of the projector in this process (`origin`), which told the board itself."""

    def __init__(self, origin: str, on_commit: Callable[[], None]) -> None:
        self._own = f"{origin}:"
        self._on_commit = on_commit
        self._loop = asyncio.get_running_loop()
        self.pending = False

    def heard(self, _connection: Any, _pid: int, _channel: str, payload: str) -> None:
        if self.pending or payload.startswith(self._own):
            return
        self.pending = True
        self._loop.call_soon(self._call)

    def _call(self) -> None:
        self.pending = False
        self._on_commit()


# A read connection unused for this long is pinged as it leaves the pool (one that was in
# use more recently is known to work, or its closing has been seen: `_checked_out`).
PING_AFTER_IDLE_SECONDS = 30.0


def _checked_in(_dbapi_connection: Any, record: Any) -> None:
    record.info["checked_in_at"] = time.monotonic()


def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    """A read connection leaving the pool: one the server has closed (its end seen by the
    event loop) is discarded, and one idle a while is pinged first, so a restarted server
    costs no request an error; SQLAlchemy takes another on DisconnectionError. This replaces
    `pool_pre_ping`, which pings on every checkout."""
    raw = getattr(dbapi_connection, "_connection", None)
    if raw is not None and raw.is_closed():
        raise exc.DisconnectionError("the server closed this connection")
    since = record.info.get("checked_in_at")
    if since is None or time.monotonic() - since < PING_AFTER_IDLE_SECONDS:
        return
    try:
        dbapi_connection.ping()
    except Exception as error:
        raise exc.DisconnectionError(f"the connection did not answer: {error}") from error
