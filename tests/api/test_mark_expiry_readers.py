"""A quality mark past its `valid_until` is expired for every reader at once, not only once the
marks clock's next tick (hourly by default) records `Expired`: a bid on a tender requiring the
mark, the directory's mark filter, the search's and matching (helper mark-expiry-readers).
On both stores; the clock is never ticked in these tests."""

from __future__ import annotations

from datetime import timedelta

from tests.api.test_directory_search import join
from tests.api.test_matching_search_probe import (
    LOT_CODE,
    REGION,
    Headers,
    council,
    marked,
    published,
    tender_terms,
)
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
