"""A tender or a request for quote cancelled before its deadline, probed on both stores (the
"sealed" probe): the cancellation happens before the deadline, so nothing of it may tell anyone
but the bidders (quoters) whether there were bids; the clock discards what was sealed in it only
at the deadline plus the margin. Two tenders (requests) alike but for their bids (quotes), both
cancelled, the clock run: every answer the buyer (requester), staff, a member that did not bid
and an anonymous caller get is the same for both, the ids aside; a non-bidder's later attempt is
refused alike. A tender's bidders' users are mailed at the tick after the ending (from one
sealed batch row a tender, of one size whatever its bids: tradehall.marketplace.bids.
amendment_notices), nobody else, and not again at the deadline; a request's quoters alike."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from tests.api.conftest import Mailbox
from tests.api.helpers import services_of
from tests.api.test_bid_scenario import (
    at,
    drafted_bid,
    member,
    published_tender,
    submitted,
    tick,
)
from tests.api.test_clarifications import council
from tests.api.test_quote_scenario import DEADLINE as REQUEST_DEADLINE
from tests.api.test_quote_scenario import posted, quote_path, quoted, request_body
from tests.api.test_tender_scenario import settle
from tests.api.test_tenders import DEADLINE
from tests.conftest import AppClient
from tradehall.clock import ManualClock
from tradehall.mail.sender import send_pending

# The opening clock reads every unsettled tender there is: in the run's shared database, every
# earlier test's (17 s on PostgreSQL late in a CI run, a few seconds in a database of its own).
pytestmark = pytest.mark.own_database

Client = AppClient
Headers = dict[str, str]
VOLATILE = {"date", "x-request-id"}
REQUESTS = "/api/v1/requests-for-quote"


def seen(response: httpx.Response, own_id: str) -> tuple[Any, ...]:
    """What a caller sees, its tender's (request's) id read as a placeholder of equal length."""
    placeholder = "0" * len(own_id)
    headers = sorted(
        (k, v.replace(own_id, placeholder))
        for k, v in response.headers.items()
        if k.lower() not in VOLATILE
    )
    return response.status_code, headers, response.text.replace(own_id, placeholder)


async def sent_to(client: Client, box: Mailbox) -> list[str]:
    services = services_of(client)
    before = len(box.messages)
    while await send_pending(services, services.settings.smtp):
        pass
    return sorted(str(m["To"]) for m in box.messages[before:])


async def told_at_the_deadline(
    client: Client, clock: ManualClock, box: Mailbox, deadline: str
) -> list[str]:
    """Who is mailed when the clock ticks at the deadline plus the margin."""
    margin = services_of(client).settings.bid_opening_margin_seconds
    clock.set(at(deadline) + timedelta(seconds=margin))
    await tick(client)
    await settle(client)
    return await sent_to(client, box)


def without_position(response: httpx.Response, own_id: str) -> tuple[Any, ...]:
    body = response.json()
    body.pop("position", None)
    return response.status_code, str(body).replace(own_id, "0" * len(own_id))


async def test_a_tender_cancelled_with_bids_answers_as_one_cancelled_without(
    mail_client: Client, staff_headers: Headers, mailbox: tuple[Mailbox, int], clock: ManualClock
) -> None:
    client, (box, _) = mail_client, mailbox
    buyer, buyer_headers = await council(client, staff_headers)
    full = await published_tender(client, buyer, buyer_headers)
    empty = await published_tender(client, buyer, buyer_headers)
    _, _, outsider = await member(client, staff_headers, "Wren Cafe CIC")
    bidders = []
    for name in ("Alder Grounds CIC", "Beech Parks Trust", "Cedar Landscapes Co-op"):
        _, email, headers = await member(client, staff_headers, name)
        bid = await drafted_bid(client, headers, full, "lot-1", 10_000_000)
        await submitted(client, headers, bid)
        bidders.append(email)
    await sent_to(client, box)  # what membership and the receipts queued

    cancelled = {}
    for tender in (full, empty):
        response = await client.post(
            f"/api/v1/tenders/{tender}/cancellation",
            json={"reason": "The budget was withdrawn"},
            headers=buyer_headers,
        )
        assert response.status_code == 200, response.text
        cancelled[tender] = without_position(response, tender)
    assert cancelled[full] == cancelled[empty]
    await tick(client)  # before the deadline: nothing is discarded; each tender's batch written
    await settle(client)
    assert await sent_to(client, box) == sorted(bidders)  # the bidders at once, nobody else

    callers = {"buyer": buyer_headers, "staff": staff_headers, "outsider": outsider, "anon": {}}
    paths = (
        "/api/v1/tenders/{}",
        f"/api/v1/organisations/{buyer}/tenders/{{}}",
        "/api/v1/tenders/{}/bids",
        "/api/v1/tenders/{}/questions",
        "/api/v1/tenders/{}/lots/lot-1/evaluation",
        "/api/v1/tenders/{}/lots/lot-1/award",
        "/api/v1/tenders/{}/lots/lot-1/assessment-summary",
    )
    for who, headers in callers.items():
        for path in paths:
            with_bids = await client.get(path.format(full), headers=headers)
            without = await client.get(path.format(empty), headers=headers)
            assert with_bids.status_code < 500, (who, path, with_bids.text)
            assert seen(with_bids, full) == seen(without, empty), (who, path)
    # A member that did not bid is refused alike on both.
    drafts = [
        await client.post(
            "/api/v1/bids", json={"tender_id": tender, "lot_id": "lot-1"}, headers=outsider
        )
        for tender in (full, empty)
    ]
    assert drafts[0].status_code == 409, drafts[0].text
    assert seen(drafts[0], full) == seen(drafts[1], empty)
    # At the deadline the bids are discarded, and nobody is told again.
    assert await told_at_the_deadline(client, clock, box, DEADLINE) == []


async def test_a_request_cancelled_with_quotes_answers_as_one_cancelled_without(
    mail_client: Client, staff_headers: Headers, mailbox: tuple[Mailbox, int], clock: ManualClock
) -> None:
    client, (box, _) = mail_client, mailbox
    requester, _, r_headers = await member(client, staff_headers, "Fir Housing Co-operative")
    full = await posted(client, r_headers, request_body(requester, budget=None))
    empty = await posted(client, r_headers, request_body(requester, budget=None))
    outsider, _, o_headers = await member(client, staff_headers, "Wren Cafe CIC")
    quoters = []
    for name, price in (("Gorse Cleaning CIC", 9_900), ("Holly Movers Ltd", 8_800)):
        supplier, email, headers = await member(client, staff_headers, name)
        await quoted(client, headers, supplier, full, price)
        quoters.append(email)
    await sent_to(client, box)  # what membership and the receipts queued

    cancelled = {}
    for request_id in (full, empty):
        response = await client.post(
            f"{REQUESTS}/{request_id}/cancellation",
            json={"reason": "Our own staff will do it"},
            headers=r_headers,
        )
        assert response.status_code == 200, response.text
        cancelled[request_id] = without_position(response, request_id)
    assert cancelled[full] == cancelled[empty]
    # The tick after: nothing discarded; one sealed batch a request tells the quoters alone.
    await tick(client)
    await settle(client)
    assert await sent_to(client, box) == sorted(quoters)

    callers = {"requester": r_headers, "staff": staff_headers, "outsider": o_headers, "anon": {}}
    for who, headers in callers.items():
        for path in (f"{REQUESTS}/{{}}", f"{REQUESTS}/{{}}/quotes"):
            with_quotes = await client.get(path.format(full), headers=headers)
            without = await client.get(path.format(empty), headers=headers)
            assert with_quotes.status_code < 500, (who, path, with_quotes.text)
            assert seen(with_quotes, full) == seen(without, empty), (who, path)
    # A member that did not quote is refused alike on both, and has no quote on either.
    for request_id, other in ((full, empty), (empty, full)):
        late = await client.put(
            quote_path(outsider, request_id),
            json={"price_minor": 5_000, "currency": "GBP", "note": ""},
            headers=o_headers,
        )
        again = await client.put(
            quote_path(outsider, other),
            json={"price_minor": 5_000, "currency": "GBP", "note": ""},
            headers=o_headers,
        )
        assert late.status_code == 409, late.text
        assert seen(late, request_id) == seen(again, other)
    for request_id in (full, empty):
        own = await client.get(quote_path(outsider, request_id), headers=o_headers)
        assert own.status_code == 404, own.text
    # At the deadline the quotes are discarded, and nobody is told again.
    assert await told_at_the_deadline(client, clock, box, REQUEST_DEADLINE) == []
