"""Tenders over HTTP, on both stores (issue 11): a verified council drafts a two-lot tender, is
refused at 5% social value (the rule named) and publishes at 10%; it extends the deadline with
a rationale, never shortens it, and changes the evaluation only with a later deadline; the
tender board finds it by CPV prefix, region, value band and deadline window; a draft is seen by
nobody but its buyer; a member cannot act as a buyer, an unverified council cannot publish, a
buyer cannot touch another's tender; documents are public once the tender is; bad input names
its field and records nothing."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from tests.api.helpers import register, services_of, token
from tests.api.test_buyers import register_business, register_council, verification
from tests.conftest import AppClient
from tests.evidence_files import png

Client = AppClient
DEADLINE = "2026-04-01T12:00:00Z"
LATER = "2026-04-15T12:00:00Z"


def terms(social: int = 10, deadline: str = DEADLINE, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "Parks: grounds maintenance and a cafe",
        "description": "Two lots for Riverside's parks.\nSocial value counts.",
        "method": "open",
        "category": "services",
        "lots": [
            {
                "title": "Grounds maintenance",
                "description": "Mowing, planting, litter",
                "cpv_codes": ["77310000-6"],
                "value_minor": 12_000_000,
            },
            {"title": "Park cafe", "cpv_codes": ["55520000"], "value_minor": 3_000_000},
        ],
        "enquiry_period": {"start": "2026-03-02T10:00:00Z", "end": "2026-03-20T17:00:00Z"},
        "tender_period": {"start": "2026-03-02T10:00:00Z", "end": deadline},
        "contract_period": {"start": "2026-05-01T00:00:00Z", "end": "2027-04-30T23:59:59Z"},
        "eligibility": {"members_only": False, "quality_mark_required": True, "regions": ["TLC3"]},
        "evaluation": {
            "price": {"name": "Price", "weight": 60 - social, "scale": 10},
            "quality": [
                {"name": "Method statement", "weight": 25, "scale": 5},
                {"name": "Experience", "weight": 15, "scale": 5},
            ],
            "social_value": {"name": "Social value", "weight": social, "scale": 10},
            "tie_break": "highest_social_value",
            "abnormally_low_percent": 20,
        },
    }
    body.update(changes)
    return body


async def settle(client: Client) -> None:
    services = services_of(client)
    await services.run(services.readside.projector.catch_up)


def marketplace_events(client: Client) -> int:
    recorder = services_of(client).applications["marketplace"].recorder
    return len(recorder.select_notifications(start=1, limit=1_000_000))


def stored_files(client: Client) -> list[Path]:
    root = services_of(client).settings.evidence_path / "files"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


async def verified_council(
    client: Client, staff_headers: dict[str, str], name: str = "Riverside Borough Council"
) -> tuple[str, dict[str, str]]:
    council = await register_council(client, name)
    verified = await client.post(
        verification(council["id"]),
        json={"evidence": "Listed on the GOV.UK register of local authorities"},
        headers=staff_headers,
    )
    assert verified.status_code == 200, verified.text
    return council["id"], await token(client, council["email"])


async def draft(
    client: Client, org: str, headers: dict[str, str], body: dict[str, Any] | None = None
) -> dict[str, Any]:
    response = await client.post(
        f"/api/v1/organisations/{org}/tenders", json=body or terms(), headers=headers
    )
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def board(client: Client, buyer: str, **params: str) -> list[str]:
    """The ids of this buyer's tenders on the board, with these filters (PostgreSQL's database
    is shared by the whole run: other tests' tenders are there too)."""
    response = await client.get("/api/v1/tenders", params=params | {"buyer_id": buyer})
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


def position_of(response: Any) -> str:
    return ",".join(f"{log}:{at}" for log, at in response.json()["position"].items())


