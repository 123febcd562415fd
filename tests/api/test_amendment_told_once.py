"""A member told of a tender's amendment once, whether it registered interest, bid, or both, and
the public notice the same whether or not an interested member bid (ADR 27), on both stores.

The interested suppliers' notice of an amendment (public: its rows name each addressee) is
written as before, bid or no bid. The sealed batch telling bidders is opened by the sender, and
an addressee the public notice of the same amendment already addresses is passed over there, so
a member with interest and a bid is mailed once; a batch whose every addressee is passed over is
sent as a batch naming nobody is (the server probed), so its row is handled the same. Each test
asserts its own rows only (the PostgreSQL database is shared)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import select

from tests.api.conftest import Mailbox
from tests.api.helpers import services_of
from tests.api.test_accounts import mail_to
from tests.api.test_bid_amendment_batches import WHY, amend, batch_rows
from tests.api.test_bid_scenario import drafted_bid, member, published_tender, submitted, tick
from tests.api.test_clarifications import council
from tests.api.test_tender_scenario import settle
from tests.conftest import AppClient
from tradehall.clock import ManualClock
from tradehall.mail.outbox import message_id_for
from tradehall.mail.tables import outbox_messages

Client = AppClient
Headers = dict[str, str]


async def interested(client: Client, headers: Headers, tender: str) -> None:
    registered = await client.post(f"/api/v1/tenders/{tender}/interest", headers=headers)
    assert registered.status_code == 200, registered.text


async def public_rows(client: Client, tender: str, version: int, template: str, org: str) -> Any:
    """The interested suppliers' notice row of the tender's event `version` to `org`."""
    key = message_id_for(UUID(tender), version, template, UUID(org))
    query = select(outbox_messages).where(outbox_messages.c.message_id == key)
    async with services_of(client).engine.connect() as connection:
        return list(await connection.execute(query))


def shape(row: Any) -> tuple[Any, ...]:
    """What a reader sees of a row, its tender's and addressee's ids aside: each value's size,
    and its state."""
    sizes = tuple(-1 if v is None else len(str(v)) for k, v in row._mapping.items())
    return sizes, row.template, row.attempts, row.last_error, row.sent_at is None


async def test_a_member_with_interest_and_a_bid_is_told_of_an_amendment_once(
    mail_client: Client,
    staff_headers: Headers,
    mailbox: tuple[Mailbox, int],
    clock: ManualClock,
) -> None:
    client, (box, _) = mail_client, mailbox
    buyer, buyer_headers = await council(client, staff_headers)
    tender = await published_tender(client, buyer, buyer_headers)
    _, both_email, both_headers = await member(client, staff_headers, "Alder Both CIC")
    _, watcher_email, watcher_headers = await member(client, staff_headers, "Birch Watch CIC")
    _, bidder_email, bidder_headers = await member(client, staff_headers, "Cedar Bid CIC")
    for headers in (both_headers, watcher_headers):
        await interested(client, headers, tender)
    both_bid = await drafted_bid(client, both_headers, tender, "lot-1", 10_000_000)
    await submitted(client, both_headers, both_bid)
    bid = await drafted_bid(client, bidder_headers, tender, "lot-2")
    clock.advance(timedelta(minutes=5))
    await amend(client, buyer_headers, tender)
    await settle(client)  # the interested suppliers' notice queued
    await tick(client)

    told = {
        email: [body for body in await mail_to(client, box, email) if WHY in body]
        for email in (both_email, watcher_email, bidder_email)
    }
    assert all(len(bodies) == 1 for bodies in told.values()), told
    assert f"/api/v1/bids/{bid}" in told[bidder_email][0]
    assert both_bid not in told[both_email][0]  # the public notice: it names no bid
    sent = len(box.messages)
    await tick(client)
    await mail_to(client, box, both_email)
    assert len(box.messages) == sent


async def test_the_public_notice_and_the_batch_are_handled_alike_whether_the_member_bid(
    mail_client: Client,
    staff_headers: Headers,
    mailbox: tuple[Mailbox, int],
    clock: ManualClock,
) -> None:
    """An interested member bids on one tender and not on the other: the public notice of each
    amendment is the same rows of the same sizes, sent alike; the two batches too (the one
    whose only addressee is passed over sent as the empty one is)."""
    client, (box, _) = mail_client, mailbox
    buyer, buyer_headers = await council(client, staff_headers)
    without, with_bid = [await published_tender(client, buyer, buyer_headers) for _ in range(2)]
    org, email, headers = await member(client, staff_headers, "Damson Both CIC")
    for tender in (without, with_bid):
        await interested(client, headers, tender)
    await drafted_bid(client, headers, with_bid, "lot-1")
    clock.advance(timedelta(minutes=5))
    versions = [await amend(client, buyer_headers, tender) for tender in (without, with_bid)]
    await settle(client)
    tenders = list(zip((without, with_bid), versions, strict=True))

    async def public() -> list[Any]:
        found = []
        for tender, version in tenders:
            [row] = await public_rows(client, tender, version, "tender_amended", org)
            found.append(shape(row))
        return found

    queued = await public()
    assert queued[0] == queued[1], queued
    await tick(client)
    told = [body for body in await mail_to(client, box, email) if WHY in body]
    assert len(told) == 2, told  # one for each tender
    sent = await public()
    assert sent[0] == sent[1], sent
    assert sent[0][2:] == (1, None, False)
    batches = []
    for tender, version in tenders:
        [row] = await batch_rows(client, tender, version)
        batches.append((row.attempts, row.last_error, row.next_attempt_at, row.sent_at))
    assert batches[0] == batches[1], batches
