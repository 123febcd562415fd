"""The embedded store: SQLite files in a data directory."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy.engine import URL

from projections.runner import Waker
from tradehall.store.base import Store, declared_event_logs
from tradehall.store.migrations import upgrade_to_head
from tradehall.store.wakeups import LOCAL_EVENTS_RECORDED

# Logs whose commands write SQL rows in their events' transaction (side writes): in the main
# file. The library names a SQLite log's table `stored_events`, so a second log there has a
# recorder naming its own table (side_writes.SQLiteBidsRecorder).
LOGS_WITH_SIDE_WRITES = frozenset({"membership", "bids"})


class SQLiteStore(Store):
    """The embedded default: one SQLite file per event log, identity beside membership."""

    name = "sqlite"

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir

    @property
    def main_file(self) -> Path:
        """Identity, read models, the outbox, and the logs that write to them.

        Identity rows are written in the membership events' transaction (ADR 3), and sealed
        bid notices in the bids' (ADR 27), so those logs share the file; other contexts' event
        logs get files of their own.
        """
        return self.data_dir / "tradehall.sqlite3"

    def database_file(self, app_name: str) -> Path:
        if app_name in LOGS_WITH_SIDE_WRITES:
            return self.main_file
        return self.data_dir / f"{app_name}.sqlite3"

    def _application_env(self, app_name: str, *, pool_size: int) -> dict[str, str]:
        recorder = "SQLiteBidsRecorder" if app_name == "bids" else "SQLiteRecorderWithSideWrites"
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(self.database_file(app_name)),
            "SQLITE_LOCK_TIMEOUT": "10",
            "CREATE_TABLE": "true",
            "APPLICATION_RECORDER_TOPIC": f"tradehall.store.side_writes:{recorder}",
            "PROCESS_RECORDER_TOPIC": (
                "tradehall.store.side_writes:SQLiteProcessRecorderWithWakeups"
            ),
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

    def migrate(self, event_logs: Sequence[str] | None = None) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        for log in declared_event_logs(event_logs):
            self._create_event_tables(log)
        engine = self.sync_engine()
        try:
            upgrade_to_head(engine)
        finally:
            engine.dispose()

    def prepare_for_serving(self, event_logs: Sequence[str] | None = None) -> None:
        self.migrate(event_logs)

    def _has_event_table(self, connection: Any, log: str) -> bool:
        # The library creates SQLite event tables itself as each Application starts.
        return True
