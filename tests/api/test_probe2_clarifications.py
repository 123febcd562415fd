"""Probe of tenders' clarifications (issue 11), on both stores, as a careless or hostile supplier
or buyer would: odd questions and answers are problems naming the field that record nothing;
odd ids and If-Match values are never a 500; two answers at once, one is taken; the asker is
named by no answer a buyer or another supplier can get; and events another writer could store
never stop the read side, nor rewrite a published answer."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from projections.tables import tender_clarifications
from tests.api.helpers import services_of
from tests.api.test_clarifications import council, outbox, position_of, supplier, tender
from tests.api.test_listings import settle
from tests.api.test_ocds_probe import forge
from tests.api.test_outside_probe import failures
from tests.conftest import AppClient
from tradehall.api.marketplace.schemas.clarifications import MAX_ANSWER
from tradehall.clock import ManualClock

Client = AppClient
Headers = dict[str, str]
QUESTION = "Is the site visit on 3 March compulsory?"
ANSWER = "No: it is offered, not required."
ASKED = "marketplace.tenders:Clarification.Asked"
ANSWERED = "marketplace.tenders:Clarification.Answered"


def marketplace_topics(client: Client) -> list[str]:
    recorder = services_of(client).applications["marketplace"].recorder
    return [n.topic for n in recorder.select_notifications(start=1, limit=10_000_000)]


def problems_of(response: Any, field: str, label: str) -> list[str]:
    """Nothing if the response is a 400/422 naming `field`; else a line saying what it was."""
    named: list[str] = []
    if response.status_code in (400, 422):
        named = [e.get("field") for e in response.json().get("errors") or []]
    if response.status_code in (400, 422) and field in named:
        return []
    return [f"{label}: {response.status_code} {response.text:.200}"]


@dataclass(frozen=True)
class Setting:
    """A verified council's published tender and a member that may ask about it."""

    buyer: Headers
    member_id: str
    member: Headers
    tender_id: str


async def setting(client: Client, staff_headers: Headers, clock: ManualClock, name: str) -> Setting:
    buyer_id, buyer = await council(client, staff_headers)
    member_id, member = await supplier(client, staff_headers, name)
    return Setting(buyer, member_id, member, await tender(client, clock, buyer_id))


async def asked(client: Client, tender_id: str, headers: Headers, question: str = QUESTION) -> Any:
    response = await client.post(
        f"/api/v1/tenders/{tender_id}/questions", json={"question": question}, headers=headers
    )
    assert response.status_code == 201, response.text
    return response


