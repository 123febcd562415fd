"""The marketplace Application's award commands on the in-memory store: the evaluations started
by the opening (in its save), the lots' outcomes on the tender, stale versions, the award
notice, the contract and its Saved, closure days that lengthen a running standstill, and a
delivery report made again under its id.

Bids are drafted, submitted and opened by the real BidsApp; the standstill is worked by hand in
tests.unit.test_lot_evaluation (published Thu 31 Dec 2026 15:00 UTC: it ends at 00:00 UTC on
Thu 14 January 2027; with Mon 11 January closed, on Fri 15 January).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from marketplace.application import BuyerFacts, MarketplaceApp, TenderPolicy
from marketplace.bids.application import BidsApp
from marketplace.bids.bid import BidStatus
from marketplace.bids.content import SupplierFacts
from marketplace.bids.opening import as_opened
from marketplace.contracts import Delivered, Party, contract_id_for
from marketplace.evaluation.application import Score, StandstillPolicy
from marketplace.evaluation.lot import LotEvaluation, LotStatus, evaluation_id_for
from marketplace.openings import opening_id_for
from marketplace.tender_terms import Period
from marketplace.tenders import Tender, TenderStatus
from marketplace.working_days import WorkingCalendar
from sharedkernel.errors import Conflict, InvalidValue, NotFound, StaleVersion
from sharedkernel.money import Money
from tests.unit.bid_builders import (
    LEAD,
    PARTNER,
    SECOND,
    SIDE_WRITES_STORE,
    SOON,
    THIRD,
    SideWritesSeen,
    Uuid5BidIds,
    at,
    content,
    facts,
    shares,
    tender,
)
from tests.unit.test_lot_evaluation import (
    AWARDED_AT,
    CLOSED_DAY,
    COMMITMENTS,
    CONTRACT_PERIOD,
    LONGER_ENDS,
    PUBLISHED_AT,
    STANDSTILL_ENDS,
    UK_HOLIDAYS,
)
from tests.unit.test_tender_domain import terms

IN_MEMORY = {"PERSISTENCE_MODULE": "eventsourcing.popo"}
MARGIN = timedelta(minutes=10)
ONE_SECOND = timedelta(seconds=1)
VALUE = Money("GBP", 11_000_000)
# Staff enter the closure on Tue 5 January, after the notice was published.
CLOSING_AT = datetime(2027, 1, 5, 10, tzinfo=UTC)


def uk_calendar(closed: Iterable[date], around: datetime) -> WorkingCalendar:
    return WorkingCalendar(frozenset(closed) | UK_HOLIDAYS)


POLICY = TenderPolicy(standstill=StandstillPolicy(calendar=uk_calendar))


def market(env: Mapping[str, str] = IN_MEMORY) -> MarketplaceApp:
    return MarketplaceApp(dict(env), policy=POLICY)


def eligible(members: set[UUID]) -> dict[UUID, SupplierFacts]:
    return {member: facts(member) for member in members}


def open_tender(
    app: MarketplaceApp,
    t: Tender,
    offers: Iterable[tuple[UUID, str, int]],
    partner: UUID | None = None,
) -> dict[UUID, UUID]:
    """Each (lead, lot, price) drafted, filled and submitted through the BidsApp (SECOND's bid
    with `partner` as a 30% partner), then opened and recorded: the lead's bid ids."""
    bids = BidsApp(IN_MEMORY, ids=Uuid5BidIds())
    ids = {}
    for lead, lot_id, price in offers:
        bid_id = bids.draft_bid(at(SOON), t, lot_id, facts(lead)).aggregate_id
        offer = content(t, price_minor=price, commitments=COMMITMENTS)
        bids.change_content(at(SOON), t, bid_id, lead, offer)
        if partner is not None and lead == SECOND:
            bids.form_consortium(
                at(SOON), t, bid_id, lead, shares((lead, 70), (partner, 30)), eligible({partner})
            )
            round_ = bids.bid_for(bid_id, lead).consortium_round
            bids.accept_partnership(at(SOON), t, bid_id, partner, round_)
        bids.submit(at(SOON), t, bid_id, lead, facts(lead))
        ids[lead] = bid_id
    opened = bids.open_bids(at(t.terms.deadline + MARGIN), t, eligible)
    records = [as_opened(b) for b in opened if b.status in {BidStatus.OPENED, BidStatus.INVALID}]
    app.save(t)
    app.record_opening(at(t.terms.deadline + MARGIN), t.id, records)
    return ids


