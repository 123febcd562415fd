"""Procurement matching over HTTP, on both stores (issue 14): a council sees the members that
fit its draft's lot, scored and explained, the excluded only counted; a member suspended drops
out at once (read your writes) and returns when reinstated; another organisation's users get
the 404 of no tender, the public 401, staff see; a member reads its recommended open lots,
outside opportunities (national portals' notices imported as OCDS) among them, each with where
it came from; bad input names its field.

PostgreSQL's database is shared by the whole run: each test uses CPV codes (soya beans, sand)
and a region (Belfast) no other test states, so the members it counts are its own."""

from __future__ import annotations

import copy
import uuid
from typing import Any

from marketplace.outside.opportunity import opportunity_id_for
from tests.api.helpers import APPLICATION, register, services_of, token
from tests.api.test_membership_standing import pay
from tests.api.test_opportunities import imported, sample
from tests.api.test_tenders import draft, position_of, settle, terms, verified_council
from tests.conftest import AppClient
from tradehall.clock import ManualClock

Client = AppClient
SOYA = "03111100-3"
SEEDS = "03111000-2"


async def member(
    client: Client, staff_headers: dict[str, str], name: str, cpv: list[str], regions: list[str]
) -> tuple[str, dict[str, str]]:
    """A member in good standing (admitted and paid) with these codes: its id and headers."""
    org = await register(client, name=name, cpv_codes=cpv, regions=regions)
    headers = await token(client, org["email"])
    base = f"/api/v1/organisations/{org['id']}/membership"
    applied = await client.post(f"{base}/application", json=APPLICATION, headers=headers)
    assert applied.status_code == 200, applied.text
    admitted = await client.post(f"{base}/admission", headers=staff_headers)
    assert admitted.status_code == 200, admitted.text
    assert (await pay(client, org, staff_headers)).status_code == 201
    return org["id"], headers


def soya_terms(code: str = SOYA) -> dict[str, Any]:
    return terms(
        lots=[{"title": "Soya beans", "cpv_codes": [code], "value_minor": 1_000_000}],
        eligibility={"members_only": False, "quality_mark_required": False, "regions": ["TLN06"]},
    )


def matches_url(org: str, tender: str, lot: str = "lot-1") -> str:
    return f"/api/v1/organisations/{org}/tenders/{tender}/lots/{lot}/matches"


