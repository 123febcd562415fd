"""Probe of saved searches and alerts (issue 17), on both stores, as an attacker would: another
organisation's search or alert is a 404 (or the 403 of a path not its own, whether or not the
id exists), staff are refused; odd ids, criteria and feed parameters are named problems, never
a 500; a deleted search is gone; two writers of one version: one 409; a replayed save saves
once; the cap holds exactly, even raced; only members in good standing save or change; no
alert for a draft, one per search per tender however often amended; alerts carry public facts
only; odd events in the log are skipped and the follower keeps going."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from marketplace.alerts.book import MAX_SEARCHES
from marketplace.alerts.criteria import Criteria, matches, opportunity_facts
from marketplace.application import BuyerFacts
from marketplace.tender_terms import LotInput, parse_terms
from sharedkernel.events import Context
from tests.api.helpers import register, services_of, token
from tests.api.test_alerts import buyer, drafted, good_member, ok, publish
from tests.api.test_membership_standing import tick as standing_tick
from tests.api.test_ocds_probe import forge
from tests.api.test_outside_probe import failures
from tests.conftest import AppClient
from tests.unit.test_tender_domain import evaluation
from tradehall.clock import ManualClock
from tradehall.mail.tables import outbox_messages
from tradehall.marketplace.alerts.follower import IMMEDIATE_TEMPLATE, AlertFollower
from tradehall.marketplace.alerts.tables import alerts

Client = AppClient
Headers = dict[str, str]


def body(tag: str, **changes: Any) -> dict[str, Any]:
    return {
        "name": "Meals",
        "cpv_prefixes": ["5552"],
        "keywords": [tag],
        "delivery": "immediate",
    } | changes


async def settle(client: Client) -> None:
    services = services_of(client)
    await services.run(services.readside.projector.catch_up)


def marketplace(client: Client) -> Any:
    return services_of(client).applications["marketplace"]


def base(organisation: uuid.UUID) -> str:
    return f"/api/v1/organisations/{organisation}"


async def saved(client: Client, organisation: uuid.UUID, headers: Headers, data: Any) -> str:
    response = await client.post(f"{base(organisation)}/saved-searches", json=data, headers=headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def feed(client: Client, organisation: uuid.UUID, headers: Headers) -> list[Any]:
    await settle(client)
    found = ok(await client.get(f"{base(organisation)}/alerts", headers=headers))
    return list(found["items"])


def named(response: Any, field: str) -> None:
    """A problem (400 or 422, never a 500) that names the field."""
    assert response.status_code in (400, 422), response.text
    assert field in response.text, response.text


# Who may see what ---------------------------------------------------------------------------


async def test_another_organisation_s_searches_and_alerts_are_not_found_and_staff_refused(
    client: Client, clock: ManualClock, staff_headers: Headers
) -> None:
    mine, headers = await good_member(client, staff_headers)
    theirs, their_headers = await good_member(client, staff_headers)
    tag = uuid.uuid4().hex[:10]
    search = await saved(client, mine, headers, body(tag))
    council = await buyer(client, clock)
    clock.advance(timedelta(minutes=1))
    tender = await drafted(client, clock, council, f"Lunches {tag}")
    await publish(client, clock, tender)
    [alert] = await feed(client, mine, headers)
    unknown = uuid.uuid4()

    # Under their own path, my search and alert are what does not exist: a 404, the same as
    # an id nobody has.
    for target in (search, unknown):
        path = f"{base(theirs)}/saved-searches/{target}"
        assert (await client.get(path, headers=their_headers)).status_code == 404
        put = await client.put(path, json=body(tag), headers=their_headers)
        assert put.status_code == 404
        assert (await client.delete(path, headers=their_headers)).status_code == 404
    for target in (alert["id"], unknown):
        read = await client.post(f"{base(theirs)}/alerts/{target}/read", headers=their_headers)
        assert read.status_code == 404
    assert await feed(client, theirs, their_headers) == []
    # Under my path, they are refused the same whether the id exists or not.
    for target in (search, unknown):
        path = f"{base(mine)}/saved-searches/{target}"
        assert (await client.get(path, headers=their_headers)).status_code == 403
        assert (await client.delete(path, headers=their_headers)).status_code == 403
    for target in (alert["id"], unknown):
        read = await client.post(f"{base(mine)}/alerts/{target}/read", headers=their_headers)
        assert read.status_code == 403
    # Staff are not the organisation: refused, saving included.
    for response in (
        await client.get(f"{base(mine)}/saved-searches", headers=staff_headers),
        await client.get(f"{base(mine)}/saved-searches/{search}", headers=staff_headers),
        await client.get(f"{base(mine)}/alerts", headers=staff_headers),
        await client.post(f"{base(mine)}/alerts/{alert['id']}/read", headers=staff_headers),
        await client.post(f"{base(mine)}/saved-searches", json=body(tag), headers=staff_headers),
    ):
        assert response.status_code == 403, response.text
    # Nobody signed in: 401.
    assert (await client.get(f"{base(mine)}/alerts")).status_code == 401
    # Untouched by all that.
    [still] = await feed(client, mine, headers)
    assert (still["id"], still["read"]) == (alert["id"], False)
    one = ok(await client.get(f"{base(mine)}/saved-searches/{search}", headers=headers))
    assert one["version"] == 1


@pytest.mark.parametrize(
    "path",
    [
        "/saved-searches/not-a-uuid",
        "/saved-searches/00000000-0000-0000-0000-000000000000",
        "/saved-searches/" + "f" * 5000,
        "/saved-searches/%00",
        "/alerts/not-a-uuid/read",
        "/alerts/00000000-0000-0000-0000-000000000000/read",
    ],
)
async def test_odd_ids_are_not_found_never_a_500(
    client: Client, staff_headers: Headers, path: str
) -> None:
    mine, headers = await good_member(client, staff_headers)
    method = client.post if path.endswith("/read") else client.get
    response = await method(f"{base(mine)}{path}", headers=headers)
    assert response.status_code in (404, 400), response.text


# Odd criteria -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": "Meals\x00"}, "name"),
        ({"name": "\u202eslaeM"}, "name"),
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "n" * 121}, "name"),
        ({"keywords": ["soup\x00"]}, "keywords"),
        ({"keywords": ["\u2066soup"]}, "keywords"),
        ({"keywords": [" "]}, "keywords"),
        ({"keywords": ["k"] * 21}, "keywords"),
        ({"keywords": "soup"}, "keywords"),
        ({"keywords": [5]}, "keywords"),
        ({"min_value_minor": 10**30}, "min_value_minor"),
        ({"max_value_minor": 10**30}, "max_value_minor"),
        ({"min_value_minor": -1}, "min_value_minor"),
        ({"min_value_minor": 1.5}, "min_value_minor"),
        ({"min_value_minor": "100"}, "min_value_minor"),
        ({"min_value_minor": 500, "max_value_minor": 499}, "max_value_minor"),
        ({"cpv_prefixes": ["abc"]}, "cpv_prefixes"),
        ({"cpv_prefixes": ["5"]}, "cpv_prefixes"),
        ({"cpv_prefixes": ["555200001"]}, "cpv_prefixes"),
        ({"cpv_prefixes": ["5552\x00"]}, "cpv_prefixes"),
        ({"cpv_prefixes": ["55"] * 51}, "cpv_prefixes"),
        ({"regions": ["XX9"]}, "regions"),
        ({"regions": ["TLZ99"]}, "regions"),
        ({"regions": ["TL\x00"]}, "regions"),
        ({"regions": ["TLC"] * 51}, "regions"),
        ({"delivery": "weekly"}, "delivery"),
        ({"vcse_only": "yes"}, "vcse_only"),
        ({"include_outside": None}, "include_outside"),
        ({"owner": "someone else"}, "owner"),
        ({"organisation_id": str(uuid.uuid4())}, "organisation_id"),
    ],
)
async def test_odd_criteria_are_problems_naming_the_field_and_record_nothing(
    client: Client, staff_headers: Headers, changes: dict[str, Any], field: str
) -> None:
    mine, headers = await good_member(client, staff_headers)
    tag = uuid.uuid4().hex[:10]
    response = await client.post(
        f"{base(mine)}/saved-searches", json=body(tag, **changes), headers=headers
    )
    named(response, field)
    search = await saved(client, mine, headers, body(tag))
    changed = await client.put(
        f"{base(mine)}/saved-searches/{search}", json=body(tag, **changes), headers=headers
    )
    named(changed, field)
    await settle(client)
    [only] = ok(await client.get(f"{base(mine)}/saved-searches", headers=headers))["items"]
    assert (only["id"], only["version"]) == (search, 1)


async def test_odd_but_valid_criteria_are_kept_tidily(
    client: Client, staff_headers: Headers
) -> None:
    mine, headers = await good_member(client, staff_headers)
    tag = uuid.uuid4().hex[:10]
    data = body(
        tag,
        cpv_prefixes=["5552", "5552", " 5552 ".strip(), "55"],
        regions=["tlc", "TLC", "TLC3"],
        keywords=[f"  {tag.upper()}  ", tag, "Day   centres"],
        min_value_minor=0,
        max_value_minor=10**12,
    )
    search = await saved(client, mine, headers, data)
    await settle(client)
    one = ok(await client.get(f"{base(mine)}/saved-searches/{search}", headers=headers))
    assert one["cpv_prefixes"] == ["5552", "55"]
    assert one["keywords"] == [tag, "day centres"]
    assert one["regions"] in (["TLC", "TLC3"], ["TLC"])
    assert (one["min_value_minor"], one["max_value_minor"]) == (0, 10**12)


# Writers ------------------------------------------------------------------------------------


async def test_a_deleted_search_cannot_be_read_changed_or_deleted_again(
    client: Client, staff_headers: Headers
) -> None:
    mine, headers = await good_member(client, staff_headers)
    tag = uuid.uuid4().hex[:10]
    search = await saved(client, mine, headers, body(tag))
    path = f"{base(mine)}/saved-searches/{search}"
    ok(await client.delete(path, headers=headers))
    await settle(client)
    assert (await client.get(path, headers=headers)).status_code == 404
    assert (await client.put(path, json=body(tag), headers=headers)).status_code == 404
    stale = await client.put(path, json=body(tag), headers=headers | {"If-Match": '"2"'})
    assert stale.status_code == 404
    assert (await client.delete(path, headers=headers)).status_code == 404
    assert ok(await client.get(f"{base(mine)}/saved-searches", headers=headers))["items"] == []


async def test_two_changes_of_one_version_at_once_one_is_a_409(
    client: Client, staff_headers: Headers
) -> None:
    mine, headers = await good_member(client, staff_headers)
    tag = uuid.uuid4().hex[:10]
    search = await saved(client, mine, headers, body(tag))
    path = f"{base(mine)}/saved-searches/{search}"
    at_one = headers | {"If-Match": '"1"'}
    responses = await asyncio.gather(
        client.put(path, json=body(tag, name="First"), headers=at_one),
        client.put(path, json=body(tag, name="Second"), headers=at_one),
        client.delete(path, headers=at_one),
    )
    codes = [r.status_code for r in responses]
    assert codes.count(200) == 1, [r.text for r in responses]
    await settle(client)
    kept = [r for r in responses if r.status_code == 200]
    assert kept[0].json()["version"] == 2
    if codes[2] == 200:
        # The delete won: the search is gone, so the changes at its old version find nothing.
        assert codes[:2] == [404, 404], [r.text for r in responses]
        assert (await client.get(path, headers=headers)).status_code == 404
    else:
        # A change won: the other change and the delete named a version that is stale.
        assert sorted(codes) == [200, 409, 409], [r.text for r in responses]
        name = (await client.get(path, headers=headers)).json()["name"]
        assert name == ("First" if codes[0] == 200 else "Second")


async def test_a_replayed_save_with_an_idempotency_key_saves_once(
    client: Client, staff_headers: Headers
) -> None:
    mine, headers = await good_member(client, staff_headers)
    theirs, their_headers = await good_member(client, staff_headers)
    tag = uuid.uuid4().hex[:10]
    keyed = headers | {"Idempotency-Key": f"save-{tag}"}
    path = f"{base(mine)}/saved-searches"
    answers = await asyncio.gather(
        *(client.post(path, json=body(tag), headers=keyed) for _ in "123")
    )
    assert [a.status_code for a in answers] == [201, 201, 201], [a.text for a in answers]
    assert len({a.json()["id"] for a in answers}) == 1
    again = await client.post(path, json=body(tag), headers=keyed)
    assert (again.status_code, again.json()["id"]) == (201, answers[0].json()["id"])
    other = await client.post(path, json=body(tag, name="Other"), headers=keyed)
    assert other.status_code == 409, other.text
    # The same key from another organisation is its own search.
    their_keyed = their_headers | {"Idempotency-Key": f"save-{tag}"}
    theirs_saved = await saved(client, theirs, their_keyed, body(tag))
    assert theirs_saved != answers[0].json()["id"]
    bad_key = await client.post(path, json=body(tag), headers=headers | {"Idempotency-Key": "x"})
    named(bad_key, "Idempotency-Key")
    await settle(client)
    listed = ok(await client.get(path, headers=headers))["items"]
    assert [i["id"] for i in listed] == [answers[0].json()["id"]]


async def test_the_cap_holds_exactly_even_when_saves_race(
    client: Client, staff_headers: Headers
) -> None:
    mine, headers = await good_member(client, staff_headers)
    tag = uuid.uuid4().hex[:10]
    path = f"{base(mine)}/saved-searches"
    ids = [await saved(client, mine, headers, body(tag, name=f"S{n}")) for n in range(22)]
    racing = await asyncio.gather(
        *(client.post(path, json=body(tag, name=f"R{n}"), headers=headers) for n in range(8))
    )
    statuses = sorted(r.status_code for r in racing)
    assert statuses == [201] * 3 + [409] * 5, [r.text for r in racing]
    refused = next(r for r in racing if r.status_code == 409)
    assert str(MAX_SEARCHES) in refused.json()["detail"]
    # A deleted one frees its place; a delete that races a save still counts right.
    ok(await client.delete(f"{path}/{ids[0]}", headers=headers))
    await saved(client, mine, headers, body(tag, name="Back"))
    full = await client.post(path, json=body(tag, name="Over"), headers=headers)
    assert full.status_code == 409
    await settle(client)
    assert len(ok(await client.get(path, headers=headers))["items"]) == MAX_SEARCHES


async def test_only_members_in_good_standing_save_or_change_and_a_lapsed_member_s_are_kept(
    client: Client, clock: ManualClock, staff_headers: Headers
) -> None:
    registered = await register(client)
    newcomer = uuid.UUID(registered["id"])
    refused = await client.post(
        f"{base(newcomer)}/saved-searches",
        json=body("x"),
        headers=await token(client, registered["email"]),
    )
    assert refused.status_code == 409
    assert "good standing" in refused.json()["detail"]

    mine, headers = await good_member(client, staff_headers)
    tag = uuid.uuid4().hex[:10]
    kept = await saved(client, mine, headers, body(tag))
    dropped = await saved(client, mine, headers, body(tag, name="Dropped"))
    clock.advance(timedelta(days=365 + 40))  # past paid-up-until and the grace period
    await standing_tick(client)
    path = f"{base(mine)}/saved-searches"
    assert (await client.post(path, json=body(tag), headers=headers)).status_code == 409
    change = await client.put(f"{path}/{kept}", json=body(tag, name="New"), headers=headers)
    assert change.status_code == 409
    assert "good standing" in change.json()["detail"]
    ok(await client.delete(f"{path}/{dropped}", headers=headers))
    await settle(client)
    assert [i["id"] for i in ok(await client.get(path, headers=headers))["items"]] == [kept]
    # A lapsed member's kept search goes on alerting (ADR 33), members-only tenders included:
    # their public facts are public (the board shows them to anyone).
    council = await buyer(client, clock)
    clock.advance(timedelta(minutes=1))
    tender = await drafted_members_only(client, clock, council, f"Suppers {tag}")
    await publish(client, clock, tender)
    [alert] = await feed(client, mine, headers)
    assert alert["item_id"] == str(tender)
    assert (await client.get(f"/api/v1/tenders/{tender}")).status_code == 200


async def drafted_members_only(
    client: Client, clock: ManualClock, council: uuid.UUID, title: str
) -> uuid.UUID:
    now = clock.now()
    terms = parse_terms(
        title=title,
        description="Meals for the day centres",
        method="open",
        category="services",
        lots=[LotInput("All", "Every centre", ["55520000"], 5_000_000)],
        enquiry_period=(now, now + timedelta(days=20)),
        tender_period=(now, now + timedelta(days=30)),
        contract_period=(now + timedelta(days=60), now + timedelta(days=400)),
        members_only=True,
        quality_mark_required=False,
        regions=[],
        evaluation=evaluation(),
    )
    tender_id = uuid.uuid4()
    context = Context("user:test", "test", now)
    await services_of(client).run(
        marketplace(client).draft_tender, context, tender_id, council, terms
    )
    return tender_id


# What alerts -------------------------------------------------------------------------------


async def test_no_alert_for_a_draft_and_one_for_a_tender_amended_many_times(
    client: Client, clock: ManualClock, staff_headers: Headers
) -> None:
    mine, headers = await good_member(client, staff_headers)
    tag = uuid.uuid4().hex[:10]
    await saved(client, mine, headers, body(tag))
    await saved(client, mine, headers, body(tag, name="Daily", delivery="daily"))
    council = await buyer(client, clock)
    clock.advance(timedelta(minutes=1))
    draft = await drafted(client, clock, council, f"Draft {tag}")
    assert await feed(client, mine, headers) == []
    # A draft revised stays a draft.
    services = services_of(client)
    app = marketplace(client)
    terms = app.repository.get(draft).terms
    context = Context("user:test", "test", clock.now())
    for _ in range(3):
        await services.run(app.revise_draft, context, draft, terms)
    assert await feed(client, mine, headers) == []
    assert (await client.get(f"/api/v1/tenders/{draft}")).status_code == 404

    tender = await drafted(client, clock, council, f"Lunches {tag}")
    await publish(client, clock, tender)
    for n in range(12):
        clock.advance(timedelta(minutes=1))
        await settle(client)  # each amendment its own batch, as in service
        current = app.repository.get(tender).terms
        amended = current.__class__.from_data(
            current.as_data() | {"description": f"Meals, version {n}"}
        )
        await services.run(
            app.amend_tender,
            Context("user:test", "test", clock.now()),
            tender,
            amended,
            "clarified",
            BuyerFacts("public_body"),
        )
    items = await feed(client, mine, headers)
    assert sorted(i["delivery"] for i in items) == ["daily", "immediate"]
    assert {i["item_id"] for i in items} == {str(tender)}
    async with services.engine.connect() as connection:
        queued = list(
            await connection.execute(
                select(outbox_messages.c.message_id).where(
                    outbox_messages.c.organisation_id == mine,
                    outbox_messages.c.template == IMMEDIATE_TEMPLATE,
                )
            )
        )
    assert len(queued) == 1  # the immediate one's, once


async def test_alerts_carry_a_tender_s_public_facts_only(
    client: Client, clock: ManualClock, staff_headers: Headers
) -> None:
    # The follower reads the marketplace log alone, where bids write nothing (sealed in their
    # own log): no alert can hold anything of a bid.
    assert AlertFollower.logs == ("marketplace",)
    mine, headers = await good_member(client, staff_headers)
    tag = uuid.uuid4().hex[:10]
    await saved(client, mine, headers, body(tag))
    council = await buyer(client, clock)
    clock.advance(timedelta(minutes=1))
    tender = await drafted(client, clock, council, f"Lunches {tag}")
    await publish(client, clock, tender)
    [alert] = await feed(client, mine, headers)
    assert set(alert) == {
        "id",
        "search_id",
        "kind",
        "item_id",
        "title",
        "delivery",
        "created_at",
        "sent",
        "read",
        "read_at",
    }
    async with services_of(client).engine.connect() as connection:
        [message] = list(
            await connection.execute(
                select(outbox_messages).where(
                    outbox_messages.c.organisation_id == mine,
                    outbox_messages.c.template == IMMEDIATE_TEMPLATE,
                )
            )
        )
        [row] = list(
            await connection.execute(select(alerts).where(alerts.c.organisation_id == mine))
        )
    assert message.recipient is None
    assert message.sealed is None
    assert f"Lunches {tag}" in message.body
    assert f"/api/v1/tenders/{tender}" in message.body
    assert f"/api/v1/organisations/{mine}/alerts" in message.body
    assert str(council) not in message.body + message.subject + row.title


async def test_an_outside_release_dated_ahead_counts_as_released_when_imported(
    client: Client, clock: ManualClock, staff_headers: Headers
) -> None:
    mine, headers = await good_member(client, staff_headers)
    tag = uuid.uuid4().hex[:10]
    before = await saved(client, mine, headers, body(tag, name="Before"))
    clock.advance(timedelta(minutes=1))
    opportunity = uuid.uuid4()
    summary = {
        "title": f"Future {tag}",
        "description": "",
        "status": "active",
        "deadline": (clock.now() + timedelta(days=60)).isoformat(),
        "amount": None,
        "currency": None,
        "cpv_codes": ["55520000"],
        "regions": [],
        "unresolved_regions": [],
        "vcse": None,
    }
    await forge(
        client,
        opportunity,
        1,
        "marketplace.outside.opportunity:Opportunity.Imported",
        timestamp=clock.now(),
        summary=summary,
        release=json.dumps({"date": "2099-01-01T00:00:00Z"}),
    )
    clock.advance(timedelta(minutes=1))
    # Saved after the import: its release's date, years ahead, makes it no newer than that.
    await saved(client, mine, headers, body(tag, name="After"))
    [alert] = await feed(client, mine, headers)
    assert (alert["item_id"], alert["search_id"]) == (str(opportunity), before)
    assert failures(client) == []


def test_a_keyword_finds_a_title_however_its_accents_are_composed() -> None:
    criteria = Criteria.parse(keywords=["Café"])
    decomposed = opportunity_facts({"title": "Cafe\u0301 supplies", "cpv_codes": ["15"]})
    assert matches(criteria, decomposed)
    assert not matches(criteria, opportunity_facts({"title": "Cafe supplies"}))


# Feed parameters ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "-1"}, "limit"),
        ({"limit": "201"}, "limit"),
        ({"limit": "abc"}, "limit"),
        ({"limit": "1e3"}, "limit"),
        ({"limit": str(10**30)}, "limit"),
        ({"limit": "5\x00"}, "limit"),
        ({"order": "newest"}, "order"),
        ({"order": ""}, "order"),
        ({"order": "UNREAD"}, "order"),
        ({"position": "nonsense"}, "position"),
        ({"position": f"marketplace:{10**30}"}, "position"),
    ],
)
async def test_odd_feed_parameters_are_400_naming_the_parameter(
    client: Client, staff_headers: Headers, params: dict[str, str], field: str
) -> None:
    mine, headers = await good_member(client, staff_headers)
    response = await client.get(f"{base(mine)}/alerts", params=params, headers=headers)
    assert response.status_code == 400, response.text
    assert field in response.text, response.text


async def test_the_feed_s_limit_pages_unread_first(
    client: Client, clock: ManualClock, staff_headers: Headers
) -> None:
    mine, headers = await good_member(client, staff_headers)
    tag = uuid.uuid4().hex[:10]
    await saved(client, mine, headers, body(tag))
    council = await buyer(client, clock)
    for n in range(3):
        clock.advance(timedelta(minutes=1))
        await publish(client, clock, await drafted(client, clock, council, f"T{n} {tag}"))
    items = await feed(client, mine, headers)
    assert len(items) == 3
    read = await client.post(f"{base(mine)}/alerts/{items[0]['id']}/read", headers=headers)
    assert read.status_code == 204
    one = ok(await client.get(f"{base(mine)}/alerts", params={"limit": 1}, headers=headers))
    assert (len(one["items"]), one["items"][0]["read"], one["unread"]) == (1, False, 2)


# Odd events ---------------------------------------------------------------------------------


async def test_odd_events_in_the_log_are_skipped_and_the_follower_keeps_going(
    client: Client, clock: ManualClock, staff_headers: Headers
) -> None:
    mine, headers = await good_member(client, staff_headers)
    tag = uuid.uuid4().hex[:10]
    search_id = uuid.UUID(await saved(client, mine, headers, body(tag)))
    await settle(client)
    at = clock.now()
    naive = at.replace(tzinfo=None)
    search = "marketplace.alerts.search:SavedSearch."
    tender = "marketplace.tenders:Tender."
    opportunity = "marketplace.outside.opportunity:Opportunity."
    criteria = {
        "cpv_prefixes": ["55"],
        "regions": [],
        "min_value_minor": None,
        "max_value_minor": None,
        "keywords": [tag],
        "vcse_only": False,
        "include_outside": True,
    }
    saved_fields = {
        "organisation_id": str(mine),
        "user_id": str(uuid.uuid4()),
        "name": "Forged",
        "criteria": criteria,
        "delivery": "immediate",
    }

    def odd_criteria(**changes: Any) -> dict[str, Any]:
        return saved_fields | {"criteria": criteria | changes}

    council = await buyer(client, clock)
    real_terms = (
        marketplace(client)
        .repository.get(await drafted(client, clock, council, f"Model {tag}"))
        .terms.as_data()
    )
    odd: list[tuple[uuid.UUID, int, str, dict[str, Any]]] = [
        (uuid.uuid4(), 1, search + "Saved", {}),
        (uuid.uuid4(), 1, search + "Saved", saved_fields | {"criteria": "all"}),
        (uuid.uuid4(), 1, search + "Saved", saved_fields | {"criteria": criteria | {"regions": 5}}),
        (uuid.uuid4(), 1, search + "Saved", saved_fields | {"delivery": "weekly"}),
        (uuid.uuid4(), 1, search + "Saved", odd_criteria(keywords="ab")),
        (uuid.uuid4(), 1, search + "Saved", odd_criteria(min_value_minor=True)),
        (uuid.uuid4(), 1, search + "Saved", saved_fields | {"organisation_id": "nobody"}),
        (
            uuid.uuid4(),
            1,
            search + "Saved",
            saved_fields | {"criteria": criteria | {"min_value_minor": "1e400"}},
        ),
        (uuid.uuid4(), 1, search + "Saved", saved_fields | {"name": "\x00\ud800" + "n" * 5000}),
        (uuid.uuid4(), 1, search + "Saved", saved_fields | {"timestamp": naive}),
        (uuid.uuid4(), 1, search + "Saved", saved_fields | {"timestamp": "yesterday"}),
        (uuid.uuid4(), 2, search + "Changed", {"name": "x", "criteria": criteria}),  # unknown
        (search_id, 2, search + "Changed", {"name": "x", "criteria": None, "delivery": "daily"}),
        (search_id, 3, search + "Changed", {"timestamp": naive, "name": "x"}),
        (uuid.uuid4(), 1, tender + "Drafted", {"terms": None}),
        (uuid.uuid4(), 1, tender + "Drafted", {"terms": {"lots": 5}}),
        (uuid.uuid4(), 1, tender + "Drafted", {"terms": real_terms | {"lots": [{"x": 1}]}}),
        (uuid.uuid4(), 1, tender + "Drafted", {"terms": real_terms, "timestamp": naive}),
        (uuid.uuid4(), 2, tender + "Published", {"status": "active"}),  # never drafted
        (uuid.uuid4(), 2, tender + "Ended", {"status": "cancelled", "reason": "x"}),
        (uuid.uuid4(), 2, tender + "Amended", {"terms": "new"}),
        (uuid.uuid4(), 1, opportunity + "Imported", {"summary": [1]}),
        (uuid.uuid4(), 1, opportunity + "Imported", {"summary": {"regions": 5}}),
        (uuid.uuid4(), 1, opportunity + "Imported", {"summary": {}, "release": "{not json"}),
        (uuid.uuid4(), 1, opportunity + "Imported", {"summary": {}, "timestamp": naive}),
    ]
    # A forged tender drafted and published with a naive time, and one with an odd title.
    naive_tender, odd_title = uuid.uuid4(), uuid.uuid4()
    title_terms = real_terms | {"title": f"\x00\ud800 {tag} " + "t" * 5000}
    odd += [
        (naive_tender, 1, tender + "Drafted", {"terms": real_terms | {"title": f"Naive {tag}"}}),
        (naive_tender, 2, tender + "Published", {"status": "active", "timestamp": naive}),
        (odd_title, 1, tender + "Drafted", {"terms": title_terms}),
        (odd_title, 2, tender + "Published", {"status": "active"}),
    ]
    clock.advance(timedelta(minutes=1))
    later = clock.now()
    for originator, version, topic, payload in odd:
        await forge(client, originator, version, topic, **({"timestamp": later} | payload))
    await settle(client)
    assert failures(client) == []
    # The odd title's tender alerted, its title made storable.
    items = await feed(client, mine, headers)
    assert [i["item_id"] for i in items] == [str(odd_title)]
    assert len(items[0]["title"]) <= 300
    # A real tender after them alerts as ever.
    clock.advance(timedelta(minutes=1))
    real = await drafted(client, clock, council, f"Lunches {tag}")
    await publish(client, clock, real)
    items = await feed(client, mine, headers)
    assert {i["item_id"] for i in items} == {str(odd_title), str(real)}
    assert failures(client) == []
