"""Saved searches and alerts (issue 17), on both stores: a search alerts once per tender or
outside opportunity published after it was saved (judged by event time, whatever the log's
order), immediately by mail or in a daily digest; a crash between recording and queueing, or
sending, sends once; an outside opportunity alerts only if open and first released after the
search; the HTTP routes: save, read, change, delete, the feed, read flags; another
organisation's search or alert is a 404."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from marketplace.alerts.criteria import Criteria, Delivery
from marketplace.application import BuyerFacts
from marketplace.outside.opportunity import opportunity_id_for
from marketplace.tender_terms import LotInput, parse_terms
from projections.events import EventSource
from sharedkernel.events import Context
from tests.api.conftest import Mailbox
from tests.api.helpers import register, services_of, token
from tests.api.test_membership_standing import admitted, pay
from tests.conftest import FAST_PASSWORDS, AppClient, running
from tests.unit.test_tender_domain import evaluation
from tradehall.api.app import create_app
from tradehall.api.marketplace import alerts as alert_routes
from tradehall.clock import ManualClock
from tradehall.context import ContextDeclaration
from tradehall.mail.sender import pending, recipient_message_id, send_pending
from tradehall.mail.tables import outbox_messages
from tradehall.marketplace.alerts.digest import DIGEST_TEMPLATE, alert_digest_tick
from tradehall.marketplace.alerts.follower import IMMEDIATE_TEMPLATE, AlertFollower
from tradehall.marketplace.alerts.tables import alerts
from tradehall.settings import Settings
from tradehall.store.base import Store

Client = AppClient


def _with_alerts(context: ContextDeclaration) -> ContextDeclaration:
    """The marketplace with the alert follower, routes and digest, unless it has them already
    (once the declaration registers them, this changes nothing)."""
    if context.name != "marketplace":
        return context
    followers = context.followers

    def with_follower(settings: Settings) -> Any:
        found = list(followers(settings))
        if not any(isinstance(f, AlertFollower) for f in found):
            found.append(AlertFollower(settings.public_url))
        return found

    controllers = tuple(context.controllers)
    if alert_routes.AlertsController not in controllers:
        controllers += alert_routes.CONTROLLERS
    ticks = tuple(context.clock_ticks)
    if alert_digest_tick not in ticks:
        ticks += (alert_digest_tick,)
    return replace(context, followers=with_follower, controllers=controllers, clock_ticks=ticks)


@pytest.fixture
async def client(
    settings: Settings, store: Store, clock: ManualClock, mailbox: tuple[Mailbox, int]
) -> AsyncIterator[AppClient]:
    from tradehall.contexts import CONTEXTS

    _, port = mailbox
    with_smtp = replace(settings, smtp_host="127.0.0.1", smtp_port=port, mail_interval_seconds=0)
    contexts = tuple(_with_alerts(c) for c in CONTEXTS)
    app = create_app(
        with_smtp, clock=clock, store=store, passwords=FAST_PASSWORDS, contexts=contexts
    )
    async with running(app), AppClient(app) as http:
        services = services_of(http)
        # A PostgreSQL run's outbox is shared: send what other tests left first.
        while await send_pending(services, services.settings.smtp):
            pass
        yield http


def context(clock: ManualClock) -> Context:
    return Context("user:test", "test", clock.now())


async def settle(client: Client) -> None:
    services = services_of(client)
    await services.run(services.readside.projector.catch_up)


def marketplace(client: Client) -> Any:
    return services_of(client).applications["marketplace"]


async def member(client: Client) -> tuple[uuid.UUID, dict[str, str], str]:
    org = await register(client, name=f"Green Kitchens {uuid.uuid4().hex[:6]}")
    return uuid.UUID(org["id"]), await token(client, org["email"]), org["email"]


async def good_member(
    client: Client, staff_headers: dict[str, str]
) -> tuple[uuid.UUID, dict[str, str]]:
    """A member in good standing (admitted and paid): its id and headers."""
    org, headers = await admitted(client, staff_headers)
    assert (await pay(client, org, staff_headers)).status_code == 201
    return uuid.UUID(org["id"]), headers


async def save(
    client: Client, clock: ManualClock, organisation: uuid.UUID, delivery: Delivery, **criteria: Any
) -> uuid.UUID:
    saved = await services_of(client).run(
        marketplace(client).save_search,
        context(clock),
        organisation,
        uuid.uuid4(),
        "Catering",
        Criteria.parse(**criteria),
        delivery,
        True,
    )
    return uuid.UUID(str(saved.aggregate_id))


def terms(now: datetime, title: str, cpv: str = "55520000", regions: tuple[str, ...] = ()) -> Any:
    return parse_terms(
        title=title,
        description="Meals for the day centres",
        method="open",
        category="services",
        lots=[LotInput("All", "Every centre", [cpv], 5_000_000)],
        enquiry_period=(now, now + timedelta(days=20)),
        tender_period=(now, now + timedelta(days=30)),
        contract_period=(now + timedelta(days=60), now + timedelta(days=400)),
        members_only=False,
        quality_mark_required=False,
        regions=list(regions),
        evaluation=evaluation(),
    )


async def buyer(client: Client, clock: ManualClock) -> uuid.UUID:
    org = await register(client, name=f"Riverside Council {uuid.uuid4().hex[:6]}")
    buyer_id = uuid.UUID(org["id"])
    await services_of(client).run(
        marketplace(client).verify_buyer, context(clock), buyer_id, "public_body", "register"
    )
    return buyer_id


async def drafted(client: Client, clock: ManualClock, buyer_id: uuid.UUID, title: str) -> uuid.UUID:
    tender_id = uuid.uuid4()
    await services_of(client).run(
        marketplace(client).draft_tender,
        context(clock),
        tender_id,
        buyer_id,
        terms(clock.now(), title),
    )
    return tender_id


async def publish(client: Client, clock: ManualClock, tender_id: uuid.UUID) -> None:
    await services_of(client).run(
        marketplace(client).publish_tender, context(clock), tender_id, BuyerFacts("public_body")
    )


async def stop_background_projector(client: Client) -> None:
    """Stop the API's projector thread, so that only this test applies the follower (`settle`
    still catches up on demand): otherwise it may commit the batch the test rolls back."""
    readside = services_of(client).readside
    assert readside.stop is not None
    assert readside.thread is not None
    assert readside.waker is not None
    readside.stop.set()
    readside.waker.interrupt()
    await asyncio.to_thread(readside.thread.join, 10)
    assert not readside.thread.is_alive()


async def rows_of(client: Client, table: Any, organisation: uuid.UUID) -> list[Any]:
    async with services_of(client).engine.connect() as connection:
        return list(
            await connection.execute(select(table).where(table.c.organisation_id == organisation))
        )


def received(box: Mailbox, address: str) -> list[Any]:
    return [m for m in box.messages if address in str(m["To"])]


async def test_an_immediate_alert_is_recorded_and_sent_once_across_crashes(
    client: Client, clock: ManualClock, store: Store, mailbox: tuple[Mailbox, int]
) -> None:
    box, _ = mailbox
    services = services_of(client)
    await stop_background_projector(client)
    organisation, _, address = await member(client)
    council = await buyer(client, clock)
    await settle(client)
    source = EventSource("marketplace", marketplace(client).recorder)
    before = source.head()
    tag = uuid.uuid4().hex[:10]  # a PostgreSQL run's tables hold other tests' tenders too
    await save(
        client, clock, organisation, Delivery.IMMEDIATE, cpv_prefixes=["5552"], keywords=[tag]
    )
    clock.advance(timedelta(minutes=1))
    tender_id = await drafted(client, clock, council, f"School meals, Riverside {tag}")
    await publish(client, clock, tender_id)
    events = source.read(before, 1000)

    # A crash after the follower recorded the alert and queued its message, before the commit:
    # nothing of that batch is left.
    follower = AlertFollower("http://tradehall.test")
    engine = store.sync_engine()

    def counts(connection: Any) -> tuple[int, int]:
        recorded = select(func.count()).select_from(alerts).where(alerts.c.item_id == tender_id)
        queued = (
            select(func.count())
            .select_from(outbox_messages)
            .where(
                outbox_messages.c.organisation_id == organisation,
                outbox_messages.c.template == IMMEDIATE_TEMPLATE,
            )
        )
        return connection.scalar(recorded), connection.scalar(queued)

    try:
        with engine.connect() as connection:
            transaction = connection.begin()
            previously = counts(connection)
            follower.apply(connection, events)
            assert counts(connection) == (1, 1)
            transaction.rollback()
            assert counts(connection) == previously
            connection.rollback()

        await settle(client)
        # The same events again (a batch whose positions were lost): nothing more.
        with engine.begin() as connection:
            follower.apply(connection, events)
    finally:
        engine.dispose()
    [alert] = await rows_of(client, alerts, organisation)
    assert (alert.item_id, alert.item_kind, alert.delivery) == (tender_id, "tender", "immediate")
    [message] = [
        m
        for m in await rows_of(client, outbox_messages, organisation)
        if m.template != "account_verify"
    ]
    assert (message.template, message.message_id) == (IMMEDIATE_TEMPLATE, alert.message_id)
    assert "School meals, Riverside" in message.subject

    # The sender: once, then nothing; a crash after the server took it sends the same id again.
    smtp = services.settings.smtp
    assert await send_pending(services, smtp) >= 1
    assert await send_pending(services, smtp) == 0
    mine = [m for m in received(box, address) if "School meals" in str(m["Subject"])]
    assert len(mine) == 1
    assert mine[0]["Message-ID"] == recipient_message_id(alert.message_id, address)
    # An amendment of the tender alerts no more.
    amended = terms(clock.now(), f"School meals, Riverside {tag} (amended)")
    await services.run(
        marketplace(client).amend_tender,
        context(clock),
        tender_id,
        amended,
        "a clearer title",
        BuyerFacts("public_body"),
    )
    await settle(client)
    assert len(await rows_of(client, alerts, organisation)) == 1
    assert [r for r in await pending(services) if r.organisation_id == organisation] == []


async def test_no_alert_for_a_tender_published_before_the_search_whatever_the_order(
    client: Client, clock: ManualClock, store: Store
) -> None:
    organisation, _, _ = await member(client)
    council = await buyer(client, clock)
    tag = uuid.uuid4().hex[:10]  # a PostgreSQL run's tables hold other tests' tenders too
    early = await drafted(client, clock, council, f"Published before the search {tag}")
    await publish(client, clock, early)
    clock.advance(timedelta(minutes=1))
    search_id = await save(client, clock, organisation, Delivery.DAILY, keywords=[tag])
    clock.advance(timedelta(minutes=1))
    late = await drafted(client, clock, council, f"Published after the search {tag}")
    await publish(client, clock, late)
    await settle(client)
    found = await rows_of(client, alerts, organisation)
    assert [(a.item_id, a.search_id) for a in found] == [(late, search_id)]

    # Out of order: a tender published (by its event's time) after a search whose Saved event
    # comes later in the log still alerts when the search's event is followed.
    other, _, _ = await member(client)
    clock.advance(timedelta(minutes=5))
    later_tender = await drafted(
        client, clock, council, f"Published after a search logged later {tag}"
    )
    at_publish = clock.now()
    await publish(client, clock, later_tender)
    await settle(client)
    clock.set(at_publish - timedelta(seconds=30))  # the search's event time is earlier
    await save(client, clock, other, Delivery.DAILY, keywords=[tag])
    await settle(client)
    assert [a.item_id for a in await rows_of(client, alerts, other)] == [later_tender]


async def test_daily_digest_once_a_day_a_member_and_immediate_not_in_it(
    client: Client, clock: ManualClock, mailbox: tuple[Mailbox, int]
) -> None:
    box, _ = mailbox
    services = services_of(client)
    await stop_background_projector(client)
    organisation, _, address = await member(client)
    council = await buyer(client, clock)
    tag = uuid.uuid4().hex[:10]  # a PostgreSQL run's tables hold other tests' tenders too
    daily = await save(client, clock, organisation, Delivery.DAILY, keywords=[tag])
    at_once = await save(client, clock, organisation, Delivery.IMMEDIATE, keywords=["urgent", tag])
    clock.advance(timedelta(minutes=1))
    for title in ("Urgent repairs", "Meals", "Cleaning"):
        await publish(client, clock, await drafted(client, clock, council, f"{title} {tag}"))
    await settle(client)
    found = await rows_of(client, alerts, organisation)
    assert sorted((a.search_id == daily, a.title.split()[0]) for a in found) == [
        (False, "Urgent"),
        (True, "Cleaning"),
        (True, "Meals"),
        (True, "Urgent"),
    ]
    assert {a.message_id is None for a in found if a.search_id == daily} == {True}
    assert {a.message_id is None for a in found if a.search_id == at_once} == {False}

    async def digests() -> list[Any]:
        messages = await rows_of(client, outbox_messages, organisation)
        return [m for m in messages if m.template == DIGEST_TEMPLATE]

    line = await alert_digest_tick(services)
    assert line.startswith("alert digests: queued ")
    await alert_digest_tick(services)  # idempotent: the same day, the same message
    [digest] = await digests()
    assert "3 new" in digest.subject
    assert all(t in digest.body for t in ("Urgent repairs", "Meals", "Cleaning"))
    taken = {
        a.message_id for a in await rows_of(client, alerts, organisation) if a.search_id == daily
    }
    assert taken == {digest.message_id}

    # A later alert the same day waits for tomorrow's digest.
    clock.advance(timedelta(minutes=5))
    await publish(client, clock, await drafted(client, clock, council, f"Gardening {tag}"))
    await settle(client)
    await alert_digest_tick(services)
    assert len(await digests()) == 1
    clock.advance(timedelta(days=1))
    await alert_digest_tick(services)
    first, second = sorted(await digests(), key=lambda m: m.created_at)
    assert first.message_id == digest.message_id
    assert "1 new" in second.subject
    assert "Gardening" in second.body
    await send_pending(services, services.settings.smtp)
    subjects = sorted(str(m["Subject"]) for m in received(box, address))
    assert sum("Your saved searches" in s for s in subjects) == 2
    assert sum("Urgent repairs" in s for s in subjects) == 1  # the immediate one


def release(
    ocid: str, date: datetime, deadline: datetime, status: str = "active"
) -> dict[str, Any]:
    return {
        "ocid": ocid,
        "id": f"{ocid}-{date.isoformat()}",
        "date": date.isoformat(),
        "tag": ["tender"],
        "initiationType": "tender",
        "tender": {
            "id": "1",
            "title": f"Community transport {ocid[-8:]}",
            "description": "Minibuses for day centres",
            "status": status,
            "tenderPeriod": {"endDate": deadline.isoformat()},
            "classification": {"scheme": "CPV", "id": "60130000"},
            "suitability": {"vcse": True},
        },
    }


async def test_an_outside_opportunity_alerts_only_if_open_and_first_released_after_the_search(
    client: Client, clock: ManualClock
) -> None:
    services = services_of(client)
    organisation, _, _ = await member(client)
    excluded, _, _ = await member(client)
    tag = uuid.uuid4().hex[:8]
    await save(
        client,
        clock,
        organisation,
        Delivery.DAILY,
        cpv_prefixes=["6013"],
        vcse_only=True,
        keywords=[tag],
    )
    await save(client, clock, excluded, Delivery.DAILY, include_outside=False, keywords=[tag])
    saved_at = clock.now()
    clock.advance(timedelta(hours=1))
    now = clock.now()
    new = release(f"ocds-b5fd17-new-{tag}", now - timedelta(minutes=10), now + timedelta(days=9))
    backlog = release(
        f"ocds-b5fd17-old-{tag}", saved_at - timedelta(days=3), now + timedelta(days=9)
    )
    closed = release(f"ocds-b5fd17-shut-{tag}", now, now - timedelta(days=1))
    app = marketplace(client)
    for each in (new, backlog, closed):
        await services.run(app.import_outside_release, context(clock), "Contracts Finder", each)
    # A later release of the backlog's ocid: it was still first released before the search.
    later = {**backlog, "id": f"{backlog['id']}-2", "date": now.isoformat()}
    await services.run(app.import_outside_release, context(clock), "Contracts Finder", later)
    await settle(client)
    found = await rows_of(client, alerts, organisation)
    assert [(a.item_kind, a.item_id) for a in found] == [
        ("opportunity", opportunity_id_for(new["ocid"]))
    ]
    assert await rows_of(client, alerts, excluded) == []


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


async def test_saved_searches_and_the_feed_over_http(
    client: Client, clock: ManualClock, staff_headers: dict[str, str]
) -> None:
    organisation, headers = await good_member(client, staff_headers)
    other, other_headers = await good_member(client, staff_headers)
    council = await buyer(client, clock)
    base = f"/api/v1/organisations/{organisation}"
    tag = uuid.uuid4().hex[:10]  # a PostgreSQL run's tables hold other tests' tenders too
    body = {
        "name": "Meals",
        "cpv_prefixes": ["5552"],
        "regions": ["tlc"],
        "keywords": [tag],
        "delivery": "immediate",
    }
    created = ok(await client.post(f"{base}/saved-searches", json=body, headers=headers), 201)
    search_id = created["id"]
    position = ",".join(f"{k}:{v}" for k, v in created["position"].items())
    listed = ok(
        await client.get(f"{base}/saved-searches", params={"position": position}, headers=headers)
    )
    [view] = listed["items"]
    assert (view["id"], view["regions"], view["delivery"]) == (search_id, ["TLC"], "immediate")
    one = await client.get(f"{base}/saved-searches/{search_id}", headers=headers)
    assert one.headers["ETag"] == '"1"'
    bad = await client.post(
        f"{base}/saved-searches", json={**body, "regions": ["XX9"]}, headers=headers
    )
    assert bad.status_code == 422
    # Another organisation's users: 404 on its search, 403 on its list.
    stranger = f"/api/v1/organisations/{other}/saved-searches/{search_id}"
    assert (await client.get(stranger, headers=other_headers)).status_code == 404
    assert (await client.get(f"{base}/saved-searches", headers=other_headers)).status_code == 403
    changed = await client.put(
        f"{base}/saved-searches/{search_id}",
        json={**body, "keywords": [tag, "day centres"]},
        headers={**headers, "If-Match": '"1"'},
    )
    assert ok(changed)["version"] == 2
    stale = await client.put(
        f"{base}/saved-searches/{search_id}", json=body, headers={**headers, "If-Match": '"1"'}
    )
    assert stale.status_code == 409

    clock.advance(timedelta(minutes=1))
    first = await drafted(client, clock, council, f"Lunches {tag}")
    await publish(client, clock, first)
    clock.advance(timedelta(minutes=1))
    second = await drafted(client, clock, council, f"Suppers {tag}")
    await publish(client, clock, second)
    await settle(client)
    feed = ok(await client.get(f"{base}/alerts", headers=headers))
    assert [i["item_id"] for i in feed["items"]] == [str(second), str(first)]
    assert feed["unread"] == 2
    assert all(i["sent"] and not i["read"] for i in feed["items"])
    older = feed["items"][1]["id"]
    read = await client.post(f"{base}/alerts/{older}/read", headers=headers)
    assert read.status_code == 204
    foreign = await client.post(
        f"/api/v1/organisations/{other}/alerts/{older}/read", headers=other_headers
    )
    assert foreign.status_code == 404
    by_unread = ok(await client.get(f"{base}/alerts", headers=headers))
    assert [i["read"] for i in by_unread["items"]] == [False, True]
    assert by_unread["unread"] == 1
    clock.advance(timedelta(minutes=1))
    assert (await client.post(f"{base}/alerts/{older}/read", headers=headers)).status_code == 204
    by_time = ok(await client.get(f"{base}/alerts", params={"order": "time"}, headers=headers))
    assert [i["item_id"] for i in by_time["items"]] == [str(second), str(first)]
    first_read = by_unread["items"][1]["read_at"]
    assert by_time["items"][1]["read_at"] == first_read  # the first reading is kept

    removed = await client.delete(f"{base}/saved-searches/{search_id}", headers=headers)
    ok(removed)
    clock.advance(timedelta(minutes=1))
    await publish(client, clock, await drafted(client, clock, council, f"Breakfasts {tag}"))
    await settle(client)
    assert ok(await client.get(f"{base}/alerts", headers=headers))["unread"] == 1
    assert ok(await client.get(f"{base}/saved-searches", headers=headers))["items"] == []
    gone = await client.delete(f"{base}/saved-searches/{search_id}", headers=headers)
    assert gone.status_code == 404
