"""Group commit: concurrent saves to one event log share one transaction (ADR 36).

A save joins a queue. The first saver to find no batch being written becomes the leader: it
takes the queue (up to `MAX_BATCH` saves) and writes it in one transaction, one table lock and
one fsync; savers who arrive meanwhile wait and form the next batch. Each save keeps its own
outcome: the store's `commit_batch` gives each either its notification ids or its own error (a
version clash, a duplicate side write), and an error of the whole transaction (a lost
connection) goes to every save in that batch. A save returns only after the transaction that
holds it has committed, so nothing is acknowledged that a crash could lose.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

# Bounds one transaction's work (and the lock's hold) when hundreds of savers queue at once.
MAX_BATCH = 64


@dataclass(eq=False)
class PendingSave:
    """One save waiting for its batch: its events and side writes, then its outcome."""

    stored_events: Sequence[Any]
    side_writes: Sequence[Any]
    notification_ids: Sequence[int] | None = None
    error: BaseException | None = None
    done: bool = field(default=False, repr=False)

    def succeed(self, notification_ids: Sequence[int] | None) -> None:
        self.notification_ids = notification_ids
        self.error = None

    def fail(self, error: BaseException) -> None:
        self.notification_ids = None
        self.error = error


# Writes a batch in one transaction, calling `succeed` or `fail` on each save; whatever it
# raises fails every save of the batch that was not failed already.
CommitBatch = Callable[[list[PendingSave]], None]


@dataclass(frozen=True)
class QueueState:
    """What an observer may wait for: saves queued, and whether a batch is being written."""

    queued: int
    writing: bool


@dataclass
class BatchFigures:
    """What the group has written so far (read by tests and benchmarks)."""

    batches: int = 0
    saves: int = 0
    largest: int = 0


class GroupCommit:
    """The queue of one event log's saves in this process, and its leader election."""

    def __init__(self, commit_batch: CommitBatch, *, max_batch: int = MAX_BATCH) -> None:
        self._commit_batch = commit_batch
        self._max_batch = max_batch
        lock = threading.Lock()
        # Savers wait on the first; observers (tests, benchmarks) on the second, so a change
        # that matters only to observers wakes no saver.
        self._condition = threading.Condition(lock)
        self._changed = threading.Condition(lock)
        self._queue: list[PendingSave] = []
        self._leading = False
        self.figures = BatchFigures()

    def save(
        self, stored_events: Sequence[Any], side_writes: Sequence[Any] = ()
    ) -> Sequence[int] | None:
        """Write these events (and side writes) in the next batch; their notification ids."""
        pending = PendingSave(stored_events, side_writes)
        with self._condition:
            self._queue.append(pending)
            self._changed.notify_all()
        while True:
            with self._condition:
                while self._leading and not pending.done:
                    self._condition.wait()
                if pending.done:
                    break
                self._leading = True
                batch = self._queue[: self._max_batch]
                del self._queue[: self._max_batch]
                self._changed.notify_all()
            self._lead(batch)
        if pending.error is not None:
            raise pending.error
        return pending.notification_ids

    def wait_for(self, reached: Callable[[QueueState], bool], timeout: float) -> bool:
        """Block until the queue's state satisfies `reached` (or the timeout): whether it did."""
        with self._changed:
            return self._changed.wait_for(
                lambda: reached(QueueState(len(self._queue), self._leading)), timeout
            )

    def _lead(self, batch: list[PendingSave]) -> None:
        try:
            self._commit_batch(batch)
        except Exception as error:
            for pending in batch:
                if pending.error is None:
                    # Each saver its own copy: no traceback through the leader's frames (which
                    # hold the whole batch) and none shared between threads.
                    pending.fail(copy.copy(error))
        except BaseException:
            for pending in batch:
                pending.fail(InterruptedError("the batch holding this save was interrupted"))
            raise
        finally:
            with self._condition:
                for pending in batch:
                    pending.done = True
                self._leading = False
                self.figures.batches += 1
                self.figures.saves += len(batch)
                self.figures.largest = max(self.figures.largest, len(batch))
                self._condition.notify_all()
                self._changed.notify_all()
