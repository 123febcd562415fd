"""The batched projector: exactly once, in order, a batch per transaction.

For each projection and each log it reads: read up to `batch_size` events after the recorded
position; then, in one transaction, (1) touch the position row, which takes a write lock so a
second runner waits instead of applying the same events, (2) check the position has not moved
(if it has, start again), (3) apply the events, (4) record the new position; commit. A crash
anywhere before the commit loses the whole batch, position included, so the batch is applied
again on restart: exactly once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import Connection, and_, insert, select, update
from sqlalchemy.engine import Engine

from projections.base import Projection
from projections.events import EventSource
from projections.tables import projection_positions

DEFAULT_BATCH_SIZE = 1000
_log = logging.getLogger("tradehall.projections")


class Waker(Protocol):
    """Blocks until new events may be there (a NOTIFY, an in-process save) or the timeout."""

    def wait(self, timeout: float) -> None: ...

    def interrupt(self) -> None:
        """Make a current or next `wait` return now (used on shutdown)."""

    def close(self) -> None:
        """Release what the waker holds (a LISTEN connection)."""


@dataclass(frozen=True)
class ProjectionStatus:
    projection: str
    log: str
    position: int
    head: int

    @property
    def lag(self) -> int:
        return max(self.head - self.position, 0)


# Called after each commit with (projection name, log, new position), from the runner's thread.
CommitListener = Callable[[str, str, int], None]
# Extra statements for the commit (PostgreSQL: NOTIFY readers waiting in other processes).
CommitHook = Callable[[Connection, str, str, int], None]


class BatchProjector:
    def __init__(
        self,
        engine: Engine,
        sources: Mapping[str, EventSource],
        projections: Sequence[Projection],
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        on_commit: Iterable[CommitListener] = (),
        in_commit: CommitHook | None = None,
    ) -> None:
        missing = {log for p in projections for log in p.logs} - set(sources)
        if missing:
            raise ValueError(f"no event source for logs: {', '.join(sorted(missing))}")
        self.engine = engine
        self.sources = sources
        self.projections = list(projections)
        self.batch_size = batch_size
        self.on_commit = list(on_commit)
        self.in_commit = in_commit

    def projection(self, name: str) -> Projection:
        for projection in self.projections:
            if projection.name == name:
                return projection
        raise KeyError(name)

    def ensure_positions(self) -> None:
        """Create missing position rows at 0, so every batch can lock its row."""
        with self.engine.begin() as connection:
            known = {
                (row.projection, row.log)
                for row in connection.execute(select(projection_positions))
            }
            rows = [
                {"projection": p.name, "log": log, "position": 0}
                for p in self.projections
                for log in p.logs
                if (p.name, log) not in known
            ]
            if rows:
                connection.execute(insert(projection_positions), rows)

    def run_batch(self, projection: Projection, log: str) -> int:
        """Apply at most one batch of `log` to `projection`. Returns the events read."""
        source = self.sources[log]
        where = and_(
            projection_positions.c.projection == projection.name,
            projection_positions.c.log == log,
        )
        while True:
            # Read the events before taking the write lock: on SQLite the event log shares a
            # file with the read models, and its writers must not wait on us while we wait on
            # its reader.
            with self.engine.connect() as connection:
                seen = connection.execute(
                    select(projection_positions.c.position).where(where)
                ).scalar_one()
            events = source.read(after=seen, limit=self.batch_size)
            if not events:
                return 0
            with self.engine.begin() as connection:
                # Writing first takes the lock: a concurrent runner blocks here until we commit.
                connection.execute(
                    update(projection_positions)
                    .where(where)
                    .values(position=projection_positions.c.position)
                )
                position = connection.execute(
                    select(projection_positions.c.position).where(where)
                ).scalar_one()
                if position != seen:
                    continue  # another runner applied these meanwhile: read again
                projection.apply(connection, events)
                new_position = events[-1].position
                connection.execute(
                    update(projection_positions).where(where).values(position=new_position)
                )
                if self.in_commit is not None:
                    self.in_commit(connection, projection.name, log, new_position)
            for listener in self.on_commit:
                listener(projection.name, log, new_position)
            return len(events)

    def catch_up(
        self,
        names: Iterable[str] | None = None,
        progress: Callable[[str, str, int], None] | None = None,
    ) -> int:
        """Apply everything recorded so far. Returns the number of events read."""
        chosen = self._chosen(names)
        self.ensure_positions()
        total = 0
        for projection in chosen:
            for log in projection.logs:
                while True:
                    read = self.run_batch(projection, log)
                    total += read
                    if progress is not None and read:
                        progress(projection.name, log, read)
                    if read < self.batch_size:
                        break
        return total

    def rebuild(
        self,
        names: Iterable[str] | None = None,
        progress: Callable[[str, str, int], None] | None = None,
    ) -> int:
        """Empty the projections' tables, reset their positions, and apply every event again."""
        chosen = self._chosen(names)
        self.ensure_positions()
        with self.engine.begin() as connection:
            for projection in chosen:
                projection.clear(connection)
                connection.execute(
                    update(projection_positions)
                    .where(projection_positions.c.projection == projection.name)
                    .values(position=0)
                )
        return self.catch_up([p.name for p in chosen], progress)

    def status(self) -> list[ProjectionStatus]:
        with self.engine.connect() as connection:
            positions = {
                (row.projection, row.log): row.position
                for row in connection.execute(select(projection_positions))
            }
        heads = {log: source.head() for log, source in self.sources.items()}
        return [
            ProjectionStatus(p.name, log, positions.get((p.name, log), 0), heads[log])
            for p in self.projections
            for log in p.logs
        ]

    def run_forever(self, stop: threading.Event, waker: Waker, poll_seconds: float = 1.0) -> None:
        """Follow the logs until `stop` is set: catch up, then sleep until woken or polled."""
        self.ensure_positions()
        while not stop.is_set():
            try:
                busy = False
                for projection in self.projections:
                    for log in projection.logs:
                        busy |= self.run_batch(projection, log) >= self.batch_size
            except Exception:
                # A database outage: log it and try again after the poll interval.
                _log.exception("projection batch failed; retrying")
                busy = False
                stop.wait(poll_seconds)
            if not busy and not stop.is_set():
                waker.wait(poll_seconds)

    def _chosen(self, names: Iterable[str] | None) -> list[Projection]:
        if names is None:
            return list(self.projections)
        return [self.projection(name) for name in names]
