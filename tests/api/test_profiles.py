"""Organisation profiles over HTTP, on both stores: the profile is an event with its actor and
the directory follows; contact points are people's data, kept in a table, shown to the
organisation and staff only, and erasable (ADR 4)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.api.helpers import event_count, events_of, register, services_of, token
from tests.api.test_directory import admitted_member, position_of, rare_cpv
from tests.conftest import AppClient
from tradehall.identity.tables import contact_points

Client = AppClient
ORGS = "/api/v1/organisations"


def profile(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Riverside Bakery and Training CIC",
        "social_purpose": "Training, jobs and bread for people leaving prison",
        "regions": ["TLC4"],
        "cpv_codes": ["15810000"],
        "website": "https://Riverside-Bakery.example.org/about",
    }
    body.update(overrides)
    return body


CONTACTS = {
    "contact_points": [
        {
            "label": "Tenders",
            "name": "Grace Hopper",
            "email": "tenders@riverside.example.org",
            "phone": "+44 191 496 0000",
        },
        {"label": "Accounts", "email": "accounts@riverside.example.org"},
    ]
}


async def stored_contact_points(client: Client, organisation_id: str) -> int:
    async with services_of(client).engine.connect() as connection:
        count = await connection.execute(
            select(func.count())
            .select_from(contact_points)
            .where(contact_points.c.organisation_id == uuid.UUID(organisation_id))
        )
        return int(count.scalar_one())


# The profile


async def test_a_member_changes_its_profile_and_the_directory_and_history_follow(
    client: Client, staff_headers: dict[str, str]
) -> None:
    old_code, new_code = rare_cpv(), rare_cpv()
    org, _ = await admitted_member(client, staff_headers, cpv_codes=[old_code], regions=["TLD3"])
    headers = await token(client, org["email"])

    changed = await client.put(
        f"{ORGS}/{org['id']}/profile",
        json=profile(cpv_codes=[new_code], regions=["TLC4", "tlc3"]),
        headers=headers,
    )

    assert changed.status_code == 200, changed.text
    result = changed.json()
    assert changed.headers["etag"] == f'"{result["version"]}"'
    directory = await client.get(
        "/api/v1/directory", params={"cpv": new_code, "position": position_of(changed)}
    )
    assert directory.json()["consistent"] is True
    (entry,) = directory.json()["items"]
    assert entry["id"] == org["id"]
    assert entry["name"] == "Riverside Bakery and Training CIC"
    assert entry["social_purpose"] == "Training, jobs and bread for people leaving prison"
    assert entry["regions"] == ["TLC3", "TLC4"]
    assert entry["cpv_codes"] == [new_code]
    old = await client.get("/api/v1/directory", params={"cpv": old_code})
    assert [item["id"] for item in old.json()["items"]] == []

    shown = await client.get(f"{ORGS}/{org['id']}", headers=headers)
    assert shown.json()["name"] == "Riverside Bakery and Training CIC"
    assert shown.json()["website"] == "https://riverside-bakery.example.org/about"
    assert shown.json()["version"] == result["version"]

    history = await client.get(f"{ORGS}/{org['id']}/membership/history", headers=staff_headers)
    last = history.json()["events"][-1]
    assert last["event"] == "ProfileUpdated"
    assert last["actor"] == f"user:{org['user_id']}"
    assert last["details"]["website"] == "https://riverside-bakery.example.org/about"


async def test_the_applications_queue_shows_the_new_name(
    client: Client, staff_headers: dict[str, str]
) -> None:
    org = await register(client)
    headers = await token(client, org["email"])
    changed = await client.put(
        f"{ORGS}/{org['id']}/profile", json=profile(name="Riverside Loaves CIC"), headers=headers
    )

    status = await client.get(
        f"{ORGS}/{org['id']}/membership/application",
        params={"position": position_of(changed)},
        headers=headers,
    )

    assert status.json()["application"]["name"] == "Riverside Loaves CIC"
    assert status.json()["application"]["version"] == changed.json()["version"]


async def test_staff_may_change_a_profile_and_are_its_actor(
    client: Client, staff_headers: dict[str, str], staff: Any
) -> None:
    org = await register(client)

    changed = await client.put(f"{ORGS}/{org['id']}/profile", json=profile(), headers=staff_headers)

    assert changed.status_code == 200, changed.text
    assert events_of(client, org["id"])[-1].actor == f"user:{staff.user_id}"


async def test_the_same_profile_again_records_nothing(client: Client) -> None:
    org = await register(client)
    headers = await token(client, org["email"])
    first = await client.put(f"{ORGS}/{org['id']}/profile", json=profile(), headers=headers)

    again = await client.put(f"{ORGS}/{org['id']}/profile", json=profile(), headers=headers)

    assert again.status_code == 200, again.text
    assert again.json()["version"] == first.json()["version"]
    assert again.json()["position"] == {}
    assert len(events_of(client, org["id"])) == first.json()["version"]


async def test_a_stale_if_match_is_refused(client: Client) -> None:
    org = await register(client)
    headers = await token(client, org["email"])
    await client.put(f"{ORGS}/{org['id']}/profile", json=profile(), headers=headers)

    stale = await client.put(
        f"{ORGS}/{org['id']}/profile",
        json=profile(name="Another Name CIC"),
        headers={**headers, "If-Match": f'"{org["version"]}"'},
    )

    assert stale.status_code == 409, stale.text
    shown = await client.get(f"{ORGS}/{org['id']}", headers=headers)
    assert shown.json()["name"] == "Riverside Bakery and Training CIC"


@pytest.mark.parametrize(
    ("overrides", "status", "field"),
    [
        ({"cpv_codes": ["99999999"]}, 422, "cpv_codes[0]"),
        ({"regions": ["TLC4", "XX1"]}, 422, "regions[1]"),
        ({"website": "riverside.example.org"}, 422, "website"),
        ({"website": "javascript:alert(1)"}, 422, "website"),
        ({"name": "x" * 201}, 400, "name"),
        ({"regions": []}, 422, "regions"),
    ],
)
async def test_a_bad_profile_is_a_problem_naming_the_field_and_records_nothing(
    client: Client, overrides: dict[str, Any], status: int, field: str
) -> None:
    org = await register(client)
    headers = await token(client, org["email"])
    before = event_count(client, "ProfileUpdated")

    refused = await client.put(
        f"{ORGS}/{org['id']}/profile", json=profile(**overrides), headers=headers
    )

    assert refused.status_code == status, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert field in refused.text
    assert event_count(client, "ProfileUpdated") == before
    assert len(events_of(client, org["id"])) == org["version"]


async def test_another_organisations_user_may_not_change_a_profile(client: Client) -> None:
    org, other = await register(client), await register(client)
    other_headers = await token(client, other["email"])

    refused = await client.put(f"{ORGS}/{org['id']}/profile", json=profile(), headers=other_headers)

    assert refused.status_code == 403
    assert len(events_of(client, org["id"])) == org["version"]


async def test_the_kind_and_registry_identifier_are_not_part_of_a_profile(client: Client) -> None:
    org = await register(client)
    headers = await token(client, org["email"])

    refused = await client.put(
        f"{ORGS}/{org['id']}/profile", json=profile(kind="business"), headers=headers
    )

    assert refused.status_code == 400
    assert "kind" in refused.text


# Contact points


async def test_contact_points_are_kept_shown_to_the_organisation_and_staff_only_and_erased(
    client: Client, staff_headers: dict[str, str]
) -> None:
    code = rare_cpv()
    org, admitted = await admitted_member(client, staff_headers, cpv_codes=[code])
    headers = await token(client, org["email"])
    other = await register(client)
    other_headers = await token(client, other["email"])
    path = f"{ORGS}/{org['id']}/contact-points"

    put = await client.put(path, json=CONTACTS, headers=headers)

    assert put.status_code == 200, put.text
    expected = [
        {
            "label": "Tenders",
            "name": "Grace Hopper",
            "email": "tenders@riverside.example.org",
            "phone": "+44 191 496 0000",
        },
        {
            "label": "Accounts",
            "name": None,
            "email": "accounts@riverside.example.org",
            "phone": None,
        },
    ]
    assert put.json()["contact_points"] == expected
    for reader in (headers, staff_headers):
        read = await client.get(path, headers=reader)
        assert read.status_code == 200
        assert read.json()["contact_points"] == expected
        shown = await client.get(f"{ORGS}/{org['id']}", headers=reader)
        assert shown.json()["contact_points"] == expected
    assert (await client.get(path, headers=other_headers)).status_code == 403
    assert (await client.get(f"{ORGS}/{org['id']}", headers=other_headers)).status_code == 403
    # Read at the admission's position: the directory waits for it (the read side is caught up
    # by the request, not by chance; under load a read without one may come before the row).
    directory = await client.get("/api/v1/directory", params={"cpv": code, "position": admitted})
    assert [item["id"] for item in directory.json()["items"]] == [org["id"]]
    assert "riverside.example.org" not in directory.text
    assert "Grace Hopper" not in directory.text
    # Never in an event (ADR 4).
    assert not any(
        "Grace Hopper" in repr(vars(event)) or "tenders@" in repr(vars(event))
        for event in events_of(client, org["id"])
    )

    replaced = await client.put(
        path,
        json={"contact_points": [{"label": "Bids", "phone": "0191 496 0001"}]},
        headers=headers,
    )
    assert [p["label"] for p in replaced.json()["contact_points"]] == ["Bids"]
    assert await stored_contact_points(client, org["id"]) == 1

    assert (await client.delete(path, headers=other_headers)).status_code == 403
    erased = await client.delete(path, headers=headers)

    assert erased.status_code == 204
    assert await stored_contact_points(client, org["id"]) == 0
    assert (await client.get(path, headers=headers)).json()["contact_points"] == []


async def test_staff_may_replace_and_erase_contact_points(
    client: Client, staff_headers: dict[str, str]
) -> None:
    org = await register(client)
    path = f"{ORGS}/{org['id']}/contact-points"

    put = await client.put(path, json=CONTACTS, headers=staff_headers)
    erased = await client.delete(path, headers=staff_headers)

    assert (put.status_code, erased.status_code) == (200, 204)
    assert await stored_contact_points(client, org["id"]) == 0


@pytest.mark.parametrize(
    ("points", "status", "field"),
    [
        ([{"label": "Tenders"}], 422, "contact_points[0]"),
        ([{"label": "Tenders", "email": "nobody"}], 400, "email"),
        ([{"label": "Tenders", "phone": "ring the bell"}], 422, "contact_points[0].phone"),
        ([{"label": "x" * 61, "phone": "0191 496 0000"}], 400, "label"),
        (
            [{"label": "Tenders", "phone": "0191 496 0000"}, {"label": "tenders", "phone": "01"}],
            422,
            "contact_points[1]",
        ),
    ],
)
async def test_bad_contact_points_are_problems_naming_the_field_and_keep_the_list(
    client: Client, points: list[dict[str, Any]], status: int, field: str
) -> None:
    org = await register(client)
    headers = await token(client, org["email"])
    path = f"{ORGS}/{org['id']}/contact-points"
    await client.put(path, json=CONTACTS, headers=headers)

    refused = await client.put(path, json={"contact_points": points}, headers=headers)

    assert refused.status_code == status, refused.text
    assert field in refused.text
    assert await stored_contact_points(client, org["id"]) == 2


async def test_contact_points_of_an_unknown_organisation_are_not_found(
    client: Client, staff_headers: dict[str, str]
) -> None:
    path = f"{ORGS}/00000000-0000-4000-8000-000000000001/contact-points"

    put = await client.put(path, json=CONTACTS, headers=staff_headers)
    read = await client.get(path, headers=staff_headers)

    assert (put.status_code, read.status_code) == (404, 404)


async def test_a_members_listings_show_its_new_name(
    client: Client, staff_headers: dict[str, str]
) -> None:
    org, _ = await admitted_member(client, staff_headers)
    headers = await token(client, org["email"])
    listed = await client.post(
        f"{ORGS}/{org['id']}/listings",
        json={
            "title": "Bread for events",
            "description": "Baked the same morning by our trainees.",
            "cpv_codes": ["15810000-9"],
            "regions": ["TLC3"],
            "price_basis": "fixed",
            "capacity_minor": 500_000,
        },
        headers=headers,
    )
    assert listed.status_code == 201, listed.text

    await client.put(
        f"{ORGS}/{org['id']}/profile", json=profile(name="Riverside Loaves CIC"), headers=headers
    )
    services = services_of(client)
    await services.run(services.readside.projector.catch_up)

    listings = await client.get("/api/v1/listings", params={"organisation_id": org["id"]})
    assert [item["seller_name"] for item in listings.json()["items"]] == ["Riverside Loaves CIC"]
