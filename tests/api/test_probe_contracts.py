"""A contract's terms amended against the delivery already reported, probed on both stores (the
"probe" helper): a party reports delivery only within the contract's period, so an amendment
may not move the period off a report that stands (reported or confirmed) — neither its start
after the report's start nor its end before the report's end — and a refused amendment changes
nothing; a rejected report's period holds nothing back."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import httpx

from tests.api.test_contracts import Signed, fields, report, signed_contract, view
from tests.conftest import AppClient
from tradehall.clock import ManualClock

Client = AppClient
Headers = dict[str, str]


async def signed_sixty_days_ago(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> tuple[Signed, Callable[[int], str]]:
    """A signed contract, the clock 60 days past its start, and `on(n)`: the time n days
    after its start (ISO)."""
    (signed,) = await signed_contract(client, staff_headers, clock)
    clock.advance(timedelta(days=60))
    start = datetime.fromisoformat(signed.signed_on)

    def on(days: int) -> str:
        return (start + timedelta(days=days)).isoformat()

    return signed, on


async def test_an_amendment_never_leaves_standing_delivery_outside_the_period(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    signed, on = await signed_sixty_days_ago(client, staff_headers, clock)

    async def amended(begins: str, ends: str) -> httpx.Response:
        return await client.post(
            f"{signed.url}/amendments",
            json={"reason": "The parks close early", "period": {"start": begins, "end": ends}},
            headers=signed.buyer_headers,
        )

    reported = report(on(10), on(30))
    made = await client.post(
        f"{signed.url}/delivery-reports", json=reported, headers=signed.a_headers
    )
    assert made.status_code == 201, made.text
    before = await view(client, signed, signed.buyer_headers)
    end = before["period"]["end"]

    for begins, ends, field in (
        (on(20), end, "period.start"),  # starts after the report starts
        (on(0), on(20), "period.end"),  # ends before the report ends
    ):
        moved = await amended(begins, ends)
        assert moved.status_code == 422, moved.text
        assert fields(moved) == [field]
    assert await view(client, signed, signed.buyer_headers) == before

    # To the report's very end is within it; once the report is rejected, earlier is too.
    to_the_end = await amended(on(0), on(30))
    assert to_the_end.status_code == 200, to_the_end.text
    rejected = await client.post(
        f"{signed.url}/delivery-reports/{reported['report_id']}/rejection",
        json={"reason": "No evidence of the hires"},
        headers=signed.buyer_headers,
    )
    assert rejected.status_code == 200, rejected.text
    shorter = await amended(on(0), on(20))
    assert shorter.status_code == 200, shorter.text
