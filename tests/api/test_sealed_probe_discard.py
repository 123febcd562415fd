"""What the database gains when a tender (a request for quote) ends before its deadline, probed
on both stores (ADR 27): a reader who counts rows sees the public cancellation; were the bids
(quotes) discarded at the next tick, one sealed event per bid and one sealed outbox row per bid
member would tell how many a live tender had. So they are discarded only at the deadline plus
the margin, when the count is no longer sealed and discarding writes what opening would have.
The tick after a tender's ending writes one sealed batch row telling its bidders, whatever their
number (none included; tradehall.marketplace.bids.amendment_notices), and no event: the same
(0 events, 1 row) for 0, 1 and 3 bids; each bidder's refused attempt to withdraw or change its
bid (quoter's, its quote) writes nothing; a request's cancellation alike writes one sealed batch
row telling its quoters and no event, the same for 0, 1 and 3 quotes. At the deadline the
bidders (quoters), told by the batch, are not told again: discarding writes its events and no
notice."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.api.helpers import services_of
from tests.api.test_bid_scenario import (
    at,
    bid_of,
    content,
    drafted_bid,
    member,
    published_tender,
    submitted,
    tick,
)
from tests.api.test_clarifications import council
from tests.api.test_quote_scenario import DEADLINE as REQUEST_DEADLINE
from tests.api.test_quote_scenario import posted, quote_path, quoted, request_body
from tests.api.test_tenders import DEADLINE
from tests.conftest import AppClient
from tradehall.clock import ManualClock
from tradehall.mail.tables import outbox_messages

# The opening clock reads every unsettled tender there is, and the counts are the database's.
pytestmark = pytest.mark.own_database
Client = AppClient
Headers = dict[str, str]
COUNTS = (0, 1, 3)
NOTHING = (0, 0)
ONE_BATCH = (0, 1)  # no event, one sealed batch row: the same whatever the number of bids
REASON = {"reason": "The budget was withdrawn"}
REVISED = {"price_minor": 7_000, "currency": "GBP", "note": ""}


async def sealed_rows(client: Client) -> tuple[int, int]:
    """How many sealed events and sealed outbox rows the database holds."""
    services = services_of(client)
    events = await services.run(services.applications["bids"].recorder.max_notification_id)
    async with services.engine.connect() as connection:
        notices = await connection.scalar(
            select(func.count())
            .select_from(outbox_messages)
            .where(outbox_messages.c.sealed.is_not(None))
        )
    return events or 0, notices or 0


async def written_by(client: Client, steps: Callable[[], Awaitable[object]]) -> tuple[int, int]:
    """The sealed events and sealed outbox rows `steps` added."""
    before = await sealed_rows(client)
    await steps()
    after = await sealed_rows(client)
    return after[0] - before[0], after[1] - before[1]


async def cancelled(client: Client, path: str, headers: Headers) -> None:
    response = await client.post(f"{path}/cancellation", json=REASON, headers=headers)
    assert response.status_code == 200, response.text


async def discarded_at_the_deadline(
    client: Client, clock: ManualClock, deadline: str, notices: int
) -> None:
    """The three tenders (requests), 0, 1 and 3 bids (quotes), are discarded at the deadline
    plus the margin, not a second before: a box each (made and closed for the empty one), an
    event per bid, and `notices` sealed notices; later ticks write nothing (settled)."""
    margin = timedelta(seconds=services_of(client).settings.bid_opening_margin_seconds)
    clock.set(at(deadline) + margin - timedelta(seconds=1))
    assert await written_by(client, lambda: tick(client)) == NOTHING
    clock.advance(timedelta(seconds=1))
    assert await written_by(client, lambda: tick(client)) == (2 + 2 + 4, notices)
    assert await written_by(client, lambda: tick(client)) == NOTHING


async def test_a_tender_cancelled_before_its_deadline_writes_the_same_whatever_its_bids(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    buyer, buyer_headers = await council(client, staff_headers)
    bids: dict[int, list[tuple[str, Headers]]] = {}
    written = {}
    for count in COUNTS:
        tender = await published_tender(client, buyer, buyer_headers)
        bids[count] = []
        for i in range(count):
            _, _, headers = await member(client, staff_headers, f"Bidder {count}-{i} CIC")
            bid = await drafted_bid(client, headers, tender, "lot-1", 9_000)
            await submitted(client, headers, bid)
            bids[count].append((bid, headers))
        await tick(client)  # whatever was due before; this tender's deadline kept

        async def cancelled_and_ticked(tender: str = tender, count: int = count) -> None:
            await cancelled(client, f"/api/v1/tenders/{tender}", buyer_headers)
            for bid, headers in bids[count]:  # refused: nothing about a bid changes now
                withdrawal = await client.post(f"/api/v1/bids/{bid}/withdrawal", headers=headers)
                change = await client.put(
                    f"/api/v1/bids/{bid}", json=content(8_000), headers=headers
                )
                assert (withdrawal.status_code, change.status_code) == (409, 409), bid
                assert (await bid_of(client, headers, bid))["status"] == "submitted"
            await tick(client)

        written[count] = await written_by(client, cancelled_and_ticked)
    assert written == dict.fromkeys(COUNTS, ONE_BATCH)

    # Every bidder was told by its tender's batch: discarding queues no notice more.
    await discarded_at_the_deadline(client, clock, DEADLINE, notices=0)
    reason = "the tender was cancelled before opening"
    for bid, headers in bids[1] + bids[3]:
        view = await bid_of(client, headers, bid)
        assert (view["status"], view["closed_reason"]) == ("closed", reason), view


async def test_a_request_cancelled_before_its_deadline_writes_the_same_whatever_its_quotes(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    requester, _, r_headers = await member(client, staff_headers, "Fir Housing Co-operative")
    quotes: dict[int, list[tuple[str, Headers]]] = {}
    written = {}
    for count in COUNTS:
        request_id = await posted(client, r_headers, request_body(requester, budget=None))
        quotes[count] = []
        for i in range(count):
            org, _, headers = await member(client, staff_headers, f"Quoter {count}-{i} CIC")
            await quoted(client, headers, org, request_id, 9_000 + i)
            quotes[count].append((quote_path(org, request_id), headers))
        await tick(client)

        async def cancelled_and_ticked(request_id: str = request_id, count: int = count) -> None:
            await cancelled(client, f"/api/v1/requests-for-quote/{request_id}", r_headers)
            for path, headers in quotes[count]:  # refused: nothing about a quote changes now
                revised = await client.put(path, json=REVISED, headers=headers)
                declined = await client.post(f"{path}/decline", json={}, headers=headers)
                assert (revised.status_code, declined.status_code) == (409, 409), path
                own = await client.get(path, headers=headers)
                assert own.json()["status"] == "quoted", own.text
            await tick(client)

        written[count] = await written_by(client, cancelled_and_ticked)
    assert written == dict.fromkeys(COUNTS, ONE_BATCH)

    # The quoters were told by the batches: discarding queues no notice.
    await discarded_at_the_deadline(client, clock, REQUEST_DEADLINE, notices=0)
    for path, headers in quotes[1] + quotes[3]:
        own = await client.get(path, headers=headers)
        assert own.json()["status"] == "closed", own.text
