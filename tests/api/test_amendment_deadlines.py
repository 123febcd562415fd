"""Which amendments bidders are told of when the opening clock did not tick between an amendment
and a deadline, on both stores (ADR 27).

Decided: an amendment is told by a sealed batch at any tick while its tender's deadline (the
latest, as later amendments left it) is still ahead, though the deadline the amendment itself set
has passed; once the tender's deadline has passed it is never told: from the deadline no bid
changes (a submission or withdrawal is refused), the bids are opened at the deadline plus the
margin, and the opening's notices follow; a message asking a bidder to change its bid before a
deadline that has passed would ask the impossible. Each test asserts its own rows only."""

from __future__ import annotations

from datetime import timedelta

from tests.api.conftest import Mailbox
from tests.api.helpers import services_of
from tests.api.test_accounts import mail_to
from tests.api.test_bid_amendment_batches import WHY, batch_rows
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
from tests.api.test_tenders import DEADLINE, LATER, terms
from tests.conftest import AppClient
from tradehall.clock import ManualClock

Client = AppClient
Headers = dict[str, str]
FIRST_WHY = "The cafe lot's description was unclear"


async def amended(
    client: Client, headers: Headers, tender: str, why: str, deadline: str, description: str
) -> int:
    """The tender amended: its description (and deadline) changed, with why; the version."""
    body = terms(deadline=deadline, eligibility=FOR_MEMBERS, description=description)
    answer = await client.post(
        f"/api/v1/tenders/{tender}/amendments", json=body | {"rationale": why}, headers=headers
    )
    assert answer.status_code == 200, answer.text
    version: int = answer.json()["version"]
    return version


async def test_an_amendment_is_told_while_the_tender_s_later_deadline_is_ahead(
    mail_client: Client, staff_headers: Headers, mailbox: tuple[Mailbox, int], clock: ManualClock
) -> None:
    """Two amendments, the second extending the deadline the first kept; the clock's first
    tick after both comes past the first's deadline, before the tender's: both are told."""
    client, (box, _) = mail_client, mailbox
    buyer, buyer_headers = await council(client, staff_headers)
    tender = await published_tender(client, buyer, buyer_headers)
    _, email, headers = await member(client, staff_headers, "Hazel Lanes CIC")
    bid = await drafted_bid(client, headers, tender, "lot-1")
    await tick(client)
    clock.advance(timedelta(minutes=5))
    first = await amended(client, buyer_headers, tender, FIRST_WHY, DEADLINE, "Parks, clearer")
    second = await amended(client, buyer_headers, tender, WHY, LATER, "Parks, later")
    clock.set(at(DEADLINE) + timedelta(hours=1))  # the clock stopped until past the first's
    await tick(client)

    for version in (first, second):
        assert len(await batch_rows(client, tender, version)) == 1, version
    bodies = await mail_to(client, box, email)
    for why in (FIRST_WHY, WHY):
        [body] = [body for body in bodies if why in body]
        assert f"/api/v1/bids/{bid}" in body


async def test_an_amendment_whose_tender_s_deadline_passed_before_any_tick_is_not_told(
    mail_client: Client, staff_headers: Headers, mailbox: tuple[Mailbox, int], clock: ManualClock
) -> None:
    """The clock stopped from the amendment to past the deadline: no batch, and the bidder is
    not mailed of it; its bid is opened at the deadline plus the margin all the same."""
    client, (box, _) = mail_client, mailbox
    buyer, buyer_headers = await council(client, staff_headers)
    tender = await published_tender(client, buyer, buyer_headers)
    _, email, headers = await member(client, staff_headers, "Ivy Verges CIC")
    bid = await drafted_bid(client, headers, tender, "lot-1", 10_000_000)
    await submitted(client, headers, bid)
    await tick(client)
    clock.advance(timedelta(minutes=5))
    version = await amended(client, buyer_headers, tender, WHY, DEADLINE, "Parks, clearer")
    margin = timedelta(seconds=services_of(client).settings.bid_opening_margin_seconds)
    clock.set(at(DEADLINE) + margin)
    await tick(client)
    await tick(client)

    assert await batch_rows(client, tender, version) == []
    assert [body for body in await mail_to(client, box, email) if WHY in body] == []
    view = await client.get(f"/api/v1/bids/{bid}", headers=headers)
    assert view.json()["status"] not in {"draft", "submitted"}, view.text  # opened
