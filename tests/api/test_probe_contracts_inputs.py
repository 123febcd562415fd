"""Odd input to the contract routes, probed on both stores (the "probe" helper), beyond what
tests/api/test_contracts.py sends: times at the edges of what a datetime holds (year 1 ahead of
UTC, year 9999, a day's offsets), NaN and numbers past 64 bits, a key given twice, the nil UUID
as a report's id, and If-Match in every odd form. Each is a problem naming the field or
header (never a 500) and changes nothing, or is taken as it says."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from tests.api.test_contracts import report, view
from tests.api.test_probe_contracts import signed_sixty_days_ago
from tests.conftest import AppClient
from tradehall.clock import ManualClock

Client = AppClient
Headers = dict[str, str]
JSON = {"content-type": "application/json"}


def named(response: Any, status: int, field: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert field in response.text, response.text


async def test_odd_reports_amendments_and_if_match_are_named_and_change_nothing(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    signed, on = await signed_sixty_days_ago(client, staff_headers, clock)

    url = f"{signed.url}/delivery-reports"
    before = await view(client, signed, signed.buyer_headers)
    odd: list[tuple[Any, int, str]] = [
        (report("0001-01-01T00:00:00+05:00", on(2)), 422, "period.start"),
        (report("0001-01-01T00:00:00-05:00", on(2)), 422, "period.start"),
        (report(on(1), "9999-12-31T23:59:59-23:59"), 422, "period.end"),
        (report(on(0)[:19] + "+23:59", on(2)), 422, "period.start"),  # before the start
        (report("2027-01-01", on(4)), 400, "period.start"),
        (
            report(on(3), on(4), delivered=[{"measure": "local_jobs", "quantity": 2**64}]),
            400,
            "quantity",
        ),
        (
            report(on(3), on(4), delivered=[{"measure": "lócal_jobs", "quantity": 1}]),
            400,
            "measure",
        ),
        (
            report(on(3), on(4), delivered=[{"measure": "local_jobs", "quantity": 1}] * 21),
            400,
            "delivered",
        ),
        (report(on(3), on(4), period="x"), 400, "period"),
    ]
    for body, status, field in odd:
        named(await client.post(url, json=body, headers=signed.a_headers), status, field)
    nan = json.dumps(
        report(on(3), on(4), delivered=[{"measure": "local_jobs", "quantity": float("nan")}])
    )
    named(await client.post(url, content=nan, headers=signed.a_headers | JSON), 400, "body")
    body = report(on(5), on(6))
    first = json.dumps({"report_id": str(uuid.uuid4())})[:-1]  # the key, then the body's own
    twice = first + ", " + json.dumps(body)[1:]
    named(await client.post(url, content=twice, headers=signed.a_headers | JSON), 400, "report_id")
    for body, field in (
        ({"reason": "x", "value_minor": 2**70}, "value_minor"),
        ({"reason": "x", "value_minor": 5, "currency": "EUR"}, "currency"),
        (
            {"reason": "x", "period": {"start": on(0), "end": "2099-12-31T23:59:59-12:00"}},
            "period.end",
        ),
        (
            {"reason": "x", "period": {"start": "1900-01-01T00:30:00+01:00", "end": on(9)}},
            "period.start",
        ),
    ):
        amended = await client.post(
            f"{signed.url}/amendments", json=body, headers=signed.buyer_headers
        )
        assert amended.status_code in (400, 422), amended.text
        assert field in amended.text, amended.text
    done = {"reason": "Delivered in full"}
    for tag, status in (
        ('W/"1"', 400),
        ('"1", "2"', 400),
        ('"-1"', 400),
        ('""', 400),
        ('"0"', 409),
        ('"999999999999999999"', 409),
        ('"1000000000000000000"', 400),
    ):
        ended = await client.post(
            f"{signed.url}/completion", json=done, headers=signed.buyer_headers | {"If-Match": tag}
        )
        named(ended, status, "If-Match" if status == 400 else "version")
    assert await view(client, signed, signed.buyer_headers) == before

    # Taken as they say: a time without its offset is UTC's; the nil UUID is an id like any.
    naive = report(on(1)[:19], on(2)[:19], report_id=str(uuid.UUID(int=0)))
    made = await client.post(url, json=naive, headers=signed.a_headers)
    assert made.status_code == 201, made.text
    [stored] = (await view(client, signed, signed.a_headers))["delivery_reports"]
    taken = datetime.fromisoformat(stored["period"]["start"])
    assert (stored["id"], taken) == (naive["report_id"], datetime.fromisoformat(on(1)))
