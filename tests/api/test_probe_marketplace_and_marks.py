"""Probes, as an attacker, of the marketplace's and the quality mark's routes, on both stores:
an id of one kind of aggregate given to a route of another is the same 404 as an unknown one
(never a 500, never another aggregate's data); a document or evidence file is served only
through the aggregate that holds it; odd query and path values are problems, not errors; two
writers naming one version of a listing or tender: one wins, the other is a 409."""

from __future__ import annotations

import asyncio
import uuid

from marketplace.tenders import interest_id_for
from membership.marks.application import applicant_id_for
from membership.marks.mark import mark_id_for
from tests.api.helpers import token
from tests.api.test_buyers import register_business
from tests.api.test_clarifications import council, supplier, tender
from tests.api.test_listings import BREAD, CATERING, member, publish
from tests.api.test_listings import settle as settle_listings
from tests.api.test_membership_standing import admitted, pay
from tests.api.test_quality_mark import CRITERIA, DECLARATIONS, signed_in, started, upload
from tests.api.test_tenders import draft, terms, verified_council
from tests.conftest import AppClient
from tests.evidence_files import pdf, png
from tradehall.clock import ManualClock
from tradehall.identity.users import Role
from tradehall.store.base import Store

Client = AppClient
OCTETS = {"Content-Type": "application/octet-stream"}


async def test_an_id_of_another_kind_is_not_found_on_every_route(
    client: Client, staff_headers: dict[str, str], clock: ManualClock
) -> None:
    buyer_id, buyer = await council(client, staff_headers)
    seller_id, seller = await member(client, staff_headers)
    listing = (await publish(client, seller_id, seller, BREAD))["id"]
    published = await tender(client, clock, buyer_id)
    asked = await client.post(
        f"/api/v1/tenders/{published}/questions", json={"question": "Gritting?"}, headers=seller
    )
    assert asked.status_code == 201, asked.text
    question = asked.json()["id"]
    interest = await client.post(f"/api/v1/tenders/{published}/interest", headers=seller)
    assert interest.status_code == 200, interest.text
    interest_id = str(interest_id_for(uuid.UUID(published), uuid.UUID(seller_id)))
    applicant_org_view, applicant, application = await started(client, staff_headers)
    applicant_org = applicant_org_view["id"]
    await settle_listings(client)

    # Every id that is not a tender's, on the tender routes (public, the buyer's, a supplier's).
    for wrong in (listing, question, interest_id, application, applicant_org):
        base = f"/api/v1/tenders/{wrong}"
        assert (await client.get(base)).status_code == 404
        assert (await client.get(f"{base}/questions")).status_code == 404
        assert (await client.get(f"{base}/documents/{'0' * 64}")).status_code == 404
        assert (await client.get(f"{base}/interest", headers=seller)).status_code == 404
        assert (await client.get(f"{base}/questions/unanswered", headers=buyer)).status_code == 404
        for path, body in (
            ("publication", {}),
            ("activation", None),
            ("cancellation", {"reason": "x"}),
            ("withdrawal", {"reason": "x"}),
        ):
            response = await client.post(f"{base}/{path}", json=body, headers=buyer)
            assert response.status_code == 404, (wrong, path, response.text)
        assert (await client.put(base, json=terms(), headers=buyer)).status_code == 404
        own = f"/api/v1/organisations/{buyer_id}/tenders/{wrong}"
        assert (await client.get(own, headers=buyer)).status_code == 404
        assert (await client.get(f"{own}/documents/{'0' * 64}", headers=buyer)).status_code == 404
    # Every id that is not a listing's, on the listing routes.
    for wrong in (published, question, interest_id, application):
        url = f"/api/v1/listings/{wrong}"
        assert (await client.get(url)).status_code == 404
        assert (await client.put(url, json=CATERING, headers=seller)).status_code == 404
        assert (await client.post(f"{url}/withdrawal", headers=seller)).status_code == 404
        assert (await client.post(f"{url}/republication", headers=seller)).status_code == 404
    # Every id that is not a question's (an interest's among them: its id is derived).
    for wrong in (published, listing, interest_id, application):
        url = f"/api/v1/questions/{wrong}"
        assert (await client.get(url, headers=staff_headers)).status_code == 404
        answer = await client.post(f"{url}/answer", json={"answer": "x"}, headers=buyer)
        assert answer.status_code == 404
    # Every id that is not a mark application's.
    derived = (applicant_id_for(uuid.UUID(applicant_org)), mark_id_for(uuid.UUID(applicant_org)))
    for wrong in (published, listing, question, *map(str, derived)):
        url = f"/api/v1/mark-applications/{wrong}"
        assert (await client.get(url, headers=staff_headers)).status_code == 404
        declared = await client.post(f"{url}/submission", headers=applicant)
        assert declared.status_code == 404


