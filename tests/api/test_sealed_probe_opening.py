"""The opening clock interrupted between its steps while the buyer ends the tender, probed on
both stores (the "sealed" probe). The clock opens a tender's bids in the sealed log, then records
them in the marketplace's; a buyer may close a tender unsuccessful (or cancel it) after its
deadline until that record is made. A tick that stopped between its steps (a crash, or the
buyer's closing committed in between, so that the record is refused) must leave a state the
next tick settles: the tender ended unopened, so its bids are never opened after all (nobody
but their bidders ever saw them as opened), every bidder is told, and the key is settled, not an
error at every tick for ever with the bidders never told."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select

from sharedkernel.events import CLOCK, Context
from tests.api.helpers import services_of
from tests.api.test_bid_scenario import (
    at,
    bid_of,
    opened_bids,
    tender_with_a_submitted_bid,
    tick,
)
from tests.api.test_quote_scenario import sealed_notices
from tests.api.test_tenders import DEADLINE
from tests.conftest import AppClient
from tradehall.clock import ManualClock
from tradehall.marketplace.bids.suppliers import facts_of
from tradehall.marketplace.sealing.tables import sealing_keys

Client = AppClient
Headers = dict[str, str]


async def test_a_tender_closed_while_the_clock_was_between_its_steps_is_settled_unopened(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    made = await tender_with_a_submitted_bid(client, staff_headers)
    tender, buyer_headers, bidder, bidder_headers, bid = (
        made.tender,
        made.buyer_headers,
        made.bidder,
        made.bidder_headers,
        made.bid,
    )
    services = services_of(client)
    bids, marketplace = services.applications["bids"], services.applications["marketplace"]
    membership, marks = services.applications["membership"], services.applications["marks"]
    margin = timedelta(seconds=services.settings.bid_opening_margin_seconds)
    clock.set(at(DEADLINE) + margin)

    # The clock's first step: the bids opened in the sealed log; then it stopped.
    context = Context(actor=CLOCK, request_id="opening-interrupted", at=clock.now())
    loaded = await services.run(marketplace.tender, uuid.UUID(tender))
    await services.run(
        bids.open_bids,
        context,
        loaded,
        lambda members: facts_of(membership, marks, members, context.at),
    )
    # The buyer closes the tender, which the marketplace (that never recorded an opening) takes.
    closed = await client.post(
        f"/api/v1/tenders/{tender}/closure",
        json={"reason": "The service is no longer needed"},
        headers=buyer_headers,
    )
    assert closed.status_code == 200, closed.text

    # Only this tender's outcome is asserted, not the tick's totals: on PostgreSQL the tests
    # share one database, and the tick settles every earlier test's tender due by now too.
    await tick(client)
    async with services.engine.connect() as connection:
        settled = await connection.scalar(
            select(sealing_keys.c.settled_at).where(sealing_keys.c.key_id == uuid.UUID(tender))
        )
    assert settled is not None
    own = await bid_of(client, bidder_headers, bid)
    assert own["status"] == "closed", own
    assert "before opening" in own["closed_reason"], own
    told = [body for t, body in await sealed_notices(client, bidder) if t == "bid_tender_ended"]
    assert len(told) == 1, told
    assert "The service is no longer needed" in told[0]
    # Nobody reads them as opened, and the next tick does nothing more.
    assert (await opened_bids(client, tender, buyer_headers)).status_code == 404
    await tick(client)
    assert (await bid_of(client, bidder_headers, bid))["status"] == "closed"
    assert len(await sealed_notices(client, bidder)) == 2  # the receipt and the word, once
