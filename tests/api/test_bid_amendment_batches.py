"""Every bidder is told of a tender's amendments, whether or not it registered interest, and the
count of bids stays sealed (ADR 27), on both stores: the opening clock's tick after a public
amendment writes one sealed batch row of one size for it whatever the number of bids (none
included), and the sender opens it and mails each member of each bid drafted before the
amendment and not opened (a draft, a submitted or a withdrawn bid) a message naming its own bid
alone; a second tick, a fresh clock or two clocks at once write and send nothing more. Each
test asserts its own rows only (the PostgreSQL database is shared); the whole main file's
tables are compared on SQLite, where the database is the test's own."""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Awaitable, Callable
from datetime import timedelta
from email.message import EmailMessage
from functools import partial
from typing import Any
from uuid import UUID

import pytest

from tests.api.conftest import Mailbox
from tests.api.helpers import services_of
from tests.api.sealed_rows import Rows, sealed_rows, sealed_size, shape
from tests.api.sealed_rows import batch_rows as sealed_batch_rows
from tests.api.test_accounts import body_of, mail_to
from tests.api.test_bid_scenario import (
    FOR_MEMBERS,
    drafted_bid,
    member,
    published_tender,
    submitted,
    tick,
    withdrawn,
)
from tests.api.test_clarifications import council
from tests.api.test_tender_scenario import settle
from tests.api.test_tenders import LATER, terms
from tests.conftest import AppClient
from tests.integration.test_cli import free_port
from tradehall.clock import ManualClock
from tradehall.mail.outbox import message_id_for
from tradehall.mail.sender import deliver, send_pending
from tradehall.mail.smtp import SmtpSettings
from tradehall.marketplace.bids import amendment_notices
from tradehall.marketplace.bids.amendment_notices import TEMPLATE, AmendmentIndex
from tradehall.marketplace.sealing.outbox import (
    BATCH_ADDRESSEE,
    open_sealed,
    open_sealed_messages,
)

Client = AppClient
Headers = dict[str, str]
WHY = "Few bids came in: two weeks more"


async def amend(client: Client, headers: Headers, tender: str, why: str = WHY) -> int:
    """The tender amended (its deadline later); the Amended event's version."""
    body = terms(deadline=LATER, eligibility=FOR_MEMBERS) | {"rationale": why}
    answer = await client.post(f"/api/v1/tenders/{tender}/amendments", json=body, headers=headers)
    assert answer.status_code == 200, answer.text
    version: int = answer.json()["version"]
    return version


async def batch_rows(client: Client, tender: str, version: int) -> list[Any]:
    """The outbox rows of the amendment's batch."""
    return await sealed_batch_rows(client, UUID(tender), version, TEMPLATE)


async def test_a_bidder_without_interest_is_mailed_each_amendment_naming_its_own_bid_once(
    mail_client: Client,
    staff_headers: Headers,
    mailbox: tuple[Mailbox, int],
    clock: ManualClock,
) -> None:
    client, (box, _) = mail_client, mailbox
    buyer, buyer_headers = await council(client, staff_headers)
    tender = await published_tender(client, buyer, buyer_headers)
    _, lead_email, lead_headers = await member(client, staff_headers, "Alder Grounds CIC")
    _, drafter_email, drafter_headers = await member(client, staff_headers, "Birch Cafes CIC")
    _, quitter_email, quitter_headers = await member(client, staff_headers, "Cedar Paths CIC")
    _, late_email, late_headers = await member(client, staff_headers, "Damson Lawns CIC")
    _, bystander_email, _ = await member(client, staff_headers, "Elm Verges CIC")
    # None registers interest: a submitted bid, a draft, a bid withdrawn (it may come back).
    bid = await drafted_bid(client, lead_headers, tender, "lot-1", 10_000_000)
    await submitted(client, lead_headers, bid)
    draft = await drafted_bid(client, drafter_headers, tender, "lot-2")
    gone = await drafted_bid(client, quitter_headers, tender, "lot-2", 9_000_000)
    await submitted(client, quitter_headers, gone)
    await withdrawn(client, quitter_headers, gone)
    await tick(client)
    clock.advance(timedelta(minutes=5))
    await amend(client, buyer_headers, tender)
    clock.advance(timedelta(minutes=5))
    late = await drafted_bid(client, late_headers, tender, "lot-1")  # drafted after it

    await tick(client)
    mailed = {
        email: [body for body in await mail_to(client, box, email) if WHY in body]
        for email in (lead_email, drafter_email, quitter_email, late_email, bystander_email)
    }
    for email, own, others in (
        (lead_email, bid, (draft, gone, late)),
        (drafter_email, draft, (bid, gone, late)),
        (quitter_email, gone, (bid, draft, late)),
    ):
        [body] = mailed[email]
        assert f"/api/v1/bids/{own}" in body, body
        assert f"/api/v1/tenders/{tender}" in body
        assert "2026-04-15 12:00" in body
        assert not any(other in body for other in others), body
    assert mailed[late_email] == []  # drafted against the amended terms
    assert mailed[bystander_email] == []
    sent = len(box.messages)

    await tick(client)  # told once: a second tick (a fresh clock's index) writes nothing
    await mail_to(client, box, lead_email)
    assert len(box.messages) == sent


