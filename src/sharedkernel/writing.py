"""How every context's Application writes: load -> decide -> save, with optimistic concurrency.

A caller who named a version (If-Match) acts on that version or not at all; one who did not
acts on the current one, so a concurrent write in between is no refusal: reload and decide
again (bounded). Writers to one aggregate in this process take turns (a lock per stripe of
aggregate ids), so they never clash with each other; a clash with another process is retried.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError, Recording

from sharedkernel.errors import Conflict, NotFound, StaleVersion

# Attempts at a command that clashes with concurrent writes (each clash is another's success).
CLASH_ATTEMPTS = 5
WRITER_LOCK_STRIPES = 64
T = TypeVar("T")
A = TypeVar("A")


@dataclass(frozen=True)
class Saved:
    """What a command returns: the aggregate, its new version, and the event log position."""

    aggregate_id: UUID
    version: int
    position: int | None


@dataclass(frozen=True)
class Decision:
    """What a decision saves beside the aggregate it loaded: other aggregates, and side writes
    (SQL statements run in the same transaction, such as a queued notice)."""

    others: Sequence[Any] = ()
    side_writes: Sequence[Any] = ()


class ConcurrentChange(Conflict):
    """Writes kept clashing: not a refusal, so a message's sender should deliver it again."""


def saved(aggregate: Any, recordings: Sequence[Recording[UUID]]) -> Saved:
    positions = [r.notification.id for r in recordings if r.notification.id is not None]
    return Saved(aggregate.id, aggregate.version, max(positions) if positions else None)


class Writes:
    """Mixed into an Application: the load -> decide -> save loop its commands share."""

    def _init_writes(self) -> None:
        self._writer_locks = tuple(threading.RLock() for _ in range(WRITER_LOCK_STRIPES))

    def _writing(self, aggregate_id: UUID) -> threading.RLock:
        return self._writer_locks[aggregate_id.int % WRITER_LOCK_STRIPES]

    def _find(self, aggregate_id: UUID, kind: type[A]) -> A | None:
        """The aggregate of this id, if there is one and it is of this kind."""
        assert isinstance(self, Application)
        try:
            aggregate: object = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None
        return aggregate if isinstance(aggregate, kind) else None

    def _get(self, aggregate_id: UUID, kind: type[A], what: str) -> A:
        found = self._find(aggregate_id, kind)
        if found is None:
            raise NotFound(f"no {what} {aggregate_id}")
        return found

    def _retrying(self, aggregate_id: UUID, attempt: Callable[[], T], clashed: str) -> T:
        with self._writing(aggregate_id):
            for _ in range(CLASH_ATTEMPTS - 1):
                try:
                    return attempt()
                except IntegrityError:
                    continue
            try:
                return attempt()
            except IntegrityError as error:
                raise ConcurrentChange(clashed) from error

    def _change_one(
        self,
        aggregate_id: UUID,
        expected_version: int | None,
        load: Callable[[], Any],
        decide: Callable[[Any], Sequence[Any] | Decision],
        clashed: str,
    ) -> Saved:
        """Load one aggregate, decide (returning any others to save with it, or a Decision),
        save."""
        assert isinstance(self, Application)
        app = self

        def attempt() -> Saved:
            aggregate = load()
            if expected_version is not None and expected_version != aggregate.version:
                raise StaleVersion(expected_version, aggregate.version)
            decided = decide(aggregate)
            if not isinstance(decided, Decision):
                return saved(aggregate, app.save(aggregate, *decided))
            extra = {"side_writes": decided.side_writes} if decided.side_writes else {}
            return saved(aggregate, app.save(aggregate, *decided.others, **extra))

        if expected_version is None:
            return self._retrying(aggregate_id, attempt, clashed)
        with self._writing(aggregate_id):
            for _ in range(CLASH_ATTEMPTS):
                try:
                    return attempt()
                except IntegrityError:
                    current = load().version
                    if current != expected_version:
                        # Another process wrote the version the caller named: it is stale.
                        raise StaleVersion(expected_version, current) from None
                    # The clash was on another aggregate saved with this one (a lot's tender,
                    # say): the caller's version still stands, so decide again.
            raise ConcurrentChange(clashed)

    def _change_alone(
        self,
        aggregate_id: UUID,
        expected_version: int | None,
        load: Callable[[], A],
        decide: Callable[[A], None],
        clashed: str,
    ) -> Saved:
        """`_change_one` for a command that changes only the aggregate it loads."""

        def alone(aggregate: A) -> Sequence[Any]:
            decide(aggregate)
            return ()

        return self._change_one(aggregate_id, expected_version, load, alone, clashed)
