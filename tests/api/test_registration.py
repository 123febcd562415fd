"""POST /api/v1/organisations: registration of an organisation and its first user."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.api.helpers import PASSWORD, company_number, event_count, register, registration, token
from tests.conftest import AppClient

Client = AppClient


async def test_registration_records_the_organisation_and_its_first_user(client: Client) -> None:
    number = company_number()
    body = registration(
        name="  Riverside   Bakery CIC ",
        registry_identifier={"scheme": "gb-coh", "identifier": f" {number[:4]} {number[4:]} "},
        regions=["tlc", "TLC3", "TLC"],
        cpv_codes=["15810000", "55520000-1"],
    )
    response = await client.post("/api/v1/organisations", json=body)

    assert response.status_code == 201, response.text
    created = response.json()
    assert response.headers["location"] == f"/api/v1/organisations/{created['id']}"
    assert response.headers["etag"] == '"1"'
    assert created["version"] == 1
    assert created["position"]["membership"] >= 1

    headers = await token(client, body["user"]["email"])
    shown = await client.get(f"/api/v1/organisations/{created['id']}", headers=headers)
    assert shown.status_code == 200, shown.text
    view = shown.json()
    assert view["name"] == "Riverside Bakery CIC"
    assert view["kind"] == "social_enterprise"
    assert view["legal_form"] == "cic"
    assert view["registry_identifier"] == {"scheme": "GB-COH", "identifier": number}
    assert view["regions"] == ["TLC", "TLC3"]
    assert view["cpv_codes"] == ["15810000-9", "55520000-1"]
    assert view["membership"]["status"] == "none"
    assert view["version"] == 1


async def test_a_buyer_registers_without_purpose_regions_or_codes(client: Client) -> None:
    created = await register(
        client,
        name="Borough Council of Example",
        kind="public_body",
        legal_form="other",
        registry_identifier={"scheme": "GB-LAE", "identifier": f"EX{company_number()}"},
        social_purpose="",
        regions=[],
        cpv_codes=[],
    )
    headers = await token(client, created["email"])
    view = (await client.get(f"/api/v1/organisations/{created['id']}", headers=headers)).json()
    assert view["kind"] == "public_body"


async def test_a_sole_trader_may_register_without_a_registry_identifier(client: Client) -> None:
    await register(client, legal_form="sole_trader_or_partnership", registry_identifier=None)


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        ({"name": None}, 400, "name"),
        ({"name": "   "}, 400, "name"),
        ({"kind": "charity"}, 400, "kind"),
        ({"legal_form": "plc"}, 400, "legal_form"),
        ({"nickname": "x"}, 400, "nickname"),
        ({"regions": ["TLC", "XX9"]}, 422, "regions[1]"),
        ({"cpv_codes": ["99999999-9"]}, 422, "cpv_codes[0]"),
        ({"regions": []}, 422, "regions"),
        ({"social_purpose": ""}, 422, "social_purpose"),
        ({"registry_identifier": None}, 422, "registry_identifier"),
        (
            {"registry_identifier": {"scheme": "XX-ABC", "identifier": "1"}},
            422,
            "registry_identifier.scheme",
        ),
        (
            {"registry_identifier": {"scheme": "GB-COH", "identifier": "12A45"}},
            422,
            "registry_identifier.identifier",
        ),
        ({"user": {"email": "not-an-address", "password": PASSWORD}}, 400, "user.email"),
        ({"user": {"email": "short@example.org", "password": "short"}}, 400, "user.password"),
        ({"user": {"email": "x@example.org"}}, 400, "user.password"),
        (
            {"user": {"email": "x@example.org", "password": PASSWORD, "admin": True}},
            400,
            "user.admin",
        ),
    ],
)
async def test_bad_input_is_a_problem_naming_the_field_and_changes_nothing(
    client: Client, change: dict[str, Any], status: int, field: str
) -> None:
    body = registration()
    for key, value in change.items():
        if value is None:
            body.pop(key)
        else:
            body[key] = value
    before = event_count(client, "Organisation.Registered")

    response = await client.post("/api/v1/organisations", json=body)

    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["status"] == status
    assert field in [error["field"] for error in problem["errors"]], problem
    assert event_count(client, "Organisation.Registered") == before
    email = body.get("user", {}).get("email")
    if email and "@" in email:
        refused = await client.post(
            "/api/v1/auth/token", json={"email": email, "password": PASSWORD}
        )
        assert refused.status_code == 401


async def test_malformed_json_is_a_bad_request(client: Client) -> None:
    response = await client.post(
        "/api/v1/organisations",
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["errors"][0]["field"] == "body"


async def test_an_oversized_body_is_refused(client: Client) -> None:
    body = registration(social_purpose="x" * 70_000)
    response = await client.post("/api/v1/organisations", json=body)
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("0{n}", "{n}"),
        ("{n}", "0 {n3} {rest}"),
    ],
)
async def test_a_claimed_registry_identifier_is_a_conflict_after_normalising(
    client: Client, first: str, second: str
) -> None:
    n = company_number()[1:]  # seven digits: companies house pads to eight with a zero
    values = {"n": n, "n3": n[:3], "rest": n[3:]}
    await register(
        client, registry_identifier={"scheme": "GB-COH", "identifier": first.format(**values)}
    )
    body = registration(
        registry_identifier={"scheme": "gb-coh", "identifier": second.format(**values)}
    )

    response = await client.post("/api/v1/organisations", json=body)

    assert response.status_code == 409, response.text
    assert "already registered" in response.json()["detail"]
    refused = await client.post(
        "/api/v1/auth/token", json={"email": body["user"]["email"], "password": PASSWORD}
    )
    assert refused.status_code == 401


async def test_an_e_mail_address_registers_once(client: Client) -> None:
    first = await register(client)
    body = registration(user={"email": first["email"].upper(), "password": PASSWORD})
    before = event_count(client, "Organisation.Registered")

    response = await client.post("/api/v1/organisations", json=body)

    assert response.status_code == 409
    assert event_count(client, "Organisation.Registered") == before
    # The registry identifier of the refused registration is still free.
    await register(client, registry_identifier=body["registry_identifier"])


async def test_racing_registrations_of_one_identifier_admit_exactly_one(client: Client) -> None:
    identifier = {"scheme": "GB-COH", "identifier": company_number()}
    bodies = [registration(registry_identifier=identifier) for _ in range(6)]
    before = event_count(client, "Organisation.Registered")

    responses = await asyncio.gather(
        *(client.post("/api/v1/organisations", json=body) for body in bodies)
    )

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201, 409, 409, 409, 409, 409], [r.text for r in responses]
    assert event_count(client, "Organisation.Registered") == before + 1
    for body, response in zip(bodies, responses, strict=True):
        signed_in = await client.post(
            "/api/v1/auth/token", json={"email": body["user"]["email"], "password": PASSWORD}
        )
        # A losing registration left no user row behind: its events and its user go together.
        assert signed_in.status_code == (200 if response.status_code == 201 else 401)


async def test_racing_registrations_of_one_e_mail_leave_no_orphan_events(client: Client) -> None:
    email = f"race-{company_number()}@example.org"
    bodies = [registration(user={"email": email, "password": PASSWORD}) for _ in range(4)]
    before = event_count(client, "Organisation.Registered")

    responses = await asyncio.gather(
        *(client.post("/api/v1/organisations", json=body) for body in bodies)
    )

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201, 409, 409, 409], [r.text for r in responses]
    assert event_count(client, "Organisation.Registered") == before + 1
    # The losers' registry identifiers were not claimed either.
    for body, response in zip(bodies, responses, strict=True):
        if response.status_code == 409:
            await register(client, registry_identifier=body["registry_identifier"])
