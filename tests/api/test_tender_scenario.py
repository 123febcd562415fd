"""Issue 11's scenario, end to end over HTTP on both stores: a verified council drafts a two-lot
tender, is refused at 5% social value and publishes at 10%; two members register interest; a
question is asked and answered and appears for all without the asker; the deadline is extended
and both interested members are told (by e-mail, through the outbox and a real SMTP server);
the tender board finds it by CPV prefix and region."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from tests.api.conftest import Mailbox
from tests.api.helpers import APPLICATION, register, services_of, token
from tests.api.test_accounts import mail_to
from tests.api.test_clarifications import council
from tests.api.test_tenders import LATER, terms
from tests.conftest import AppClient
from tradehall.clock import ManualClock

Client = AppClient


async def member(
    client: Client, staff_headers: dict[str, str], name: str
) -> tuple[str, str, dict[str, str]]:
    """An admitted member of this name: its id, its user's e-mail, its headers."""
    org = await register(client, name=name)
    headers = await token(client, org["email"])
    base = f"/api/v1/organisations/{org['id']}/membership"
    applied = await client.post(f"{base}/application", json=APPLICATION, headers=headers)
    assert applied.status_code == 200, applied.text
    admitted = await client.post(f"{base}/admission", headers=staff_headers)
    assert admitted.status_code == 200, admitted.text
    return org["id"], org["email"], headers


async def settle(client: Client) -> None:
    services = services_of(client)
    await services.run(services.readside.projector.catch_up)


async def test_a_tender_from_draft_to_an_amendment_every_interested_member_hears_of(
    mail_client: Client,
    staff_headers: dict[str, str],
    mailbox: tuple[Mailbox, int],
    clock: ManualClock,
) -> None:
    client = mail_client
    box, _ = mailbox
    buyer, buyer_headers = await council(client, staff_headers)
    drafted = await client.post(
        f"/api/v1/organisations/{buyer}/tenders", json=terms(social=5), headers=buyer_headers
    )
    assert drafted.status_code == 201, drafted.text
    tender = drafted.json()["id"]
    url = f"/api/v1/tenders/{tender}"

    refused = await client.post(f"{url}/publication", json={}, headers=buyer_headers)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "evaluation.social_value.weight"
    assert (await client.put(url, json=terms(social=10), headers=buyer_headers)).status_code == 200
    published = await client.post(f"{url}/publication", json={}, headers=buyer_headers)
    assert published.status_code == 200, published.text

    # Two members register interest; a third member does not.
    bakery, bakery_email, bakery_headers = await member(client, staff_headers, "Riverside Bakery")
    _, gardens_email, gardens_headers = await member(client, staff_headers, "Green Gardens")
    _, bystander_email, _ = await member(client, staff_headers, "Uninterested Ltd")
    for headers in (bakery_headers, gardens_headers):
        interest = await client.post(f"{url}/interest", headers=headers)
        assert interest.status_code in (200, 201), interest.text

    clock.advance(timedelta(hours=1))  # the enquiry period opens at 10:00
    # The bakery asks; the council answers; everyone sees the answer, nobody the asker.
    asked = await client.post(
        f"{url}/questions", json={"question": "Is TUPE expected to apply?"}, headers=bakery_headers
    )
    assert asked.status_code == 201, asked.text
    await settle(client)
    open_questions = await client.get(f"{url}/questions/unanswered", headers=buyer_headers)
    assert open_questions.status_code == 200, open_questions.text
    [question] = open_questions.json()["items"]
    answered = await client.post(
        f"/api/v1/questions/{question['id']}/answer",
        json={"answer": "No staff will transfer."},
        headers=buyer_headers,
    )
    assert answered.status_code == 200, answered.text

    # The deadline is extended, with why.
    extended = await client.post(
        f"{url}/amendments",
        json=terms(deadline=LATER) | {"rationale": "More time after questions on TUPE"},
        headers=buyer_headers,
    )
    assert extended.status_code == 200, extended.text
    await settle(client)

    seen_by: dict[str, Any] = {
        "anyone": (await client.get(url)).json(),
        "the buyer": (await client.get(url, headers=buyer_headers)).json(),
        "another member": (await client.get(url, headers=gardens_headers)).json(),
    }
    for who, view in seen_by.items():
        assert [(q["question"], q["answer"]) for q in view["clarifications"]] == [
            ("Is TUPE expected to apply?", "No staff will transfer.")
        ], who
        text = json.dumps(view)
        assert bakery not in text, who
        assert "Riverside Bakery" not in text, who
    assert seen_by["anyone"]["tender_period"]["end"].startswith(LATER[:10])
    assert [a["rationale"] for a in seen_by["anyone"]["amendments"]] == [
        "More time after questions on TUPE"
    ]

    # Both interested members are told of the answer and the amendment, by e-mail; the
    # bystander is told nothing; no message names the asker.
    for email in (bakery_email, gardens_email):
        told = [body for body in await mail_to(client, box, email) if "TUPE" in body]
        assert any("No staff will transfer." in body for body in told), email
        assert any("More time after questions on TUPE" in body for body in told), email
        assert not any("Riverside Bakery" in body for body in told), email
    bystander_bodies = await mail_to(client, box, bystander_email)
    assert not any("TUPE" in body for body in bystander_bodies)

    # The board finds it by CPV prefix (a parent of the lot's code) and by region.
    for params in ({"cpv": "77300000"}, {"region": "TLC"}, {"cpv": "55000000", "region": "TLC3"}):
        found = await client.get("/api/v1/tenders", params=params | {"buyer_id": buyer})
        assert found.status_code == 200, (params, found.text)
        assert [t["id"] for t in found.json()["items"]] == [tender], params
    elsewhere = await client.get("/api/v1/tenders", params={"region": "TLI", "buyer_id": buyer})
    assert elsewhere.json()["items"] == []


async def test_a_tender_open_to_any_region_is_found_from_every_region(
    client: Client, staff_headers: dict[str, str]
) -> None:
    buyer, headers = await council(client, staff_headers)
    anywhere = terms(
        eligibility={"members_only": False, "quality_mark_required": False, "regions": []}
    )
    drafted = await client.post(
        f"/api/v1/organisations/{buyer}/tenders", json=anywhere, headers=headers
    )
    assert drafted.status_code == 201, drafted.text
    tender = drafted.json()["id"]
    published = await client.post(f"/api/v1/tenders/{tender}/publication", json={}, headers=headers)
    assert published.status_code == 200, published.text
    await settle(client)
    for region in ("TLC", "TLI", "TLM"):
        found = await client.get("/api/v1/tenders", params={"region": region, "buyer_id": buyer})
        assert [t["id"] for t in found.json()["items"]] == [tender], region
