"""The opening clock reads only the tenders (and requests for quote) that may be due, on both
stores (ADR 27): one not yet due keeps the deadline the clock read and is not loaded again before
that deadline plus the margin; an extended deadline opens at the new one, not the old. Whatever
ends one before its deadline changes no deadline and tells the clock nothing: its bids are
discarded at the deadline plus the margin, as they would have been opened, also when the ending
lands between the clock's load and its write; a crash between the discarding and the settling,
or two ticks at once, discard once and tell each bidder once.

Each test counts the clock's loads of its own tenders through a wrapper round the marketplace
Application and asserts its own rows only (the PostgreSQL database is shared)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import select

from marketplace.application import MarketplaceApp
from sharedkernel.events import CLOCK, Context, user_actor
from tests.api.helpers import services_of
from tests.api.test_bid_scenario import (
    SubmittedBid,
    at,
    bid_of,
    member,
    opened_bids,
    tender_with_a_submitted_bid,
)
from tests.api.test_quote_scenario import DEADLINE as REQUEST_DEADLINE
from tests.api.test_quote_scenario import (
    posted,
    quote_path,
    quoted,
    request_body,
    sealed_notices,
)
from tests.api.test_tenders import DEADLINE, LATER, terms
from tests.conftest import AppClient
from tradehall.clock import ManualClock
from tradehall.marketplace.bids.notices import cancellations
from tradehall.marketplace.bids.opening import OpeningParts, open_due_bids
from tradehall.marketplace.sealing.tables import sealing_keys

Client = AppClient
Headers = dict[str, str]
REQUESTS = "/api/v1/requests-for-quote"
CANCEL_REASON = {"reason": "The budget was withdrawn"}
SOMEONE = user_actor(uuid.UUID(int=7))  # the Application's commands do not check who
DISCARDED = ("closed", "the tender was cancelled before opening")


class Loads:
    """The marketplace Application, counting the clock's loads of each tender and request."""

    def __init__(self, app: MarketplaceApp) -> None:
        self.app = app
        self.counts: dict[uuid.UUID, int] = {}
        # Run once, just after the next load of this id (what lands between load and write).
        self.after_load: dict[uuid.UUID, Any] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self.app, name)

    def _counted(self, aggregate_id: uuid.UUID, loaded: Any) -> Any:
        self.counts[aggregate_id] = self.counts.get(aggregate_id, 0) + 1
        meanwhile = self.after_load.pop(aggregate_id, None)
        if meanwhile is not None:
            meanwhile()
        return loaded

    def tender(self, tender_id: uuid.UUID) -> Any:
        return self._counted(tender_id, self.app.tender(tender_id))

    def request_for_quote(self, request_id: uuid.UUID) -> Any:
        return self._counted(request_id, self.app.request_for_quote(request_id))


def opening_parts(client: Client, clock: ManualClock) -> tuple[OpeningParts, Loads]:
    """The clock's parts as the service builds them, its marketplace counting loads."""
    services = services_of(client)
    apps = services.applications
    loads = Loads(apps["marketplace"])
    parts = OpeningParts(
        bids=apps["bids"],
        marketplace=cast(MarketplaceApp, loads),
        membership=apps["membership"],
        marks=apps["marks"],
        keys=services.sealing,
        clock=clock,
        margin=timedelta(seconds=services.settings.bid_opening_margin_seconds),
    )
    return parts, loads


async def tick(client: Client, parts: OpeningParts) -> tuple[int, int]:
    result: tuple[int, int] = await services_of(client).run(open_due_bids, parts)
    return result


async def key_row(client: Client, key_id: str) -> Any:
    async with services_of(client).engine.connect() as connection:
        found = await connection.execute(
            select(sealing_keys.c.deadline_seen, sealing_keys.c.settled_at).where(
                sealing_keys.c.key_id == uuid.UUID(key_id)
            )
        )
        return found.one()


def due(parts: OpeningParts) -> datetime:
    """When the tenders' deadline plus the clock's margin has passed."""
    return at(DEADLINE) + parts.margin


async def ended_notices(client: Client, made: SubmittedBid) -> int:
    """How many "your tender ended" notices are queued for the bidder."""
    notices = await sealed_notices(client, made.bidder)
    return sum(template == "bid_tender_ended" for template, _ in notices)


