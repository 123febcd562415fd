"""Tenders' clarifications and suppliers' interest over HTTP, on both stores (issue 11): two
members register interest in a verified council's tender; a question asked in the enquiry
period is answered and published to all without the asker (no route the buyer or another
member calls names it; staff see it); questions after the enquiry period, and from the buyer,
are refused; an amendment and the answer each queue one message per interested supplier and
none to others (interest registered after the amendment is not told of it); running the
projector again queues nothing twice; a draft or unknown tender is a 404."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from marketplace.application import BuyerFacts
from marketplace.tender_terms import LotInput, Period, TenderTerms, parse_terms
from sharedkernel.events import Context
from tests.api.helpers import APPLICATION, register, services_of, token
from tests.api.test_buyers import register_council, verification
from tests.api.test_listings import settle
from tests.conftest import AppClient
from tests.unit.test_tender_domain import evaluation
from tradehall.clock import ManualClock
from tradehall.mail.tables import outbox_messages

Client = AppClient
QUESTION = "Does lot 1 include the winter gritting of the park paths?"
ANSWER = "No: gritting is let separately. Lot 1 covers mowing, pruning and litter."


def terms(now: datetime, deadline_days: int = 30) -> TenderTerms:
    return parse_terms(
        title="Grounds maintenance, Riverside parks",
        description="Parks and verges across the borough",
        method="open",
        category="services",
        lots=[
            LotInput("North", "North parks", ["77310000"], 40_000_000),
            LotInput("South", "South verges", ["77310000-6"], 25_000_000),
        ],
        enquiry_period=(now, now + timedelta(days=20)),
        tender_period=(now, now + timedelta(days=deadline_days)),
        contract_period=(now + timedelta(days=60), now + timedelta(days=400)),
        members_only=True,
        quality_mark_required=False,
        regions=["TLC4"],
        evaluation=evaluation(),
    )


def context(clock: ManualClock) -> Context:
    return Context("user:test", "test", clock.now())


async def council(client: Client, staff_headers: dict[str, str]) -> tuple[str, dict[str, str]]:
    """A verified council: its id and headers."""
    org = await register_council(client, name=f"Riverside Council {uuid.uuid4().hex[:6]}")
    verified = await client.post(
        verification(org["id"]), json={"evidence": "GOV.UK register"}, headers=staff_headers
    )
    assert verified.status_code == 200, verified.text
    return org["id"], await token(client, org["email"])


async def supplier(
    client: Client, staff_headers: dict[str, str], name: str
) -> tuple[str, dict[str, str]]:
    """An admitted member of this name: its id and headers."""
    org = await register(client, name=name)
    headers = await token(client, org["email"])
    base = f"/api/v1/organisations/{org['id']}/membership"
    applied = await client.post(f"{base}/application", json=APPLICATION, headers=headers)
    assert applied.status_code == 200, applied.text
    admitted = await client.post(f"{base}/admission", headers=staff_headers)
    assert admitted.status_code == 200, admitted.text
    return org["id"], headers


async def tender(client: Client, clock: ManualClock, buyer_id: str, publish: bool = True) -> str:
    """A tender of the buyer's, drafted and (by default) published, through the Application."""
    services = services_of(client)
    marketplace = services.applications["marketplace"]
    tender_id = uuid.uuid4()
    await services.run(
        marketplace.draft_tender,
        context(clock),
        tender_id,
        uuid.UUID(buyer_id),
        terms(clock.now()),
    )
    if publish:
        await services.run(
            marketplace.publish_tender, context(clock), tender_id, BuyerFacts("public_body")
        )
    return str(tender_id)


def position_of(response: Any) -> str:
    return ",".join(f"{log}:{at}" for log, at in response.json()["position"].items())


