"""A rebuild that would leave events out swaps nothing in (ADR 16).

The live path leaves an event out with a log line and applies the rest. A rebuild that did the
same would swap in a view missing those events, with every status "ok"; and the errors a
projection leaves an odd event out on are those a bug in its own code raises (a key renamed by a
new event version), so such a rebuild swapped in an empty directory. Now the rebuild refuses:
the shadow tables are dropped and the old view serves, unless the caller asks to leave the
events out. On both stores.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, select, text

from marketplace.application import MarketplaceApp
from membership.application import MembershipApp
from membership.marks.application import MarksApp
from projections.applications import ApplicationsProjection
from projections.base import Projection
from projections.directory import DirectoryProjection
from projections.events import EventSource, RecordedEvent
from projections.listings import ListingsProjection
from projections.matching import MatchingProjection
from projections.registry import all_projections
from projections.runner import BatchProjector, EventsLeftOut
from projections.search import DirectorySearchProjection
from projections.tables import directory_members
from tests.integration.projection_fixtures import seed, snapshot
from tests.integration.test_projector import (  # noqa: F401
    membership,
    projector,
    store,
)
from tests.integration.test_readside_review_payloads import (  # noqa: F401
    LISTING,
    ORGANISATION,
    apps,
    marketplace,
    record,
    registered,
)
from tests.integration.test_rebuild_swap import positions, record_without_a_name
from tests.integration.test_tenders_read_side import TERMS
from tradehall.store.base import Store
from tradehall.store.postgres import PostgresStore

REGISTERED = "membership.domain:Organisation.Registered"
TENDER = "marketplace.tenders:Tender"


@pytest.fixture
def reader(store: Store) -> Iterator[Engine]:  # noqa: F811
    """Another connection pool, as the API's readers have."""
    engine = store.sync_engine()
    yield engine
    engine.dispose()


def shadow_tables_left(store: Store, reader: Engine) -> list[str]:  # noqa: F811
    """The rebuilds' shadow schemas (PostgreSQL) or TEMP tables a pooled connection still
    holds (SQLite: a TEMP table lives as long as its connection, which the pool keeps)."""
    with reader.connect() as connection:
        if isinstance(store, PostgresStore):
            found = connection.execute(
                text("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'rebuild_%'")
            )
        else:
            found = connection.execute(text("SELECT name FROM sqlite_temp_master"))
        return list(found.scalars())


def names_in_the_directory(engine: Engine) -> set[str]:
    with engine.connect() as connection:
        return set(connection.execute(select(directory_members.c.name)).scalars())


def test_a_rebuild_over_an_odd_event_refuses_and_the_old_view_serves_unless_told_to_leave_it_out(
    store: Store,  # noqa: F811
    membership: MembershipApp,  # noqa: F811
    reader: Engine,
) -> None:
    seed(membership, 30, random.Random(41))
    nameless = record_without_a_name(membership)
    seed(membership, 5, random.Random(42))
    projections = all_projections()
    runner = projector(store, membership, projections, rebuild_batch_size=40)

    # The live path: the odd event is left out (a log line), the rest applied, nothing fails.
    runner.catch_up()

    head = membership.recorder.max_notification_id()
    assert [(s.position, s.failure) for s in runner.status()] == [(head, None)] * len(projections)
    live = snapshot(reader, projections)
    at = positions(reader)
    assert len(names_in_the_directory(reader)) > 20
    assert "Nameless" not in names_in_the_directory(reader)

    # A rebuild refuses: the new view would miss the event.
    with pytest.raises(EventsLeftOut) as refused:
        runner.rebuild()

    assert set(refused.value.left_out) == {"directory", "applications"}
    (left,) = refused.value.left_out["directory"]
    assert (left.topic, left.originator_id, left.originator_version) == (REGISTERED, nameless, 1)
    assert "'name'" in left.why
    said = str(refused.value)
    assert (
        f"directory left out 1 event: membership:{left.position} {REGISTERED} of {nameless} v1: "
        "not what the domain writes ('name')"
    ) in said
    assert snapshot(reader, projections) == live  # the old view serves, whole
    assert positions(reader) == at
    assert shadow_tables_left(store, reader) == []
    assert runner.left_out == {}

    # Told to leave it out, the rebuild swaps in what the live path shows.
    runner.rebuild(leaving_out=True)

    assert snapshot(reader, projections) == live
    assert positions(reader) == at
    assert [(each.originator_id, each.why) for each in runner.left_out["directory"]] == [
        (nameless, left.why)
    ]
    assert shadow_tables_left(store, reader) == []