async def test_odd_questions_and_answers_are_problems_naming_the_field_and_record_nothing(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    at = await setting(client, staff_headers, clock, "Hazel Grounds CIC")
    buyer, member, tender_id = at.buyer, at.member, at.tender_id
    question_id = (await asked(client, tender_id, member)).json()["id"]
    before = len(marketplace_topics(client))
    odd: list[Any] = [
        "",
        "   ",
        "\n\t ",
        "\u200b",
        "\u3164",
        "a\x00b",
        "bell\x07",
        "Trojan \u202esource",
        "x" * (MAX_ANSWER + 1),
        7,
        None,
        ["a"],
        {"a": 1},
    ]
    problems: list[str] = []
    for text in odd:
        ask = await client.post(
            f"/api/v1/tenders/{tender_id}/questions", json={"question": text}, headers=member
        )
        problems += problems_of(ask, "question", f"question {text!r:.40}")
        answer = await client.post(
            f"/api/v1/questions/{question_id}/answer", json={"answer": text}, headers=buyer
        )
        problems += problems_of(answer, "answer", f"answer {text!r:.40}")
    for junk in (
        "",
        "{",
        "[]",
        "null",
        '{"question": "a", "surprise": 1}',
        '{"question": "\\ud800"}',
    ):
        response = await client.post(
            f"/api/v1/tenders/{tender_id}/questions",
            content=junk,
            headers=member | {"Content-Type": "application/json"},
        )
        if response.status_code not in (400, 422):
            problems.append(f"body {junk!r}: {response.status_code} {response.text:.200}")
    assert problems == [], "\n".join(problems)
    assert len(marketplace_topics(client)) == before


async def test_odd_ids_and_if_match_values_are_never_a_server_error(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    at = await setting(client, staff_headers, clock, "Rowan Paths CIC")
    buyer, member, tender_id = at.buyer, at.member, at.tender_id
    question_id = (await asked(client, tender_id, member)).json()["id"]
    answer = f"/api/v1/questions/{question_id}/answer"
    seen = []
    for value in ('"999"', '"0"', '"-1"', '"1e9"', '"abc"', "*", 'W/"1"', '"1", "2"', "", '"'):
        response = await client.post(
            answer, json={"answer": ANSWER}, headers=buyer | {"If-Match": value}
        )
        seen.append((value, response.status_code))
    assert all(status < 500 for _, status in seen), seen
    # None of them answered it (a stale or unreadable version is not the question's).
    assert all(status != 200 for value, status in seen if value not in ("*", 'W/"1"')), seen
    for path in (
        "/api/v1/questions/not-a-uuid/answer",
        f"/api/v1/questions/{question_id}x/answer",
        "/api/v1/tenders/not-a-uuid/questions",
    ):
        response = await client.post(path, json={"answer": ANSWER, "question": "?"}, headers=buyer)
        assert response.status_code in (400, 404), response.text
    # The tender's id as a question's, and the question's as a tender's.
    as_question = await client.post(
        f"/api/v1/questions/{tender_id}/answer", json={"answer": ANSWER}, headers=buyer
    )
    assert as_question.status_code == 404, as_question.text
    as_tender = await client.get(f"/api/v1/tenders/{question_id}/questions")
    assert as_tender.status_code == 404, as_tender.text
    as_staff = await client.get(f"/api/v1/questions/{tender_id}", headers=staff_headers)
    assert as_staff.status_code == 404, as_staff.text


async def test_two_answers_at_once_one_is_published_and_told(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    at = await setting(client, staff_headers, clock, "Willow Verges CIC")
    buyer, member, tender_id = at.buyer, at.member, at.tender_id
    member_id = at.member_id
    interest = await client.post(f"/api/v1/tenders/{tender_id}/interest", headers=member)
    assert interest.status_code == 200, interest.text
    question_id = (await asked(client, tender_id, member)).json()["id"]
    answer = f"/api/v1/questions/{question_id}/answer"
    answers = [f"{ANSWER} ({n})" for n in range(4)]
    results = await asyncio.gather(
        *(client.post(answer, json={"answer": a}, headers=buyer) for a in answers)
    )
    statuses = sorted(r.status_code for r in results)
    assert statuses == [200, 409, 409, 409], [r.text for r in results]
    taken = answers[[r.status_code for r in results].index(200)]
    await settle(client)
    published = await client.get(f"/api/v1/tenders/{tender_id}/questions")
    assert [q["answer"] for q in published.json()["items"]] == [taken]
    told = [body for _, template, body in await outbox(client, [member_id])]
    assert len(told) == 1, told
    assert taken in told[0], told


async def test_the_asker_is_named_by_no_answer_the_buyer_or_another_supplier_gets(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    """Every route the buyer and another supplier may call about the tender and its question,
    before and after the answer: none names the asker, by id or name; and the buyer's open
    list says the same for a question from an interested supplier as from a stranger."""
    buyer_id, buyer = await council(client, staff_headers)
    asker_name = f"Sorrel Hedges CIC {uuid.uuid4().hex[:6]}"
    asker_id, asker = await supplier(client, staff_headers, asker_name)
    _, other = await supplier(client, staff_headers, "Teasel Mowing CIC")
    tender_id = await tender(client, clock, buyer_id)
    base = f"/api/v1/tenders/{tender_id}"
    made = await asked(client, tender_id, asker)
    question_id = made.json()["id"]
    assert asker_id not in made.text
    seen: list[str] = []

    async def look() -> None:
        position = {"position": position_of(made)}
        for headers in (buyer, other, {}):
            for path in (
                base,
                f"{base}/questions",
                f"{base}/questions/unanswered",
                f"{base}/interest",
                f"/api/v1/questions/{question_id}",
                "/api/v1/tenders?per_page=100",
                f"/api/v1/tenders/{tender_id}/ocds",
            ):
                response = await client.get(path, params=position, headers=headers)
                assert response.status_code < 500, (path, response.text)
                seen.append(f"{path} {response.headers} {response.text}")

    await look()
    answered = await client.post(
        f"/api/v1/questions/{question_id}/answer", json={"answer": ANSWER}, headers=buyer
    )
    assert answered.status_code == 200, answered.text
    seen.append(answered.text)
    made = answered
    await settle(client)
    await look()
    for text in seen:
        assert asker_id not in text, text
        assert asker_name not in text, text


async def test_events_another_writer_could_store_never_stop_or_rewrite_the_published_answers(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    at = await setting(client, staff_headers, clock, "Yarrow Grounds CIC")
    buyer, member, tender_id = at.buyer, at.member, at.tender_id
    question_id = uuid.UUID((await asked(client, tender_id, member)).json()["id"])
    answered = await client.post(
        f"/api/v1/questions/{question_id}/answer", json={"answer": ANSWER}, headers=buyer
    )
    assert answered.status_code == 200, answered.text
    await settle(client)
    clock.advance(timedelta(minutes=1))
    at = clock.now()
    naive = at.replace(tzinfo=None)
    tender_uuid = str(uuid.UUID(tender_id))
    odd: list[tuple[uuid.UUID, int, str, dict[str, Any]]] = [
        (uuid.uuid4(), 1, ASKED, {}),
        (uuid.uuid4(), 1, ASKED, {"tender_id": "nothing", "question": "?"}),
        (uuid.uuid4(), 1, ASKED, {"tender_id": tender_uuid, "question": 5}),
        (uuid.uuid4(), 1, ASKED, {"tender_id": tender_uuid, "question": "?", "timestamp": naive}),
        (uuid.uuid4(), 1, ASKED, {"tender_id": tender_uuid, "question": "?", "timestamp": "now"}),
        (uuid.uuid4(), 1, ASKED, {"tender_id": tender_uuid, "question": "\x00\ud800" * 3}),
        (uuid.uuid4(), 2, ANSWERED, {"answer": "to nothing"}),
        # A second answer to an answered question: the domain never writes one.
        (question_id, 3, ANSWERED, {"answer": "Rewritten: the visit is compulsory."}),
        (question_id, 4, ANSWERED, {"answer": None}),
        (question_id, 5, ANSWERED, {"answer": "naive", "timestamp": naive}),
    ]
    for originator, version, topic, payload in odd:
        await forge(client, originator, version, topic, **({"timestamp": at} | payload))
    await settle(client)
    assert failures(client) == []
    published = await client.get(f"/api/v1/tenders/{tender_id}/questions")
    assert published.status_code == 200, published.text
    items = published.json()["items"]
    assert [(q["question"], q["answer"]) for q in items if q["question"] == QUESTION] == [
        (QUESTION, ANSWER)
    ]
    services = services_of(client)
    async with services.engine.connect() as connection:
        stored = (
            await connection.execute(
                select(tender_clarifications.c.answer).where(
                    tender_clarifications.c.clarification_id == question_id
                )
            )
        ).scalar_one()
    assert stored == ANSWER
    # The read side goes on: a new question is seen.
    later = await asked(client, tender_id, member, "And the parking?")
    await settle(client)
    unanswered = await client.get(
        f"/api/v1/tenders/{tender_id}/questions/unanswered",
        params={"position": position_of(later)},
        headers=buyer,
    )
    assert "And the parking?" in unanswered.text


async def test_a_second_answer_in_the_log_tells_no_interested_supplier_again(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    """The domain answers once; a second `Answered` another writer stored (in the answer's
    batch or a later one) queues no second notice, with an answer nobody published."""
    at = await setting(client, staff_headers, clock, "Clover Grounds CIC")
    buyer, member, tender_id = at.buyer, at.member, at.tender_id
    member_id = at.member_id
    interest = await client.post(f"/api/v1/tenders/{tender_id}/interest", headers=member)
    assert interest.status_code == 200, interest.text
    first = uuid.UUID((await asked(client, tender_id, member)).json()["id"])
    second = uuid.UUID((await asked(client, tender_id, member, "And the parking?")).json()["id"])
    await settle(client)
    # The first question answered and answered again in one batch; the second in two.
    for question_id in (first, second):
        answered = await client.post(
            f"/api/v1/questions/{question_id}/answer", json={"answer": ANSWER}, headers=buyer
        )
        assert answered.status_code == 200, answered.text
        if question_id == second:
            await settle(client)
        await forge(client, question_id, 3, ANSWERED, answer="Rewritten", timestamp=clock.now())
    await settle(client)
    assert failures(client) == []
    told = [body for _, template, body in await outbox(client, [member_id])]
    assert len(told) == 2, told
    assert all(ANSWER in body and "Rewritten" not in body for body in told), told


async def test_a_question_retried_with_its_idempotency_key_is_asked_once(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    """A supplier's client that lost the answer sends the question again under the same
    `Idempotency-Key`: one question, the same id; the key with another question is a 409; the
    same key from another supplier is its own question. The id is a keyed hash: nothing in it
    a buyer can recompute from a supplier's id and a guessed key."""
    buyer_id, buyer = await council(client, staff_headers)
    _, member = await supplier(client, staff_headers, "Bramble Parks CIC")
    _, other = await supplier(client, staff_headers, "Thistle Grounds CIC")
    tender_id = await tender(client, clock, buyer_id)
    # Its key, as the publication route makes it (the helper publishes through the domain).
    services_of(client).sealing.ensure_tender_key(uuid.UUID(tender_id), clock.now())
    base = f"/api/v1/tenders/{tender_id}/questions"
    keyed = member | {"Idempotency-Key": "question-0001"}
    first = await client.post(base, json={"question": QUESTION}, headers=keyed)
    assert first.status_code == 201, first.text
    before = len(marketplace_topics(client))
    again = await client.post(base, json={"question": QUESTION}, headers=keyed)
    assert again.status_code == 201, again.text
    assert again.json()["id"] == first.json()["id"]
    assert len(marketplace_topics(client)) == before
    other_text = await client.post(base, json={"question": "And the parking?"}, headers=keyed)
    assert other_text.status_code == 409, other_text.text
    theirs = await client.post(
        base, json={"question": QUESTION}, headers=other | {"Idempotency-Key": "question-0001"}
    )
    assert theirs.status_code == 201, theirs.text
    assert theirs.json()["id"] != first.json()["id"]
    # Past the enquiry period, the retry still answers the question it asked.
    clock.advance(timedelta(days=21))
    late = await client.post(base, json={"question": QUESTION}, headers=keyed)
    assert late.status_code == 201, late.text
    assert late.json()["id"] == first.json()["id"]
    unanswered = await client.get(
        f"{base}/unanswered", params={"position": position_of(theirs)}, headers=buyer
    )
    assert [q["question"] for q in unanswered.json()["items"]] == [QUESTION, QUESTION]
