"""A document added to a published tender is told as an amendment is (ADR 27), on both stores:
each interested supplier by the public notice (tradehall.marketplace.notices), each bidder by
the opening clock's sealed batch (one row of one size whatever the number of bids, keyed by the
public `Tender.DocumentAdded` event), a member with interest and a bid once; a document added to
a draft tells nobody. Each test asserts its own rows only (the PostgreSQL database is shared)."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

import pytest

from tests.api.conftest import Mailbox
from tests.api.sealed_rows import batch_rows as sealed_batch_rows
from tests.api.test_accounts import mail_to
from tests.api.test_amendment_told_once import followed_tender, interested, told_once
from tests.api.test_bid_amendment_batches import written_alike
from tests.api.test_bid_scenario import (
    FOR_MEMBERS,
    drafted_bid,
    member,
    tick,
)
from tests.api.test_clarifications import council
from tests.api.test_tender_scenario import settle
from tests.api.test_tenders import terms
from tests.conftest import AppClient
from tests.evidence_files import png
from tradehall.clock import ManualClock
from tradehall.marketplace.bids.amendment_notices import TEMPLATE_DOCUMENT

Client = AppClient
Headers = dict[str, str]
FILENAME = "site plan for the cafe.png"


async def added(client: Client, headers: Headers, tender: str, filename: str = FILENAME) -> int:
    """A document added to the tender by its buyer; the DocumentAdded event's version."""
    answer = await client.post(
        f"/api/v1/tenders/{tender}/documents/technicalSpecifications?filename={filename}",
        content=png(),
        headers=headers | {"Content-Type": "application/octet-stream"},
    )
    assert answer.status_code == 201, answer.text
    version: int = answer.json()["version"]
    return version


async def test_interested_suppliers_and_bidders_are_each_told_of_a_document_once(
    mail_client: Client,
    staff_headers: Headers,
    mailbox: tuple[Mailbox, int],
    clock: ManualClock,
) -> None:
    client, (box, _) = mail_client, mailbox
    followers = await followed_tender(client, staff_headers)
    clock.advance(timedelta(minutes=5))
    await added(client, followers.buyer_headers, followers.tender)
    await settle(client)  # the interested suppliers' notice queued
    told = await told_once(client, box, followers, FILENAME)
    for bodies in told.values():
        assert f"/api/v1/tenders/{followers.tender}/documents/" in bodies[0], bodies


async def test_a_document_added_to_a_draft_tells_nobody(
    mail_client: Client,
    staff_headers: Headers,
    mailbox: tuple[Mailbox, int],
) -> None:
    client, (box, _) = mail_client, mailbox
    buyer, buyer_headers = await council(client, staff_headers)
    drafted = await client.post(
        f"/api/v1/organisations/{buyer}/tenders",
        json=terms(eligibility=FOR_MEMBERS),
        headers=buyer_headers,
    )
    assert drafted.status_code == 201, drafted.text
    tender = drafted.json()["id"]
    version = await added(client, buyer_headers, tender)
    published = await client.post(
        f"/api/v1/tenders/{tender}/publication", json={}, headers=buyer_headers
    )
    assert published.status_code == 200, published.text
    _, email, headers = await member(client, staff_headers, "Elm Early CIC")
    await interested(client, headers, tender)
    await drafted_bid(client, headers, tender, "lot-1")
    await settle(client)
    await tick(client)
    assert await sealed_batch_rows(client, UUID(tender), version, TEMPLATE_DOCUMENT) == []
    assert [body for body in await mail_to(client, box, email) if FILENAME in body] == []


async def test_a_document_on_tenders_of_0_1_and_3_bids_writes_the_same_rows_and_log_lines(
    client: Client, staff_headers: Headers, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    await written_alike(client, staff_headers, clock, caplog, added, TEMPLATE_DOCUMENT)
