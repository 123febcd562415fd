"""The bids' Application on the in-memory store: drafting (eligibility, one bid per lot and
lead, idempotent), who sees a bid, consortia through the Application, the deadline to the
second, opening (re-checks, invalid bids kept, idempotent, the box closed behind it), commits
that race the opening, a cancelled tender's bids discarded, and the marketplace's record."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import IntegrityError

from marketplace.application import MarketplaceApp
from marketplace.bids.application import BidsApp
from marketplace.bids.bid import Bid, BidStatus
from marketplace.bids.content import SupplierFacts
from marketplace.bids.opening import as_opened
from marketplace.openings import opening_id_for
from marketplace.tenders import Tender
from sharedkernel.errors import Conflict, InvalidValue, NotFound
from sharedkernel.events import Context
from tests.unit.bid_builders import (
    BUYER,
    LEAD,
    ONE_SECOND,
    OUTSIDER,
    PARTNER,
    SECOND,
    SIDE_WRITES_STORE,
    SOON,
    THIRD,
    SideWritesSeen,
    Uuid5BidIds,
    at,
    before_deadline,
    content,
    document,
    facts,
    shares,
    tender,
)

IN_MEMORY = {"PERSISTENCE_MODULE": "eventsourcing.popo"}
MARGIN = timedelta(minutes=10)
# More suppliers, for opening.
FOURTH = UUID("00000000-0000-4000-8000-000000000055")
FIFTH = UUID("00000000-0000-4000-8000-000000000066")
SIXTH = UUID("00000000-0000-4000-8000-000000000077")
SEVENTH = UUID("00000000-0000-4000-8000-000000000088")


@pytest.fixture
def app() -> BidsApp:
    return BidsApp(IN_MEMORY, ids=Uuid5BidIds())


def written(app: BidsApp) -> int | None:
    return app.recorder.max_notification_id()


def opening_time(t: Tender) -> Context:
    return at(t.terms.deadline + MARGIN)


def everyone_eligible(members: set[UUID]) -> dict[UUID, SupplierFacts]:
    return {member: facts(member) for member in members}


# Steps, as a web request would take them --------------------------------------------------------


def draft(
    app: BidsApp, t: Tender, lead: UUID = LEAD, lot_id: str = "lot-1", when: datetime = SOON
) -> UUID:
    return app.draft_bid(at(when), t, lot_id, facts(lead)).aggregate_id


def fill(app: BidsApp, t: Tender, bid_id: UUID, lead: UUID = LEAD, price: int = 1_000) -> None:
    app.change_content(at(SOON), t, bid_id, lead, content(t, price_minor=price))


def submit(app: BidsApp, t: Tender, bid_id: UUID, lead: UUID = LEAD, when: datetime = SOON) -> None:
    app.submit(at(when), t, bid_id, lead, facts(lead))


def submitted(app: BidsApp, t: Tender, lead: UUID = LEAD, lot_id: str = "lot-1") -> UUID:
    bid_id = draft(app, t, lead, lot_id)
    fill(app, t, bid_id, lead)
    submit(app, t, bid_id, lead)
    return bid_id


def consortium(
    app: BidsApp, t: Tender, bid_id: UUID, *pairs: tuple[UUID, int], lead: UUID = LEAD
) -> int:
    app.form_consortium(
        at(SOON), t, bid_id, lead, shares(*pairs), {p: facts(p) for p, _ in pairs[1:]}
    )
    return app.bid_for(bid_id, lead).consortium_round


def accept(app: BidsApp, t: Tender, bid_id: UUID, partner: UUID, round_: int) -> None:
    app.accept_partnership(at(SOON), t, bid_id, partner, round_)


# Drafting ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("terms", "lead", "why"),
    [
        ({"members_only": True}, facts(LEAD, in_good_standing=False), "good standing"),
        ({"members_only": False}, facts(LEAD, registered=False), "not registered"),
        ({"quality_mark_required": True}, facts(LEAD, holds_mark=False), "quality mark"),
        ({"regions": ["TLC4"]}, facts(LEAD, regions=("TLD",)), "regions"),
        ({"members_only": False, "regions": []}, facts(BUYER), "buyer's own organisation"),
    ],
)
def test_an_ineligible_lead_drafts_nothing(
    app: BidsApp, terms: dict[str, Any], lead: SupplierFacts, why: str
) -> None:
    t = tender(**terms)
    with pytest.raises(Conflict, match=why):
        app.draft_bid(at(SOON), t, "lot-1", lead)
    assert written(app) is None


def test_an_eligible_lead_drafts_its_bid_lodged_in_the_box_and_listed_in_its_index(
    app: BidsApp,
) -> None:
    t = tender(members_only=False, quality_mark_required=True, regions=["TLC41"])
    # Not a member, but registered, with the mark, serving the whole North East.
    lead = facts(LEAD, in_good_standing=False, regions=("TLC",))
    result = app.draft_bid(at(SOON), t, "lot-2", lead)
    bid = app.bid_for(result.aggregate_id, LEAD)
    assert result.aggregate_id == app.ids.bid_id(t.id, "lot-2", LEAD)
    assert (bid.status, bid.lot_id, bid.currency) == (BidStatus.DRAFT, "lot-2", "GBP")
    box = app.box(t.id)
    assert box is not None
    assert box.bid_ids == [bid.id]
    assert [b.id for b in app.bids_of(LEAD)] == [bid.id]
    assert result.position == written(app)


def test_an_unknown_lot_is_refused_naming_lot_id(app: BidsApp) -> None:
    with pytest.raises(InvalidValue) as refused:
        draft(app, tender(), lot_id="lot-9")
    assert refused.value.field == "lot_id"
    assert written(app) is None


def test_drafting_again_answers_the_same_bid_and_writes_nothing(app: BidsApp) -> None:
    t = tender()
    first = app.draft_bid(at(SOON), t, "lot-1", facts(LEAD))
    fill(app, t, first.aggregate_id)
    submit(app, t, first.aggregate_id)
    before = written(app)
    again = app.draft_bid(at(SOON + ONE_SECOND), t, "lot-1", facts(LEAD))
    assert again.aggregate_id == first.aggregate_id
    assert again.version == app.bid_for(first.aggregate_id, LEAD).version
    assert again.position is None
    assert written(app) == before
    assert app.bid_for(first.aggregate_id, LEAD).status is BidStatus.SUBMITTED


def test_one_bid_id_per_tender_lot_and_lead(app: BidsApp) -> None:
    t, other = tender(), tender()
    ids = {
        draft(app, t, LEAD, "lot-1"),
        draft(app, t, LEAD, "lot-2"),
        draft(app, t, SECOND, "lot-1"),
        draft(app, other, LEAD, "lot-1"),
    }
    assert len(ids) == 4
    assert draft(app, t, LEAD, "lot-2") in ids
    box = app.box(t.id)
    assert box is not None
    assert len(box.bid_ids) == 3
    assert {b.tender_id for b in app.bids_of(LEAD)} == {t.id, other.id}
    assert len(app.bids_of(LEAD)) == 3


# Who sees a bid ------------------------------------------------------------------------------


def test_anyone_but_the_lead_and_partners_is_told_the_bid_does_not_exist(app: BidsApp) -> None:
    t = tender()
    bid_id = draft(app, t)
    box = app.box(t.id)
    assert box is not None
    absent = app.ids.bid_id(t.id, "lot-2", LEAD)
    with pytest.raises(NotFound) as never_made:
        app.bid_for(absent, LEAD)
    with pytest.raises(NotFound) as not_theirs:
        app.bid_for(bid_id, OUTSIDER)
    with pytest.raises(NotFound) as the_buyer:
        app.bid_for(bid_id, BUYER)
    with pytest.raises(NotFound) as not_a_bid:
        app.bid_for(box.id, LEAD)
    for refusal, asked in [
        (never_made, absent),
        (not_theirs, bid_id),
        (the_buyer, bid_id),
        (not_a_bid, box.id),
    ]:
        assert refusal.value.message == f"no bid {asked}"
    with pytest.raises(NotFound):  # not even to change it
        app.change_content(at(SOON), t, bid_id, OUTSIDER, content(t))
    assert app.bids_of(OUTSIDER) == []


def test_partners_see_the_bid_and_find_it_but_only_the_lead_changes_it(app: BidsApp) -> None:
    t = tender()
    bid_id = draft(app, t)
    invited: list[UUID] = []

    def invitations(bid: Bid) -> list[str]:
        invited.append(bid.id)
        return []

    app.form_consortium(
        at(SOON),
        t,
        bid_id,
        LEAD,
        shares((LEAD, 50), (PARTNER, 30), (SECOND, 20)),
        {PARTNER: facts(PARTNER), SECOND: facts(SECOND)},
        invitations,
    )
    assert invited == [bid_id]
    for partner in (PARTNER, SECOND):
        assert app.bid_for(bid_id, partner).partners == (PARTNER, SECOND)
        assert [b.id for b in app.bids_of(partner)] == [bid_id]
    version = app.bid_for(bid_id, LEAD).version
    with pytest.raises(Conflict, match="only the lead"):
        app.change_content(at(SOON), t, bid_id, PARTNER, content(t))
    with pytest.raises(Conflict, match="only the lead"):
        app.attach_document(at(SOON), t, bid_id, PARTNER, document())
    with pytest.raises(Conflict, match="only the lead"):
        app.submit(at(SOON), t, bid_id, PARTNER, facts(PARTNER))
    with pytest.raises(Conflict, match="only the lead"):
        app.form_consortium(at(SOON), t, bid_id, PARTNER, shares((PARTNER, 100)), {})
    assert app.bid_for(bid_id, LEAD).version == version
    # SECOND is dropped: it no longer sees or finds the bid.
    consortium(app, t, bid_id, (LEAD, 60), (PARTNER, 40))
    with pytest.raises(NotFound):
        app.bid_for(bid_id, SECOND)
    assert app.bids_of(SECOND) == []
    assert [b.id for b in app.bids_of(PARTNER)] == [bid_id]


@pytest.mark.parametrize(
    "partner_facts",
    [
        {},  # not registered at all
        {PARTNER: facts(PARTNER, in_good_standing=False)},
        {PARTNER: facts(PARTNER, regions=("TLD",))},
    ],
)
def test_every_partner_must_be_eligible(
    app: BidsApp, partner_facts: dict[UUID, SupplierFacts]
) -> None:
    t = tender()
    bid_id = draft(app, t)
    before = written(app)
    with pytest.raises(Conflict, match="that partner may not bid"):
        app.form_consortium(
            at(SOON), t, bid_id, LEAD, shares((LEAD, 60), (PARTNER, 40)), partner_facts
        )
    assert written(app) == before
    assert app.bids_of(PARTNER) == []


def test_acceptance_is_of_the_current_round_and_a_new_round_needs_everyone_again(
    app: BidsApp,
) -> None:
    t = tender()
    bid_id = draft(app, t)
    first = consortium(app, t, bid_id, (LEAD, 50), (PARTNER, 30), (SECOND, 20))
    accept(app, t, bid_id, PARTNER, first)
    accept(app, t, bid_id, SECOND, first)
    assert app.bid_for(bid_id, LEAD).consortium_complete
    second = consortium(app, t, bid_id, (LEAD, 40), (PARTNER, 40), (SECOND, 20))
    assert second == first + 1
    with pytest.raises(Conflict, match="changed since"):
        accept(app, t, bid_id, PARTNER, first)
    accept(app, t, bid_id, PARTNER, second)
    bid = app.bid_for(bid_id, LEAD)
    assert bid.accepted == {PARTNER}  # SECOND's acceptance of round 1 no longer counts
    assert not bid.consortium_complete
    with pytest.raises(Conflict, match="only an invited partner"):
        accept(app, t, bid_id, LEAD, second)
    with pytest.raises(NotFound):
        accept(app, t, bid_id, OUTSIDER, second)


# Submission --------------------------------------------------------------------------------


def test_submission_rechecks_the_leads_eligibility(app: BidsApp) -> None:
    t = tender()
    bid_id = draft(app, t)
    fill(app, t, bid_id)
    with pytest.raises(Conflict, match="good standing"):
        app.submit(at(SOON), t, bid_id, LEAD, facts(LEAD, in_good_standing=False))
    assert app.bid_for(bid_id, LEAD).status is BidStatus.DRAFT


def test_a_receipt_is_written_in_the_submissions_own_transaction() -> None:
    app = BidsApp(SIDE_WRITES_STORE, ids=Uuid5BidIds())
    store = app.recorder
    assert isinstance(store, SideWritesSeen)
    t = tender()
    bid_id = draft(app, t)
    fill(app, t, bid_id)
    app.submit(
        at(SOON), t, bid_id, LEAD, facts(LEAD), receipts=lambda bid: [f"receipt {bid.digest}"]
    )
    digest = app.bid_for(bid_id, LEAD).digest
    assert digest is not None
    assert digest.startswith("sha256:")
    assert store.inserts[-1] == ([bid_id], [f"receipt {digest}"])


def test_resubmission_after_withdrawal_and_the_digest_follows_the_content(app: BidsApp) -> None:
    t = tender()
    bid_id = submitted(app, t)
    first = app.bid_for(bid_id, LEAD).digest
    with pytest.raises(Conflict, match="withdraw it first"):
        fill(app, t, bid_id, price=2_000)
    app.withdraw(at(SOON), t, bid_id, LEAD)
    with pytest.raises(Conflict, match="only a submitted bid"):
        app.withdraw(at(SOON), t, bid_id, LEAD)
    fill(app, t, bid_id, price=2_000)
    submit(app, t, bid_id)
    bid = app.bid_for(bid_id, LEAD)
    assert bid.status is BidStatus.SUBMITTED
    assert bid.digest != first


# The deadline, to the second, through the Application ------------------------------------------

Command = Callable[[BidsApp, Tender, UUID, datetime], object]


def _prepare_ready(app: BidsApp, t: Tender) -> UUID:
    bid_id = draft(app, t)
    fill(app, t, bid_id)
    return bid_id


def _prepare_submitted(app: BidsApp, t: Tender) -> UUID:
    return submitted(app, t)


def _prepare_invited(app: BidsApp, t: Tender) -> UUID:
    bid_id = draft(app, t)
    consortium(app, t, bid_id, (LEAD, 60), (PARTNER, 40))
    return bid_id


COMMANDS: list[tuple[str, Callable[[BidsApp, Tender], UUID], Command]] = [
    (
        "draft",
        lambda app, t: draft(app, t, SECOND),
        lambda app, t, _, when: app.draft_bid(at(when), t, "lot-2", facts(LEAD)),
    ),
    (
        "change",
        _prepare_ready,
        lambda app, t, bid_id, when: app.change_content(
            at(when), t, bid_id, LEAD, content(t, price_minor=5)
        ),
    ),
    (
        "submit",
        _prepare_ready,
        lambda app, t, bid_id, when: app.submit(at(when), t, bid_id, LEAD, facts(LEAD)),
    ),
    (
        "withdraw",
        _prepare_submitted,
        lambda app, t, bid_id, when: app.withdraw(at(when), t, bid_id, LEAD),
    ),
    (
        "accept",
        _prepare_invited,
        lambda app, t, bid_id, when: app.accept_partnership(at(when), t, bid_id, PARTNER, 1),
    ),
]


@pytest.mark.parametrize(
    ("prepare", "command"), [c[1:] for c in COMMANDS], ids=[c[0] for c in COMMANDS]
)
def test_a_command_a_second_before_the_deadline_is_taken_and_at_the_deadline_refused(
    app: BidsApp, prepare: Callable[[BidsApp, Tender], UUID], command: Command
) -> None:
    on_time = tender()
    prepared = prepare(app, on_time)
    before = written(app)
    command(app, on_time, prepared, before_deadline(on_time))
    assert written(app) != before
    for late_by in (timedelta(0), ONE_SECOND):
        late = tender()
        bid_id = prepare(app, late)
        before = written(app)
        with pytest.raises(Conflict, match="deadline has passed"):
            command(app, late, bid_id, late.terms.deadline + late_by)
        assert written(app) == before


# Opening ------------------------------------------------------------------------------------


def test_opening_rechecks_every_submitted_bid_and_keeps_the_invalid_ones(app: BidsApp) -> None:
    t = tender()
    valid = submitted(app, t, LEAD, "lot-1")
    other_lot = submitted(app, t, LEAD, "lot-2")  # the same lead on another lot: fine
    incomplete = draft(app, t, SECOND, "lot-2")
    consortium(app, t, incomplete, (SECOND, 70), (PARTNER, 30), lead=SECOND)
    fill(app, t, incomplete, SECOND)
    submit(app, t, incomplete, SECOND)
    lapsed = submitted(app, t, THIRD, "lot-2")
    # FOURTH leads one bid for lot-1 and is an accepted partner in FIFTH's for lot-1.
    twice_a = submitted(app, t, FOURTH, "lot-1")
    twice_b = draft(app, t, FIFTH, "lot-1")
    round_ = consortium(app, t, twice_b, (FIFTH, 50), (FOURTH, 50), lead=FIFTH)
    accept(app, t, twice_b, FOURTH, round_)
    fill(app, t, twice_b, FIFTH)
    submit(app, t, twice_b, FIFTH)
    never_submitted = draft(app, t, SIXTH, "lot-1")
    withdrawn = submitted(app, t, SEVENTH, "lot-2")
    app.withdraw(at(SOON), t, withdrawn, SEVENTH)

    asked: list[set[UUID]] = []

    def facts_of(members: set[UUID]) -> Mapping[UUID, SupplierFacts]:
        asked.append(set(members))
        found = everyone_eligible(members)
        found[THIRD] = facts(THIRD, in_good_standing=False)  # lapsed since it submitted
        return found

    bids = {bid.id: bid for bid in app.open_bids(opening_time(t), t, facts_of)}
    assert asked == [{LEAD, SECOND, PARTNER, THIRD, FOURTH, FIFTH, SIXTH, SEVENTH}]
    status = {bid_id: (bid.status, bid.invalid_reason) for bid_id, bid in bids.items()}
    assert status == {
        valid: (BidStatus.OPENED, None),
        other_lot: (BidStatus.OPENED, None),
        incomplete: (
            BidStatus.INVALID,
            f"the consortium is incomplete: not accepted by {PARTNER}",
        ),
        lapsed: (BidStatus.INVALID, f"organisation {THIRD} is not a member in good standing"),
        twice_a: (BidStatus.INVALID, f"organisation {FOURTH} is in more than one bid for lot-1"),
        twice_b: (BidStatus.INVALID, f"organisation {FOURTH} is in more than one bid for lot-1"),
        never_submitted: (BidStatus.CLOSED, None),
        withdrawn: (BidStatus.CLOSED, None),
    }
    for closed in (never_submitted, withdrawn):
        assert bids[closed].closed_reason == "not submitted by the deadline"
    # What was opened is what is stored; the invalid bids are kept, not deleted.
    box = app.box(t.id)
    assert box is not None
    assert box.outcome == "opened"
    stored = {bid.id: (bid.status, bid.version) for bid in app.bids_in(box)}
    assert stored == {bid_id: (bid.status, bid.version) for bid_id, bid in bids.items()}
    assert app.bid_for(lapsed, THIRD).status is BidStatus.INVALID


def test_an_unaccepted_partner_is_not_counted_as_a_second_bid_for_the_lot(
    app: BidsApp,
) -> None:
    t = tender()
    own = submitted(app, t, PARTNER, "lot-1")
    invited = draft(app, t, LEAD, "lot-1")
    consortium(app, t, invited, (LEAD, 70), (PARTNER, 30))
    fill(app, t, invited)
    submit(app, t, invited)
    bids = {bid.id: bid for bid in app.open_bids(opening_time(t), t, everyone_eligible)}
    assert bids[own].status is BidStatus.OPENED
    assert bids[invited].status is BidStatus.INVALID
    reason = bids[invited].invalid_reason
    assert reason is not None
    assert reason.startswith(f"the consortium is incomplete: not accepted by {PARTNER}")


def test_opening_again_answers_the_same_bids_and_writes_nothing(app: BidsApp) -> None:
    t = tender()
    submitted(app, t, LEAD)
    draft(app, t, SECOND)
    first = app.open_bids(opening_time(t), t, everyone_eligible)
    before = written(app)
    asked: list[set[UUID]] = []

    def facts_of(members: set[UUID]) -> Mapping[UUID, SupplierFacts]:
        asked.append(members)
        return {}  # were it asked, every bid would now be invalid

    again = app.open_bids(at(t.terms.deadline + timedelta(days=1)), t, facts_of)
    assert [(b.id, b.status, b.version) for b in again] == [
        (b.id, b.status, b.version) for b in first
    ]
    assert asked == []
    assert written(app) == before


def test_after_opening_every_bid_command_is_refused_even_one_dated_before_the_deadline(
    app: BidsApp,
) -> None:
    t = tender()
    opened = submitted(app, t, LEAD)
    closed = draft(app, t, SECOND)
    consortium(app, t, closed, (SECOND, 60), (PARTNER, 40), lead=SECOND)
    app.open_bids(opening_time(t), t, everyone_eligible)
    before = written(app)
    late = at(before_deadline(t))  # a request decided before the deadline, arriving now
    when = before_deadline(t)
    refusals: list[Callable[[], object]] = [
        lambda: app.change_content(late, t, closed, SECOND, content(t)),
        lambda: app.attach_document(late, t, closed, SECOND, document()),
        lambda: app.form_consortium(late, t, closed, SECOND, shares((SECOND, 100)), {}),
        lambda: app.accept_partnership(late, t, closed, PARTNER, 1),
        lambda: app.submit(late, t, closed, SECOND, facts(SECOND)),
        lambda: app.withdraw(late, t, opened, LEAD),
        lambda: app.submit(late, t, opened, LEAD, facts(LEAD)),
        lambda: draft(app, t, LEAD, "lot-1", when),  # the bid exists: it is opened
        lambda: draft(app, t, THIRD, "lot-1", when),  # a new bid: the box is closed
    ]
    for refused in refusals:
        with pytest.raises(Conflict):
            refused()
    assert written(app) == before
    with pytest.raises(NotFound):
        app.bid_for(app.ids.bid_id(t.id, "lot-1", THIRD), THIRD)


def test_a_box_closed_by_opening_refuses_a_late_draft(app: BidsApp) -> None:
    t = tender()
    assert app.open_bids(opening_time(t), t, everyone_eligible) == []
    box = app.box(t.id)
    assert box is not None
    assert box.outcome == "opened"
    with pytest.raises(Conflict, match="no longer accepted"):
        draft(app, t, LEAD, "lot-1", before_deadline(t))
    assert app.bids_of(LEAD) == []


def test_the_opened_bids_are_recorded_once_in_the_marketplace(app: BidsApp) -> None:
    t = tender()
    valid = submitted(app, t, LEAD)
    invalid = submitted(app, t, SECOND)
    draft(app, t, THIRD)

    def facts_of(members: set[UUID]) -> Mapping[UUID, SupplierFacts]:
        return everyone_eligible(members) | {SECOND: facts(SECOND, holds_mark=True, regions=())}

    bids = app.open_bids(opening_time(t), t, facts_of)
    records = [as_opened(b) for b in bids if b.status in {BidStatus.OPENED, BidStatus.INVALID}]
    by_id = {r["bid_id"]: r for r in records}
    assert set(by_id) == {str(valid), str(invalid)}
    assert by_id[str(valid)]["valid"] is True
    assert by_id[str(valid)]["content"]["price_minor"] == 1_000
    assert by_id[str(invalid)]["valid"] is False
    assert "content" not in by_id[str(invalid)]
    assert (
        by_id[str(invalid)]["reason"]
        == f"organisation {SECOND} serves none of the tender's regions"
    )

    market = MarketplaceApp(IN_MEMORY)
    market.save(t)
    first = market.record_opening(opening_time(t), t.id, records)
    assert first.aggregate_id == opening_id_for(t.id)
    assert first.position is not None
    before = market.recorder.max_notification_id()
    again = market.record_opening(at(t.terms.deadline + timedelta(hours=1)), t.id, [])
    assert (again.aggregate_id, again.version, again.position) == (
        first.aggregate_id,
        first.version,
        None,
    )
    assert market.recorder.max_notification_id() == before
    recorded = market.opening(t.id)
    assert recorded is not None
    assert recorded.bids == records
    assert recorded.opened_at == t.terms.deadline + MARGIN
    # Each lot's evaluation starts with it: lot-1 with its valid bid, lot-2 (no bid)
    # unsuccessful at once, on the tender too.
    assert list(market.lot_evaluation(t.id, "lot-1").bids) == [valid]
    assert market.lot_evaluation(t.id, "lot-2").status == "unsuccessful"
    assert market.tender(t.id).lot_outcomes == {"lot-2": "unsuccessful"}


# Commits that race the opening --------------------------------------------------------------


def test_a_submission_decided_before_the_deadline_and_saved_after_it_is_opened(
    app: BidsApp,
) -> None:
    t = tender()
    bid_id = draft(app, t)
    fill(app, t, bid_id)
    # Decided a second before the deadline; its commit lands after the deadline has passed
    # on the clock, but before the opening (deadline + margin).
    slow = app.bid_for(bid_id, LEAD)
    slow.submit(at(before_deadline(t)), t)
    with pytest.raises(Conflict, match="deadline has passed"):  # what deciding now would say
        app.bid_for(bid_id, LEAD).submit(at(t.terms.deadline), t)
    app.save(slow)
    (opened,) = app.open_bids(opening_time(t), t, everyone_eligible)
    assert opened.id == bid_id
    assert opened.status is BidStatus.OPENED
    assert opened.submitted_at == before_deadline(t)
    stamped = [e for e in app.events.get(bid_id) if isinstance(e, Bid.Submitted)]
    assert [e.timestamp for e in stamped] == [before_deadline(t)]


def test_a_stale_bid_saved_after_the_opening_clashes_instead_of_missing_it(
    app: BidsApp,
) -> None:
    t = tender()
    bid_id = draft(app, t)
    fill(app, t, bid_id)
    stale = app.bid_for(bid_id, LEAD)
    stale.submit(at(before_deadline(t)), t)  # decided in time, not yet committed
    app.open_bids(opening_time(t), t, everyone_eligible)
    with pytest.raises(IntegrityError):
        app.save(stale)
    bid = app.bid_for(bid_id, LEAD)
    assert bid.status is BidStatus.CLOSED  # closed unopened, and nothing pretends otherwise
    assert bid.digest is None


def test_a_new_bid_lodged_in_a_stale_box_after_the_opening_clashes_and_is_not_written(
    app: BidsApp,
) -> None:
    t = tender()
    draft(app, t, LEAD)
    box = app.box(t.id)
    assert box is not None
    new_id = app.ids.bid_id(t.id, "lot-1", SECOND)
    late = at(before_deadline(t))
    new = Bid.draft(late, new_id, t, "lot-1", SECOND)
    box.lodge(late, new_id)
    app.open_bids(opening_time(t), t, everyone_eligible)
    with pytest.raises(IntegrityError):
        app.save(new, box)
    with pytest.raises(NotFound):  # the bid went with its box: one transaction
        app.bid_for(new_id, SECOND)
    reopened = app.box(t.id)
    assert reopened is not None
    assert new_id not in reopened.bid_ids


def test_a_submission_whose_save_follows_the_opening_is_refused_not_lost(app: BidsApp) -> None:
    t = tender()
    bid_id = draft(app, t)
    fill(app, t, bid_id)
    opened: list[list[Bid]] = []

    def receipts(bid: Bid) -> list[str]:
        # Between deciding the submission and saving it, the clock opens the bids.
        if not opened:
            opened.append(app.open_bids(opening_time(t), t, everyone_eligible))
        return ["receipt"]

    with pytest.raises(Conflict, match="closed bid"):
        app.submit(at(before_deadline(t)), t, bid_id, LEAD, facts(LEAD), receipts)
    assert [b.status for b in opened[0]] == [BidStatus.CLOSED]
    assert app.bid_for(bid_id, LEAD).status is BidStatus.CLOSED


# A cancelled tender -----------------------------------------------------------------------------


def test_a_cancelled_tenders_bids_are_discarded_unopened_and_each_bidder_told() -> None:
    app = BidsApp(SIDE_WRITES_STORE, ids=Uuid5BidIds())
    store = app.recorder
    assert isinstance(store, SideWritesSeen)
    t = tender()
    drafted = draft(app, t, LEAD)
    sent = submitted(app, t, SECOND)
    withdrawn = submitted(app, t, THIRD, "lot-2")
    app.withdraw(at(SOON), t, withdrawn, THIRD)
    t.cancel(at(SOON + timedelta(days=2)), "budget withdrawn")
    told: list[UUID] = []

    def notices(bid: Bid) -> list[str]:
        told.append(bid.id)
        return [f"tell {bid.lead_id}"]

    reason = "the tender was cancelled before opening"
    # Not before the deadline: what it writes would tell how many bids the tender had.
    before = written(app)
    with pytest.raises(Conflict, match="until then even their number is sealed"):
        app.discard_bids(at(before_deadline(t)), t, reason, notices)
    assert (written(app), told) == (before, [])
    bids = app.discard_bids(at(t.terms.deadline), t, reason, notices)
    assert sorted(told) == sorted([drafted, sent, withdrawn])
    assert {(b.id, b.status, b.closed_reason) for b in bids} == {
        (bid_id, BidStatus.CLOSED, reason) for bid_id in (drafted, sent, withdrawn)
    }
    box = app.box(t.id)
    assert box is not None
    assert box.outcome == "discarded"
    # The notices are written in the transaction that closes the bids and the box.
    written_ids, side_writes = store.inserts[-1]
    assert set(written_ids) == {box.id, drafted, sent, withdrawn}
    assert sorted(side_writes) == sorted(f"tell {lead}" for lead in (LEAD, SECOND, THIRD))
    with pytest.raises(Conflict, match="never opened"):
        app.open_bids(opening_time(t), t, everyone_eligible)
    inserts = len(store.inserts)
    again = app.discard_bids(opening_time(t), t, reason, notices)
    assert len(told) == 3
    assert len(store.inserts) == inserts
    assert {b.id for b in again} == {drafted, sent, withdrawn}
    for bid_id, lead in ((drafted, LEAD), (sent, SECOND)):
        with pytest.raises(Conflict):
            app.submit(at(SOON + timedelta(days=3)), t, bid_id, lead, facts(lead))


def test_bids_are_never_opened_before_the_deadline_whoever_asks(app: BidsApp) -> None:
    t = tender()
    bid_id = submitted(app, t)
    before = written(app)
    with pytest.raises(Conflict, match="only after the tender's deadline"):
        app.open_bids(at(t.terms.deadline - ONE_SECOND), t, everyone_eligible)
    assert written(app) == before
    assert app.bid_for(bid_id, LEAD).status is BidStatus.SUBMITTED
    opened = app.open_bids(at(t.terms.deadline), t, everyone_eligible)
    assert [b.status for b in opened] == [BidStatus.OPENED]


@pytest.mark.parametrize("number", [49.5, 50.0, True])
def test_numbers_that_are_not_whole_are_refused(number: Any) -> None:
    from marketplace.bids.content import Share, parse_commitment, parse_consortium

    with pytest.raises(InvalidValue) as refused:
        parse_commitment("local_jobs", number, None, "commitments[0]")
    assert refused.value.field == "commitments[0].quantity"
    with pytest.raises(InvalidValue):
        parse_consortium(LEAD, number, [Share(PARTNER, 50)])
