"""Quoters are told at once when a request for quote is cancelled before its deadline, and the
count of quotes stays sealed (ADR 27, 35), on both stores: the opening clock's tick after the
public cancellation writes one sealed batch row, of one size whatever the number of quotes (none
included), and no event, discards no quote; the sender mails each quoter a message naming its
own quote alone. The quotes are discarded at the deadline plus the margin as before, and a quoter
the batch told is not told again; one the batch never told (no tick between the cancellation and
the deadline) is told then, once. Each test asserts its own rows only (the PostgreSQL database is
shared); the whole main file's tables are compared on SQLite, where the database is the test's
own."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import select

from marketplace.bids.content import SupplierFacts
from sharedkernel.events import Context
from sharedkernel.money import Money
from tests.api.conftest import Mailbox
from tests.api.helpers import services_of
from tests.api.sealed_rows import Rows, sealed_rows, sealed_size, shape
from tests.api.sealed_rows import batch_rows as sealed_batch_rows
from tests.api.test_accounts import mail_to
from tests.api.test_bid_scenario import at, member, tick
from tests.api.test_quote_scenario import (
    DEADLINE,
    REQUESTS,
    posted,
    quote_path,
    quoted,
    request_body,
)
from tests.api.test_tender_scenario import settle
from tests.conftest import AppClient
from tradehall.clock import ManualClock
from tradehall.mail.outbox import message_id_for
from tradehall.mail.tables import outbox_messages
from tradehall.marketplace.bids.amendment_notices import TEMPLATE_QUOTES
from tradehall.marketplace.sealing.outbox import open_sealed_messages

Client = AppClient
Headers = dict[str, str]
WHY = "Our own staff will do it"
NEVER = "will never be opened"


async def cancelled(client: Client, headers: Headers, request_id: str) -> int:
    """The request cancelled; the Cancelled event's version."""
    answer = await client.post(
        f"{REQUESTS}/{request_id}/cancellation", json={"reason": WHY}, headers=headers
    )
    assert answer.status_code == 200, answer.text
    version: int = answer.json()["version"]
    return version


async def batch_rows(client: Client, request_id: str, version: int) -> list[Any]:
    """The outbox rows of the cancellation's batch."""
    return await sealed_batch_rows(client, UUID(request_id), version, TEMPLATE_QUOTES)


