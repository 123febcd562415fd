"""Requests for quote (issue 18) probed as a hostile member, requester or outsider would, on both
stores: refused posts leave nothing behind (no event, no sealing key for the clock to visit
forever); only members in good standing take part in a request's quotes (a registered
non-member's "decline" is no more a member's word than its quote); two decisions at once make
one contract; a cancellation racing a quote never opens it; nothing is changed from the
deadline on; every malformed body is a 4xx naming its field; staff and the public read no quote;
and after an acceptance no GET route, fed the request's, quote's and contract's ids in every
parameter (a request's id as a tender's, a quote's as a bid's), answers a server error."""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select

from tests.api.helpers import register, services_of, token
from tests.api.openapi_walk import operations
from tests.api.test_bid_scenario import drafted_bid, member, published_tender
from tests.api.test_buyers import register_business
from tests.api.test_clarifications import council
from tests.api.test_membership_standing import tick as standing_tick
from tests.api.test_quote_scenario import (
    BUDGET,
    DEADLINE,
    REQUESTS,
    ok,
    open_quotes,
    posted,
    quote_path,
    quoted,
    refused,
    request_body,
)
from tests.api.test_sealing import FIXED, REQUIRED_QUERY, id_forms, json_logs, log_lines, search
from tests.conftest import AppClient
from tradehall.clock import ManualClock
from tradehall.marketplace.sealing.keys import TENDER
from tradehall.marketplace.sealing.tables import sealing_keys
from tradehall.settings import Settings

Client = AppClient
Headers = dict[str, str]
WORK_END = "2026-03-13T17:00:00Z"


# Helpers -------------------------------------------------------------------------------------


def marketplace_topics(client: Client) -> list[str]:
    recorder = services_of(client).applications["marketplace"].recorder
    return [n.topic for n in recorder.select_notifications(start=1, limit=10_000_000)]


def contracts_signed(client: Client) -> int:
    return sum(1 for t in marketplace_topics(client) if t.endswith("Contract.Signed"))


def unsettled_keys(client: Client) -> set[uuid.UUID]:
    return set(services_of(client).sealing.unsettled_tenders())


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


