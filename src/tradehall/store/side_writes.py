"""Recorders that run side writes (Core statements) in the same transaction as the events, and
write concurrent saves of one log together (group commit, ADR 36).

Named by the stores' APPLICATION_RECORDER_TOPIC (`tradehall.store.side_writes:...`).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from types import ModuleType
from typing import Any

import psycopg
import psycopg.errors
from eventsourcing import persistence
from eventsourcing.postgres import PostgresAggregateRecorder, PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor, SQLiteProcessRecorder
from psycopg.sql import SQL, Identifier
from sqlalchemy import Dialect
from sqlalchemy.dialects.postgresql.psycopg import dialect as psycopg_dialect
from sqlalchemy.dialects.sqlite.pysqlite import dialect as pysqlite_dialect

from tradehall.store.base import compile_for
from tradehall.store.group_commit import GroupCommit, PendingSave
from tradehall.store.wakeups import LOCAL_EVENTS_RECORDED

_SQLITE_DIALECT = pysqlite_dialect(paramstyle="named")
_POSTGRES_DIALECT = psycopg_dialect()  # type: ignore[no-untyped-call]


# A prepared side write: SQL text and its DB-API parameters.
Prepared = tuple[str, dict[str, Any]]

# As the library's own insert_events: a lost connection is retried on a fresh one.
LOST_CONNECTION_ATTEMPTS = 10
LOST_CONNECTION_WAIT_SECONDS = 0.2


def prepare(side_writes: Sequence[Any], dialect: Dialect) -> list[Prepared]:
    """Compile a save's side writes in its own thread: a statement that cannot be bound fails
    that save before it joins a batch, and no compiling happens under the table lock."""
    return [compile_for(statement, dialect) for statement in side_writes]


def _same_named_errors(
    driver: ModuleType, names: tuple[str, ...]
) -> tuple[tuple[type[Exception], type[persistence.PersistenceError]], ...]:
    """Each of the driver's DB-API exception classes `names` (subclasses before the classes
    they extend) with the library's class of the same name, as its datastores convert them."""
    return tuple((getattr(driver, name), getattr(persistence, name)) for name in names)


def _failure(error: Exception) -> Exception:
    """One save's error as the library raises it: its own exception classes, as its datastores
    convert sqlite3's and psycopg's."""
    for raw, ours in (*_SQLITE_ERRORS, *_POSTGRES_ERRORS):
        if isinstance(error, raw):
            converted: Exception = ours(str(error))
            return converted
    return error


def _ids_of(batch: Sequence[PendingSave], ids: Sequence[int]) -> None:
    """Hand each save its share of one insert's ids, in the order its events were given."""
    start = 0
    for pending in batch:
        count = len(pending.stored_events)
        pending.succeed(list(ids[start : start + count]) if count else None)
        start += count


# --- SQLite ----------------------------------------------------------------------------------

_SQLITE_ERRORS = _same_named_errors(
    sqlite3,
    (
        "IntegrityError",
        "DataError",
        "OperationalError",
        "ProgrammingError",
        "InterfaceError",
        "DatabaseError",
    ),
)


def _sqlite_busy(error: BaseException) -> bool:
    return isinstance(error, sqlite3.OperationalError) and (
        error.sqlite_errorcode & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    )


class SQLiteRecorderWithSideWrites(SQLiteApplicationRecorder):
    def __init__(self, datastore: Any, events_table_name: str = "stored_events") -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        self.group = GroupCommit(self._commit_batch)

    def insert_events(self, stored_events: Sequence[Any], **kwargs: Any) -> Sequence[int] | None:
        prepared = prepare(kwargs.get("side_writes", ()), _SQLITE_DIALECT)
        ids = self.group.save(stored_events, prepared)
        LOCAL_EVENTS_RECORDED.fire()
        return ids

    def _commit_batch(self, batch: list[PendingSave]) -> None:
        if len(batch) == 1:
            # A save alone (a quiet log): its transaction is its savepoint, whose failure the
            # library's transaction rolls back and raises as its own exception.
            (pending,) = batch
            with self.datastore.transaction(commit=True) as cursor:
                ids = self._insert_events(
                    cursor, pending.stored_events, side_writes=pending.side_writes
                )
            pending.succeed(list(ids) if ids else None)
            return
        # One transaction, one fsync; each save in a savepoint, so a clash or a taken e-mail
        # undoes that save alone.
        with self.datastore.transaction(commit=True) as cursor:
            for pending in batch:
                cursor.execute("SAVEPOINT pending_save")
                try:
                    ids = self._insert_events(
                        cursor, pending.stored_events, side_writes=pending.side_writes
                    )
                except Exception as error:
                    if _sqlite_busy(error):
                        # The file's lock, not this save: fail the batch once rather than
                        # wait the lock timeout once a save.
                        raise
                    cursor.execute("ROLLBACK TO pending_save")
                    pending.fail(_failure(error))
                else:
                    pending.succeed(list(ids) if ids else None)
                cursor.execute("RELEASE pending_save")

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[Any], **kwargs: Any
    ) -> Sequence[int] | None:
        for sql, params in kwargs.get("side_writes", ()):
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


# --- PostgreSQL ------------------------------------------------------------------------------

