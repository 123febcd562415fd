"""A partner may not name partners, and is refused before any invitation is counted: counted
first, its 429 would tell it whether the lead has been inviting some other organisation (its
partner on another bid), before the deadline (ADR 14)."""

from __future__ import annotations

from tests.api.helpers import services_of
from tests.api.test_bid_scenario import drafted_bid
from tests.api.test_bids import arena
from tests.conftest import AppClient
from tradehall.marketplace.bids.invitation_throttle import invitation_policies

Headers = dict[str, str]


async def test_a_partner_cannot_read_the_leads_invitations_to_others_from_a_429(
    client: AppClient, staff_headers: Headers
) -> None:
    on = await arena(client, staff_headers)
    # A's bid on lot 1 names D, who is told of it (D may act on that bid as its partner).
    named = await client.put(
        f"/api/v1/bids/{on.bid}/consortium",
        json={"lead_share": 60, "partners": [{"organisation_id": on.d, "share": 40}]},
        headers=on.a_headers,
    )
    assert named.status_code == 200, named.text
    # A's other bid, on lot 2, with X as partner: shares back and forth until A must wait.
    other = await drafted_bid(client, on.a_headers, on.tender, "lot-2", 9_000_000)
    free = invitation_policies(services_of(client).settings)[0].free
    for share in range(10, 11 + free):
        last = await client.put(
            f"/api/v1/bids/{other}/consortium",
            json={
                "lead_share": 100 - share,
                "partners": [{"organisation_id": on.x, "share": share}],
            },
            headers=on.a_headers,
        )
    assert last.status_code == 429

    # D, not the lead, tries to name X on the bid it partners: refused as any non-lead is,
    # the same whatever A has done elsewhere.
    probe = await client.put(
        f"/api/v1/bids/{on.bid}/consortium",
        json={"lead_share": 70, "partners": [{"organisation_id": on.x, "share": 30}]},
        headers=on.d_headers,
    )
    assert probe.status_code == 409, probe.text  # as any non-lead is refused
