"""An organisation's history as the context tells it: its events, and its standing as at a
moment (ADR 17). Pure: built from the events the Application reads."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from membership.domain import Organisation
from membership.standing import GOOD_STANDING
from sharedkernel.events import as_it_stood

# The fields every event carries, shown apart from its own.
BASE_FIELDS = frozenset(
    {
        "originator_id",
        "originator_version",
        "timestamp",
        "originator_topic",
        "actor",
        "request_id",
        "effective_at",
    }
)


@dataclass(frozen=True)
class HistoryEntry:
    version: int
    event: str  # the event's name, e.g. "MembershipAdmitted"
    actor: str
    effective_at: datetime
    recorded_at: datetime
    details: dict[str, object]


@dataclass(frozen=True)
class StandingAt:
    as_at: datetime
    status: str
    good_standing: bool
    paid_up_until: datetime | None
    tier: str | None


def history_entries(events: Sequence[Any]) -> list[HistoryEntry]:
    return [
        HistoryEntry(
            version=event.originator_version,
            event=type(event).__name__,
            actor=event.actor,
            effective_at=event.effective_at,
            recorded_at=event.timestamp,
            details={k: v for k, v in vars(event).items() if k not in BASE_FIELDS},
        )
        for event in events
    ]


def standing_at(events: Sequence[Any], as_at: datetime) -> StandingAt | None:
    """The membership as it stood at `as_at`, as we know it now (ADR 17): the facts in effect
    by then (by effective time, not recording time), replayed in the order they were recorded.
    None before the organisation registered; a fact stored with an effective time before the
    registration (older versions allowed it) counts from the registration. The status is moved
    on by what time had made due by `as_at` (grace, lapse, a resignation taking effect),
    whether or not the clock has recorded it yet."""
    organisation = as_it_stood(events, as_at)
    if organisation is None:
        return None
    assert isinstance(organisation, Organisation)
    tier = organisation.tier
    status = organisation.membership_status_at(as_at)
    return StandingAt(
        as_at=as_at,
        status=status.value,
        good_standing=status in GOOD_STANDING,
        paid_up_until=organisation.paid_up_until,
        tier=tier.code if tier else None,
    )