_POSTGRES_ERRORS = _same_named_errors(
    psycopg,
    (
        "IntegrityError",
        "DataError",
        "OperationalError",
        "InternalError",
        "ProgrammingError",
        "NotSupportedError",
        "InterfaceError",
        "DatabaseError",
    ),
)


def _lost(connection: psycopg.Connection[Any]) -> bool:
    """Whether the connection itself failed (then the whole batch did), judged by its state:
    psycopg classes one save's refusals too as OperationalError (a row lock not available, a
    statement cancelled), and a refusal in a pipeline makes the statements after it
    `PipelineAborted`."""
    return bool(connection.broken or connection.closed)


class PostgresRecorderWithSideWrites(PostgresApplicationRecorder):
    def __init__(self, datastore: Any, **kwargs: Any) -> None:
        super().__init__(datastore, **kwargs)
        self.group = GroupCommit(self._commit_batch)

    def insert_events(self, stored_events: Sequence[Any], **kwargs: Any) -> Sequence[int] | None:
        if self.datastore.enable_db_functions:
            # The library's database-function path would bypass the batch and the side writes.
            raise RuntimeError("group commit and side writes need POSTGRES_ENABLE_DB_FUNCTIONS off")
        prepared = prepare(kwargs.get("side_writes", ()), _POSTGRES_DIALECT)
        for attempt in range(1, LOST_CONNECTION_ATTEMPTS + 1):
            try:
                return self.group.save(stored_events, prepared)
            except (persistence.OperationalError, persistence.InterfaceError):
                if attempt == LOST_CONNECTION_ATTEMPTS:
                    raise
            time.sleep(LOST_CONNECTION_WAIT_SECONDS)
            # The connection may have been lost after PostgreSQL committed the batch: then
            # these very events are there, and the save is done (not a clash with itself).
            ids = self._already_recorded(stored_events)
            if ids is not None:
                return ids
        raise AssertionError("unreachable")

    def _already_recorded(self, stored_events: Sequence[Any]) -> Sequence[int] | None:
        """The positions of these exact events if all of them are in the log, else None."""
        if not stored_events:
            return None
        query = SQL(
            "SELECT notification_id, topic, state FROM {schema}.{table}"
            " WHERE originator_id = %s AND originator_version = %s"
        ).format(schema=Identifier(self.datastore.schema), table=Identifier(self.events_table_name))
        ids = []
        with self.datastore.get_connection() as connection, connection.cursor() as cursor:
            for event in stored_events:
                cursor.execute(query, (event.originator_id, event.originator_version))
                row = cursor.fetchone()
                if row is None or row["topic"] != event.topic or bytes(row["state"]) != event.state:
                    return None
                ids.append(int(row["notification_id"]))
        return ids

    def _commit_batch(self, batch: list[PendingSave]) -> None:
        with self.datastore.get_connection() as connection:
            try:
                self._write_together(connection, batch)
            except Exception:
                if _lost(connection):
                    raise
                # A save was refused: write the batch again, one savepoint a save, so that
                # save alone fails.
                self._write_one_by_one(connection, batch)

    def _write_together(
        self, connection: psycopg.Connection[Any], batch: list[PendingSave]
    ) -> None:
        """The usual case: lock, every side write, one insert of every event, one NOTIFY, one
        commit, sent as a pipeline (two round trips)."""
        events = [event for pending in batch for event in pending.stored_events]
        refused: psycopg.Error | None = None
        ids: Sequence[int] | None = None
        with connection.pipeline() as pipeline, connection.transaction():
            with connection.cursor() as cursor:
                self._lock_table(cursor)
                for pending in batch:
                    self._side_writes(cursor, pending)
                if events:
                    self._notify_channel(cursor)
            if events:
                with connection.cursor() as cursor:
                    try:
                        PostgresAggregateRecorder._insert_stored_events(self, cursor, events)
                        # Sync now, so a refusal is raised here and not at the commit.
                        pipeline.sync()
                        ids = self._fetch_ids_after_insert_events(cursor, events)
                    except psycopg.Error as error:
                        refused = error  # raised once the pipeline has closed (as the library)
        if refused is not None:
            raise refused
        _ids_of(batch, ids or [])

    def _write_one_by_one(
        self, connection: psycopg.Connection[Any], batch: list[PendingSave]
    ) -> None:
        with connection.transaction(), connection.cursor() as cursor:
            self._lock_table(cursor)
            written = False
            for pending in batch:
                try:
                    with connection.transaction():  # a savepoint
                        self._side_writes(cursor, pending)
                        ids = self._insert(cursor, pending.stored_events)
                except Exception as error:
                    if _lost(connection):
                        raise
                    pending.fail(_failure(error))
                else:
                    pending.succeed(ids)
                    written = written or bool(ids)
            if written:
                self._notify_channel(cursor)

    def _insert(self, cursor: psycopg.Cursor[Any], events: Sequence[Any]) -> Sequence[int] | None:
        if not events:
            return None
        PostgresAggregateRecorder._insert_stored_events(self, cursor, events)
        return self._fetch_ids_after_insert_events(cursor, events)

    @staticmethod
    def _side_writes(cursor: psycopg.Cursor[Any], pending: PendingSave) -> None:
        for sql, params in pending.side_writes:
            cursor.execute(sql, params)
