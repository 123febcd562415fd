"""A member told of a tender's amendment once, whether it registered interest, bid, or both, and
the public notice the same whether or not an interested member bid (ADR 27), on both stores.

The interested suppliers' notice of an amendment (public: its rows name each addressee) is
written as before, bid or no bid. The sealed batch telling bidders is opened by the sender, and
an addressee the public notice of the same amendment already addresses is passed over there, so
a member with interest and a bid is mailed once; a batch whose every addressee is passed over is
sent as a batch naming nobody is (the server probed), so its row is handled the same. Each test
asserts its own rows only (the PostgreSQL database is shared)."""

from __future__ import annotations

from dataclasses import dataclass
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


@dataclass(frozen=True)
class Followers:
    """A published tender and four members: one with interest alone (the watcher), one with a
    bid alone, one with both (its bid submitted), one with neither; their e-mails, two bids."""

    buyer_headers: Headers
    tender: str
    watcher: str
    bidder: str
    both: str
    bystander: str
    bid: str  # the bidder's
    both_bid: str

    @property
    def emails(self) -> tuple[str, ...]:
        return (self.watcher, self.bidder, self.both, self.bystander)


async def followed_tender(client: Client, staff_headers: Headers) -> Followers:
    buyer, buyer_headers = await council(client, staff_headers)
    tender = await published_tender(client, buyer, buyer_headers)
    _, watcher, watcher_headers = await member(client, staff_headers, "Alder Watch CIC")
    _, bidder, bidder_headers = await member(client, staff_headers, "Birch Bid CIC")
    _, both, both_headers = await member(client, staff_headers, "Cedar Both CIC")
    _, bystander, _ = await member(client, staff_headers, "Damson Bystander CIC")
    for headers in (watcher_headers, both_headers):
        await interested(client, headers, tender)
    both_bid = await drafted_bid(client, both_headers, tender, "lot-1", 10_000_000)
    await submitted(client, both_headers, both_bid)
    bid = await drafted_bid(client, bidder_headers, tender, "lot-2")
    return Followers(
        buyer_headers, tender, watcher, bidder, both, bystander, bid=bid, both_bid=both_bid
    )


async def told_once(
    client: Client, box: Mailbox, followers: Followers, marker: str
) -> dict[str, list[str]]:
    """After the clock's tick: the watcher, the bidder and the member with both mailed once of
    the change (its messages holding `marker`), the bidder's naming its bid, the other's
    none (the public notice); the bystander not at all; a second tick sends nothing more.
    What each of the three was told."""
    await tick(client)
    told = {
        email: [body for body in await mail_to(client, box, email) if marker in body]
        for email in followers.emails
    }
    assert told.pop(followers.bystander) == []
    assert all(len(bodies) == 1 for bodies in told.values()), told
    assert f"/api/v1/bids/{followers.bid}" in told[followers.bidder][0]
    assert followers.both_bid not in told[followers.both][0]
    assert "/api/v1/bids/" not in told[followers.watcher][0]
    sent = len(box.messages)
    await tick(client)
    await mail_to(client, box, followers.both)
    assert len(box.messages) == sent
    return told


async def test_a_member_with_interest_and_a_bid_is_told_of_an_amendment_once(
    mail_client: Client,
    staff_headers: Headers,
    mailbox: tuple[Mailbox, int],
    clock: ManualClock,
) -> None:
    client, (box, _) = mail_client, mailbox
    followers = await followed_tender(client, staff_headers)
    clock.advance(timedelta(minutes=5))
    await amend(client, followers.buyer_headers, followers.tender)
    await settle(client)  # the interested suppliers' notice queued
    await told_once(client, box, followers, WHY)


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
