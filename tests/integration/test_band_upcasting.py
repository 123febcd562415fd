"""Events that carry a dues band were first stored with the processor's word for its price
reference (`lookup_key`, version 1). The domain now says `price_reference` (version 2): the
events stored in the old shape load in the new one, and what is stored is not rewritten."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import StoredEvent

from membership.application import MembershipApp
from membership.domain import DuesSchedule
from sharedkernel.events import SYSTEM, Context
from sharedkernel.money import Money
from tests.integration.test_stores import details
from tradehall.store.base import Store

AT = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


def context(request_id: str) -> Context:
    return Context(SYSTEM, request_id, AT)


@pytest.fixture
def app(store: Store) -> Iterator[MembershipApp]:
    store.migrate()
    application = MembershipApp(env=store.application_env("membership", pool_size=2))
    yield application
    application.close()


def reopened(store: Store) -> MembershipApp:
    return MembershipApp(env=store.application_env("membership", pool_size=2))


def save_in_version_1(
    app: MembershipApp, aggregate: Aggregate, to_version_1: Callable[[dict[str, Any]], None]
) -> None:
    """Record the aggregate's pending events as version 1 stored them: no `class_version`,
    and the fields `to_version_1` gives back their old names."""
    stored = []
    for event in aggregate.collect_events():
        record = app.mapper.to_stored_event(event)
        state = json.loads(record.state)
        assert state.pop("class_version") == 2
        to_version_1(state)
        stored.append(
            StoredEvent(
                record.originator_id,
                record.originator_version,
                record.topic,
                json.dumps(state).encode(),
            )
        )
    app.recorder.insert_events(stored)


def band_v1(band: dict[str, Any]) -> None:
    band["lookup_key"] = band.pop("price_reference")


def stored_states(app: MembershipApp, aggregate_id: uuid.UUID) -> list[dict[str, Any]]:
    return [json.loads(e.state) for e in app.recorder.select_events(aggregate_id)]


def test_a_published_schedule_stored_with_lookup_keys_loads_with_price_references(
    app: MembershipApp, store: Store
) -> None:
    app.ensure_dues_schedule(context("schedule"))
    schedule = app.dues_schedule()
    band = {
        "code": "all",
        "name": "Everyone",
        "up_to_minor": None,
        "annual_due_minor": 12_000,
        "currency": "GBP",
        "price_reference": "dues_all_2027",
    }
    schedule.trigger_event(
        schedule.Published,
        effective_from=datetime(2027, 1, 1, tzinfo=UTC),
        bands=[band],
        **context("older").event_kwargs(),
    )
    save_in_version_1(app, schedule, lambda state: [band_v1(b) for b in state["bands"]])

    later = reopened(store)
    try:
        loaded = later.dues_schedule()
        [stored] = [s for s in stored_states(later, schedule.id) if "bands" in s][-1:]
        events = later.repository.event_store.get(schedule.id)
        published = [e for e in events if isinstance(e, DuesSchedule.Published)]
    finally:
        later.close()
    [upcast] = loaded.versions[-1].bands
    assert (upcast.code, upcast.price_reference) == ("all", "dues_all_2027")
    assert published[-1].bands[0]["price_reference"] == "dues_all_2027"
    assert "lookup_key" not in published[-1].bands[0]
    # The bands published before (version 2) load as they were.
    assert loaded.versions[0].bands[0].price_reference == "dues_micro"
    # Not rewritten: the store holds what version 1 wrote.
    assert stored["bands"][0]["lookup_key"] == "dues_all_2027"
    assert "class_version" not in stored


def test_a_tier_stored_with_a_lookup_key_loads_with_a_price_reference(
    app: MembershipApp, store: Store
) -> None:
    app.ensure_dues_schedule(context("schedule"))
    organisation_id = uuid.uuid4()
    app.register_organisation(context("register"), organisation_id, details(), uuid.uuid4())
    app.apply_for_membership(context("apply"), organisation_id, Money("GBP", 5_000_000))
    app.admit(context("admit"), organisation_id)
    organisation = app.get_organisation(organisation_id)
    organisation.trigger_event(
        organisation.TierAssigned,
        code="small",
        name="Small (up to £1m)",
        annual_due_minor=15_000,
        currency="GBP",
        price_reference="dues_small_2025",
        applies_from=AT,
        **context("older").event_kwargs(),
    )
    save_in_version_1(app, organisation, band_v1)

    later = reopened(store)
    try:
        loaded = later.get_organisation(organisation_id)
        [*_, assigned] = [
            e for e in later.organisation_events(organisation_id) if hasattr(e, "applies_from")
        ]
        [*_, stored] = [s for s in stored_states(later, organisation_id) if "applies_from" in s]
    finally:
        later.close()
    assert loaded.tier is not None
    assert (loaded.tier.code, loaded.tier.price_reference) == ("small", "dues_small_2025")
    assert assigned.price_reference == "dues_small_2025"
    assert not hasattr(assigned, "lookup_key")
    assert stored["lookup_key"] == "dues_small_2025"
    assert "class_version" not in stored
