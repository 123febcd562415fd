"""A request for quote's `Posted` was first stored without a currency (version 1): a request
without a budget took quotes in any currency. Version 2 states one. On both stores, a request
stored in the old shape loads in the new one, in its budget's currency or GBP, and what is
stored is not rewritten (ADR 22); and an old request whose work started before its deadline (no
longer posted) still loads as it was."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from eventsourcing.persistence import StoredEvent

from marketplace.application import MarketplaceApp
from marketplace.quotes.request import RequestForQuote
from marketplace.tender_terms import Period
from sharedkernel.errors import InvalidValue
from sharedkernel.money import Money
from tests.unit.quote_builders import DEADLINE, NOW, WORK, at, requester, terms
from tradehall.store.base import Store

LONG_AGO = Period(datetime(1900, 1, 1, tzinfo=UTC), WORK.end)


@pytest.fixture
def app(store: Store) -> Iterator[MarketplaceApp]:
    store.migrate()
    application = MarketplaceApp(env=store.application_env("marketplace", pool_size=2))
    yield application
    application.close()


def reopened(store: Store) -> MarketplaceApp:
    return MarketplaceApp(env=store.application_env("marketplace", pool_size=2))


def posted_in_version_1(app: MarketplaceApp, budget: dict[str, Any] | None) -> uuid.UUID:
    """A request posted as version 1 stored it: no `class_version`, no `currency`; its work
    from 1900 (refused since, never rewritten)."""
    request = RequestForQuote.post(at(NOW), uuid.uuid4(), requester(), terms(budget=budget))
    [event] = request.collect_events()
    record = app.mapper.to_stored_event(event)
    state = json.loads(record.state)
    assert state.pop("class_version") == 2
    del state["currency"]
    state["period"] = LONG_AGO.as_data()
    stored = StoredEvent(
        record.originator_id, record.originator_version, record.topic, json.dumps(state).encode()
    )
    app.recorder.insert_events([stored])
    return request.id


def stored_state(app: MarketplaceApp, request_id: uuid.UUID) -> dict[str, Any]:
    [event] = app.recorder.select_events(request_id)
    state: dict[str, Any] = json.loads(event.state)
    return state


def test_a_request_stored_without_a_currency_loads_in_its_budget_s_or_gbp(
    app: MarketplaceApp, store: Store
) -> None:
    without_budget = posted_in_version_1(app, None)
    in_euros = posted_in_version_1(app, {"currency": "EUR", "max_minor": 90_000})

    later = reopened(store)
    try:
        pounds = later.request_for_quote(without_budget)
        euros = later.request_for_quote(in_euros)
        stored = stored_state(later, without_budget)
    finally:
        later.close()
    assert (pounds.terms.currency, pounds.terms.budget) == ("GBP", None)
    assert euros.terms.currency == "EUR"
    # The old request's work still starts when it was stored to.
    assert pounds.terms.period == LONG_AGO
    assert pounds.terms.deadline == DEADLINE
    # Its quotes are in its currency now, whatever an old client sends.
    pounds.check_price(Money("GBP", 100))
    with pytest.raises(InvalidValue) as refused:
        pounds.check_price(Money("EUR", 100))
    assert refused.value.field == "currency"
    euros.check_price(Money("EUR", 100))
    # Not rewritten: the store holds what version 1 wrote.
    assert "currency" not in stored
    assert "class_version" not in stored


def test_a_request_posted_now_is_stored_with_its_currency(
    app: MarketplaceApp, store: Store
) -> None:
    request_id = uuid.uuid4()
    app.post_request(at(NOW), request_id, requester(), terms(budget=None, currency="EUR"))
    state = stored_state(app, request_id)
    assert (state["class_version"], state["currency"]) == (2, "EUR")
    later = reopened(store)
    try:
        assert later.request_for_quote(request_id).terms.currency == "EUR"
    finally:
        later.close()
