"""Issue 18's scenario over HTTP, on both stores: a housing association (a member in good
standing) asks three invited members for a quote to move a van of furniture. Alder quotes and
revises, Beech quotes, Cedar declines and, at the deadline to the second, is refused when it
quotes after all; Damson, not invited, never learns the request exists. Before the clock opens
the quotes nobody reads them, the requester included; after it, the requester reads both and
accepts Alder's: a contract Alder and the association read, and Beech does not. A business's
open request closed with no acceptance; a request cancelled before its deadline, its quote never
opened; and every refusal, each naming what is wrong."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from marketplace.quotes.request import RequestForQuote
from sharedkernel.events import CLOCK, Context
from tests.api.helpers import register, services_of, token
from tests.api.test_bid_scenario import member, tick
from tests.api.test_buyers import register_business
from tests.conftest import AppClient
from tradehall.clock import ManualClock
from tradehall.mail.tables import outbox_messages
from tradehall.marketplace.sealing.outbox import open_sealed
from tradehall.marketplace.sealing.tables import sealing_keys

Client = AppClient
Headers = dict[str, str]
REQUESTS = "/api/v1/requests-for-quote"
DEADLINE = "2026-03-04T12:00:00Z"
BUDGET = {"currency": "GBP", "min_minor": 20_000, "max_minor": 80_000}


def request_body(organisation_id: str, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "organisation_id": organisation_id,
        "title": "Move a van of furniture",
        "description": "Furniture from two flats to our store.\nLifts in both buildings.",
        "cpv_codes": ["60000000-8"],
        "regions": ["TLC3"],
        "budget": BUDGET,
        "deadline": DEADLINE,
        "period": {"start": "2026-03-09T08:00:00Z", "end": "2026-03-13T17:00:00Z"},
        "audience": "open",
        "invited": [],
    }
    return body | changes


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def refused(response: Any, status: int, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    problem: dict[str, Any] = response.json()
    if field is not None:
        named = [e["field"] for e in problem.get("errors") or []]
        assert field in named, (field, problem)
    return problem


async def posted(client: Client, headers: Headers, body: dict[str, Any]) -> str:
    made = ok(await client.post(REQUESTS, json=body, headers=headers), 201)
    assert made["position"]["marketplace"] >= 1
    request_id: str = made["id"]
    return request_id


async def list_ids(client: Client, headers: Headers, **params: Any) -> list[str]:
    """The ids of the requests the caller's list shows, read at the marketplace log's head."""
    head = ok(await client.get("/ready"))["event_logs"]["marketplace"]
    params |= {"position": f"marketplace:{head}", "per_page": 100}
    page = ok(await client.get(REQUESTS, params=params, headers=headers))
    assert page["consistent"] is True
    return [item["id"] for item in page["items"]]


def quote_path(organisation_id: str, request_id: str) -> str:
    return f"/api/v1/organisations/{organisation_id}/quotes/{request_id}"


async def quoted(
    client: Client, headers: Headers, organisation_id: str, request_id: str, price: int
) -> dict[str, Any]:
    body = {"price_minor": price, "currency": "GBP", "note": f"Two movers, {price} pence"}
    result: dict[str, Any] = ok(
        await client.put(quote_path(organisation_id, request_id), json=body, headers=headers)
    )
    assert result["position"] == {}  # sealed: nothing follows the bids log
    return result


async def sealed_notices(client: Client, organisation_id: str) -> list[tuple[str, str]]:
    """The sealed notices queued for the organisation: (template, body), oldest first."""
    services = services_of(client)
    async with services.engine.connect() as connection:
        rows = await connection.execute(
            select(outbox_messages)
            .where(outbox_messages.c.sealed.is_not(None))
            .order_by(outbox_messages.c.created_at)
        )
        opened = [open_sealed(services.sealing, row) for row in rows]
    return [(t, body) for org, t, _, body in opened if str(org) == organisation_id]


async def open_quotes(client: Client, clock: ManualClock, deadline: str = DEADLINE) -> None:
    """The clock past the deadline and the margin, and the opening clock ticked once."""
    margin = timedelta(seconds=services_of(client).settings.bid_opening_margin_seconds)
    at = datetime.fromisoformat(deadline.replace("Z", "+00:00")) + margin
    clock.advance(at - clock.now() + timedelta(seconds=1))
    await tick(client)


async def test_invited_quotes_revised_declined_late_opened_and_one_accepted_as_a_contract(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    requester, _, r_headers = await member(client, staff_headers, "Riverside Housing Association")
    alder, _, a_headers = await member(client, staff_headers, "Alder Removals CIC")
    beech, _, b_headers = await member(client, staff_headers, "Beech Vans Co-operative")
    cedar, _, c_headers = await member(client, staff_headers, "Cedar Movers CIC")
    damson, _, d_headers = await member(client, staff_headers, "Damson Transport Trust")
    body = request_body(requester, audience="invited", invited=[alder, beech, cedar])
    request_id = await posted(client, r_headers, body)

    # Those invited read it (without whom it invited); Damson, not invited, finds nothing.
    seen = ok(await client.get(f"{REQUESTS}/{request_id}", headers=a_headers))
    assert (seen["status"], seen["invited"], seen["quotes_count"]) == ("open", None, None)
    own = ok(await client.get(f"{REQUESTS}/{request_id}", headers=r_headers))
    assert sorted(own["invited"]) == sorted([alder, beech, cedar])
    not_invited = refused(await client.get(f"{REQUESTS}/{request_id}", headers=d_headers), 404)
    nothing = refused(await client.get(f"{REQUESTS}/{uuid.uuid4()}", headers=d_headers), 404)
    assert not_invited["title"] == nothing["title"]
    # The list likewise: the requester's, those invited's and staff's, never Damson's.
    # (Each list is of this requester's: other tests' open requests share the store.)
    ours = {"requester_id": requester}
    for headers in (r_headers, a_headers, staff_headers):
        assert await list_ids(client, headers, **ours) == [request_id], headers
        found = await list_ids(client, headers, status="open", cpv="60000000", **ours)
        assert found == [request_id]
        assert await list_ids(client, headers, status="closed", **ours) == []
        assert await list_ids(client, headers, cpv="55520000", **ours) == []
    assert await list_ids(client, d_headers, **ours) == []

    # Alder quotes and revises; Beech quotes; Cedar declines.
    first = await quoted(client, a_headers, alder, request_id, 50_000)
    clock.advance(timedelta(hours=2))
    revised = await quoted(client, a_headers, alder, request_id, 45_000)
    assert revised["id"] == first["id"]
    assert revised["version"] > first["version"]
    mine = ok(await client.get(quote_path(alder, request_id), headers=a_headers))
    assert (mine["price_minor"], mine["status"]) == (45_000, "quoted")
    await quoted(client, b_headers, beech, request_id, 60_000)
    declined = await client.post(
        f"{quote_path(cedar, request_id)}/decline",
        json={"reason": "Fully booked that week"},
        headers=c_headers,
    )
    ok(declined)
    listed = ok(await client.get(f"/api/v1/organisations/{alder}/quotes", headers=a_headers))
    assert [q["request_id"] for q in listed["items"]] == [request_id]
    # Each quote and revision has its sealed receipt; a decline none.
    receipts = await sealed_notices(client, alder)
    assert [t for t, _ in receipts] == ["quote_receipt", "quote_receipt"]
    assert "GBP 500.00" in receipts[0][1]
    assert "GBP 450.00" in receipts[1][1]
    assert len(await sealed_notices(client, beech)) == 1
    assert await sealed_notices(client, cedar) == []

    # Refusals before the deadline.
    refused(
        await client.put(
            quote_path(damson, request_id), json={"price_minor": 1_000}, headers=d_headers
        ),
        404,
    )
    refused(
        await client.put(
            quote_path(requester, request_id), json={"price_minor": 1_000}, headers=r_headers
        ),
        409,
    )
    early = refused(await client.get(f"{REQUESTS}/{request_id}/quotes", headers=r_headers), 409)
    refused(await client.get(f"{REQUESTS}/{request_id}/quotes", headers=a_headers), 404)
    refused(
        await client.post(
            f"{REQUESTS}/{request_id}/acceptance",
            json={"quote_id": first["id"]},
            headers=r_headers,
        ),
        409,
    )
    # A supplier reading another's quote: refused under the other's path alike whether or not
    # the other quoted (Cedar has no quote), and never under its own.
    beechs = await client.get(quote_path(beech, request_id), headers=a_headers)
    cedars = await client.get(quote_path(cedar, request_id), headers=a_headers)
    assert beechs.status_code == cedars.status_code == 403
    assert beechs.json()["detail"] == cedars.json()["detail"]

    # At the deadline to the second, Cedar's quote is late.
    clock.advance(datetime.fromisoformat(DEADLINE.replace("Z", "+00:00")) - clock.now())
    late = await client.put(
        quote_path(cedar, request_id), json={"price_minor": 30_000}, headers=c_headers
    )
    assert "deadline" in refused(late, 409)["detail"]

    # The clock at the deadline but within the margin opens nothing.
    await tick(client)
    assert (
        refused(await client.get(f"{REQUESTS}/{request_id}/quotes", headers=r_headers), 409)
        == early
    )

    # The clock opens them: the requester and staff read both quotes and Cedar's decline.
    await open_quotes(client, clock)
    for headers in (r_headers, staff_headers):
        opened = ok(await client.get(f"{REQUESTS}/{request_id}/quotes", headers=headers))
        prices = [(q["supplier_id"], q["price_minor"]) for q in opened["quotes"]]
        assert prices == [(alder, 45_000), (beech, 60_000)]  # cheapest first
        assert opened["declined"] == [cedar]
    for headers in (a_headers, b_headers, d_headers):
        refused(await client.get(f"{REQUESTS}/{request_id}/quotes", headers=headers), 404)
    view = ok(await client.get(f"{REQUESTS}/{request_id}", headers=r_headers))
    assert (view["quotes_count"], view["declined_count"]) == (2, 1)

    # The requester accepts Alder's: a contract for both, none of Beech's business.
    alders = next(q for q in opened["quotes"] if q["supplier_id"] == alder)
    accepted = await client.post(
        f"{REQUESTS}/{request_id}/acceptance",
        json={"quote_id": alders["quote_id"]},
        headers=r_headers,
    )
    contract = ok(accepted, 201)
    assert accepted.headers["location"] == f"/api/v1/contracts/{contract['id']}"
    for headers in (r_headers, a_headers):
        signed = ok(await client.get(f"/api/v1/contracts/{contract['id']}", headers=headers))
        assert signed["buyer_id"] == requester
        assert [p["organisation_id"] for p in signed["parties"]] == [alder]
        assert signed["value_minor"] == 45_000
    refused(await client.get(f"/api/v1/contracts/{contract['id']}", headers=b_headers), 404)
    refused(
        await client.post(
            f"{REQUESTS}/{request_id}/acceptance",
            json={"quote_id": alders["quote_id"]},
            headers=r_headers,
        ),
        409,
    )
    done = ok(await client.get(f"{REQUESTS}/{request_id}", headers=r_headers))
    assert done["status"] == "accepted"
    assert (done["accepted"]["supplier_id"], done["accepted"]["contract_id"]) == (
        alder,
        contract["id"],
    )
    # Beech sees its own quote and the outcome, never Alder's quote or what was accepted.
    theirs = ok(await client.get(f"{REQUESTS}/{request_id}", headers=b_headers))
    assert (theirs["status"], theirs["accepted"]) == ("accepted", None)
    own_quote = ok(await client.get(quote_path(beech, request_id), headers=b_headers))
    assert own_quote["price_minor"] == 60_000
    assert (await client.get(quote_path(alder, request_id), headers=b_headers)).status_code == 403


async def test_an_open_request_closed_with_no_acceptance(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    business = await register_business(client)
    b_headers = await token(client, business["email"])
    elm, _, e_headers = await member(client, staff_headers, "Elm Catering CIC")
    body = request_body(
        business["id"], title="Catering for a launch event", cpv_codes=["55520000"], budget=None
    )
    request_id = await posted(client, b_headers, body)
    await quoted(client, e_headers, elm, request_id, 120_000)
    refused(
        await client.post(
            f"{REQUESTS}/{request_id}/closure", json={"reason": "Too early"}, headers=b_headers
        ),
        409,
    )

    await open_quotes(client, clock)
    ok(
        await client.post(
            f"{REQUESTS}/{request_id}/closure",
            json={"reason": "The event was postponed"},
            headers=b_headers,
        )
    )
    closed = ok(await client.get(f"{REQUESTS}/{request_id}", headers=b_headers))
    assert (closed["status"], closed["reason"]) == ("closed", "The event was postponed")
    opened = ok(await client.get(f"{REQUESTS}/{request_id}/quotes", headers=b_headers))
    refused(
        await client.post(
            f"{REQUESTS}/{request_id}/acceptance",
            json={"quote_id": opened["quotes"][0]["quote_id"]},
            headers=b_headers,
        ),
        409,
    )


async def test_a_request_cancelled_before_its_deadline_never_opens_its_quotes(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    requester, _, r_headers = await member(client, staff_headers, "Fir Housing Co-operative")
    gorse, _, g_headers = await member(client, staff_headers, "Gorse Cleaning CIC")
    request_id = await posted(
        client, r_headers, request_body(requester, cpv_codes=["90910000-9"], budget=None)
    )
    await quoted(client, g_headers, gorse, request_id, 9_900)
    ok(
        await client.post(
            f"{REQUESTS}/{request_id}/cancellation",
            json={"reason": "Our own staff will do it"},
            headers=r_headers,
        )
    )
    late = await client.put(
        quote_path(gorse, request_id), json={"price_minor": 9_000}, headers=g_headers
    )
    refused(late, 409)

    await open_quotes(client, clock)
    never = refused(await client.get(f"{REQUESTS}/{request_id}/quotes", headers=r_headers), 409)
    assert "cancelled" in never["detail"]
    view = ok(await client.get(f"{REQUESTS}/{request_id}", headers=r_headers))
    assert (view["status"], view["quotes_count"]) == ("cancelled", None)
    own = ok(await client.get(quote_path(gorse, request_id), headers=g_headers))
    assert own["status"] == "closed"
    # Gorse was told, sealed, once however often the clock runs.
    await tick(client)
    told = [body for t, body in await sealed_notices(client, gorse) if t != "quote_receipt"]
    assert len(told) == 1
    assert "Our own staff will do it" in told[0]
    assert "will never be opened" in told[0]


async def test_an_invited_quoter_of_a_cancelled_request_is_told_once(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    requester, _, r_headers = await member(client, staff_headers, "Hazel Housing Co-operative")
    holly, _, h_headers = await member(client, staff_headers, "Holly Cleaning CIC")
    body = request_body(requester, audience="invited", invited=[holly], budget=None)
    request_id = await posted(client, r_headers, body)
    await quoted(client, h_headers, holly, request_id, 8_800)
    ok(
        await client.post(
            f"{REQUESTS}/{request_id}/cancellation",
            json={"reason": "The tenants moved the furniture themselves"},
            headers=r_headers,
        )
    )
    await open_quotes(client, clock)
    services = services_of(client)
    await services.run(services.readside.projector.catch_up)
    # The request's notice writer tells every invited member; the sealed side, which alone
    # knows the quoters, tells only those it did not invite: one message, not two.
    sealed = [t for t, _ in await sealed_notices(client, holly) if t != "quote_receipt"]
    assert sealed == []
    async with services.engine.connect() as connection:
        plain = list(
            await connection.scalars(
                select(outbox_messages.c.body).where(
                    outbox_messages.c.organisation_id == uuid.UUID(holly),
                    outbox_messages.c.template == "quote_request_cancelled",
                )
            )
        )
    assert len(plain) == 1
    assert "The tenants moved the furniture themselves" in plain[0]


async def test_the_clock_interrupted_between_its_steps_repeats_only_what_is_left(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    requester, _, r_headers = await member(client, staff_headers, "Larch Housing CIC")
    maple, _, m_headers = await member(client, staff_headers, "Maple Removals CIC")
    request_id = await posted(client, r_headers, request_body(requester, budget=None))
    await quoted(client, m_headers, maple, request_id, 70_000)
    services = services_of(client)
    bids, marketplace = services.applications["bids"], services.applications["marketplace"]
    margin = timedelta(seconds=services.settings.bid_opening_margin_seconds)
    clock.set(datetime.fromisoformat(DEADLINE.replace("Z", "+00:00")) + margin)
    context = Context(actor=CLOCK, request_id="opening-crashed", at=clock.now())

    def recorded() -> int:
        notifications = marketplace.recorder.select_notifications(start=1, limit=1_000_000)
        return sum(
            1
            for n in notifications
            if n.topic.endswith("RequestForQuote.QuotesOpened")
            and n.originator_id == uuid.UUID(request_id)
        )

    # Crashed after opening the quotes, before recording them: the tick records them.
    request = await services.run(marketplace.request_for_quote, uuid.UUID(request_id))
    await services.run(bids.open_quotes, context, request)
    await tick(client)
    assert recorded() == 1
    # Crashed after recording, before settling the key: the tick settles it, records nothing.
    async with services.engine.begin() as connection:
        await connection.execute(
            update(sealing_keys)
            .where(sealing_keys.c.key_id == uuid.UUID(request_id))
            .values(settled_at=None)
        )
    await tick(client)
    assert recorded() == 1
    async with services.engine.connect() as connection:
        settled = await connection.execute(
            select(sealing_keys.c.settled_at).where(sealing_keys.c.key_id == uuid.UUID(request_id))
        )
        assert settled.scalar_one() is not None
    opened = ok(await client.get(f"{REQUESTS}/{request_id}/quotes", headers=r_headers))
    assert [(q["supplier_id"], q["price_minor"]) for q in opened["quotes"]] == [(maple, 70_000)]


async def test_bad_requests_and_quotes_are_refused_naming_the_field(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    requester, _, r_headers = await member(client, staff_headers, "Hazel Housing Trust")
    ivy, _, i_headers = await member(client, staff_headers, "Ivy Removals CIC")

    async def post(status: int, field: str | None, **changes: Any) -> None:
        body = request_body(requester, **changes)
        refused(await client.post(REQUESTS, json=body, headers=r_headers), status, field)

    await post(400, "title", title="")
    await post(400, "cpv_codes", cpv_codes=[])
    await post(422, "cpv_codes[0]", cpv_codes=["99999999"])
    await post(422, "regions[0]", regions=["ZZ9"])
    await post(400, "audience", audience="everyone")
    await post(422, "budget.max_minor", budget=BUDGET | {"min_minor": 90_000})
    await post(400, "budget.max_minor", budget=BUDGET | {"max_minor": 0})
    await post(422, "deadline", deadline="2026-03-01T12:00:00Z")  # before now
    far = {"start": "2026-07-02T08:00:00Z", "end": "2026-07-03T17:00:00Z"}
    await post(422, "deadline", deadline="2026-07-01T12:00:00Z", period=far)  # beyond 90 days
    await post(
        422, "period.end", period={"start": "2026-03-02T08:00:00Z", "end": "2026-03-03T17:00:00Z"}
    )
    # The requester among those it invites, and another organisation's request.
    await post(422, "invited", audience="invited", invited=[requester])
    # Only members in good standing are invited: an id that names nothing is refused at its
    # place in the list (a mistyped id would leave the request waiting on nobody).
    await post(422, "invited[1]", audience="invited", invited=[ivy, str(uuid.uuid4())])
    someone_else = await client.post(REQUESTS, json=request_body(ivy), headers=r_headers)
    refused(someone_else, 403)
    refused(await client.post(REQUESTS, json=request_body(requester), headers=staff_headers), 403)
    # A registered social enterprise that is not a member in good standing does not request.
    stranger = await register(client, name="Juniper Workshop CIC")
    # Nor is it invited: the same answer as for an id naming nothing.
    await post(422, "invited[0]", audience="invited", invited=[stranger["id"]])
    s_headers = await token(client, stranger["email"])
    key = f"rfq-{uuid.uuid4().hex}"
    keyed = s_headers | {"Idempotency-Key": key}
    refused(await client.post(REQUESTS, json=request_body(stranger["id"]), headers=keyed), 409)
    # Its sealing key, made before the post was refused, is settled: the clock never looks
    # for it again.
    refused_id = RequestForQuote.id_for(uuid.UUID(stranger["id"]), key)
    services = services_of(client)
    assert refused_id not in await services.run(services.sealing.unsettled_tenders)

    # Invited (left open, it is no other test's business).
    invited = request_body(requester, audience="invited", invited=[ivy])
    request_id = await posted(client, r_headers, invited)
    path = quote_path(ivy, request_id)
    for body, status, field in [
        ({"price_minor": 0}, 400, "price_minor"),
        ({"price_minor": 10**13}, 400, "price_minor"),
        ({"price_minor": 1_000, "currency": "gbp"}, 400, "currency"),
        ({"price_minor": 1_000, "currency": "EUR"}, 422, "currency"),  # the budget's is GBP
        ({"price_minor": 1_000, "note": "x" * 4001}, 400, "note"),
        ({"note": "no price"}, 400, "price_minor"),
    ]:
        refused(await client.put(path, json=body, headers=i_headers), status, field)
    # Nothing was quoted by any of them.
    refused(await client.get(path, headers=i_headers), 404)
    refused(await client.post(f"{path}/decline", json={"reason": ""}, headers=i_headers), 400)


async def test_a_retried_post_with_its_idempotency_key_is_the_same_request(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    requester, _, r_headers = await member(client, staff_headers, "Juniper Housing CIC")
    invited, _, _ = await member(client, staff_headers, "Laurel Joinery CIC")
    keyed = r_headers | {"Idempotency-Key": f"rfq-{uuid.uuid4().hex}"}
    # Invited (left open, it is no other test's business).
    body = request_body(requester, audience="invited", invited=[invited])
    first = ok(await client.post(REQUESTS, json=body, headers=keyed), 201)
    again = ok(await client.post(REQUESTS, json=body, headers=keyed), 201)
    assert (again["id"], again["version"]) == (first["id"], first["version"])
    other = await client.post(REQUESTS, json=body | {"title": "Another job"}, headers=keyed)
    refused(other, 409)
    fresh = ok(await client.post(REQUESTS, json=body, headers=r_headers), 201)
    assert fresh["id"] != first["id"]
