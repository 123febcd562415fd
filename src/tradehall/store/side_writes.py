"""Recorders that run side writes (Core statements) in the same transaction as the events.

Named by the stores' APPLICATION_RECORDER_TOPIC (`tradehall.store.side_writes:...`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor, SQLiteProcessRecorder
from sqlalchemy.dialects.postgresql.psycopg import dialect as psycopg_dialect
from sqlalchemy.dialects.sqlite.pysqlite import dialect as pysqlite_dialect

from tradehall.store.base import compile_for
from tradehall.store.wakeups import LOCAL_EVENTS_RECORDED

_SQLITE_DIALECT = pysqlite_dialect(paramstyle="named")
_POSTGRES_DIALECT = psycopg_dialect()  # type: ignore[no-untyped-call]


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


class SQLiteBidsRecorder(SQLiteRecorderWithSideWrites):
    """The bids log's recorder on SQLite: its events in a table of their own in the main file,
    where the outbox its sealed notices go to lives (the library names every SQLite log's table
    `stored_events`, one log a file)."""

    def __init__(self, datastore: Any, events_table_name: str = "bids_events") -> None:
        super().__init__(datastore, events_table_name=events_table_name)


class SQLiteProcessRecorderWithWakeups(SQLiteProcessRecorder):
    """A process application's recorder (events and the positions it has followed to, in one
    transaction): it wakes this process's projector like the application recorder does."""

    def insert_events(self, stored_events: Sequence[Any], **kwargs: Any) -> Sequence[int] | None:
        ids = super().insert_events(stored_events, **kwargs)
        LOCAL_EVENTS_RECORDED.fire()
        return ids


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
        side_writes = kwargs.get("side_writes", ())
        for statement in side_writes:
            sql, params = compile_for(statement, _POSTGRES_DIALECT)
            curs.execute(sql, params)
        if side_writes:
            # The library inserts in pipeline mode: without a sync here, a refused side write
            # (a taken e-mail address) surfaced, depending on timing, as its own IntegrityError
            # or as PipelineAborted from the event insert that follows. A nested pipeline block
            # syncs on exit, so the side write's own error is raised, always.
            with curs.connection.pipeline():
                pass
        super()._insert_events(curs, stored_events, **kwargs)
