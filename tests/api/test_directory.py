"""The public directory, the staff queue and read-your-writes, over HTTP on both stores."""

from __future__ import annotations

import random
from typing import Any

import pytest

from sharedkernel.reference import cpv_codes
from tests.api.helpers import APPLICATION, SMALL_BAND_DUE, register, token
from tests.conftest import FAST_PASSWORDS, AppClient, running
from tradehall.api.app import create_app
from tradehall.clock import ManualClock
from tradehall.settings import Settings
from tradehall.store.base import Store

Client = AppClient


# Divisions other tests register members in (their fixtures, tests/data/*.csv): a code there
# could match one of their members up or down the tree, since the PostgreSQL database is shared.
_DIVISIONS_IN_USE = {
    "03", "09", "10", "11", "12", "13", "15", "34", "45", "55",
    "58", "60", "72", "77", "79", "80", "85", "90",
}  # fmt: skip


_RARE_CODES_GIVEN: set[str] = set()


def rare_cpv() -> str:
    """A CPV code of a category (8 significant digits) in a division no other test uses, never
    given twice in a run: PostgreSQL's database is shared by the whole run, so two tests drawing
    the same code would each find the other's organisation."""
    categories = [
        code
        for code in cpv_codes()
        if not code.split("-")[0].endswith("0")
        and code[:2] not in _DIVISIONS_IN_USE
        and code not in _RARE_CODES_GIVEN
    ]
    code = random.choice(categories)
    _RARE_CODES_GIVEN.add(code)
    return code


def position_of(response: Any) -> str:
    return ",".join(f"{log}:{at}" for log, at in response.json()["position"].items())


async def admitted_member(  # admitted and paid up: a member in good standing
    client: Client, staff_headers: dict[str, str], **overrides: Any
) -> tuple[dict[str, Any], str]:
    """Register, apply and admit; returns the organisation and the admission's position."""
    org = await register(client, **overrides)
    headers = await token(client, org["email"])
    await client.post(
        f"/api/v1/organisations/{org['id']}/membership/application",
        json=APPLICATION,
        headers=headers,
    )
    admitted = await client.post(
        f"/api/v1/organisations/{org['id']}/membership/admission", headers=staff_headers
    )
    assert admitted.status_code == 200, admitted.text
    paid = await client.post(
        f"/api/v1/organisations/{org['id']}/dues/payments",
        json={
            "amount": {"amount_minor": SMALL_BAND_DUE, "currency": "GBP"},
            "method": "bank_transfer",
            "reference": "BACS 0001",
        },
        headers=staff_headers,
    )
    assert paid.status_code == 201, paid.text
    return org, position_of(paid)


async def test_an_admitted_member_is_in_the_directory_when_its_admission_is_read_back(
    client: Client, staff_headers: dict[str, str]
) -> None:
    code = rare_cpv()
    org, position = await admitted_member(
        client, staff_headers, cpv_codes=[code], regions=["TLD3"], name="Moorside Joinery CIC"
    )

    response = await client.get("/api/v1/directory", params={"cpv": code, "position": position})

    assert response.status_code == 200, response.text
    assert response.headers["x-read-consistent"] == "true"
    page = response.json()
    assert page["consistent"] is True
    assert [item["id"] for item in page["items"]] == [org["id"]]
    entry = page["items"][0]
    assert entry["name"] == "Moorside Joinery CIC"
    assert entry["regions"] == ["TLD3"]
    assert entry["cpv_codes"] == [code]
    assert entry["member_since"] is not None


async def test_pending_rejected_and_withdrawn_organisations_are_not_listed(
    client: Client, staff_headers: dict[str, str]
) -> None:
    code = rare_cpv()
    listed, _ = await admitted_member(client, staff_headers, cpv_codes=[code])
    pending = await register(client, cpv_codes=[code])
    pending_headers = await token(client, pending["email"])
    applied = await client.post(
        f"/api/v1/organisations/{pending['id']}/membership/application",
        json=APPLICATION,
        headers=pending_headers,
    )

    response = await client.get(
        "/api/v1/directory", params={"cpv": code, "position": position_of(applied)}
    )

    assert [item["id"] for item in response.json()["items"]] == [listed["id"]]