async def opened_request(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> tuple[str, Headers, dict[str, tuple[str, Headers]], dict[str, Any]]:
    """A request with two quotes (alder 45_000, beech 60_000), opened by the clock: its id, the
    requester's headers, the quoters and the opened quotes."""
    requester, _, r_headers = await member(client, staff_headers, "Oak Housing Co-operative")
    quoters = {}
    for key, name in (("alder", "Alder Removals CIC"), ("beech", "Beech Vans Co-operative")):
        org, _, headers = await member(client, staff_headers, name)
        quoters[key] = (org, headers)
    request_id = await posted(client, r_headers, request_body(requester))
    await quoted(client, quoters["alder"][1], quoters["alder"][0], request_id, 45_000)
    await quoted(client, quoters["beech"][1], quoters["beech"][0], request_id, 60_000)
    await open_quotes(client, clock)
    opened = ok(await client.get(f"{REQUESTS}/{request_id}/quotes", headers=r_headers))
    return request_id, r_headers, quoters, opened


# Refused posts leave nothing ------------------------------------------------------------------


async def test_a_refused_post_leaves_no_sealing_key_for_the_clock_to_visit(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    """The route makes the request's key before the domain decides: a post refused there (a
    requester not allowed, a deadline passed or too far) must not leave an unsettled key behind,
    or anyone may grow the table the opening clock reads at every tick, one row a refusal."""
    requester, _, r_headers = await member(client, staff_headers, "Larch Housing Trust")
    stranger = await register(client, name="Juniper Workshop CIC")
    s_headers = await token(client, stranger["email"])
    before = unsettled_keys(client)
    refused(await client.post(REQUESTS, json=request_body(stranger["id"]), headers=s_headers), 409)
    past = request_body(requester, deadline="2026-03-01T12:00:00Z")
    refused(await client.post(REQUESTS, json=past, headers=r_headers), 422, "deadline")
    far = request_body(
        requester,
        deadline="2026-07-01T12:00:00Z",
        period={"start": "2026-07-02T08:00:00Z", "end": "2026-07-03T17:00:00Z"},
    )
    refused(await client.post(REQUESTS, json=far, headers=r_headers), 422, "deadline")
    assert unsettled_keys(client) - before == set()


async def test_a_keyed_post_retried_after_a_refusal_is_opened_by_the_clock(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    """A client whose keyed post was refused (a deadline already passed) corrects it and retries
    with the same Idempotency-Key, as a retry does: the request is the key's, and its quotes
    are opened at the deadline like any other's, never sealed for ever."""
    requester, _, r_headers = await member(client, staff_headers, "Hornbeam Housing CIC")
    alder, _, a_headers = await member(client, staff_headers, "Alder Removals CIC")
    keyed = r_headers | {"Idempotency-Key": f"rfq-{uuid.uuid4().hex}"}
    past = request_body(requester, deadline="2026-03-01T12:00:00Z")
    refused(await client.post(REQUESTS, json=past, headers=keyed), 422, "deadline")
    request_id = ok(await client.post(REQUESTS, json=request_body(requester), headers=keyed), 201)[
        "id"
    ]
    await quoted(client, a_headers, alder, request_id, 45_000)
    await open_quotes(client, clock)
    opened = await client.get(f"{REQUESTS}/{request_id}/quotes", headers=r_headers)
    assert opened.status_code == 200, opened.text
    assert [q["supplier_id"] for q in opened.json()["quotes"]] == [alder]


async def test_bad_request_bodies_are_a_4xx_naming_the_field_and_record_nothing(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    requester, _, r_headers = await member(client, staff_headers, "Maple Housing CIC")
    others = [str(uuid.uuid4()) for _ in range(51)]
    bad: list[tuple[str, dict[str, Any] | Any]] = [
        ("title", {"title": "a\x00b"}),
        ("title", {"title": "Move \u202eevan a"}),
        ("title", {"title": "x" * 201}),
        ("title", {"title": {"nested": ["junk"]}}),
        ("title", {"title": 7}),
        ("description", {"description": "x" * 4001}),
        ("description", {"description": "bad\x00byte"}),
        ("cpv_codes", {"cpv_codes": ["60000000-8"] * 21}),
        ("cpv_codes", {"cpv_codes": "60000000-8"}),
        ("regions", {"regions": ["TLC3"] * 21}),
        ("invited", {"audience": "invited", "invited": others}),
        ("invited", {"audience": "invited", "invited": [others[0], others[0]]}),
        ("invited", {"audience": "invited", "invited": ["not-a-uuid"]}),
        ("invited", {"audience": "invited", "invited": []}),
        ("invited", {"audience": "open", "invited": [others[0]]}),
        ("budget.currency", {"budget": BUDGET | {"currency": "XXX"}}),
        ("budget.currency", {"budget": BUDGET | {"currency": "JPY"}}),
        ("budget.currency", {"budget": BUDGET | {"currency": "gbp"}}),
        ("budget.min_minor", {"budget": BUDGET | {"min_minor": 1.5}}),
        ("budget.min_minor", {"budget": BUDGET | {"min_minor": "100"}}),
        ("budget.min_minor", {"budget": BUDGET | {"min_minor": -5}}),
        ("budget.max_minor", {"budget": BUDGET | {"max_minor": 10**30}}),
        ("budget.max_minor", {"budget": BUDGET | {"max_minor": True}}),
        ("budget", {"budget": []}),
        ("organisation_id", {"organisation_id": "not-a-uuid"}),
        ("deadline", {"deadline": "soon"}),
        ("deadline", {"deadline": "0001-01-01T00:00:00Z"}),
        ("deadline", {"deadline": "9999-12-31T23:59:59Z"}),
        ("deadline", {"deadline": "2026-03-02T09:30:00Z"}),  # now, to the second
        ("period", {"period": None}),
        ("period.end", {"period": {"start": WORK_END, "end": "2026-03-09T08:00:00Z"}}),
        ("period.start", {"period": {"start": "0001-01-01T00:00:00Z", "end": WORK_END}}),
        ("audience", {"audience": None}),
        ("surprise", {"surprise": 1}),
    ]  # fmt: skip
    before = len(marketplace_topics(client))
    problems = []
    for field, changes in bad:
        response = await client.post(
            REQUESTS, json=request_body(requester) | changes, headers=r_headers
        )
        named = []
        if response.status_code in (400, 422):
            named = [e["field"] for e in response.json().get("errors") or []]
        if response.status_code not in (400, 422) or not any(n.startswith(field) for n in named):
            problems.append(f"{field} {changes!r:.80}: {response.status_code} {response.text:.200}")
    for junk in ([], "null", "[1, 2]", "{", '{"title": "\\ud800"}'):
        content = junk if isinstance(junk, str) else "[]"
        response = await client.post(
            REQUESTS, content=content, headers=r_headers | {"Content-Type": "application/json"}
        )
        if response.status_code != 400:
            problems.append(f"body {junk!r}: {response.status_code} {response.text:.200}")
    assert problems == [], "\n".join(problems)
    assert len(marketplace_topics(client)) == before


async def test_bad_quote_decline_and_decision_bodies_are_a_4xx_naming_the_field(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    requester, _, r_headers = await member(client, staff_headers, "Nettle Housing Trust")
    ivy, _, i_headers = await member(client, staff_headers, "Ivy Removals CIC")
    no_budget = await posted(client, r_headers, request_body(requester, budget=None))
    path = quote_path(ivy, no_budget)
    problems = []
    for field, body in [
        ("price_minor", {"price_minor": "100"}),
        ("price_minor", {"price_minor": 100.5}),
        ("price_minor", {"price_minor": -1}),
        ("price_minor", {"price_minor": 10**30}),
        ("price_minor", {"price_minor": True}),
        ("price_minor", {"price_minor": None}),
        ("currency", {"price_minor": 100, "currency": "XXX"}),
        ("currency", {"price_minor": 100, "currency": "JPY"}),
        ("currency", {"price_minor": 100, "currency": "G\u200bBP"}),
        ("note", {"price_minor": 100, "note": "a\x00b"}),
        ("note", {"price_minor": 100, "note": "pay \u2066001\u2069 only"}),
        ("note", {"price_minor": 100, "note": {"a": 1}}),
        ("surprise", {"price_minor": 100, "surprise": 1}),
    ]:
        response = await client.put(path, json=body, headers=i_headers)
        named = []
        if response.status_code in (400, 422):
            named = [e["field"] for e in response.json().get("errors") or []]
        if field not in named:
            problems.append(f"quote {body!r:.80}: {response.status_code} {response.text:.200}")
    for body in ({"reason": "x" * 2001}, {"reason": "a\x00b"}, {"reason": 5}):
        response = await client.post(f"{path}/decline", json=body, headers=i_headers)
        named = [e["field"] for e in (response.json().get("errors") or [])]
        if response.status_code not in (400, 422) or "reason" not in named:
            problems.append(f"decline {body!r:.80}: {response.status_code} {response.text:.200}")
    for route, body, field in [
        ("cancellation", {"reason": ""}, "reason"),
        ("cancellation", {"reason": "a\x00b"}, "reason"),
        ("cancellation", {"reason": "x" * 2001}, "reason"),
        ("acceptance", {"quote_id": "not-a-uuid"}, "quote_id"),
        ("closure", {}, "reason"),
    ]:
        response = await client.post(
            f"{REQUESTS}/{no_budget}/{route}", json=body, headers=r_headers
        )
        named = [e["field"] for e in (response.json().get("errors") or [])]
        if response.status_code not in (400, 422) or field not in named:
            problems.append(f"{route} {body!r:.60}: {response.status_code} {response.text:.200}")
    assert problems == [], "\n".join(problems)
    # Nothing was quoted, declined or cancelled.
    refused(await client.get(path, headers=i_headers), 404)
    mine = ok(await client.get(f"/api/v1/organisations/{ivy}/quotes", headers=i_headers))
    assert mine["items"] == []
    assert ok(await client.get(f"{REQUESTS}/{no_budget}", headers=r_headers))["status"] == "open"


# Who takes part --------------------------------------------------------------------------------


async def test_a_registered_non_member_neither_quotes_nor_declines_an_open_request(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    """ "Any member in good standing may quote": a registered organisation that is not a member
    has no word on the request. Its decline would sit in the sealed log and its supplier index,
    and reach the requester as one of the request's declines."""
    requester, _, r_headers = await member(client, staff_headers, "Poplar Housing Trust")
    request_id = await posted(client, r_headers, request_body(requester))
    stranger = await register(client, name="Quince Workshop CIC")
    s_headers = await token(client, stranger["email"])
    path = quote_path(stranger["id"], request_id)
    refused(await client.put(path, json={"price_minor": 1_000}, headers=s_headers), 409)
    declined = await client.post(f"{path}/decline", json={"reason": "No"}, headers=s_headers)
    await open_quotes(client, clock)
    opened = ok(await client.get(f"{REQUESTS}/{request_id}/quotes", headers=r_headers))
    assert (declined.status_code, opened["declined"]) == (409, []), declined.text


async def test_a_lapsed_member_does_not_quote(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    supplier, _, s_headers = await member(client, staff_headers, "Rowan Removals CIC")
    clock.advance(timedelta(days=365 + 40))  # past paid-up-until and the grace period
    await standing_tick(client)
    business = await register_business(client)
    b_headers = await token(client, business["email"])
    deadline = iso(clock.now() + timedelta(days=3))
    period = {
        "start": iso(clock.now() + timedelta(days=5)),
        "end": iso(clock.now() + timedelta(days=6)),
    }
    body = request_body(business["id"], deadline=deadline, period=period)
    request_id = await posted(client, b_headers, body)
    path = quote_path(supplier, request_id)
    late = refused(await client.put(path, json={"price_minor": 1_000}, headers=s_headers), 409)
    assert "good standing" in late["detail"]
    refused(await client.get(path, headers=s_headers), 404)


async def test_an_uninvited_member_finds_the_invited_request_nowhere(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    requester, _, r_headers = await member(client, staff_headers, "Sorrel Housing CIC")
    invited, _, i_headers = await member(client, staff_headers, "Tansy Movers CIC")
    outsider, _, o_headers = await member(client, staff_headers, "Umber Vans CIC")
    body = request_body(requester, audience="invited", invited=[invited])
    made = ok(await client.post(REQUESTS, json=body, headers=r_headers), 201)
    request_id, at = made["id"], f"marketplace:{made['position']['marketplace']}"
    listed = ok(await client.get(f"{REQUESTS}?position={at}", headers=o_headers))
    assert request_id not in [i["id"] for i in listed["items"]]
    theirs = ok(await client.get(f"{REQUESTS}?position={at}", headers=i_headers))
    assert request_id in [i["id"] for i in theirs["items"]]
    for method, path, json in [
        ("GET", f"{REQUESTS}/{request_id}", None),
        ("PUT", quote_path(outsider, request_id), {"price_minor": 1_000}),
        ("POST", f"{quote_path(outsider, request_id)}/decline", {}),
        ("POST", f"{REQUESTS}/{request_id}/cancellation", {"reason": "mine now"}),
        ("GET", f"{REQUESTS}/{request_id}/quotes", None),
    ]:
        real = await client.request(method, path, json=json, headers=o_headers)
        none = await client.request(
            method, path.replace(request_id, str(uuid.uuid4())), json=json, headers=o_headers
        )
        assert real.status_code == none.status_code == 404, (path, real.text)
    # The invited member is not told whom else the requester invited.
    seen = ok(await client.get(f"{REQUESTS}/{request_id}", headers=i_headers))
    assert seen["invited"] is None
    staff_seen = ok(await client.get(f"{REQUESTS}/{request_id}", headers=staff_headers))
    assert staff_seen["invited"] == [invited]


async def test_staff_and_the_public_read_no_quote_and_quote_for_no_one(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    requester, _, r_headers = await member(client, staff_headers, "Vetch Housing Trust")
    alder, _, a_headers = await member(client, staff_headers, "Alder Removals CIC")
    request_id = await posted(client, r_headers, request_body(requester))
    await quoted(client, a_headers, alder, request_id, 45_000)
    path = quote_path(alder, request_id)
    for headers, status in ((staff_headers, 403), ({}, 401), (r_headers, 403)):
        assert (await client.get(path, headers=headers)).status_code == status
        mine = await client.get(f"/api/v1/organisations/{alder}/quotes", headers=headers)
        assert mine.status_code == status
        put = await client.put(path, json={"price_minor": 1}, headers=headers)
        assert put.status_code == status
        decline = await client.post(f"{path}/decline", json={}, headers=headers)
        assert decline.status_code == status
    anonymous = [
        ("GET", REQUESTS, None),
        ("POST", REQUESTS, request_body(requester)),
        ("GET", f"{REQUESTS}/{request_id}", None),
        ("GET", f"{REQUESTS}/{request_id}/quotes", None),
        ("POST", f"{REQUESTS}/{request_id}/cancellation", {"reason": "x"}),
        ("POST", f"{REQUESTS}/{request_id}/acceptance", {"quote_id": str(uuid.uuid4())}),
        ("POST", f"{REQUESTS}/{request_id}/closure", {"reason": "x"}),
    ]
    for method, route, json in anonymous:
        assert (await client.request(method, route, json=json)).status_code == 401, route
    # The quote is as Alder left it.
    assert ok(await client.get(path, headers=a_headers))["price_minor"] == 45_000


# Time -----------------------------------------------------------------------------------------


async def test_nothing_changes_from_the_deadline_on_before_or_after_opening(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    requester, _, r_headers = await member(client, staff_headers, "Willow Housing CIC")
    alder, _, a_headers = await member(client, staff_headers, "Alder Removals CIC")
    beech, _, b_headers = await member(client, staff_headers, "Beech Vans Co-operative")
    request_id = await posted(client, r_headers, request_body(requester))
    await quoted(client, a_headers, alder, request_id, 45_000)
    deadline = datetime.fromisoformat(DEADLINE.replace("Z", "+00:00"))
    clock.advance(deadline - clock.now() + timedelta(seconds=1))  # past it, within the margin
    a_path, b_path = quote_path(alder, request_id), quote_path(beech, request_id)
    for _ in ("before opening", "after opening"):
        refused(await client.put(a_path, json={"price_minor": 1_000}, headers=a_headers), 409)
        refused(await client.post(f"{a_path}/decline", json={}, headers=a_headers), 409)
        refused(await client.put(b_path, json={"price_minor": 1_000}, headers=b_headers), 409)
        refused(await client.post(f"{b_path}/decline", json={}, headers=b_headers), 409)
        cancel = {"reason": "Too late to back out"}
        refused(
            await client.post(
                f"{REQUESTS}/{request_id}/cancellation", json=cancel, headers=r_headers
            ),
            409,
        )
        await open_quotes(client, clock)
    opened = ok(await client.get(f"{REQUESTS}/{request_id}/quotes", headers=r_headers))
    assert [(q["supplier_id"], q["price_minor"]) for q in opened["quotes"]] == [(alder, 45_000)]
    assert opened["declined"] == []
    refused(await client.get(b_path, headers=b_headers), 404)


# Races ----------------------------------------------------------------------------------------


async def test_two_acceptances_at_once_sign_one_contract(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    request_id, r_headers, _, opened = await opened_request(client, staff_headers, clock)
    before = contracts_signed(client)
    route = f"{REQUESTS}/{request_id}/acceptance"
    answers = await asyncio.gather(
        *(
            client.post(route, json={"quote_id": q["quote_id"]}, headers=r_headers)
            for q in (opened["quotes"][0], opened["quotes"][1], opened["quotes"][0])
        )
    )
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [201, 409, 409], [a.text for a in answers]
    assert contracts_signed(client) == before + 1
    [won] = [a.json() for a in answers if a.status_code == 201]
    view = ok(await client.get(f"{REQUESTS}/{request_id}", headers=r_headers))
    assert (view["status"], view["accepted"]["contract_id"]) == ("accepted", won["id"])


async def test_an_acceptance_and_a_closure_at_once_one_decides(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    request_id, r_headers, _, opened = await opened_request(client, staff_headers, clock)
    before = contracts_signed(client)
    accept, close = await asyncio.gather(
        client.post(
            f"{REQUESTS}/{request_id}/acceptance",
            json={"quote_id": opened["quotes"][0]["quote_id"]},
            headers=r_headers,
        ),
        client.post(
            f"{REQUESTS}/{request_id}/closure", json={"reason": "None fit"}, headers=r_headers
        ),
    )
    assert sorted((accept.status_code, close.status_code)) in ([200, 409], [201, 409])
    view = ok(await client.get(f"{REQUESTS}/{request_id}", headers=r_headers))
    if accept.status_code == 201:
        assert view["status"] == "accepted"
        assert contracts_signed(client) == before + 1
    else:
        assert view["status"] == "closed"
        assert contracts_signed(client) == before


async def test_a_quote_racing_a_cancellation_is_never_opened(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    requester, _, r_headers = await member(client, staff_headers, "Yew Housing Co-operative")
    alder, _, a_headers = await member(client, staff_headers, "Alder Removals CIC")
    request_id = await posted(client, r_headers, request_body(requester))
    quote, cancel = await asyncio.gather(
        client.put(quote_path(alder, request_id), json={"price_minor": 45_000}, headers=a_headers),
        client.post(
            f"{REQUESTS}/{request_id}/cancellation", json={"reason": "Done"}, headers=r_headers
        ),
    )
    assert cancel.status_code == 200, cancel.text
    assert quote.status_code in (200, 409), quote.text
    await open_quotes(client, clock)
    refused(await client.get(f"{REQUESTS}/{request_id}/quotes", headers=r_headers), 409)
    own = await client.get(quote_path(alder, request_id), headers=a_headers)
    if quote.status_code == 200:
        assert ok(own)["status"] == "closed"
    else:
        assert own.status_code == 404
    assert request_id not in unsettled_keys(client)


async def test_a_keyed_post_sent_twice_at_once_is_one_request(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    requester, _, r_headers = await member(client, staff_headers, "Zelkova Housing CIC")
    keyed = r_headers | {"Idempotency-Key": f"rfq-{uuid.uuid4().hex}"}
    posts = sum(1 for t in marketplace_topics(client) if t.endswith("RequestForQuote.Posted"))
    first, second = await asyncio.gather(
        client.post(REQUESTS, json=request_body(requester), headers=keyed),
        client.post(REQUESTS, json=request_body(requester), headers=keyed),
    )
    assert (first.status_code, second.status_code) == (201, 201), (first.text, second.text)
    assert first.json()["id"] == second.json()["id"]
    after = sum(1 for t in marketplace_topics(client) if t.endswith("RequestForQuote.Posted"))
    assert after == posts + 1
    # The same key from another organisation is another request; a replay after a cancellation
    # answers the request as it is now and changes nothing.
    other, _, o_headers = await member(client, staff_headers, "Aspen Housing CIC")
    theirs = ok(
        await client.post(
            REQUESTS,
            json=request_body(other),
            headers=o_headers | {"Idempotency-Key": keyed["Idempotency-Key"]},
        ),
        201,
    )
    assert theirs["id"] != first.json()["id"]
    request_id = first.json()["id"]
    ok(
        await client.post(
            f"{REQUESTS}/{request_id}/cancellation", json={"reason": "No"}, headers=r_headers
        )
    )
    again = ok(await client.post(REQUESTS, json=request_body(requester), headers=keyed), 201)
    assert again["id"] == request_id
    assert ok(await client.get(f"{REQUESTS}/{request_id}", headers=r_headers))["status"] == (
        "cancelled"
    )


# Ids in the wrong places ------------------------------------------------------------------------


async def test_accepting_another_request_s_quote_is_refused_and_changes_nothing(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    request_id, r_headers, quoters, opened = await opened_request(client, staff_headers, clock)
    other_requester, _, o_headers = await member(client, staff_headers, "Birch Housing CIC")
    other = await posted(
        client,
        o_headers,
        request_body(other_requester, deadline="2026-03-05T12:00:00Z"),
    )
    alder, a_headers = quoters["alder"]
    await quoted(client, a_headers, alder, other, 10_000)
    foreign = opened["quotes"][0]["quote_id"]
    await open_quotes(client, clock, "2026-03-05T12:00:00Z")
    before = contracts_signed(client)
    answer = await client.post(
        f"{REQUESTS}/{other}/acceptance", json={"quote_id": foreign}, headers=o_headers
    )
    refused(answer, 422, "quote_id")
    # The first request's requester accepts nothing on the other's behalf either.
    mine = ok(await client.get(f"{REQUESTS}/{other}/quotes", headers=o_headers))
    stolen = await client.post(
        f"{REQUESTS}/{other}/acceptance",
        json={"quote_id": mine["quotes"][0]["quote_id"]},
        headers=r_headers,
    )
    refused(stolen, 404)
    assert contracts_signed(client) == before
    # A quote's id is no bid's: the bids' routes know nothing of it.
    for path in (f"/api/v1/bids/{foreign}", f"/api/v1/bids/{foreign}/receipt"):
        assert (await client.get(path, headers=a_headers)).status_code in (404, 405), path
    drafted = await client.post(
        "/api/v1/bids", json={"tender_id": request_id, "lot_id": "quote"}, headers=a_headers
    )
    assert drafted.status_code in (404, 409, 422), drafted.text


async def test_after_an_acceptance_no_get_route_answers_a_server_error(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    """Every GET operation, with the request's id in every id a route takes (as a tender's, a
    listing's, an opportunity's), the quote's as a bid's and the contract's as a contract's, as
    the requester, the winner, the other quoter, staff and the public: none is a 5xx."""
    request_id, r_headers, quoters, opened = await opened_request(client, staff_headers, clock)
    alder, a_headers = quoters["alder"]
    beech, b_headers = quoters["beech"]
    alders = next(q for q in opened["quotes"] if q["supplier_id"] == alder)
    contract = ok(
        await client.post(
            f"{REQUESTS}/{request_id}/acceptance",
            json={"quote_id": alders["quote_id"]},
            headers=r_headers,
        ),
        201,
    )
    await services_of(client).run(services_of(client).readside.projector.catch_up)
    document = (await client.get("/schema/openapi.json")).json()
    prefix = services_of(client).settings.ocid_prefix
    requester = ok(await client.get(f"{REQUESTS}/{request_id}", headers=r_headers))["requester_id"]
    callers = {
        "requester": (r_headers, requester),
        "winner": (a_headers, alder),
        "other quoter": (b_headers, beech),
        "staff": (staff_headers, requester),
        "public": ({}, alder),
    }
    errors = []
    for op in operations(document):
        if op.method != "get":
            continue
        query = {
            p["name"]: REQUIRED_QUERY[p["name"]]
            for p in op.parameters
            if p["in"] == "query" and p.get("required")
        }
        for caller, (headers, organisation) in callers.items():
            values = FIXED | {
                "request_id": request_id,
                "tender_id": request_id,
                "contract_id": contract["id"],
                "bid_id": alders["quote_id"],
                "organisation_id": organisation,
                "ocid": f"{prefix}-{request_id}",
                "name": "0" * 32,
            }
            path = re.sub(r"\{(\w+)\}", lambda m, v=values: str(v[m.group(1)]), op.path)
            path += f"?{urlencode(query)}" if query else ""
            answer = await client.get(path, headers=headers)
            if answer.status_code >= 500:
                errors.append(f"{op} as {caller}: {answer.status_code} {answer.text:.200}")
    assert errors == [], "\n".join(errors)
    # No projection failed on the request's events or its contract.
    assert ok(await client.get("/ready"))["failing_projections"] == []
    # The contract counts in the winner's track record as an award's would.
    signed = ok(await client.get(f"/api/v1/contracts/{contract['id']}", headers=a_headers))
    assert (signed["buyer_id"], signed["value_minor"]) == (requester, 45_000)


# What the service says of refusals -------------------------------------------------------------


async def test_refused_quote_commands_log_no_quoter_and_no_request(
    client: Client,
    staff_headers: Headers,
    clock: ManualClock,
    settings: Settings,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A refused quote says as much about who tried as an accepted one: nothing in the log."""
    requester, _, r_headers = await member(client, staff_headers, "Cherry Housing Trust")
    alder, _, a_headers = await member(client, staff_headers, "Alder Removals CIC")
    outsider, _, o_headers = await member(client, staff_headers, "Damson Transport Trust")
    stranger = await register(client, name="Elder Workshop CIC")
    s_headers = await token(client, stranger["email"])
    invited = await posted(
        client, r_headers, request_body(requester, audience="invited", invited=[alder])
    )
    request_id = await posted(client, r_headers, request_body(requester))
    with json_logs(settings.log_level):
        capsys.readouterr()
        for path, body, headers in [
            (quote_path(alder, request_id), {"price_minor": 1, "currency": "EUR"}, a_headers),
            (quote_path(stranger["id"], request_id), {"price_minor": 1}, s_headers),
            (quote_path(requester, request_id), {"price_minor": 1}, r_headers),
            (quote_path(outsider, invited), {"price_minor": 1}, o_headers),
            (quote_path(alder, request_id), {"price_minor": 1}, o_headers),
            (quote_path(alder, request_id), {"price_minor": "1"}, a_headers),
        ]:
            assert (await client.put(path, json=body, headers=headers)).status_code >= 400
        clock.advance(timedelta(days=3))  # past the deadlines
        late = await client.put(
            quote_path(alder, request_id), json={"price_minor": 1}, headers=a_headers
        )
        assert late.status_code == 409
        declined = await client.post(
            f"{quote_path(alder, invited)}/decline", json={}, headers=a_headers
        )
        assert declined.status_code == 409
        logged = capsys.readouterr().out
    secrets = [*id_forms("the request's id", request_id), *id_forms("the invited one's", invited)]
    for name, org in (("alder", alder), ("outsider", outsider), ("stranger", stranger["id"])):
        secrets += id_forms(f"{name}'s organisation id", org)
    assert search(secrets, log_lines(logged)) == []


async def test_staff_decide_nothing_for_a_requester_and_the_list_refuses_bad_filters(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    request_id, r_headers, _, opened = await opened_request(client, staff_headers, clock)
    quote_id = opened["quotes"][0]["quote_id"]
    for route, body in [
        ("acceptance", {"quote_id": quote_id}),
        ("closure", {"reason": "Staff know best"}),
        ("cancellation", {"reason": "Staff know best"}),
    ]:
        answer = await client.post(
            f"{REQUESTS}/{request_id}/{route}", json=body, headers=staff_headers
        )
        refused(answer, 404)
    assert ok(await client.get(f"{REQUESTS}/{request_id}", headers=r_headers))["status"] == (
        "quotes_opened"
    )
    for query, field in [
        ("status=sealed", "status"),
        ("cpv=nonsense", "cpv"),
        ("region=ZZ9", "region"),
        ("requester_id=x", "requester_id"),
        ("page=0", "page"),
        ("per_page=100000", "per_page"),
        ("position=marketplace:x", "position"),
    ]:
        answer = await client.get(f"{REQUESTS}?{query}", headers=r_headers)
        assert answer.status_code in (400, 422), (query, answer.text)
        assert field in [e["field"] for e in answer.json().get("errors") or []], answer.text
    far = await client.get(f"{REQUESTS}?page=100000&per_page=100", headers=r_headers)
    assert (far.status_code, ok(far)["items"]) == (200, []), far.text


async def test_quotes_sent_at_once_are_each_lodged_once(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    """Five members' first quotes at once (the box's lodging contended), one of them sent twice
    at once with two prices, another quoting and declining at once: every quote is opened once,
    each supplier's last word counted once, as a quote or a decline, never both."""
    requester, _, r_headers = await member(client, staff_headers, "Fig Housing Trust")
    request_id = await posted(client, r_headers, request_body(requester))
    suppliers = [await member(client, staff_headers, f"Quoter {n} Removals CIC") for n in range(5)]
    (double, _, d_headers), (torn, _, t_headers) = suppliers[0], suppliers[1]
    calls = [
        client.put(quote_path(org, request_id), json={"price_minor": 10_000 + n}, headers=h)
        for n, (org, _, h) in enumerate(suppliers)
    ]
    calls += [
        client.put(quote_path(double, request_id), json={"price_minor": 99_000}, headers=d_headers),
        client.post(f"{quote_path(torn, request_id)}/decline", json={}, headers=t_headers),
    ]
    answers = await asyncio.gather(*calls)
    assert all(a.status_code == 200 for a in answers), [a.text for a in answers]
    mine = ok(await client.get(f"/api/v1/organisations/{double}/quotes", headers=d_headers))
    assert [q["request_id"] for q in mine["items"]] == [request_id]
    torn_last = ok(await client.get(quote_path(torn, request_id), headers=t_headers))["status"]
    await open_quotes(client, clock)
    opened = ok(await client.get(f"{REQUESTS}/{request_id}/quotes", headers=r_headers))
    quoters = [q["supplier_id"] for q in opened["quotes"]]
    assert len(quoters) == len(set(quoters))
    expected = {org for org, _, _ in suppliers} - ({torn} if torn_last == "declined" else set())
    assert set(quoters) == expected
    assert opened["declined"] == ([torn] if torn_last == "declined" else [])
    prices = {q["supplier_id"]: q["price_minor"] for q in opened["quotes"]}
    assert prices[double] in (10_000, 99_000)


async def test_a_member_s_bids_and_quotes_share_its_index_but_never_a_list(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    """Quotes are listed in the member's bid index as bids are: its bids' list shows no quote,
    its quotes' list no bid, and neither route reads the other's id."""
    buyer, buyer_headers = await council(client, staff_headers)
    tender = await published_tender(client, buyer, buyer_headers)
    requester, _, r_headers = await member(client, staff_headers, "Ash Housing Trust")
    alder, _, a_headers = await member(client, staff_headers, "Alder Removals CIC")
    request_id = await posted(client, r_headers, request_body(requester))
    bid = await drafted_bid(client, a_headers, tender, "lot-1", 11_000_000)
    quote = await quoted(client, a_headers, alder, request_id, 45_000)
    bids = ok(await client.get("/api/v1/bids", headers=a_headers))
    assert [b["id"] for b in bids["items"]] == [bid]
    quotes = ok(await client.get(f"/api/v1/organisations/{alder}/quotes", headers=a_headers))
    assert [q["id"] for q in quotes["items"]] == [quote["id"]]
    refused(await client.get(f"/api/v1/bids/{quote['id']}", headers=a_headers), 404)
    refused(await client.get(quote_path(alder, tender), headers=a_headers), 404)
    refused(
        await client.put(quote_path(alder, tender), json={"price_minor": 1}, headers=a_headers), 404
    )


async def test_an_acceptance_on_a_stale_version_signs_nothing(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    request_id, r_headers, _, opened = await opened_request(client, staff_headers, clock)
    seen = await client.get(f"{REQUESTS}/{request_id}", headers=r_headers)
    before = contracts_signed(client)
    route = f"{REQUESTS}/{request_id}/acceptance"
    body = {"quote_id": opened["quotes"][0]["quote_id"]}
    for stale in ('"1"', 'W/"2"', '"x"'):
        answer = await client.post(route, json=body, headers=r_headers | {"If-Match": stale})
        assert answer.status_code in (400, 409, 412), (stale, answer.text)
    assert contracts_signed(client) == before
    current = r_headers | {"If-Match": seen.headers["etag"]}
    ok(await client.post(route, json=body, headers=current), 201)
    assert contracts_signed(client) == before + 1


def tender_keys(client: Client) -> int:
    """Every request's and tender's data key, settled or not."""
    engine = services_of(client).sealing.engine
    with engine.connect() as connection:
        count = connection.execute(
            select(func.count()).select_from(sealing_keys).where(sealing_keys.c.purpose == TENDER)
        ).scalar_one()
    return int(count)


async def test_ids_naming_nothing_make_no_sealing_key_on_any_route(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    """A data key is made only for a request posted or a tender published: every GET route,
    and the quote and bid commands, given ids that name nothing, as a member, staff and the
    public, make none (each would be a row the opening clock visits at every tick)."""
    alder, _, a_headers = await member(client, staff_headers, "Alder Removals CIC")
    document = (await client.get("/schema/openapi.json")).json()
    keys = tender_keys(client)
    nothing = str(uuid.uuid4())
    for op in operations(document):
        if op.method != "get":
            continue
        query = {
            p["name"]: REQUIRED_QUERY[p["name"]]
            for p in op.parameters
            if p["in"] == "query" and p.get("required")
        }
        for headers, organisation in ((a_headers, alder), (staff_headers, alder), ({}, alder)):
            values = FIXED | {
                "request_id": nothing,
                "tender_id": nothing,
                "bid_id": nothing,
                "contract_id": nothing,
                "organisation_id": organisation,
                "ocid": f"ocds-thdemo-{nothing}",
                "name": "0" * 32,
            }
            path = re.sub(r"\{(\w+)\}", lambda m, v=values: str(v[m.group(1)]), op.path)
            path += f"?{urlencode(query)}" if query else ""
            await client.get(path, headers=headers)
    for method, path, body in [
        ("PUT", quote_path(alder, nothing), {"price_minor": 1_000}),
        ("POST", f"{quote_path(alder, nothing)}/decline", {}),
        ("POST", "/api/v1/bids", {"tender_id": nothing, "lot_id": "lot-1"}),
        ("POST", f"{REQUESTS}/{nothing}/acceptance", {"quote_id": nothing}),
    ]:
        answer = await client.request(method, path, json=body, headers=a_headers)
        assert answer.status_code in (404, 409, 422), (path, answer.text)
    assert tender_keys(client) == keys
