"""PostgreSQL: the event logs in their own schema, everything else by Alembic."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import Connection, make_url, text
from sqlalchemy.engine import URL

from projections.runner import Waker
from tradehall.store.base import Store, declared_event_logs
from tradehall.store.migrations import upgrade_to_head
from tradehall.store.wakeups import PROJECTIONS_CHANNEL, PostgresWaker

EVENTS_SCHEMA = "events"


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
            "APPLICATION_RECORDER_TOPIC": (
                "tradehall.store.side_writes:PostgresRecorderWithSideWrites"
            ),
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