async def test_region_and_cpv_filters_match_up_and_down_their_hierarchies(
    client: Client, staff_headers: dict[str, str]
) -> None:
    code = rare_cpv()
    division = code[:2] + "000000"
    whole_north_east, _ = await admitted_member(
        client, staff_headers, cpv_codes=[code], regions=["TLC"]
    )
    tyneside, _ = await admitted_member(client, staff_headers, cpv_codes=[code], regions=["TLC3"])
    london, position = await admitted_member(
        client, staff_headers, cpv_codes=[code], regions=["TLI"]
    )

    async def ids(**params: str) -> set[str]:
        response = await client.get(
            "/api/v1/directory", params={"cpv": code, "position": position, **params}
        )
        assert response.status_code == 200, response.text
        return {item["id"] for item in response.json()["items"]}

    assert await ids(region="TLC") == {whole_north_east["id"], tyneside["id"]}
    # A member serving the whole North East serves Tyneside too.
    assert await ids(region="TLC3") == {whole_north_east["id"], tyneside["id"]}
    assert await ids(region="tli") == {london["id"]}
    # The code's division finds them (down the tree), and so does the code itself (exact).
    everyone = {whole_north_east["id"], tyneside["id"], london["id"]}
    by_division = await client.get(
        "/api/v1/directory", params={"cpv": division, "region": "TLI", "per_page": 100}
    )
    assert london["id"] in {item["id"] for item in by_division.json()["items"]}
    assert await ids() == everyone


async def test_the_directory_pages(client: Client, staff_headers: dict[str, str]) -> None:
    code = rare_cpv()
    made = [
        (await admitted_member(client, staff_headers, cpv_codes=[code], name=f"Co-op {letter}"))
        for letter in "CAB"
    ]
    position = made[-1][1]

    first = await client.get(
        "/api/v1/directory", params={"cpv": code, "per_page": 2, "position": position}
    )
    second = await client.get("/api/v1/directory", params={"cpv": code, "per_page": 2, "page": 2})

    assert first.json()["total"] == 3
    assert [i["name"] for i in first.json()["items"]] == ["Co-op A", "Co-op B"]
    assert [i["name"] for i in second.json()["items"]] == ["Co-op C"]


@pytest.mark.parametrize(
    ("params", "status", "field"),
    [
        ({"region": "XX1"}, 422, "region"),
        ({"cpv": "99999999"}, 422, "cpv"),
        ({"per_page": "500"}, 400, "per_page"),
        ({"page": "0"}, 400, "page"),
        ({"position": "membership"}, 400, "position"),
        ({"position": "elsewhere:3"}, 400, "position"),
    ],
)
async def test_bad_directory_queries_are_problems_naming_the_parameter(
    client: Client, params: dict[str, str], status: int, field: str
) -> None:
    response = await client.get("/api/v1/directory", params=params)
    assert response.status_code == status, response.text
    assert field in [error["field"] for error in response.json()["errors"]]


async def test_the_staff_queue_lists_pending_applications_oldest_first(
    client: Client, staff_headers: dict[str, str], clock: ManualClock
) -> None:
    from datetime import timedelta

    mine = []
    for _ in range(3):
        org = await register(client)
        headers = await token(client, org["email"])
        applied = await client.post(
            f"/api/v1/organisations/{org['id']}/membership/application",
            json=APPLICATION,
            headers=headers,
        )
        mine.append(org["id"])
        clock.advance(timedelta(minutes=5))
    position = position_of(applied)

    response = await client.get(
        "/api/v1/membership/applications",
        params={"position": position, "per_page": 100},
        headers=staff_headers,
    )

    assert response.status_code == 200, response.text
    queue = [item["organisation_id"] for item in response.json()["items"]]
    assert [org_id for org_id in queue if org_id in mine] == mine
    applied_at = [item["applied_at"] for item in response.json()["items"]]
    assert applied_at == sorted(applied_at)
    member = await client.get(
        "/api/v1/membership/applications", headers=await token(client, org["email"])
    )
    assert member.status_code == 403


async def test_an_applicant_reads_its_own_status_after_its_write(client: Client) -> None:
    org = await register(client)
    headers = await token(client, org["email"])
    applied = await client.post(
        f"/api/v1/organisations/{org['id']}/membership/application",
        json=APPLICATION,
        headers=headers,
    )

    response = await client.get(
        f"/api/v1/organisations/{org['id']}/membership/application",
        params={"position": position_of(applied)},
        headers=headers,
    )

    assert response.status_code == 200, response.text
    assert response.json()["consistent"] is True
    assert response.json()["application"]["status"] == "pending"
    assert response.json()["application"]["version"] == 2


async def test_a_read_that_cannot_catch_up_answers_within_its_bound_and_says_so(
    store: Store, clock: ManualClock, settings: Settings
) -> None:
    """With no projector running, a read-your-writes wait gives up and answers `stale`."""
    from dataclasses import replace

    app = create_app(
        replace(settings, run_projections=False), clock=clock, store=store, passwords=FAST_PASSWORDS
    )
    async with running(app), AppClient(app) as client:
        org = await register(client)
        wanted = f"membership:{org['position']['membership']}"

        response = await client.get("/api/v1/directory", params={"position": wanted})

    assert response.status_code == 200
    assert response.headers["x-read-consistent"] == "false"
    assert response.json()["consistent"] is False
