"""Requests for quote through the Applications: posting (a replay answers the same), cancelling,
accepting (the request and its contract in one save) and closing, only by the requester, in the
marketplace's; quoting (the quote, the box and the index in one save, its receipt with it),
revising, declining, reading, opening and discarding in the bids'. On the in-memory store as the
bids' tests are; the quotes' whole round and a revision clashing with another process's on the
real stores with the sealed mapper."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import IntegrityError

from marketplace.application import MarketplaceApp
from marketplace.bids.application import BidsApp
from marketplace.bids.boxes import BidBox
from marketplace.bids.content import SupplierFacts
from marketplace.contracts import Party, contract_id_for
from marketplace.quotes.quote import OUT_OF_STANDING_AT_OPENING, Quote, QuoteStatus
from marketplace.quotes.request import QUOTE_LOT, RequestForQuote, RequestStatus
from marketplace.quotes.sealed import as_opened, declined_by
from sharedkernel.errors import Conflict, NotFound, StaleVersion
from tests.conftest import TEST_SEALING_KEY
from tests.unit.bid_builders import (
    SIDE_WRITES_STORE,
    SideWritesSeen,
    Uuid5BidIds,
    content,
    facts,
    tender,
)
from tests.unit.quote_builders import (
    DEADLINE,
    NOW,
    ONE_SECOND,
    OTHER,
    REQUESTER,
    SOON,
    SUPPLIER,
    THIRD,
    WORK,
    at,
    gbp,
    invited_terms,
    requester,
    supplier,
    terms,
)
from tradehall.marketplace.bids.declaration import SealedBidsApp
from tradehall.marketplace.sealing.keys import SealingKeys
from tradehall.marketplace.sealing.master import MasterKeys
from tradehall.settings import sealing_key_bytes
from tradehall.store.base import Store
from tradehall.store.sqlite import SQLiteStore

IN_MEMORY = {"PERSISTENCE_MODULE": "eventsourcing.popo"}
OPENING = DEADLINE + timedelta(minutes=10)


@pytest.fixture
def market() -> MarketplaceApp:
    return MarketplaceApp(SIDE_WRITES_STORE)


@pytest.fixture
def bids() -> BidsApp:
    return BidsApp(SIDE_WRITES_STORE, ids=Uuid5BidIds())


def inserts(app: Any) -> list[tuple[list[UUID], list[Any]]]:
    store = app.recorder
    assert isinstance(store, SideWritesSeen)
    return store.inserts


def post(market: MarketplaceApp, **overrides: Any) -> RequestForQuote:
    request_id = uuid4()
    market.post_request(at(NOW), request_id, requester(), terms(**overrides))
    return market.request_for_quote(request_id)


def quote(
    bids: BidsApp, request: RequestForQuote, who: UUID = SUPPLIER, price: int = 100_000
) -> UUID:
    return bids.submit_quote(at(SOON), request, supplier(who), gbp(price), "Two coats").aggregate_id


def opened(market: MarketplaceApp, bids: BidsApp, request: RequestForQuote) -> RequestForQuote:
    """The request's quotes opened and recorded, as the opening clock does."""
    quotes = bids.open_quotes(at(OPENING), request)
    opened_quotes = [as_opened(q) for q in quotes if q.status is QuoteStatus.OPENED]
    market.record_quotes_opened(at(OPENING), request.id, opened_quotes, declined_by(quotes))
    return market.request_for_quote(request.id)


# Posting ---------------------------------------------------------------------------------------


def test_a_posted_request_is_read_back(market: MarketplaceApp) -> None:
    request_id = uuid4()
    result = market.post_request(at(NOW), request_id, requester(), invited_terms(SUPPLIER))
    assert (result.aggregate_id, result.version) == (request_id, 1)
    assert result.position is not None
    request = market.request_for_quote(request_id)
    assert request.terms == invited_terms(SUPPLIER)
    assert (request.requester_id, request.status, request.posted_at) == (
        REQUESTER,
        RequestStatus.OPEN,
        NOW,
    )
    unknown = uuid4()
    with pytest.raises(NotFound, match=f"no request for quote {unknown}"):
        market.request_for_quote(unknown)