async def test_a_buyer_sees_who_fits_its_draft_and_why(
    client: Client, staff_headers: dict[str, str]
) -> None:
    council, council_headers = await verified_council(client, staff_headers)
    ash, _ = await member(client, staff_headers, "Ash Farm CIC", [SEEDS], ["TLN0"])
    birch, birch_headers = await member(client, staff_headers, "Birch Co-op", [SOYA], ["TLN06"])
    await member(client, staff_headers, "Fir Growers", [SOYA], ["TLC3"])  # outside Belfast
    gorse, _ = await member(client, staff_headers, "Gorse Mill", [SOYA], ["TLN06"])
    tender = (await draft(client, council, council_headers, soya_terms()))["id"]
    suspended = await client.post(
        f"/api/v1/organisations/{gorse}/membership/suspension",
        json={"reason": "Dues unpaid"},
        headers=staff_headers,
    )
    assert suspended.status_code == 200, suspended.text
    await settle(client)

    response = await client.get(matches_url(council, tender), headers=council_headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["consistent"] is True
    assert body["formula"].startswith("score = cpv + region + mark")
    # Birch: the same code 40 + serves Belfast 20 = 60.
    # Ash: same category (03111) 4 x 8 = 32 + serves TLN0, Belfast's parent, 16 = 48.
    assert [(m["rank"], m["name"], m["score"]) for m in body["members"]] == [
        (1, "Birch Co-op", 60),
        (2, "Ash Farm CIC", 48),
    ]
    parts = body["members"][1]["parts"]
    assert parts["cpv"] == {
        "points": 32,
        "max": 40,
        "detail": f"same category (03111) as {SOYA}",
    }
    assert parts["region"]["detail"] == "serves TLN0, the parent of TLN06"
    assert parts["capacity"] == {"points": 0, "max": 10, "detail": "capacity £0.00 of £10,000.00"}
    assert {m["organisation_id"] for m in body["members"]} == {birch, ash}
    assert body["excluded"] == {
        "total": 2,
        "not_in_good_standing": 1,
        "no_quality_mark": 0,
        "outside_regions": 1,
    }
    assert council not in response.text  # the buyer never matches its own tender

    top = await client.get(
        matches_url(council, tender), params={"limit": 1}, headers=council_headers
    )
    assert [m["name"] for m in top.json()["members"]] == ["Birch Co-op"]
    staff = await client.get(matches_url(council, tender), headers=staff_headers)
    assert staff.status_code == 200
    assert staff.json()["members"] == body["members"]

    # Birch is suspended: it drops out at once, and returns when reinstated.
    dropped = await client.post(
        f"/api/v1/organisations/{birch}/membership/suspension",
        json={"reason": "Dues unpaid"},
        headers=staff_headers,
    )
    assert dropped.status_code == 200, dropped.text
    after = await client.get(
        matches_url(council, tender),
        params={"position": position_of(dropped)},
        headers=council_headers,
    )
    assert [m["name"] for m in after.json()["members"]] == ["Ash Farm CIC"]
    assert after.json()["excluded"]["not_in_good_standing"] == 2
    standing = await client.get(
        f"/api/v1/organisations/{birch}/recommended-tenders", headers=birch_headers
    )
    assert standing.status_code == 200, standing.text
    assert (standing.json()["standing"], standing.json()["items"]) == ("not in good standing", [])
    back = await client.post(
        f"/api/v1/organisations/{birch}/membership/reinstatement", headers=staff_headers
    )
    assert back.status_code == 200, back.text
    again = await client.get(
        matches_url(council, tender),
        params={"position": position_of(back)},
        headers=council_headers,
    )
    assert [m["name"] for m in again.json()["members"]] == ["Birch Co-op", "Ash Farm CIC"]

    # The projector's rebuild (shadow tables swapped in) gives the same answer.
    services = services_of(client)
    # Other tests' odd events are in the shared PostgreSQL log (probes record them on
    # purpose): left out as the live path leaves them (ADR 16).
    await services.run(lambda: services.readside.projector.rebuild(["matching"], leaving_out=True))
    rebuilt = await client.get(matches_url(council, tender), headers=council_headers)
    assert rebuilt.json() == again.json()


async def test_only_the_buyer_and_staff_see_a_lots_matches(
    client: Client, staff_headers: dict[str, str]
) -> None:
    council, council_headers = await verified_council(client, staff_headers)
    other, other_headers = await verified_council(client, staff_headers, "Hillside Council")
    supplier, supplier_headers = await member(
        client, staff_headers, "Sandpit CIC", ["14211000-3"], ["TLN"]
    )
    tender = (await draft(client, council, council_headers, soya_terms("14211000-3")))["id"]
    await settle(client)

    assert (await client.get(matches_url(council, tender))).status_code == 401
    for org, headers in ((other, other_headers), (supplier, supplier_headers)):
        # Under its own organisation: the 404 of no tender; under the council's: refused.
        mine = await client.get(matches_url(org, tender), headers=headers)
        assert mine.status_code == 404, mine.text
        theirs = await client.get(matches_url(council, tender), headers=headers)
        assert theirs.status_code == 403, theirs.text
    # No such lot, or no such tender: the same 404.
    unknown = await client.get(matches_url(council, tender, "lot-9"), headers=council_headers)
    assert unknown.status_code == 404
    nothing = await client.get(matches_url(council, str(uuid.uuid4())), headers=council_headers)
    assert unknown.json()["detail"] == nothing.json()["detail"].replace(
        nothing.url.path.split("/")[6], tender
    )
    for limit in ("0", "101", "many"):
        bad = await client.get(
            matches_url(council, tender), params={"limit": limit}, headers=council_headers
        )
        assert bad.status_code == 400, bad.text
        assert "limit" in bad.text


async def test_a_member_reads_its_recommended_open_lots(
    client: Client, staff_headers: dict[str, str]
) -> None:
    council, council_headers = await verified_council(client, staff_headers)
    sand = "14211000-3"
    quarry, headers = await member(client, staff_headers, "Quarry CIC", [sand], ["TLN06"])
    drafted = (await draft(client, council, council_headers, soya_terms(sand)))["id"]
    published = (await draft(client, council, council_headers, soya_terms(sand)))["id"]
    made_public = await client.post(
        f"/api/v1/tenders/{published}/publication", json={"planned": False}, headers=council_headers
    )
    assert made_public.status_code == 200, made_public.text
    url = f"/api/v1/organisations/{quarry}/recommended-tenders"

    response = await client.get(url, params={"position": position_of(made_public)}, headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["standing"] == "in good standing"
    mine = [i for i in body["items"] if i["tender_id"] in (drafted, published)]
    # Only the published (open) one, never the draft: the same code 40 + Belfast 20 = 60.
    assert [(i["tender_id"], i["lot_id"], i["score"], i["source"]) for i in mine] == [
        (published, "lot-1", 60, "tradehall")
    ]
    assert mine[0]["buyer_name"] == "Riverside Borough Council"
    assert mine[0]["parts"]["region"]["detail"] == "serves TLN06"
    assert (await client.get(url, headers=staff_headers)).status_code == 200
    assert (await client.get(url)).status_code == 401
    assert (await client.get(url, headers=council_headers)).status_code == 403
    council_own = await client.get(
        f"/api/v1/organisations/{council}/recommended-tenders", headers=council_headers
    )
    assert council_own.json() | {"formula": ""} == {
        "standing": "not a member",
        "formula": "",
        "items": [],
        "consistent": True,
    }
    bad = await client.get(url, params={"limit": "0"}, headers=headers)
    assert bad.status_code == 400
    assert "limit" in bad.text


BANANAS = "03222111-4"


def martock(suffix: str, **tender: Any) -> dict[str, Any]:
    """The sample's Martock Parish Council notice (active, a postcode for its place, £10,000,
    flagged for VCSEs) under a fresh ocid, for bananas, open until 20 April 2026; `tender`
    over its tender's fields (None: left out)."""
    found = next(
        r for r in sample()["releases"] if r["tender"]["title"].startswith("Martock Parish")
    )
    release: dict[str, Any] = copy.deepcopy(found)
    release["ocid"] = f"{release['ocid']}-{suffix}"
    release["id"] = f"{release['id']}-{suffix}"
    stated = release["tender"]
    stated["classification"] = {"scheme": "CPV", "id": "03222111", "description": "Bananas"}
    del stated["additionalClassifications"]
    stated["tenderPeriod"] = {"endDate": "2026-04-20T12:00:00Z"}
    for field, value in tender.items():
        if value is None:
            stated.pop(field, None)
        else:
            stated[field] = value
    return release


async def test_outside_opportunities_are_among_a_members_recommendations(
    client: Client, staff_headers: dict[str, str], clock: ManualClock
) -> None:
    council, council_headers = await verified_council(client, staff_headers)
    grower, headers = await member(client, staff_headers, "Banana Co-op", [BANANAS], ["TLN06"])
    ours = (await draft(client, council, council_headers, soya_terms(BANANAS)))["id"]
    published = await client.post(
        f"/api/v1/tenders/{ours}/publication", json={"planned": False}, headers=council_headers
    )
    assert published.status_code == 200, published.text
    run = uuid.uuid4().hex[:8]
    source = f"Contracts Finder {run}"
    releases = [
        martock(f"{run}-postcode"),  # its one place a postcode: not read as a region
        # No place, no value, no VCSE flag.
        martock(f"{run}-anywhere", items=None, value=None, suitability=None),
        # Delivered in Wales (NUTS UKL): the member serves Belfast only.
        martock(f"{run}-wales", items=[{"id": "1", "deliveryAddresses": [{"region": "UKL"}]}]),
        martock(f"{run}-closed", tenderPeriod={"endDate": "2026-03-01T12:00:00Z"}),
        martock(f"{run}-complete", status="complete"),
    ]
    assert await imported(client, clock, releases, source) == ["imported"] * 5
    postcode, anywhere = (opportunity_id_for(r["ocid"]) for r in releases[:2])
    url = f"/api/v1/organisations/{grower}/recommended-tenders"

    body = (await client.get(url, headers=headers)).json()
    mine = [i for i in body["items"] if i["tender_id"] == ours or i["source"] == source]
    # Ours: the same code 40 + Belfast 20 = 60 (deadline 1 April). Anywhere: 40 + open
    # anywhere 20 + capacity 0 (no value: V = 0, and no capacity of its own) = 60 (20 April).
    # The postcode one: 40 + region 0 (no place read; not excluded for it) + capacity 0 = 40.
    # Not the Welsh one (outside its regions), the closed or the complete one.
    assert [(i["tender_id"], i["score"], i["source"]) for i in mine] == [
        (ours, 60, "tradehall"),
        (str(anywhere), 60, source),
        (str(postcode), 40, source),
    ]
    tradehall, nowhere, notice = mine
    assert {k: tradehall[k] for k in ("url", "ocid", "vcse")} == dict.fromkeys(
        ("url", "ocid", "vcse")
    )
    assert tradehall["buyer_id"] == council
    assert notice["url"] == (
        "https://www.contractsfinder.service.gov.uk/Notice/a3f33caf-8cb9-4d27-b048-328fe5dce0a1"
    )
    assert notice["ocid"] == releases[0]["ocid"]
    assert (notice["vcse"], nowhere["vcse"]) == (True, None)
    assert (notice["lot_id"], notice["buyer_id"]) == ("opportunity", None)
    assert notice["buyer_name"] == "Martock Parish Council"
    assert notice["tender_title"].startswith("Martock Parish Council Village")
    assert notice["deadline"] == "2026-04-20T12:00:00Z"
    assert notice["parts"]["region"] == {
        "points": 0,
        "max": 20,
        "detail": "no place it names was read as a region (TA12 6JL): not scored",
    }
    assert notice["parts"]["capacity"]["detail"] == "capacity £0.00 of £10,000.00"
    assert nowhere["parts"]["capacity"]["detail"] == (
        "no value published, and no capacity in the lot's CPV divisions"
    )
    assert "Outside opportunities" in body["formula"]

    # An outside opportunity is nobody's tender: no buyer's matches, whoever asks.
    for org, asking in ((council, council_headers), (str(uuid.UUID(int=0)), staff_headers)):
        response = await client.get(matches_url(org, str(postcode), "opportunity"), headers=asking)
        assert response.status_code == 404, response.text

    # A later release cancels the postcode one: it leaves the recommendations.
    cancelled = copy.deepcopy(releases[0])
    cancelled["id"] = f"{cancelled['id']}-2"
    cancelled["date"] = "2025-03-12T09:00:00Z"
    cancelled["tender"]["status"] = "cancelled"
    assert await imported(client, clock, [cancelled], source) == ["updated"]
    after = (await client.get(url, headers=headers)).json()
    assert [i["tender_id"] for i in after["items"] if i["source"] == source] == [str(anywhere)]
