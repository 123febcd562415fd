"""Issue 12's scenario, end to end over HTTP on both stores: a verified council publishes a
two-lot tender for members; member A bids for lot 1 alone, B for lot 2 alone, and C leads a
consortium with D (60/40) for lot 1, D accepting (and accepting again after the shares change);
A withdraws and submits again, unchanged (the same digest) and then changed (another digest),
each receipt reaching A's users by e-mail through the outbox (its rows sealed) and a real SMTP
server; E's consortium is never accepted by F; G's bid, ready in time, is refused at the
deadline to the second. Nobody but the bidders learns anything until the clock opens the bids at
the deadline plus the margin, not a second before: then the buyer and staff read three valid
bids whole, with the consortium's shares and the digests of the receipts, and E's bid invalid
with why. A tender cancelled before its deadline is never opened: its bids are closed and every
bidder is told by e-mail."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, insert, select

from tests.api.conftest import Mailbox
from tests.api.helpers import services_of, token
from tests.api.test_accounts import mail_to
from tests.api.test_clarifications import council
from tests.api.test_clarifications import tender as tender_of
from tests.api.test_directory import admitted_member
from tests.api.test_tender_scenario import settle
from tests.api.test_tenders import DEADLINE, terms
from tests.conftest import AppClient
from tradehall.clock import ManualClock
from tradehall.mail.tables import outbox_messages
from tradehall.marketplace.sealing.tables import sealing_keys

Client = AppClient
Headers = dict[str, str]
TITLE = "Parks: grounds maintenance and a cafe"
FOR_MEMBERS = {"members_only": True, "quality_mark_required": False, "regions": ["TLC3"]}
ANSWERS = {"Method statement": "Two crews, electric mowers", "Experience": "Ten years of parks"}


def content(price_minor: int, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "price_minor": price_minor,
        "answers": ANSWERS,
        "commitments": [
            {"measure": "local_jobs", "quantity": 3},
            {"measure": "apprenticeships", "quantity": 2, "unit": "apprenticeships"},
        ],
    }
    return body | changes


async def member(client: Client, staff_headers: Headers, name: str) -> tuple[str, str, Headers]:
    """A member in good standing (serving TLC3): its id, its user's e-mail, its headers."""
    org, _ = await admitted_member(client, staff_headers, name=name)
    return org["id"], org["email"], await token(client, org["email"])


async def published_tender(
    client: Client, buyer: str, buyer_headers: Headers, **changes: Any
) -> str:
    body = terms(eligibility=FOR_MEMBERS, **changes)
    drafted = await client.post(
        f"/api/v1/organisations/{buyer}/tenders", json=body, headers=buyer_headers
    )
    assert drafted.status_code == 201, drafted.text
    tender: str = drafted.json()["id"]
    published = await client.post(
        f"/api/v1/tenders/{tender}/publication", json={}, headers=buyer_headers
    )
    assert published.status_code == 200, published.text
    return tender


async def drafted_bid(
    client: Client, headers: Headers, tender: str, lot: str, price_minor: int | None = None
) -> str:
    """A bid drafted (and its content written, given a price); its id."""
    drafted = await client.post(
        "/api/v1/bids", json={"tender_id": tender, "lot_id": lot}, headers=headers
    )
    assert drafted.status_code == 201, drafted.text
    assert drafted.json()["position"] == {}
    bid: str = drafted.json()["id"]
    if price_minor is not None:
        written = await client.put(
            f"/api/v1/bids/{bid}", json=content(price_minor), headers=headers
        )
        assert written.status_code == 200, written.text
        assert written.json()["position"] == {}
    return bid


async def submitted(client: Client, headers: Headers, bid: str) -> dict[str, Any]:
    """The receipt of a submission."""
    response = await client.post(f"/api/v1/bids/{bid}/submission", headers=headers)
    assert response.status_code == 200, response.text
    receipt: dict[str, Any] = response.json()
    assert receipt["id"] == bid
    assert receipt["position"] == {}
    assert receipt["digest"].startswith("sha256:")
    return receipt


@dataclass(frozen=True)
class SubmittedBid:
    """A council's published tender with one member's bid submitted for its first lot."""

    tender: str
    buyer_headers: Headers
    bidder: str
    bidder_headers: Headers
    bid: str


