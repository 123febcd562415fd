"""The membership status each event of the membership log leads to, by event name and payload.

The directory folds it into its rows; the clock job folds it straight from the log to find the
organisations that may have a transition due (it reads no read model: ADR 18).
"""

from __future__ import annotations

from typing import Any

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
