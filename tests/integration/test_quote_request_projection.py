"""The requests-for-quote read model (issue 18), on both stores: every RequestForQuote event folds
into its request's row (a rebuild from zero, in one batch or an event a batch, gives the same
rows); who sees which request, and whose invited list; the filters and pages; and no event
stops the projection (ADR 16)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, delete, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from projections.events import RecordedEvent
from projections.quote_request_query import (
    QuoteRequestEntry,
    Viewer,
    quote_requests_for,
)
from projections.quote_request_tables import (
    quote_request_cpv,
    quote_request_invitations,
    quote_request_regions,
    quote_requests,
)
from projections.quote_requests import QuoteRequestsProjection
from tests.integration.projection_fixtures import snapshot
from tests.integration.recorded import recorded

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
PERIOD = {"start": "2027-01-04T00:00:00+00:00", "end": "2027-03-31T00:00:00+00:00"}
BUDGET = {"currency": "GBP", "min_minor": 100_000, "max_minor": 500_000}
STAFF = Viewer(staff=True)


async def listed_entry(
    connection: AsyncConnection, request_id: uuid.UUID, viewer: Viewer, requester_id: uuid.UUID
) -> QuoteRequestEntry | None:
    """The request as `viewer`'s list shows it (of one requester's: the store holds other
    tests' requests), or None where the list does not show it."""
    page = await quote_requests_for(
        connection, viewer, requester_id=requester_id, limit=100, offset=0
    )
    return next((e for e in page.entries if e.request_id == request_id), None)


# Every request these tests made: their rows are deleted after each test, so that no other test
# sharing the store (PostgreSQL's, per worker) finds them open to all in its lists.
MADE: set[uuid.UUID] = set()


@pytest.fixture(autouse=True)
def forget_made(engine: Engine) -> Iterator[None]:
    yield
    with engine.begin() as connection:
        for table in QuoteRequestsProjection.tables:
            connection.execute(delete(table).where(table.c.request_id.in_(MADE)))
    MADE.clear()


class Log:
    """RequestForQuote events as the marketplace's log holds them, numbered as they are made."""

    def __init__(self) -> None:
        self.events: list[RecordedEvent] = []
        self.versions: dict[uuid.UUID, int] = {}

    def add(self, request: uuid.UUID, name: str, **data: Any) -> None:
        version = self.versions[request] = self.versions.get(request, 0) + 1
        MADE.add(request)
        data.setdefault("timestamp", T0 + timedelta(hours=len(self.events)))
        topic = f"marketplace.quotes.request:RequestForQuote.{name}"
        self.events.append(
            recorded("marketplace", len(self.events) + 1, request, version, topic, data)
        )

    def posted(self, request: uuid.UUID, requester: uuid.UUID, **terms: Any) -> None:
        terms.setdefault("title", "Grounds maintenance")
        terms.setdefault("description", "Grass cutting at two sites")
        terms.setdefault("cpv_codes", ["77310000-6"])
        terms.setdefault("regions", ["TLC3"])
        terms.setdefault("budget", BUDGET)
        terms.setdefault("deadline", T0 + timedelta(days=14))
        terms.setdefault("period", PERIOD)
        terms.setdefault("audience", "open")
        terms.setdefault("invited", [])
        self.add(request, "Posted", requester_id=requester, **terms)

    def opened(
        self, request: uuid.UUID, suppliers: list[uuid.UUID], declined: list[uuid.UUID]
    ) -> None:
        quotes = [
            {
                "quote_id": str(uuid.uuid4()),
                "supplier_id": str(s),
                "price_minor": 400_000 + n,
                "currency": "GBP",
                "note": "",
                "quoted_at": T0.isoformat(),
            }
            for n, s in enumerate(suppliers)
        ]
        self.add(request, "QuotesOpened", quotes=quotes, declined=[str(d) for d in declined])


def apply(engine: Engine, batches: list[list[RecordedEvent]]) -> None:
    projection = QuoteRequestsProjection()
    for batch in batches:
        with engine.begin() as connection:
            projection.apply(connection, batch)