def scores(method: int, experience: int, social: int) -> list[Score]:
    return [
        Score("method statement", method, "moderated"),
        Score("experience", experience, "moderated"),
        Score("social value", social, "moderated"),
    ]


# Lot 1: LEAD at 100,000.00 scored 4, 3, 7 (83.00) and SECOND (with PARTNER) at 120,000.00
# scored 5, 5, 9 (92.33): SECOND's bid wins (worked in test_lot_evaluation.two_scored).
def scored_lot(app: MarketplaceApp, t: Tender, lot_2: bool = False) -> dict[UUID, UUID]:
    offers = [(LEAD, "lot-1", 10_000_000), (SECOND, "lot-1", 12_000_000)]
    if lot_2:
        offers.append((THIRD, "lot-2", 5_000_000))
    ids = open_tender(app, t, offers, partner=PARTNER)
    app.score_bid(at(AWARDED_AT), t.id, "lot-1", ids[LEAD], scores(4, 3, 7))
    app.score_bid(at(AWARDED_AT), t.id, "lot-1", ids[SECOND], scores(5, 5, 9))
    return ids


def award(app: MarketplaceApp, t: Tender) -> None:
    members = {m for b in app.lot_evaluation(t.id, "lot-1").bids.values() for m in b.members}
    app.award_lot(at(AWARDED_AT), t.id, "lot-1", eligible(members))


def published(app: MarketplaceApp, t: Tender) -> dict[UUID, UUID]:
    ids = scored_lot(app, t)
    award(app, t)
    app.publish_award_notice(at(PUBLISHED_AT), t.id, "lot-1", lambda e: True)
    return ids


def lot_1(app: MarketplaceApp, t: Tender) -> LotEvaluation:
    return app.lot_evaluation(t.id, "lot-1")


def written(app: MarketplaceApp) -> int | None:
    return app.recorder.max_notification_id()


# Opening -------------------------------------------------------------------------------------


def test_the_opening_starts_every_lots_evaluation_in_its_own_save() -> None:
    app = market(SIDE_WRITES_STORE)
    store = app.recorder
    assert isinstance(store, SideWritesSeen)
    t = tender()
    ids = open_tender(app, t, [(LEAD, "lot-1", 10_000_000), (SECOND, "lot-1", 12_000_000)])
    saved_together, _ = store.inserts[-1]
    assert set(saved_together) == {
        opening_id_for(t.id),
        evaluation_id_for(t.id, "lot-1"),
        evaluation_id_for(t.id, "lot-2"),
        t.id,
    }
    first = lot_1(app, t)
    assert first.status is LotStatus.EVALUATING
    assert set(first.bids) == {ids[LEAD], ids[SECOND]}
    assert first.bids[ids[SECOND]].price == Money("GBP", 12_000_000)
    assert first.bids[ids[SECOND]].commitments == COMMITMENTS
    assert app.lot_evaluation(t.id, "lot-2").status is LotStatus.UNSUCCESSFUL
    recorded = app.tender(t.id)
    assert recorded.lot_outcomes == {"lot-2": "unsuccessful"}
    assert recorded.status is TenderStatus.ACTIVE


def test_a_tender_without_a_valid_bid_is_unsuccessful_at_opening() -> None:
    app = market()
    t = tender()
    open_tender(app, t, [])
    assert app.tender(t.id).lot_outcomes == {"lot-1": "unsuccessful", "lot-2": "unsuccessful"}
    assert app.tender(t.id).status is TenderStatus.UNSUCCESSFUL
    assert app.lot_evaluation(t.id, "lot-1").status is LotStatus.UNSUCCESSFUL


def test_an_unopened_lot_has_no_evaluation() -> None:
    app = market()
    t = tender()
    app.save(t)
    with pytest.raises(NotFound):
        app.lot_evaluation(t.id, "lot-1")


# Deciding the lots -----------------------------------------------------------------------------


def test_an_awarded_lot_is_recorded_on_the_tender_with_its_notice_which_completes_it() -> None:
    app = market()
    t = tender()
    ids = scored_lot(app, t, lot_2=True)
    version = lot_1(app, t).version
    award_members = {LEAD, SECOND, PARTNER}
    result = app.award_lot(
        at(AWARDED_AT), t.id, "lot-1", eligible(award_members), expected_version=version
    )
    assert (result.aggregate_id, result.version) == (evaluation_id_for(t.id, "lot-1"), version + 1)
    decision = lot_1(app, t).decision
    assert decision is not None
    assert decision.winner == ids[SECOND]
    # Told to the bidders (their summaries), not yet to the public: the tender says nothing.
    assert app.tender(t.id).lot_outcomes == {}

    app.decline_to_award(at(AWARDED_AT), t.id, "lot-2", "The budget for the south was cut")
    assert app.lot_evaluation(t.id, "lot-2").status is LotStatus.NOT_AWARDED
    assert app.tender(t.id).lot_outcomes == {"lot-2": "not_awarded"}
    assert app.tender(t.id).status is TenderStatus.ACTIVE

    app.publish_award_notice(at(PUBLISHED_AT), t.id, "lot-1", lambda e: True)
    assert app.tender(t.id).lot_outcomes == {"lot-1": "awarded", "lot-2": "not_awarded"}
    assert app.tender(t.id).status is TenderStatus.COMPLETE


