"""The batched projector: exactly once, in order, a batch per transaction.

Each log is read once a batch for every projection that follows it: read up to `batch_size`
events after the lowest position the group has recorded; then, in one transaction, (1) touch the
group's position rows, which takes their write locks, so a second runner waits instead of
applying the same events, and read the positions back, (2) apply to each projection the events
after its own position (none, if another runner got there first), (3) record the new positions;
commit. A crash anywhere before the commit loses the whole batch, positions included, so the
batch is applied again on restart: exactly once.

The positions this runner last committed are remembered, so a batch begins with the read of the
log rather than of the positions; step (1) says whether another runner (or a rebuild) has moved
them meanwhile. One runner is driven by one thread at a time.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.engine import Engine

from projections.base import Projection
from projections.events import EventSource
from projections.folding import commit_without_waiting_for_flush
from projections.tables import projection_positions

DEFAULT_BATCH_SIZE = 1000
# Nobody waits on a rebuild's batches one by one, and a bigger batch costs less an event: fewer
# statements, commits and reads (on PostgreSQL about a third less time than 1,000 at a time).
REBUILD_BATCH_SIZE = 5000
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
        rebuild_batch_size: int = REBUILD_BATCH_SIZE,
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
        self.rebuild_batch_size = rebuild_batch_size
        self.on_commit = list(on_commit)
        self.in_commit = in_commit
        self._positions: dict[tuple[str, str], int] = {}

    def projection(self, name: str) -> Projection:
        for projection in self.projections:
            if projection.name == name:
                return projection
        raise KeyError(name)

    def ensure_positions(self) -> None:
        """Create missing position rows at 0, so every batch can lock its row."""
        with self.engine.begin() as connection:
            known = {
                (row.projection, row.log): row.position
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
        self._positions = known | {(row["projection"], row["log"]): 0 for row in rows}

    def run_batch(self, log: str, projections: Sequence[Projection]) -> int:
        """Apply at most one batch of `log` to each of `projections`. Returns the events read."""
        return self._run_batch(log, projections, self.batch_size)[0]

    def _run_batch(
        self, log: str, projections: Sequence[Projection], limit: int, *, rebuilding: bool = False
    ) -> tuple[int, dict[str, int]]:
        """(events read, events applied by projection name)."""
        source = self.sources[log]
        names = [p.name for p in projections]
        table = projection_positions
        while True:
            # Read the events before taking the write lock: on SQLite the event log shares a
            # file with the read models, and its writers must not wait on us while we wait on
            # its reader.
            start = min(self._position(name, log) for name in names)
            events = source.read(after=start, limit=limit)
            if not events:
                return 0, {}
            last = events[-1].position
            applied: dict[str, int] = {}
            with self.engine.begin() as connection:
                if rebuilding:
                    # A crash may then lose the last few commits, each whole (rows and position
                    # together): the rebuild resumes from an earlier batch, still exactly once.
                    commit_without_waiting_for_flush(connection)
                # Writing first takes the locks: a concurrent runner blocks here until we commit.
                touched = connection.execute(
                    update(table)
                    .where(table.c.log == log, table.c.projection.in_(names))
                    .values(position=table.c.position)
                    .returning(table.c.projection, table.c.position)
                )
                locked: dict[str, int] = {row.projection: row.position for row in touched}
                self._positions.update({(name, log): at for name, at in locked.items()})
                if min(locked.values()) < start:
                    continue  # a rebuild elsewhere went back: read from there
                for projection in projections:
                    after = locked[projection.name]
                    if after >= last:
                        continue  # another runner applied these meanwhile
                    todo = events if after == start else [e for e in events if e.position > after]
                    projection.apply(connection, todo)
                    applied[projection.name] = len(todo)
                if not applied:
                    continue  # nothing left for us in what we read: read on from there
                connection.execute(
                    update(table)
                    .where(table.c.log == log, table.c.projection.in_(list(applied)))
                    .values(position=last)
                )
                if self.in_commit is not None:
                    for name in applied:
                        self.in_commit(connection, name, log, last)
            for name in applied:
                self._positions[(name, log)] = last
                for listener in self.on_commit:
                    listener(name, log, last)
            return len(events), applied

    def catch_up(
        self,
        names: Iterable[str] | None = None,
        progress: Callable[[str, str, int], None] | None = None,
    ) -> int:
        """Apply everything recorded so far. Returns the events applied, summed over projections."""
        return self._catch_up(self._chosen(names), progress, self.batch_size)

    def _catch_up(
        self,
        chosen: Sequence[Projection],
        progress: Callable[[str, str, int], None] | None,
        batch_size: int,
        *,
        rebuilding: bool = False,
    ) -> int:
        self.ensure_positions()
        total = 0
        for log, group in _by_log(chosen).items():
            while True:
                read, applied = self._run_batch(log, group, batch_size, rebuilding=rebuilding)
                total += sum(applied.values())
                if progress is not None:
                    for name, count in applied.items():
                        progress(name, log, count)
                if read < batch_size:
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
            # The positions first, in one statement, as every batch locks them: a runner's batch
            # under way finishes before we touch its tables (no deadlock over the two).
            connection.execute(
                update(projection_positions)
                .where(projection_positions.c.projection.in_([p.name for p in chosen]))
                .values(position=0)
            )
            for projection in chosen:
                projection.clear(connection)
        return self._catch_up(chosen, progress, self.rebuild_batch_size, rebuilding=True)

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
        groups = _by_log(self.projections)
        while not stop.is_set():
            try:
                busy = False
                for log, group in groups.items():
                    busy |= self.run_batch(log, group) >= self.batch_size
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

    def _position(self, projection: str, log: str) -> int:
        """Where this runner last saw `projection` in `log` (the batch's lock checks it)."""
        if (projection, log) not in self._positions:
            self.ensure_positions()
        return self._positions[(projection, log)]


def _by_log(projections: Sequence[Projection]) -> dict[str, list[Projection]]:
    """The projections that follow each log, in their order."""
    groups: dict[str, list[Projection]] = {}
    for projection in projections:
        for log in projection.logs:
            groups.setdefault(log, []).append(projection)
    return groups
