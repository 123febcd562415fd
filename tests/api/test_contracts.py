"""Contracts over HTTP, on both stores (issue 13): a council's contract with a consortium (A 60%,
B 40%) for an awarded lot, read by the buyer's and the parties' users and staff and by nobody
else; delivery reported by either party, retried as the same report, confirmed or rejected by the
buyer and never by a supplier; committed against delivered (confirmed only) and pending; the
contracts lists; amendments, completion and termination by the buyer only; bad input named and
nothing changed.

The contract is set up through the Application (opening, scores, award, award notice, signing
after the standstill): driving that chain over HTTP is the award scenario's test.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from marketplace.application import BuyerFacts
from marketplace.bids.content import SupplierFacts
from marketplace.evaluation.application import Score
from marketplace.tender_terms import LotInput, Period, parse_terms
from projections.contracts import contract_measures_of
from sharedkernel.events import Context
from sharedkernel.money import Money
from tests.api.helpers import register, services_of, token
from tests.api.test_clarifications import council
from tests.api.test_tenders import settle
from tests.conftest import AppClient
from tests.unit.test_tender_domain import evaluation
from tradehall.clock import ManualClock

Client = AppClient
Headers = dict[str, str]
LOT = "lot-1"
COMMITMENTS = [
    {"measure": "local_jobs", "quantity": 3, "unit": "jobs"},
    {"measure": "apprenticeships", "quantity": 2, "unit": "apprenticeships"},
]


@dataclass(frozen=True)
class Signed:
    """A signed contract and who is who."""

    contract: str
    tender: str
    bid: str
    buyer: str
    buyer_headers: Headers
    a: str  # the lead, 60%
    a_headers: Headers
    b: str  # the partner, 40%
    b_headers: Headers
    c_headers: Headers  # a third organisation's user
    signed_on: str  # the contract's start (ISO)

    @property
    def url(self) -> str:
        return f"/api/v1/contracts/{self.contract}"


def context(clock: ManualClock) -> Context:
    return Context("user:test", "test", clock.now())


async def organisation(client: Client) -> tuple[str, Headers]:
    org = await register(client, name=f"Alder Grounds CIC {uuid.uuid4().hex[:6]}")
    return org["id"], await token(client, org["email"])


def bid_record(bid: uuid.UUID, a: str, b: str, at: str, lot: str) -> dict[str, Any]:
    """A valid consortium bid as the opening records it (bids.opening.as_opened)."""
    return {
        "bid_id": str(bid),
        "lot_id": lot,
        "lead_id": a,
        "shares": [{"organisation_id": a, "percent": 60}, {"organisation_id": b, "percent": 40}],
        "submitted_at": at,
        "digest": "sha256:" + "0" * 64,
        "valid": True,
        "reason": None,
        "content": {
            "price_minor": 9_500_000,
            "currency": "GBP",
            "answers": {"method statement": "Two crews", "experience": "Ten years"},
            "commitments": COMMITMENTS,
        },
        "documents": [],
    }


async def signed_contract(
    client: Client, staff_headers: Headers, clock: ManualClock, lots: int = 1
) -> list[Signed]:
    """A council's tender of `lots` lots, each awarded to A and B's consortium, its award
    notice published, the standstill waited out and the contract signed (one a lot)."""
    services = services_of(client)
    marketplace = services.applications["marketplace"]
    buyer, buyer_headers = await council(client, staff_headers)
    a, a_headers = await organisation(client)
    b, b_headers = await organisation(client)
    _, c_headers = await organisation(client)
    now = clock.now()
    terms = parse_terms(
        title="Grounds maintenance, Riverside parks",
        description="Parks and verges",
        method="open",
        category="services",
        lots=[LotInput(f"Lot {n}", "Parks", ["77310000"], 12_000_000) for n in range(lots)],
        enquiry_period=(now, now + timedelta(hours=12)),
        tender_period=(now, now + timedelta(days=1)),
        contract_period=(now + timedelta(days=30), now + timedelta(days=400)),
        members_only=False,
        quality_mark_required=False,
        regions=[],
        evaluation=evaluation(),
    )
    tender = uuid.uuid4()
    await services.run(marketplace.draft_tender, context(clock), tender, uuid.UUID(buyer), terms)
    await services.run(
        marketplace.publish_tender, context(clock), tender, BuyerFacts("public_body")
    )
    submitted = now.isoformat()
    clock.advance(timedelta(days=2))
    lot_ids = [f"lot-{n + 1}" for n in range(lots)]
    bids = {lot: uuid.uuid4() for lot in lot_ids}
    records = [bid_record(bids[lot], a, b, submitted, lot) for lot in lot_ids]
    await services.run(marketplace.record_opening, context(clock), tender, records)
    facts = {uuid.UUID(org): SupplierFacts(uuid.UUID(org), True, True, False, ()) for org in (a, b)}
    scores = [
        Score("method statement", 4, "Clear"),
        Score("experience", 3, "Enough"),
        Score("social value", 8, "Local jobs"),
    ]
    for lot in lot_ids:
        await services.run(marketplace.score_bid, context(clock), tender, lot, bids[lot], scores)
        await services.run(marketplace.award_lot, context(clock), tender, lot, facts)
        await services.run(
            marketplace.publish_award_notice, context(clock), tender, lot, lambda e: True
        )
    # Well past the standstill, whatever closure days other tests entered.
    clock.advance(timedelta(days=33))
    start = clock.now()
    signed = []
    for lot in lot_ids:
        saved = await services.run(
            marketplace.sign_contract,
            context(clock),
            tender,
            lot,
            Money("GBP", 9_500_000),
            Period(start, start + timedelta(days=365)),
        )
        signed.append(
            Signed(
                str(saved.aggregate_id),
                str(tender),
                str(bids[lot]),
                buyer,
                buyer_headers,
                a,
                a_headers,
                b,
                b_headers,
                c_headers,
                start.isoformat(),
            )
        )
    return signed


def report(start: str, end: str, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "report_id": str(uuid.uuid4()),
        "period": {"start": start, "end": end},
        "delivered": [{"measure": "local_jobs", "quantity": 2}],
        "note": "Two local hires.\nBoth from the job centre.",
    }
    return body | changes


async def view(client: Client, signed: Signed, headers: Headers) -> dict[str, Any]:
    response = await client.get(signed.url, headers=headers)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def figures(contract: dict[str, Any]) -> dict[str, tuple[int, int, int]]:
    return {
        c["measure"]: (c["committed"], c["delivered"], c["pending"])
        for c in contract["commitments"]
    }


def fields(response: Any) -> list[str]:
    return [e["field"] for e in response.json().get("errors") or []]


async def listed(client: Client, headers: Headers, position: str = "") -> list[str]:
    params = {"per_page": "100"} | ({"position": position} if position else {})
    response = await client.get("/api/v1/contracts", params=params, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["consistent"] is True
    return [item["id"] for item in response.json()["items"]]


async def test_a_contract_is_seen_by_its_buyer_parties_and_staff_only(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    [signed] = await signed_contract(client, staff_headers, clock)

    as_buyer = await client.get(signed.url, headers=signed.buyer_headers)
    assert as_buyer.status_code == 200, as_buyer.text
    assert as_buyer.headers["etag"] == '"1"'
    contract = as_buyer.json()
    assert (contract["tender_id"], contract["lot_id"], contract["bid_id"]) == (
        signed.tender,
        LOT,
        signed.bid,
    )
    assert (contract["buyer_id"], contract["status"], contract["value_minor"]) == (
        signed.buyer,
        "active",
        9_500_000,
    )
    assert [(p["organisation_id"], p["share_percent"]) for p in contract["parties"]] == [
        (signed.a, 60),
        (signed.b, 40),
    ]
    assert figures(contract) == {"local_jobs": (3, 0, 0), "apprenticeships": (2, 0, 0)}
    assert contract["amendments"] == []
    assert contract["delivery_reports"] == []
    for who in (signed.a_headers, signed.b_headers, staff_headers):
        assert await view(client, signed, who) == contract
    for missing in (signed.url, f"/api/v1/contracts/{uuid.uuid4()}"):
        hidden = await client.get(missing, headers=signed.c_headers)
        assert hidden.status_code == 404, hidden.text
    # Another kind of aggregate's id is the same 404.
    tender_as_contract = await client.get(
        f"/api/v1/contracts/{signed.tender}", headers=signed.buyer_headers
    )
    assert tender_as_contract.status_code == 404

    # The lists: the buyer's and each party's, staff's; never the third organisation's.
    await settle(client)
    for who in (signed.buyer_headers, signed.a_headers, signed.b_headers, staff_headers):
        assert signed.contract in await listed(client, who)
    assert await listed(client, signed.c_headers) == []


async def test_delivery_is_reported_by_a_party_and_confirmed_by_the_buyer_only(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    [signed] = await signed_contract(client, staff_headers, clock)
    start = clock.now()
    clock.advance(timedelta(days=70))
    month = (start + timedelta(days=30)).isoformat()
    two_months = (start + timedelta(days=60)).isoformat()

    first = report(signed.signed_on, month)
    made = await client.post(f"{signed.url}/delivery-reports", json=first, headers=signed.a_headers)
    assert made.status_code == 201, made.text
    assert made.headers["etag"] == '"2"'
    # A retry is the same report: answered, nothing recorded again.
    again = await client.post(
        f"{signed.url}/delivery-reports", json=first, headers=signed.a_headers
    )
    assert again.status_code == 201, again.text
    assert again.json()["version"] == 2
    second = report(
        month,
        two_months,
        delivered=[
            {"measure": "local_jobs", "quantity": 1},
            {"measure": "apprenticeships", "quantity": 2},
        ],
    )
    by_partner = await client.post(
        f"{signed.url}/delivery-reports", json=second, headers=signed.b_headers
    )
    assert by_partner.status_code == 201, by_partner.text

    first_url = f"{signed.url}/delivery-reports/{first['report_id']}"
    second_url = f"{signed.url}/delivery-reports/{second['report_id']}"
    # A supplier never confirms its own delivery; a third organisation does not see it.
    for own in (signed.a_headers, signed.b_headers):
        refused = await client.post(f"{first_url}/confirmation", headers=own)
        assert refused.status_code == 409, refused.text
        assert "never confirms" in refused.json()["detail"]
    hidden = await client.post(f"{first_url}/confirmation", headers=signed.c_headers)
    assert hidden.status_code == 404, hidden.text
    as_staff = await client.post(f"{first_url}/confirmation", headers=staff_headers)
    assert as_staff.status_code == 403, as_staff.text
    stale = await client.post(
        f"{first_url}/confirmation", headers=signed.buyer_headers | {"If-Match": '"2"'}
    )
    assert stale.status_code == 409, stale.text
    confirmed = await client.post(
        f"{first_url}/confirmation", headers=signed.buyer_headers | {"If-Match": '"3"'}
    )
    assert confirmed.status_code == 200, confirmed.text
    twice = await client.post(f"{first_url}/confirmation", headers=signed.buyer_headers)
    assert twice.status_code == 409, twice.text
    unknown = await client.post(
        f"{signed.url}/delivery-reports/{uuid.uuid4()}/confirmation",
        headers=signed.buyer_headers,
    )
    assert unknown.status_code == 404, unknown.text

    # Committed against delivered: the confirmed report only; the other is pending.
    contract = await view(client, signed, signed.b_headers)
    assert figures(contract) == {"local_jobs": (3, 2, 1), "apprenticeships": (2, 0, 2)}
    assert [(r["id"], r["status"]) for r in contract["delivery_reports"]] == [
        (first["report_id"], "confirmed"),
        (second["report_id"], "reported"),
    ]
    shown = contract["delivery_reports"][0]
    assert (shown["reporter_id"], shown["note"], shown["decision_reason"]) == (
        signed.a,
        first["note"],
        None,
    )
    assert shown["delivered"] == first["delivered"]

    # The buyer rejects the second, with why; its period is free for a corrected report.
    party_rejects = await client.post(
        f"{second_url}/rejection", json={"reason": "no"}, headers=signed.a_headers
    )
    assert party_rejects.status_code == 409, party_rejects.text
    rejected = await client.post(
        f"{second_url}/rejection",
        json={"reason": "No evidence of the apprenticeships"},
        headers=signed.buyer_headers,
    )
    assert rejected.status_code == 200, rejected.text
    corrected = report(month, two_months, delivered=[{"measure": "local_jobs", "quantity": 1}])
    resent = await client.post(
        f"{signed.url}/delivery-reports", json=corrected, headers=signed.b_headers
    )
    assert resent.status_code == 201, resent.text
    contract = await view(client, signed, signed.buyer_headers)
    assert figures(contract) == {"local_jobs": (3, 2, 1), "apprenticeships": (2, 0, 0)}
    assert contract["delivery_reports"][1]["decision_reason"] == (
        "No evidence of the apprenticeships"
    )

    # The projection: committed and confirmed-only delivered, per measure.
    position = ",".join(f"{k}:{v}" for k, v in resent.json()["position"].items())
    assert signed.contract in await listed(client, signed.buyer_headers, position)
    async with services_of(client).engine.connect() as connection:
        measures = await contract_measures_of(connection, uuid.UUID(signed.contract))
    assert {(m.measure, m.unit, m.committed, m.delivered) for m in measures} == {
        ("local_jobs", "jobs", 3, 2),
        ("apprenticeships", "apprenticeships", 2, 0),
    }


async def test_bad_delivery_reports_are_named_and_change_nothing(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    [signed] = await signed_contract(client, staff_headers, clock)
    start = clock.now()
    clock.advance(timedelta(days=40))
    month = (start + timedelta(days=30)).isoformat()
    url = f"{signed.url}/delivery-reports"
    first = report(signed.signed_on, month)
    made = await client.post(url, json=first, headers=signed.a_headers)
    assert made.status_code == 201, made.text

    def item(measure: Any = "local_jobs", quantity: Any = 1) -> dict[str, Any]:
        return {"delivered": [{"measure": measure, "quantity": quantity}]}

    later = (start + timedelta(days=31)).isoformat()
    latest = (start + timedelta(days=35)).isoformat()
    cases: list[tuple[dict[str, Any], int, str]] = [
        (report(later, month), 422, "period.end"),  # ends before it starts
        (report("1800-01-01T00:00:00Z", month), 422, "period.start"),
        (report(later, "not a date"), 400, "period.end"),
        (report(signed.signed_on, latest), 409, ""),  # overlaps the first
        (report(month, (start + timedelta(days=60)).isoformat()), 422, "period.end"),  # future
        (report(later, latest, **item("nonsense")), 400, "delivered"),
        (report(later, latest, **item("carbon_saving")), 422, "delivered[0].measure"),
        (report(later, latest, **item(quantity=True)), 400, "delivered"),
        (report(later, latest, **item(quantity=-1)), 400, "delivered"),
        (report(later, latest, **item(quantity=10**10)), 400, "delivered"),
        (report(later, latest, **item(quantity=10**30)), 400, "delivered"),
        (report(later, latest, **item(quantity=1.5)), 400, "delivered"),
        (report(later, latest, delivered=[]), 400, "delivered"),
        (report(later, latest, note="a\u202enote"), 400, "note"),
        (report(later, latest, report_id="not-a-uuid"), 400, "report_id"),
    ]
    for body, status, field in cases:
        response = await client.post(url, json=body, headers=signed.a_headers)
        assert response.status_code == status, (body, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        if field:
            assert any(f.startswith(field) for f in fields(response)), (body, response.text)
    # The same report id with another period is not a retry.
    reused = report(later, latest, report_id=first["report_id"])
    assert (await client.post(url, json=reused, headers=signed.b_headers)).status_code == 409
    # Only a party reports; a third organisation does not see the contract; staff never act.
    fine = report(later, latest)
    by_buyer = await client.post(url, json=fine, headers=signed.buyer_headers)
    assert by_buyer.status_code == 409, by_buyer.text
    assert (await client.post(url, json=fine, headers=signed.c_headers)).status_code == 404
    assert (await client.post(url, json=fine, headers=staff_headers)).status_code == 403
    contract = await view(client, signed, signed.buyer_headers)
    assert contract["version"] == 2
    assert len(contract["delivery_reports"]) == 1


async def test_the_buyer_amends_completes_and_terminates_its_contracts_only(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    first, second = await signed_contract(client, staff_headers, clock, lots=2)
    url = first.url
    reason = {"reason": "Two more parks added"}

    same = await client.post(
        f"{url}/amendments",
        json=reason | {"value_minor": 9_500_000},
        headers=first.buyer_headers,
    )
    assert same.status_code == 422, same.text
    assert fields(same) == ["amendment"]
    for body, field in (
        (reason | {"value_minor": 0}, "value_minor"),
        (reason | {"value_minor": True}, "value_minor"),
        (reason | {"value_minor": 10**13}, "value_minor"),
        ({"value_minor": 10_000_000}, "reason"),
        ({"reason": " ", "value_minor": 10_000_000}, "reason"),
    ):
        bad = await client.post(f"{url}/amendments", json=body, headers=first.buyer_headers)
        assert bad.status_code in (400, 422), bad.text
        assert any(f.startswith(field) for f in fields(bad)), (body, bad.text)
    backwards = {"start": "2027-01-01T00:00:00Z", "end": "2026-01-01T00:00:00Z"}
    bad_period = await client.post(
        f"{url}/amendments", json=reason | {"period": backwards}, headers=first.buyer_headers
    )
    assert bad_period.status_code == 422, bad_period.text
    assert fields(bad_period) == ["period.end"]
    for who, status in ((first.a_headers, 403), (staff_headers, 403), (first.c_headers, 404)):
        refused = await client.post(
            f"{url}/amendments", json=reason | {"value_minor": 10_000_000}, headers=who
        )
        assert refused.status_code == status, refused.text

    amended = await client.post(
        f"{url}/amendments",
        json=reason | {"value_minor": 11_000_000},
        headers=first.buyer_headers | {"If-Match": '"1"'},
    )
    assert amended.status_code == 200, amended.text
    stale = await client.post(
        f"{url}/amendments",
        json=reason | {"value_minor": 12_000_000},
        headers=first.buyer_headers | {"If-Match": '"1"'},
    )
    assert stale.status_code == 409, stale.text
    contract = await view(client, first, first.a_headers)
    assert contract["value_minor"] == 11_000_000
    [amendment] = contract["amendments"]
    assert (amendment["changed"], amendment["value_minor"], amendment["reason"]) == (
        ["value"],
        11_000_000,
        reason["reason"],
    )

    for who, status in ((first.b_headers, 403), (first.c_headers, 404)):
        refused = await client.post(f"{url}/completion", json=reason, headers=who)
        assert refused.status_code == status, refused.text
    done = {"reason": "Delivered in full"}
    completed = await client.post(f"{url}/completion", json=done, headers=first.buyer_headers)
    assert completed.status_code == 200, completed.text
    twice = await client.post(f"{url}/completion", json=done, headers=first.buyer_headers)
    assert twice.status_code == 409, twice.text
    ended = await client.post(f"{url}/termination", json=done, headers=first.buyer_headers)
    assert ended.status_code == 409, ended.text
    contract = await view(client, first, first.buyer_headers)
    assert (contract["status"], contract["end_reason"]) == ("completed", "Delivered in full")

    gone = {"reason": "The supplier stopped work"}
    terminated = await client.post(
        f"{second.url}/termination", json=gone, headers=second.buyer_headers
    )
    assert terminated.status_code == 200, terminated.text
    assert (await view(client, second, second.b_headers))["status"] == "terminated"
    position = ",".join(f"{k}:{v}" for k, v in terminated.json()["position"].items())
    response = await client.get(
        "/api/v1/contracts", params={"position": position}, headers=first.a_headers
    )
    statuses = {i["id"]: (i["status"], i["value_minor"]) for i in response.json()["items"]}
    assert statuses == {
        first.contract: ("completed", 11_000_000),
        second.contract: ("terminated", 9_500_000),
    }