async def test_a_verified_council_publishes_amends_and_the_board_finds_it(
    client: Client, staff_headers: dict[str, str]
) -> None:
    council, headers = await verified_council(client, staff_headers)
    drafted = await draft(client, council, headers, terms(social=5))
    tender = drafted["id"]
    url = f"/api/v1/tenders/{tender}"

    refused = await client.post(f"{url}/publication", json={}, headers=headers)
    assert refused.status_code == 422, refused.text
    [error] = refused.json()["errors"]
    assert error["field"] == "evaluation.social_value.weight"
    assert "at least 10%" in error["message"]

    revised = await client.put(url, json=terms(social=10), headers=headers | {"If-Match": '"1"'})
    assert revised.status_code == 200, revised.text
    stale = await client.put(url, json=terms(), headers=headers | {"If-Match": '"1"'})
    assert stale.status_code == 409
    published = await client.post(f"{url}/publication", json={"planned": False}, headers=headers)
    assert published.status_code == 200, published.text

    # The deadline is extended, with why; never shortened; the evaluation changes only with it.
    shortened = await client.post(
        f"{url}/amendments",
        json=terms(deadline="2026-03-25T12:00:00Z") | {"rationale": "sooner"},
        headers=headers,
    )
    assert shortened.status_code == 422, shortened.text
    assert [e["field"] for e in shortened.json()["errors"]] == ["tender_period.end"]
    reweighted = terms(social=20)
    frozen = await client.post(
        f"{url}/amendments", json=reweighted | {"rationale": "more social value"}, headers=headers
    )
    assert frozen.status_code == 422, frozen.text
    assert [e["field"] for e in frozen.json()["errors"]] == ["evaluation"]
    extended = await client.post(
        f"{url}/amendments",
        json=terms(deadline=LATER) | {"rationale": "More time after the site visit"},
        headers=headers,
    )
    assert extended.status_code == 200, extended.text
    position = position_of(extended)

    seen = await client.get(url, params={"position": position})
    assert seen.status_code == 200, seen.text
    assert seen.headers["x-read-consistent"] == "true"
    view = seen.json()
    assert view["ocid"] == f"ocds-thdemo-{tender}"
    assert view["buyer_name"] == "Riverside Borough Council"
    assert view["status"] == "active"
    assert view["value_minor"] == 15_000_000
    assert [lot["id"] for lot in view["lots"]] == ["lot-1", "lot-2"]
    assert view["lots"][1]["cpv_codes"] == ["55520000-1"]
    assert view["evaluation"]["social_value"] == {"name": "Social value", "weight": 10, "scale": 10}
    assert view["evaluation"]["tie_break"] == "highest_social_value"
    assert view["evaluation"]["abnormally_low_percent"] == 20
    assert view["tender_period"]["end"] == LATER
    assert view["eligibility"]["regions"] == ["TLC3"]
    assert view["amendments"] == [
        {
            "changed": ["tender_period"],
            "rationale": "More time after the site visit",
            "amended_at": view["amendments"][0]["amended_at"],
        }
    ]
    assert view["clarifications"] == []
    assert seen.headers["etag"] == f'"{view["version"]}"'

    await settle(client)
    found = [tender]
    assert await board(client, council, cpv="77000000") == found  # a broader code: down
    assert await board(client, council, cpv="77311000") == found  # a narrower code: up
    assert await board(client, council, cpv="45000000") == []
    assert await board(client, council, region="TLC") == found
    assert await board(client, council, region="TLD") == []
    assert await board(client, council, value_min="10000000", value_max="20000000") == found
    assert await board(client, council, value_min="20000000") == []
    assert await board(client, council, deadline_from="2026-04-10T00:00:00Z") == found
    assert await board(client, council, deadline_to="2026-04-10T00:00:00Z") == []
    assert await board(client, council, quality_mark_required="true") == found
    assert await board(client, council, status="active") == found
    assert await board(client, council, status="planned") == []
    unknown = await client.get("/api/v1/tenders", params={"region": "TLZ9"})
    assert unknown.status_code == 422
    assert [e["field"] for e in unknown.json()["errors"]] == ["region"]
    drafts = await client.get("/api/v1/tenders", params={"status": "draft"})
    assert drafts.status_code == 400

    # Cancelled, it stays browsable with its reason.
    cancelled = await client.post(
        f"{url}/cancellation", json={"reason": "The budget was withdrawn"}, headers=headers
    )
    assert cancelled.status_code == 200, cancelled.text
    after = await client.get(url, params={"position": position_of(cancelled)})
    assert after.json()["status"] == "cancelled"
    assert after.json()["end_reason"] == "The budget was withdrawn"
    assert await board(client, council, status="cancelled") == found


