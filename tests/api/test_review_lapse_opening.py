"""Review probe (helper "review"), found on c93a9d9 and fixed in 9185c79: the opening judged a
bidder's membership standing at the opening's time, so a member in good standing (in its grace)
when it submitted and at the deadline, whose grace ran out between the deadline and the opening,
had its bid opened invalid, while opened before the grace ran out the same bid was valid: the
verdict depended on when the opening clock happened to run. The opening now judges the standing
as it stood at the deadline (MembershipApp.standing_at): valid either way. On both stores; the
membership clock is never ticked."""

from __future__ import annotations

from datetime import timedelta

from tests.api.test_bid_scenario import bid_of, drafted_bid, submitted
from tests.api.test_directory_search import join
from tests.api.test_matching_search_probe import Headers, council, published
from tests.api.test_membership_lapse_readers import (
    HERE,
    lapses_at,
    members_only,
    move_to,
)
from tests.api.test_opening_clock_reads import opening_parts
from tests.api.test_opening_clock_reads import tick as open_due
from tests.conftest import AppClient
from tradehall.clock import ManualClock

Client = AppClient


async def test_a_bid_in_good_standing_at_the_deadline_is_judged_by_the_deadline_not_the_opening(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    verdicts = []
    for late in (False, True):
        member, headers, _ = await join(client, staff_headers, **HERE)
        ends = await lapses_at(client, member, headers)
        # Published so its deadline (30 days on) falls an hour before the grace runs out.
        move_to(clock, ends - timedelta(days=30, hours=1))
        buyer, buyer_headers = await council(client, staff_headers, "Dartmouth Council")
        tender = await published(client, buyer, buyer_headers, members_only(clock.now()))
        clock.advance(timedelta(hours=2))  # the tender period has begun; still in grace
        bid = await drafted_bid(client, headers, tender, "lot-1", 1_500_000)
        await submitted(client, headers, bid)
        # The deadline passes in grace; the opening runs at its margin (before the grace ran
        # out) or a day later (the clock was down, say: after it).
        move_to(clock, ends - timedelta(minutes=30) + (timedelta(days=1) if late else timedelta()))
        parts, _ = opening_parts(client, clock)
        await open_due(client, parts)
        view = await bid_of(client, headers, bid)
        verdicts.append((view["status"], view.get("invalid_reason")))
    # The same facts at the deadline (in good standing): the same verdict, whenever the
    # opening ran, as the mark is judged at the deadline.
    assert [status for status, _ in verdicts] == ["opened", "opened"], verdicts
