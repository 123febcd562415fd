"""Consortium invitations are throttled (ADR 14's throttles): per lead and partner, and per
lead; a 429 with Retry-After records nothing and tells nobody; a request that tells nobody
gives its count back; and one lead's invitations never throttle another's (that would tell
it, before the deadline, that others are inviting the same partner). On both stores."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.api.helpers import services_of
from tests.api.test_bid_scenario import drafted_bid
from tests.api.test_bids import Arena, arena, bid_events
from tests.conftest import AppClient
from tradehall.clock import ManualClock
from tradehall.identity import throttle
from tradehall.identity.tables import throttles
from tradehall.marketplace.bids.invitation_throttle import (
    count_invitations,
    invitation_policies,
    pair_key,
)

Headers = dict[str, str]


async def _name_partner(client: AppClient, on: Arena, share: int) -> tuple[int, Headers]:
    response = await client.put(
        f"/api/v1/bids/{on.bid}/consortium",
        json={"lead_share": 100 - share, "partners": [{"organisation_id": on.d, "share": share}]},
        headers=on.a_headers,
    )
    return response.status_code, dict(response.headers)


async def test_a_lead_inviting_one_partner_again_and_again_is_made_to_wait(
    client: AppClient, staff_headers: Headers, clock: ManualClock
) -> None:
    on = await arena(client, staff_headers)
    free = invitation_policies(services_of(client).settings)[0].free
    assert (await _name_partner(client, on, 40))[0] == 200
    # The same consortium again changes nothing and tells nobody: its count is given back.
    assert (await _name_partner(client, on, 40))[0] == 200
    for share in range(41, 40 + free):
        assert (await _name_partner(client, on, share))[0] == 200
    before = bid_events(client)

    status, headers = await _name_partner(client, on, 20)

    assert status == 429
    assert headers["content-type"].startswith("application/problem+json")
    wait = int(headers["retry-after"])
    assert wait >= 1
    assert bid_events(client) == before  # nothing recorded, nobody told

    # Another lead inviting the same partner is not held back by the first lead's count.
    own = await drafted_bid(client, on.x_headers, on.tender, "lot-2", 9_000_000)
    other = await client.put(
        f"/api/v1/bids/{own}/consortium",
        json={"lead_share": 70, "partners": [{"organisation_id": on.d, "share": 30}]},
        headers=on.x_headers,
    )
    assert other.status_code == 200, other.text

    clock.advance(timedelta(seconds=wait))
    assert (await _name_partner(client, on, 20))[0] == 200


async def test_a_lead_inviting_many_partners_is_made_to_wait(client: AppClient) -> None:
    """The lead's own count: with one invitation per pair, a full consortium's worth (nine)
    from one lead, then it waits; the request over it gives back what it had counted."""
    services = services_of(client)
    settings = dataclasses.replace(services.settings, account_mail_free_per_address=1)
    assert invitation_policies(settings)[1].free == 9
    index_key = uuid.uuid4().bytes  # any key: this test's keys are its own
    lead, now = uuid.uuid4(), services.clock.now()
    await count_invitations(
        services.engine, index_key, settings, now, lead, [uuid.uuid4() for _ in range(9)]
    )
    late = [uuid.uuid4(), uuid.uuid4()]

    with pytest.raises(throttle.Throttled):
        await count_invitations(services.engine, index_key, settings, now, lead, late)

    # The first partner of the refused request was counted, then given back.
    key = pair_key(index_key, lead, late[0])
    async with services.engine.connect() as connection:
        row = (
            await connection.execute(select(throttles).where(throttles.c.throttle_key == key))
        ).one()
    assert row.failures == 0
