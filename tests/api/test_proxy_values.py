"""The social-value proxy-value table over HTTP (issue 17), on both stores: anyone reads every
version (the shipped default first) and which is in effect today (London); staff add a version
taking effect on a date; a member is refused; bad input is refused naming the field and changes
nothing; a second version on a date is a 409; two staff adding at once on one version: one 409.

PostgreSQL's database is shared by the run and the configured versions are one aggregate: every
test dates its versions in a year of its own, far in the future, so no other test's reports (the
impact ledger values 2026's contracts) ever find them in effect, and asserts only on its own.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import httpx

from marketplace.bids.content import MEASURES
from tests.api.helpers import register, token
from tests.conftest import AppClient
from tradehall.clock import ManualClock

Client = AppClient
Headers = dict[str, str]
URL = "/api/v1/impact/proxy-values"
SOURCE = "Example figures, https://example.org/figures"


def body(day: str, note: str = "", **rates: str) -> dict[str, Any]:
    """A version dated `day`: every measure at "100" pence, but those given."""
    return {
        "effective_from": day,
        "note": note,
        "values": [
            {"measure": m, "pence_per_unit": rates.get(m, "100"), "source": SOURCE}
            for m in MEASURES
        ],
    }


def fields(response: httpx.Response) -> list[str]:
    return [e["field"] for e in response.json().get("errors") or []]


async def listed(client: Client) -> dict[str, Any]:
    response = await client.get(URL)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    assert response.headers["etag"] == f'"{result["version"]}"'
    return result


def dated(listing: dict[str, Any], year: int) -> dict[str, dict[str, Any]]:
    """This test's versions (those of its own year), by effective date."""
    return {
        v["effective_from"]: v
        for v in listing["versions"]
        if v["effective_from"].startswith(f"{year}-")
    }


async def member_headers(client: Client) -> Headers:
    org = await register(client)
    return await token(client, org["email"])


async def test_anyone_reads_the_shipped_table_first_with_units_and_sources(client: Client) -> None:
    listing = await listed(client)
    shipped = listing["versions"][0]
    assert shipped["effective_from"] == "2000-01-01"
    assert shipped["shipped"] is True
    assert all(v["shipped"] is False for v in listing["versions"][1:])
    values = {v["measure"]: v for v in shipped["values"]}
    assert list(values) == list(MEASURES)
    assert {m: v["unit"] for m, v in values.items()} == dict(MEASURES)
    assert values["volunteering_hours"]["pence_per_unit"] == "1221"
    assert values["local_social_enterprise_spend"]["pence_per_unit"] == "1"
    assert all(v["source"] for v in values.values())
    dates = [v["effective_from"] for v in listing["versions"]]
    assert dates == sorted(dates)
    # Exactly one version is in effect today, the latest on or before it.
    in_effect = [v["effective_from"] for v in listing["versions"] if v["in_effect"]]
    assert in_effect == [listing["in_effect"]]
    assert in_effect == [max(d for d in dates if d <= listing["today"])]