async def test_a_draft_is_its_buyers_alone(client: Client, staff_headers: dict[str, str]) -> None:
    council, headers = await verified_council(client, staff_headers)
    drafted = await client.post(
        f"/api/v1/organisations/{council}/tenders",
        json=terms(),
        headers=headers | {"Idempotency-Key": "draft-parks-2026"},
    )
    assert drafted.status_code == 201, drafted.text
    tender = drafted.json()["id"]
    again = await client.post(
        f"/api/v1/organisations/{council}/tenders",
        json=terms(),
        headers=headers | {"Idempotency-Key": "draft-parks-2026"},
    )
    assert again.status_code == 201
    assert again.json()["id"] == tender
    # The same key with other terms is not a retry: refused, and nothing changes.
    other = await client.post(
        f"/api/v1/organisations/{council}/tenders",
        json=terms(title="Another tender altogether"),
        headers=headers | {"Idempotency-Key": "draft-parks-2026"},
    )
    assert other.status_code == 409, other.text
    assert "Idempotency-Key" in other.json()["detail"]
    # A retry is compared with the draft as first made, whatever was revised since.
    revised = await client.put(
        f"/api/v1/tenders/{tender}", json=terms(title="Parks, revised"), headers=headers
    )
    assert revised.status_code == 200, revised.text
    retried = await client.post(
        f"/api/v1/organisations/{council}/tenders",
        json=terms(),
        headers=headers | {"Idempotency-Key": "draft-parks-2026"},
    )
    assert (retried.status_code, retried.json()["id"]) == (201, tender)
    position = position_of(drafted)

    own = await client.get(
        f"/api/v1/organisations/{council}/tenders", params={"position": position}, headers=headers
    )
    assert [(i["id"], i["status"]) for i in own.json()["items"]] == [(tender, "draft")]
    mine = await client.get(f"/api/v1/organisations/{council}/tenders/{tender}", headers=headers)
    assert mine.status_code == 200, mine.text
    assert mine.json()["status"] == "draft"

    assert (await client.get(f"/api/v1/tenders/{tender}")).status_code == 404
    assert await board(client, council) == []
    business = await register_business(client)
    business_headers = await token(client, business["email"])
    for who in (business_headers, staff_headers):
        peek = await client.get(f"/api/v1/organisations/{council}/tenders", headers=who)
        assert peek.status_code == 403
        seen = await client.get(f"/api/v1/organisations/{council}/tenders/{tender}", headers=who)
        assert seen.status_code == 403
        assert (
            await client.put(f"/api/v1/tenders/{tender}", json=terms(), headers=who)
        ).status_code == 404
    # The business's own route does not show another buyer's tender either.
    theirs = await client.get(
        f"/api/v1/organisations/{business['id']}/tenders/{tender}", headers=business_headers
    )
    assert theirs.status_code == 404


async def test_only_verified_buyers_act_and_only_on_their_own_tenders(
    client: Client, staff_headers: dict[str, str]
) -> None:
    council, headers = await verified_council(client, staff_headers)
    tender = (await draft(client, council, headers))["id"]
    before = marketplace_events(client)

    # A member (a social enterprise) is not a buyer; nor may it draft for another.
    member = await register(client)
    member_headers = await token(client, member["email"])
    as_buyer = await client.post(
        f"/api/v1/organisations/{member['id']}/tenders", json=terms(), headers=member_headers
    )
    assert as_buyer.status_code == 409, as_buyer.text
    forged = await client.post(
        f"/api/v1/organisations/{council}/tenders", json=terms(), headers=member_headers
    )
    assert forged.status_code == 403
    # Another buyer, and staff, get 404 on this tender's every command.
    business = await register_business(client)
    business_headers = await token(client, business["email"])
    url = f"/api/v1/tenders/{tender}"
    for who in (business_headers, member_headers, staff_headers):
        for path, body in (
            ("publication", {}),
            ("activation", None),
            ("amendments", terms() | {"rationale": "x"}),
            ("cancellation", {"reason": "x"}),
            ("withdrawal", {"reason": "x"}),
            ("closure", {"reason": "x"}),
        ):
            response = await client.post(f"{url}/{path}", json=body, headers=who)
            assert response.status_code == 404, (path, response.text)
    assert marketplace_events(client) == before

    # A public body not (yet) verified drafts but does not publish.
    unverified = await register_council(client, "Lowland District Council")
    unverified_headers = await token(client, unverified["email"])
    its = await draft(client, unverified["id"], unverified_headers)
    refused = await client.post(
        f"/api/v1/tenders/{its['id']}/publication", json={}, headers=unverified_headers
    )
    assert refused.status_code == 409, refused.text
    # A business buyer needs no verification and no social value minimum.
    own = await draft(client, business["id"], business_headers, terms(social=0))
    published = await client.post(
        f"/api/v1/tenders/{own['id']}/publication", json={"planned": True}, headers=business_headers
    )
    assert published.status_code == 200, published.text
    withdrawn = await client.post(
        f"/api/v1/tenders/{own['id']}/withdrawal",
        json={"reason": "Plans changed"},
        headers=business_headers,
    )
    assert withdrawn.status_code == 200, withdrawn.text


