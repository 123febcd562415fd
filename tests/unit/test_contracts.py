"""Contracts: signing (value, period, parties and their shares), amendments, completion and
termination; delivery reports against the winning bid's social-value commitments, confirmed or
rejected by the buyer only; committed against delivered; replay from the events."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from eventsourcing.persistence import DatetimeAsISO, JSONTranscoder, Mapper, UUIDAsHex

from marketplace.bids.content import Commitment
from marketplace.contracts import (
    CONFIRMED,
    REJECTED,
    REPORTED,
    Contract,
    ContractStatus,
    Delivered,
    Party,
    contract_id_for,
)
from marketplace.tender_terms import Period
from sharedkernel.errors import Conflict, InvalidValue, NotFound
from sharedkernel.events import Context
from sharedkernel.money import Money

START = datetime(2027, 1, 1, tzinfo=UTC)
END = datetime(2028, 1, 1, tzinfo=UTC)
LATER = datetime(2027, 7, 1, 12, tzinfo=UTC)  # "now" for most commands
TENDER = uuid.uuid4()
BID = uuid.uuid4()
BUYER = uuid.uuid4()
SUPPLIER = uuid.uuid4()
PARTNER = uuid.uuid4()
THIRD = uuid.uuid4()
STRANGER = uuid.uuid4()
COMMITMENTS = (
    Commitment("local_jobs", 5, "jobs"),
    Commitment("apprenticeships", 2, "apprenticeships"),
    Commitment("volunteering_hours", 400, "hours"),
)


def ctx(at: datetime = LATER) -> Context:
    return Context("user:someone", "r", at)


def months(first: int, last: int) -> Period:
    """From the start of month `first` of 2027 to the start of month `last` (exclusive)."""
    return Period(START.replace(month=first), START.replace(month=last))


def signed(parties: tuple[Party, ...] = (Party(SUPPLIER, 100),), **overrides: Any) -> Contract:
    given: dict[str, Any] = {
        "tender_id": TENDER,
        "lot_id": "lot-1",
        "bid_id": BID,
        "buyer_id": BUYER,
        "value": Money("GBP", 12_000_000),
        "period": Period(START, END),
        "parties": parties,
        "commitments": COMMITMENTS,
    }
    given.update(overrides)
    return Contract.sign(ctx(START - timedelta(days=10)), **given)


def report(
    contract: Contract,
    period: Period | None = None,
    *,
    by: uuid.UUID = SUPPLIER,
    delivered: tuple[Delivered, ...] = (Delivered("local_jobs", 2),),
    note: str = "",
    at: datetime = LATER,
) -> uuid.UUID:
    report_id = uuid.uuid4()
    contract.report_delivery(
        ctx(at),
        report_id=report_id,
        by_organisation=by,
        period=period or months(1, 4),
        delivered=delivered,
        note=note,
    )
    return report_id


def names(contract: Contract) -> list[str]:
    return [type(e).__name__ for e in contract.collect_events()]


# Signing -----------------------------------------------------------------------------------


def test_a_contract_is_signed_with_one_supplier() -> None:
    contract = signed()
    assert contract.id == contract_id_for(TENDER, "lot-1")
    assert (contract.tender_id, contract.lot_id, contract.bid_id) == (TENDER, "lot-1", BID)
    assert contract.buyer_id == BUYER
    assert contract.value == Money("GBP", 12_000_000)
    assert contract.period == Period(START, END)
    assert contract.parties == (Party(SUPPLIER, 100),)
    assert contract.commitments == COMMITMENTS
    assert contract.status is ContractStatus.ACTIVE
    assert contract.signed_at == START - timedelta(days=10)
    assert contract.amendments == ()
    assert contract.reports == ()
    assert names(contract) == ["Signed"]


def test_one_contract_per_lot() -> None:
    assert contract_id_for(TENDER, "lot-1") == contract_id_for(TENDER, "lot-1")
    assert contract_id_for(TENDER, "lot-1") != contract_id_for(TENDER, "lot-2")
    assert contract_id_for(TENDER, "lot-1") != contract_id_for(uuid.uuid4(), "lot-1")


def test_a_consortium_of_three_signs_with_its_shares() -> None:
    parties = (Party(SUPPLIER, 50), Party(PARTNER, 30), Party(THIRD, 20))
    contract = signed(parties)
    assert contract.parties == parties
    event = contract.collect_events()[0]
    assert isinstance(event, Contract.Signed)
    assert event.parties == [
        {"organisation_id": str(SUPPLIER), "share_percent": 50},
        {"organisation_id": str(PARTNER), "share_percent": 30},
        {"organisation_id": str(THIRD), "share_percent": 20},
    ]
    assert event.value_minor == 12_000_000
    assert event.currency == "GBP"
    assert event.period == {"start": START.isoformat(), "end": END.isoformat()}
    assert event.commitments == [c.as_data() for c in COMMITMENTS]


def test_party_round_trips_through_its_data() -> None:
    party = Party(PARTNER, 35)
    assert Party.from_data(party.as_data()) == party


@pytest.mark.parametrize(
    ("parties", "field", "message"),
    [
        ((Party(SUPPLIER, 60), Party(PARTNER, 30)), "parties", "sum to 100, not 90"),
        ((Party(SUPPLIER, 60), Party(PARTNER, 50)), "parties", "sum to 100, not 110"),
        ((Party(SUPPLIER, 100), Party(PARTNER, 0)), "parties[1].share_percent", "1 to 100"),
        ((Party(SUPPLIER, 101),), "parties[0].share_percent", "1 to 100"),
        ((Party(SUPPLIER, True),), "parties[0].share_percent", "1 to 100"),
        ((Party(SUPPLIER, 50.0),), "parties[0].share_percent", "1 to 100"),  # type: ignore[arg-type]
        ((Party(SUPPLIER, 50), Party(SUPPLIER, 50)), "parties", "each organisation once"),
        ((Party(BUYER, 100),), "parties", "the buyer is not a supplier"),
        ((), "parties", "1 to 10"),
        (tuple(Party(uuid.uuid4(), 10) for _ in range(11)), "parties", "1 to 10"),
    ],
)
def test_parties_and_shares_are_checked(
    parties: tuple[Party, ...], field: str, message: str
) -> None:
    with pytest.raises(InvalidValue, match=message) as raised:
        signed(parties)
    assert raised.value.field == field


@pytest.mark.parametrize("minor", [0, -1, 10**12 + 1])
def test_the_value_is_positive_and_bounded(minor: int) -> None:
    with pytest.raises(InvalidValue) as raised:
        signed(value=Money("GBP", minor))
    assert raised.value.field == "value"


def test_a_period_ending_before_it_starts_is_refused() -> None:
    with pytest.raises(InvalidValue) as raised:
        signed(period=Period(END, START))
    assert raised.value.field == "period.end"
    with pytest.raises(InvalidValue):
        signed(period=Period(START, START))


def test_each_commitment_measure_once() -> None:
    twice = (Commitment("local_jobs", 5, "jobs"), Commitment("local_jobs", 2, "jobs"))
    with pytest.raises(InvalidValue, match="each measure once"):
        signed(commitments=twice)


# Amendments, completion, termination -------------------------------------------------------


def test_an_amendment_changes_the_value_and_the_period_with_its_reason() -> None:
    contract = signed()
    longer = Period(START, END + timedelta(days=90))
    contract.amend(ctx(), value=Money("GBP", 13_000_000), period=longer, reason=" Extra parks ")
    assert contract.value == Money("GBP", 13_000_000)
    assert contract.period == longer
    (amendment,) = contract.amendments
    assert amendment.at == LATER
    assert amendment.changed == ("value", "period")
    assert amendment.value == Money("GBP", 13_000_000)
    assert amendment.period == longer
    assert amendment.reason == "Extra parks"
    event = contract.collect_events()[-1]
    assert isinstance(event, Contract.Amended)
    assert (event.value_minor, event.period, event.reason) == (
        13_000_000,
        longer.as_data(),
        "Extra parks",
    )


def test_an_amendment_records_only_what_changes() -> None:
    contract = signed()
    contract.amend(ctx(), value=Money("GBP", 12_000_000), period=months(1, 12), reason="Shorter")
    (amendment,) = contract.amendments
    assert amendment.changed == ("period",)
    assert amendment.value is None
    assert contract.value == Money("GBP", 12_000_000)
    event = contract.collect_events()[-1]
    assert isinstance(event, Contract.Amended)
    assert event.value_minor is None


def test_an_amendment_that_changes_nothing_is_refused() -> None:
    contract = signed()
    with pytest.raises(InvalidValue, match="changes nothing"):
        contract.amend(ctx(), value=None, period=None, reason="Nothing")
    with pytest.raises(InvalidValue, match="changes nothing"):
        contract.amend(ctx(), value=contract.value, period=contract.period, reason="Same")
    assert names(contract) == ["Signed"]


def test_an_amendment_needs_a_reason() -> None:
    contract = signed()
    for reason in ("", "   ", "\u200b"):
        with pytest.raises(InvalidValue) as raised:
            contract.amend(ctx(), value=Money("GBP", 1), period=None, reason=reason)
        assert raised.value.field == "reason"


def test_reasons_follow_the_text_policy() -> None:
    contract = signed()
    with pytest.raises(InvalidValue, match="bidirectional") as raised:
        contract.amend(ctx(), value=Money("GBP", 1), period=None, reason="ok \u202e")
    assert raised.value.field == "reason"
    with pytest.raises(InvalidValue, match="longer than 4000"):
        contract.terminate(ctx(), "x" * 4001)


def test_the_currency_never_changes() -> None:
    contract = signed()
    with pytest.raises(InvalidValue, match="stays in GBP"):
        contract.amend(ctx(), value=Money("EUR", 12_000_000), period=None, reason="Euros")


def test_an_amended_value_is_positive_and_an_amended_period_valid() -> None:
    contract = signed()
    with pytest.raises(InvalidValue) as raised:
        contract.amend(ctx(), value=Money("GBP", 0), period=None, reason="Free")
    assert raised.value.field == "value"
    with pytest.raises(InvalidValue) as raised:
        contract.amend(ctx(), value=None, period=Period(END, START), reason="Backwards")
    assert raised.value.field == "period.end"


def test_the_period_does_not_start_after_delivery_already_reported() -> None:
    contract = signed()
    report(contract, months(1, 3))
    with pytest.raises(InvalidValue, match="already reported") as raised:
        contract.amend(ctx(), value=None, period=Period(months(2, 3).start, END), reason="Late")
    assert raised.value.field == "period.start"


def test_a_contract_completes_with_its_reason() -> None:
    contract = signed()
    contract.complete(ctx(), "delivered in full")
    assert contract.status is ContractStatus.COMPLETED
    assert contract.end_reason == "delivered in full"
    assert contract.ended_at == LATER
    assert names(contract) == ["Signed", "Completed"]


def test_a_contract_is_terminated_with_its_reason() -> None:
    contract = signed()
    contract.terminate(ctx(), "persistent failure to deliver")
    assert contract.status is ContractStatus.TERMINATED
    assert contract.end_reason == "persistent failure to deliver"
    assert contract.ended_at == LATER
    assert names(contract) == ["Signed", "Terminated"]


def test_completion_and_termination_need_a_reason() -> None:
    contract = signed()
    with pytest.raises(InvalidValue) as raised:
        contract.complete(ctx(), " ")
    assert raised.value.field == "reason"
    with pytest.raises(InvalidValue) as raised:
        contract.terminate(ctx(), "")
    assert raised.value.field == "reason"
    assert contract.status is ContractStatus.ACTIVE


def test_an_ended_contract_is_not_amended_completed_or_terminated() -> None:
    completed = signed()
    completed.complete(ctx(), "delivered in full")
    with pytest.raises(Conflict, match="completed contract is not amended"):
        completed.amend(ctx(), value=Money("GBP", 1), period=None, reason="After")
    with pytest.raises(Conflict):
        completed.complete(ctx(), "again")
    with pytest.raises(Conflict):
        completed.terminate(ctx(), "too late")
    terminated = signed()
    terminated.terminate(ctx(), "breach")
    with pytest.raises(Conflict, match="terminated contract is not amended"):
        terminated.amend(ctx(), value=Money("GBP", 1), period=None, reason="After")
    with pytest.raises(Conflict):
        terminated.complete(ctx(), "delivered in full")
    with pytest.raises(Conflict):
        terminated.terminate(ctx(), "again")


# Delivery reports ----------------------------------------------------------------------------


def test_the_supplier_reports_delivery() -> None:
    contract = signed()
    delivered = (Delivered("local_jobs", 3), Delivered("volunteering_hours", 0))
    report_id = report(contract, months(1, 4), delivered=delivered, note=" First quarter\n ")
    (made,) = contract.reports
    assert made.id == report_id
    assert made.reporter_id == SUPPLIER
    assert made.period == months(1, 4)
    assert made.delivered == delivered
    assert made.note == "First quarter"
    assert made.status == REPORTED
    assert made.decision_reason is None
    assert contract.report(report_id) == made
    event = contract.collect_events()[-1]
    assert isinstance(event, Contract.DeliveryReported)
    assert event.report_id == report_id
    assert event.reporter_id == SUPPLIER
    assert event.period == months(1, 4).as_data()
    assert event.delivered == [
        {"measure": "local_jobs", "quantity": 3},
        {"measure": "volunteering_hours", "quantity": 0},
    ]


def test_any_consortium_partner_reports_delivery() -> None:
    contract = signed((Party(SUPPLIER, 50), Party(PARTNER, 30), Party(THIRD, 20)))
    report(contract, months(1, 2), by=PARTNER)
    report(contract, months(2, 3), by=THIRD)
    assert [r.reporter_id for r in contract.reports] == [PARTNER, THIRD]


@pytest.mark.parametrize("who", [BUYER, STRANGER])
def test_only_a_party_reports_delivery(who: uuid.UUID) -> None:
    contract = signed()
    with pytest.raises(Conflict, match="only the supplier"):
        report(contract, by=who)
    assert contract.reports == ()


def test_the_same_report_id_twice_is_refused() -> None:
    contract = signed()
    report_id = report(contract, months(1, 2))
    with pytest.raises(Conflict, match="already made"):
        contract.report_delivery(
            ctx(),
            report_id=report_id,
            by_organisation=SUPPLIER,
            period=months(2, 3),
            delivered=(Delivered("local_jobs", 1),),
            note="",
        )


def test_a_report_of_an_unknown_measure_is_refused() -> None:
    contract = signed()
    with pytest.raises(InvalidValue, match="one of the contract's commitments") as raised:
        report(contract, delivered=(Delivered("local_jobs", 1), Delivered("carbon_saving", 4)))
    assert raised.value.field == "delivered[1].measure"
    with pytest.raises(InvalidValue):
        report(contract, delivered=(Delivered("made_up", 1),))


def test_a_contract_without_commitments_takes_no_report() -> None:
    contract = signed(commitments=())
    with pytest.raises(InvalidValue, match="commitments: none"):
        report(contract)


@pytest.mark.parametrize(
    ("delivered", "field"),
    [
        ((), "delivered"),
        ((Delivered("local_jobs", 1), Delivered("local_jobs", 2)), "delivered[1].measure"),
        ((Delivered("local_jobs", -1),), "delivered[0].quantity"),
        ((Delivered("local_jobs", 10**9 + 1),), "delivered[0].quantity"),
        ((Delivered("local_jobs", True),), "delivered[0].quantity"),
        ((Delivered("local_jobs", 1.0),), "delivered[0].quantity"),  # type: ignore[arg-type]
    ],
)
def test_delivered_quantities_are_checked(delivered: tuple[Delivered, ...], field: str) -> None:
    contract = signed()
    with pytest.raises(InvalidValue) as raised:
        report(contract, delivered=delivered)
    assert raised.value.field == field


def test_the_largest_quantity_is_accepted() -> None:
    contract = signed()
    report(contract, delivered=(Delivered("volunteering_hours", 10**9),))
    assert contract.pending()["volunteering_hours"] == 10**9


def test_a_future_period_is_refused() -> None:
    contract = signed()
    with pytest.raises(InvalidValue, match="already ended") as raised:
        report(contract, months(6, 8))  # ends 1 August; now is 1 July
    assert raised.value.field == "period.end"
    report(contract, Period(months(6, 7).start, LATER))  # up to now is fine


def test_a_period_before_the_contract_starts_is_refused() -> None:
    contract = signed()
    with pytest.raises(InvalidValue) as raised:
        report(contract, Period(START - timedelta(days=1), months(1, 2).end))
    assert raised.value.field == "period.start"


def test_a_report_period_ending_before_it_starts_is_refused() -> None:
    contract = signed()
    with pytest.raises(InvalidValue) as raised:
        report(contract, Period(months(3, 4).end, months(3, 4).start))
    assert raised.value.field == "period.end"


def test_overlapping_periods_are_refused_and_adjacent_ones_accepted() -> None:
    contract = signed()
    first = report(contract, months(1, 4))
    with pytest.raises(Conflict, match=f"overlaps that of delivery report {first}"):
        report(contract, months(3, 5))
    with pytest.raises(Conflict, match="overlaps"):
        report(contract, Period(START + timedelta(days=10), START + timedelta(days=20)))
    report(contract, months(4, 5))  # starts as the first ends
    assert len(contract.reports) == 2


def test_a_confirmed_report_still_holds_its_period() -> None:
    contract = signed()
    first = report(contract, months(1, 4))
    contract.confirm_delivery(ctx(), report_id=first, by_organisation=BUYER)
    with pytest.raises(Conflict, match="overlaps"):
        report(contract, months(2, 3))


def test_after_a_rejection_a_corrected_report_of_the_same_period_is_accepted() -> None:
    contract = signed()
    first = report(contract, months(1, 4), delivered=(Delivered("local_jobs", 9),))
    contract.reject_delivery(
        ctx(), report_id=first, by_organisation=BUYER, reason="Only 3 jobs are evidenced"
    )
    corrected = report(contract, months(1, 4), delivered=(Delivered("local_jobs", 3),))
    assert [(r.id, r.status) for r in contract.reports] == [
        (first, REJECTED),
        (corrected, REPORTED),
    ]
    assert contract.report(first).decision_reason == "Only 3 jobs are evidenced"


def test_a_note_is_optional_and_follows_the_text_policy() -> None:
    contract = signed()
    with pytest.raises(InvalidValue, match="control character") as raised:
        report(contract, note="bad \x00")
    assert raised.value.field == "note"
    with pytest.raises(InvalidValue, match="longer than 4000"):
        report(contract, note="x" * 4001)
    report(contract, note="Line one\nLine two")
    assert contract.reports[0].note == "Line one\nLine two"


def test_a_last_report_after_completion_is_accepted() -> None:
    contract = signed()
    contract.complete(ctx(), "delivered in full")
    report(contract, months(5, 7), at=LATER + timedelta(days=5))
    assert contract.reports[0].status == REPORTED


def test_after_completion_only_periods_ending_by_it_are_reported() -> None:
    contract = signed()
    contract.complete(ctx(months(5, 6).start), "delivered early")
    with pytest.raises(Conflict, match="completed: delivery is reported only up to its end"):
        report(contract, months(5, 7))
    report(contract, months(4, 5))
    assert len(contract.reports) == 1


def test_delivery_is_reported_within_the_contracts_period() -> None:
    contract = signed(period=Period(START, START.replace(month=3)))
    with pytest.raises(InvalidValue, match="within the contract's period") as refused:
        report(contract, months(2, 4))
    assert refused.value.field == "period.end"
    report(contract, months(2, 3))


def test_after_termination_only_periods_ending_by_it_are_reported() -> None:
    contract = signed()
    contract.terminate(ctx(months(5, 6).start), "breach")
    with pytest.raises(Conflict, match="terminated: delivery is reported only up to its end"):
        report(contract, months(4, 6))
    report(contract, months(4, 5))
    assert len(contract.reports) == 1


def test_a_termination_effective_earlier_bounds_the_reports() -> None:
    contract = signed()
    effective = months(3, 4).start
    contract.terminate(Context("user:buyer", "r", LATER, effective), "breach found late")
    assert contract.ended_at == effective
    with pytest.raises(Conflict):
        report(contract, months(3, 4))
    report(contract, months(1, 3))


# Confirmation and rejection -----------------------------------------------------------------


def test_the_buyer_confirms_delivery() -> None:
    contract = signed()
    report_id = report(contract)
    contract.confirm_delivery(ctx(), report_id=report_id, by_organisation=BUYER)
    assert contract.report(report_id).status == CONFIRMED
    event = contract.collect_events()[-1]
    assert isinstance(event, Contract.DeliveryConfirmed)
    assert event.report_id == report_id


def test_a_supplier_never_confirms_its_own_delivery() -> None:
    contract = signed((Party(SUPPLIER, 70), Party(PARTNER, 30)))
    report_id = report(contract, by=SUPPLIER)
    for party in (SUPPLIER, PARTNER):
        with pytest.raises(Conflict, match="never confirms its own delivery"):
            contract.confirm_delivery(ctx(), report_id=report_id, by_organisation=party)
        with pytest.raises(Conflict, match="never rejects its own delivery"):
            contract.reject_delivery(
                ctx(), report_id=report_id, by_organisation=party, reason="Wrong"
            )
    assert contract.report(report_id).status == REPORTED
    assert contract.delivered()["local_jobs"] == 0


def test_nobody_else_confirms_or_rejects() -> None:
    contract = signed()
    report_id = report(contract)
    with pytest.raises(Conflict, match="only the contract's buyer confirms"):
        contract.confirm_delivery(ctx(), report_id=report_id, by_organisation=STRANGER)
    with pytest.raises(Conflict, match="only the contract's buyer rejects"):
        contract.reject_delivery(ctx(), report_id=report_id, by_organisation=STRANGER, reason="No")


def test_an_unknown_report_is_not_found() -> None:
    contract = signed()
    with pytest.raises(NotFound):
        contract.confirm_delivery(ctx(), report_id=uuid.uuid4(), by_organisation=BUYER)
    with pytest.raises(NotFound):
        contract.reject_delivery(ctx(), report_id=uuid.uuid4(), by_organisation=BUYER, reason="No")


def test_only_a_reported_report_is_confirmed_or_rejected() -> None:
    contract = signed()
    confirmed = report(contract, months(1, 2))
    contract.confirm_delivery(ctx(), report_id=confirmed, by_organisation=BUYER)
    rejected = report(contract, months(2, 3))
    contract.reject_delivery(ctx(), report_id=rejected, by_organisation=BUYER, reason="No")
    for report_id, state in ((confirmed, "confirmed"), (rejected, "rejected")):
        with pytest.raises(Conflict, match=f"already {state}"):
            contract.confirm_delivery(ctx(), report_id=report_id, by_organisation=BUYER)
        with pytest.raises(Conflict, match=f"already {state}"):
            contract.reject_delivery(
                ctx(), report_id=report_id, by_organisation=BUYER, reason="Again"
            )


def test_a_rejection_needs_a_reason() -> None:
    contract = signed()
    report_id = report(contract)
    with pytest.raises(InvalidValue) as raised:
        contract.reject_delivery(ctx(), report_id=report_id, by_organisation=BUYER, reason=" ")
    assert raised.value.field == "reason"
    contract.reject_delivery(ctx(), report_id=report_id, by_organisation=BUYER, reason=" No ")
    event = contract.collect_events()[-1]
    assert isinstance(event, Contract.DeliveryRejected)
    assert (event.report_id, event.reason) == (report_id, "No")


def test_reports_are_confirmed_after_the_contract_ends() -> None:
    contract = signed()
    report_id = report(contract)
    contract.terminate(ctx(), "breach")
    contract.confirm_delivery(ctx(), report_id=report_id, by_organisation=BUYER)
    assert contract.delivered()["local_jobs"] == 2


# Committed against delivered ------------------------------------------------------------------


def test_committed_against_delivered_counts_only_confirmed_figures() -> None:
    contract = signed()
    q1 = report(
        contract,
        months(1, 4),
        delivered=(Delivered("local_jobs", 2), Delivered("volunteering_hours", 120)),
    )
    q2 = report(
        contract,
        months(4, 7),
        delivered=(Delivered("local_jobs", 1), Delivered("apprenticeships", 1)),
    )
    wrong = report(
        contract, Period(months(7, 8).start, LATER), delivered=(Delivered("local_jobs", 50),)
    )
    assert contract.committed() == {
        "local_jobs": 5,
        "apprenticeships": 2,
        "volunteering_hours": 400,
    }
    assert contract.delivered() == {"local_jobs": 0, "apprenticeships": 0, "volunteering_hours": 0}
    assert contract.pending() == {"local_jobs": 53, "apprenticeships": 1, "volunteering_hours": 120}

    contract.confirm_delivery(ctx(), report_id=q1, by_organisation=BUYER)
    contract.confirm_delivery(ctx(), report_id=q2, by_organisation=BUYER)
    contract.reject_delivery(ctx(), report_id=wrong, by_organisation=BUYER, reason="Not evidenced")
    assert contract.delivered() == {
        "local_jobs": 3,
        "apprenticeships": 1,
        "volunteering_hours": 120,
    }
    assert contract.pending() == {"local_jobs": 0, "apprenticeships": 0, "volunteering_hours": 0}
    assert contract.committed() == {
        "local_jobs": 5,
        "apprenticeships": 2,
        "volunteering_hours": 400,
    }


# Replay ---------------------------------------------------------------------------------------


def test_a_contract_is_replayed_from_its_events_to_the_same_state() -> None:
    contract = signed((Party(SUPPLIER, 60), Party(PARTNER, 40)))
    contract.amend(
        ctx(),
        value=Money("GBP", 12_500_000),
        period=Period(START, END + timedelta(days=30)),
        reason="Extension",
    )
    first = report(contract, months(1, 4), delivered=(Delivered("local_jobs", 2),))
    contract.confirm_delivery(ctx(), report_id=first, by_organisation=BUYER)
    second = report(
        contract, months(4, 6), by=PARTNER, delivered=(Delivered("apprenticeships", 1),)
    )
    contract.reject_delivery(ctx(), report_id=second, by_organisation=BUYER, reason="No evidence")
    report(contract, months(4, 6), by=PARTNER, delivered=(Delivered("apprenticeships", 1),))
    contract.complete(ctx(LATER + timedelta(days=1)), "delivered in full")
    events = contract.collect_events()
    assert [type(e).__name__ for e in events] == [
        "Signed",
        "Amended",
        "DeliveryReported",
        "DeliveryConfirmed",
        "DeliveryReported",
        "DeliveryRejected",
        "DeliveryReported",
        "Completed",
    ]
    replayed: Contract | None = None
    for event in events:
        replayed = event.mutate(replayed)
    assert replayed is not None
    assert replayed.__dict__ == contract.__dict__
    assert replayed.reports == contract.reports
    assert replayed.amendments == contract.amendments
    assert replayed.delivered() == {"local_jobs": 2, "apprenticeships": 0, "volunteering_hours": 0}
    assert replayed.status is ContractStatus.COMPLETED


def test_the_events_survive_the_stored_form() -> None:
    """Through the application's JSON transcoding: every attribute is plain data or a UUID."""
    transcoder = JSONTranscoder()
    for transcoding in (UUIDAsHex(), DatetimeAsISO()):
        transcoder.register(transcoding)
    mapper: Mapper[uuid.UUID] = Mapper(transcoder=transcoder)
    contract = signed((Party(SUPPLIER, 60), Party(PARTNER, 40)))
    contract.amend(ctx(), value=None, period=months(1, 12), reason="Shorter")
    first = report(contract, months(1, 4), note="Quarter one")
    contract.confirm_delivery(ctx(), report_id=first, by_organisation=BUYER)
    second = report(contract, months(4, 6), by=PARTNER)
    contract.reject_delivery(ctx(), report_id=second, by_organisation=BUYER, reason="No")
    contract.terminate(ctx(), "breach")
    replayed: Contract | None = None
    for event in contract.collect_events():
        stored = mapper.to_domain_event(mapper.to_stored_event(event))
        assert isinstance(stored, Contract.Event)
        replayed = stored.mutate(replayed)
    assert replayed is not None
    assert replayed.__dict__ == contract.__dict__
