"""Bids, pure domain: who may bid (standing, the mark, regions with their hierarchy, never the
buyer), drafting, the deadline to the second, content rules, submission and its digest,
withdrawal, consortia and acceptance rounds, and what opening records."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from uuid import uuid4

import pytest

from marketplace.bids.bid import Bid, BidStatus
from marketplace.bids.content import (
    MAX_ANSWER,
    MAX_COMMITMENTS,
    MAX_PARTNERS,
    MAX_PRICE_MINOR,
    MAX_QUANTITY,
    MEASURES,
    Commitment,
    Share,
    digest,
    ineligibility,
    parse_commitment,
    parse_consortium,
    regions_overlap,
)
from marketplace.bids.opening import as_opened, verdicts
from marketplace.tenders import Tender
from sharedkernel.errors import Conflict, InvalidValue
from tests.unit.bid_builders import (
    BUYER,
    LEAD,
    ONE_SECOND,
    OUTSIDER,
    PARTNER,
    SECOND,
    SOON,
    at,
    before_deadline,
    content,
    document,
    drafted_bid,
    facts,
    ready_bid,
    shares,
    submitted_bid,
    tender,
)

# Eligibility ---------------------------------------------------------------------------------


def test_a_members_only_tender_takes_members_in_good_standing_only() -> None:
    members_only = tender(members_only=True)
    assert ineligibility(members_only.terms, BUYER, facts(LEAD)) is None
    why = ineligibility(members_only.terms, BUYER, facts(LEAD, in_good_standing=False))
    assert why == f"organisation {LEAD} is not a member in good standing"


def test_an_open_tender_takes_any_registered_organisation_but_not_an_unregistered_one() -> None:
    anyone = tender(members_only=False)
    assert ineligibility(anyone.terms, BUYER, facts(LEAD, in_good_standing=False)) is None
    why = ineligibility(anyone.terms, BUYER, facts(LEAD, registered=False))
    assert why == f"organisation {LEAD} is not registered"


def test_the_quality_mark_is_needed_only_where_the_tender_requires_it() -> None:
    with_mark = tender(quality_mark_required=True)
    without = tender(quality_mark_required=False)
    no_mark = facts(LEAD, holds_mark=False)
    assert ineligibility(with_mark.terms, BUYER, no_mark) == (
        f"organisation {LEAD} does not hold the quality mark"
    )
    assert ineligibility(with_mark.terms, BUYER, facts(LEAD)) is None
    assert ineligibility(without.terms, BUYER, no_mark) is None


@pytest.mark.parametrize(
    ("wanted", "served", "eligible"),
    [
        (["TLC4"], ("TLC4",), True),  # the same region
        (["TLC4"], ("TLC",), True),  # the supplier serves the whole North East: covers TLC4
        (["TLC4"], ("TLC41",), True),  # Durham lies within TLC4
        (["TLC"], ("TLC41",), True),  # two levels down
        (["TLC41"], ("TLC",), True),  # two levels up
        (["TLC4"], ("TLC3",), False),  # a sibling in the same ITL1
        (["TLC4"], ("TLD",), False),  # another ITL1
        (["TLC41"], ("TLC42",), False),  # a sibling ITL3
        (["TLC4", "TLD1"], ("TLD13",), True),  # any one of the tender's regions
        ([], ("TLD",), True),  # no regions: anywhere
        (["TLC4"], (), False),  # serving nowhere
    ],
)
def test_regions_cover_each_other_up_and_down_the_itl_hierarchy(
    wanted: list[str], served: tuple[str, ...], eligible: bool
) -> None:
    restricted = tender(regions=wanted)
    why = ineligibility(restricted.terms, BUYER, facts(LEAD, regions=served))
    assert (why is None) is eligible
    if not eligible:
        assert why == f"organisation {LEAD} serves none of the tender's regions"
    if wanted:
        assert regions_overlap(wanted, served) is eligible


def test_the_buyers_own_organisation_never_bids_even_when_otherwise_eligible() -> None:
    open_tender = tender(members_only=False, regions=[])
    assert ineligibility(open_tender.terms, BUYER, facts(BUYER)) == (
        "the buyer's own organisation does not bid"
    )


# Drafting ------------------------------------------------------------------------------------


def test_a_draft_is_for_a_lot_of_the_tender_in_that_lots_currency() -> None:
    t = tender()
    bid = Bid.draft(at(SOON), uuid4(), t, "lot-2", LEAD)
    assert (bid.tender_id, bid.lot_id, bid.lead_id) == (t.id, "lot-2", LEAD)
    assert bid.currency == "GBP"
    assert bid.status is BidStatus.DRAFT
    assert bid.shares == (Share(LEAD, 100),)
    assert bid.members == (LEAD,)
    assert bid.consortium_round == 0
    with pytest.raises(InvalidValue) as refused:
        Bid.draft(at(SOON), uuid4(), t, "lot-3", LEAD)
    assert refused.value.field == "lot_id"


@pytest.mark.parametrize("planned", [True, False])
def test_a_planned_or_cancelled_tender_takes_no_bids(planned: bool) -> None:
    t = tender(planned=planned)
    if not planned:
        t.cancel(at(SOON), "budget withdrawn")
    with pytest.raises(Conflict, match="planned" if planned else "cancelled"):
        Bid.draft(at(SOON), uuid4(), t, "lot-1", LEAD)


def test_a_cancelled_tender_takes_no_change_to_a_bid_already_drafted() -> None:
    t = tender()
    bid = ready_bid(t)
    version = bid.version
    t.cancel(at(SOON), "budget withdrawn")
    with pytest.raises(Conflict, match="cancelled"):
        bid.submit(at(SOON), t)
    with pytest.raises(Conflict, match="cancelled"):
        bid.change_content(at(SOON), t, content(t, price_minor=5))
    assert bid.version == version


def test_an_unpublished_tender_takes_no_bids() -> None:
    unpublished = Tender.draft(at(SOON), uuid4(), BUYER, "ocds-th01", tender().terms)
    with pytest.raises(Conflict, match="draft"):
        Bid.draft(at(SOON), uuid4(), unpublished, "lot-1", LEAD)


# The deadline, to the second -------------------------------------------------------------------

Prepare = Callable[[Tender], Bid | None]
Act = Callable[[Tender, Bid | None, datetime], Bid]


def _draft(t: Tender, bid: Bid | None, moment: datetime) -> Bid:
    return Bid.draft(at(moment), uuid4(), t, "lot-1", LEAD)


def _change(t: Tender, bid: Bid | None, moment: datetime) -> Bid:
    assert bid is not None
    bid.change_content(at(moment), t, content(t, price_minor=777))
    return bid


def _attach(t: Tender, bid: Bid | None, moment: datetime) -> Bid:
    assert bid is not None
    bid.attach(at(moment), t, document())
    return bid


def _form(t: Tender, bid: Bid | None, moment: datetime) -> Bid:
    assert bid is not None
    bid.form_consortium(at(moment), t, shares((LEAD, 60), (PARTNER, 40)))
    return bid


def _accept(t: Tender, bid: Bid | None, moment: datetime) -> Bid:
    assert bid is not None
    bid.accept_partnership(at(moment), t, PARTNER, 1)
    return bid


def _submit(t: Tender, bid: Bid | None, moment: datetime) -> Bid:
    assert bid is not None
    bid.submit(at(moment), t)
    return bid


def _withdraw(t: Tender, bid: Bid | None, moment: datetime) -> Bid:
    assert bid is not None
    bid.withdraw(at(moment), t)
    return bid


def _with_consortium(t: Tender) -> Bid:
    bid = drafted_bid(t)
    bid.form_consortium(at(SOON), t, shares((LEAD, 60), (PARTNER, 40)))
    return bid


COMMANDS: list[tuple[str, Prepare, Act, type[Bid.Event]]] = [
    ("draft", lambda t: None, _draft, Bid.Drafted),
    ("change content", drafted_bid, _change, Bid.ContentChanged),
    ("attach a document", drafted_bid, _attach, Bid.DocumentAttached),
    ("form a consortium", drafted_bid, _form, Bid.ConsortiumFormed),
    ("accept a partnership", _with_consortium, _accept, Bid.PartnershipAccepted),
    ("submit", ready_bid, _submit, Bid.Submitted),
    ("withdraw", submitted_bid, _withdraw, Bid.Withdrawn),
]


@pytest.mark.parametrize(
    ("prepare", "act", "event"),
    [c[1:] for c in COMMANDS],
    ids=[c[0] for c in COMMANDS],
)
def test_every_bid_command_works_a_second_before_the_deadline(
    prepare: Prepare, act: Act, event: type[Bid.Event]
) -> None:
    t = tender()
    bid = prepare(t)
    changed = act(t, bid, before_deadline(t))
    last = changed.pending_events[-1]
    assert isinstance(last, event)
    assert last.timestamp == t.terms.deadline - ONE_SECOND


@pytest.mark.parametrize("late", [timedelta(0), ONE_SECOND, timedelta(days=3)])
@pytest.mark.parametrize(
    ("prepare", "act"),
    [c[1:3] for c in COMMANDS],
    ids=[c[0] for c in COMMANDS],
)
def test_every_bid_command_is_refused_from_the_deadline_on_with_no_clock_involved(
    prepare: Prepare, act: Act, late: timedelta
) -> None:
    t = tender()
    bid = prepare(t)
    version = None if bid is None else bid.version
    with pytest.raises(Conflict, match="deadline has passed"):
        act(t, bid, t.terms.deadline + late)
    if bid is not None:
        assert bid.version == version


# Content -------------------------------------------------------------------------------------


def test_the_price_is_in_the_lots_currency() -> None:
    t = tender()
    bid = drafted_bid(t)
    with pytest.raises(InvalidValue) as refused:
        bid.change_content(at(SOON), t, content(t, currency="EUR"))
    assert refused.value.field == "price_minor"
    assert "GBP" in refused.value.message
    bid.change_content(at(SOON), t, content(t, price_minor=1))
    assert bid.content.price is not None
    assert (bid.content.price.currency, bid.content.price.minor) == ("GBP", 1)


@pytest.mark.parametrize("price", [0, -1, True, False, MAX_PRICE_MINOR + 1])
def test_a_price_is_a_positive_bounded_whole_number_of_minor_units(price: int) -> None:
    with pytest.raises(InvalidValue) as refused:
        content(tender(), price_minor=price)
    assert refused.value.field == "price_minor"


def test_the_largest_price_is_accepted_and_no_price_is_a_partial_draft() -> None:
    t = tender()
    largest = content(t, price_minor=MAX_PRICE_MINOR)
    assert largest.price is not None
    assert largest.price.minor == MAX_PRICE_MINOR
    assert content(t, price_minor=None).price is None


def test_answers_are_only_to_the_tenders_quality_criteria() -> None:
    t = tender()
    with pytest.raises(InvalidValue) as refused:
        content(t, given={"method statement": "yes", "price": "cheap"})
    assert refused.value.field == "answers.price"
    with pytest.raises(InvalidValue) as too_long:
        content(t, given={"experience": "x" * (MAX_ANSWER + 1)})
    assert too_long.value.field == "answers.experience"
    kept = content(t, given={"experience": "  twenty years  ", "method statement": "   "})
    assert kept.answers == {"experience": "twenty years"}  # stripped; a blank answer is none


@pytest.mark.parametrize(
    ("partial", "field"),
    [
        ({"price_minor": None}, "price_minor"),
        ({"given": {"experience": "twenty years"}}, "answers.method statement"),
        ({"given": {"method statement": "by the book", "experience": " "}}, "answers.experience"),
    ],
)
def test_submission_is_refused_while_the_price_or_an_answer_is_missing(
    partial: dict[str, object], field: str
) -> None:
    t = tender()
    bid = drafted_bid(t)
    bid.change_content(at(SOON), t, content(t, **partial))  # type: ignore[arg-type]
    with pytest.raises(InvalidValue) as refused:
        bid.submit(at(SOON), t)
    assert refused.value.field == field
    assert bid.status is BidStatus.DRAFT


def test_a_commitment_is_to_a_known_measure_in_its_own_unit() -> None:
    with pytest.raises(InvalidValue) as unknown:
        parse_commitment("good vibes", 3, None, "commitments[0]")
    assert unknown.value.field == "commitments[0].measure"
    with pytest.raises(InvalidValue) as wrong_unit:
        parse_commitment("volunteering_hours", 3, "days", "commitments[1]")
    assert wrong_unit.value.field == "commitments[1].unit"
    assert parse_commitment("volunteering_hours", 3, None, "c") == (
        Commitment("volunteering_hours", 3, "hours")
    )
    assert parse_commitment("local_jobs", 2, "jobs", "c") == Commitment("local_jobs", 2, "jobs")


@pytest.mark.parametrize("quantity", [0, -5, True, MAX_QUANTITY + 1])
def test_a_commitments_quantity_is_a_whole_number_within_bounds(quantity: int) -> None:
    with pytest.raises(InvalidValue) as refused:
        parse_commitment("local_jobs", quantity, None, "commitments[2]")
    assert refused.value.field == "commitments[2].quantity"


def test_the_bounds_of_a_commitments_quantity_are_included() -> None:
    assert parse_commitment("local_jobs", 1, None, "c").quantity == 1
    assert parse_commitment("local_jobs", MAX_QUANTITY, None, "c").quantity == MAX_QUANTITY


def test_each_measure_is_committed_to_once_and_commitments_are_bounded() -> None:
    t = tender()
    jobs = Commitment("local_jobs", 2, "jobs")
    with pytest.raises(InvalidValue) as twice:
        content(t, commitments=[jobs, Commitment("local_jobs", 5, "jobs")])
    assert twice.value.field == "commitments"
    assert "once" in twice.value.message
    with pytest.raises(InvalidValue) as too_many:
        content(t, commitments=[jobs] * (MAX_COMMITMENTS + 1))
    assert too_many.value.field == "commitments"
    every = [Commitment(m, 1, unit) for m, unit in MEASURES.items()]
    assert content(t, commitments=every).commitments == tuple(every)


def test_the_same_content_again_records_nothing() -> None:
    t = tender()
    bid = ready_bid(t)
    version = bid.version
    bid.change_content(at(SOON), t, content(t))
    assert bid.version == version


# Submission and withdrawal --------------------------------------------------------------------


def test_submission_records_when_and_a_digest_of_everything_the_buyer_will_see() -> None:
    t = tender()
    bid = ready_bid(t)
    bid.attach(at(SOON), t, document())
    moment = SOON + timedelta(hours=2)
    bid.submit(at(moment), t)
    assert bid.status is BidStatus.SUBMITTED
    assert bid.submitted_at == moment
    assert bid.digest is not None
    assert bid.digest.startswith("sha256:")
    assert len(bid.digest) == len("sha256:") + 64
    assert bid.digest == digest(bid.submission())
    assert bid.submission()["content"]["price_minor"] == 1_000_000


def test_a_submitted_bid_is_not_changed_until_withdrawn() -> None:
    t = tender()
    bid = submitted_bid(t)
    version = bid.version
    with pytest.raises(Conflict, match="withdraw it first"):
        bid.change_content(at(SOON), t, content(t, price_minor=5))
    with pytest.raises(Conflict, match="withdraw it first"):
        bid.attach(at(SOON), t, document())
    with pytest.raises(Conflict, match="withdraw it first"):
        bid.form_consortium(at(SOON), t, shares((LEAD, 50), (PARTNER, 50)))
    with pytest.raises(Conflict, match="withdraw it first"):
        bid.submit(at(SOON), t)
    assert bid.version == version


def test_only_a_submitted_bid_is_withdrawn() -> None:
    t = tender()
    draft = ready_bid(t)
    with pytest.raises(Conflict, match="this one is draft"):
        draft.withdraw(at(SOON), t)
    draft.submit(at(SOON), t)
    draft.withdraw(at(SOON), t)
    assert draft.status is BidStatus.WITHDRAWN
    with pytest.raises(Conflict, match="this one is withdrawn"):
        draft.withdraw(at(SOON), t)


def test_a_withdrawn_bid_is_changed_and_submitted_again_with_a_new_digest() -> None:
    t = tender()
    bid = submitted_bid(t)
    first = bid.digest
    bid.withdraw(at(SOON), t)
    bid.submit(at(SOON + ONE_SECOND), t)  # the same content again: the same digest
    assert bid.status is BidStatus.SUBMITTED
    assert bid.digest == first
    assert bid.submitted_at == SOON + ONE_SECOND
    bid.withdraw(at(SOON), t)
    bid.change_content(at(SOON), t, content(t, price_minor=999_999))
    bid.submit(at(SOON), t)
    assert bid.digest != first
    assert bid.digest == digest(bid.submission())


@pytest.mark.parametrize(
    "change",
    [
        lambda t, bid: bid.change_content(at(SOON), t, content(t, given=_answers_but_one(t))),
        lambda t, bid: bid.attach(at(SOON), t, document("doc-2")),
        lambda t, bid: bid.form_consortium(at(SOON), t, shares((LEAD, 90), (PARTNER, 10))),
    ],
    ids=["an answer", "a document", "the shares"],
)
def test_the_digest_changes_with_anything_submitted(
    change: Callable[[Tender, Bid], None],
) -> None:
    t = tender()
    bid = submitted_bid(t)
    first = bid.digest
    bid.withdraw(at(SOON), t)
    change(t, bid)
    bid.submit(at(SOON), t)
    assert bid.digest != first


def _answers_but_one(t: Tender) -> dict[str, str]:
    given = {c.name: f"Our answer on {c.name}" for c in t.terms.evaluation.quality}
    given["experience"] = "Other words entirely"
    return given


# Consortium ---------------------------------------------------------------------------------


def test_a_consortium_is_whole_percentages_summing_to_a_hundred_lead_first() -> None:
    parsed = parse_consortium(LEAD, 50, [Share(PARTNER, 30), Share(SECOND, 20)])
    assert parsed == (Share(LEAD, 50), Share(PARTNER, 30), Share(SECOND, 20))


@pytest.mark.parametrize(
    ("lead_percent", "partners", "field"),
    [
        (50, [Share(PARTNER, 40)], "partners"),  # 90
        (60, [Share(PARTNER, 50)], "partners"),  # 110
        (0, [Share(PARTNER, 100)], "lead_share"),
        (100, [Share(PARTNER, 0)], "partners[0].share"),
        (101, [Share(PARTNER, -1)], "lead_share"),
        (True, [Share(PARTNER, 99)], "lead_share"),  # a bool is no percentage
        (50, [Share(PARTNER, 25), Share(PARTNER, 25)], "partners"),  # twice
        (50, [Share(LEAD, 50)], "partners"),  # the lead as its own partner
    ],
)
def test_a_bad_consortium_names_its_field(
    lead_percent: int, partners: list[Share], field: str
) -> None:
    with pytest.raises(InvalidValue) as refused:
        parse_consortium(LEAD, lead_percent, partners)
    assert refused.value.field == field


def test_a_consortium_has_at_most_nine_partners() -> None:
    nine = [Share(uuid4(), 10) for _ in range(MAX_PARTNERS)]
    assert len(parse_consortium(LEAD, 10, nine)) == 10
    ten = [Share(uuid4(), 9) for _ in range(MAX_PARTNERS + 1)]
    with pytest.raises(InvalidValue) as refused:
        parse_consortium(LEAD, 10, ten)
    assert refused.value.field == "partners"


def test_the_lead_comes_first_and_the_buyer_is_never_a_partner() -> None:
    t = tender()
    bid = drafted_bid(t)
    with pytest.raises(InvalidValue) as not_first:
        bid.form_consortium(at(SOON), t, shares((PARTNER, 40), (LEAD, 60)))
    assert not_first.value.field == "partners"
    with pytest.raises(InvalidValue, match="buyer") as buyer:
        bid.form_consortium(at(SOON), t, shares((LEAD, 60), (BUYER, 40)))
    assert buyer.value.field == "partners"
    assert bid.consortium_round == 0


def test_partners_see_the_bid_and_nobody_else_does() -> None:
    t = tender()
    bid = drafted_bid(t)
    bid.form_consortium(at(SOON), t, shares((LEAD, 50), (PARTNER, 30), (SECOND, 20)))
    assert bid.partners == (PARTNER, SECOND)
    assert all(bid.seen_by(member) for member in (LEAD, PARTNER, SECOND))
    assert not bid.seen_by(OUTSIDER)
    assert not bid.seen_by(BUYER)
    bid.form_consortium(at(SOON), t, shares((LEAD, 70), (PARTNER, 30)))
    assert not bid.seen_by(SECOND)  # dropped from the consortium


def test_only_an_invited_partner_accepts_and_only_the_current_round() -> None:
    t = tender()
    bid = drafted_bid(t)
    bid.form_consortium(at(SOON), t, shares((LEAD, 60), (PARTNER, 40)))
    assert bid.consortium_round == 1
    assert not bid.consortium_complete
    with pytest.raises(Conflict, match="only an invited partner"):
        bid.accept_partnership(at(SOON), t, OUTSIDER, 1)
    with pytest.raises(Conflict, match="only an invited partner"):
        bid.accept_partnership(at(SOON), t, LEAD, 1)
    for stale in (0, 2):
        with pytest.raises(Conflict, match="changed since"):
            bid.accept_partnership(at(SOON), t, PARTNER, stale)
    bid.accept_partnership(at(SOON), t, PARTNER, 1)
    assert bid.consortium_complete
    version = bid.version
    bid.accept_partnership(at(SOON), t, PARTNER, 1)  # again: nothing new
    assert bid.version == version


def test_changing_the_consortium_asks_every_partner_to_accept_again() -> None:
    t = tender()
    bid = drafted_bid(t)
    bid.form_consortium(at(SOON), t, shares((LEAD, 50), (PARTNER, 30), (SECOND, 20)))
    bid.accept_partnership(at(SOON), t, PARTNER, 1)
    bid.accept_partnership(at(SOON), t, SECOND, 1)
    assert bid.consortium_complete
    bid.form_consortium(at(SOON), t, shares((LEAD, 40), (PARTNER, 40), (SECOND, 20)))
    assert bid.consortium_round == 2
    assert bid.accepted == set()
    assert not bid.consortium_complete
    with pytest.raises(Conflict, match="changed since"):
        bid.accept_partnership(at(SOON), t, PARTNER, 1)  # what it accepted before
    bid.accept_partnership(at(SOON), t, PARTNER, 2)
    assert not bid.consortium_complete  # SECOND accepted round 1 only
    bid.accept_partnership(at(SOON), t, SECOND, 2)
    assert bid.consortium_complete


def test_the_same_shares_again_start_no_new_round() -> None:
    t = tender()
    bid = drafted_bid(t)
    bid.form_consortium(at(SOON), t, shares((LEAD, 60), (PARTNER, 40)))
    bid.accept_partnership(at(SOON), t, PARTNER, 1)
    bid.form_consortium(at(SOON), t, shares((LEAD, 60), (PARTNER, 40)))
    assert bid.consortium_round == 1
    assert bid.consortium_complete


# Opening (pure) ----------------------------------------------------------------------------------


def test_only_a_submitted_bid_opens_and_closing_leaves_an_opened_bid_alone() -> None:
    t = tender()
    draft = ready_bid(t)
    after = at(t.terms.deadline + timedelta(minutes=5))
    with pytest.raises(Conflict, match="draft bid is not opened"):
        draft.open(after, None)
    draft.close(after, "not submitted by the deadline")
    assert draft.status is BidStatus.CLOSED
    assert draft.closed_reason == "not submitted by the deadline"
    bid = submitted_bid(t, lead=PARTNER)
    bid.open(after, None)
    version = bid.version
    bid.close(after, "not submitted by the deadline")
    assert bid.status is BidStatus.OPENED
    assert bid.version == version


def test_verdicts_judge_only_submitted_bids_against_the_facts_at_opening() -> None:
    t = tender()
    good = submitted_bid(t, lead=LEAD)
    lapsed = submitted_bid(t, lead=SECOND)
    draft = ready_bid(t, lead=PARTNER)
    found = verdicts(
        t,
        [good, lapsed, draft],
        {LEAD: facts(LEAD), SECOND: facts(SECOND, in_good_standing=False), PARTNER: facts(PARTNER)},
    )
    assert {v.bid_id: v.reason for v in found} == {
        good.id: None,
        lapsed.id: f"organisation {SECOND} is not a member in good standing",
    }


def test_a_member_missing_from_the_facts_is_not_registered() -> None:
    t = tender()
    bid = submitted_bid(t)
    (verdict,) = verdicts(t, [bid], {})
    assert verdict.reason == f"organisation {LEAD} is not registered"


def test_as_opened_keeps_a_valid_bids_content_and_an_invalid_ones_reason_only() -> None:
    t = tender()
    after = at(t.terms.deadline + timedelta(minutes=5))
    valid = ready_bid(t, lead=LEAD)
    valid.attach(at(SOON), t, document())
    valid.submit(at(SOON), t)
    invalid = submitted_bid(t, lead=SECOND)
    valid.open(after, None)
    invalid.open(after, "the consortium is incomplete")
    record = as_opened(valid)
    assert record["valid"] is True
    assert record["reason"] is None
    assert record["content"] == valid.content.as_data()
    assert record["documents"] == [document().as_data()]
    assert record["digest"] == valid.digest
    assert record["submitted_at"] == SOON.isoformat()
    assert record["shares"] == [{"organisation_id": str(LEAD), "percent": 100}]
    bad = as_opened(invalid)
    assert bad["valid"] is False
    assert bad["reason"] == "the consortium is incomplete"
    assert invalid.status is BidStatus.INVALID
    assert invalid.invalid_reason == "the consortium is incomplete"
    assert "content" not in bad
    assert "documents" not in bad
    assert (bad["bid_id"], bad["lead_id"], bad["lot_id"]) == (str(invalid.id), str(SECOND), "lot-1")


def test_a_bid_is_replayed_from_its_events_to_the_same_state() -> None:
    t = tender()
    bid = drafted_bid(t)
    bid.change_content(at(SOON), t, content(t, commitments=[Commitment("local_jobs", 3, "jobs")]))
    bid.attach(at(SOON), t, document())
    bid.form_consortium(at(SOON), t, shares((LEAD, 60), (PARTNER, 40)))
    bid.accept_partnership(at(SOON), t, PARTNER, 1)
    bid.submit(at(SOON), t)
    replayed: Bid | None = None
    for event in bid.collect_events():
        replayed = event.mutate(replayed)
    assert replayed is not None
    assert replayed.__dict__ == bid.__dict__
