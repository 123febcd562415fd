"""What the membership log's events say, as the read models fold them: the row an organisation's
registration begins, and the membership status each event leads to.

The directory folds the status into its rows; the clock job folds it straight from the log to
find the organisations that may have a transition due (it reads no read model: ADR 18).
"""

from __future__ import annotations

from typing import Any

from projections.events import RecordedEvent

# Events that put an organisation in a fixed state.
STATUS_AFTER = {
    "Organisation.MembershipApplied": "pending",
    "Organisation.MembershipAdmitted": "awaiting_first_payment",
    "Organisation.MembershipRejected": "rejected",
    "Organisation.MembershipApplicationWithdrawn": "withdrawn",
    "Organisation.Suspended": "suspended",
    "Organisation.Expelled": "expelled",
}
# Events that carry the state they lead to.
STATUS_CARRIED = frozenset({"Organisation.StandingChanged", "Organisation.Reinstated"})
STATUS_EVENTS = frozenset({*STATUS_AFTER, *STATUS_CARRIED})


# What `status_after` says of an event that carries no status it can read (another writer's:
# ADR 16): in no status anyone lists, and the directory leaves the event out.
UNREADABLE = "unreadable"


def status_after(name: str, data: dict[str, Any]) -> str:
    """The status an organisation is in after a status event (one of STATUS_EVENTS);
    UNREADABLE if the event does not say it."""
    if name in STATUS_CARRIED:
        status = data.get("status")
        return status if isinstance(status, str) and status else UNREADABLE
    return STATUS_AFTER[name]


def registered_row(event: RecordedEvent) -> dict[str, Any]:
    """The columns every organisation's row takes from its `Organisation.Registered` event."""
    data = event.data
    return {
        "organisation_id": event.originator_id,
        "name": data["name"],
        "kind": data["kind"],
        "legal_form": data["legal_form"],
    }