async def tender_with_a_submitted_bid(client: Client, staff_headers: Headers) -> SubmittedBid:
    _, buyer_headers = buyer = await council(client, staff_headers)
    tender = await published_tender(client, buyer[0], buyer_headers)
    bidder, _, bidder_headers = await member(client, staff_headers, "Alder Grounds CIC")
    bid = await drafted_bid(client, bidder_headers, tender, "lot-1", 10_000_000)
    await submitted(client, bidder_headers, bid)
    return SubmittedBid(tender, buyer_headers, bidder, bidder_headers, bid)


async def withdrawn(client: Client, headers: Headers, bid: str) -> None:
    response = await client.post(f"/api/v1/bids/{bid}/withdrawal", headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["position"] == {}
    assert (await bid_of(client, headers, bid))["status"] == "withdrawn"


async def bid_of(client: Client, headers: Headers, bid: str) -> dict[str, Any]:
    response = await client.get(f"/api/v1/bids/{bid}", headers=headers)
    assert response.status_code == 200, response.text
    view: dict[str, Any] = response.json()
    return view


async def tick(client: Client) -> str:
    """One run of the bids' opening clock, as `tradehall clock` runs it."""
    services = services_of(client)
    [opening] = [t for c in services.contexts if c.name == "bids" for t in c.clock_ticks]
    result: str = await opening(services)
    return result


async def opened_bids(client: Client, tender: str, headers: Headers) -> Any:
    return await client.get(f"/api/v1/tenders/{tender}/bids", headers=headers)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


async def test_three_bids_a_consortium_a_resubmission_and_a_late_bid_opened_by_the_clock(
    mail_client: Client,
    staff_headers: Headers,
    mailbox: tuple[Mailbox, int],
    clock: ManualClock,
) -> None:
    client = mail_client
    box, _ = mailbox
    buyer, buyer_headers = await council(client, staff_headers)
    tender = await published_tender(client, buyer, buyer_headers)
    await settle(client)
    board_view_before = (await client.get(f"/api/v1/tenders/{tender}")).json()
    a, a_email, a_headers = await member(client, staff_headers, "Alder Grounds CIC")
    b, _, b_headers = await member(client, staff_headers, "Beech Cafe Co-operative")
    c, _, c_headers = await member(client, staff_headers, "Cedar Landscapes CIC")
    d, d_email, d_headers = await member(client, staff_headers, "Damson Training Trust")
    e, _, e_headers = await member(client, staff_headers, "Elm Catering CIC")
    f, _, f_headers = await member(client, staff_headers, "Fir Kitchens Ltd")
    _, _, g_headers = await member(client, staff_headers, "Gorse Gardening CIC")

    # A, alone for lot 1: submitted, withdrawn, submitted again unchanged (the same digest),
    # withdrawn, changed and submitted again (another digest).
    bid_a = await drafted_bid(client, a_headers, tender, "lot-1", 11_000_000)
    first = await submitted(client, a_headers, bid_a)
    clock.advance(timedelta(hours=1))
    await withdrawn(client, a_headers, bid_a)
    unchanged = await submitted(client, a_headers, bid_a)
    clock.advance(timedelta(minutes=5))
    await withdrawn(client, a_headers, bid_a)
    changed = await client.put(f"/api/v1/bids/{bid_a}", json=content(10_500_000), headers=a_headers)
    assert changed.status_code == 200, changed.text
    last = await submitted(client, a_headers, bid_a)
    assert unchanged["digest"] == first["digest"]
    assert at(unchanged["submitted_at"]) > at(first["submitted_at"])
    assert last["digest"] != first["digest"]
    view_a = await bid_of(client, a_headers, bid_a)
    assert (view_a["status"], view_a["digest"], view_a["price_minor"]) == (
        "submitted",
        last["digest"],
        10_500_000,
    )

    # B, alone for lot 2.
    bid_b = await drafted_bid(client, b_headers, tender, "lot-2", 2_900_000)
    receipt_b = await submitted(client, b_headers, bid_b)

    # C leads a consortium with D for lot 1: D accepts; the shares change, D accepts again.
    bid_c = await drafted_bid(client, c_headers, tender, "lot-1", 11_500_000)
    formed = await client.put(
        f"/api/v1/bids/{bid_c}/consortium",
        json={"lead_share": 50, "partners": [{"organisation_id": d, "share": 50}]},
        headers=c_headers,
    )
    assert formed.status_code == 200, formed.text
    assert formed.json()["position"] == {}
    invited = await client.get("/api/v1/bids", headers=d_headers)
    assert [(i["id"], i["lot_id"]) for i in invited.json()["items"]] == [(bid_c, "lot-1")]
    accepted = await client.post(
        f"/api/v1/bids/{bid_c}/acceptance", json={"consortium_round": 1}, headers=d_headers
    )
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["position"] == {}
    assert (await bid_of(client, c_headers, bid_c))["consortium_complete"] is True
    reshared = await client.put(
        f"/api/v1/bids/{bid_c}/consortium",
        json={"lead_share": 60, "partners": [{"organisation_id": d, "share": 40}]},
        headers=c_headers,
    )
    assert reshared.status_code == 200, reshared.text
    view_c = await bid_of(client, d_headers, bid_c)
    assert (view_c["consortium_round"], view_c["consortium_complete"]) == (2, False)
    assert [(s["organisation_id"], s["share"], s["accepted"]) for s in view_c["consortium"]] == [
        (c, 60, True),
        (d, 40, False),
    ]
    stale = await client.post(
        f"/api/v1/bids/{bid_c}/acceptance", json={"consortium_round": 1}, headers=d_headers
    )
    assert stale.status_code == 409, stale.text
    accepted = await client.post(
        f"/api/v1/bids/{bid_c}/acceptance", json={"consortium_round": 2}, headers=d_headers
    )
    assert accepted.status_code == 200, accepted.text
    assert (await bid_of(client, c_headers, bid_c))["consortium_complete"] is True
    receipt_c = await submitted(client, c_headers, bid_c)

    # E's consortium with F for lot 2 is never accepted: submitted all the same.
    bid_e = await drafted_bid(client, e_headers, tender, "lot-2", 2_750_000)
    formed = await client.put(
        f"/api/v1/bids/{bid_e}/consortium",
        json={"lead_share": 70, "partners": [{"organisation_id": f, "share": 30}]},
        headers=e_headers,
    )
    assert formed.status_code == 200, formed.text
    receipt_e = await submitted(client, e_headers, bid_e)

    # G's bid is ready in time; G changes it with a second to go, and submits at the deadline.
    bid_g = await drafted_bid(client, g_headers, tender, "lot-1", 9_000_000)
    deadline = at(DEADLINE)
    clock.set(deadline - timedelta(seconds=1))
    in_time = await client.put(f"/api/v1/bids/{bid_g}", json=content(9_100_000), headers=g_headers)
    assert in_time.status_code == 200, in_time.text

    # Nothing of it is seen by anyone but the bidders before opening.
    await settle(client)
    assert (await client.get(f"/api/v1/tenders/{tender}")).json() == board_view_before
    for who in (buyer_headers, staff_headers, a_headers):
        assert (await opened_bids(client, tender, who)).status_code == 404
    for who in (buyer_headers, staff_headers, b_headers, f_headers):
        assert (await client.get(f"/api/v1/bids/{bid_a}", headers=who)).status_code == 404

    clock.set(deadline)
    late = await client.post(f"/api/v1/bids/{bid_g}/submission", headers=g_headers)
    assert late.status_code == 409, late.text
    assert "deadline" in late.json()["detail"]
    too_late_to_withdraw = await client.post(f"/api/v1/bids/{bid_a}/withdrawal", headers=a_headers)
    assert too_late_to_withdraw.status_code == 409, too_late_to_withdraw.text
    too_late_to_draft = await client.post(
        "/api/v1/bids", json={"tender_id": tender, "lot_id": "lot-2"}, headers=a_headers
    )
    assert too_late_to_draft.status_code == 409, too_late_to_draft.text
    assert (await bid_of(client, g_headers, bid_g))["status"] == "draft"

    # The clock waits out the margin: a second short of it, nothing is opened.
    margin = timedelta(seconds=services_of(client).settings.bid_opening_margin_seconds)
    assert margin == timedelta(seconds=300)
    clock.set(deadline + margin - timedelta(seconds=1))
    await tick(client)
    for who in (buyer_headers, staff_headers):
        assert (await opened_bids(client, tender, who)).status_code == 404
    assert (await bid_of(client, a_headers, bid_a))["status"] == "submitted"

    clock.set(deadline + margin)
    await tick(client)
    seen = await opened_bids(client, tender, buyer_headers)
    assert seen.status_code == 200, seen.text
    assert seen.headers["cache-control"] == "private, no-store"
    opening = seen.json()
    assert opening["tender_id"] == tender
    assert at(opening["opened_at"]) == deadline + margin
    by_id = {b["bid_id"]: b for b in opening["bids"]}
    assert set(by_id) == {bid_a, bid_b, bid_c, bid_e}  # G's draft was never submitted
    expected = {
        bid_a: ("lot-1", a, last, 10_500_000, [(a, 100)]),
        bid_b: ("lot-2", b, receipt_b, 2_900_000, [(b, 100)]),
        bid_c: ("lot-1", c, receipt_c, 11_500_000, [(c, 60), (d, 40)]),
    }
    for bid, (lot, lead, receipt, price, shares) in expected.items():
        opened = by_id[bid]
        assert (opened["lot_id"], opened["lead_id"], opened["valid"], opened["reason"]) == (
            lot,
            lead,
            True,
            None,
        ), bid
        assert opened["digest"] == receipt["digest"], bid
        assert at(opened["submitted_at"]) == at(receipt["submitted_at"]), bid
        assert [(s["organisation_id"], s["percent"]) for s in opened["consortium"]] == shares
        assert opened["content"] == {
            "price_minor": price,
            "currency": "GBP",
            "answers": ANSWERS,
            "commitments": [
                {"measure": "local_jobs", "quantity": 3, "unit": "jobs"},
                {"measure": "apprenticeships", "quantity": 2, "unit": "apprenticeships"},
            ],
        }, bid
        assert opened["documents"] == [], bid
    invalid = by_id[bid_e]
    assert (invalid["valid"], invalid["digest"]) == (False, receipt_e["digest"])
    assert invalid["reason"] == f"the consortium is incomplete: not accepted by {f}"
    assert invalid["content"] is None  # an invalid bid's content is not for evaluation
    assert [(s["organisation_id"], s["percent"]) for s in invalid["consortium"]] == [
        (e, 70),
        (f, 30),
    ]

    as_staff = await opened_bids(client, tender, staff_headers)
    assert as_staff.status_code == 200, as_staff.text
    assert as_staff.json() == opening
    for who in (a_headers, d_headers, g_headers):
        assert (await opened_bids(client, tender, who)).status_code == 404
    # Each bidder reads its own bid as opened; G's, never submitted, is closed.
    assert (await bid_of(client, a_headers, bid_a))["status"] == "opened"
    assert (await bid_of(client, d_headers, bid_c))["status"] == "opened"
    invalid_view = await bid_of(client, f_headers, bid_e)
    assert (invalid_view["status"], invalid_view["invalid_reason"]) == (
        "invalid",
        invalid["reason"],
    )
    closed = await bid_of(client, g_headers, bid_g)
    assert (closed["status"], closed["closed_reason"]) == (
        "closed",
        "not submitted by the deadline",
    )

    # Another tick opens nothing again: the opening is as it was.
    clock.advance(timedelta(hours=1))
    await tick(client)
    assert (await opened_bids(client, tender, buyer_headers)).json() == opening

    # The outbox's rows say nothing of a bid: no organisation, tender or digest in the clear.
    async with services_of(client).engine.connect() as connection:
        rows = [r._asdict() for r in await connection.execute(select(outbox_messages))]
    sealed = [r for r in rows if r["template"] == "sealed"]
    assert len(sealed) >= 3 + 1 + 1 + 2 + 1  # A's, B's, C's, E's receipts; D's, F's invitations
    for row in sealed:
        assert (row["organisation_id"], row["recipient"]) == (None, None)
        assert (row["subject"], row["body"]) == ("Tradehall notice", "")
    clear = json.dumps([{k: v for k, v in r.items() if k != "sealed"} for r in sealed], default=str)
    raw = b"".join(bytes(r["sealed"]) for r in sealed)
    for secret in (tender, bid_a, a, d, last["digest"], TITLE):
        assert secret not in clear, secret
        assert secret.encode() not in raw, secret

    # Every receipt reached A's users, naming the tender and the digest; D was invited twice.
    received = [
        body
        for body in await mail_to(client, box, a_email)
        if "Digest of what was submitted" in body
    ]
    assert len(received) == 3, received
    assert all(TITLE in body for body in received)
    assert sum(first["digest"] in body for body in received) == 2  # unchanged: the same digest
    assert sum(last["digest"] in body for body in received) == 1
    invitations = [body for body in await mail_to(client, box, d_email) if "consortium" in body]
    assert len(invitations) == 2, invitations
    assert all(TITLE in body and "Cedar Landscapes CIC" in body for body in invitations)
    assert [("50% share" in body, "40% share" in body) for body in invitations] in (
        [(True, False), (False, True)],
        [(False, True), (True, False)],
    )


async def test_a_tender_cancelled_before_its_deadline_is_never_opened_and_its_bidders_are_told(
    mail_client: Client,
    staff_headers: Headers,
    mailbox: tuple[Mailbox, int],
    clock: ManualClock,
) -> None:
    client = mail_client
    box, _ = mailbox
    title = f"Libraries: cleaning {uuid.uuid4().hex[:6]}"
    buyer, buyer_headers = await council(client, staff_headers)
    tender = await published_tender(client, buyer, buyer_headers, title=title)
    _, a_email, a_headers = await member(client, staff_headers, "Alder Grounds CIC")
    _, b_email, b_headers = await member(client, staff_headers, "Beech Cafe Co-operative")
    _, c_email, c_headers = await member(client, staff_headers, "Cedar Landscapes CIC")
    d, d_email, d_headers = await member(client, staff_headers, "Damson Training Trust")
    _, bystander_email, _ = await member(client, staff_headers, "Hazel Hedging CIC")

    bid_a = await drafted_bid(client, a_headers, tender, "lot-1", 11_000_000)
    await submitted(client, a_headers, bid_a)
    bid_b = await drafted_bid(client, b_headers, tender, "lot-2")  # a draft, never submitted
    bid_c = await drafted_bid(client, c_headers, tender, "lot-1", 11_500_000)
    formed = await client.put(
        f"/api/v1/bids/{bid_c}/consortium",
        json={"lead_share": 60, "partners": [{"organisation_id": d, "share": 40}]},
        headers=c_headers,
    )
    assert formed.status_code == 200, formed.text
    accepted = await client.post(
        f"/api/v1/bids/{bid_c}/acceptance", json={"consortium_round": 1}, headers=d_headers
    )
    assert accepted.status_code == 200, accepted.text
    await submitted(client, c_headers, bid_c)

    clock.advance(timedelta(days=2))
    cancelled = await client.post(
        f"/api/v1/tenders/{tender}/cancellation",
        json={"reason": "The library is closing for rebuilding"},
        headers=buyer_headers,
    )
    assert cancelled.status_code == 200, cancelled.text
    # Nothing more is taken; the bids wait for the clock as they were, their view saying the
    # tender ended.
    refused = await client.post(f"/api/v1/bids/{bid_a}/withdrawal", headers=a_headers)
    assert refused.status_code == 409, refused.text
    view = await bid_of(client, a_headers, bid_a)
    assert (view["status"], view["tender_status"]) == ("submitted", "cancelled")

    # The bidders are told at the tick after the ending, from one sealed batch whatever their
    # number, each message naming its own bid alone; the bids are discarded at the deadline,
    # not before: discarding earlier would tell anyone counting rows how many bids there were
    # (ADR 27).
    await tick(client)
    assert (await bid_of(client, a_headers, bid_a))["status"] == "submitted"
    own = {a_email: bid_a, b_email: bid_b, c_email: bid_c, d_email: bid_c}
    for email, bid in own.items():
        told = [body for body in await mail_to(client, box, email) if "never be opened" in body]
        assert len(told) == 1, (email, told)
        assert f"/api/v1/bids/{bid}" in told[0], told[0]
        others = {bid_a, bid_b, bid_c} - {bid}
        assert not any(other in told[0] for other in others), told[0]
    margin = timedelta(seconds=services_of(client).settings.bid_opening_margin_seconds)
    clock.set(at(DEADLINE) + margin)
    await tick(client)
    reason = "the tender was cancelled before opening"
    for bid, headers in ((bid_a, a_headers), (bid_b, b_headers), (bid_c, c_headers)):
        view = await bid_of(client, headers, bid)
        assert (view["status"], view["closed_reason"]) == ("closed", reason), bid
    assert (await bid_of(client, d_headers, bid_c))["status"] == "closed"
    mine = await client.get("/api/v1/bids", headers=a_headers)
    assert [(i["id"], i["status"]) for i in mine.json()["items"]] == [(bid_a, "closed")]

    # Never opened, however long the clock runs.
    for later in (timedelta(0), timedelta(days=40), timedelta(days=400)):
        clock.advance(later)
        await tick(client)
        for who in (buyer_headers, staff_headers, a_headers):
            assert (await opened_bids(client, tender, who)).status_code == 404, later

    # Every member of every bid is told, once (not again at the deadline); nobody else is.
    for email in (a_email, b_email, c_email, d_email):
        told = [body for body in await mail_to(client, box, email) if "never be opened" in body]
        assert len(told) == 1, (email, told)
        [body] = told
        assert title in body
        assert "has cancelled the tender" in body
        assert "before its deadline" in body
        assert "The library is closing for rebuilding" in body
    assert not any(title in body for body in await mail_to(client, box, bystander_email))


# Its own PostgreSQL database: it reads every failure the tick logs, and the log names no
# tender (ADR 27), so another test's unsettled tender in the shared one would be counted.
@pytest.mark.own_database
async def test_a_tender_that_cannot_be_opened_holds_up_no_other(
    client: Client, staff_headers: Headers, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    """A tender whose data key does not unwrap (its master key is not configured) fails at
    each tick, named nowhere, and the tenders after it are opened all the same."""
    buyer, buyer_headers = await council(client, staff_headers)
    # Published through the Application (no key made), then given a key wrapped elsewhere.
    stuck = uuid.UUID(await tender_of(client, clock, buyer))
    wrapped_elsewhere = {
        "key_id": stuck,
        "purpose": "tender",
        "wrapped": bytes(60),
        "master_fingerprint": "0123456789abcdef",
        "created_at": datetime(2000, 1, 1, tzinfo=UTC),  # the oldest: tried first
        "settled_at": None,
    }
    services = services_of(client)
    async with services.engine.begin() as connection:
        await connection.execute(insert(sealing_keys).values(**wrapped_elsewhere))
    try:
        tender = await published_tender(client, buyer, buyer_headers)
        _, _, headers = await member(client, staff_headers, "Alder Grounds CIC")
        bid = await drafted_bid(client, headers, tender, "lot-1", 11_000_000)
        receipt = await submitted(client, headers, bid)

        clock.set(at(DEADLINE) + timedelta(days=1))  # both tenders are due
        caplog.clear()
        await tick(client)
        opened = await opened_bids(client, tender, buyer_headers)
        assert opened.status_code == 200, opened.text
        assert [(b["bid_id"], b["digest"]) for b in opened.json()["bids"]] == [
            (bid, receipt["digest"])
        ]
        failed = [r for r in caplog.records if r.name == "tradehall.bids" and r.levelno >= 40]
        assert failed
        for record in failed:
            assert record.getMessage() == (
                "a tender's bids could not be settled (SealingKeyMissing); "
                "trying again at the next tick"
            )
            assert record.exc_info is None
        async with services.engine.connect() as connection:
            settled = await connection.execute(
                select(sealing_keys.c.settled_at).where(sealing_keys.c.key_id == stuck)
            )
            assert settled.scalar_one() is None  # to be tried again at the next tick
    finally:
        async with services.engine.begin() as connection:
            await connection.execute(delete(sealing_keys).where(sealing_keys.c.key_id == stuck))