def test_a_replayed_post_answers_the_same_and_other_terms_are_refused(
    market: MarketplaceApp,
) -> None:
    request_id = uuid4()
    first = market.post_request(at(NOW), request_id, requester(), terms())
    written = len(inserts(market))
    # The same post again, later (even after its deadline): the same request, nothing written.
    again = market.post_request(at(DEADLINE + ONE_SECOND), request_id, requester(), terms())
    assert (again.aggregate_id, again.version, again.position) == (request_id, 1, None)
    assert first.aggregate_id == again.aggregate_id
    with pytest.raises(Conflict, match="with other terms"):
        market.post_request(at(NOW), request_id, requester(), terms(title="Another"))
    with pytest.raises(Conflict, match="with other terms"):
        market.post_request(at(NOW), request_id, requester(OTHER), terms())
    assert len(inserts(market)) == written
    # Cancelled since, the replay answers the request as it is now (as a tender draft's).
    market.cancel_request(at(SOON), request_id, REQUESTER, "sold")
    replay = market.post_request(at(SOON), request_id, requester(), terms())
    assert (replay.aggregate_id, replay.version) == (request_id, 2)


def test_a_refused_requester_posts_nothing_and_an_id_taken_by_another_thing_is_refused(
    market: MarketplaceApp,
) -> None:
    with pytest.raises(Conflict, match="not allowed to request quotes"):
        market.post_request(at(NOW), uuid4(), requester(in_good_standing=False), terms())
    assert inserts(market) == []
    t = tender()
    market.save(t)
    with pytest.raises(Conflict, match="exists already"):
        market.post_request(at(NOW), t.id, requester(), terms())


# The requester's commands ----------------------------------------------------------------------


def test_only_the_requester_cancels_and_a_stale_version_is_refused(market: MarketplaceApp) -> None:
    request = post(market)
    with pytest.raises(NotFound, match="no request for quote"):
        market.cancel_request(at(SOON), request.id, OTHER, "not mine")
    with pytest.raises(StaleVersion):
        market.cancel_request(at(SOON), request.id, REQUESTER, "sold", expected_version=2)
    result = market.cancel_request(at(SOON), request.id, REQUESTER, "sold", expected_version=1)
    assert result.version == 2
    cancelled = market.request_for_quote(request.id)
    assert (cancelled.status, cancelled.reason) == (RequestStatus.CANCELLED, "sold")


def test_accepting_saves_the_request_and_its_contract_together(
    market: MarketplaceApp, bids: BidsApp
) -> None:
    request = post(market)
    winner = quote(bids, request, SUPPLIER, 100_000)
    quote(bids, request, OTHER, 90_000)
    request = opened(market, bids, request)
    with pytest.raises(NotFound, match="no request for quote"):
        market.accept_quote(at(OPENING), request.id, SUPPLIER, winner)
    with pytest.raises(StaleVersion):
        market.accept_quote(at(OPENING), request.id, REQUESTER, winner, expected_version=1)
    result = market.accept_quote(at(OPENING), request.id, REQUESTER, winner, expected_version=2)
    contract_id = contract_id_for(request.id, QUOTE_LOT)
    assert (result.aggregate_id, result.version) == (contract_id, 1)
    assert result.position is not None
    written_ids, _ = inserts(market)[-1]
    assert set(written_ids) == {request.id, contract_id}
    contract = market.contract(contract_id)
    assert (contract.tender_id, contract.lot_id, contract.bid_id, contract.buyer_id) == (
        request.id,
        "quote",
        winner,
        REQUESTER,
    )
    assert (contract.value, contract.period, contract.parties) == (
        gbp(100_000),
        WORK,
        (Party(SUPPLIER, 100),),
    )
    accepted = market.request_for_quote(request.id)
    assert accepted.status is RequestStatus.ACCEPTED
    assert accepted.accepted is not None
    assert accepted.accepted.contract_id == contract_id
    with pytest.raises(Conflict, match="decided already"):
        market.accept_quote(at(OPENING), request.id, REQUESTER, winner)


def test_closed_by_the_requester_after_opening(market: MarketplaceApp, bids: BidsApp) -> None:
    request = post(market)
    quote(bids, request)
    with pytest.raises(Conflict, match="sealed until the deadline"):
        market.close_request(at(OPENING), request.id, REQUESTER, "too dear")
    request = opened(market, bids, request)
    with pytest.raises(NotFound):
        market.close_request(at(OPENING), request.id, OTHER, "too dear")
    market.close_request(at(OPENING), request.id, REQUESTER, "too dear")
    closed = market.request_for_quote(request.id)
    assert (closed.status, closed.reason) == (RequestStatus.CLOSED, "too dear")