def test_a_tender_with_no_lot_awarded_ends_unsuccessful() -> None:
    app = market()
    t = tender()
    scored_lot(app, t)
    app.decline_to_award(at(AWARDED_AT), t.id, "lot-1", "Every bid is over the budget")
    assert lot_1(app, t).status is LotStatus.NOT_AWARDED
    assert app.tender(t.id).lot_outcomes == {"lot-1": "not_awarded", "lot-2": "unsuccessful"}
    assert app.tender(t.id).status is TenderStatus.UNSUCCESSFUL


def test_once_its_bids_are_opened_a_tender_is_decided_lot_by_lot_never_ended_whole() -> None:
    app = market()
    t = tender()
    scored_lot(app, t, lot_2=True)  # lot 2 still being evaluated: the tender is active
    app.award_lot(at(AWARDED_AT), t.id, "lot-1", eligible({LEAD, SECOND, PARTNER}))
    before = written(app)
    with pytest.raises(Conflict, match="each lot is decided by its evaluation"):
        app.cancel_tender(at(AWARDED_AT), t.id, "Changed our minds")
    with pytest.raises(Conflict, match="each lot is decided by its evaluation"):
        app.close_unsuccessful(at(AWARDED_AT), t.id, "Nothing suitable")
    # Nor are its rules changed once the prices are known (eligibility is checked at award).
    council = BuyerFacts("public_body")
    with pytest.raises(Conflict, match="each lot is decided by its evaluation"):
        app.amend_tender(at(AWARDED_AT), t.id, terms(deadline_days=60), "Wider regions", council)
    assert written(app) == before
    assert app.tender(t.id).bids_opened is True


def test_a_tender_closed_after_its_deadline_but_before_opening_is_never_opened() -> None:
    app = market()
    t = tender()
    app.save(t)
    app.close_unsuccessful(at(t.terms.deadline), t.id, "Nothing came in")
    closed = app.tender(t.id)
    assert closed.ended_unopened
    with pytest.raises(Conflict, match="never opened"):
        BidsApp(IN_MEMORY, ids=Uuid5BidIds()).open_bids(
            at(t.terms.deadline + MARGIN), closed, eligible
        )


def test_a_refused_award_changes_neither_the_lot_nor_the_tender() -> None:
    app = market()
    t = tender()
    ids = open_tender(app, t, [(LEAD, "lot-1", 10_000_000), (SECOND, "lot-1", 12_000_000)])
    app.score_bid(at(AWARDED_AT), t.id, "lot-1", ids[LEAD], scores(4, 3, 7))
    before = written(app)
    with pytest.raises(Conflict, match="not scored"):
        app.award_lot(at(AWARDED_AT), t.id, "lot-1", eligible({LEAD, SECOND}))
    assert written(app) == before
    assert app.tender(t.id).lot_outcomes == {"lot-2": "unsuccessful"}


def test_a_stale_expected_version_is_refused_and_writes_nothing() -> None:
    app = market()
    t = tender()
    ids = scored_lot(app, t)
    stale = lot_1(app, t).version - 1
    before = written(app)
    with pytest.raises(StaleVersion):
        app.score_bid(
            at(AWARDED_AT), t.id, "lot-1", ids[LEAD], scores(1, 1, 1), expected_version=stale
        )
    with pytest.raises(StaleVersion):
        app.award_lot(
            at(AWARDED_AT),
            t.id,
            "lot-1",
            eligible({LEAD, SECOND, PARTNER}),
            expected_version=stale,
        )
    with pytest.raises(StaleVersion):
        app.decline_to_award(at(AWARDED_AT), t.id, "lot-1", "No", expected_version=stale)
    assert written(app) == before
    assert lot_1(app, t).status is LotStatus.EVALUATING
    assert lot_1(app, t).scores[ids[LEAD]]["experience"].score == 3


