"""The quality mark's workers: following the membership log, and the clock (expiry, renewal
notices). Each runs its synchronous Application calls in the service's threads."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.persistence import Notification
from eventsourcing.utils import get_topic

from membership.marks.application import MarksApp
from membership.marks.mark import QualityMark
from sharedkernel.events import CLOCK, Context
from tradehall.clock import Clock
from tradehall.tick_items import ItemTally, TickReport

log = logging.getLogger("tradehall.marks")
_PAGE = 500

Run = Callable[..., Any]


class _Notifications(Protocol):
    def select_notifications(
        self, start: int | None, limit: int, *, topics: Sequence[str] = ()
    ) -> Sequence[Notification]: ...


async def _pause(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


async def follow_membership(
    marks: MarksApp, run: Run, interval: float, stop: asyncio.Event
) -> None:
    """Process the membership log's status events until `stop`: a failure is logged and
    tried again at the next round (the position is recorded only with what it caused)."""
    while not stop.is_set():
        try:
            await run(marks.catch_up)
        except Exception:
            log.exception("following the membership log failed; trying again")
        await _pause(stop, interval)


_AWARDED = get_topic(QualityMark.Awarded)
# A revoked or withdrawn mark never changes again (no renewal, notice or expiry): the clock
# leaves it alone.
_ENDING = (get_topic(QualityMark.Revoked), get_topic(QualityMark.Withdrawn))


@dataclass
class MarkIndex:
    """Every awarded mark not yet revoked or withdrawn, folded from the marks log's events
    (the write side reads no read model, ADR 18): kept in memory, reading on from the last
    notification seen."""

    _after: int = 0
    # Insertion-ordered: the marks in the order of their awards.
    _marks: dict[UUID, None] = field(default_factory=dict)

    def marks(self, recorder: _Notifications) -> list[UUID]:
        topics = [_AWARDED, *_ENDING]
        while True:
            batch = recorder.select_notifications(self._after + 1, _PAGE, topics=topics)
            for notification in batch:
                raw = notification.originator_id
                mark_id = raw if isinstance(raw, UUID) else UUID(str(raw))
                if notification.topic == _AWARDED:
                    self._marks[mark_id] = None
                else:
                    self._marks.pop(mark_id, None)
            if batch:
                self._after = batch[-1].id
            if len(batch) < _PAGE:
                return list(self._marks)


def tick_marks(marks: MarksApp, clock: Clock, index: MarkIndex) -> TickReport:
    """One tick: each mark's renewal notices and expiry. A mark fails alone (a concurrent change,
    tried again at the next tick; or events its code cannot work with, logged with its id), as
    the membership clock's members do; only the store not answering stops the tick."""
    now = clock.now()
    tally = ItemTally("quality mark clock tick", log)
    for mark_id in index.marks(marks.recorder):
        context = Context(CLOCK, f"clock:{now.isoformat()}", now)
        try:
            saved = marks.observe_time(context, mark_id)
        except Exception as error:
            if not tally.failed_alone(error, mark_id):
                raise
            continue
        tally.done(saved is not None)
    report = tally.report()
    log.info("quality mark clock tick: %s", report)
    return report


async def run_marks_clock(
    marks: MarksApp, clock: Clock, run: Run, interval: float, stop: asyncio.Event
) -> None:
    index = MarkIndex()
    while not stop.is_set():
        try:
            await run(tick_marks, marks, clock, index)
        except Exception:
            log.exception("the quality mark clock tick failed; trying again")
        await _pause(stop, interval)