def test_the_opened_quotes_are_recorded_once(market: MarketplaceApp, bids: BidsApp) -> None:
    request = post(market)
    quote(bids, request)
    with pytest.raises(Conflict, match="only after the request's deadline"):
        market.record_quotes_opened(at(DEADLINE - ONE_SECOND), request.id, [], [])
    recorded = opened(market, bids, request)
    assert recorded.status is RequestStatus.QUOTES_OPENED
    written = len(inserts(market))
    again = market.record_quotes_opened(at(OPENING + timedelta(hours=1)), request.id, [], [])
    assert (again.aggregate_id, again.version, again.position) == (request.id, 2, None)
    assert len(inserts(market)) == written
    assert market.request_for_quote(request.id).opened_quotes == recorded.opened_quotes
    with pytest.raises(NotFound):
        market.record_quotes_opened(at(OPENING), uuid4(), [], [])


# Quoting ---------------------------------------------------------------------------------------


def test_a_first_quote_is_lodged_and_listed_in_its_own_save_with_its_receipt(
    market: MarketplaceApp, bids: BidsApp
) -> None:
    request = post(market)

    def receipts(q: Quote) -> list[str]:
        return [f"receipt {q.supplier_id} {q.price_minor}"]

    first = bids.submit_quote(at(SOON), request, supplier(), gbp(100_000), "Two coats", receipts)
    quote_id = bids.ids.quote_id(request.id, SUPPLIER)
    box_id, index_id = bids.ids.box_id(request.id), bids.ids.index_id(SUPPLIER)
    assert (first.aggregate_id, first.version) == (quote_id, 1)
    written_ids, side_writes = inserts(bids)[-1]
    assert set(written_ids) == {quote_id, box_id, index_id}
    assert side_writes == [f"receipt {SUPPLIER} 100000"]
    # A later call revises, the quote alone, with its receipt.
    revised = bids.submit_quote(at(SOON), request, supplier(), gbp(95_000), "Two coats", receipts)
    assert revised.version == 2
    assert inserts(bids)[-1] == ([quote_id], [f"receipt {SUPPLIER} 95000"])
    # The same again writes nothing and queues no receipt.
    written = len(inserts(bids))
    same = bids.submit_quote(at(SOON), request, supplier(), gbp(95_000), "Two coats", receipts)
    assert (same.version, same.position) == (2, None)
    assert len(inserts(bids)) == written
    box = bids.box(request.id)
    assert isinstance(box, BidBox)
    assert (box.tender_id, box.bid_ids) == (request.id, [quote_id])


def test_a_quote_is_read_only_by_its_supplier_and_listed_apart_from_its_bids(
    market: MarketplaceApp, bids: BidsApp
) -> None:
    request = post(market)
    quote_id = quote(bids, request)
    t = tender()
    bid_id = bids.draft_bid(at(SOON), t, "lot-1", facts(SUPPLIER)).aggregate_id
    bids.change_content(at(SOON), t, bid_id, SUPPLIER, content(t))
    own = bids.quote_of(request.id, SUPPLIER)
    assert (own.id, own.price, own.status) == (quote_id, gbp(100_000), QuoteStatus.QUOTED)
    with pytest.raises(NotFound, match="has no quote"):
        bids.quote_of(request.id, OTHER)
    assert [q.id for q in bids.quotes_of(SUPPLIER)] == [quote_id]
    assert [b.id for b in bids.bids_of(SUPPLIER)] == [bid_id]
    assert bids.quotes_of(OTHER) == []


