"""A quality mark past its `valid_until` is expired for every reader at once, not only once the
marks clock's next tick (hourly by default) records `Expired`: a bid on a tender requiring the
mark, the directory's mark filter, the search's and matching (helper mark-expiry-readers).
On both stores; the clock is never ticked in these tests."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.api.test_award_probe import ok
from tests.api.test_bid_scenario import bid_of, drafted_bid, submitted
from tests.api.test_directory_search import join, unique_word
from tests.api.test_listings import settle
from tests.api.test_matching_search_probe import (
    LOT_CODE,
    REGION,
    Headers,
    council,
    drafted,
    marked,
    matches,
    published,
    search,
    tender_terms,
)
from tests.api.test_opening_clock_reads import opening_parts
from tests.api.test_opening_clock_reads import tick as open_due
from tests.conftest import AppClient
from tradehall.clock import ManualClock
from tradehall.store.base import Store

Client = AppClient
# Past a mark's twelve months, within the membership's year and 40 days: the membership is
# still in good standing, the mark alone has run out.
PAST_THE_MARK = timedelta(days=366)


async def test_a_supplier_whose_mark_ran_out_is_refused_as_one_without_it(
    client: Client, staff_headers: Headers, store: Store, clock: ManualClock
) -> None:
    """Found: between a mark's `valid_until` and the clock's next tick its holder still counted
    as holding the mark, so it could draft a bid on a tender requiring it. It is now refused as
    a member that never held the mark is, by the time the command runs at."""
    here = {"regions": [REGION], "cpv_codes": [LOT_CODE]}
    holder, holder_headers = await marked(client, staff_headers, store, clock, **here)
    _, plain_headers, _ = await join(client, staff_headers, **here)
    clock.advance(PAST_THE_MARK)
    buyer, buyer_headers = await council(client, staff_headers, "Totnes Council")
    tender = await published(
        client, buyer, buyer_headers, tender_terms(clock.now(), mark_required=True)
    )
    clock.advance(timedelta(hours=2))  # the tender period has begun

    refusals = []
    for headers in (holder_headers, plain_headers):
        refused = await client.post(
            "/api/v1/bids", json={"tender_id": tender, "lot_id": "lot-1"}, headers=headers
        )
        refusals.append((refused.status_code, refused.json().get("detail")))
    [(held_status, held_detail), (plain_status, plain_detail)] = refusals
    assert held_status == plain_status
    assert 400 <= held_status < 500
    assert (
        held_detail == f"not eligible to bid: organisation {holder} does not hold the quality mark"
    )
    assert plain_detail.endswith("does not hold the quality mark")


async def test_a_mark_that_ran_out_is_expired_in_the_directory_search_and_matching(
    client: Client, staff_headers: Headers, store: Store, clock: ManualClock
) -> None:
    """Found: the directory's `?mark=` filter and its entries, the search's `mark` filter, facet
    and entries, and matching (a lot's ranking, a member's recommendations) read the register's
    recorded status, `valid` until the marks clock's next tick. They now compare `valid_until`
    with the request's time; nothing is written on read (the clock is never ticked here)."""
    word = unique_word()
    here = {"regions": [REGION], "cpv_codes": [LOT_CODE]}
    buyer, buyer_headers = await council(client, staff_headers, "Dartmouth Council")
    required = await drafted(
        client, buyer, buyer_headers, tender_terms(clock.now(), mark_required=True)
    )
    holder, holder_headers = await marked(
        client, staff_headers, store, clock, name=f"Holder {word}", **here
    )
    await settle(client)
    # While the mark is valid: held everywhere, ranked for the lot requiring it.
    assert [i["id"] for i in (await search(client, q=word, mark="true"))["items"]] == [holder]
    assert holder in await in_directory(client, "valid")
    lot = ok(await client.get(matches(buyer, required), headers=buyer_headers))
    [ranked] = [m for m in lot["members"] if m["organisation_id"] == holder]
    assert ranked["parts"]["mark"]["points"] == 15

    clock.advance(PAST_THE_MARK)
    found = await search(client, q=word)
    assert [(i["id"], i["quality_mark"]["status"]) for i in found["items"]] == [(holder, "expired")]
    assert found["facets"]["mark"] == {"held": 0, "not_held": 1}
    assert (await search(client, q=word, mark="true"))["total"] == 0
    assert [i["id"] for i in (await search(client, q=word, mark="false"))["items"]] == [holder]
    assert holder not in await in_directory(client, "valid")
    expired = await in_directory(client, "expired")
    assert expired.get(holder) == "expired"
    lot = ok(await client.get(matches(buyer, required), headers=buyer_headers))
    assert holder not in [m["organisation_id"] for m in lot["members"]]
    assert lot["excluded"]["no_quality_mark"] >= 1

    # Its recommendations: an open lot requiring the mark is not among them; one that does
    # not require it is.
    open_required = await published(
        client, buyer, buyer_headers, tender_terms(clock.now(), mark_required=True)
    )
    open_to_all = await published(client, buyer, buyer_headers, tender_terms(clock.now()))
    await settle(client)
    recommended = ok(
        await client.get(
            f"/api/v1/organisations/{holder}/recommended-tenders",
            params={"limit": 100},
            headers=holder_headers,
        )
    )
    tenders = {item["tender_id"] for item in recommended["items"]}
    assert open_to_all in tenders
    assert open_required not in tenders
    # Nothing was written by reading: the mark's log holds no Expired before the tick.
    mark = await client.get(f"/api/v1/organisations/{holder}/mark", headers=holder_headers)
    assert (mark.json()["status"], mark.json()["version"]) == ("expired", 1)


