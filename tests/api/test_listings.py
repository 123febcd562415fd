"""Service listings over HTTP, on both stores (issue 10): a member publishes two listings, edits
one (a stale If-Match refused), withdraws the other; the public filters (CPV and region up and
down their trees, price basis, member); only the listing's own users act on it; only members
in good standing publish; a member that lapses has its listings vanish from the public views
and they return when it pays; bad input records nothing."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest

from tests.api.helpers import register, services_of, token
from tests.api.test_membership_standing import admitted, pay, tick
from tests.conftest import AppClient
from tradehall.clock import ManualClock

Client = AppClient

BREAD = {
    "title": "Bread and pastries for events",
    "description": "Baked the same morning by our trainees.\nDelivered across the city.",
    "cpv_codes": ["15810000-9"],
    "regions": ["TLC3"],
    "price_basis": "fixed",
    "capacity_minor": 500_000,
}
CATERING = {
    "title": "Catering for conferences",
    "description": "Lunches and refreshments for up to 300 people.",
    "cpv_codes": ["55520000"],
    "regions": ["TLD"],
    "price_basis": "day_rate",
    "capacity_minor": 2_000_000,
}
BUILDING = {
    "title": "Small building works",
    "description": "Repairs and refurbishment by a construction social enterprise.",
    "cpv_codes": ["45000000-7"],
    "regions": ["TLD3"],
    "price_basis": "on_quotation",
    "capacity_minor": 25_000_000,
}


async def settle(client: Client) -> None:
    """Let the read side catch up with both logs (what the projector does in service)."""
    services = services_of(client)
    await services.run(services.readside.projector.catch_up)


def marketplace_events(client: Client) -> int:
    recorder = services_of(client).applications["marketplace"].recorder
    return len(recorder.select_notifications(start=1, limit=1_000_000))


async def member(client: Client, staff_headers: dict[str, str]) -> tuple[str, dict[str, str]]:
    """A member in good standing (admitted and paid): its id and headers."""
    org, headers = await admitted(client, staff_headers)
    assert (await pay(client, org, staff_headers)).status_code == 201
    return org["id"], headers


async def publish(
    client: Client, org_id: str, headers: dict[str, str], body: dict[str, Any]
) -> dict[str, Any]:
    response = await client.post(
        f"/api/v1/organisations/{org_id}/listings", json=body, headers=headers
    )
    assert response.status_code == 201, response.text
    assert response.headers["etag"] == '"1"'
    result: dict[str, Any] = response.json()
    return result


async def public(client: Client, members: list[str], **params: str) -> list[str]:
    """The titles of these members' listings the public sees, with these filters (PostgreSQL's
    database is shared by the whole run: other tests' listings are there too)."""
    titles = []
    for org in members:
        response = await client.get("/api/v1/listings", params=params | {"organisation_id": org})
        assert response.status_code == 200, response.text
        titles.extend(item["title"] for item in response.json()["items"])
    return sorted(titles)