def mine(engine: Engine, ids: list[uuid.UUID]) -> dict[str, list[tuple[str, ...]]]:
    """The rows of these requests, every table, in a stable order."""
    found = {}
    with engine.connect() as connection:
        for table in QuoteRequestsProjection.tables:
            rows = connection.execute(select(table).where(table.c.request_id.in_(ids)))
            found[table.name] = sorted(tuple(str(v) for v in row) for row in rows)
    return found


def rebuild(engine: Engine, batches: list[list[RecordedEvent]]) -> dict[str, Any]:
    projection = QuoteRequestsProjection()
    with engine.begin() as connection:
        projection.clear(connection)
    apply(engine, batches)
    return snapshot(engine, [projection])


def the_log() -> tuple[Log, dict[str, uuid.UUID]]:
    names = ("requester", "other_requester", "x", "y", "z", "accepted", "cancelled", "closed")
    ids = {name: uuid.uuid4() for name in (*names, "open", "quote", "contract")}
    log = Log()
    requester = ids["requester"]
    # Open to all, quoted by y and z, y's accepted.
    log.posted(ids["accepted"], requester, title="Accepted one")
    # Invited x, cancelled.
    log.posted(
        ids["cancelled"], requester, audience="invited", invited=[str(ids["x"])], budget=None
    )
    # Invited x and y, opened (y quoted, x declined), closed.
    log.posted(
        ids["closed"],
        requester,
        audience="invited",
        invited=[str(ids["x"]), str(ids["y"]), str(ids["x"])],
        cpv_codes=["45210000-2", "45211000-9"],
        regions=[],
        deadline=T0 + timedelta(days=3),
    )
    # Another requester's, open to all and still open.
    log.posted(
        ids["open"],
        ids["other_requester"],
        title="Still open",
        regions=["TLC31", "TLC31"],
        deadline=T0 + timedelta(days=30),
    )
    log.opened(ids["accepted"], [ids["y"], ids["z"]], [])
    log.add(ids["cancelled"], "Cancelled", reason="No longer needed")
    log.opened(ids["closed"], [ids["y"]], [ids["x"]])
    log.add(
        ids["accepted"],
        "Accepted",
        quote_id=ids["quote"],
        supplier_id=ids["y"],
        price_minor=400_000,
        currency="GBP",
        contract_id=ids["contract"],
    )
    log.add(ids["closed"], "Closed", reason="Over budget")
    return log, ids


async def test_requests_follow_their_events_and_a_rebuild_gives_the_same_rows(
    engine: Engine, async_engine: AsyncEngine
) -> None:
    log, ids = the_log()
    events = log.events
    requests = [ids[n] for n in ("accepted", "cancelled", "closed", "open")]
    apply(engine, [events[:5], events[5:]])
    built = mine(engine, requests)
    assert rebuild(engine, [events]) == rebuild(engine, [[e] for e in events])
    assert mine(engine, requests) == built

    with engine.connect() as connection:
        rows = {r.request_id: r for r in connection.execute(select(quote_requests))}
        invited = set(connection.execute(select(quote_request_invitations)).all())
        regions = set(connection.execute(select(quote_request_regions)).all())
        stems = set(
            connection.execute(
                select(quote_request_cpv.c.request_id, quote_request_cpv.c.cpv_stem)
            ).all()
        )
    accepted, cancelled, closed, still = (rows[r] for r in requests)
    assert (accepted.status, accepted.quotes_count, accepted.declined_count) == ("accepted", 2, 0)
    assert (accepted.accepted_supplier_id, accepted.contract_id) == (ids["y"], ids["contract"])
    assert (accepted.accepted_quote_id, accepted.accepted_price_minor) == (ids["quote"], 400_000)
    assert (accepted.budget_currency, accepted.budget_max_minor, accepted.version) == (
        "GBP",
        500_000,
        3,
    )
    assert (cancelled.status, cancelled.reason, cancelled.quotes_count) == (
        "cancelled",
        "No longer needed",
        None,
    )
    assert cancelled.budget_currency is None
    assert (closed.status, closed.reason, closed.quotes_count, closed.declined_count) == (
        "closed",
        "Over budget",
        1,
        1,
    )
    assert (still.status, still.audience, still.posted_at) == (
        "open",
        "open",
        T0 + timedelta(hours=3),
    )
    assert {(ids["closed"], ids["x"]), (ids["closed"], ids["y"])} <= invited
    assert (ids["cancelled"], ids["x"]) in invited
    assert (ids["open"], "TLC31") in regions  # stated twice, kept once
    assert {(ids["closed"], "45211"), (ids["closed"], "4521")} <= stems

    async with async_engine.connect() as connection:
        seen = await listed_entry(connection, ids["accepted"], STAFF, ids["requester"])
    assert seen is not None
    assert seen.accepted is not None
    assert seen.accepted.supplier_id == ids["y"]
    assert seen.budget is not None
    assert seen.cpv_codes == ["77310000-6"]
    assert seen.regions == ["TLC3"]


