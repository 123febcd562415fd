"""Closure days over HTTP, on both stores (issue 13): staff close a future weekday with why and
reopen it; anyone reads the closure days from today on and the working-day rule; a member may
not close a day; a past day, a weekend, a day that is not a date are refused naming `day`.

PostgreSQL's database is shared by the whole run, and the closure days are one list: the days
used here are far in the future (no standstill of another test crosses them), and reopened.
"""

from __future__ import annotations

from datetime import timedelta

from tests.api.helpers import register, token
from tests.conftest import AppClient
from tradehall.clock import ManualClock

Client = AppClient
Headers = dict[str, str]
URL = "/api/v1/closure-days"
# Wednesdays and a Saturday of next year (the clock is in March 2026): closed days are
# reopened by the end of each test, since the list is shared on PostgreSQL.
CLOSED, OTHER, SATURDAY = "2027-11-10", "2027-11-17", "2027-11-13"


def fields(response: object) -> list[str]:
    return [e["field"] for e in response.json().get("errors") or []]  # type: ignore[attr-defined]


async def days(client: Client) -> dict[str, str]:
    response = await client.get(URL)
    assert response.status_code == 200, response.text
    body = response.json()
    assert "Monday to Friday" in body["rule"]
    assert "8 working days" in body["rule"]
    return {d["day"]: d["reason"] for d in body["days"]}


async def test_staff_close_and_reopen_a_future_weekday_which_anyone_reads(
    client: Client, staff_headers: Headers
) -> None:
    why = {"reason": "Office move"}
    closed = await client.put(f"{URL}/{CLOSED}", json=why, headers=staff_headers)
    assert closed.status_code == 200, closed.text
    assert closed.headers["etag"] == f'"{closed.json()["version"]}"'
    assert (await days(client))[CLOSED] == "Office move"
    again = await client.put(f"{URL}/{CLOSED}", json=why, headers=staff_headers)
    assert again.status_code == 409, again.text

    reopened = await client.delete(f"{URL}/{CLOSED}", headers=staff_headers)
    assert reopened.status_code == 200, reopened.text
    assert reopened.json()["version"] == closed.json()["version"] + 1
    assert CLOSED not in await days(client)
    not_closed = await client.delete(f"{URL}/{OTHER}", headers=staff_headers)
    assert not_closed.status_code == 404, not_closed.text


async def test_bad_days_and_members_are_refused_and_change_nothing(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    before = await days(client)
    why = {"reason": "Strike"}
    yesterday = (clock.now() - timedelta(days=1)).date().isoformat()
    for day, status in (
        (yesterday, 422),
        (SATURDAY, 422),
        ("2031-02-30", 422),
        ("2031-06-11", 422),  # beyond next year: no standstill reaches it
        ("9999-12-31", 422),
        ("tomorrow", 422),
        ("20310611", 422),
        ("2031-W24-3", 422),
    ):
        refused = await client.put(f"{URL}/{day}", json=why, headers=staff_headers)
        assert refused.status_code == status, (day, refused.text)
        assert fields(refused) == ["day"], (day, refused.text)
    today = clock.now().date().isoformat()
    past_reopen = await client.delete(f"{URL}/{yesterday}", headers=staff_headers)
    assert past_reopen.status_code in (404, 422), past_reopen.text
    for body in ({}, {"reason": ""}, {"reason": "two\nlines"}, {"reason": "x" * 501}):
        bad = await client.put(f"{URL}/{OTHER}", json=body, headers=staff_headers)
        assert bad.status_code in (400, 422), (body, bad.text)
        assert fields(bad) == ["reason"], (body, bad.text)

    org = await register(client)
    member = await token(client, org["email"])
    assert (await client.put(f"{URL}/{OTHER}", json=why, headers=member)).status_code == 403
    assert (await client.delete(f"{URL}/{OTHER}", headers=member)).status_code == 403
    assert (await client.put(f"{URL}/{OTHER}", json=why)).status_code == 401
    assert await days(client) == before
    assert all(day >= today for day in before)