def test_the_low_price_procedure_through_the_app() -> None:
    # LEAD 100,000 and THIRD 60,000 in lot 1: 60,000 is below 100,000 * 0.8.
    app = market()
    t = tender()
    ids = open_tender(app, t, [(LEAD, "lot-1", 10_000_000), (THIRD, "lot-1", 6_000_000)])
    low = ids[THIRD]
    app.query_low_price(at(AWARDED_AT), t.id, "lot-1", low)
    app.record_low_price_explanation(at(AWARDED_AT), t.id, "lot-1", low, "Below the wage")
    app.decide_low_price(at(AWARDED_AT), t.id, "lot-1", low, False, "Not sustainable")
    assert lot_1(app, t).excluded == {low}
    app.score_bid(at(AWARDED_AT), t.id, "lot-1", ids[LEAD], scores(4, 3, 7))
    app.award_lot(at(AWARDED_AT), t.id, "lot-1", eligible({LEAD, THIRD}))
    decision = lot_1(app, t).decision
    assert decision is not None
    assert decision.winner == ids[LEAD]


# The notice and the contract ------------------------------------------------------------------


def test_the_notice_waits_for_the_summaries_and_then_starts_the_standstill() -> None:
    app = market()
    t = tender()
    scored_lot(app, t)
    award(app, t)
    asked: list[LotEvaluation] = []

    def not_yet(evaluation: LotEvaluation) -> bool:
        asked.append(evaluation)
        return False

    with pytest.raises(Conflict, match="assessment summary"):
        app.publish_award_notice(at(PUBLISHED_AT), t.id, "lot-1", not_yet)
    assert [e.id for e in asked] == [evaluation_id_for(t.id, "lot-1")]
    app.publish_award_notice(at(PUBLISHED_AT), t.id, "lot-1", lambda e: True)
    assert lot_1(app, t).notice_published_at == PUBLISHED_AT
    assert lot_1(app, t).standstill_ends == STANDSTILL_ENDS


def test_signing_answers_the_contracts_saved_and_the_lot_is_contracted() -> None:
    app = market()
    t = tender()
    ids = published(app, t)
    with pytest.raises(Conflict, match="standstill"):
        app.sign_contract(at(STANDSTILL_ENDS - ONE_SECOND), t.id, "lot-1", VALUE, CONTRACT_PERIOD)
    result = app.sign_contract(at(STANDSTILL_ENDS), t.id, "lot-1", VALUE, CONTRACT_PERIOD)
    contract = app.contract(result.aggregate_id)
    assert result.aggregate_id == contract_id_for(t.id, "lot-1")
    assert result.version == contract.version == 1
    assert result.position is not None
    assert contract.bid_id == ids[SECOND]
    assert contract.parties == (Party(SECOND, 70), Party(PARTNER, 30))
    assert contract.commitments == COMMITMENTS
    assert contract.value == VALUE
    assert lot_1(app, t).status is LotStatus.CONTRACTED
    assert lot_1(app, t).contract_id == contract.id
    with pytest.raises(Conflict):
        app.sign_contract(at(STANDSTILL_ENDS), t.id, "lot-1", VALUE, CONTRACT_PERIOD)


def test_a_stale_version_does_not_sign() -> None:
    app = market()
    t = tender()
    published(app, t)
    stale = lot_1(app, t).version - 1
    with pytest.raises(StaleVersion):
        app.sign_contract(
            at(STANDSTILL_ENDS), t.id, "lot-1", VALUE, CONTRACT_PERIOD, expected_version=stale
        )
    with pytest.raises(NotFound):
        app.contract(contract_id_for(t.id, "lot-1"))


def test_a_day_closed_after_the_notice_lengthens_the_standstill() -> None:
    app = market()
    t = tender()
    published(app, t)
    app.close_day(at(CLOSING_AT), CLOSED_DAY, "Office move")
    with pytest.raises(Conflict, match="standstill"):
        app.sign_contract(at(STANDSTILL_ENDS), t.id, "lot-1", VALUE, CONTRACT_PERIOD)
    with pytest.raises(Conflict, match="standstill"):
        app.sign_contract(at(LONGER_ENDS - ONE_SECOND), t.id, "lot-1", VALUE, CONTRACT_PERIOD)
    app.sign_contract(at(LONGER_ENDS), t.id, "lot-1", VALUE, CONTRACT_PERIOD)
    assert lot_1(app, t).status is LotStatus.CONTRACTED


# Closure days ---------------------------------------------------------------------------------