async def test_staff_add_versions_applied_by_date_from_their_effective_day(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    year = 2901
    before = await listed(client)
    added = await client.post(
        URL,
        json=body(f"{year}-06-01", note="Wage rise", volunteering_hours="1250.5"),
        headers=staff_headers,
    )
    assert added.status_code == 201, added.text
    assert added.headers["etag"] == f'"{added.json()["version"]}"'
    assert added.json()["version"] == before["version"] + 1 + (before["version"] == 0)
    later = await client.post(URL, json=body(f"{year}-09-01"), headers=staff_headers)
    assert later.status_code == 201, later.text

    listing = await listed(client)
    assert listing["version"] == later.json()["version"]
    mine = dated(listing, year)
    assert list(mine) == [f"{year}-06-01", f"{year}-09-01"]
    june = mine[f"{year}-06-01"]
    assert june["note"] == "Wage rise"
    assert june["shipped"] is False
    assert {v["measure"]: v["pence_per_unit"] for v in june["values"]}["volunteering_hours"] == (
        "1250.5"
    )
    assert all(v["source"] == SOURCE for v in june["values"])
    assert not june["in_effect"]  # dated in the future: recorded, not yet in effect

    # In effect from its day (London): 23:30 UTC on 31 May is 00:30 on 1 June in summer time.
    clock.set(datetime(year, 5, 31, 22, 59, tzinfo=UTC))
    assert (await listed(client))["in_effect"] < f"{year}-06-01"
    clock.set(datetime(year, 5, 31, 23, 30, tzinfo=UTC))
    on_the_day = await listed(client)
    assert on_the_day["today"] == f"{year}-06-01"
    assert on_the_day["in_effect"] == f"{year}-06-01"
    assert dated(on_the_day, year)[f"{year}-06-01"]["in_effect"] is True
    clock.set(datetime(year, 8, 31, 12, tzinfo=UTC))
    assert (await listed(client))["in_effect"] == f"{year}-06-01"
    clock.set(datetime(year, 9, 1, 12, tzinfo=UTC))
    assert (await listed(client))["in_effect"] == f"{year}-09-01"


async def test_members_and_strangers_are_refused(client: Client) -> None:
    year = 2902
    before = await listed(client)
    member = await member_headers(client)
    refused = await client.post(URL, json=body(f"{year}-01-01"), headers=member)
    assert refused.status_code == 403, refused.text
    anonymous = await client.post(URL, json=body(f"{year}-01-01"))
    assert anonymous.status_code == 401, anonymous.text
    after = await listed(client)
    assert after["version"] == before["version"]
    assert dated(after, year) == {}


async def test_a_second_version_on_a_date_is_a_conflict(
    client: Client, staff_headers: Headers
) -> None:
    year = 2903
    first = await client.post(URL, json=body(f"{year}-04-01"), headers=staff_headers)
    assert first.status_code == 201, first.text
    again = await client.post(
        URL, json=body(f"{year}-04-01", local_jobs="5"), headers=staff_headers
    )
    assert again.status_code == 409, again.text
    shipped_day = await client.post(URL, json=body("2000-01-01"), headers=staff_headers)
    assert shipped_day.status_code == 409, shipped_day.text
    listing = await listed(client)
    assert listing["version"] == first.json()["version"]
    mine = dated(listing, year)
    assert list(mine) == [f"{year}-04-01"]
    assert {v["pence_per_unit"] for v in mine[f"{year}-04-01"]["values"]} == {"100"}


def _changed(day: str, index: int, **value: Any) -> dict[str, Any]:
    given = body(day)
    given["values"][index] = given["values"][index] | value
    return given


def _without(day: str, key: str) -> dict[str, Any]:
    given = body(day)
    del given[key]
    return given


async def test_bad_input_is_refused_naming_the_field_and_changes_nothing(
    client: Client, staff_headers: Headers
) -> None:
    year = 2904
    day = f"{year}-02-01"
    before = await listed(client)
    seventh = {"measure": "local_jobs", "pence_per_unit": "1", "source": SOURCE}
    cases: list[tuple[dict[str, Any], str]] = [
        (body(f"{year}-02-30"), "effective_from"),
        (body("next tuesday"), "effective_from"),
        (body("1999-12-31"), "effective_from"),
        (_without(day, "effective_from"), "effective_from"),
        (_without(day, "values"), "values"),
        (body(day) | {"values": []}, "values"),
        (body(day) | {"values": body(day)["values"][:5]}, "values"),
        (body(day) | {"values": [*body(day)["values"], seventh]}, "values"),
        (body(day) | {"values": [*body(day)["values"][:5], seventh]}, "values[5].measure"),
        (_changed(day, 1, measure="seagulls"), "values[1].measure"),
        (_changed(day, 2, pence_per_unit="-3"), "values[2].pence_per_unit"),
        (_changed(day, 2, pence_per_unit="1.23456"), "values[2].pence_per_unit"),
        (_changed(day, 2, pence_per_unit="1e3"), "values[2].pence_per_unit"),
        (_changed(day, 2, pence_per_unit="NaN"), "values[2].pence_per_unit"),
        (_changed(day, 2, pence_per_unit="1000000001"), "values[2].pence_per_unit"),
        (_changed(day, 2, pence_per_unit=12), "values[2].pence_per_unit"),
        (_changed(day, 2, pence_per_unit=None), "values[2].pence_per_unit"),
        (_changed(day, 3, source=""), "values[3].source"),
        (_changed(day, 3, source="   "), "values[3].source"),
        (_changed(day, 3, source="x" * 501), "values[3].source"),
        (_changed(day, 3, source="bad\x00text"), "values[3].source"),
        (_changed(day, 4, colour="red"), "values[4].colour"),
        (body(day, note="x" * 1001), "note"),
        (body(day) | {"extra": 1}, "extra"),
    ]
    for given, field in cases:
        refused = await client.post(URL, json=given, headers=staff_headers)
        assert refused.status_code in (400, 422), (field, refused.text)
        assert fields(refused) == [field], (field, refused.text)
    not_json = await client.post(
        URL, content=b"{", headers=staff_headers | {"content-type": "application/json"}
    )
    assert not_json.status_code == 400, not_json.text
    weak = await client.post(URL, json=body(day), headers=staff_headers | {"If-Match": 'W/"1"'})
    assert weak.status_code == 400, weak.text
    assert fields(weak) == ["If-Match"], weak.text

    after = await listed(client)
    assert after["version"] == before["version"]
    assert dated(after, year) == {}


async def test_two_staff_adding_on_one_version_one_is_refused(
    client: Client, staff_headers: Headers
) -> None:
    year = 2905
    seen = (await listed(client))["version"]
    if_match = staff_headers | {"If-Match": f'"{seen}"'}
    first, second = await asyncio.gather(
        client.post(URL, json=body(f"{year}-01-01"), headers=if_match),
        client.post(URL, json=body(f"{year}-02-01"), headers=if_match),
    )
    statuses = sorted([first.status_code, second.status_code])
    assert statuses == [201, 409], (first.text, second.text)
    listing = await listed(client)
    assert len(dated(listing, year)) == 1
    stale = await client.post(URL, json=body(f"{year}-03-01"), headers=if_match)
    assert stale.status_code == 409, stale.text
    assert stale.json()["current_version"] == listing["version"]
    fresh = staff_headers | {"If-Match": f'"{listing["version"]}"'}
    accepted = await client.post(URL, json=body(f"{year}-03-01"), headers=fresh)
    assert accepted.status_code == 201, accepted.text


async def test_two_staff_adding_one_date_at_once_one_is_refused(
    client: Client, staff_headers: Headers
) -> None:
    year = 2906
    responses = await asyncio.gather(
        *(
            client.post(URL, json=body(f"{year}-05-01", local_jobs=str(n)), headers=staff_headers)
            for n in range(3)
        )
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201, 409, 409], [r.text for r in responses]
    # Without If-Match, different dates at once are both recorded (each decides afresh).
    different = await asyncio.gather(
        client.post(URL, json=body(f"{year}-06-01"), headers=staff_headers),
        client.post(URL, json=body(f"{year}-07-01"), headers=staff_headers),
    )
    assert [r.status_code for r in different] == [201, 201], [r.text for r in different]
    assert list(dated(await listed(client), year)) == [
        f"{year}-05-01",
        f"{year}-06-01",
        f"{year}-07-01",
    ]