async def test_who_sees_which_request_and_whose_invited_list(
    engine: Engine, async_engine: AsyncEngine
) -> None:
    log, ids = the_log()
    apply(engine, [log.events])
    requests = {ids[n]: n for n in ("accepted", "cancelled", "closed", "open")}

    async def seen_by(viewer: Viewer) -> set[str]:
        async with async_engine.connect() as connection:
            page = await quote_requests_for(connection, viewer, limit=1000, offset=0)
        return {requests[e.request_id] for e in page.entries if e.request_id in requests}

    def org(name: str) -> Viewer:
        return Viewer(organisation_id=ids[name])

    # A stranger: open-audience requests while they are open, nothing else.
    assert await seen_by(Viewer(organisation_id=uuid.uuid4())) == {"open"}
    # Invited: the requests inviting it, whatever their status.
    assert await seen_by(org("x")) == {"cancelled", "closed", "open"}
    # A quoter: the requests it quoted on, once opened (y was invited to "closed" too).
    assert await seen_by(org("y")) == {"accepted", "closed", "open"}
    assert await seen_by(org("z")) == {"accepted", "open"}
    # The requester: its own; staff: all; nobody in particular: nothing.
    assert await seen_by(org("requester")) == {"accepted", "cancelled", "closed", "open"}
    assert await seen_by(org("other_requester")) == {"open"}
    assert await seen_by(STAFF) == set(requests.values())
    assert await seen_by(Viewer()) == set()

    async with async_engine.connect() as connection:
        as_requester = await listed_entry(
            connection, ids["closed"], org("requester"), ids["requester"]
        )
        as_staff = await listed_entry(connection, ids["closed"], STAFF, ids["requester"])
        as_invited = await listed_entry(connection, ids["closed"], org("x"), ids["requester"])
        as_stranger = await listed_entry(connection, ids["closed"], org("z"), ids["requester"])
        missing = await listed_entry(connection, uuid.uuid4(), STAFF, ids["requester"])
        listed = await quote_requests_for(connection, org("x"), limit=1000, offset=0)
    assert as_requester is not None
    assert as_staff is not None
    assert as_invited is not None
    assert set(as_requester.invited or []) == {ids["x"], ids["y"]}
    assert as_staff.invited == as_requester.invited
    assert as_invited.invited is None  # an invited member never learns who else is
    assert as_stranger is None
    assert missing is None
    assert all(e.invited is None for e in listed.entries)


