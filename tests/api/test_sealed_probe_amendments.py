"""A buyer amending a tender that has bids, probed on both stores (the "sealed" probe): what the
amendment asks of the bids holds for every bid, whenever it was written. A lot's currency
amended after bids were drafted or submitted: a bid is then priced in the lot's new currency
(its bidder writes the price again), a submission in the old one is refused naming the price,
and a bid submitted before the amendment and never re-priced is opened invalid, saying why, so
that no lot is evaluated or awarded on prices in two currencies."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.api.helpers import services_of
from tests.api.test_bid_scenario import (
    FOR_MEMBERS,
    at,
    content,
    drafted_bid,
    member,
    opened_bids,
    published_tender,
    submitted,
    tick,
)
from tests.api.test_clarifications import council
from tests.api.test_tenders import DEADLINE, terms
from tests.conftest import AppClient
from tradehall.clock import ManualClock

Client = AppClient
Headers = dict[str, str]


def in_euros() -> dict[str, Any]:
    body = terms(eligibility=FOR_MEMBERS)
    for lot in body["lots"]:
        lot["currency"] = "EUR"
    return body | {"rationale": "The parks are run from the Irish office: priced in euros"}


async def test_a_lot_s_currency_amended_after_bids_is_the_currency_every_opened_bid_is_in(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    buyer, buyer_headers = await council(client, staff_headers)
    tender = await published_tender(client, buyer, buyer_headers)
    _, _, early_headers = await member(client, staff_headers, "Early Grounds CIC")
    _, _, late_headers = await member(client, staff_headers, "Late Gardens CIC")
    early = await drafted_bid(client, early_headers, tender, "lot-1", 10_000_000)
    await submitted(client, early_headers, early)  # in pounds, and never priced again
    late = await drafted_bid(client, late_headers, tender, "lot-1", 11_000_000)
    _, _, unpriced_headers = await member(client, staff_headers, "Unpriced Paths CIC")
    unpriced = await drafted_bid(client, unpriced_headers, tender, "lot-1")
    shown_early = (await client.get(f"/api/v1/bids/{early}", headers=early_headers)).json()
    assert shown_early["tender_amended_since_drafted"] == 0, shown_early

    clock.advance(timedelta(minutes=1))
    amended = await client.post(
        f"/api/v1/tenders/{tender}/amendments", json=in_euros(), headers=buyer_headers
    )
    assert amended.status_code == 200, amended.text
    # Each bid drafted before shows the amendment (its bidder may not have registered interest,
    # and so not be mailed of it); one drafted after it does not.
    shown_early = (await client.get(f"/api/v1/bids/{early}", headers=early_headers)).json()
    assert shown_early["tender_amended_since_drafted"] == 1, shown_early
    clock.advance(timedelta(minutes=1))
    _, _, after_headers = await member(client, staff_headers, "After Lawns CIC")
    after = await drafted_bid(client, after_headers, tender, "lot-1")
    [listed_after] = (await client.get("/api/v1/bids", headers=after_headers)).json()["items"]
    assert (listed_after["id"], listed_after["tender_amended_since_drafted"]) == (after, 0)

    # A draft not priced yet shows the currency its price will be written in, in both views.
    shown_draft = (await client.get(f"/api/v1/bids/{unpriced}", headers=unpriced_headers)).json()
    assert shown_draft["currency"] == "EUR", shown_draft
    [listed] = (await client.get("/api/v1/bids", headers=unpriced_headers)).json()["items"]
    assert listed["currency"] == "EUR", listed
    # A bid priced in pounds still shows pounds: its price is in them.
    priced = (await client.get(f"/api/v1/bids/{late}", headers=late_headers)).json()
    assert (priced["currency"], priced["price_minor"]) == ("GBP", 11_000_000), priced
    # The drafted bid, still priced in pounds, is not submitted so.
    refused = await client.post(f"/api/v1/bids/{late}/submission", headers=late_headers)
    assert refused.status_code == 422, refused.text
    assert [e["field"] for e in refused.json()["errors"]] == ["price_minor"], refused.text
    assert "EUR" in refused.json()["detail"], refused.text
    # Written again, its price is in euros, and it is submitted.
    again = await client.put(f"/api/v1/bids/{late}", json=content(9_500_000), headers=late_headers)
    assert again.status_code == 200, again.text
    shown = (await client.get(f"/api/v1/bids/{late}", headers=late_headers)).json()
    assert (shown["currency"], shown["price_minor"]) == ("EUR", 9_500_000), shown
    await submitted(client, late_headers, late)

    margin = services_of(client).settings.bid_opening_margin_seconds
    clock.set(at(DEADLINE) + timedelta(seconds=margin))
    await tick(client)
    opening = await opened_bids(client, tender, buyer_headers)
    assert opening.status_code == 200, opening.text
    verdicts = {b["bid_id"]: b for b in opening.json()["bids"]}
    assert verdicts[late]["valid"] is True, verdicts[late]
    assert verdicts[late]["content"]["currency"] == "EUR", verdicts[late]
    assert verdicts[early]["valid"] is False, verdicts[early]
    assert "GBP" in verdicts[early]["reason"], verdicts[early]
    assert "EUR" in verdicts[early]["reason"], verdicts[early]
    # The lot is evaluated on the one valid bid, in euros.
    evaluation = await client.get(
        f"/api/v1/tenders/{tender}/lots/lot-1/evaluation", headers=buyer_headers
    )
    assert evaluation.status_code == 200, evaluation.text
    assert [(b["bid_id"], b["currency"]) for b in evaluation.json()["bids"]] == [(late, "EUR")]


async def test_an_active_tender_past_its_deadline_is_not_amended_to_take_bids_again(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    """From the deadline on nothing about a bid changes, whether or not the clock has opened
    them: a buyer extending a deadline that has passed (before the opening clock has run) would
    reopen the competition, letting a bidder withdraw and price again after the deadline."""
    buyer, buyer_headers = await council(client, staff_headers)
    tender = await published_tender(client, buyer, buyer_headers)
    _, _, bidder = await member(client, staff_headers, "Early Grounds CIC")
    bid = await drafted_bid(client, bidder, tender, "lot-1", 10_000_000)
    await submitted(client, bidder, bid)
    clock.set(at(DEADLINE) + timedelta(seconds=1))  # past the deadline; the clock has not run

    later = terms(eligibility=FOR_MEMBERS, deadline="2026-04-15T12:00:00Z")
    amended = await client.post(
        f"/api/v1/tenders/{tender}/amendments",
        json=later | {"rationale": "Few bids came in: a month more"},
        headers=buyer_headers,
    )
    assert amended.status_code == 409, amended.text
    assert "deadline has passed" in amended.json()["detail"], amended.text
    view = (await client.get(f"/api/v1/tenders/{tender}")).json()
    assert view["tender_period"]["end"].startswith(DEADLINE[:19]), view["tender_period"]
    withdrawn = await client.post(f"/api/v1/bids/{bid}/withdrawal", headers=bidder)
    assert withdrawn.status_code == 409, withdrawn.text
