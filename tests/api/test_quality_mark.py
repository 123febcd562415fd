"""The quality mark over HTTP, on both stores (issue 9): apply with evidence -> assign ->
information requested -> provided -> panel (another staff member) -> awarded -> verified
publicly (JSON, page, badge) -> membership lapses -> mark suspended -> payment -> reinstated
-> the clock passes expiry -> expired. And uploads refused with nothing stored, and who may
see what."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.api.conftest import add_user
from tests.api.helpers import SignedIn, events_of, register, services_of, token
from tests.api.test_membership_standing import admitted, pay, tick
from tests.conftest import AppClient
from tests.evidence_files import docx_with_macros, pdf, png, word, zip_of
from tradehall.api.public_limits import MARK_LOOKUPS
from tradehall.clock import ManualClock
from tradehall.identity.users import Role
from tradehall.membership.marks.workers import MarkIndex, tick_marks
from tradehall.store.base import Store

Client = AppClient
CRITERIA = (
    "social_objects",
    "independence",
    "trading_income",
    "profits_to_purpose",
    "asset_lock",
    "impact_statement",
)
DECLARATIONS = {
    "objects_clause": "To provide training and jobs for people leaving prison",
    "independent": True,
    "trading_income_minor": 8_000_000,
    "grant_income_minor": 1_500_000,
    "donation_income_minor": 300_000,
    "other_income_minor": 200_000,
    "profit_minor": 400_000,
    "distributed_minor": 0,
    "asset_lock": True,
    "impact_statement": "Forty trainees a year, thirty into work",
}


async def settle(client: Client) -> None:
    """Let the read side and the mark's follower catch up (what the workers do in service)."""
    services = services_of(client)
    marks = services.applications["marks"]
    await services.run(marks.catch_up)
    await services.run(services.readside.projector.catch_up)


def mark_events(client: Client, aggregate_id: str) -> list[Any]:
    marks = services_of(client).applications["marks"]
    return list(marks.repository.event_store.get(uuid.UUID(aggregate_id)))


def upload_url(application_id: str, criterion: str, name: str = "doc.pdf") -> str:
    return f"/api/v1/mark-applications/{application_id}/evidence/{criterion}?filename={name}"


async def upload(
    client: Client, headers: dict[str, str], application_id: str, criterion: str, body: bytes
) -> Any:
    return await client.post(
        upload_url(application_id, criterion),
        content=body,
        headers=headers | {"Content-Type": "application/octet-stream"},
    )


def stored_files(client: Client) -> list[Path]:
    root = services_of(client).settings.evidence_path / "files"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


async def signed_in(client: Client, store: Store, clock: ManualClock, *roles: Role) -> SignedIn:
    user_id, email = add_user(store, clock, frozenset(roles))
    return SignedIn(user_id, email, await token(client, email))


async def started(client: Client, staff_headers: dict[str, str]) -> tuple[Any, Any, str]:
    org, headers = await admitted(client, staff_headers)
    assert (await pay(client, org, staff_headers)).status_code == 201
    response = await client.post(
        f"/api/v1/organisations/{org['id']}/mark-applications", headers=headers
    )
    assert response.status_code == 201, response.text
    return org, headers, response.json()["id"]


