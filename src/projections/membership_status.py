"""What the membership log's events say, as the read models fold them: the row an organisation's
registration begins, and the membership status each event leads to.

The directory folds the status into its rows; the clock job folds it straight from the log to
find the organisations that may have a transition due (it reads no read model: ADR 18).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from membership.standing import lapses_from
from projections.events import RecordedEvent, leave_out

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


# Events that move the moments time alone ends a member's good standing: its paid-up-until (the
# lapse follows a month's grace later) and a resignation's date. A read model that lists
# members in good standing keeps them beside its `listed` flag (`STANDING_DATE_COLUMNS`), and
# judges its rows at the reader's time (projections.standing_query), since the clock records a
# lapse or a resignation only at its next tick.
STANDING_DATE_EVENTS = frozenset({"Organisation.PaidUpUntilMoved", "Organisation.ResignationGiven"})
STANDING_DATE_COLUMNS = ("lapses_at", "resigns_at")


def standing_dates(reader: str, event: RecordedEvent) -> dict[str, datetime]:
    """The standing date one of STANDING_DATE_EVENTS sets, as the row's column: `lapses_at`
    (the first moment the membership is lapsed, if nothing more is paid) or `resigns_at`.
    Nothing, and the event left out of `reader`, if it says no date."""
    data = event.data
    if event.name == "Organisation.PaidUpUntilMoved":
        moment = data.get("paid_up_until")
        if isinstance(moment, datetime):
            return {"lapses_at": lapses_from(moment)}
    else:
        moment = data.get("resigns_at")
        if isinstance(moment, datetime):
            return {"resigns_at": moment}
    leave_out(reader, event, "says no date; the member's standing dates are unchanged")
    return {}


def registered_row(event: RecordedEvent) -> dict[str, Any]:
    """The columns every organisation's row takes from its `Organisation.Registered` event."""
    data = event.data
    return {
        "organisation_id": event.originator_id,
        "name": data["name"],
        "kind": data["kind"],
        "legal_form": data["legal_form"],
    }