async def test_filters_and_pages(engine: Engine, async_engine: AsyncEngine) -> None:
    requester = uuid.uuid4()
    log = Log()
    made = [uuid.uuid4() for _ in range(5)]
    stated = [
        (["45210000-2"], ["TLC31"]),
        (["45000000-7"], []),  # anywhere
        (["77310000-6"], ["TLD1"]),
        (["45210000-2"], ["TLC3"]),
        (["45210000-2"], ["TLC31"]),
    ]
    for n, (codes, regions) in enumerate(stated):  # deadlines in this order: the list's order
        deadline = T0 + timedelta(days=10 + n)
        log.posted(made[n], requester, cpv_codes=codes, regions=regions, deadline=deadline)
    log.add(made[4], "Cancelled", reason="Changed our mind")
    apply(engine, [log.events])
    parents = {"TLC3": "TLC", "TLC31": "TLC3", "TLC": None, "TLD1": "TLD", "TLD": None}
    viewer = Viewer(organisation_id=requester)

    async def found(**filters: Any) -> list[uuid.UUID]:
        async with async_engine.connect() as connection:
            page = await quote_requests_for(
                connection, viewer, requester_id=requester, region_parents=parents, **filters
            )
        return [e.request_id for e in page.entries]

    everything = {"limit": 100, "offset": 0}
    assert await found(**everything) == made
    assert await found(status="open", **everything) == made[:4]
    assert await found(status="cancelled", **everything) == [made[4]]
    # A CPV filter matches up and down the hierarchy.
    assert await found(cpv_code="45200000-9", **everything) == [made[0], made[1], made[3], made[4]]
    assert await found(cpv_code="77000000-0", **everything) == [made[2]]
    # A region matches related regions; a request naming none (anywhere) is found from all.
    assert await found(region="TLC31", **everything) == [made[0], made[1], made[3], made[4]]
    assert await found(region="TLD", **everything) == [made[1], made[2]]
    # Pages, by deadline.
    async with async_engine.connect() as connection:
        first = await quote_requests_for(
            connection, viewer, requester_id=requester, limit=2, offset=0
        )
        second = await quote_requests_for(
            connection, viewer, requester_id=requester, limit=2, offset=2
        )
    assert first.total == second.total == 5
    assert [e.request_id for e in first.entries + second.entries] == made[:4]


async def test_no_event_stops_the_projection(engine: Engine, async_engine: AsyncEngine) -> None:
    requester = uuid.uuid4()
    good, twice, junk, early, odd = (uuid.uuid4() for _ in range(5))
    log = Log()
    log.posted(good, requester)
    log.posted(good, uuid.uuid4(), title="Posted again by another writer")  # the first stands
    log.add(
        good,
        "Accepted",
        quote_id=uuid.uuid4(),
        supplier_id=uuid.uuid4(),
        price_minor=1,
        currency="GBP",
        contract_id=uuid.uuid4(),
    )  # not opened yet: left out
    log.add(good, "QuotesOpened", quotes=[{"supplier_id": "nobody"}], declined=[])
    log.add(good, "QuotesOpened", quotes="lots", declined=[])
    log.add(good, "Cancelled", reason=None)
    log.add(good, "Closed", reason="not opened")  # not opened: left out
    log.posted(twice, requester, audience="everyone")
    log.posted(junk, requester, budget={"currency": "GBP", "min_minor": -1, "max_minor": None})
    log.posted(early, requester, deadline="2026-12-01T10:00:00")  # no offset
    log.add(early, "Cancelled", reason="its posting was left out")
    log.add(uuid.uuid4(), "Closed", reason="never posted")
    log.posted(
        odd,
        requester,
        title="x\x00y\ud800" + "t" * 300,
        description="\ud800",
        cpv_codes=["45210000-2", "45210000-2", "9" * 40],
        regions=["TLC3\x00"],
        invited=[str(requester)],
        audience="invited",
    )
    log.opened(odd, [], [requester, requester])
    apply(engine, [log.events])

    with engine.connect() as connection:
        rows = {r.request_id: r for r in connection.execute(select(quote_requests))}
    assert twice not in rows
    assert junk not in rows
    assert early not in rows
    assert (rows[good].status, rows[good].requester_id, rows[good].version) == (
        "open",
        requester,
        1,
    )
    assert rows[odd].status == "quotes_opened"
    assert (rows[odd].quotes_count, rows[odd].declined_count) == (0, 1)
    async with async_engine.connect() as connection:
        seen = await listed_entry(connection, odd, STAFF, requester)
    assert seen is not None
    assert seen.title.startswith("x")
    assert seen.cpv_codes[0] == "45210000-2"
    assert len(seen.cpv_codes) == 2
