"""A requester's acceptance of a quote and a buyer's answer to a question, retried once their
answer was lost (the "retry" helper), on both stores: the same body naming the If-Match the
first named answers as the first did (its status, the contract or question as it stands) and
records nothing (ADR 43; RFC 9110 §13.1.1 lets a change already made answer 2xx), whether it
comes after the first was saved or while it was being saved (copies at once). Another quote or
another answer on that version, the same body on another version, and the same body without
If-Match (test_quote_scenario's and test_clarifications' 409s) stay refused; nobody else is
answered anything they were not before."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from tests.api.helpers import services_of
from tests.api.test_clarifications import outbox
from tests.api.test_listings import settle
from tests.api.test_probe2_clarifications import ANSWER, asked, setting
from tests.api.test_quote_scenario import REQUESTS, ok, refused
from tests.api.test_quotes_probe import opened_request
from tests.conftest import AppClient
from tradehall.clock import ManualClock

Client = AppClient
Headers = dict[str, str]
COPIES = 4


def topics_of(client: Client, aggregate_id: str) -> list[str]:
    """The topics of one aggregate's events (our own rows only: the database is shared)."""
    recorder = services_of(client).applications["marketplace"].recorder
    return [e.topic for e in recorder.select_events(uuid.UUID(aggregate_id))]


def tagged(headers: Headers, etag: str) -> Headers:
    return headers | {"If-Match": etag}


async def accepted(client: Client, request_id: str, headers: Headers) -> tuple[str, str]:
    """The accepted request's quote and contract, as its requester reads them."""
    view = ok(await client.get(f"{REQUESTS}/{request_id}", headers=headers))
    assert view["status"] == "accepted", view
    return view["accepted"]["quote_id"], view["accepted"]["contract_id"]