def test_declined_at_first_then_quoted_and_declined_again(
    market: MarketplaceApp, bids: BidsApp
) -> None:
    request = post(market, audience="invited", invited=[SUPPLIER])
    first = bids.decline_quote(at(SOON), request, supplier(), "fully booked")
    quote_id = bids.ids.quote_id(request.id, SUPPLIER)
    assert first.aggregate_id == quote_id
    assert set(inserts(bids)[-1][0]) == {
        quote_id,
        bids.ids.box_id(request.id),
        bids.ids.index_id(SUPPLIER),
    }
    assert bids.quote_of(request.id, SUPPLIER).status is QuoteStatus.DECLINED
    quote(bids, request)
    assert bids.quote_of(request.id, SUPPLIER).status is QuoteStatus.QUOTED
    bids.decline_quote(at(SOON), request, supplier(), None, expected_version=2)
    declined = bids.quote_of(request.id, SUPPLIER)
    assert (declined.status, declined.decline_reason, declined.version) == (
        QuoteStatus.DECLINED,
        None,
        3,
    )


@pytest.mark.parametrize(
    ("who", "why"),
    [
        (supplier(REQUESTER), "requester's own organisation"),
        (supplier(THIRD), "only the invited members"),
        (supplier(in_good_standing=False), "not a member in good standing"),
    ],
)
def test_a_refused_quote_writes_nothing(
    market: MarketplaceApp, bids: BidsApp, who: Any, why: str
) -> None:
    request = post(market, audience="invited", invited=[SUPPLIER, OTHER])
    with pytest.raises(Conflict, match=why):
        bids.submit_quote(at(SOON), request, who, gbp(100), "")
    assert inserts(bids) == []


def test_no_quote_at_the_deadline_and_a_version_named_for_a_new_quote_is_stale(
    market: MarketplaceApp, bids: BidsApp
) -> None:
    request = post(market)
    with pytest.raises(Conflict, match="deadline has passed"):
        bids.submit_quote(at(DEADLINE), request, supplier(), gbp(100), "")
    with pytest.raises(StaleVersion):
        bids.submit_quote(at(SOON), request, supplier(), gbp(100), "", expected_version=1)
    assert inserts(bids) == []


