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


def status_after(name: str, data: dict[str, Any]) -> str:
    """The status an organisation is in after a status event (one of STATUS_EVENTS)."""
    if name in STATUS_CARRIED:
        return str(data["status"])
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