@pytest.mark.own_database  # its clock ticks a year on: not over the shared database's members
async def test_the_whole_life_of_a_mark(
    client: Client, staff_headers: dict[str, str], store: Store, clock: ManualClock
) -> None:
    org, member, application = await started(client, staff_headers)
    app_url = f"/api/v1/mark-applications/{application}"
    # Awarded two months into the membership year, so the membership lapses (its year and 40
    # days on) while the mark is still within its twelve months: a mark past them is expired.
    clock.advance(timedelta(days=60))

    for criterion in CRITERIA:
        uploaded = await upload(client, member, application, criterion, pdf())
        assert uploaded.status_code == 201, uploaded.text
    declared = await client.put(f"{app_url}/declarations", json=DECLARATIONS, headers=member)
    assert declared.status_code == 200, declared.text
    submitted = await client.post(f"{app_url}/submission", headers=member)
    assert submitted.status_code == 200, submitted.text

    assessor = await signed_in(client, store, clock, Role.ASSESSOR)
    assigned = await client.post(
        f"{app_url}/assessor", json={"assessor_id": str(assessor.user_id)}, headers=staff_headers
    )
    assert assigned.status_code == 200, assigned.text
    await settle(client)
    queue = await client.get("/api/v1/mark-assignments", headers=assessor.headers)
    assert queue.status_code == 200, queue.text
    assert [e["application_id"] for e in queue.json()["items"]] == [application]

    reply_by = (clock.now() + timedelta(days=14)).isoformat()
    asked = await client.post(
        f"{app_url}/information-requests",
        json={"question": "Please send the signed accounts", "reply_by": reply_by},
        headers=assessor.headers,
    )
    assert asked.status_code == 200, asked.text
    replied = await client.post(
        f"{app_url}/information-reply", json={"reply": "Attached"}, headers=member
    )
    assert replied.status_code == 200, replied.text
    findings = {code: {"met": True, "note": "seen"} for code in CRITERIA}
    referred = await client.post(
        f"{app_url}/referral", json={"findings": findings}, headers=assessor.headers
    )
    assert referred.status_code == 200, referred.text

    # Four eyes: the assessor cannot decide (an assessor who is also staff included).
    panel_assessor = await client.post(
        f"{app_url}/decision", json={"award": True}, headers=assessor.headers
    )
    assert panel_assessor.status_code == 403
    awarded = await client.post(f"{app_url}/decision", json={"award": True}, headers=staff_headers)
    assert awarded.status_code == 200, awarded.text

    mark = (await client.get(f"/api/v1/organisations/{org['id']}/mark", headers=member)).json()
    number = mark["certificate_number"]
    assert mark["status"] == "valid"
    await settle(client)

    public = await client.get(f"/api/v1/marks/{number}")
    assert public.status_code == 200, public.text
    assert public.json()["status"] == "valid"
    assert public.json()["holder_name"] == "Riverside Bakery CIC"
    page = await client.get(f"/api/v1/marks/{number}", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert "Riverside Bakery CIC" in page.text
    assert "default-src 'none'" in page.headers["content-security-policy"]
    badge = await client.get(f"/api/v1/marks/{number}/badge.svg")
    assert badge.status_code == 200
    assert "max-age=300" in badge.headers["cache-control"]
    again = await client.get(
        f"/api/v1/marks/{number}/badge.svg", headers={"If-None-Match": badge.headers["etag"]}
    )
    assert again.status_code == 304
    mistyped = number[:-1] + ("0" if number[-1] != "0" else "1")
    wrong = await client.get(f"/api/v1/marks/{mistyped}")
    assert wrong.status_code == 404
    assert "mistyped" in wrong.json()["detail"]
    listed = await client.get("/api/v1/directory", params={"mark": "valid"})
    assert [(m["id"], m["quality_mark"]) for m in listed.json()["items"]] == [
        (org["id"], {"certificate_number": number, "status": "valid"})
    ]
    none_suspended = await client.get("/api/v1/directory", params={"mark": "suspended"})
    assert none_suspended.json()["items"] == []
    unknown = await client.get("/api/v1/marks/TQM-0000-0000-0")
    assert unknown.status_code == 404
    assert "mistyped" not in unknown.json()["detail"]

    # The membership lapses: the mark is suspended; payment reinstates it.
    clock.advance(timedelta(days=365 + 40 - 60))  # the membership year and 40 days
    await tick(client)
    await settle(client)
    suspended = await client.get(f"/api/v1/marks/{number}")
    assert suspended.json()["status"] == "suspended"
    badge = await client.get(f"/api/v1/marks/{number}/badge.svg")
    assert ">valid<" not in badge.text
    assert (await pay(client, org, staff_headers)).status_code == 201
    await settle(client)
    assert (await client.get(f"/api/v1/marks/{number}")).json()["status"] == "valid"

    # The clock passes expiry: expired, once.
    marks = services_of(client).applications["marks"]
    clock.advance(timedelta(days=400))
    index = MarkIndex()
    # At least this one: a PostgreSQL worker's database also holds other tests' marks, due too.
    assert (await services_of(client).run(tick_marks, marks, clock, index)).changed >= 1
    assert (await services_of(client).run(tick_marks, marks, clock, index)).changed == 0
    await settle(client)
    assert (await client.get(f"/api/v1/marks/{number}")).json()["status"] == "expired"


async def test_refused_uploads_store_nothing(client: Client, staff_headers: dict[str, str]) -> None:
    _, member, application = await started(client, staff_headers)
    before = len(mark_events(client, application))
    html_as_pdf = b"<html><script>alert(1)</script></html>"
    disguised = zip_of([("word/document.xml", b"<w/>")])  # a plain zip, named .docx
    cases = [
        (html_as_pdf, 415),
        (disguised, 422),
        (docx_with_macros(), 422),
        (pdf(javascript="app.alert(1)"), 422),
    ]
    for body, status in cases:
        response = await upload(client, member, application, "asset_lock", body)
        assert response.status_code == status, (status, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
    limit = services_of(client).settings.evidence_max_bytes
    too_big = await upload(client, member, application, "asset_lock", b"%PDF-" + b"0" * limit)
    assert too_big.status_code == 413
    unknown = await upload(client, member, application, "charm", png())
    assert unknown.status_code == 422
    assert [e["field"] for e in unknown.json()["errors"]] == ["criterion"]
    assert stored_files(client) == []
    assert len(mark_events(client, application)) == before


async def test_a_refused_upload_says_why_naming_the_body(
    client: Client, staff_headers: dict[str, str]
) -> None:
    """A document whose fetching field is kept in its tracked changes (a reviewer rejecting
    them would bring it back): 422, the problem naming the uploaded body and saying why."""
    _, member, application = await started(client, staff_headers)
    deleted = (
        '<w:del w:id="1" w:author="R"><w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r>'
        '<w:delInstrText>INCLUDEPICTURE "http://203.0.113.9/x.png"</w:delInstrText></w:r>'
        '<w:r><w:fldChar w:fldCharType="end"/></w:r></w:del>'
    )
    response = await upload(client, member, application, "asset_lock", word(deleted))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    (error,) = response.json()["errors"]
    assert error["field"] == "body"
    assert (
        "INCLUDEPICTURE field in word/document.xml once its tracked changes are rejected"
        in (error["message"])
    )
    assert stored_files(client) == []


async def test_only_the_parties_see_an_application_and_its_evidence(
    client: Client, staff_headers: dict[str, str], store: Store, clock: ManualClock
) -> None:
    org, member, application = await started(client, staff_headers)
    uploaded = await upload(client, member, application, "asset_lock", png())
    assert uploaded.status_code == 201, uploaded.text
    view = await client.get(f"/api/v1/mark-applications/{application}", headers=member)
    sha = view.json()["evidence"][0]["sha256"]
    file_url = f"/api/v1/mark-applications/{application}/evidence/{sha}"

    own = await client.get(file_url, headers=member)
    assert own.status_code == 200
    assert own.content == png()
    assert own.headers["x-content-type-options"] == "nosniff"
    assert own.headers["content-disposition"].startswith("attachment")

    other_org = await register(client)
    other_member = await token(client, other_org["email"])
    other_assessor = await signed_in(client, store, clock, Role.ASSESSOR)
    for headers in (other_member, other_assessor.headers):
        assert (await client.get(file_url, headers=headers)).status_code == 404
        seen = await client.get(f"/api/v1/mark-applications/{application}", headers=headers)
        assert seen.status_code == 404
    # A member cannot act as the applicant of another organisation's application.
    declared = await client.put(
        f"/api/v1/mark-applications/{application}/declarations",
        json=DECLARATIONS,
        headers=other_member,
    )
    assert declared.status_code == 404
    assert (await client.get(file_url, headers=staff_headers)).status_code == 200
    assert events_of(client, org["id"])  # the organisation's own log is untouched by the mark


async def test_only_members_in_good_standing_may_apply(
    client: Client, staff_headers: dict[str, str]
) -> None:
    org, headers = await admitted(client, staff_headers)  # awaiting its first payment
    response = await client.post(
        f"/api/v1/organisations/{org['id']}/mark-applications", headers=headers
    )
    assert response.status_code == 409
    assert "good standing" in response.json()["detail"]


async def test_certificate_lookups_are_rate_limited_per_address(client: Client) -> None:
    """Numbers cannot be guessed at speed: past the burst, a 429 with Retry-After."""
    statuses = [
        (await client.get(f"/api/v1/marks/TQM-0000-0000-{n % 10}")).status_code
        for n in range(MARK_LOOKUPS.burst + 1)
    ]
    assert set(statuses[: MARK_LOOKUPS.burst]) == {404}
    assert statuses[-1] == 429
    refused = await client.get("/api/v1/marks/TQM-0000-0000-0")
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1
    badge = await client.get("/api/v1/marks/TQM-0000-0000-0/badge.svg")
    assert badge.status_code == 404  # the badge is cached, not counted