def test_two_revisions_at_one_version_one_is_stale(market: MarketplaceApp, bids: BidsApp) -> None:
    request = post(market)
    quote(bids, request)
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def revise(price: int) -> None:
        start.wait()
        try:
            bids.submit_quote(at(SOON), request, supplier(), gbp(price), "", expected_version=1)
            outcomes.append("saved")
        except StaleVersion:
            outcomes.append("stale")

    threads = [threading.Thread(target=revise, args=(p,)) for p in (80_000, 70_000)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["saved", "stale"]
    assert bids.quote_of(request.id, SUPPLIER).version == 2


# Opening and discarding ------------------------------------------------------------------------


def test_opening_opens_the_quoted_keeps_the_declined_and_is_idempotent(
    market: MarketplaceApp, bids: BidsApp
) -> None:
    request = post(market)
    standing = quote(bids, request, SUPPLIER)
    withdrawn = quote(bids, request, OTHER)
    bids.decline_quote(at(SOON), request, supplier(OTHER), "busy")
    with pytest.raises(Conflict, match="only after the request's deadline"):
        bids.open_quotes(at(DEADLINE - ONE_SECOND), request)
    quotes = bids.open_quotes(at(DEADLINE), request)
    assert {(q.id, q.status) for q in quotes} == {
        (standing, QuoteStatus.OPENED),
        (withdrawn, QuoteStatus.DECLINED),
    }
    written_ids, _ = inserts(bids)[-1]
    assert set(written_ids) == {bids.ids.box_id(request.id), standing, withdrawn}
    box = bids.box(request.id)
    assert box is not None
    assert box.outcome == "opened"
    written = len(inserts(bids))
    again = bids.open_quotes(at(OPENING), request)
    assert {(q.id, q.status) for q in again} == {(q.id, q.status) for q in quotes}
    assert len(inserts(bids)) == written
    assert declined_by(again) == [OTHER]
    with pytest.raises(Conflict):
        bids.submit_quote(at(DEADLINE - ONE_SECOND), request, supplier(OTHER), gbp(1), "late")
    with pytest.raises(Conflict):
        bids.discard_quotes(at(OPENING), request, "x")


def test_a_quote_whose_supplier_lapsed_before_opening_is_closed_not_opened(
    market: MarketplaceApp, bids: BidsApp
) -> None:
    request = post(market)
    standing = quote(bids, request, SUPPLIER)
    lapsed = quote(bids, request, OTHER)

    def at_opening(members: set[UUID]) -> dict[UUID, SupplierFacts]:
        assert members == {SUPPLIER, OTHER}
        return {SUPPLIER: supplier(SUPPLIER), OTHER: supplier(OTHER, in_good_standing=False)}

    quotes = bids.open_quotes(at(OPENING), request, at_opening)
    assert {(q.id, q.status) for q in quotes} == {
        (standing, QuoteStatus.OPENED),
        (lapsed, QuoteStatus.CLOSED),
    }
    closed = bids.quote_of(request.id, OTHER)
    assert closed.closed_reason == OUT_OF_STANDING_AT_OPENING
    recorded = market.record_quotes_opened(
        at(OPENING),
        request.id,
        [as_opened(q) for q in quotes if q.status is QuoteStatus.OPENED],
        declined_by(quotes),
    )
    opened = market.request_for_quote(recorded.aggregate_id).opened_quotes
    assert opened is not None
    assert [q.supplier_id for q in opened] == [SUPPLIER]
    assert declined_by(quotes) == []  # it did not decline: it may not be accepted


def test_a_revision_decided_in_time_and_saved_after_opening_clashes(
    market: MarketplaceApp, bids: BidsApp
) -> None:
    request = post(market)
    quote_id = quote(bids, request)
    stale = bids.quote_of(request.id, SUPPLIER)
    stale.revise(at(DEADLINE - ONE_SECOND), request, supplier(), gbp(1), "")
    bids.open_quotes(at(OPENING), request)
    with pytest.raises(IntegrityError):
        bids.save(stale)
    assert bids.quote_of(request.id, SUPPLIER).price == gbp(100_000)
    # Through the Application: the receipt is decided, then the clock opens, then the save
    # clashes and the revision decided again is refused, not lost.
    other = post(market)
    quote(bids, other)

    opened_meanwhile: list[Quote] = []

    def receipts(q: Quote) -> list[str]:
        if not opened_meanwhile:  # between deciding the revision and saving it, the clock
            opened_meanwhile.extend(bids.open_quotes(at(OPENING), other))
        return ["receipt"]

    with pytest.raises(Conflict, match="settled"):
        bids.submit_quote(at(DEADLINE - ONE_SECOND), other, supplier(), gbp(5), "", receipts)
    assert bids.quote_of(other.id, SUPPLIER).status is QuoteStatus.OPENED
    assert bids.quote_of(other.id, SUPPLIER).price == gbp(100_000)
    assert quote_id != bids.ids.quote_id(other.id, SUPPLIER)


def test_a_first_quote_in_a_stale_box_after_opening_clashes_and_is_not_written(
    market: MarketplaceApp, bids: BidsApp
) -> None:
    request = post(market)
    quote(bids, request, SUPPLIER)
    box = bids.box(request.id)
    assert box is not None
    late_id = bids.ids.quote_id(request.id, OTHER)
    late = Quote.quote(at(DEADLINE - ONE_SECOND), late_id, request, supplier(OTHER), gbp(1), "")
    box.lodge(at(DEADLINE - ONE_SECOND), late_id)
    bids.open_quotes(at(OPENING), request)
    with pytest.raises(IntegrityError):
        bids.save(late, box)
    with pytest.raises(NotFound):
        bids.quote_of(request.id, OTHER)


def test_a_cancelled_requests_quotes_are_discarded_and_each_quoter_told(
    market: MarketplaceApp, bids: BidsApp
) -> None:
    request = post(market)
    standing = quote(bids, request, SUPPLIER)
    withdrawn = quote(bids, request, OTHER)
    bids.decline_quote(at(SOON), request, supplier(OTHER), None)
    with pytest.raises(Conflict, match="not discarded"):
        bids.discard_quotes(at(SOON), request, "x")
    market.cancel_request(at(SOON), request.id, REQUESTER, "sold")
    request = market.request_for_quote(request.id)
    told: list[UUID] = []

    def notices(q: Quote) -> list[str]:
        told.append(q.supplier_id)
        return [f"tell {q.supplier_id}"]

    reason = "the request was cancelled before its quotes were opened"
    # Not before the deadline: what it writes would tell how many quotes the request had.
    written = len(inserts(bids))
    with pytest.raises(Conflict, match="until then even their number is sealed"):
        bids.discard_quotes(at(DEADLINE - ONE_SECOND), request, reason, notices)
    assert (len(inserts(bids)), told) == (written, [])
    quotes = bids.discard_quotes(at(DEADLINE), request, reason, notices)
    assert told == [SUPPLIER]
    assert {(q.id, q.status, q.closed_reason) for q in quotes} == {
        (standing, QuoteStatus.CLOSED, reason),
        (withdrawn, QuoteStatus.DECLINED, reason),
    }
    written_ids, side_writes = inserts(bids)[-1]
    assert set(written_ids) == {bids.ids.box_id(request.id), standing, withdrawn}
    assert side_writes == [f"tell {SUPPLIER}"]
    written = len(inserts(bids))
    bids.discard_quotes(at(OPENING), request, reason, notices)
    assert (len(inserts(bids)), told) == (written, [SUPPLIER])
    with pytest.raises(Conflict, match="never opened"):
        bids.open_quotes(at(OPENING), request)
    with pytest.raises(Conflict, match="cancelled"):
        bids.submit_quote(at(SOON), request, supplier(THIRD), gbp(1), "")


# On the real stores, sealed ----------------------------------------------------------------------


def sealed_bids(store: Store) -> SealedBidsApp:
    keys = SealingKeys(
        store.sync_engine(), MasterKeys(sealing_key_bytes(TEST_SEALING_KEY, "test key"))
    )
    return SealedBidsApp(store.application_env("bids", pool_size=2), keys)


@pytest.fixture
def migrated(store: Store) -> Store:
    if isinstance(store, SQLiteStore):
        store.migrate()
    return store


def test_a_request_quoted_opened_and_accepted_on_the_sealed_log(migrated: Store) -> None:
    market = MarketplaceApp(migrated.application_env("marketplace", pool_size=2))
    bids = sealed_bids(migrated)
    try:
        who, rival, requester_id = uuid4(), uuid4(), uuid4()
        request_id = uuid4()
        market.post_request(at(NOW), request_id, requester(requester_id), terms())
        request = market.request_for_quote(request_id)
        first = bids.submit_quote(at(SOON), request, supplier(who), gbp(100_000), "Two coats")
        assert first.aggregate_id == bids.ids.quote_id(request_id, who)
        bids.submit_quote(at(SOON), request, supplier(who), gbp(90_000), "Two coats")
        bids.decline_quote(at(SOON), request, supplier(rival), "busy")
        # Read back through the sealed mapper, by a fresh Application (nothing cached).
        again = sealed_bids(migrated)
        try:
            assert again.quote_of(request_id, who).price == gbp(90_000)
            assert [q.supplier_id for q in again.quotes_of(rival)] == [rival]
        finally:
            again.close()
        recorded = opened(market, bids, request)
        assert recorded.declined == [rival]
        assert recorded.opened_quotes is not None
        (only,) = recorded.opened_quotes
        assert (only.supplier_id, only.price) == (who, gbp(90_000))
        result = market.accept_quote(at(OPENING), request_id, requester_id, only.quote_id)
        assert market.contract(result.aggregate_id).value == gbp(90_000)
    finally:
        bids.close()
        market.close()


def test_a_revision_clashing_with_another_processs_at_one_version_is_stale(
    migrated: Store,
) -> None:
    market = MarketplaceApp(migrated.application_env("marketplace", pool_size=2))
    mine, theirs = sealed_bids(migrated), sealed_bids(migrated)  # two processes' worth
    try:
        who = uuid4()
        request_id = uuid4()
        market.post_request(at(NOW), request_id, requester(uuid4()), terms())
        request = market.request_for_quote(request_id)
        mine.submit_quote(at(SOON), request, supplier(who), gbp(100_000), "")

        def meanwhile(q: Quote) -> list[Any]:
            # Between this revision's decision and its save, the other process revises.
            if theirs.quote_of(request_id, who).version == 1:
                theirs.submit_quote(
                    at(SOON), request, supplier(who), gbp(70_000), "", expected_version=1
                )
            return []

        with pytest.raises(StaleVersion):
            mine.submit_quote(
                at(SOON), request, supplier(who), gbp(80_000), "", meanwhile, expected_version=1
            )
        assert mine.quote_of(request_id, who).price == gbp(70_000)
        assert mine.quote_of(request_id, who).version == 2
    finally:
        mine.close()
        theirs.close()
        market.close()
