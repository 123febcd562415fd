"""The clock job: issue the transitions time has made due (grace, lapse, renewal, ...).

Each organisation that may have something due gets the `observe_time` command with the clock's
time; the aggregate records only what is due and not yet recorded, so a second tick at the same
time changes nothing more. Candidates are the organisations whose latest status is a member's,
folded from the membership log's own status events (never from a read model, which a rebuild
refills: ADR 18).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol
from uuid import UUID

from eventsourcing.utils import get_topic

from membership.domain import Organisation
from membership.standing import MEMBER
from projections.events import decode_state
from projections.membership_status import STATUS_EVENTS, status_after
from sharedkernel.events import CLOCK, Context
from tradehall.identity.sessions import purge_expired
from tradehall.membership.parked_webhooks import purge_parked_webhooks
from tradehall.membership.parts import HeldParts, MembershipParts
from tradehall.settings import Settings
from tradehall.tick_items import ItemTally, TickReport

if TYPE_CHECKING:
    from tradehall.services import Services

_log = logging.getLogger("tradehall.clock")


class _Notifications(Protocol):
    def select_notifications(
        self, start: int | None, limit: int, stop: int | None = None, topics: Sequence[str] = ()
    ) -> Sequence[Any]: ...


class ClockParts(MembershipParts, Protocol):
    """What a tick uses: the membership Application (its log and `observe_time`), the clock and
    threads, and the database and the settings (the throttles' decay) for purging expired
    sessions and throttles."""

    @property
    def settings(self) -> Settings: ...


@dataclass(frozen=True)
class ClockJobParts(HeldParts):
    """The parts the clock job is given (in the API's process and by `tradehall clock`)."""

    settings: Settings

    @classmethod
    def of(cls, services: Services) -> ClockJobParts:
        """Picked from the container, once (the composition root and the command line)."""
        return cls(
            membership=services.membership,
            engine=services.engine,
            clock=services.clock,
            threads=services.threads,
            settings=services.settings,
        )


_MEMBER_STATUSES = frozenset(status.value for status in MEMBER)
_PAGE = 1000


class MemberIndex:
    """Every organisation's latest status, folded from the membership log's status events.

    Kept in memory and brought up to date at each tick (only the events since the last one are
    read), so the scheduler reads the whole log once a process; a fresh index reads it all.
    The log commits its notification ids in order (the recorders lock the table to insert),
    so reading on from the last id seen misses none.
    """

    def __init__(self, topics: Sequence[str]) -> None:
        self._topics = list(topics)
        self._after = 0
        self._status: dict[UUID, str] = {}

    def members(self, recorder: _Notifications) -> list[UUID]:
        """The organisations in a member's status, by their first status event."""
        while True:
            batch = recorder.select_notifications(
                start=self._after + 1, limit=_PAGE, topics=self._topics
            )
            for notification in batch:
                raw = notification.originator_id
                organisation_id = raw if isinstance(raw, UUID) else UUID(str(raw))
                name = notification.topic.rpartition(":")[2]
                self._status[organisation_id] = status_after(name, decode_state(notification.state))
            if batch:
                self._after = batch[-1].id
            if len(batch) < _PAGE:
                break
        return [key for key, status in self._status.items() if status in _MEMBER_STATUSES]


def new_member_index() -> MemberIndex:
    """An empty index of the organisations' status events (by their topics in the log)."""
    events = [getattr(Organisation, name.partition(".")[2]) for name in sorted(STATUS_EVENTS)]
    return MemberIndex([get_topic(event) for event in events])


async def clock_tick(parts: ClockParts, index: MemberIndex | None = None) -> TickReport:
    now = parts.clock.now()
    context = Context(CLOCK, f"clock-{now.isoformat()}", now)
    index = index or new_member_index()
    candidates = await parts.run(index.members, parts.membership.recorder)
    tally = ItemTally("clock tick", _log)
    for organisation_id in candidates:
        try:
            saved = await parts.run(parts.membership.observe_time, context, organisation_id)
        except Exception as error:
            # One member's concurrent change (a conflict, tried again at the next tick), bad
            # data or facts its code cannot work with (a date past 9999 after a grace month,
            # recorded before the bounds of ADR 17; an older event's odd shape): logged, the
            # others go on. The store not answering still stops the tick (the next one tries
            # again).
            if not tally.failed_alone(error, organisation_id):
                raise
            continue
        tally.done(saved is not None)
    report = tally.report()
    _log.info("clock tick: %s", report)
    # Decayed sign-in throttles, expired refresh tokens and pending registrations.
    await purge_expired(parts.engine, parts.clock.now(), parts.settings.throttle_decay_seconds)
    # Parked Stripe events past their retention (they hold people's data): resolved ones
    # deleted, waiting ones cut to what we read.
    await purge_parked_webhooks(
        parts.engine, parts.clock.now(), parts.settings.parked_webhook_retention_days
    )
    return report


async def run_clock(parts: ClockParts, interval_seconds: float, stop: asyncio.Event) -> None:
    """Tick now and then every interval until `stop` (the in-process scheduler)."""
    index = new_member_index()
    while not stop.is_set():
        try:
            await clock_tick(parts, index)
        except Exception:
            _log.exception("clock tick failed; trying again at the next interval")
        try:
            await asyncio.wait_for(stop.wait(), interval_seconds)
        except TimeoutError:
            continue
