"""The batched projector: exactly once, in order, a batch per transaction.

Each log is read once a batch for every projection that follows it: read up to `batch_size`
events after the lowest position the group has recorded; then, in one transaction, (1) touch the
group's position rows, which takes their write locks, so a second runner waits instead of
applying the same events, and read the positions back, (2) apply to each projection the events
after its own position (none, if another runner got there first), (3) record the new positions;
commit. Step (2) is first done with no savepoint (each costs a round trip); if a projection
raises, the whole transaction is rolled back and the batch applied again with each projection
inside a savepoint of its own, as it is from the start while one of them is failing. A crash
anywhere before the commit loses the whole batch, positions included, so the batch is applied
again on restart: exactly once.

A projection that raises is isolated: (in that second pass) its savepoint is rolled back, so
the others' rows and positions commit without it. It is then tried one event at a time to find
the event it fails on; the events before that one are applied (and its position moves to them),
and the failure is recorded on its position row (event, error, attempts, next try). Until that
time the runner leaves it out, retrying after 1 s, doubling to at most 5 minutes; the failure is
cleared when it moves past the event.

An event a projection leaves out (ADR 16: `projections.events.leave_out`, a WARNING line) is
also counted on its position row, with the last one's position, topic and why, in the statement
that moves the position past it: once, however often an isolated batch tried it, and never for
a batch rolled back. A rebuild that swaps sets the count to what it left out.

The positions this runner last committed are remembered, so a batch begins with the read of the
log rather than of the positions; step (1) says whether another runner has moved them
meanwhile. One runner is driven by one thread at a time.

A rebuild applies every event again into shadow tables (projections.shadow) and swaps them in
with one transaction, under the position rows' locks: readers see the old view until then, a
failed rebuild leaves it serving, and no position moves backwards.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import ColumnElement, Connection, Row, insert, select, tuple_, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from projections.base import Projection
from projections.events import EventSource, LeftOut, RecordedEvent, collecting_left_out
from projections.folding import commit_without_waiting_for_flush, storable
from projections.shadow import shadow_tables
from projections.tables import projection_positions

DEFAULT_BATCH_SIZE = 1000
# Nobody waits on a rebuild's batches one by one, and a bigger batch costs less an event: fewer
# statements, commits and reads (on PostgreSQL about a third less time than 1,000 at a time).
REBUILD_BATCH_SIZE = 5000
# A failing projection is tried again after 1 s, then 2, 4, ... at most 5 minutes apart; a
# batch that fails as a whole (the database is away) waits the same way.
FIRST_RETRY_SECONDS = 1.0
MAX_RETRY_SECONDS = 300.0
ERROR_MESSAGE_LIMIT = 2000
# How much of the last left-out event's `why` its position row keeps.
LEFT_OUT_WHY_LIMIT = 500
_log = logging.getLogger("tradehall.projections")
_FAILURE_COLUMNS = (
    projection_positions.c.failed_position,
    projection_positions.c.error_type,
    projection_positions.c.error_message,
    projection_positions.c.attempts,
    projection_positions.c.failed_since,
    projection_positions.c.retry_at,
)
_NO_FAILURE: dict[str, Any] = {
    "failed_position": None,
    "error_type": None,
    "error_message": None,
    "attempts": 0,
    "failed_since": None,
    "retry_at": None,
}
_NONE_LEFT_OUT: dict[str, Any] = {
    "left_out": 0,
    "left_out_position": None,
    "left_out_topic": None,
    "left_out_why": None,
}


def retry_delay(attempts: int) -> timedelta:
    """How long after its `attempts`-th failure a projection is tried again."""
    seconds = FIRST_RETRY_SECONDS * 2 ** min(max(attempts - 1, 0), 30)
    return timedelta(seconds=min(seconds, MAX_RETRY_SECONDS))


class Waker(Protocol):
    """Blocks until new events may be there (a NOTIFY, an in-process save) or the timeout."""

    def wait(self, timeout: float) -> Collection[str] | None:
        """The channels heard (their logs have news), or None: any log may have."""

    def interrupt(self) -> None:
        """Make a current or next `wait` return now (used on shutdown)."""

    def close(self) -> None:
        """Release what the waker holds (a LISTEN connection)."""


@dataclass(frozen=True)
class ProjectionFailure:
    """A projection fails on the event at `position` of its log."""

    position: int
    error_type: str
    error_message: str
    attempts: int
    failed_since: datetime
    retry_at: datetime


@dataclass(frozen=True)
class LeftOutEvents:
    """How many events a projection has left out of a log (ADR 16), and the last of them."""

    count: int
    position: int
    topic: str
    why: str


@dataclass(frozen=True)
class ProjectionStatus:
    projection: str
    log: str
    position: int
    head: int
    failure: ProjectionFailure | None = None
    left_out: LeftOutEvents | None = None

    @property
    def lag(self) -> int:
        return max(self.head - self.position, 0)


def failure_of(row: Any) -> ProjectionFailure | None:
    """The failure recorded on a `projection_positions` row, if any."""
    if row.failed_position is None:
        return None
    return ProjectionFailure(
        position=row.failed_position,
        error_type=row.error_type or "",
        error_message=row.error_message or "",
        attempts=row.attempts,
        failed_since=row.failed_since,
        retry_at=row.retry_at,
    )


def left_out_of(row: Any) -> LeftOutEvents | None:
    """The events left out as counted on a `projection_positions` row, if any."""
    if not row.left_out:
        return None
    return LeftOutEvents(
        count=row.left_out,
        position=row.left_out_position or 0,
        topic=row.left_out_topic or "",
        why=row.left_out_why or "",
    )


def _describe(error: BaseException) -> tuple[str, str]:
    """The error's type and message, as recorded (the driver's own for a database error)."""
    cause = error.orig if isinstance(error, DBAPIError) and error.orig is not None else error
    kind = type(cause)
    return f"{kind.__module__}.{kind.__qualname__}", str(cause) or repr(cause)


# Called after each commit with (projection name, log, new position), from the runner's thread.
CommitListener = Callable[[str, str, int], None]
# Called once after each commit with (log, {projection: position}): every position the batch
# moved, and any another runner had moved that this one saw under the lock. One call a batch,
# so a reader's board takes them in one hop (tradehall.readside).
BatchListener = Callable[[str, Mapping[str, int]], None]
# Extra statements for the commit (PostgreSQL: NOTIFY readers waiting in other processes).
# Called once for each position the commit moves projections to (once a batch, as a rule):
# (connection, the projections' names joined by ",", log, position).
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
        on_batch: Iterable[BatchListener] = (),
        in_commit: CommitHook | None = None,
        clock: Callable[[], datetime] | None = None,
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
        self.on_batch = list(on_batch)
        self.in_commit = in_commit
        self.clock = clock or (lambda: datetime.now(UTC))
        self._positions: dict[tuple[str, str], int] = {}
        # The events the last rebuild left out, by projection (ADR 16).
        self.left_out: dict[str, list[LeftOut]] = {}
        # When each failing projection is next tried, as last read from its position row.
        self._retry_at: dict[tuple[str, str], datetime] = {}

    def projection(self, name: str) -> Projection:
        for projection in self.projections:
            if projection.name == name:
                return projection
        raise KeyError(name)

    def ensure_positions(self) -> None:
        """Create missing position rows at 0, so every batch can lock its row."""
        with self.engine.begin() as connection:
            found = list(connection.execute(select(projection_positions)))
            known = {(row.projection, row.log): row.position for row in found}
            rows = [
                {"projection": p.name, "log": log, "position": 0, "attempts": 0}
                for p in self.projections
                for log in p.logs
                if (p.name, log) not in known
            ]
            if rows:
                connection.execute(insert(projection_positions), rows)
        self._positions = known | {(row["projection"], row["log"]): 0 for row in rows}
        self._retry_at = {
            (row.projection, row.log): row.retry_at for row in found if row.retry_at is not None
        }

    def run_batch(self, log: str, projections: Sequence[Projection]) -> int:
        """Apply at most one batch of `log` to each of `projections` that is not waiting to
        retry a failure. Returns the events read."""
        return self._run_batch(log, projections, self.batch_size)[0]

    def _run_batch(
        self, log: str, projections: Sequence[Projection], limit: int
    ) -> tuple[int, dict[str, int]]:
        """(events read, events applied by projection name)."""
        source = self.sources[log]
        table = projection_positions
        # Positions another runner had committed, seen under the lock: told to the listeners
        # too, so a board fed only by this runner hears of them.
        seen: dict[str, int] = {}
        # Savepoints cost a round trip a projection a batch; a batch is first applied without
        # them (none may fail), unless one of its projections is failing already.
        isolate = False
        while True:
            now = self.clock()
            due = [p for p in projections if self._due(p.name, log, now)]
            if not due:
                self._tell(log, seen)
                return 0, {}
            names = [p.name for p in due]
            # Read the events before taking the write lock: on SQLite the event log shares a
            # file with the read models, and its writers must not wait on us while we wait on
            # its reader.
            start = min(self._position(name, log) for name in names)
            events = source.read(after=start, limit=limit)
            if not events:
                self._tell(log, seen)
                return 0, {}
            last = events[-1].position
            applied: dict[str, int] = {}
            reached: dict[str, int] = {}
            changes: dict[str, dict[str, Any]] = {}
            # The events each projection left out of those it applied (ADR 16), by position.
            odd: dict[str, list[LeftOut]] = {}
            try:
                with self.engine.begin() as connection:
                    # Writing first takes the locks: a concurrent runner blocks here until we
                    # commit.
                    touched = _lock_positions(
                        connection,
                        (table.c.log == log) & table.c.projection.in_(names),
                        table.c.projection,
                        table.c.position,
                        *_FAILURE_COLUMNS,
                    )
                    locked: dict[str, Row[Any]] = {row.projection: row for row in touched}
                    for name, row in locked.items():
                        if row.position > self._positions.get((name, log), 0):
                            seen[name] = row.position
                        self._remember(name, log, row.position, row.retry_at)
                    if min(row.position for row in locked.values()) < start:
                        continue  # someone went back (a rebuild by an older version): read again
                    failing = any(locked[p.name].failed_position is not None for p in due)
                    guarded = isolate or failing
                    for projection in due:
                        row = locked[projection.name]
                        after = row.position
                        if after >= last or (row.retry_at is not None and row.retry_at > now):
                            continue  # applied meanwhile, or failed meanwhile in another runner
                        todo = (
                            events if after == start else [e for e in events if e.position > after]
                        )
                        with collecting_left_out() as found:
                            if guarded:
                                done, failure = self._apply_isolated(connection, projection, todo)
                            else:
                                done, failure = _apply_unguarded(connection, projection, todo)
                        if done:
                            applied[projection.name] = done
                            reached[projection.name] = todo[done - 1].position
                            kept = _left_out_of_applied(found, log, todo[done - 1].position)
                            if kept:
                                odd[projection.name] = kept
                        if failure is not None:
                            changes[projection.name] = self._failed(
                                connection, projection.name, log, row, *failure, now
                            )
                        elif row.failed_position is not None:
                            changes[projection.name] = dict(_NO_FAILURE)  # it moved past
                    if not reached and not changes:
                        continue  # nothing left for us in what we read: read on from there
                    self._record(connection, log, reached, changes, last, odd)
                    self._in_commit(connection, log, reached)
            except _Unguarded as raised:
                # A projection raised with no savepoint around it: the whole batch is rolled
                # back (positions too), and done again with each projection in its own.
                _log.debug("projection %s raised; applying the batch again isolated", raised)
                isolate = True
                continue
            for name, change in changes.items():
                self._remember(name, log, None, change["retry_at"])
            for name, position in reached.items():
                self._positions[(name, log)] = position
                for listener in self.on_commit:
                    listener(name, log, position)
            self._tell(log, seen | reached)
            return len(events), applied

    def _in_commit(self, connection: Connection, log: str, reached: Mapping[str, int]) -> None:
        """Run the commit hook once for each position `reached` holds (one, unless a projection
        stopped short on a failure), naming the projections that reached it."""
        if self.in_commit is None or not reached:
            return
        by_position: dict[int, list[str]] = {}
        for name, position in reached.items():
            by_position.setdefault(position, []).append(name)
        for position, names in sorted(by_position.items()):
            self.in_commit(connection, ",".join(names), log, position)

    def _tell(self, log: str, positions: Mapping[str, int]) -> None:
        """Hand the batch listeners the positions committed (none: nothing to tell)."""
        if positions:
            for listener in self.on_batch:
                listener(log, positions)

    def _apply_isolated(
        self, connection: Connection, projection: Projection, events: Sequence[RecordedEvent]
    ) -> tuple[int, tuple[RecordedEvent, Exception] | None]:
        """Apply `events` in a savepoint: (how many applied, the event and error it failed on).

        On an error, the projection's changes are rolled back and the events tried one at a
        time to find the one it fails on; those before it are then applied as one batch.
        """
        if _attempt(connection, lambda: projection.apply(connection, events)) is None:
            return len(events), None
        done: list[RecordedEvent] = []

        def one_at_a_time() -> None:
            for event in events:
                projection.apply(connection, [event])
                done.append(event)

        error = _attempt(connection, one_at_a_time)
        if error is None:
            return len(events), None  # it failed only in a batch: keep them one at a time
        failure = (events[len(done)], error)
        if done and _attempt(connection, lambda: projection.apply(connection, done)) is not None:
            done.clear()
        return len(done), failure

    def _failed(
        self,
        connection: Connection,
        name: str,
        log: str,
        row: Row[Any],
        event: RecordedEvent,
        error: Exception,
        now: datetime,
    ) -> dict[str, Any]:
        """The failure columns after `name` failed on `event` (one more attempt at it)."""
        again = row.failed_position == event.position
        attempts = row.attempts + 1 if again else 1
        retry_at = now + retry_delay(attempts)
        kind, message = _describe(error)
        _log.error(
            "projection %s failed on %s:%d (%s, attempt %d); next try at %s",
            name,
            log,
            event.position,
            event.name,
            attempts,
            retry_at.isoformat(),
            exc_info=error,
        )
        return {
            "failed_position": event.position,
            "error_type": storable(connection, kind, 200),
            "error_message": storable(connection, message[:ERROR_MESSAGE_LIMIT]),
            "attempts": attempts,
            "failed_since": row.failed_since if again else now,
            "retry_at": retry_at,
        }

    def _record(
        self,
        connection: Connection,
        log: str,
        reached: Mapping[str, int],
        changes: Mapping[str, Mapping[str, Any]],
        last: int,
        odd: Mapping[str, Sequence[LeftOut]],
    ) -> None:
        """Write the batch's new positions, failure columns and the events left out (counted
        in the statement that moves the position past them: a crash before the commit loses
        both, and the batch applied again counts them once); usually one statement."""
        table = projection_positions
        plain = [n for n, at in reached.items() if at == last and n not in changes and n not in odd]
        if plain:
            connection.execute(
                update(table)
                .where(table.c.log == log, table.c.projection.in_(plain))
                .values(position=last)
            )
        for name in set(reached) - set(plain) | set(changes):
            values = dict(changes.get(name, {}))
            if name in reached:
                values["position"] = reached[name]
            if odd.get(name):
                values |= _left_out_values(connection, odd[name])
                values["left_out"] = table.c.left_out + len(odd[name])
            connection.execute(
                update(table).where(table.c.log == log, table.c.projection == name).values(**values)
            )

    def _due(self, name: str, log: str, now: datetime) -> bool:
        retry_at = self._retry_at.get((name, log))
        return retry_at is None or retry_at <= now

    def _remember(self, name: str, log: str, position: int | None, retry_at: Any) -> None:
        if position is not None:
            self._positions[(name, log)] = position
        if retry_at is None:
            self._retry_at.pop((name, log), None)
        else:
            self._retry_at[(name, log)] = retry_at

    def next_retry(self) -> datetime | None:
        """The earliest time a failing projection is to be tried again, if any fails."""
        return min(self._retry_at.values(), default=None)

    def catch_up(
        self,
        names: Iterable[str] | None = None,
        progress: Callable[[str, str, int], None] | None = None,
    ) -> int:
        """Apply everything recorded so far (to the projections not waiting to retry a
        failure). Returns the events applied, summed over projections."""
        self.ensure_positions()
        total = 0
        for log, group in _by_log(self._chosen(names)).items():
            while True:
                read, applied = self._run_batch(log, group, self.batch_size)
                total += sum(applied.values())
                if progress is not None:
                    for name, count in applied.items():
                        progress(name, log, count)
                if read < self.batch_size:
                    break
        return total

    def rebuild(
        self,
        names: Iterable[str] | None = None,
        progress: Callable[[str, str, int], None] | None = None,
        *,
        leaving_out: bool = False,
    ) -> int:
        """Apply every event again into new tables, then swap them in with one transaction.

        Readers see the old view until the swap commits. Runners may follow the logs
        meanwhile: the swap waits for their batch (it locks the position rows first, as they
        do), catches the new tables up with what they applied, and sets the positions to where
        the new tables are, never behind. On any error the new tables are dropped and the old
        ones serve on. Returns the events applied, summed over projections.

        A projection that leaves an event out (ADR 16: not what the domain writes, or what its
        own code cannot read, which a bug raises too) would make the new view miss it: the
        rebuild then raises `EventsLeftOut` and swaps nothing in, unless `leaving_out` says to
        swap anyway. Either way `left_out` says which events were (empty if none).
        """
        chosen = self._chosen(names)
        refused = [p.name for p in chosen if not p.rebuildable]
        if refused:
            raise ValueError(f"never rebuilt: {', '.join(refused)}")
        self.ensure_positions()
        built = {(p.name, log): 0 for p in chosen for log in p.logs}
        keys = list(built)
        table = projection_positions
        left_out: dict[str, dict[tuple[str, int], LeftOut]] = {p.name: {} for p in chosen}
        self.left_out = {}
        # One connection throughout: on SQLite the shadow tables are its TEMP tables.
        with self.engine.connect() as connection:
            shadow = shadow_tables(connection, [t for p in chosen for t in p.tables])
            shadow.create()
            try:
                total = self._build(connection, shadow.enter, chosen, built, progress, left_out)
                while True:
                    found = {
                        name: [by[at] for at in sorted(by)] for name, by in left_out.items() if by
                    }
                    if found and not leaving_out:
                        raise EventsLeftOut(found)
                    with connection.begin():
                        touched = _lock_positions(
                            connection,
                            table.c.projection.in_({name for name, _ in keys}),
                            table.c.projection,
                            table.c.log,
                            table.c.position,
                        )
                        live = {(row.projection, row.log): row.position for row in touched}
                        if all(live.get(key, 0) <= built[key] for key in keys):
                            shadow.swap()
                            for key in keys:
                                # What the new view left out replaces what the old one had.
                                counted = [e for e in found.get(key[0], ()) if e.log == key[1]]
                                connection.execute(
                                    update(table)
                                    .where(table.c.projection == key[0], table.c.log == key[1])
                                    .values(
                                        position=built[key],
                                        **_NO_FAILURE,
                                        **_left_out_values(connection, counted),
                                    )
                                )
                            for log, reached in _by_log_positions(built).items():
                                self._in_commit(connection, log, reached)
                            break
                    # A runner applied more to the live tables meanwhile: catch up, try again.
                    total += self._build(
                        connection, shadow.enter, chosen, built, progress, left_out
                    )
            finally:
                shadow.drop()
        self.left_out = found
        if found:
            _log.warning("rebuilt, leaving events out: %s", describe_left_out(found))
        for key in keys:
            self._positions[key] = built[key]
            self._retry_at.pop(key, None)
            for listener in self.on_commit:
                listener(*key, built[key])
        for log, reached in _by_log_positions(built).items():
            self._tell(log, reached)
        return total

    def _build(
        self,
        connection: Connection,
        enter: Callable[[], None],
        chosen: Sequence[Projection],
        built: dict[tuple[str, str], int],
        progress: Callable[[str, str, int], None] | None,
        left_out: dict[str, dict[tuple[str, int], LeftOut]],
    ) -> int:
        """Apply the logs, up to their heads, to the shadow tables (`enter` makes them the
        ones written), from the positions in `built`, which it advances; each event a
        projection leaves out goes in `left_out` (once, by its log and position)."""
        total = 0
        size = self.rebuild_batch_size
        for log, group in _by_log(chosen).items():
            source = self.sources[log]
            while True:
                start = min(built[(p.name, log)] for p in group)
                events = source.read(after=start, limit=size)
                if not events:
                    break
                applied: dict[str, int] = {}
                with connection.begin():
                    # A crash loses the last commits, and with them the shadow tables: the
                    # live view and its positions are untouched until the swap.
                    commit_without_waiting_for_flush(connection)
                    enter()
                    for projection in group:
                        after = built[(projection.name, log)]
                        todo = [e for e in events if e.position > after]
                        if todo:
                            with collecting_left_out() as found:
                                projection.apply(connection, todo)
                            by_event = left_out[projection.name]
                            for each in found:
                                by_event.setdefault((each.log, each.position), each)
                            applied[projection.name] = len(todo)
                for name, count in applied.items():
                    built[(name, log)] = events[-1].position
                    total += count
                    if progress is not None:
                        progress(name, log, count)
                if len(events) < size:
                    break
        return total

    def status(self) -> list[ProjectionStatus]:
        with self.engine.connect() as connection:
            rows = {
                (row.projection, row.log): row
                for row in connection.execute(select(projection_positions))
            }
        heads = {log: source.head() for log, source in self.sources.items()}
        statuses = []
        for p in self.projections:
            for log in p.logs:
                row = rows.get((p.name, log))
                position = row.position if row is not None else 0
                failure = failure_of(row) if row is not None else None
                left_out = left_out_of(row) if row is not None else None
                statuses.append(
                    ProjectionStatus(p.name, log, position, heads[log], failure, left_out)
                )
        return statuses

    def run_forever(
        self,
        stop: threading.Event,
        waker: Waker,
        poll_seconds: float = 1.0,
        channels: Mapping[str, str] | None = None,
    ) -> None:
        """Follow the logs until `stop` is set: catch up, then sleep until woken or polled.

        With `channels` (each log's NOTIFY channel, by channel), a wake-up that names its
        channels has only their logs read; a poll, a failure's retry, or a waker that cannot
        say reads every log. A log whose batch came back full is read again at once.
        """
        self.ensure_positions()
        outages = 0
        groups = _by_log(self.projections)
        todo: Collection[str] = groups
        while not stop.is_set():
            full: set[str] = set()
            try:
                if outages:
                    self.ensure_positions()
                for log in todo:
                    if self.run_batch(log, groups[log]) >= self.batch_size:
                        full.add(log)
                outages = 0
            except Exception:
                # A batch fails as a whole when the database is away (a projection's own
                # failure is isolated): wait longer each time, up to the cap.
                outages += 1
                delay = retry_delay(outages).total_seconds()
                _log.exception("projection batch failed; retrying in %.0f s", delay)
                full.clear()
                stop.wait(delay)
            if full:
                todo = [log for log in groups if log in full]
            elif not stop.is_set():
                heard = waker.wait(self._wait_seconds(poll_seconds))
                todo = _logs_heard(heard, channels, groups)

    def _wait_seconds(self, poll_seconds: float) -> float:
        """Until the next poll, or sooner when a failing projection is due again."""
        retry = self.next_retry()
        if retry is None:
            return poll_seconds
        return max(0.0, min(poll_seconds, (retry - self.clock()).total_seconds()))

    def _chosen(self, names: Iterable[str] | None) -> list[Projection]:
        if names is None:
            return list(self.projections)
        return [self.projection(name) for name in names]

    def _position(self, projection: str, log: str) -> int:
        """Where this runner last saw `projection` in `log` (the batch's lock checks it)."""
        if (projection, log) not in self._positions:
            self.ensure_positions()
        return self._positions[(projection, log)]


class EventsLeftOut(Exception):
    """A rebuild would have left events out (ADR 16): nothing was swapped in, unless asked to
    leave them out. `left_out` holds them, by projection, in log order."""

    SHOWN = 5

    def __init__(self, left_out: Mapping[str, Sequence[LeftOut]]) -> None:
        self.left_out = {name: list(found) for name, found in left_out.items() if found}
        super().__init__(describe_left_out(self.left_out, self.SHOWN))


def describe_left_out(left_out: Mapping[str, Sequence[LeftOut]], shown: int = 5) -> str:
    """How many events each projection left out, and the first few (topic, originator id,
    version, why)."""
    parts = []
    for name, found in left_out.items():
        first = "; ".join(str(each) for each in found[:shown])
        more = f"; and {len(found) - shown} more" if len(found) > shown else ""
        parts.append(f"{name} left out {len(found)} event{'s' * (len(found) != 1)}: {first}{more}")
    return ". ".join(parts)


def _left_out_of_applied(found: Sequence[LeftOut], log: str, upto: int) -> list[LeftOut]:
    """The events of `log` up to `upto` (those applied) in `found`, once each, in log order:
    an isolated apply may have tried an event more than once, or rolled it back."""
    by_position = {
        each.position: each for each in found if each.log == log and each.position <= upto
    }
    return [by_position[at] for at in sorted(by_position)]


def _left_out_values(connection: Connection, found: Sequence[LeftOut]) -> dict[str, Any]:
    """The left-out columns for exactly the events `found` (in log order): their count and the
    last of them (its `why` trimmed, made storable); none, if `found` is empty."""
    if not found:
        return dict(_NONE_LEFT_OUT)
    last = found[-1]
    return {
        "left_out": len(found),
        "left_out_position": last.position,
        "left_out_topic": storable(connection, last.topic, 200),
        "left_out_why": storable(connection, last.why[:LEFT_OUT_WHY_LIMIT]),
    }


class _Unguarded(Exception):
    """A projection raised while applied without a savepoint (its name is the message)."""


def _apply_unguarded(
    connection: Connection, projection: Projection, events: Sequence[RecordedEvent]
) -> tuple[int, None]:
    """Apply `events` with no savepoint: all of them, or `_Unguarded` (the caller rolls the
    batch back and applies it again isolated)."""
    try:
        projection.apply(connection, events)
    except Exception as error:
        raise _Unguarded(projection.name) from error
    return len(events), None


def _attempt(connection: Connection, work: Callable[[], None]) -> Exception | None:
    """Do `work` after a savepoint, and undo it if it raises: its error, or None.

    Savepoints by name rather than SQLAlchemy's nested transactions: not released (the commit
    releases them), which saves a round trip a projection a batch. A rollback to the name
    undoes the latest savepoint of that name, which is this one.
    """
    connection.exec_driver_sql("SAVEPOINT projection")
    try:
        work()
    except Exception as error:
        connection.exec_driver_sql("ROLLBACK TO SAVEPOINT projection")
        return error
    return None


def _lock_positions(
    connection: Connection, where: ColumnElement[bool], *columns: ColumnElement[Any]
) -> Sequence[Row[Any]]:
    """Lock the position rows `where` says, in one order for everyone (log, projection), so
    runners and rebuilds that lock overlapping sets wait for each other and never deadlock;
    return their `columns`. (An UPDATE alone locks in the order it finds the rows, which
    changes as rows are rewritten; SQLite locks the whole file anyway.)"""
    table = projection_positions
    in_order = (
        select(table.c.projection, table.c.log)
        .where(where)
        .order_by(table.c.log, table.c.projection)
        .with_for_update()
    )
    return connection.execute(
        update(table)
        .where(tuple_(table.c.projection, table.c.log).in_(in_order))
        .values(position=table.c.position)
        .returning(*columns)
    ).all()


def _by_log(projections: Sequence[Projection]) -> dict[str, list[Projection]]:
    """The projections that follow each log, in their order."""
    groups: dict[str, list[Projection]] = {}
    for projection in projections:
        for log in projection.logs:
            groups.setdefault(log, []).append(projection)
    return groups


def _by_log_positions(positions: Mapping[tuple[str, str], int]) -> dict[str, dict[str, int]]:
    """{(projection, log): position} as {log: {projection: position}}."""
    grouped: dict[str, dict[str, int]] = {}
    for (name, log), position in positions.items():
        grouped.setdefault(log, {})[name] = position
    return grouped


def _logs_heard(
    heard: Collection[str] | None,
    channels: Mapping[str, str] | None,
    groups: Mapping[str, Sequence[Projection]],
) -> Collection[str]:
    """The logs to read after a wake-up: those of the channels heard, in the usual order;
    every log when the waker cannot say, or names a channel not known here."""
    if heard is None or channels is None or any(channel not in channels for channel in heard):
        return groups
    logs = {channels[channel] for channel in heard}
    return [log for log in groups if log in logs]