async def cancelled_and_due(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> tuple[SubmittedBid, OpeningParts, Loads]:
    """A tender with a submitted bid, cancelled, and the clock at its deadline plus the margin."""
    made = await tender_with_a_submitted_bid(client, staff_headers)
    parts, loads = opening_parts(client, clock)
    context = Context(SOMEONE, "cancelled", clock.now())
    await services_of(client).run(
        loads.app.cancel_tender, context, uuid.UUID(made.tender), "No budget"
    )
    clock.set(due(parts))
    return made, parts, loads


async def settled_and_opened(client: Client, clock: ManualClock, made: SubmittedBid) -> None:
    """The tick just now settled the tender's key and opened its one bid."""
    assert (await key_row(client, made.tender)).settled_at == clock.now()
    opened = await opened_bids(client, made.tender, made.buyer_headers)
    assert [b["bid_id"] for b in opened.json()["bids"]] == [made.bid], opened.text


async def settled_and_discarded(client: Client, clock: ManualClock, made: SubmittedBid) -> None:
    """The tick just now settled the tender's key and discarded its one bid, never opened."""
    assert (await key_row(client, made.tender)).settled_at == clock.now()
    view = await bid_of(client, made.bidder_headers, made.bid)
    assert (view["status"], view["closed_reason"]) == DISCARDED, view


async def test_a_tender_not_yet_due_is_loaded_again_only_at_its_deadline(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    made = await tender_with_a_submitted_bid(client, staff_headers)
    tender = made.tender
    parts, loads = opening_parts(client, clock)
    tender_id = uuid.UUID(tender)

    await tick(client, parts)
    assert loads.counts[tender_id] == 1
    assert (await key_row(client, tender)).deadline_seen == at(DEADLINE)
    await tick(client, parts)
    clock.set(due(parts) - timedelta(seconds=1))
    await tick(client, parts)
    assert loads.counts[tender_id] == 1  # not loaded again before it is due
    clock.advance(timedelta(seconds=1))

    await tick(client, parts)  # due: loaded, opened, settled
    assert loads.counts[tender_id] == 2
    await settled_and_opened(client, clock, made)


async def test_an_extended_deadline_opens_at_the_new_deadline_not_the_old(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    made = await tender_with_a_submitted_bid(client, staff_headers)
    tender, buyer_headers = made.tender, made.buyer_headers
    parts, loads = opening_parts(client, clock)
    await tick(client, parts)
    assert (await key_row(client, tender)).deadline_seen == at(DEADLINE)

    amended = await client.post(
        f"/api/v1/tenders/{tender}/amendments",
        json=terms(deadline=LATER, eligibility={"members_only": True, "regions": ["TLC3"]})
        | {"rationale": "Few bids came in: two weeks more"},
        headers=buyer_headers,
    )
    assert amended.status_code == 200, amended.text
    clock.set(due(parts))  # the old deadline's opening
    await tick(client, parts)
    assert loads.counts[uuid.UUID(tender)] == 2  # looked at, not opened: the new deadline kept
    row = await key_row(client, tender)
    assert (row.deadline_seen, row.settled_at) == (at(LATER), None)
    assert (await opened_bids(client, tender, buyer_headers)).status_code == 404

    clock.set(at(LATER) + parts.margin)
    await tick(client, parts)
    await settled_and_opened(client, clock, made)


async def test_a_tender_cancelled_before_its_deadline_is_discarded_at_its_deadline_not_before(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    made = await tender_with_a_submitted_bid(client, staff_headers)
    tender, buyer_headers = made.tender, made.buyer_headers
    parts, loads = opening_parts(client, clock)
    await tick(client, parts)  # its deadline kept: not looked at again before it

    clock.advance(timedelta(days=2))
    cancelled = await client.post(
        f"/api/v1/tenders/{tender}/cancellation", json=CANCEL_REASON, headers=buyer_headers
    )
    assert cancelled.status_code == 200, cancelled.text
    assert (await key_row(client, tender)).deadline_seen == at(DEADLINE)  # the ending says nothing

    await tick(client, parts)
    clock.set(due(parts) - timedelta(seconds=1))
    await tick(client, parts)
    assert loads.counts[uuid.UUID(tender)] == 1  # not loaded again before it is due
    assert (await key_row(client, tender)).settled_at is None
    assert (await bid_of(client, made.bidder_headers, made.bid))["status"] == "submitted"

    clock.advance(timedelta(seconds=1))
    await tick(client, parts)
    await settled_and_discarded(client, clock, made)


async def test_an_ending_between_the_clock_s_load_and_its_write_is_discarded_at_the_deadline(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    """The clock loads the tender (active), then the buyer cancels it, then the clock keeps the
    deadline it read: the ending changed no deadline, so the one kept is right, and its bids are
    discarded then."""
    made = await tender_with_a_submitted_bid(client, staff_headers)
    tender = made.tender
    parts, loads = opening_parts(client, clock)
    tender_id = uuid.UUID(tender)

    def cancelled_meanwhile() -> None:
        context = Context(SOMEONE, "cancel-meanwhile", clock.now())
        loads.app.cancel_tender(context, tender_id, "The budget was withdrawn")

    loads.after_load[tender_id] = cancelled_meanwhile
    await tick(client, parts)
    assert loads.app.tender(tender_id).status == "cancelled"
    row = await key_row(client, tender)
    assert (row.deadline_seen, row.settled_at) == (at(DEADLINE), None)

    clock.set(due(parts))
    await tick(client, parts)
    await settled_and_discarded(client, clock, made)


async def test_a_discarding_stopped_before_its_key_was_settled_is_not_written_again(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    """The clock discarded the bids (the bids log's one transaction, its notices in it), then
    stopped before settling the key: the next tick discards again, which writes nothing, and
    settles it; the bidder is told once."""
    made, parts, loads = await cancelled_and_due(client, staff_headers, clock)
    tender = loads.app.tender(uuid.UUID(made.tender))
    context = Context(CLOCK, "stopped", clock.now())
    reason = f"the tender was {tender.status} before opening"
    told = cancellations(parts.keys, tender)
    await services_of(client).run(parts.bids.discard_bids, context, tender, reason, told)
    discarded = await bid_of(client, made.bidder_headers, made.bid)
    assert (await key_row(client, made.tender)).settled_at is None

    clock.advance(timedelta(minutes=1))
    await tick(client, parts)
    await settled_and_discarded(client, clock, made)
    assert await bid_of(client, made.bidder_headers, made.bid) == discarded  # not closed again
    assert await ended_notices(client, made) == 1


async def test_two_ticks_at_once_discard_once_and_tell_each_bidder_once(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    """A clock job may run in two places for the tick under way (ADR 37): here a second tick
    runs whole between the first's load of an ended tender and its discarding. The first then
    finds the box discarded (nothing written) and the key settled (left as it is)."""
    made, parts, loads = await cancelled_and_due(client, staff_headers, clock)
    tender_id = uuid.UUID(made.tender)
    second: list[tuple[int, int]] = []
    loads.after_load[tender_id] = lambda: second.append(open_due_bids(parts))

    await tick(client, parts)
    assert len(second) == 1  # the second tick ran, and settled the key at this same moment
    await settled_and_discarded(client, clock, made)
    assert await ended_notices(client, made) == 1


async def test_a_request_cancelled_before_its_deadline_is_discarded_at_its_deadline_not_before(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    requester, _, requester_headers = await member(client, staff_headers, "Fir Housing Co-op")
    supplier, _, supplier_headers = await member(client, staff_headers, "Gorse Cleaning CIC")
    request = await posted(client, requester_headers, request_body(requester))
    await quoted(client, supplier_headers, supplier, request, 9_900)
    parts, loads = opening_parts(client, clock)
    request_id = uuid.UUID(request)
    await tick(client, parts)
    assert loads.counts[request_id] == 1
    row = await key_row(client, request)
    assert (row.deadline_seen, row.settled_at) == (at(REQUEST_DEADLINE), None)

    cancelled = await client.post(
        f"{REQUESTS}/{request}/cancellation", json=CANCEL_REASON, headers=requester_headers
    )
    assert cancelled.status_code == 200, cancelled.text
    await tick(client, parts)
    clock.set(at(REQUEST_DEADLINE) + parts.margin - timedelta(seconds=1))
    await tick(client, parts)
    assert loads.counts[request_id] == 1  # not loaded again before its deadline
    assert (await key_row(client, request)).settled_at is None
    own = await client.get(quote_path(supplier, request), headers=supplier_headers)
    assert own.json()["status"] == "quoted", own.text

    clock.advance(timedelta(seconds=1))
    await tick(client, parts)
    assert (await key_row(client, request)).settled_at == clock.now()
    own = await client.get(quote_path(supplier, request), headers=supplier_headers)
    assert own.json()["status"] == "closed", own.text