async def test_a_file_is_served_only_through_the_aggregate_that_holds_it(
    client: Client, staff_headers: dict[str, str]
) -> None:
    # Two applicants: each one's evidence is not reached through the other's application.
    _, first, first_application = await started(client, staff_headers)
    _, second, second_application = await started(client, staff_headers)
    assert (await upload(client, first, first_application, "asset_lock", pdf())).status_code == 201
    view = await client.get(f"/api/v1/mark-applications/{first_application}", headers=first)
    sha = view.json()["evidence"][0]["sha256"]
    through_own = f"/api/v1/mark-applications/{second_application}/evidence/{sha}"
    assert (await client.get(through_own, headers=second)).status_code == 404
    assert (await client.get(through_own, headers=staff_headers)).status_code == 404

    # A buyer's draft document is not reached through another tender, published or not,
    # nor by its sha under another buyer's own routes, nor as evidence.
    council_id, council_headers = await verified_council(client, staff_headers)
    secret = (await draft(client, council_id, council_headers))["id"]
    uploaded = await client.post(
        f"/api/v1/tenders/{secret}/documents/technicalSpecifications?filename=plan.png",
        content=png(),
        headers=council_headers | OCTETS,
    )
    assert uploaded.status_code == 201, uploaded.text
    # Read after the upload (its position): the view is a read model, followed asynchronously.
    after_upload = ",".join(f"{log}:{at}" for log, at in uploaded.json()["position"].items())
    mine = await client.get(
        f"/api/v1/organisations/{council_id}/tenders/{secret}",
        params={"position": after_upload},
        headers=council_headers,
    )
    draft_sha = mine.json()["documents"][0]["sha256"]
    business = await register_business(client)
    business_headers = await token(client, business["email"])
    theirs = (await draft(client, business["id"], business_headers, terms(social=0)))["id"]
    published = await client.post(
        f"/api/v1/tenders/{theirs}/publication", json={}, headers=business_headers
    )
    assert published.status_code == 200, published.text
    assert (await client.get(f"/api/v1/tenders/{theirs}/documents/{draft_sha}")).status_code == 404
    own_route = f"/api/v1/organisations/{business['id']}/tenders"
    for tender_id in (theirs, secret):
        got = await client.get(
            f"{own_route}/{tender_id}/documents/{draft_sha}", headers=business_headers
        )
        assert got.status_code == 404
    assert (await client.get(f"/api/v1/tenders/{secret}/documents/{draft_sha}")).status_code == 404
    as_evidence = f"/api/v1/mark-applications/{first_application}/evidence/{draft_sha}"
    assert (await client.get(as_evidence, headers=first)).status_code == 404


async def test_odd_query_and_path_values_are_problems_not_errors(client: Client) -> None:
    for params in (
        {"deadline_from": "2026-03-01T00:00:00"},  # no offset: read as UTC
        {"deadline_to": "2099-12-31T23:59:59+14:00"},
        {"value_min": str(2**62), "value_max": "0"},
        {"page": "100000", "per_page": "100"},
        {"cpv": "77310000-6", "region": "TLC"},
    ):
        response = await client.get("/api/v1/tenders", params=params)
        assert response.status_code == 200, (params, response.text)
    for params in (
        {"deadline_from": "0001-01-01T00:00:00+05:00"},
        {"deadline_to": "9999-12-31T23:59:59-05:00"},
        {"value_min": str(2**63)},
        {"value_max": "-1"},
        {"status": "draft"},
        {"quality_mark_required": "maybe"},
        {"buyer_id": "not-a-uuid"},
        {"cpv": "7731%"},
        {"region": "TL_"},
        {"page": "0"},
        {"per_page": "1000"},
        {"position": "marketplace:-1"},
        {"position": "x" * 500},
    ):
        response = await client.get("/api/v1/tenders", params=params)
        assert response.status_code == 400 or response.status_code == 422, (params, response.text)
    for params in (
        {"cpv": "%"},
        {"region": "\x00"},
        {"price_basis": "free"},
        {"organisation_id": "1"},
        {"page": "100001"},
    ):
        response = await client.get("/api/v1/listings", params=params)
        assert response.status_code in (400, 422), (params, response.text)
    for number in (
        "x" * 2000,
        "\u0660\u0661\u0662",
        "\uff34\uff28-1234",
        "%2e%2e",
        "TH-" + "0" * 40,
    ):
        assert (await client.get(f"/api/v1/marks/{number}")).status_code == 404, number
        assert (await client.get(f"/api/v1/marks/{number}/badge.svg")).status_code == 404, number


async def test_two_writers_naming_one_version_one_wins_the_other_is_a_conflict(
    client: Client, staff_headers: dict[str, str]
) -> None:
    org, headers = await member(client, staff_headers)
    listing = (await publish(client, org, headers, BREAD))["id"]
    url = f"/api/v1/listings/{listing}"
    both = await asyncio.gather(
        client.put(url, json=CATERING, headers=headers | {"If-Match": '"1"'}),
        client.put(
            url, json=BREAD | {"title": "Bread, daily"}, headers=headers | {"If-Match": '"1"'}
        ),
    )
    assert sorted(r.status_code for r in both) == [200, 409], [r.text for r in both]

    council_id, council_headers = await verified_council(client, staff_headers)
    drafted = (await draft(client, council_id, council_headers))["id"]
    both = await asyncio.gather(
        client.put(
            f"/api/v1/tenders/{drafted}",
            json=terms(title="Parks, revised"),
            headers=council_headers | {"If-Match": '"1"'},
        ),
        client.post(
            f"/api/v1/tenders/{drafted}/publication",
            json={},
            headers=council_headers | {"If-Match": '"1"'},
        ),
    )
    assert sorted(r.status_code for r in both) == [200, 409], [r.text for r in both]