async def outbox(client: Client, organisations: list[str]) -> list[tuple[str, str, str]]:
    """(organisation, template, body) of every tender message queued to these organisations."""
    services = services_of(client)
    ids = [uuid.UUID(o) for o in organisations]
    table = outbox_messages
    async with services.engine.connect() as connection:
        rows = await connection.execute(
            select(table.c.organisation_id, table.c.template, table.c.body).where(
                table.c.organisation_id.in_(ids), table.c.template.startswith("tender_")
            )
        )
        return sorted((str(r.organisation_id), r.template, r.body) for r in rows)


async def test_questions_are_answered_for_all_and_interested_suppliers_are_told(
    client: Client, staff_headers: dict[str, str], clock: ManualClock
) -> None:
    buyer_id, buyer = await council(client, staff_headers)
    asker_name = f"Greenway Landscapes CIC {uuid.uuid4().hex[:6]}"
    asker_id, asker = await supplier(client, staff_headers, asker_name)
    other_id, other = await supplier(client, staff_headers, "Parkside Gardeners CIC")
    late_id, late = await supplier(client, staff_headers, "Late Arrivals CIC")
    tender_id = await tender(client, clock, buyer_id)
    base = f"/api/v1/tenders/{tender_id}"
    seen_by_others: list[str] = []  # the JSON of every answer the buyer and another member got

    # Two members register interest (again changes nothing); each sees only its own.
    for headers in (asker, other, asker):
        registered = await client.post(f"{base}/interest", headers=headers)
        assert registered.status_code == 200, registered.text
        assert registered.json() == {"registered": True}
    mine = await client.get(f"{base}/interest", headers=other)
    assert mine.json() == {"registered": True}
    seen_by_others += [registered.text, mine.text]
    not_yet = await client.get(f"{base}/interest", headers=late)
    assert not_yet.json() == {"registered": False}
    refused = await client.post(f"{base}/interest", headers=buyer)
    assert refused.status_code == 409, refused.text
    seen_by_others.append(refused.text)

    # The buyer cannot ask; a supplier asks in the enquiry period.
    own = await client.post(f"{base}/questions", json={"question": QUESTION}, headers=buyer)
    assert own.status_code == 409, own.text
    asked = await client.post(f"{base}/questions", json={"question": QUESTION}, headers=asker)
    assert asked.status_code == 201, asked.text
    question_id = asked.json()["id"]
    assert question_id != asker_id

    # The buyer sees the open question, without the asker; nobody else sees that list.
    open_ = await client.get(
        f"{base}/questions/unanswered", params={"position": position_of(asked)}, headers=buyer
    )
    assert open_.status_code == 200, open_.text
    assert open_.json()["consistent"] is True
    assert [(q["id"], q["question"]) for q in open_.json()["items"]] == [(question_id, QUESTION)]
    seen_by_others.append(open_.text)
    for headers in (asker, other):
        hidden = await client.get(f"{base}/questions/unanswered", headers=headers)
        assert hidden.status_code == 404, hidden.text
    # Not published until answered.
    public = await client.get(f"{base}/questions", params={"position": position_of(asked)})
    assert public.json()["items"] == []

    # Only the buyer's users answer; the answer is published to all.
    answer_url = f"/api/v1/questions/{question_id}/answer"
    not_theirs = await client.post(answer_url, json={"answer": ANSWER}, headers=other)
    assert not_theirs.status_code == 404, not_theirs.text
    answered = await client.post(answer_url, json={"answer": ANSWER}, headers=buyer)
    assert answered.status_code == 200, answered.text
    seen_by_others += [not_theirs.text, answered.text]
    again = await client.post(answer_url, json={"answer": ANSWER}, headers=buyer)
    assert again.status_code == 409, again.text
    for headers in ({}, buyer, other, asker):
        published = await client.get(
            f"{base}/questions", params={"position": position_of(answered)}, headers=headers
        )
        assert published.status_code == 200, published.text
        body = published.json()
        assert body["consistent"] is True
        assert [(q["question"], q["answer"]) for q in body["items"]] == [(QUESTION, ANSWER)]
        assert set(body["items"][0]) == {"question", "answer", "answered_at"}
        seen_by_others.append(published.text)
    emptied = await client.get(
        f"{base}/questions/unanswered", params={"position": position_of(answered)}, headers=buyer
    )
    assert emptied.json()["items"] == []
    seen_by_others.append(emptied.text)

    # Staff alone see who asked.
    staff_view = await client.get(f"/api/v1/questions/{question_id}", headers=staff_headers)
    assert staff_view.status_code == 200, staff_view.text
    assert staff_view.json()["asker_id"] == asker_id
    assert staff_view.json()["asker_name"] == asker_name
    assert staff_view.json()["answer"] == ANSWER
    for headers in (buyer, other, asker):
        denied = await client.get(f"/api/v1/questions/{question_id}", headers=headers)
        assert denied.status_code == 403, denied.text
        seen_by_others.append(denied.text)

    # Nothing the buyer or another member was answered names the asker.
    for text in seen_by_others:
        assert asker_id not in text, text
        assert asker_name not in text, text

    # The deadline is extended, with why.
    services = services_of(client)
    marketplace = services.applications["marketplace"]
    current = (await services.run(marketplace.tender, uuid.UUID(tender_id))).terms
    later = Period(current.tender_period.start, current.tender_period.end + timedelta(days=15))
    extended = replace(current, tender_period=later)
    await services.run(
        marketplace.amend_tender,
        context(clock),
        uuid.UUID(tender_id),
        extended,
        "More time for site visits",
        BuyerFacts("public_body"),
    )
    # A third member registers interest after the amendment: it is not told of it.
    assert (await client.post(f"{base}/interest", headers=late)).status_code == 200
    await settle(client)

    everyone = [asker_id, other_id, late_id, buyer_id]
    queued = await outbox(client, everyone)
    assert sorted((org, template) for org, template, _ in queued) == sorted(
        [
            (asker_id, "tender_question_answered"),
            (other_id, "tender_question_answered"),
            (asker_id, "tender_amended"),
            (other_id, "tender_amended"),
        ]
    )
    for _, template, body in queued:
        assert asker_id not in body
        assert asker_name not in body
        if template == "tender_amended":
            assert "tender_period" in body
            assert "More time for site visits" in body
            assert extended.deadline.strftime("%Y-%m-%d") in body
        else:
            assert QUESTION in body
            assert ANSWER in body
    # The same words to each: nothing tells the asker's copy apart.
    answers = {body for _, template, body in queued if template == "tender_question_answered"}
    assert len(answers) == 1

    # Running the projector again queues nothing twice.
    await settle(client)
    assert await outbox(client, everyone) == queued

    # After the enquiry period, questions are refused.
    clock.advance(timedelta(days=21))
    late_question = await client.post(
        f"{base}/questions", json={"question": "Is it too late?"}, headers=other
    )
    assert late_question.status_code == 409, late_question.text


async def test_a_draft_or_unknown_tender_is_not_found(
    client: Client, staff_headers: dict[str, str], clock: ManualClock
) -> None:
    buyer_id, buyer = await council(client, staff_headers)
    _, member = await supplier(client, staff_headers, "Parkside Gardeners CIC")
    draft = await tender(client, clock, buyer_id, publish=False)
    for tender_id in (draft, str(uuid.uuid4())):
        base = f"/api/v1/tenders/{tender_id}"
        assert (await client.get(f"{base}/questions")).status_code == 404
        asked = await client.post(f"{base}/questions", json={"question": "?"}, headers=member)
        assert asked.status_code == 404, asked.text
        assert (await client.post(f"{base}/interest", headers=member)).status_code == 404
        assert (await client.get(f"{base}/interest", headers=member)).status_code == 404
        for headers in (buyer, member):
            open_ = await client.get(f"{base}/questions/unanswered", headers=headers)
            assert open_.status_code == 404
    unknown = f"/api/v1/questions/{uuid.uuid4()}"
    assert (
        await client.post(f"{unknown}/answer", json={"answer": "x"}, headers=buyer)
    ).status_code == 404
    assert (await client.get(unknown, headers=staff_headers)).status_code == 404