async def test_zero_one_and_three_bids_write_the_same_rows_and_log_lines(
    client: Client, staff_headers: Headers, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    await written_alike(client, staff_headers, clock, caplog, amend, TEMPLATE)


Change = Callable[[Client, Headers, str], Awaitable[int]]


async def written_alike(
    client: Client,
    staff_headers: Headers,
    clock: ManualClock,
    caplog: pytest.LogCaptureFixture,
    change: Change,
    template: str,
) -> None:
    """On tenders of 0, 1 and 3 bids, a public `change` (the buyer's: its event's version)
    makes the clock's tick write one batch row (`template`) and nothing else, the same rows of
    the same sizes and the same log lines; the batch names each bid's members inside, and no
    one outside. Shared by the amendments' and the documents' tests."""
    buyer_headers, tenders, _, bids = await tenders_with_0_1_and_3_bids(
        client, staff_headers, submitted_on=1
    )
    await tick(client)  # every deadline kept
    clock.advance(timedelta(minutes=5))

    shapes, lines, sizes = [], [], []
    for tender in tenders:
        version = await change(client, buyer_headers, tender)
        await settle(client)  # the read side's rows written before the tick, not during it
        snapshot = partial(_snapshot, client, tender, version, bids[tender], template)
        written, logged = await what_a_tick_writes(client, caplog, tender, snapshot)
        shapes.append(written)
        lines.append(logged)
        [row] = await sealed_batch_rows(client, UUID(tender), version, template)
        sizes.append(sealed_size(row))
        batch, told = open_sealed_messages(services_of(client).sealing, row)
        assert batch
        assert sorted(b for _, _, _, body in told for b in bids[tender] if b in body) == sorted(
            bids[tender]
        )
        assert open_sealed(services_of(client).sealing, row)[0] == BATCH_ADDRESSEE
    assert shapes[0] == shapes[1] == shapes[2], shapes
    # The one row the tick wrote is the batch: no event, no other row.
    assert [table for table, _ in shapes[0][0]] == ["outbox_messages"], shapes[0]
    assert shapes[0][1] == []
    assert lines[0], "the tick logs the batch"
    assert lines[0] == lines[1] == lines[2], lines
    assert sizes[0] == sizes[1] == sizes[2], sizes


async def test_two_clocks_at_once_write_one_batch(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    buyer, buyer_headers = await council(client, staff_headers)
    tender = await published_tender(client, buyer, buyer_headers)
    _, _, headers = await member(client, staff_headers, "Fir Hedges CIC")
    await drafted_bid(client, headers, tender, "lot-1")
    clock.advance(timedelta(minutes=5))
    version = await amend(client, buyer_headers, tender)
    services = services_of(client)
    marketplace, bids = services.applications["marketplace"], services.applications["bids"]
    # Both clocks find the amendment not told before either writes: each writes its batch.
    [waiting] = [
        a
        for a in AmendmentIndex().waiting(marketplace.recorder, clock.now())
        if str(a.tender_id) == tender
    ]
    for _ in range(2):
        await services.run(amendment_notices._tell, bids, services.sealing, waiting, "")
    assert len(await batch_rows(client, tender, version)) == 1


Bidders = list[tuple[str, str, Headers]]


async def tenders_with_0_1_and_3_bids(
    client: Client, staff_headers: Headers, submitted_on: int
) -> tuple[Headers, list[str], Bidders, dict[str, list[str]]]:
    """A council's three published tenders with 0, 1 and 3 drafted bids, the first bid on
    tender `submitted_on` submitted: the buyer's headers, the tenders, the bidders, each
    tender's bids."""
    buyer, buyer_headers = await council(client, staff_headers)
    tenders = [await published_tender(client, buyer, buyer_headers) for _ in range(3)]
    bidders = [await member(client, staff_headers, f"Bidder {n} CIC") for n in range(3)]
    bids: dict[str, list[str]] = {tender: [] for tender in tenders}
    for count, tender in zip((0, 1, 3), tenders, strict=True):
        for _, _, headers in bidders[:count]:
            bids[tender].append(await drafted_bid(client, headers, tender, "lot-1", 10_000_000))
    await submitted(client, bidders[0][2], bids[tenders[submitted_on]][0])
    return buyer_headers, tenders, bidders, bids


async def what_a_tick_writes(
    client: Client,
    caplog: pytest.LogCaptureFixture,
    tender: str,
    snapshot: Callable[[], Awaitable[Rows]],
) -> tuple[Any, list[tuple[str, str, str]]]:
    """One tick: the shapes of the rows it added and removed (of `snapshot`), and the
    service's log lines about `tender` (its id written TENDER)."""
    before = await snapshot()
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="tradehall"):
        await tick(client)
    after = await snapshot()
    logged = [
        (r.name, r.levelname, r.getMessage().replace(tender, "TENDER"))
        for r in caplog.records
        if r.name.startswith("tradehall") and getattr(r, "tender_id", tender) == tender
    ]
    return (shape(after - before), shape(before - after)), logged


async def _snapshot(
    client: Client, tender: str, version: int, bids: list[str], template: str = TEMPLATE
) -> Rows:
    """The tender's sealed rows around its batch `template` of the event `version` (an
    amendment's, by default: tests.api.sealed_rows)."""
    box = services_of(client).applications["bids"].ids.box_id(UUID(tender))
    batch = message_id_for(UUID(tender), version, template)[:-1]
    return await sealed_rows(client, UUID(tender), batch, [box, *(UUID(b) for b in bids)])


class SlowSmtp:
    """The test's SMTP server, each message taking the clock a second to hand over (as a real
    server's round trip takes time)."""

    def __init__(self, smtp: SmtpSettings, clock: ManualClock) -> None:
        self.smtp, self.clock, self.sender = smtp, clock, smtp.sender

    def send(self, message: EmailMessage) -> None:
        self.smtp.send(message)
        self.clock.advance(timedelta(seconds=1))

    def probe(self) -> None:
        self.smtp.probe()


async def test_the_sender_treats_batches_of_0_1_and_3_bids_alike(
    mail_client: Client,
    staff_headers: Headers,
    mailbox: tuple[Mailbox, int],
    clock: ManualClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    client, (box, _) = mail_client, mailbox
    services = services_of(client)
    buyer, buyer_headers = await council(client, staff_headers)
    tenders = [await published_tender(client, buyer, buyer_headers) for _ in range(3)]
    bidders = [await member(client, staff_headers, f"Sender {n} CIC") for n in range(3)]
    for count, tender in zip((0, 1, 3), tenders, strict=True):
        for _, _, headers in bidders[:count]:
            await drafted_bid(client, headers, tender, "lot-1")
    clock.advance(timedelta(minutes=5))
    versions = [await amend(client, buyer_headers, tender) for tender in tenders]
    await tick(client)
    ids = [
        (await batch_rows(client, tender, version))[0].message_id
        for tender, version in zip(tenders, versions, strict=True)
    ]

    async def rows() -> list[Any]:
        found = []
        for tender, version in zip(tenders, versions, strict=True):
            [row] = await batch_rows(client, tender, version)
            found.append(row)
        return found

    # The server down: each batch fails alike, one log line each, the same words.
    dead = SmtpSettings("127.0.0.1", free_port(), "notices@tradehall.invalid")
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="tradehall"):
        for row in await rows():
            assert not await deliver(services, dead, row)
    lines = [
        r.getMessage().replace(message_id, "ID")
        for r in caplog.records
        if r.name.startswith("tradehall")
        for message_id in ids
        if message_id in r.getMessage()
    ]
    assert len(lines) == 3, lines
    assert len(set(lines)) == 1, lines
    failed = {(r.attempts, r.last_error, r.next_attempt_at, r.sent_at) for r in await rows()}
    assert len(failed) == 1, failed

    # Up again: all three sent in one round, recorded alike, however long each took.
    clock.advance(timedelta(minutes=1))
    while await send_pending(services, SlowSmtp(services.settings.smtp, clock)):
        pass
    assert len({(r.attempts, r.sent_at) for r in await rows()}) == 1
    for _, email, _ in bidders:
        assert any(WHY in body for body in await mail_to(client, box, email)), email


class RefusingSmtp:
    """The test's SMTP server, refusing some recipients as a server refuses a bad address."""

    def __init__(self, smtp: SmtpSettings, refused: set[str]) -> None:
        self.smtp, self.refused, self.sender = smtp, refused, smtp.sender

    def send(self, message: EmailMessage) -> None:
        if message["To"] in self.refused:
            raise smtplib.SMTPRecipientsRefused({message["To"]: (550, b"no such mailbox")})
        self.smtp.send(message)

    def probe(self) -> None:
        self.smtp.probe()


async def test_a_refused_bidder_s_address_leaves_a_batch_as_an_empty_one_is_left(
    mail_client: Client,
    staff_headers: Headers,
    mailbox: tuple[Mailbox, int],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A server refusing a bidder's address (one bid's batch) or nobody (no bid's batch): both
    rows are sent alike at one attempt, no error, no log line naming either; a bidder whose
    address is taken is still told."""
    client, (box, _) = mail_client, mailbox
    services = services_of(client)
    buyer, buyer_headers = await council(client, staff_headers)
    empty, bid_on = [await published_tender(client, buyer, buyer_headers) for _ in range(2)]
    _, refused_email, refused_headers = await member(client, staff_headers, "Refused Mail CIC")
    _, told_email, told_headers = await member(client, staff_headers, "Told Mail CIC")
    for headers in (refused_headers, told_headers):
        await drafted_bid(client, headers, bid_on, "lot-1")
    versions = [await amend(client, buyer_headers, tender) for tender in (empty, bid_on)]
    await tick(client)
    rows = [
        (await batch_rows(client, tender, version))[0]
        for tender, version in zip((empty, bid_on), versions, strict=True)
    ]
    refusing = RefusingSmtp(services.settings.smtp, {refused_email})
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="tradehall"):
        while await send_pending(services, refusing):
            pass
    assert not [
        r.getMessage()
        for r in caplog.records
        for row in rows
        if r.name.startswith("tradehall") and row.message_id in r.getMessage()
    ]
    after = [
        (await batch_rows(client, tender, version))[0]
        for tender, version in zip((empty, bid_on), versions, strict=True)
    ]
    assert len({(r.attempts, r.last_error, r.next_attempt_at, r.sent_at) for r in after}) == 1
    assert (after[0].attempts, after[0].last_error) == (1, None)
    assert after[0].sent_at is not None

    def told(address: str) -> bool:
        return any(address in str(m["To"]) and WHY in body_of(m) for m in box.messages)

    assert told(told_email)
    assert not told(refused_email)


class GreylistingSmtp:
    """The test's SMTP server, answering each message 451 ("try again later") the first time
    it is sent, as greylisting servers do."""

    def __init__(self, smtp: SmtpSettings) -> None:
        self.smtp, self.sender, self.seen = smtp, smtp.sender, set[str]()

    def send(self, message: EmailMessage) -> None:
        if message["Message-ID"] not in self.seen:
            self.seen.add(message["Message-ID"])
            raise smtplib.SMTPRecipientsRefused({message["To"]: (451, b"greylisted")})
        self.smtp.send(message)

    def probe(self) -> None:
        self.smtp.probe()


async def test_a_greylisted_bidder_is_told_of_the_amendment_in_the_end(
    mail_client: Client,
    staff_headers: Headers,
    mailbox: tuple[Mailbox, int],
    clock: ManualClock,
) -> None:
    """A refusal for now (4xx) fails the batch whole, to be tried again, so the bidder is told
    at a later round; a refusal for good is passed over (the test above)."""
    client, (box, _) = mail_client, mailbox
    services = services_of(client)
    buyer, buyer_headers = await council(client, staff_headers)
    tender = await published_tender(client, buyer, buyer_headers)
    _, email, headers = await member(client, staff_headers, "Greylisted Mail CIC")
    await drafted_bid(client, headers, tender, "lot-1")
    version = await amend(client, buyer_headers, tender)
    await tick(client)
    greylisting = GreylistingSmtp(services.settings.smtp)
    for _ in range(3):  # rounds an hour apart: past any retry's wait
        while await send_pending(services, greylisting):
            pass
        clock.advance(timedelta(hours=1))
    [row] = await batch_rows(client, tender, version)
    assert row.sent_at is not None
    assert any(email in str(m["To"]) and WHY in body_of(m) for m in box.messages)
