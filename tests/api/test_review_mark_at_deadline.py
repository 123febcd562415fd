"""Review probe (helper "review"), found on 9185c79 (the mark-at-the-deadline rule is older) and
fixed in 6cfc922: the opening judged a bidder's mark "as it stood when bids were due" from the
mark as it stands now (`QualityMark.status_at(deadline)`), which kept what was recorded after
the deadline. A mark valid at the deadline whose `valid_until` falls between the deadline and
the opening was judged expired once the marks clock had recorded its expiry, and valid if that
clock had not ticked: the verdict on the same bid depended on which clock ran first. The
opening now replays the mark's events in effect at the deadline (MarksApp.mark_as_it_stood):
valid either way. On both stores."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sharedkernel.events import Context
from tests.api.helpers import services_of
from tests.api.test_award_probe import ok
from tests.api.test_bid_scenario import bid_of, drafted_bid, submitted
from tests.api.test_matching_search_probe import (
    LOT_CODE,
    REGION,
    Headers,
    council,
    marked,
    published,
    tender_terms,
)
from tests.api.test_membership_lapse_readers import move_to
from tests.api.test_opening_clock_reads import opening_parts
from tests.api.test_opening_clock_reads import tick as open_due
from tests.conftest import AppClient
from tradehall.clock import ManualClock
from tradehall.store.base import Store

Client = AppClient
HERE = {"regions": [REGION], "cpv_codes": [LOT_CODE]}


async def test_a_mark_valid_at_the_deadline_is_held_whichever_clock_ran_first(
    client: Client, staff_headers: Headers, store: Store, clock: ManualClock
) -> None:
    verdicts = []
    for marks_clock_first in (False, True):
        holder, headers = await marked(client, staff_headers, store, clock, **HERE)
        mark = ok(await client.get(f"/api/v1/organisations/{holder}/mark", headers=headers))
        valid_until = datetime.fromisoformat(mark["valid_until"])
        # Its deadline (30 days on) an hour before the mark's validity ends.
        move_to(clock, valid_until - timedelta(days=30, hours=1))
        buyer, buyer_headers = await council(client, staff_headers, "Kingsbridge Council")
        tender = await published(
            client, buyer, buyer_headers, tender_terms(clock.now(), mark_required=True)
        )
        clock.advance(timedelta(hours=2))  # the tender period has begun
        bid = await drafted_bid(client, headers, tender, "lot-1", 1_500_000)
        await submitted(client, headers, bid)
        move_to(clock, valid_until + timedelta(hours=1))  # past the deadline and its margin
        if marks_clock_first:
            marks = services_of(client).applications["marks"]
            found = marks.mark_of(uuid.UUID(holder))
            context = Context("user:test", f"review-{uuid.uuid4()}", clock.now())
            assert await services_of(client).run(marks.observe_time, context, found.id)
        parts, _ = opening_parts(client, clock)
        await open_due(client, parts)
        view = await bid_of(client, headers, bid)
        verdicts.append((view["status"], view.get("invalid_reason")))
    # Valid at the deadline either way: the same verdict whichever clock ran first.
    assert [status for status, _ in verdicts] == ["opened", "opened"], verdicts
