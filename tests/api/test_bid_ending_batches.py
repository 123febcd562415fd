"""Bidders are told at once when a tender ends (cancelled) before its deadline, and the count
of bids stays sealed (ADR 27), on both stores: the opening clock's tick after the public ending
writes one sealed batch row, of one size whatever the number of bids (none included), and no
event, discards no bid; the sender mails each member of each bid a message naming its own bid
alone. The bids are discarded at the deadline plus the margin as before, and a bidder the batch
told is not told again; one the batch never told (no tick between the ending and the deadline)
is told then, once. Each test asserts its own rows only (the PostgreSQL database is shared); the
whole main file's tables are compared on SQLite, where the database is the test's own."""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from typing import Any
from uuid import UUID

import pytest

from sharedkernel.events import Context
from tests.api.conftest import Mailbox
from tests.api.helpers import services_of
from tests.api.sealed_rows import Rows, batch_rows, sealed_rows, sealed_size
from tests.api.test_accounts import mail_to
from tests.api.test_bid_amendment_batches import tenders_with_0_1_and_3_bids, what_a_tick_writes
from tests.api.test_bid_scenario import (
    at,
    bid_of,
    drafted_bid,
    member,
    published_tender,
    submitted,
    tick,
)
from tests.api.test_clarifications import council
from tests.api.test_tender_scenario import settle
from tests.api.test_tenders import DEADLINE
from tests.conftest import AppClient
from tradehall.clock import ManualClock
from tradehall.mail.outbox import message_id_for
from tradehall.marketplace.bids.amendment_notices import TEMPLATE_ENDED
from tradehall.marketplace.bids.suppliers import supplier_facts
from tradehall.marketplace.sealing.outbox import open_sealed_messages

Client = AppClient
Headers = dict[str, str]
WHY = "The budget was withdrawn"


async def cancelled(client: Client, headers: Headers, tender: str) -> int:
    """The tender cancelled; the Ended event's version."""
    answer = await client.post(
        f"/api/v1/tenders/{tender}/cancellation", json={"reason": WHY}, headers=headers
    )
    assert answer.status_code == 200, answer.text
    version: int = answer.json()["version"]
    return version


async def ending_rows(client: Client, tender: str, version: int) -> list[Any]:
    """The outbox rows of the ending's batch."""
    return await batch_rows(client, UUID(tender), version, TEMPLATE_ENDED)


async def test_an_ending_writes_the_same_rows_and_log_lines_for_0_1_and_3_bids(
    client: Client, staff_headers: Headers, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    buyer_headers, tenders, bidders, bids = await tenders_with_0_1_and_3_bids(
        client, staff_headers, submitted_on=2
    )
    await tick(client)  # every deadline kept
    clock.advance(timedelta(minutes=5))

    shapes, lines, sizes = [], [], []
    for tender in tenders:
        version = await cancelled(client, buyer_headers, tender)
        await settle(client)  # the read side's rows written before the tick, not during it
        written, logged = await what_a_tick_writes(
            client, caplog, tender, partial(_snapshot, client, tender, version, bids[tender])
        )
        shapes.append(written)
        lines.append(logged)
        [row] = await ending_rows(client, tender, version)
        sizes.append(sealed_size(row))
        batch, told = open_sealed_messages(services_of(client).sealing, row)
        assert batch
        assert sorted(b for _, _, _, body in told for b in bids[tender] if b in body) == sorted(
            bids[tender]
        )
        for (_, _, headers), bid in zip(bidders, bids[tender], strict=False):
            view = await bid_of(client, headers, bid)  # none discarded before the deadline
            assert view["status"] in {"draft", "submitted"}, view
    assert shapes[0] == shapes[1] == shapes[2], shapes
    # The one row the tick wrote is the batch: no event, no other row.
    assert [table for table, _ in shapes[0][0]] == ["outbox_messages"], shapes[0]
    assert shapes[0][1] == []
    assert lines[0] == lines[1] == lines[2], lines
    assert sizes[0] == sizes[1] == sizes[2], sizes


async def test_bidders_not_told_at_the_ending_are_told_once_at_the_deadline(
    mail_client: Client, staff_headers: Headers, mailbox: tuple[Mailbox, int], clock: ManualClock
) -> None:
    client, (box, _) = mail_client, mailbox
    buyer, buyer_headers = await council(client, staff_headers)
    tender = await published_tender(client, buyer, buyer_headers)
    _, email, headers = await member(client, staff_headers, "Gorse Paths CIC")
    bid = await drafted_bid(client, headers, tender, "lot-1", 10_000_000)
    await submitted(client, headers, bid)
    await tick(client)
    version = await cancelled(client, buyer_headers, tender)
    # The clock stopped from the ending to the deadline: no batch, told by the discarding.
    margin = timedelta(seconds=services_of(client).settings.bid_opening_margin_seconds)
    clock.set(at(DEADLINE) + margin)
    await tick(client)
    await tick(client)
    assert await ending_rows(client, tender, version) == []
    assert (await bid_of(client, headers, bid))["status"] == "closed"
    told = [body for body in await mail_to(client, box, email) if "never be opened" in body]
    assert len(told) == 1, told
    assert WHY in told[0]


async def test_a_bid_drafted_in_a_race_with_the_ending_is_told_once_at_the_deadline(
    mail_client: Client, staff_headers: Headers, mailbox: tuple[Mailbox, int], clock: ManualClock
) -> None:
    """A draft command that read the tender open before the ending and saved its bid after the
    tick's batch: the batch did not name it, so the discarding tells it (the deadline reads
    whom the batch named, not the bids' times; found by analogy with requests for quote)."""
    client, (box, _) = mail_client, mailbox
    services = services_of(client)
    apps = services.applications
    buyer, buyer_headers = await council(client, staff_headers)
    tender = await published_tender(client, buyer, buyer_headers)
    organisation, email, headers = await member(client, staff_headers, "Heather Lanes CIC")
    read_open = await services.run(apps["marketplace"].tender, UUID(tender))
    facts = await services.run(
        supplier_facts, apps["membership"], apps["marks"], UUID(organisation), clock.now()
    )
    started = Context(actor=organisation, request_id="racing-bid", at=clock.now())
    clock.advance(timedelta(seconds=1))
    version = await cancelled(client, buyer_headers, tender)
    await tick(client)  # the batch: no bid yet
    [row] = await ending_rows(client, tender, version)
    assert open_sealed_messages(services.sealing, row) == (True, [])
    drafted = await services.run(apps["bids"].draft_bid, started, read_open, "lot-1", facts)
    margin = timedelta(seconds=services.settings.bid_opening_margin_seconds)
    clock.set(at(DEADLINE) + margin)
    await tick(client)
    assert (await bid_of(client, headers, str(drafted.aggregate_id)))["status"] == "closed"
    told = [body for body in await mail_to(client, box, email) if "never be opened" in body]
    assert len(told) == 1, told


async def _snapshot(client: Client, tender: str, version: int, bids: list[str]) -> Rows:
    """The tender's sealed rows around its ending's batch (tests.api.sealed_rows)."""
    box = services_of(client).applications["bids"].ids.box_id(UUID(tender))
    batch = message_id_for(UUID(tender), version, TEMPLATE_ENDED)[:-1]
    return await sealed_rows(client, UUID(tender), batch, [box, *(UUID(b) for b in bids)])
