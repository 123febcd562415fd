"""A lot's evaluation, pure domain: started from the opened bids, moderated scores, the ranking
(worked by hand), the abnormally low price procedure, the award with eligibility checked again,
the decision not to award, the assessment summaries, the award notice and its standstill (worked
by hand on a calendar with known bank holidays), the contract, and replay from the events.

The tender's rules (tests.unit.test_tender_domain.evaluation()): price 40 (computed), "method
statement" 30 on 0-5, "experience" 20 on 0-5, "social value" 10 on 0-10; tie-break highest
quality; a bid more than 20% below the mean of the others' prices is abnormally low.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import DatetimeAsISO, JSONTranscoder, Mapper, UUIDAsHex

from marketplace.bids.content import Commitment, SupplierFacts
from marketplace.contracts import ContractStatus, Party, contract_id_for
from marketplace.evaluation.lot import (
    MAX_JUSTIFICATION,
    InvalidBid,
    LotEvaluation,
    LotStatus,
    OpenedBid,
    evaluation_id_for,
)
from marketplace.tender_terms import Period, TenderTerms
from marketplace.working_days import WorkingCalendar
from sharedkernel.errors import Conflict, InvalidValue, NotFound
from sharedkernel.money import Money
from tests.unit.bid_builders import (
    BUYER,
    LEAD,
    OUTSIDER,
    PARTNER,
    SECOND,
    THIRD,
    at,
    facts,
    shares,
)
from tests.unit.test_tender_domain import evaluation, terms

TENDER_ID = UUID("00000000-0000-4000-8000-0000000000f1")
BID_A = UUID("00000000-0000-4000-8000-0000000000a1")
BID_B = UUID("00000000-0000-4000-8000-0000000000a2")
BID_C = UUID("00000000-0000-4000-8000-0000000000a3")
UNKNOWN_BID = UUID("00000000-0000-4000-8000-0000000000a9")
RULES = evaluation()
TERMS = terms()  # members only, in TLC4, no quality mark required
SUBMITTED = datetime(2026, 12, 10, 9, tzinfo=UTC)
# The deadline is 31 Dec 2026 09:00 UTC; the bids are opened an hour after it.
OPENED_AT = datetime(2026, 12, 31, 10, tzinfo=UTC)
AWARDED_AT = datetime(2026, 12, 31, 12, tzinfo=UTC)
PUBLISHED_AT = datetime(2026, 12, 31, 15, tzinfo=UTC)  # a Thursday; London is on GMT
# The union of the UK's bank holidays around it: Christmas, the Boxing Day substitute, New Year's
# Day and Scotland's substitute for 2 January.
UK_HOLIDAYS = frozenset(
    {date(2026, 12, 25), date(2026, 12, 28), date(2027, 1, 1), date(2027, 1, 4)}
)
CALENDAR = WorkingCalendar(UK_HOLIDAYS)
# 8 working days beginning with Thu 31 Dec: Thu 31 (1), [Fri 1 Jan holiday, weekend, Mon 4
# Scotland's holiday], Tue 5 (2), Wed 6 (3), Thu 7 (4), Fri 8 (5), [weekend], Mon 11 (6),
# Tue 12 (7), Wed 13 (8): the standstill ends at midnight at the end of Wed 13 January, London
# time, which in winter is 00:00 UTC on Thu 14 January.
STANDSTILL_ENDS = datetime(2027, 1, 14, tzinfo=UTC)
# Closing Mon 11 January moves the 8th working day to Thu 14: the end to 00:00 on Fri 15.
CLOSED_DAY = date(2027, 1, 11)
LONGER_ENDS = datetime(2027, 1, 15, tzinfo=UTC)
CONTRACT_PERIOD = Period(datetime(2027, 2, 1, tzinfo=UTC), datetime(2028, 2, 1, tzinfo=UTC))
COMMITMENTS = (
    Commitment("local_jobs", 3, "jobs"),
    Commitment("apprenticeships", 1, "apprenticeships"),
)


def opened(
    bid_id: UUID,
    pounds: int,
    *members: tuple[UUID, int],
    minutes: int = 0,
    commitments: tuple[Commitment, ...] = (),
) -> OpenedBid:
    return OpenedBid(
        bid_id=bid_id,
        shares=shares(*members),
        price=Money("GBP", pounds * 100),
        commitments=commitments,
        submitted_at=SUBMITTED + timedelta(minutes=minutes),
    )


def started(*bids: OpenedBid) -> LotEvaluation:
    return LotEvaluation.start(at(OPENED_AT), TENDER_ID, "lot-1", BUYER, RULES, bids)


def score(
    lot: LotEvaluation, bid_id: UUID, method: int, experience: int, social: int
) -> LotEvaluation:
    for criterion, given in (
        ("method statement", method),
        ("experience", experience),
        ("social value", social),
    ):
        lot.score(at(OPENED_AT), bid_id, criterion, given, f"{criterion}: {given} for {bid_id}")
    return lot


def everyone_eligible(lot: LotEvaluation) -> dict[UUID, SupplierFacts]:
    return {member: facts(member) for bid in lot.bids.values() for member in bid.members}


def names(lot: LotEvaluation) -> list[str]:
    return [type(e).__name__ for e in lot.collect_events()]


# Two bids, both fully scored: A (LEAD, 100,000.00) and B (SECOND, 120,000.00); neither is
# abnormally low (A: 100,000 against 120,000 * 0.8 = 96,000; B is dearer).
# A: price 40 (lowest); method 4/5*30 = 24; experience 3/5*20 = 12; social 7/10*10 = 7 -> 83.00
# B: price 100/120*40 = 33.333..; method 5/5*30 = 30; experience 5/5*20 = 20; social 9/10*10 = 9
#    -> 92.333.. -> 92.33. B ranks first.
def two_scored(
    b_members: tuple[tuple[UUID, int], ...] = ((SECOND, 100),),
    commitments: tuple[Commitment, ...] = COMMITMENTS,
) -> LotEvaluation:
    lot = started(
        opened(BID_A, 100_000, (LEAD, 100)),
        opened(BID_B, 120_000, *b_members, commitments=commitments),
    )
    score(lot, BID_A, 4, 3, 7)
    return score(lot, BID_B, 5, 5, 9)


def awarded(
    b_members: tuple[tuple[UUID, int], ...] = ((SECOND, 100),),
) -> LotEvaluation:
    lot = two_scored(b_members)
    lot.award(at(AWARDED_AT), TERMS, everyone_eligible(lot))
    return lot


def published() -> LotEvaluation:
    lot = awarded(((SECOND, 70), (PARTNER, 30)))
    lot.publish_award_notice(at(PUBLISHED_AT), True, 8, CALENDAR)
    return lot


# Starting ------------------------------------------------------------------------------------


def test_a_lot_with_bids_starts_evaluating_them() -> None:
    bid = opened(BID_A, 100_000, (LEAD, 60), (PARTNER, 40), commitments=COMMITMENTS)
    lot = started(bid)
    assert lot.id == evaluation_id_for(TENDER_ID, "lot-1")
    assert (lot.tender_id, lot.lot_id, lot.buyer_id) == (TENDER_ID, "lot-1", BUYER)
    assert lot.status is LotStatus.EVALUATING
    assert lot.bids == {BID_A: bid}
    assert lot.rules == RULES
    assert lot.bid(BID_A).lead_id == LEAD
    assert lot.bid_of(PARTNER) == bid
    assert lot.bid_of(OUTSIDER) is None
    assert lot.unscored() == {BID_A: ["method statement", "experience", "social value"]}
    assert lot.ranking() == []
    assert lot.decision is None
    assert lot.decision is None
    assert lot.summary_recipients == [LEAD, PARTNER]
    assert names(lot) == ["Started"]


def test_a_lot_without_a_valid_bid_is_unsuccessful_at_once() -> None:
    lot = started()
    assert lot.status is LotStatus.UNSUCCESSFUL
    assert lot.bids == {}
    assert names(lot) == ["Started", "Unsuccessful"]
    with pytest.raises(Conflict):
        lot.decline_to_award(at(AWARDED_AT), "nothing to award")


def test_each_lot_has_its_own_evaluation_id() -> None:
    assert evaluation_id_for(TENDER_ID, "lot-1") == evaluation_id_for(TENDER_ID, "lot-1")
    assert evaluation_id_for(TENDER_ID, "lot-1") != evaluation_id_for(TENDER_ID, "lot-2")


def test_an_opened_bid_alone_holds_the_whole_share() -> None:
    record = {
        "bid_id": str(BID_A),
        "lead_id": str(LEAD),
        "shares": [],
        "submitted_at": SUBMITTED.isoformat(),
        "content": {
            "price_minor": 9_000_000,
            "currency": "GBP",
            "answers": {},
            "commitments": [c.as_data() for c in COMMITMENTS],
        },
    }
    bid = OpenedBid.from_opening(record)
    assert bid.shares == shares((LEAD, 100))
    assert bid.price == Money("GBP", 9_000_000)
    assert bid.commitments == COMMITMENTS
    assert bid.submitted_at == SUBMITTED
    assert OpenedBid.from_data(bid.as_data()) == bid


# Scoring -------------------------------------------------------------------------------------


def test_a_score_is_recorded_with_its_justification_trimmed() -> None:
    lot = started(opened(BID_A, 100_000, (LEAD, 100)))
    lot.score(at(OPENED_AT), BID_A, "experience", 4, "  Ten years of parks work  ")
    scored = lot.scores[BID_A]["experience"]
    assert (scored.score, scored.justification) == (4, "Ten years of parks work")
    assert lot.unscored() == {BID_A: ["method statement", "social value"]}


@pytest.mark.parametrize(
    ("criterion", "given", "justification", "field"),
    [
        ("price", 3, "why", "criterion"),  # price is computed, never scored
        ("Experience", 3, "why", "criterion"),  # names are exact
        ("quality", 3, "why", "criterion"),
        ("experience", 6, "why", "score"),  # experience is on 0-5
        ("social value", 11, "why", "score"),  # social value is on 0-10
        ("experience", -1, "why", "score"),
        ("experience", True, "why", "score"),  # a bool is not a number
        ("experience", 2.0, "why", "score"),
        ("experience", 3, "", "justification"),
        ("experience", 3, "   \n ", "justification"),
        ("experience", 3, "x" * (MAX_JUSTIFICATION + 1), "justification"),
    ],
)
def test_a_bad_score_is_refused_naming_its_field_and_changes_nothing(
    criterion: str, given: Any, justification: str, field: str
) -> None:
    lot = started(opened(BID_A, 100_000, (LEAD, 100)))
    lot.collect_events()
    with pytest.raises(InvalidValue) as refused:
        lot.score(at(OPENED_AT), BID_A, criterion, given, justification)
    assert refused.value.field == field
    assert lot.collect_events() == []
    assert lot.scores[BID_A] == {}


def test_the_scale_ends_and_the_longest_justification_are_accepted() -> None:
    lot = started(opened(BID_A, 100_000, (LEAD, 100)))
    lot.score(at(OPENED_AT), BID_A, "experience", 0, "x" * MAX_JUSTIFICATION)
    lot.score(at(OPENED_AT), BID_A, "method statement", 5, "top")
    lot.score(at(OPENED_AT), BID_A, "social value", 10, "top")
    assert {n: s.score for n, s in lot.scores[BID_A].items()} == {
        "experience": 0,
        "method statement": 5,
        "social value": 10,
    }


def test_scoring_again_replaces_the_score_and_its_justification() -> None:
    lot = started(opened(BID_A, 100_000, (LEAD, 100)))
    lot.score(at(OPENED_AT), BID_A, "experience", 2, "first reading")
    lot.score(at(OPENED_AT), BID_A, "experience", 4, "after moderation")
    assert lot.scores[BID_A]["experience"].score == 4
    assert lot.scores[BID_A]["experience"].justification == "after moderation"
    assert len(lot.scores[BID_A]) == 1


def test_a_bid_not_in_the_lot_is_not_found() -> None:
    lot = started(opened(BID_A, 100_000, (LEAD, 100)))
    with pytest.raises(NotFound):
        lot.score(at(OPENED_AT), UNKNOWN_BID, "experience", 3, "why")


def test_scoring_after_the_decision_is_refused() -> None:
    lot = awarded()
    with pytest.raises(Conflict):
        lot.score(at(AWARDED_AT), BID_A, "experience", 5, "second thoughts")
    declined = two_scored()
    declined.decline_to_award(at(AWARDED_AT), "the budget was withdrawn")
    with pytest.raises(Conflict):
        declined.score(at(AWARDED_AT), BID_A, "experience", 5, "second thoughts")


# Ranking -------------------------------------------------------------------------------------


def test_the_ranking_is_worked_by_hand() -> None:
    # See two_scored: B 92.33 first, A 83.00 second.
    lot = two_scored()
    ranking = lot.ranking()
    assert [(r.bid_id, r.total, r.rank) for r in ranking] == [
        (BID_B, Decimal("92.33"), 1),
        (BID_A, Decimal("83.00"), 2),
    ]
    b = ranking[0].as_data()
    assert (b["price_points"], b["quality_points"], b["social_value_points"]) == (
        "33.33",
        "50.00",
        "9.00",
    )
    a = ranking[1].as_data()
    assert (a["price_points"], a["quality_points"], a["social_value_points"]) == (
        "40.00",
        "36.00",
        "7.00",
    )


def test_only_fully_scored_bids_rank() -> None:
    lot = started(opened(BID_A, 100_000, (LEAD, 100)), opened(BID_B, 120_000, (SECOND, 100)))
    score(lot, BID_A, 4, 3, 7)
    lot.score(at(OPENED_AT), BID_B, "experience", 5, "why")
    assert [r.bid_id for r in lot.ranking()] == [BID_A]
    assert lot.unscored() == {BID_B: ["method statement", "social value"]}


# Abnormally low prices -----------------------------------------------------------------------

# Three bids: A 100,000 (LEAD), B 120,000 (SECOND), C 60,000 (THIRD). At 20%:
# C against the mean of A and B, 110,000: threshold 88,000, so 60,000 is flagged.
# A against (120,000 + 60,000) / 2 = 90,000: threshold 72,000; not. B: against 80,000; not.
# Scores: A 4, 3, 7 (quality 24 + 12 = 36, social 7); B 5, 5, 9 (50, 9); C 3, 2, 5 (18 + 8 = 26,
# social 5).
# With C in contention the lowest price is C's 60,000:
#   A 60/100*40 = 24 + 36 + 7 = 67.00; B 60/120*40 = 20 + 50 + 9 = 79.00; C 40 + 26 + 5 = 71.00
#   -> B, C, A.
# With C excluded the lowest price is A's 100,000:
#   A 40 + 36 + 7 = 83.00; B 100/120*40 = 33.333.. + 50 + 9 = 92.33 -> B, A.


def three_scored() -> LotEvaluation:
    lot = started(
        opened(BID_A, 100_000, (LEAD, 100)),
        opened(BID_B, 120_000, (SECOND, 100)),
        opened(BID_C, 60_000, (THIRD, 100)),
    )
    score(lot, BID_A, 4, 3, 7)
    score(lot, BID_B, 5, 5, 9)
    return score(lot, BID_C, 3, 2, 5)


def test_a_price_far_below_the_others_mean_is_flagged() -> None:
    lot = three_scored()
    assert lot.flagged == {BID_C}
    assert lot.low_prices == {}


def test_a_price_is_queried_only_when_flagged_and_only_once() -> None:
    lot = three_scored()
    with pytest.raises(Conflict, match="not abnormally low"):
        lot.query_low_price(at(OPENED_AT), BID_A)
    lot.query_low_price(at(OPENED_AT), BID_C)
    assert lot.low_prices[BID_C].queried_at == OPENED_AT
    with pytest.raises(Conflict, match="asked already"):
        lot.query_low_price(at(OPENED_AT), BID_C)
    with pytest.raises(NotFound):
        lot.query_low_price(at(OPENED_AT), UNKNOWN_BID)


def test_an_explanation_is_recorded_only_after_the_query() -> None:
    lot = three_scored()
    with pytest.raises(Conflict, match="not been asked"):
        lot.record_explanation(at(OPENED_AT), BID_C, "We own the mowers outright")
    lot.query_low_price(at(OPENED_AT), BID_C)
    with pytest.raises(InvalidValue) as refused:
        lot.record_explanation(at(OPENED_AT), BID_C, "   ")
    assert refused.value.field == "explanation"
    lot.record_explanation(at(OPENED_AT), BID_C, " We own the mowers outright ")
    assert lot.low_prices[BID_C].explanation == "We own the mowers outright"


def test_an_exclusion_needs_the_query_and_the_explanation_first() -> None:
    lot = three_scored()
    with pytest.raises(Conflict, match="only after"):
        lot.decide_low_price(at(OPENED_AT), BID_C, False, "Unsustainable")
    lot.query_low_price(at(OPENED_AT), BID_C)
    with pytest.raises(Conflict, match="only after"):
        lot.decide_low_price(at(OPENED_AT), BID_C, False, "Unsustainable")
    lot.record_explanation(at(OPENED_AT), BID_C, "We pay below the living wage")
    with pytest.raises(InvalidValue) as refused:
        lot.decide_low_price(at(OPENED_AT), BID_C, False, "")
    assert refused.value.field == "reason"
    lot.decide_low_price(at(OPENED_AT), BID_C, False, "Below the living wage")
    assert lot.excluded == {BID_C}
    assert lot.low_prices[BID_C].accepted is False
    assert lot.low_prices[BID_C].reason == "Below the living wage"
    with pytest.raises(Conflict, match="excluded"):
        lot.decide_low_price(at(OPENED_AT), BID_C, True, "Changed our mind")
    with pytest.raises(Conflict, match="decided on already"):
        lot.record_explanation(at(OPENED_AT), BID_C, "More")


def test_a_flagged_price_is_accepted_with_a_reason_without_a_query() -> None:
    lot = three_scored()
    with pytest.raises(InvalidValue) as refused:
        lot.decide_low_price(at(OPENED_AT), BID_C, True, " ")
    assert refused.value.field == "reason"
    lot.decide_low_price(at(OPENED_AT), BID_C, True, "In line with the market this year")
    low = lot.low_prices[BID_C]
    assert (low.queried_at, low.accepted, low.reason) == (
        None,
        True,
        "In line with the market this year",
    )
    assert lot.excluded == frozenset()
    with pytest.raises(Conflict, match="decided on already"):
        lot.decide_low_price(at(OPENED_AT), BID_C, True, "Again")


def test_a_price_not_flagged_is_not_decided_on() -> None:
    lot = three_scored()
    with pytest.raises(Conflict, match="not abnormally low"):
        lot.decide_low_price(at(OPENED_AT), BID_A, True, "Fine")


def test_an_accepted_low_price_ranks_and_sets_the_lowest_price() -> None:
    lot = three_scored()
    lot.decide_low_price(at(OPENED_AT), BID_C, True, "Explained by its own fleet")
    ranking = lot.ranking()
    assert [(r.bid_id, r.total) for r in ranking] == [
        (BID_B, Decimal("79.00")),
        (BID_C, Decimal("71.00")),
        (BID_A, Decimal("67.00")),
    ]
    points = {r.bid_id: r.as_data()["price_points"] for r in ranking}
    assert points == {BID_A: "24.00", BID_B: "20.00", BID_C: "40.00"}


def test_an_excluded_bid_neither_ranks_nor_sets_the_lowest_price() -> None:
    lot = three_scored()
    lot.query_low_price(at(OPENED_AT), BID_C)
    lot.record_explanation(at(OPENED_AT), BID_C, "We pay below the living wage")
    lot.decide_low_price(at(OPENED_AT), BID_C, False, "Below the living wage")
    ranking = lot.ranking()
    assert [(r.bid_id, r.total) for r in ranking] == [
        (BID_B, Decimal("92.33")),
        (BID_A, Decimal("83.00")),
    ]
    points = {r.bid_id: r.as_data()["price_points"] for r in ranking}
    assert points == {BID_A: "40.00", BID_B: "33.33"}
    assert BID_C not in lot.unscored()
    with pytest.raises(Conflict, match="excluded"):
        lot.score(at(OPENED_AT), BID_C, "experience", 5, "rescored")
    lot.award(at(AWARDED_AT), TERMS, everyone_eligible(lot))
    assert lot.decision is not None
    assert lot.decision.winner == BID_B


# X 100,000, Y 75,000, Z 30,000. At 20%:
# Z against (100,000 + 75,000) / 2 = 87,500: threshold 70,000: flagged.
# Y against (100,000 + 30,000) / 2 = 65,000: threshold 52,000: not. X: not.
# Once Z is excluded, Y against X's 100,000 alone: threshold 80,000: 75,000 is flagged.
def test_a_bid_flagged_after_anothers_exclusion_is_decided_before_the_award() -> None:
    lot = started(
        opened(BID_A, 100_000, (LEAD, 100)),
        opened(BID_B, 75_000, (SECOND, 100)),
        opened(BID_C, 30_000, (THIRD, 100)),
    )
    for bid_id in (BID_A, BID_B, BID_C):
        score(lot, bid_id, 3, 3, 5)
    assert lot.flagged == {BID_C}
    lot.query_low_price(at(OPENED_AT), BID_C)
    lot.record_explanation(at(OPENED_AT), BID_C, "A loss leader")
    lot.decide_low_price(at(OPENED_AT), BID_C, False, "Not sustainable")
    assert lot.flagged == {BID_B}
    with pytest.raises(Conflict, match=str(BID_B)):
        lot.award(at(AWARDED_AT), TERMS, everyone_eligible(lot))
    lot.decide_low_price(at(OPENED_AT), BID_B, True, "Explained by its depot being local")
    lot.award(at(AWARDED_AT), TERMS, everyone_eligible(lot))
    assert lot.status is LotStatus.AWARDED


# The award -----------------------------------------------------------------------------------


def test_the_award_waits_for_every_score() -> None:
    lot = started(opened(BID_A, 100_000, (LEAD, 100)), opened(BID_B, 120_000, (SECOND, 100)))
    score(lot, BID_A, 4, 3, 7)
    lot.score(at(OPENED_AT), BID_B, "experience", 5, "why")
    with pytest.raises(Conflict, match="method statement, social value"):
        lot.award(at(AWARDED_AT), TERMS, everyone_eligible(lot))
    assert lot.status is LotStatus.EVALUATING


def test_the_award_waits_for_a_flagged_price_to_be_decided() -> None:
    lot = three_scored()
    with pytest.raises(Conflict, match="abnormally low"):
        lot.award(at(AWARDED_AT), TERMS, everyone_eligible(lot))
    lot.query_low_price(at(OPENED_AT), BID_C)
    lot.record_explanation(at(OPENED_AT), BID_C, "Our own fleet")
    with pytest.raises(Conflict, match="abnormally low"):
        lot.award(at(AWARDED_AT), TERMS, everyone_eligible(lot))
    lot.decide_low_price(at(OPENED_AT), BID_C, True, "Explained")
    lot.award(at(AWARDED_AT), TERMS, everyone_eligible(lot))
    assert lot.decision is not None
    assert lot.decision.winner == BID_B  # 79.00, see three_scored


def test_the_lot_is_awarded_to_the_highest_total() -> None:
    lot = two_scored()
    lot.collect_events()
    lot.award(at(AWARDED_AT), TERMS, everyone_eligible(lot))
    assert lot.status is LotStatus.AWARDED
    assert lot.decision is not None
    decision = lot.decision
    assert decision is not None
    assert (decision.winner, decision.reason, decision.passed_over) == (BID_B, None, [])
    assert [(r["bid_id"], r["total"], r["rank"]) for r in decision.results] == [
        (str(BID_B), "92.33", 1),
        (str(BID_A), "83.00", 2),
    ]
    (event,) = lot.collect_events()
    assert isinstance(event, LotEvaluation.Awarded)
    assert decision.version == event.originator_version == lot.version
    with pytest.raises(Conflict):
        lot.award(at(AWARDED_AT), TERMS, everyone_eligible(lot))
    with pytest.raises(Conflict):
        lot.decline_to_award(at(AWARDED_AT), "second thoughts")


@pytest.mark.parametrize(
    ("award_terms", "fallen", "why"),
    [
        (TERMS, facts(SECOND, in_good_standing=False), "not a member in good standing"),
        (
            terms(quality_mark_required=True),
            facts(SECOND, holds_mark=False),
            "does not hold the quality mark",
        ),
        (TERMS, facts(SECOND, regions=("TLD",)), "serves none of the tender's regions"),
        (TERMS, facts(SECOND, registered=False), "is not registered"),
    ],
)
def test_a_top_bid_no_longer_eligible_is_passed_over_with_why(
    award_terms: TenderTerms, fallen: SupplierFacts, why: str
) -> None:
    lot = two_scored()
    lot.award(at(AWARDED_AT), award_terms, everyone_eligible(lot) | {SECOND: fallen})
    decision = lot.decision
    assert decision is not None
    assert decision.winner == BID_A
    (passed,) = decision.passed_over
    assert passed["bid_id"] == str(BID_B)
    assert why in passed["reason"]
    assert str(SECOND) in passed["reason"]


def test_a_consortium_is_passed_over_when_a_partner_no_longer_qualifies() -> None:
    lot = two_scored(b_members=((SECOND, 70), (PARTNER, 30)))
    eligible = everyone_eligible(lot)
    eligible[PARTNER] = facts(PARTNER, in_good_standing=False)
    lot.award(at(AWARDED_AT), TERMS, eligible)
    assert lot.decision is not None
    assert lot.decision.winner == BID_A
    assert str(PARTNER) in lot.decision.passed_over[0]["reason"]


def test_a_member_whose_facts_are_missing_is_taken_as_not_registered() -> None:
    lot = two_scored()
    lot.award(at(AWARDED_AT), TERMS, {LEAD: facts(LEAD)})
    assert lot.decision is not None
    assert lot.decision.winner == BID_A
    assert lot.decision.passed_over == [
        {"bid_id": str(BID_B), "reason": f"organisation {SECOND} is not registered"}
    ]


def test_no_eligible_bid_no_award() -> None:
    lot = two_scored()
    nobody = {
        LEAD: facts(LEAD, in_good_standing=False),
        SECOND: facts(SECOND, in_good_standing=False),
    }
    with pytest.raises(Conflict, match="no bid is eligible"):
        lot.award(at(AWARDED_AT), TERMS, nobody)
    assert lot.status is LotStatus.EVALUATING
    assert lot.decision is None


def test_the_buyer_declines_to_award_with_a_reason() -> None:
    lot = two_scored()
    with pytest.raises(InvalidValue) as refused:
        lot.decline_to_award(at(AWARDED_AT), "  ")
    assert refused.value.field == "reason"
    lot.decline_to_award(at(AWARDED_AT), " The budget was withdrawn ")
    assert lot.status is LotStatus.NOT_AWARDED
    assert lot.decision is not None
    decision = lot.decision
    assert decision is not None
    assert (decision.winner, decision.reason) == (None, "The budget was withdrawn")
    assert [r["bid_id"] for r in decision.results] == [str(BID_B), str(BID_A)]
    summary = lot.summary_for(LEAD)
    assert summary is not None
    assert (summary["outcome"], summary["decision_reason"], summary["winner"]) == (
        "unsuccessful",
        "The budget was withdrawn",
        None,
    )
    with pytest.raises(Conflict):
        lot.publish_award_notice(at(PUBLISHED_AT), True, 8, CALENDAR)


# Assessment summaries ------------------------------------------------------------------------


def test_each_bidder_sees_its_own_scores_and_the_winners_never_a_third_bid() -> None:
    lot = three_scored()
    lot.query_low_price(at(OPENED_AT), BID_C)
    lot.record_explanation(at(OPENED_AT), BID_C, "Below the living wage")
    lot.decide_low_price(at(OPENED_AT), BID_C, False, "Not sustainable")
    assert lot.summary_for(LEAD) is None  # not decided yet
    lot.award(at(AWARDED_AT), TERMS, everyone_eligible(lot))

    loser = lot.summary_for(LEAD)
    assert loser is not None
    assert (loser["bid_id"], loser["outcome"], loser["recipients"]) == (
        str(BID_A),
        "unsuccessful",
        [str(LEAD)],
    )
    assert (loser["tender_id"], loser["lot_id"]) == (str(TENDER_ID), "lot-1")
    assert loser["result"]["total"] == "83.00"
    assert loser["scores"] == [
        {
            "criterion": "method statement",
            "score": 4,
            "scale": 5,
            "weight": 30,
            "justification": f"method statement: 4 for {BID_A}",
        },
        {
            "criterion": "experience",
            "score": 3,
            "scale": 5,
            "weight": 20,
            "justification": f"experience: 3 for {BID_A}",
        },
        {
            "criterion": "social value",
            "score": 7,
            "scale": 10,
            "weight": 10,
            "justification": f"social value: 7 for {BID_A}",
        },
    ]
    winner = loser["winner"]
    assert winner["bid_id"] == str(BID_B)
    assert winner["result"]["total"] == "92.33"
    assert [(s["criterion"], s["score"]) for s in winner["scores"]] == [
        ("method statement", 5),
        ("experience", 5),
        ("social value", 9),
    ]
    assert all("justification" not in s for s in winner["scores"])
    # Nothing of the excluded bid C (its id, its price, its justifications) reaches A.
    assert str(BID_C) not in repr(loser)
    assert "6000000" not in repr(loser)

    excluded = lot.summary_for(THIRD)
    assert excluded is not None
    assert (excluded["outcome"], excluded["excluded_reason"], excluded["result"]) == (
        "excluded",
        "Not sustainable",
        None,
    )
    assert str(BID_A) not in repr(excluded)
    assert excluded["scores"][0]["justification"] == f"method statement: 3 for {BID_C}"

    won = lot.summary_for(SECOND)
    assert won is not None
    assert won["outcome"] == "successful"
    assert won["scores"][0]["justification"] == f"method statement: 5 for {BID_B}"
    assert str(BID_A) not in repr(won)
    assert str(BID_C) not in repr(won)


def test_the_awarded_event_carries_every_bidders_summary_as_summary_for_gives_it() -> None:
    lot = two_scored(b_members=((SECOND, 70), (PARTNER, 30)))
    lot.collect_events()
    lot.award(at(AWARDED_AT), TERMS, everyone_eligible(lot))
    (event,) = lot.collect_events()
    assert isinstance(event, LotEvaluation.Awarded)
    assert event.summaries == [lot.summary_for(LEAD), lot.summary_for(SECOND)]
    assert lot.summary_recipients == [LEAD, SECOND, PARTNER]


def test_an_organisation_that_did_not_bid_gets_no_summary() -> None:
    lot = awarded()
    assert lot.summary_for(OUTSIDER) is None
    assert lot.summary_for(BUYER) is None


def test_a_consortium_partner_gets_its_bids_summary() -> None:
    lot = awarded(((SECOND, 70), (PARTNER, 30)))
    partner = lot.summary_for(PARTNER)
    assert partner is not None
    assert partner == lot.summary_for(SECOND)
    assert partner["bid_id"] == str(BID_B)
    assert partner["recipients"] == [str(SECOND), str(PARTNER)]
    assert partner["outcome"] == "successful"


# The award notice and the standstill ---------------------------------------------------------


def test_the_notice_is_published_only_for_an_awarded_lot() -> None:
    lot = two_scored()
    with pytest.raises(Conflict, match="only an awarded lot"):
        lot.publish_award_notice(at(PUBLISHED_AT), True, 8, CALENDAR)


def test_the_notice_waits_for_every_summary_to_be_sent() -> None:
    lot = awarded()
    with pytest.raises(Conflict, match="assessment summary"):
        lot.publish_award_notice(at(PUBLISHED_AT), False, 8, CALENDAR)
    assert lot.notice_published_at is None


def test_the_standstill_is_eight_working_days_beginning_with_publication() -> None:
    lot = awarded()
    lot.publish_award_notice(at(PUBLISHED_AT), True, 8, CALENDAR)
    assert lot.notice_published_at == PUBLISHED_AT
    assert lot.standstill_ends == STANDSTILL_ENDS
    assert lot.standstill_days == 8
    with pytest.raises(Conflict, match="published already"):
        lot.publish_award_notice(at(PUBLISHED_AT), True, 8, CALENDAR)


def test_a_standstill_shorter_than_eight_working_days_is_refused() -> None:
    lot = awarded()
    with pytest.raises(InvalidValue) as refused:
        lot.publish_award_notice(at(PUBLISHED_AT), True, 7, CALENDAR)
    assert refused.value.field == "standstill_working_days"


def test_a_longer_standstill_by_configuration() -> None:
    # Two more working days after Wed 13 January: Thu 14 (9), Fri 15 (10) -> 00:00 on Sat 16.
    lot = awarded()
    lot.publish_award_notice(at(PUBLISHED_AT), True, 10, CALENDAR)
    assert lot.standstill_ends == datetime(2027, 1, 16, tzinfo=UTC)


def test_the_contract_waits_for_the_notice() -> None:
    lot = awarded(((SECOND, 70), (PARTNER, 30)))
    with pytest.raises(Conflict, match="not published"):
        lot.sign_contract(at(STANDSTILL_ENDS), Money("GBP", 11_000_000), CONTRACT_PERIOD, CALENDAR)


def test_the_contract_is_refused_a_second_before_the_standstill_ends() -> None:
    lot = published()
    assert not lot.standstill_over(STANDSTILL_ENDS - timedelta(seconds=1), CALENDAR)
    with pytest.raises(Conflict, match="standstill"):
        lot.sign_contract(
            at(STANDSTILL_ENDS - timedelta(seconds=1)),
            Money("GBP", 11_000_000),
            CONTRACT_PERIOD,
            CALENDAR,
        )
    assert lot.status is LotStatus.AWARDED


def test_the_contract_is_signed_at_the_end_of_the_standstill_with_the_winning_bid() -> None:
    lot = published()
    assert lot.standstill_over(STANDSTILL_ENDS, CALENDAR)
    contract = lot.sign_contract(
        at(STANDSTILL_ENDS), Money("GBP", 11_000_000), CONTRACT_PERIOD, CALENDAR
    )
    assert contract.id == contract_id_for(TENDER_ID, "lot-1")
    assert (contract.tender_id, contract.lot_id, contract.bid_id, contract.buyer_id) == (
        TENDER_ID,
        "lot-1",
        BID_B,
        BUYER,
    )
    assert contract.parties == (Party(SECOND, 70), Party(PARTNER, 30))
    assert contract.commitments == COMMITMENTS
    assert contract.value == Money("GBP", 11_000_000)
    assert contract.period == CONTRACT_PERIOD
    assert contract.status is ContractStatus.ACTIVE
    assert lot.status is LotStatus.CONTRACTED
    assert lot.contract_id == contract.id
    assert lot.decision is not None
    with pytest.raises(Conflict, match="only an awarded lot"):
        lot.sign_contract(at(STANDSTILL_ENDS), Money("GBP", 1), CONTRACT_PERIOD, CALENDAR)


def test_the_contract_is_in_the_bids_currency() -> None:
    lot = published()
    with pytest.raises(InvalidValue) as refused:
        lot.sign_contract(at(STANDSTILL_ENDS), Money("EUR", 11_000_000), CONTRACT_PERIOD, CALENDAR)
    assert refused.value.field == "currency"
    assert lot.status is LotStatus.AWARDED


def test_a_closure_day_entered_after_publication_lengthens_the_standstill() -> None:
    lot = published()
    closed = WorkingCalendar(UK_HOLIDAYS | {CLOSED_DAY})
    assert lot.standstill_ends == STANDSTILL_ENDS  # as published
    assert not lot.standstill_over(STANDSTILL_ENDS, closed)
    assert not lot.standstill_over(LONGER_ENDS - timedelta(seconds=1), closed)
    assert lot.standstill_over(LONGER_ENDS, closed)
    with pytest.raises(Conflict, match="standstill"):
        lot.sign_contract(at(STANDSTILL_ENDS), Money("GBP", 11_000_000), CONTRACT_PERIOD, closed)
    lot.sign_contract(at(LONGER_ENDS), Money("GBP", 11_000_000), CONTRACT_PERIOD, closed)
    assert lot.status is LotStatus.CONTRACTED


def test_a_calendar_with_fewer_non_working_days_never_shortens_the_standstill() -> None:
    lot = published()
    weekends_only = WorkingCalendar(frozenset())
    assert not lot.standstill_over(STANDSTILL_ENDS - timedelta(seconds=1), weekends_only)


def test_no_standstill_is_over_before_the_notice() -> None:
    lot = awarded()
    assert not lot.standstill_over(STANDSTILL_ENDS + timedelta(days=365), CALENDAR)


# Replay --------------------------------------------------------------------------------------


def full_history() -> tuple[LotEvaluation, list[Any]]:
    lot = started(
        opened(BID_A, 100_000, (LEAD, 100)),
        opened(BID_B, 120_000, (SECOND, 70), (PARTNER, 30), commitments=COMMITMENTS),
        opened(BID_C, 60_000, (THIRD, 100)),
    )
    score(lot, BID_A, 4, 3, 7)
    score(lot, BID_B, 5, 5, 9)
    score(lot, BID_C, 3, 2, 5)
    lot.score(at(OPENED_AT), BID_A, "experience", 2, "moderated down")
    lot.query_low_price(at(OPENED_AT), BID_C)
    lot.record_explanation(at(OPENED_AT), BID_C, "Below the living wage")
    lot.decide_low_price(at(OPENED_AT), BID_C, False, "Not sustainable")
    lot.award(at(AWARDED_AT), TERMS, everyone_eligible(lot) | {SECOND: facts(SECOND)})
    lot.publish_award_notice(at(PUBLISHED_AT), True, 8, CALENDAR)
    lot.sign_contract(at(STANDSTILL_ENDS), Money("GBP", 11_000_000), CONTRACT_PERIOD, CALENDAR)
    return lot, list(lot.collect_events())


def test_a_lot_is_replayed_from_its_events_to_the_same_state() -> None:
    lot, events = full_history()
    assert [type(e).__name__ for e in events] == [
        "Started",
        *["BidScored"] * 10,
        "LowPriceQueried",
        "LowPriceExplained",
        "LowPriceDecided",
        "Awarded",
        "AwardNoticePublished",
        "ContractSigned",
    ]
    replayed: LotEvaluation | None = None
    for event in events:
        replayed = event.mutate(replayed)
    assert replayed is not None
    assert replayed.__dict__ == lot.__dict__
    assert replayed.ranking() == lot.ranking()
    assert replayed.summary_for(LEAD) == lot.summary_for(LEAD)
    assert replayed.status is LotStatus.CONTRACTED


def test_the_events_survive_the_stored_form() -> None:
    """Through the application's JSON transcoding: every attribute is plain data or a UUID."""
    transcoder = JSONTranscoder()
    for transcoding in (UUIDAsHex(), DatetimeAsISO()):
        transcoder.register(transcoding)
    mapper: Mapper[UUID] = Mapper(transcoder=transcoder)
    lot, events = full_history()
    replayed: LotEvaluation | None = None
    for event in events:
        stored = mapper.to_domain_event(mapper.to_stored_event(event))
        assert isinstance(stored, LotEvaluation.Event)
        replayed = stored.mutate(replayed)
    assert replayed is not None
    assert replayed.__dict__ == lot.__dict__


