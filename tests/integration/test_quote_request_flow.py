"""Requests for quote through the real Applications to the read side (issue 18), on both stores:
the events MarketplaceApp writes fold into the request rows, tell their notices, alert a saved
search, count the accepted quote's contract in matching and the impact ledger; and a rebuild of
the requests' projection (shadow tables swapped in) gives the same rows."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.ext.asyncio import AsyncEngine

from marketplace.alerts.criteria import Criteria, Delivery
from marketplace.application import MarketplaceApp
from marketplace.quotes.request import OpenedQuote
from membership.application import MembershipApp
from projections.events import EventSource
from projections.impact_query import ledger_contracts
from projections.matching_tables import match_contracts
from projections.quote_request_query import Viewer, quote_requests_for
from projections.quote_requests import QuoteRequestsProjection
from projections.runner import BatchProjector
from projections.tables import projection_positions
from tests.unit.quote_builders import DEADLINE, NOW, SOON, at, gbp, requester, terms
from tradehall.mail.tables import outbox_messages
from tradehall.marketplace.alerts.tables import alerts
from tradehall.marketplace.declaration import MARKETPLACE
from tradehall.marketplace.quote_notices import (
    ACCEPTED_TEMPLATE,
    CANCELLED_TEMPLATE,
    CLOSED_TEMPLATE,
    INVITATION_TEMPLATE,
    NOT_ACCEPTED_TEMPLATE,
)
from tradehall.settings import Settings
from tradehall.store.base import Store

OPENING = DEADLINE + timedelta(minutes=10)


@pytest.fixture
def apps(store: Store) -> Iterator[tuple[MarketplaceApp, MembershipApp]]:
    store.migrate()
    marketplace = MarketplaceApp(env=store.application_env("marketplace", pool_size=2))
    membership = MembershipApp(env=store.application_env("membership", pool_size=2))
    yield marketplace, membership
    marketplace.close()
    membership.close()


def opened_quote(supplier: uuid.UUID, price: int) -> OpenedQuote:
    return OpenedQuote(uuid.uuid4(), supplier, gbp(price), "Two coats", SOON)


async def test_the_applications_events_reach_every_reader(
    store: Store,
    apps: tuple[MarketplaceApp, MembershipApp],
    engine: Engine,
    async_engine: AsyncEngine,
    settings: Settings,
) -> None:
    market, membership = apps
    tag = uuid.uuid4().hex[:10]
    the_requester, x, y, z, watcher = (uuid.uuid4() for _ in range(5))
    market.save_search(
        at(NOW - timedelta(hours=1)),
        watcher,
        uuid.uuid4(),
        "Painting",
        Criteria.parse(cpv_prefixes=["4544"], keywords=[tag]),
        Delivery.IMMEDIATE,
        in_good_standing=True,
    )
    accepted, cancelled, closed = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    who = requester(the_requester)
    market.post_request(at(NOW), accepted, who, terms(title=f"Hall {tag}"))
    invited = terms(title=f"Porch {tag}", audience="invited", invited=[x, y])
    market.post_request(at(NOW), cancelled, who, invited)
    market.post_request(at(NOW), closed, who, terms(audience="invited", invited=[x]))
    market.cancel_request(at(SOON), cancelled, the_requester, "No longer needed")
    winner, loser = opened_quote(y, 150_000), opened_quote(z, 160_000)
    market.record_quotes_opened(at(OPENING), accepted, [winner, loser], [x])
    market.record_quotes_opened(at(OPENING), closed, [opened_quote(x, 170_000)], [])
    contract = market.accept_quote(at(OPENING), accepted, the_requester, winner.quote_id)
    market.close_request(at(OPENING), closed, the_requester, "Over budget")

    # Every reader of the marketplace's log, as the service runs them.
    readers = [*MARKETPLACE.projections(settings), *MARKETPLACE.followers(settings)]
    runner = BatchProjector(
        engine,
        {
            "marketplace": EventSource("marketplace", market.recorder),
            "membership": EventSource("membership", membership.recorder),
        },
        readers,
        in_commit=store.in_projection_commit,
    )
    runner.ensure_positions()
    runner.catch_up()
    with engine.connect() as connection:
        failing = connection.execute(
            select(projection_positions.c.projection).where(
                projection_positions.c.projection.in_([r.name for r in readers]),
                projection_positions.c.failed_position.is_not(None),
            )
        ).all()
    assert failing == []  # none stopped on these events

    staff = Viewer(staff=True)
    async with async_engine.connect() as connection:
        # The store holds other tests' requests: each list is of this requester's.
        as_staff = await quote_requests_for(
            connection, staff, requester_id=the_requester, limit=10, offset=0
        )
        as_invited = await quote_requests_for(
            connection, Viewer(organisation_id=x), requester_id=the_requester, limit=10, offset=0
        )
        listed = await quote_requests_for(
            connection,
            Viewer(organisation_id=the_requester),
            requester_id=the_requester,  # the store holds other tests' open requests
            limit=10,
            offset=0,
        )
        [ledger] = await ledger_contracts(connection, lambda m: m.date(), party=y)
    staff_sees = {e.request_id: e for e in as_staff.entries}
    won, ended = staff_sees[accepted], staff_sees[closed]
    gone = next(e for e in as_invited.entries if e.request_id == cancelled)
    assert won.accepted is not None
    assert (won.status, won.quotes_count, won.declined_count) == ("accepted", 2, 1)
    assert (won.accepted.supplier_id, won.accepted.contract_id) == (y, contract.aggregate_id)
    assert (won.cpv_codes, won.regions, won.budget is not None) == (["45442110-1"], ["TLC4"], True)
    assert (ended.status, ended.reason) == ("closed", "Over budget")
    assert (gone.status, gone.invited) == ("cancelled", None)
    assert {e.request_id for e in listed.entries} == {accepted, cancelled, closed}
    assert (ledger.buyer_id, ledger.value_minor, ledger.estimated_minor) == (
        the_requester,
        150_000,
        None,
    )

    with engine.connect() as connection:
        told = sorted(
            (row.organisation_id, row.template)
            for row in connection.execute(
                select(outbox_messages).where(outbox_messages.c.organisation_id.in_([x, y, z]))
            )
        )
        [divisions] = connection.execute(
            select(match_contracts.c.divisions).where(
                match_contracts.c.contract_id == contract.aggregate_id
            )
        ).scalars()
        alerted = connection.execute(
            select(alerts.c.item_id, alerts.c.item_kind).where(alerts.c.organisation_id == watcher)
        ).all()
    assert told == sorted(
        [
            (x, INVITATION_TEMPLATE),  # the porch
            (y, INVITATION_TEMPLATE),  # the porch
            (x, INVITATION_TEMPLATE),  # the closed one
            (x, CANCELLED_TEMPLATE),
            (y, CANCELLED_TEMPLATE),
            (y, ACCEPTED_TEMPLATE),
            (z, NOT_ACCEPTED_TEMPLATE),
            (x, CLOSED_TEMPLATE),
        ]
    )
    assert divisions == '["45"]'
    # The open one alerts the search; the invited porch, though it matches, never does.
    assert [tuple(row) for row in alerted] == [(accepted, "request")]

    before = _rows(engine, [accepted, cancelled, closed])
    # Other tests' odd events are in the shared PostgreSQL log (probes record them on
    # purpose): left out as the live path leaves them (ADR 16).
    runner.rebuild(["quote_requests"], leaving_out=True)
    assert _rows(engine, [accepted, cancelled, closed]) == before


def _rows(engine: Engine, ids: list[uuid.UUID]) -> dict[str, list[tuple[str, ...]]]:
    found = {}
    with engine.connect() as connection:
        for table in QuoteRequestsProjection.tables:
            rows = connection.execute(select(table).where(table.c.request_id.in_(ids)))
            found[table.name] = sorted(tuple(str(v) for v in row) for row in rows)
    return found