async def test_racing_creations_and_answers_make_one_each(
    client: Client, staff_headers: dict[str, str], clock: ManualClock
) -> None:
    # The same Idempotency-Key twice at once: one draft, both told its id.
    council_id, council_headers = await verified_council(client, staff_headers)
    keyed = council_headers | {"Idempotency-Key": "race-draft-0001"}
    url = f"/api/v1/organisations/{council_id}/tenders"
    both = await asyncio.gather(*(client.post(url, json=terms(), headers=keyed) for _ in range(2)))
    assert [r.status_code for r in both] == [201, 201], [r.text for r in both]
    assert both[0].json()["id"] == both[1].json()["id"]

    # Two of the buyer's users answering one question at once: one answer, the other a 409.
    buyer_id, buyer = await council(client, staff_headers)
    _, seller = await supplier(client, staff_headers, "Racing Gardeners CIC")
    published = await tender(client, clock, buyer_id)
    asked = await client.post(
        f"/api/v1/tenders/{published}/questions", json={"question": "Gritting?"}, headers=seller
    )
    answer_url = f"/api/v1/questions/{asked.json()['id']}/answer"
    both = await asyncio.gather(
        client.post(answer_url, json={"answer": "No."}, headers=buyer),
        client.post(answer_url, json={"answer": "Yes."}, headers=buyer),
    )
    assert sorted(r.status_code for r in both) == [200, 409], [r.text for r in both]

    # Two applications for the mark at once: one opens, the other is a 409.
    org, headers = await admitted(client, staff_headers)
    assert (await pay(client, org, staff_headers)).status_code == 201
    start = f"/api/v1/organisations/{org['id']}/mark-applications"
    both = await asyncio.gather(*(client.post(start, headers=headers) for _ in range(2)))
    assert sorted(r.status_code for r in both) == [201, 409], [r.text for r in both]


async def test_only_the_assigned_assessor_assesses_and_never_decides(
    client: Client, staff_headers: dict[str, str], store: Store, clock: ManualClock
) -> None:
    _, applicant, application = await started(client, staff_headers)
    url = f"/api/v1/mark-applications/{application}"
    for criterion in CRITERIA:
        assert (await upload(client, applicant, application, criterion, pdf())).status_code == 201
    declared = await client.put(f"{url}/declarations", json=DECLARATIONS, headers=applicant)
    assert declared.status_code == 200, declared.text
    assert (await client.post(f"{url}/submission", headers=applicant)).status_code == 200
    staff_assessor = await signed_in(client, store, clock, Role.ASSESSOR, Role.STAFF)
    assigned = await client.post(
        f"{url}/assessor", json={"assessor_id": str(staff_assessor.user_id)}, headers=staff_headers
    )
    assert assigned.status_code == 200, assigned.text
    question = {"question": "Send the accounts?", "reply_by": "2099-01-01T00:00:00Z"}
    findings = {"findings": {}}
    # Another assessor does not see it; other staff see it but do not assess it.
    other = await signed_in(client, store, clock, Role.ASSESSOR)
    for path, body in (("information-requests", question), ("referral", findings)):
        assert (
            await client.post(f"{url}/{path}", json=body, headers=other.headers)
        ).status_code == 404
        by_staff = await client.post(f"{url}/{path}", json=body, headers=staff_headers)
        assert by_staff.status_code in (409, 422), by_staff.text
        # Nor the applicant, nor assign or decide as anything but staff.
        assert (await client.post(f"{url}/{path}", json=body, headers=applicant)).status_code == 403
    for who in (applicant, other.headers):
        assigning = await client.post(
            f"{url}/assessor", json={"assessor_id": str(other.user_id)}, headers=who
        )
        assert assigning.status_code == 403
        assert (
            await client.post(f"{url}/decision", json={"award": True}, headers=who)
        ).status_code == 403
    # The assigned assessor who is also staff: seen, but the panel is someone else (four eyes).
    own_decision = await client.post(
        f"{url}/decision", json={"award": True}, headers=staff_assessor.headers
    )
    assert own_decision.status_code == 409, own_decision.text
    # Staff-only actions on a mark, by the applicant or an assessor.
    org_id = (await client.get(url, headers=applicant)).json()["organisation_id"]
    for who in (applicant, other.headers):
        for path, body in (
            ("suspension", {"reason": "x"}),
            ("reinstatement", None),
            ("revocation", {"reason": "x"}),
        ):
            acted = await client.post(
                f"/api/v1/organisations/{org_id}/mark/{path}", json=body, headers=who
            )
            assert acted.status_code == 403, (path, acted.text)
        assert (await client.get("/api/v1/mark-applications", headers=who)).status_code == 403
    assert (await client.get("/api/v1/mark-assignments", headers=applicant)).status_code == 403