async def test_an_acceptance_retried_with_its_first_if_match_answers_the_contract(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    request_id, r_headers, quoters, opened = await opened_request(client, staff_headers, clock)
    seen = await client.get(f"{REQUESTS}/{request_id}", headers=r_headers)
    etag = seen.headers["etag"]
    route = f"{REQUESTS}/{request_id}/acceptance"
    body = {"quote_id": opened["quotes"][0]["quote_id"]}
    first = await client.post(route, json=body, headers=tagged(r_headers, etag))
    contract = ok(first, 201)
    events = topics_of(client, request_id)
    assert events[-1].endswith("RequestForQuote.Accepted"), events

    again = await client.post(route, json=body, headers=tagged(r_headers, etag))
    assert ok(again, 201)["id"] == contract["id"]
    assert again.json()["version"] == contract["version"]
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["etag"] == first.headers["etag"]
    assert topics_of(client, request_id) == events
    assert len(topics_of(client, contract["id"])) == contract["version"] == 1

    # Anything else is refused as before: another quote on that version, the same quote on
    # another (or none: today's 409), or another caller (the quoter: what it was answered).
    other = {"quote_id": opened["quotes"][1]["quote_id"]}
    refused(await client.post(route, json=other, headers=tagged(r_headers, etag)), 409)
    refused(await client.post(route, json=body, headers=tagged(r_headers, '"1"')), 409)
    refused(await client.post(route, json=body, headers=r_headers), 409)
    a_headers = quoters["alder"][1]
    bare = await client.post(route, json=body, headers=a_headers)
    with_tag = await client.post(route, json=body, headers=tagged(a_headers, etag))
    assert bare.status_code == with_tag.status_code == 404, (bare.text, with_tag.text)
    assert bare.json()["detail"] == with_tag.json()["detail"]
    assert topics_of(client, request_id) == events
    assert await accepted(client, request_id, r_headers) == (body["quote_id"], contract["id"])


async def test_an_acceptance_sent_at_once_with_its_if_match_signs_one_contract(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    request_id, r_headers, _, opened = await opened_request(client, staff_headers, clock)
    seen = await client.get(f"{REQUESTS}/{request_id}", headers=r_headers)
    route = f"{REQUESTS}/{request_id}/acceptance"
    body = {"quote_id": opened["quotes"][1]["quote_id"]}
    headers = tagged(r_headers, seen.headers["etag"])
    sent = await asyncio.gather(
        *(client.post(route, json=body, headers=headers) for _ in range(COPIES))
    )
    assert [r.status_code for r in sent] == [201] * COPIES, [r.text for r in sent]
    assert len({r.json()["id"] for r in sent}) == 1
    assert len([t for t in topics_of(client, request_id) if t.endswith("Accepted")]) == 1
    assert await accepted(client, request_id, r_headers) == (body["quote_id"], sent[0].json()["id"])


async def answered_once(client: Client, question_id: str, member_id: str, answer: str) -> None:
    """One answer recorded, the one given, and the interested member told of it once."""
    answers = [t for t in topics_of(client, question_id) if t.endswith("Answered")]
    assert len(answers) == 1, answers
    await settle(client)
    told = [body for _, template, body in await outbox(client, [member_id])]
    assert len(told) == 1, told
    assert answer in told[0]


async def question_on(
    client: Client, staff_headers: Headers, clock: ManualClock, name: str
) -> tuple[Any, str, str]:
    """A published tender's setting with a question asked by its interested member, and the
    question's id and ETag (staff's view)."""
    at = await setting(client, staff_headers, clock, name)
    interest = await client.post(f"/api/v1/tenders/{at.tender_id}/interest", headers=at.member)
    assert interest.status_code == 200, interest.text
    question_id = (await asked(client, at.tender_id, at.member)).json()["id"]
    view = await client.get(f"/api/v1/questions/{question_id}/", headers=staff_headers)
    assert view.status_code == 200, view.text
    return at, question_id, view.headers["etag"]


async def test_an_answer_retried_with_its_first_if_match_answers_the_question(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    at, question_id, etag = await question_on(client, staff_headers, clock, "Rowan Paths CIC")
    route = f"/api/v1/questions/{question_id}/answer"
    first = await client.post(route, json={"answer": ANSWER}, headers=tagged(at.buyer, etag))
    done = ok(first)
    again = await client.post(route, json={"answer": ANSWER}, headers=tagged(at.buyer, etag))
    assert (ok(again)["id"], again.json()["version"]) == (done["id"], done["version"])
    assert again.headers["etag"] == first.headers["etag"]

    # Another answer on that version, the same on another (or none: today's 409), or the
    # member (who may not answer), are refused as before.
    other = {"answer": f"{ANSWER} Bring boots."}
    refused(await client.post(route, json=other, headers=tagged(at.buyer, etag)), 409)
    refused(await client.post(route, json={"answer": ANSWER}, headers=tagged(at.buyer, '"2"')), 409)
    refused(await client.post(route, json={"answer": ANSWER}, headers=at.buyer), 409)
    bare = await client.post(route, json={"answer": ANSWER}, headers=at.member)
    with_tag = await client.post(route, json={"answer": ANSWER}, headers=tagged(at.member, etag))
    assert bare.status_code == with_tag.status_code != 200, (bare.text, with_tag.text)
    assert bare.json()["detail"] == with_tag.json()["detail"]
    await answered_once(client, question_id, at.member_id, ANSWER)
    published = await client.get(f"/api/v1/tenders/{at.tender_id}/questions")
    assert [q["answer"] for q in published.json()["items"]] == [ANSWER]


async def test_an_answer_sent_at_once_with_its_if_match_is_answered_and_told_once(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    at, question_id, etag = await question_on(client, staff_headers, clock, "Hazel Lanes CIC")
    route = f"/api/v1/questions/{question_id}/answer"
    headers = tagged(at.buyer, etag)
    sent = await asyncio.gather(
        *(client.post(route, json={"answer": ANSWER}, headers=headers) for _ in range(COPIES))
    )
    assert [r.status_code for r in sent] == [200] * COPIES, [r.text for r in sent]
    assert len({(r.json()["id"], r.json()["version"]) for r in sent}) == 1
    await answered_once(client, question_id, at.member_id, ANSWER)