class ReadsARenamedKey(DirectoryProjection):
    """The directory with a bug, once armed: it reads a key no stored event has (what a
    projection not updated for an event's renamed field does)."""

    armed = False

    def create(self, event: RecordedEvent) -> Any:
        if self.armed:
            event.data["legal_name"]  # raises KeyError, as the domain's payloads go
        return super().create(event)


def test_a_rebuild_of_a_projection_whose_code_raises_key_error_fails_and_the_old_view_serves(
    store: Store,  # noqa: F811
    membership: MembershipApp,  # noqa: F811
    reader: Engine,
) -> None:
    """The reviewer's case: every registration "left out" would swap in an empty directory."""
    seed(membership, 30, random.Random(43))
    directory = ReadsARenamedKey()
    projections: list[Projection] = [directory, ApplicationsProjection()]
    runner = projector(store, membership, projections, rebuild_batch_size=40)
    runner.catch_up()
    before = snapshot(reader, projections)
    at = positions(reader)
    assert len(before["directory_members"]) > 20
    directory.armed = True

    with pytest.raises(EventsLeftOut, match="legal_name") as refused:
        runner.rebuild()

    registered = len(before["directory_members"])
    assert list(refused.value.left_out) == ["directory"]
    assert len(refused.value.left_out["directory"]) == registered
    assert f"directory left out {registered} events: " in str(refused.value)
    assert f"; and {registered - 5} more" in str(refused.value)
    assert snapshot(reader, projections) == before
    assert positions(reader) == at
    assert shadow_tables_left(store, reader) == []
    # Fixed, the rebuild goes through.
    directory.armed = False
    runner.rebuild()
    assert snapshot(reader, projections) == before


def test_a_rebuild_refuses_over_events_three_read_models_passed_without_a_line(
    store: Store,  # noqa: F811
    apps: tuple[MembershipApp, MarksApp, Engine],  # noqa: F811
    marketplace: MarketplaceApp,  # noqa: F811
) -> None:
    """A registration with no legal form (the search), a listing published with no time (the
    listings), a draft naming no buyer (matching): each was skipped with no log line, so a
    rebuild swapped in a view without it. Now each is left out as the others are: logged, and
    counted by a rebuild, which refuses."""
    members, _, engine = apps
    good, no_legal_form = uuid.uuid4(), uuid.uuid4()
    record(members, f"{ORGANISATION}.Registered", good, 1, **registered(name="Good Ltd"))
    record(members, f"{ORGANISATION}.Registered", no_legal_form, 1, **registered(legal_form=None))
    timeless, buyerless = uuid.uuid4(), uuid.uuid4()
    details = {
        "title": "Bread",
        "description": "Daily",
        "cpv_codes": ["15810000-9"],
        "regions": ["TLC3"],
        "price_basis": "fixed",
        "capacity_minor": 100,
    }
    record(
        marketplace,
        f"{LISTING}.Published",
        timeless,
        1,
        originator_topic=LISTING,
        organisation_id=good,
        details=details,
        timestamp=...,
    )
    record(
        marketplace,
        f"{TENDER}.Drafted",
        buyerless,
        1,
        originator_topic=TENDER,
        buyer_id="not an id",
        ocid="ocds-x-1",
        terms=TERMS,
    )
    projections: list[Projection] = [
        DirectorySearchProjection(),
        ListingsProjection(),
        MatchingProjection(),
    ]
    runner = BatchProjector(
        engine,
        {
            "membership": EventSource("membership", members.recorder),
            "marketplace": EventSource("marketplace", marketplace.recorder),
        },
        projections,
        in_commit=store.in_projection_commit,
    )
    runner.catch_up()
    assert [s.failure for s in runner.status()] == [None] * len(runner.status())

    with pytest.raises(EventsLeftOut) as refused:
        runner.rebuild()

    left = {
        name: {each.originator_id for each in found}
        for name, found in refused.value.left_out.items()
    }
    assert no_legal_form in left["directory_search"]
    assert timeless in left["listings"]
    assert buyerless in left["matching"]