def test_an_unsuccessful_lot_is_replayed_too() -> None:
    lot = started()
    replayed: LotEvaluation | None = None
    for event in lot.collect_events():
        replayed = event.mutate(replayed)
    assert replayed is not None
    assert replayed.__dict__ == lot.__dict__


# A (LEAD) 50,000; B (SECOND) 100,000; C (THIRD) 120,000. A is abnormally low (against the
# others' mean 110,000 less 20%: 88,000) and its price accepted.
# With A: A 40 + 30 + 20 + 10 = 100.00; C 50/120*40 = 16.67 + 4/5*30 = 24 + 3/5*20 = 12
#   + 4/10*10 = 4 -> 56.67; B 50/100*40 = 20 + 18 + 12 + 5 -> 55.00.
# A no longer eligible, so out of contention: B 40 + 35 -> 75.00; C 100/120*40 = 33.33 + 40
#   -> 73.33. B wins: a bid passed over sets no lowest price.
def test_a_bid_passed_over_at_award_sets_no_lowest_price() -> None:
    lot = started(
        opened(BID_A, 50_000, (LEAD, 100)),
        opened(BID_B, 100_000, (SECOND, 100)),
        opened(BID_C, 120_000, (THIRD, 100)),
    )
    score(lot, BID_A, 5, 5, 10)
    score(lot, BID_B, 3, 3, 5)
    score(lot, BID_C, 4, 3, 4)
    assert lot.flagged == {BID_A}
    lot.decide_low_price(at(OPENED_AT), BID_A, True, "Its kitchen is donated")
    assert [(r.bid_id, str(r.total)) for r in lot.ranking()] == [
        (BID_A, "100.00"),
        (BID_C, "56.67"),
        (BID_B, "55.00"),
    ]
    fallen = everyone_eligible(lot) | {LEAD: facts(LEAD, in_good_standing=False)}
    lot.award(at(AWARDED_AT), TERMS, fallen)
    decision = lot.decision
    assert decision is not None
    assert decision.winner == BID_B
    assert [(r["bid_id"], r["total"]) for r in decision.results] == [
        (str(BID_B), "75.00"),
        (str(BID_C), "73.33"),
    ]
    passed = lot.summary_for(LEAD)
    assert passed is not None
    assert passed["outcome"] == "passed_over"
    assert "not a member in good standing" in passed["passed_over_reason"]
    assert passed["result"] is None  # not ranked among the bids still in contention
    losing = lot.summary_for(THIRD)
    assert losing is not None
    assert losing["result"] == {
        "bid_id": str(BID_C),
        "price_minor": 12_000_000,
        "price_points": "33.33",
        "quality_points": "36.00",
        "social_value_points": "4.00",
        "total": "73.33",
    }  # its points, never its rank among the losing bids
    assert "rank" not in losing["winner"]["result"]


def test_a_bidder_found_invalid_at_opening_is_told_the_outcome_too() -> None:
    invalid = InvalidBid(BID_C, shares((THIRD, 60), (PARTNER, 40)), "the consortium is incomplete")
    lot = LotEvaluation.start(
        at(OPENED_AT), TENDER_ID, "lot-1", BUYER, RULES, two_scored().bids.values(), [invalid]
    )
    assert lot.summary_for(THIRD) is None  # nothing before the decision
    score(lot, BID_A, 4, 3, 7)
    score(lot, BID_B, 5, 5, 9)
    lot.award(at(AWARDED_AT), TERMS, everyone_eligible(lot))
    told = lot.summary_for(THIRD)
    assert told is not None
    assert (told["outcome"], told["invalid_reason"]) == ("invalid", invalid.reason)
    assert (told["result"], told["scores"]) == (None, [])
    assert told["winner"]["bid_id"] == str(BID_B)
    assert lot.summary_recipients == [LEAD, SECOND, THIRD, PARTNER]
    [event] = [e for e in lot.collect_events() if type(e).__name__ == "Awarded"]
    assert [s["outcome"] for s in event.summaries] == ["unsuccessful", "successful", "invalid"]