async def test_a_member_publishes_edits_and_withdraws_and_the_public_filters(
    client: Client, staff_headers: dict[str, str]
) -> None:
    org, headers = await member(client, staff_headers)
    bread = await publish(client, org, headers, BREAD)
    catering = await publish(client, org, headers, CATERING)
    builder, builder_headers = await member(client, staff_headers)
    await publish(client, builder, builder_headers, BUILDING)

    edited = BREAD | {"title": "Bread, pastries and cakes for events", "capacity_minor": 750_000}
    updated = await client.put(
        f"/api/v1/listings/{bread['id']}", json=edited, headers=headers | {"If-Match": '"1"'}
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["version"] == 2
    stale = await client.put(
        f"/api/v1/listings/{bread['id']}",
        json=BREAD,
        headers=headers | {"If-Match": '"1"'},
    )
    assert stale.status_code == 409, stale.text
    withdrawn = await client.post(f"/api/v1/listings/{catering['id']}/withdrawal", headers=headers)
    assert withdrawn.status_code == 200, withdrawn.text
    again = await client.post(f"/api/v1/listings/{catering['id']}/withdrawal", headers=headers)
    assert again.status_code == 409

    # Read your own write: the withdrawal's position.
    position = ",".join(f"{log}:{n}" for log, n in withdrawn.json()["position"].items())
    await settle(client)  # the payments, from the membership log
    seen = await client.get("/api/v1/listings", params={"position": position, "per_page": "100"})
    assert seen.json()["consistent"] is True
    items = {
        item["title"]: item
        for item in seen.json()["items"]
        if item["organisation_id"] in (org, builder)
    }
    assert sorted(items) == ["Bread, pastries and cakes for events", "Small building works"]
    shown = items["Bread, pastries and cakes for events"]
    assert shown["capacity_minor"] == 750_000
    assert shown["version"] == 2
    assert shown["cpv_codes"] == ["15810000-9"]
    assert shown["seller_name"] == "Riverside Bakery CIC"
    assert shown["shown"] is True

    bread_title, building_title = "Bread, pastries and cakes for events", "Small building works"
    both = [org, builder]
    assert await public(client, both, cpv="15000000") == [bread_title]  # a broader code: down
    assert await public(client, both, cpv="15811100") == [bread_title]  # a narrower code: up
    assert await public(client, both, cpv="45210000") == [building_title]
    assert await public(client, both, cpv="55520000") == []  # catering is withdrawn
    assert await public(client, both, region="TLC") == [bread_title]  # the region containing TLC3
    assert await public(client, both, region="TLD33") == [building_title]  # a region inside TLD3
    assert await public(client, both, region="TLD") == [building_title]
    assert await public(client, both, price_basis="fixed") == [bread_title]
    assert await public(client, both, price_basis="day_rate") == []
    assert await public(client, [builder]) == [building_title]
    assert await public(client, [org], cpv="45000000") == []
    refused = await client.get("/api/v1/listings", params={"price_basis": "hourly"})
    assert refused.status_code == 400
    unknown_region = await client.get("/api/v1/listings", params={"region": "TLZ9"})
    assert unknown_region.status_code == 422
    assert [e["field"] for e in unknown_region.json()["errors"]] == ["region"]

    one = await client.get(f"/api/v1/listings/{bread['id']}")
    assert one.status_code == 200
    assert one.headers["etag"] == '"2"'
    assert one.json()["description"] == BREAD["description"]
    assert (await client.get(f"/api/v1/listings/{catering['id']}")).status_code == 404
    assert (await client.get(f"/api/v1/listings/{uuid.uuid4()}")).status_code == 404

    own = await client.get(f"/api/v1/organisations/{org}/listings", headers=headers)
    assert own.status_code == 200, own.text
    states = {item["title"]: (item["state"], item["shown"]) for item in own.json()["items"]}
    assert states == {
        bread_title: ("published", True),
        "Catering for conferences": ("withdrawn", False),
    }
    by_staff = await client.get(f"/api/v1/organisations/{org}/listings", headers=staff_headers)
    assert by_staff.json()["total"] == 2

    republished = await client.post(
        f"/api/v1/listings/{catering['id']}/republication", headers=headers
    )
    assert republished.status_code == 200, republished.text
    await settle(client)
    assert await public(client, both, cpv="55000000") == ["Catering for conferences"]


async def test_only_the_listings_own_users_act_on_it(
    client: Client, staff_headers: dict[str, str]
) -> None:
    org, headers = await member(client, staff_headers)
    listing = await publish(client, org, headers, BREAD)
    _, other_headers = await member(client, staff_headers)
    before = marketplace_events(client)
    url = f"/api/v1/listings/{listing['id']}"
    for who in (other_headers, staff_headers):
        assert (await client.put(url, json=CATERING, headers=who)).status_code == 404
        assert (await client.post(f"{url}/withdrawal", headers=who)).status_code == 404
        assert (await client.post(f"{url}/republication", headers=who)).status_code == 404
    missing = await client.put(f"/api/v1/listings/{uuid.uuid4()}", json=BREAD, headers=headers)
    assert missing.status_code == 404
    # Nor publish for another organisation, nor read another's own listings.
    forged = await client.post(
        f"/api/v1/organisations/{org}/listings", json=BREAD, headers=other_headers
    )
    assert forged.status_code == 403
    peek = await client.get(f"/api/v1/organisations/{org}/listings", headers=other_headers)
    assert peek.status_code == 403
    assert marketplace_events(client) == before
    await settle(client)
    assert await public(client, [org]) == [BREAD["title"]]


async def test_only_members_in_good_standing_publish(
    client: Client, staff_headers: dict[str, str]
) -> None:
    org, headers = await admitted(client, staff_headers)  # awaiting its first payment
    before = marketplace_events(client)
    response = await client.post(
        f"/api/v1/organisations/{org['id']}/listings", json=BREAD, headers=headers
    )
    assert response.status_code == 409
    assert "good standing" in response.json()["detail"]
    registered = await register(client)  # not even applied
    not_member = await client.post(
        f"/api/v1/organisations/{registered['id']}/listings",
        json=BREAD,
        headers=await token(client, registered["email"]),
    )
    assert not_member.status_code == 409
    assert marketplace_events(client) == before


async def test_a_lapsed_members_listings_vanish_and_return_when_it_pays(
    client: Client, staff_headers: dict[str, str], clock: ManualClock
) -> None:
    org, headers = await member(client, staff_headers)
    bread = await publish(client, org, headers, BREAD)
    catering = await publish(client, org, headers, CATERING)
    withdrawn = await client.post(f"/api/v1/listings/{catering['id']}/withdrawal", headers=headers)
    assert withdrawn.status_code == 200
    await settle(client)
    assert await public(client, [org]) == [BREAD["title"]]

    clock.advance(timedelta(days=365 + 40))  # past paid-up-until and the grace period
    await tick(client)
    await settle(client)
    assert await public(client, [org]) == []
    assert (await client.get(f"/api/v1/listings/{bread['id']}")).status_code == 404
    own = (await client.get(f"/api/v1/organisations/{org}/listings", headers=headers)).json()
    assert {(i["state"], i["shown"]) for i in own["items"]} == {
        ("published", False),
        ("withdrawn", False),
    }
    # While lapsed it may still edit and withdraw, but not publish or republish.
    lapsed = await client.post(f"/api/v1/listings/{catering['id']}/republication", headers=headers)
    assert lapsed.status_code == 409
    refused = await client.post(
        f"/api/v1/organisations/{org}/listings", json=BUILDING, headers=headers
    )
    assert refused.status_code == 409
    edited = await client.put(
        f"/api/v1/listings/{bread['id']}", json=BREAD | {"capacity_minor": 1}, headers=headers
    )
    assert edited.status_code == 200, edited.text

    paid = await pay(client, {"id": org}, staff_headers)
    assert paid.status_code == 201, paid.text
    await settle(client)
    assert await public(client, [org]) == [BREAD["title"]]
    assert (await client.get(f"/api/v1/listings/{bread['id']}")).json()["capacity_minor"] == 1


@pytest.mark.parametrize(
    ("override", "status", "field"),
    [
        ({"cpv_codes": ["99999999"]}, 422, "cpv_codes[0]"),
        ({"regions": ["TLC3", "TLZ9"]}, 422, "regions[1]"),
        ({"price_basis": "hourly"}, 400, "price_basis"),
        ({"capacity_minor": 0}, 400, "capacity_minor"),
        ({"title": "x" * 201}, 400, "title"),
        ({"cpv_codes": []}, 400, "cpv_codes"),
    ],
)
async def test_bad_input_is_a_problem_naming_the_field_and_records_nothing(
    client: Client,
    staff_headers: dict[str, str],
    override: dict[str, Any],
    status: int,
    field: str,
) -> None:
    org, headers = await member(client, staff_headers)
    listing = await publish(client, org, headers, BREAD)
    before = marketplace_events(client)
    body = BREAD | override
    published = await client.post(
        f"/api/v1/organisations/{org}/listings", json=body, headers=headers
    )
    updated = await client.put(f"/api/v1/listings/{listing['id']}", json=body, headers=headers)
    for response in (published, updated):
        assert response.status_code == status, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert field in [e["field"] for e in response.json()["errors"]]
    assert marketplace_events(client) == before