async def own_quote(client: Client, supplier: str, request_id: str, headers: Headers) -> Any:
    answer = await client.get(quote_path(supplier, request_id), headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


async def test_a_cancellation_writes_the_same_rows_and_log_lines_for_0_1_and_3_quotes(
    client: Client, staff_headers: Headers, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    requester, _, r_headers = await member(client, staff_headers, "Fir Housing Co-operative")
    requests = [await posted(client, r_headers, request_body(requester)) for _ in range(3)]
    quoters = [await member(client, staff_headers, f"Quoter {n} CIC") for n in range(3)]
    quotes: dict[str, list[tuple[str, Headers]]] = {r: [] for r in requests}
    for count, request_id in zip((0, 1, 3), requests, strict=True):
        for n, (supplier, _, headers) in enumerate(quoters[:count]):
            await quoted(client, headers, supplier, request_id, 30_000 + n)
            quotes[request_id].append((supplier, headers))
    await tick(client)  # every deadline kept
    clock.advance(timedelta(minutes=5))

    shapes, lines, sizes = [], [], []
    for request_id in requests:
        version = await cancelled(client, r_headers, request_id)
        await settle(client)  # the read side's rows written before the tick, not during it
        suppliers = [s for s, _ in quotes[request_id]]
        before = await _snapshot(client, request_id, version, suppliers)
        caplog.clear()
        with caplog.at_level(logging.DEBUG, logger="tradehall"):
            await tick(client)
        after = await _snapshot(client, request_id, version, suppliers)
        shapes.append((shape(after - before), shape(before - after)))
        lines.append(
            [
                (r.name, r.levelname, r.getMessage().replace(request_id, "REQUEST"))
                for r in caplog.records
                if r.name.startswith("tradehall")
                and getattr(r, "request_id", request_id) == request_id
            ]
        )
        [row] = await batch_rows(client, request_id, version)
        sizes.append(sealed_size(row))
        batch, told = open_sealed_messages(services_of(client).sealing, row)
        assert batch
        assert sorted(str(org) for org, *_ in told) == sorted(suppliers)
        for org, template, _, body in told:  # each names its own quote, and no other
            assert template == TEMPLATE_QUOTES
            assert quote_path(str(org), request_id) in body
            assert WHY in body
            assert NEVER in body
            assert [s for s in suppliers if s in body] == [str(org)]
        for supplier, headers in quotes[request_id]:  # none discarded before the deadline
            assert (await own_quote(client, supplier, request_id, headers))["status"] == "quoted"
    assert shapes[0] == shapes[1] == shapes[2], shapes
    # The one row the tick wrote is the batch: no event, no other row.
    assert [table for table, _ in shapes[0][0]] == ["outbox_messages"], shapes[0]
    assert shapes[0][1] == []
    assert lines[0] == lines[1] == lines[2], lines
    assert lines[0], "the tick logs the cancellation told"
    assert sizes[0] == sizes[1] == sizes[2], sizes


async def test_each_quoter_is_mailed_once_at_the_cancellation_naming_its_own_quote(
    mail_client: Client, staff_headers: Headers, mailbox: tuple[Mailbox, int], clock: ManualClock
) -> None:
    client, (box, _) = mail_client, mailbox
    requester, _, r_headers = await member(client, staff_headers, "Hazel Housing Co-operative")
    request_id = await posted(client, r_headers, request_body(requester, budget=None))
    quoters = [await member(client, staff_headers, n) for n in ("Gorse CIC", "Holly Vans Ltd")]
    for n, (supplier, _, headers) in enumerate(quoters):
        await quoted(client, headers, supplier, request_id, 9_000 + n)
    bystander, bystander_email, _ = await member(client, staff_headers, "Wren Cafe CIC")
    await tick(client)
    await cancelled(client, r_headers, request_id)
    await tick(client)  # before the deadline: told by the batch
    await settle(client)
    for supplier, email, headers in quoters:
        told = [body for body in await mail_to(client, box, email) if NEVER in body]
        assert len(told) == 1, told
        assert WHY in told[0]
        assert quote_path(supplier, request_id) in told[0]
        others = [s for s, _, _ in quoters if s != supplier]
        assert not any(other in told[0] for other in others)
        assert (await own_quote(client, supplier, request_id, headers))["status"] == "quoted"
    assert [b for b in await mail_to(client, box, bystander_email) if NEVER in b] == []

    # At the deadline the quotes are discarded, and nobody is told again.
    margin = timedelta(seconds=services_of(client).settings.bid_opening_margin_seconds)
    clock.set(at(DEADLINE) + margin)
    await tick(client)
    await tick(client)
    for supplier, email, headers in quoters:
        told = [body for body in await mail_to(client, box, email) if NEVER in body]
        assert len(told) == 1, told
        assert (await own_quote(client, supplier, request_id, headers))["status"] == "closed"
    assert bystander  # never quoted: nothing of the request reached it


async def test_an_invited_quoter_is_left_out_of_the_batch_and_told_once(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    requester, _, r_headers = await member(client, staff_headers, "Hazel Housing Co-operative")
    holly, _, h_headers = await member(client, staff_headers, "Holly Cleaning CIC")
    body = request_body(requester, audience="invited", invited=[holly], budget=None)
    request_id = await posted(client, r_headers, body)
    await quoted(client, h_headers, holly, request_id, 8_800)
    await tick(client)
    version = await cancelled(client, r_headers, request_id)
    await tick(client)
    # The request's notice writer tells every invited member: the batch names nobody.
    [row] = await batch_rows(client, request_id, version)
    assert open_sealed_messages(services_of(client).sealing, row) == (True, [])
    margin = timedelta(seconds=services_of(client).settings.bid_opening_margin_seconds)
    clock.set(at(DEADLINE) + margin)
    await tick(client)
    services = services_of(client)
    await services.run(services.readside.projector.catch_up)
    async with services.engine.connect() as connection:
        plain = list(
            await connection.scalars(
                select(outbox_messages.c.body).where(
                    outbox_messages.c.organisation_id == UUID(holly),
                    outbox_messages.c.template == "quote_request_cancelled",
                )
            )
        )
        sealed = await connection.execute(
            select(outbox_messages).where(outbox_messages.c.sealed.is_not(None))
        )
        told = [
            m
            for r in sealed
            for m in open_sealed_messages(services.sealing, r)[1]
            if str(m[0]) == holly and m[1] != "quote_receipt"
        ]
    assert len(plain) == 1, plain
    assert WHY in plain[0]
    assert told == []


async def test_quoters_not_told_at_the_cancellation_are_told_once_at_the_deadline(
    mail_client: Client, staff_headers: Headers, mailbox: tuple[Mailbox, int], clock: ManualClock
) -> None:
    client, (box, _) = mail_client, mailbox
    requester, _, r_headers = await member(client, staff_headers, "Larch Housing CIC")
    request_id = await posted(client, r_headers, request_body(requester, budget=None))
    supplier, email, headers = await member(client, staff_headers, "Maple Removals CIC")
    await quoted(client, headers, supplier, request_id, 70_000)
    await tick(client)
    version = await cancelled(client, r_headers, request_id)
    # The clock stopped from the cancellation to the deadline: no batch, told by the discarding.
    margin = timedelta(seconds=services_of(client).settings.bid_opening_margin_seconds)
    clock.set(at(DEADLINE) + margin)
    await tick(client)
    await tick(client)
    assert await batch_rows(client, request_id, version) == []
    assert (await own_quote(client, supplier, request_id, headers))["status"] == "closed"
    told = [body for body in await mail_to(client, box, email) if NEVER in body]
    assert len(told) == 1, told
    assert WHY in told[0]


async def test_a_quote_saved_in_a_race_with_the_cancellation_is_told_once_at_the_deadline(
    mail_client: Client, staff_headers: Headers, mailbox: tuple[Mailbox, int], clock: ManualClock
) -> None:
    """A quote command that read the request open before the cancellation and saved its quote
    after the tick's batch: the batch did not name it, so the discarding tells it (the deadline
    reads whom the batch named, not the quotes' times)."""
    client, (box, _) = mail_client, mailbox
    services = services_of(client)
    requester, _, r_headers = await member(client, staff_headers, "Oak Housing CIC")
    request_id = await posted(client, r_headers, request_body(requester, budget=None))
    supplier, email, headers = await member(client, staff_headers, "Pine Removals CIC")
    marketplace, bids = services.applications["marketplace"], services.applications["bids"]
    read_open = await services.run(marketplace.request_for_quote, UUID(request_id))
    started = Context(actor=str(UUID(supplier)), request_id="racing-quote", at=clock.now())
    await tick(client)
    clock.advance(timedelta(seconds=1))
    version = await cancelled(client, r_headers, request_id)
    await tick(client)  # the batch: no quote yet
    [row] = await batch_rows(client, request_id, version)
    assert open_sealed_messages(services.sealing, row) == (True, [])
    facts = SupplierFacts(UUID(supplier), True, True, False, ("TLC3",))
    await services.run(
        bids.submit_quote, started, read_open, facts, Money("GBP", 9_000), "In a race"
    )
    margin = timedelta(seconds=services.settings.bid_opening_margin_seconds)
    clock.set(at(DEADLINE) + margin)
    await tick(client)
    assert (await own_quote(client, supplier, request_id, headers))["status"] == "closed"
    told = [body for body in await mail_to(client, box, email) if NEVER in body]
    assert len(told) == 1, told


async def _snapshot(client: Client, request_id: str, version: int, suppliers: list[str]) -> Rows:
    """The request's sealed rows around its cancellation's batch (tests.api.sealed_rows)."""
    ids = services_of(client).applications["bids"].ids
    owner = UUID(request_id)
    batch = message_id_for(owner, version, TEMPLATE_QUOTES)[:-1]
    sealed = [ids.box_id(owner), *(ids.quote_id(owner, UUID(s)) for s in suppliers)]
    return await sealed_rows(client, owner, batch, sealed)
