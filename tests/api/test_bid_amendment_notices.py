"""Bidders are told of a tender's amendments, sealed, by the opening clock, on both stores (ADR
27): every member of a bid not closed (its lead and partners) gets one sealed notice of each
amendment made since the bid was drafted, at the tick after it, once; a bid drafted after an
amendment is not told of it. The buyer's amend answers alike whatever the number of bids (the
route only has the clock look at the tender again). Each test asserts its own rows only."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any, cast
from uuid import UUID

import httpx
from sqlalchemy import select

from marketplace.bids.application import BidsApp
from tests.api.helpers import services_of
from tests.api.test_bid_probe import accept, consortium, shape
from tests.api.test_bid_scenario import (
    FOR_MEMBERS,
    at,
    drafted_bid,
    member,
    published_tender,
    submitted,
    tick,
)
from tests.api.test_clarifications import council
from tests.api.test_opening_clock_reads import key_row, opening_parts
from tests.api.test_opening_clock_reads import tick as opening_tick
from tests.api.test_quote_scenario import sealed_notices
from tests.api.test_tenders import LATER, terms
from tests.conftest import AppClient
from tradehall.clock import ManualClock
from tradehall.mail.tables import outbox_messages

Client = AppClient
Headers = dict[str, str]
TOLD = "bid_tender_amended"
FIRST_WHY = "Few bids came in: two weeks more"
SECOND_WHY = "The cafe's opening hours were wrong"


def amendment(why: str, **changes: Any) -> dict[str, Any]:
    return terms(deadline=LATER, eligibility=FOR_MEMBERS, **changes) | {"rationale": why}


async def amend(client: Client, headers: Headers, tender: str, why: str, **changes: Any) -> Any:
    return await client.post(
        f"/api/v1/tenders/{tender}/amendments", json=amendment(why, **changes), headers=headers
    )


async def told(client: Client, organisation: str) -> list[str]:
    return [body for t, body in await sealed_notices(client, organisation) if t == TOLD]


async def test_every_member_of_a_bid_is_told_of_each_amendment_once_sealed(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    buyer, buyer_headers = await council(client, staff_headers)
    busy = await published_tender(client, buyer, buyer_headers)
    quiet = await published_tender(client, buyer, buyer_headers)
    lead, _, lead_headers = await member(client, staff_headers, "Alder Grounds CIC")
    partner, _, partner_headers = await member(client, staff_headers, "Birch Cafes CIC")
    drafter, _, drafter_headers = await member(client, staff_headers, "Cedar Paths CIC")
    late, _, late_headers = await member(client, staff_headers, "Damson Lawns CIC")
    # A consortium's bid, submitted; another lead's draft.
    bid = await drafted_bid(client, lead_headers, busy, "lot-1", 10_000_000)
    assert (await consortium(client, lead_headers, bid, 60, (partner, 40))).status_code == 200
    assert (await accept(client, partner_headers, bid, 1)).status_code == 200
    await submitted(client, lead_headers, bid)
    await drafted_bid(client, drafter_headers, busy, "lot-2")
    await tick(client)  # its deadline kept: loaded again only when the amend route says so
    clock.advance(timedelta(minutes=5))

    # The buyer's answer is the same with bids as without (nothing is told in it).
    answers: list[httpx.Response] = []
    for tender in (busy, quiet):
        answers.append(await amend(client, buyer_headers, tender, FIRST_WHY))
        assert answers[-1].status_code == 200, answers[-1].text
    # Each answer's log position is its own (the same length).
    positions = [f'"marketplace":{a.json()["position"]["marketplace"]}' for a in answers]
    assert shape(answers[0], (busy, "TENDER"), (positions[0], "POSITION")) == shape(
        answers[1], (quiet, "TENDER"), (positions[1], "POSITION")
    )
    for organisation in (lead, partner, drafter):
        assert await told(client, organisation) == []  # not by the amend request

    await tick(client)
    for organisation in (lead, partner, drafter):
        [notice] = await told(client, organisation)
        assert FIRST_WHY in notice, notice
        assert "2026-04-15 12:00" in notice, notice
        assert f"/api/v1/tenders/{busy}" in notice
    # Sealed: no row a reader of the outbox sees names a bidder with an amendment.
    async with services_of(client).engine.connect() as connection:
        named = await connection.scalar(
            select(outbox_messages.c.message_id).where(
                outbox_messages.c.organisation_id.in_([UUID(o) for o in (lead, partner, drafter)]),
                outbox_messages.c.template.in_([TOLD, "tender_amended"]),
            )
        )
    assert named is None
    await tick(client)  # told once
    for organisation in (lead, partner, drafter):
        assert len(await told(client, organisation)) == 1

    # A bid drafted after the amendment is not told of it; of the next, it is.
    clock.advance(timedelta(minutes=5))
    await drafted_bid(client, late_headers, busy, "lot-1")
    second = await amend(client, buyer_headers, busy, SECOND_WHY, description="Cafe: 8am-6pm")
    assert second.status_code == 200, second.text
    await tick(client)
    [late_notice] = await told(client, late)
    assert SECOND_WHY in late_notice
    assert FIRST_WHY not in late_notice
    for organisation in (lead, partner, drafter):
        notices = await told(client, organisation)
        assert len(notices) == 2, notices
        assert SECOND_WHY in notices[1], notices


class FailingToTell:
    """The bids' Application, failing to tell of amendments (say, the outbox key unreadable)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def __getattr__(self, name: str) -> Any:
        return getattr(self.app, name)

    def tell_amendments(self, *args: Any) -> int:
        raise RuntimeError("the outbox key could not be read")


async def test_bidders_not_told_are_told_at_the_next_tick_and_the_opening_never_waits(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    buyer, buyer_headers = await council(client, staff_headers)
    tender = await published_tender(client, buyer, buyer_headers)
    lead, _, lead_headers = await member(client, staff_headers, "Elder Verges CIC")
    bid = await drafted_bid(client, lead_headers, tender, "lot-1", 10_000_000)
    await submitted(client, lead_headers, bid)
    clock.advance(timedelta(minutes=5))
    assert (await amend(client, buyer_headers, tender, FIRST_WHY)).status_code == 200
    parts, _ = opening_parts(client, clock)
    failing = dataclasses.replace(parts, bids=cast(BidsApp, FailingToTell(parts.bids)))

    await opening_tick(client, failing)
    assert await told(client, lead) == []
    assert (await key_row(client, tender)).deadline_seen is None  # looked at again
    await opening_tick(client, parts)
    assert len(await told(client, lead)) == 1

    # Amended again, then the clock stopped until the deadline: the opening does not wait.
    assert (
        await amend(client, buyer_headers, tender, SECOND_WHY, description="x")
    ).status_code == 200
    clock.set(at(LATER) + parts.margin)
    await opening_tick(client, failing)
    assert (await key_row(client, tender)).settled_at == clock.now()
    assert len(await told(client, lead)) == 1
