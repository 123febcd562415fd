"""Bidders told of a tender's amendments (ADR 27), on the in-memory store: each bid not opened
or closed is told of each amendment made since it was drafted, once (recorded on the bid, its
notices saved in the same transaction); a bid stored before this existed counts only the
amendments since its drafting; an opened or closed bid is told nothing."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from uuid import UUID

from marketplace.bids.application import AmendmentNotices, BidsApp
from marketplace.bids.bid import Bid
from marketplace.tenders import Amendment, Tender
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
    tender,
)
from tests.unit.test_bids_app import (
    accept,
    consortium,
    draft,
    everyone_eligible,
    fill,
    opening_time,
    submit,
    submitted,
)
from tests.unit.test_tender_domain import POLICY, terms

LATER = SOON + timedelta(hours=1)


def amended(t: Tender, when: datetime, why: str) -> None:
    """Amended at `when`: its deadline ten days later than before."""
    days = 30 + 10 * (len(t.amended) + 1)
    t.amend(at(when), terms(deadline_days=days), why, buyer_kind="public_body", policy=POLICY)


def recorded(told: list[tuple[UUID, int, UUID]]) -> AmendmentNotices:
    def notices(bid: Bid, amendments: Sequence[Amendment]) -> list[str]:
        told.extend((bid.id, a.number, m) for a in amendments for m in bid.members)
        return [f"{bid.id}:{a.number}" for a in amendments]

    return notices


def test_each_member_of_each_open_bid_is_told_of_each_later_amendment_once() -> None:
    app = BidsApp(SIDE_WRITES_STORE, ids=Uuid5BidIds())
    store = app.recorder
    assert isinstance(store, SideWritesSeen)
    t = tender()
    consortium_bid = draft(app, t, LEAD)
    round_ = consortium(app, t, consortium_bid, (LEAD, 60), (PARTNER, 40))
    accept(app, t, consortium_bid, PARTNER, round_)
    fill(app, t, consortium_bid)
    submit(app, t, consortium_bid)
    drafted = draft(app, t, SECOND, "lot-2")
    withdrawn = submitted(app, t, THIRD, "lot-2")
    app.withdraw(at(SOON), t, withdrawn, THIRD)
    amended(t, LATER, "more time")
    told: list[tuple[UUID, int, UUID]] = []

    assert app.tell_amendments(at(LATER + timedelta(hours=1)), t, recorded(told)) == 3
    assert sorted(told) == sorted(
        [
            (consortium_bid, 1, LEAD),
            (consortium_bid, 1, PARTNER),
            (drafted, 1, SECOND),
            (withdrawn, 1, THIRD),  # withdrawn to be changed: still told
        ]
    )
    # Each bid's record and its notices in one transaction.
    written_ids, side_writes = store.inserts[-1]
    assert (written_ids, side_writes) == ([withdrawn], [f"{withdrawn}:1"])
    inserts = len(store.inserts)
    assert app.tell_amendments(at(LATER + timedelta(hours=2)), t, recorded(told)) == 0
    assert len(store.inserts) == inserts
    assert len(told) == 4

    # A bid drafted after the first amendment is told only of the second.
    late = draft(app, t, PARTNER, "lot-2", when=LATER + timedelta(hours=3))
    amended(t, LATER + timedelta(hours=4), "more time again")
    told.clear()
    app.tell_amendments(at(LATER + timedelta(hours=5)), t, recorded(told))
    assert sorted(told) == sorted(
        [
            (consortium_bid, 2, LEAD),
            (consortium_bid, 2, PARTNER),
            (drafted, 2, SECOND),
            (withdrawn, 2, THIRD),
            (late, 2, PARTNER),
        ]
    )


def test_opened_or_closed_bids_are_told_nothing() -> None:
    app = BidsApp(SIDE_WRITES_STORE, ids=Uuid5BidIds())
    t = tender()
    submitted(app, t, LEAD)
    draft(app, t, SECOND, "lot-2")
    amended(t, LATER, "more time")
    app.open_bids(opening_time(t), t, everyone_eligible)
    told: list[tuple[UUID, int, UUID]] = []
    assert app.tell_amendments(opening_time(t), t, recorded(told)) == 0
    assert told == []
    # And in the domain: an opened bid and a closed one have nothing untold.
    box = app.box(t.id)
    assert box is not None
    for bid in app.bids_in(box):
        assert bid.untold_amendments(t) == []


def test_a_bid_stored_before_it_was_told_counts_only_amendments_since_its_drafting() -> None:
    t = tender()
    amended(t, LATER, "first")
    bid = Bid.draft(at(LATER + timedelta(hours=1)), SECOND_ID, t, "lot-1", LEAD)
    assert bid.amendments_told == 0  # no AmendmentsTold event yet
    assert bid.untold_amendments(t) == []
    amended(t, LATER + timedelta(hours=2), "second")
    assert [a.rationale for a in bid.untold_amendments(t)] == ["second"]


SECOND_ID = UUID("00000000-0000-4000-8000-00000000b1d2")