async def in_directory(client: Client, mark: str) -> dict[str, str | None]:
    """The directory's workwear members holding a mark in this status: id to mark status."""
    body = ok(
        await client.get(
            "/api/v1/directory", params={"mark": mark, "cpv": LOT_CODE, "per_page": 100}
        )
    )
    return {m["id"]: (m["quality_mark"] or {}).get("status") for m in body["items"]}


async def test_a_bid_is_opened_with_the_mark_as_it_stood_at_the_deadline(
    client: Client, staff_headers: Headers, store: Store, clock: ManualClock
) -> None:
    """Found: the opening judged a bid's mark by its recorded status, so a mark that ran out
    before the deadline still counted if the marks clock had not ticked since. A holder's bid,
    submitted while its mark held, on a tender whose deadline falls after the mark's end, is
    opened invalid by the opening alone (no marks clock run)."""
    here = {"regions": [REGION], "cpv_codes": [LOT_CODE]}
    _, holder_headers = await marked(client, staff_headers, store, clock, **here)
    clock.advance(PAST_THE_MARK - timedelta(days=20))  # the mark holds 19 days more
    buyer, buyer_headers = await council(client, staff_headers, "Kingsbridge Council")
    tender = await published(
        client, buyer, buyer_headers, tender_terms(clock.now(), mark_required=True)
    )
    view = await opened_bid(client, clock, holder_headers, tender)
    assert view["status"] == "invalid", view
    assert "quality mark" in view["invalid_reason"], view


async def opened_bid(
    client: Client, clock: ManualClock, headers: Headers, tender: str
) -> dict[str, Any]:
    """A bid submitted two hours after the tender's publication (its period begun), opened by
    the opening clock alone past the deadline (30 days) and its margin: the bidder's view."""
    clock.advance(timedelta(hours=2))
    bid = await drafted_bid(client, headers, tender, "lot-1", 1_500_000)
    await submitted(client, headers, bid)
    clock.advance(timedelta(days=31))
    parts, _ = opening_parts(client, clock)
    await open_due(client, parts)  # on PostgreSQL other tests' tenders may be due too
    return await bid_of(client, headers, bid)
