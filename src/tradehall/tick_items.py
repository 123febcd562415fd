"""What a clock tick does with one item it cannot move (a member, a quality mark): that item
fails alone and the tick goes on with the others.

A tick gives each due item its `observe_time` command. An item's command can fail for its own
reasons: a concurrent change that kept clashing (`ConcurrentChange`: a *conflict*, retried by
the next tick), or anything else (a refusal, stored facts its code cannot work with, an older
event's odd shape, a bug: *failed*, logged with the item's id and its traceback). Neither stops
the tick. Only the event store not answering stops it (every later item would fail alike, by
no doing of its own); the job's loop logs that and ticks again at the next interval.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from uuid import UUID

from eventsourcing.persistence import (
    ConnectionPoolClosedError,
    InterfaceError,
    OperationalError,
)

from sharedkernel.writing import ConcurrentChange

# The event store not answering (a lost connection, a lock timeout, a closed pool).
STORE_AWAY: tuple[type[Exception], ...] = (
    OperationalError,
    InterfaceError,
    ConnectionPoolClosedError,
)


@dataclass(frozen=True)
class TickReport:
    """A tick's count: items examined, changed, clashed with a concurrent change (tried again
    at the next tick), and failed for any other reason (logged, each with its id)."""

    examined: int
    changed: int
    conflicts: int
    failed: int


@dataclass
class ItemTally:
    """Counts one tick's items; `failed_alone` decides whether an item's error stops it."""

    job: str  # how the log lines name the tick: "clock tick", "quality mark clock tick"
    logger: logging.Logger
    examined: int = 0
    changed: int = 0
    conflicts: int = 0
    failed: int = 0

    def done(self, changed: bool) -> None:
        self.examined += 1
        self.changed += changed

    def failed_alone(self, error: Exception, item: UUID) -> bool:
        """Count and log `error` as `item`'s alone (True), or False when it is the store's,
        which the caller re-raises to stop the tick."""
        if isinstance(error, STORE_AWAY):
            return False
        self.examined += 1
        if isinstance(error, ConcurrentChange):
            self.conflicts += 1
            self.logger.warning(
                "%s: %s kept changing (%s); trying it again at the next tick", self.job, item, error
            )
        else:
            self.failed += 1
            self.logger.error(
                "%s failed for %s (%s); the others go on",
                self.job,
                item,
                type(error).__name__,
                exc_info=error,
            )
        return True

    def report(self) -> TickReport:
        return TickReport(self.examined, self.changed, self.conflicts, self.failed)
