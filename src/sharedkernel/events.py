"""The base aggregate and event type every event in the project derives from."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

SYSTEM = "system"
CLOCK = "clock"
# History or records brought over from another system (`tradehall import members`, `import ocds`).
IMPORTER = "importer"


def user_actor(user_id: UUID) -> str:
    """The actor string recorded on events caused by a signed-in person."""
    return f"user:{user_id}"


def actor_user_id(actor: str) -> UUID | None:
    """The user id behind an actor string, or None for the clock and the system."""
    if actor.startswith("user:"):
        return UUID(actor.removeprefix("user:"))
    return None


@dataclass(frozen=True)
class Context:
    """Who causes a command, under which request, and when.

    `at` is the clock's time at the command (recorded as the event's timestamp);
    `effective_at` is when the fact took effect, for facts about the past.
    """

    actor: str
    request_id: str
    at: datetime
    effective_at: datetime | None = None

    def __post_init__(self) -> None:
        if self.at.tzinfo is None:
            raise ValueError("Context.at must be timezone-aware")
        if self.effective_at is not None and self.effective_at.tzinfo is None:
            raise ValueError("Context.effective_at must be timezone-aware")

    def event_kwargs(self) -> dict[str, Any]:
        """The fields the base event carries, ready for `_create` / `trigger_event`."""
        return {
            "actor": self.actor,
            "request_id": self.request_id,
            "effective_at": self.effective_at or self.at,
            "timestamp": self.at,
        }


class TradehallAggregate(Aggregate):
    """Base of every aggregate: its events carry actor, request id and effective time."""

    class Event(Aggregate.Event):
        actor: str
        request_id: str
        effective_at: datetime

    class Created(Event, Aggregate.Created):
        pass


def as_it_stood(events: Sequence[Any], at: datetime) -> Any | None:
    """An aggregate as it stood at `at`, as we know it now (ADR 17): from its events (oldest
    first) in effect by then, by effective time, not recording time, replayed in the order they
    were recorded. None if its first event took effect after `at`."""
    if not events or events[0].effective_at > at:
        return None
    aggregate = events[0].mutate(None)
    for event in events[1:]:
        if event.effective_at <= at:
            event.apply(aggregate)
    return aggregate