async def test_documents_are_public_once_the_tender_is(
    client: Client, staff_headers: dict[str, str]
) -> None:
    council, headers = await verified_council(client, staff_headers)
    tender = (await draft(client, council, headers))["id"]
    base = f"/api/v1/tenders/{tender}/documents"
    octets = {"Content-Type": "application/octet-stream"}

    refused = await client.post(
        f"{base}/technicalSpecifications?filename=spec.html",
        content=b"<html><script>alert(1)</script></html>",
        headers=headers | octets,
    )
    assert refused.status_code == 415
    unknown = await client.post(
        f"{base}/brochure?filename=a.png", content=png(), headers=headers | octets
    )
    assert unknown.status_code == 422
    assert [e["field"] for e in unknown.json()["errors"]] == ["kind"]
    assert stored_files(client) == []
    business = await register_business(client)
    business_headers = await token(client, business["email"])
    other = await client.post(
        f"{base}/technicalSpecifications?filename=a.png",
        content=png(),
        headers=business_headers | octets,
    )
    assert other.status_code == 404

    uploaded = await client.post(
        f"{base}/technicalSpecifications?filename=site plan.png",
        content=png(),
        headers=headers | octets,
    )
    assert uploaded.status_code == 201, uploaded.text
    mine = await client.get(
        f"/api/v1/organisations/{council}/tenders/{tender}",
        params={"position": position_of(uploaded)},
        headers=headers,
    )
    [document] = mine.json()["documents"]
    assert document["kind"] == "technicalSpecifications"
    assert document["filename"] == "site plan.png"
    assert document["content_type"] == "image/png"
    sha = document["sha256"]

    assert (await client.get(f"{base}/{sha}")).status_code == 404  # a draft's: not public
    own = await client.get(
        f"/api/v1/organisations/{council}/tenders/{tender}/documents/{sha}", headers=headers
    )
    assert own.status_code == 200
    assert own.content == png()

    published = await client.post(f"/api/v1/tenders/{tender}/publication", json={}, headers=headers)
    assert published.status_code == 200, published.text
    public = await client.get(f"{base}/{sha}")
    assert public.status_code == 200
    assert public.content == png()
    assert public.headers["x-content-type-options"] == "nosniff"
    assert public.headers["content-disposition"].startswith("attachment")
    assert (await client.get(f"{base}/{'0' * 64}")).status_code == 404


async def test_bad_input_names_its_field_and_records_nothing(
    client: Client, staff_headers: dict[str, str]
) -> None:
    council, headers = await verified_council(client, staff_headers)
    before = marketplace_events(client)
    url = f"/api/v1/organisations/{council}/tenders"
    lots = terms()["lots"]
    cases: list[tuple[dict[str, Any], int, str]] = [
        (terms(lots=[lots[0] | {"cpv_codes": ["99999999"]}]), 422, "lots[0].cpv_codes"),
        (
            terms(social=10)
            | {
                "evaluation": terms()["evaluation"]
                | {"price": {"name": "Price", "weight": 10, "scale": 10}}
            },
            422,
            "evaluation",
        ),
        (terms(lots=[lots[0] | {"value_minor": 0}]), 400, "lots"),
        # Three capitals, but no currency: OCDS's closed codelist would refuse it.
        (terms(lots=[lots[0] | {"currency": "ZZZ"}]), 422, "lots[0].currency"),
        (
            terms(enquiry_period={"start": "2026-03-02T10:00:00Z", "end": "2026-04-20T00:00:00Z"}),
            422,
            "enquiry_period.end",
        ),
        (
            terms(tender_period={"start": "0001-01-01T00:00:00Z", "end": DEADLINE}),
            422,
            "tender_period.start",
        ),
        (terms(method="auction"), 400, "method"),
        (terms(title="x" * 201), 400, "title"),
        ({k: v for k, v in terms().items() if k != "evaluation"}, 400, "evaluation"),
    ]
    for body, status, field in cases:
        response = await client.post(url, json=body, headers=headers)
        assert response.status_code == status, (field, response.text)
        named = [e["field"] for e in response.json()["errors"]]
        assert any(n == field or n.startswith(f"{field}") for n in named), (field, named)
    bad_key = await client.post(url, json=terms(), headers=headers | {"Idempotency-Key": "short"})
    assert bad_key.status_code == 400
    assert marketplace_events(client) == before
    assert (await client.get(f"/api/v1/tenders/{uuid.uuid4()}")).status_code == 404