def test_staff_close_and_reopen_days_through_the_app() -> None:
    app = market()
    assert app.closure_days() is None
    with pytest.raises(NotFound):
        app.reopen_day(at(CLOSING_AT), CLOSED_DAY)
    first = app.close_day(at(CLOSING_AT), CLOSED_DAY, "Office move")
    app.close_day(at(CLOSING_AT), date(2027, 1, 12), "Office move, day two")
    closures = app.closure_days()
    assert closures is not None
    assert first.aggregate_id == closures.id
    assert closures.days == {CLOSED_DAY, date(2027, 1, 12)}
    assert closures.reasons[CLOSED_DAY] == "Office move"
    assert app.working_calendar(CLOSING_AT).non_working == UK_HOLIDAYS | closures.days
    with pytest.raises(Conflict, match="already closed"):
        app.close_day(at(CLOSING_AT), CLOSED_DAY, "Again")
    with pytest.raises(InvalidValue) as weekend:
        app.close_day(at(CLOSING_AT), date(2027, 1, 9), "A Saturday")
    assert weekend.value.field == "day"
    with pytest.raises(InvalidValue) as past:
        app.close_day(at(CLOSING_AT), date(2027, 1, 4), "Yesterday")
    assert past.value.field == "day"
    with pytest.raises(InvalidValue) as blank:
        app.close_day(at(CLOSING_AT), date(2027, 1, 13), "  ")
    assert blank.value.field == "reason"

    app.reopen_day(at(CLOSING_AT), date(2027, 1, 12))
    closures = app.closure_days()
    assert closures is not None
    assert closures.days == {CLOSED_DAY}
    with pytest.raises(NotFound):
        app.reopen_day(at(CLOSING_AT), date(2027, 1, 12))
    with pytest.raises(InvalidValue) as today:
        app.reopen_day(at(datetime(2027, 1, 11, 9, tzinfo=UTC)), CLOSED_DAY)
    assert today.value.field == "day"


# Delivery reports -----------------------------------------------------------------------------

REPORTED_AT = datetime(2027, 3, 2, 9, tzinfo=UTC)
FEBRUARY = Period(datetime(2027, 2, 1, tzinfo=UTC), datetime(2027, 3, 1, tzinfo=UTC))


def signed(app: MarketplaceApp, t: Tender) -> UUID:
    published(app, t)
    return app.sign_contract(
        at(STANDSTILL_ENDS), t.id, "lot-1", VALUE, CONTRACT_PERIOD
    ).aggregate_id


def test_a_delivery_report_made_again_under_its_id_answers_the_first() -> None:
    app = market()
    t = tender()
    contract_id = signed(app, t)
    report_id = uuid4()
    delivered = [Delivered("local_jobs", 2)]
    first = app.report_delivery(
        at(REPORTED_AT), contract_id, report_id, SECOND, FEBRUARY, delivered, "Two hires"
    )
    assert first.position is not None
    before = written(app)
    again = app.report_delivery(
        at(REPORTED_AT + timedelta(minutes=1)),
        contract_id,
        report_id,
        SECOND,
        FEBRUARY,
        delivered,
        "Two hires",
    )
    assert (again.aggregate_id, again.version, again.position) == (
        first.aggregate_id,
        first.version,
        None,
    )
    assert written(app) == before
    assert len(app.contract(contract_id).reports) == 1


def test_another_report_under_a_used_id_is_refused() -> None:
    app = market()
    t = tender()
    contract_id = signed(app, t)
    report_id = uuid4()
    delivered = [Delivered("local_jobs", 2)]
    app.report_delivery(at(REPORTED_AT), contract_id, report_id, SECOND, FEBRUARY, delivered, "")
    before = written(app)
    january = Period(datetime(2027, 2, 1, tzinfo=UTC), datetime(2027, 2, 15, tzinfo=UTC))
    with pytest.raises(Conflict, match="already made"):
        app.report_delivery(at(REPORTED_AT), contract_id, report_id, SECOND, january, delivered, "")
    with pytest.raises(Conflict, match="already made"):
        app.report_delivery(
            at(REPORTED_AT), contract_id, report_id, PARTNER, FEBRUARY, delivered, ""
        )
    other_figures = [Delivered("apprenticeships", 9)]
    with pytest.raises(Conflict, match="already made"):
        app.report_delivery(
            at(REPORTED_AT), contract_id, report_id, SECOND, FEBRUARY, other_figures, ""
        )
    with pytest.raises(Conflict, match="already made"):
        app.report_delivery(
            at(REPORTED_AT), contract_id, report_id, SECOND, FEBRUARY, delivered, "Nine"
        )
    assert written(app) == before
    (report,) = app.contract(contract_id).reports
    assert (report.reporter_id, report.period) == (SECOND, FEBRUARY)
