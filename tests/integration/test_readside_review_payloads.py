"""Events in a log that are odd but recorded (an import, an older version, another writer): a key
missing, None where a value is expected, a value of the wrong type, a naive time. A read model
never fails on one (ADR 16): such an event is left out, and every other event, later ones of the
same log included, is applied as usual. On both stores.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from eventsourcing.persistence import StoredEvent
from sqlalchemy import Engine, select

from marketplace.application import MarketplaceApp
from membership.application import MembershipApp
from membership.marks.application import MarksApp
from projections.buyers import BuyersProjection
from projections.events import EventSource
from projections.listings import ListingsProjection
from projections.marks import MarkApplications, MarkRegister
from projections.registry import all_projections
from projections.runner import BatchProjector
from projections.tables import (
    directory_member_cpv,
    directory_members,
    mark_applications,
    marketplace_buyers,
    membership_applications,
    quality_marks,
    service_listings,
)
from tests.integration.test_projector import store  # noqa: F401
from tradehall.mail.tables import outbox_messages
from tradehall.membership.clock_jobs import new_member_index
from tradehall.membership.notices import NoticeWriter
from tradehall.store.base import Store

AT = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
ORGANISATION = "membership.domain:Organisation"
APPLICATION = "membership.marks.assessment:MarkApplication"
MARK = "membership.marks.mark:QualityMark"
LISTING = "marketplace.listings:ServiceListing"


@pytest.fixture
def apps(store: Store) -> Iterator[tuple[MembershipApp, MarksApp, Engine]]:  # noqa: F811
    store.migrate()
    membership = MembershipApp(env=store.application_env("membership", pool_size=2))
    marks = MarksApp(env=store.application_env("marks", pool_size=2))
    engine = store.sync_engine()
    yield membership, marks, engine
    engine.dispose()
    marks.close()
    membership.close()


def record(app: Any, topic: str, originator: uuid.UUID, version: int, **data: Any) -> None:
    """Store an event as another writer might: the library's encoding of whatever it holds."""
    payload = {"timestamp": AT, "actor": "system", "request_id": "odd", "effective_at": AT}
    payload |= data
    state = app.mapper.transcoder.encode({k: v for k, v in payload.items() if v is not ...})
    app.recorder.insert_events([StoredEvent(originator, version, topic, state)])


def registered(**changes: Any) -> dict[str, Any]:
    return {
        "originator_topic": ORGANISATION,
        "name": "Odd Enterprise",
        "kind": "social_enterprise",
        "legal_form": "cic",
        "registry_scheme": None,
        "registry_id": None,
        "social_purpose": "Work",
        "regions": ["TLC"],
        "cpv_codes": ["45000000-7"],
        "first_user_id": uuid.uuid4(),
    } | changes


def test_membership_read_models_leave_out_odd_events_and_apply_the_rest(
    store: Store,  # noqa: F811
    apps: tuple[MembershipApp, MarksApp, Engine],
) -> None:
    membership, _, engine = apps
    odd = {
        # `...` drops the key.
        "no name": registered(name=...),
        "no regions": registered(regions=...),
        "None kind": registered(kind=None),
        "None codes": registered(cpv_codes=None),
        "a None code": registered(cpv_codes=[None]),
        "a list for a name": registered(name=["a", "b"]),
        "a naive time": registered(timestamp=datetime(2026, 3, 2, 9, 30)),
        "a mapping for a kind": registered(kind={"a": 1}),
        "codes as text": registered(cpv_codes="45000000-7", regions="TLC"),
    }
    ids = {label: uuid.uuid4() for label in odd}
    for label, data in odd.items():
        record(membership, f"{ORGANISATION}.Registered", ids[label], 1, **data)
    # A code stated twice, and two that PostgreSQL's 12-character column cuts to one: applied,
    # each code once.
    twice = uuid.uuid4()
    codes = ["45000000-7", "45000000-7", "45000000-7XY1", "45000000-7XY2"]
    record(membership, f"{ORGANISATION}.Registered", twice, 1, **registered(cpv_codes=codes))
    good = uuid.uuid4()
    record(membership, f"{ORGANISATION}.Registered", good, 1, **registered(name="Good Ltd"))
    # Later events of an aggregate the projections know, odd in turn, then a good one.
    record(membership, f"{ORGANISATION}.MembershipApplied", good, 2)
    record(membership, f"{ORGANISATION}.StandingChanged", good, 3)  # no status
    record(membership, f"{ORGANISATION}.MembershipAdmitted", good, 4, effective_at=...)
    record(
        membership,
        f"{ORGANISATION}.ProfileUpdated",
        good,
        5,
        name=None,
        social_purpose="x",
        regions=None,
        cpv_codes=[None],
    )
    record(
        membership,
        f"{ORGANISATION}.ProfileUpdated",
        good,
        6,
        name="Good Enterprise Ltd",
        social_purpose="Bread",
        regions=["TLC4"],
        cpv_codes=["15810000-9"],
    )
    record(membership, f"{ORGANISATION}.StandingChanged", good, 7, status="current")
    projections = [*all_projections(), BuyersProjection()]
    runner = BatchProjector(
        engine,
        {
            "membership": EventSource("membership", membership.recorder),
            # The buyers follow the marketplace's log too: here, the marks log stands in as
            # an empty one (nothing in it is a buyer's event).
            "marketplace": EventSource("marketplace", apps[1].recorder),
        },
        projections,
        in_commit=store.in_projection_commit,
    )

    runner.catch_up()

    head = membership.recorder.max_notification_id()
    statuses = [
        (s.projection, s.position, s.failure) for s in runner.status() if s.log == "membership"
    ]
    assert statuses == [(p.name, head, None) for p in projections]
    with engine.connect() as connection:
        member = connection.execute(
            select(directory_members).where(directory_members.c.organisation_id == good)
        ).one()
        codes = (
            connection.execute(
                select(directory_member_cpv.c.cpv_code).where(
                    directory_member_cpv.c.organisation_id == good
                )
            )
            .scalars()
            .all()
        )
        queue = connection.execute(
            select(membership_applications.c.name, membership_applications.c.status).where(
                membership_applications.c.organisation_id == good
            )
        ).one()
        names = set(connection.execute(select(directory_members.c.name)).scalars())
        twice_codes = (
            connection.execute(
                select(directory_member_cpv.c.cpv_code).where(
                    directory_member_cpv.c.organisation_id == twice
                )
            )
            .scalars()
            .all()
        )
        buyer_rows = (
            connection.execute(select(marketplace_buyers.c.organisation_id)).scalars().all()
        )
    assert (member.name, member.status, member.listed) == ("Good Enterprise Ltd", "current", True)
    assert codes == ["15810000-9"]
    # The admission without effective_at is left out of the directory only (the queue reads no
    # effective_at).
    assert tuple(queue) == ("Good Enterprise Ltd", "admitted")
    assert names <= {"Good Enterprise Ltd", "Odd Enterprise"}
    assert buyer_rows == []
    cut = ["45000000-7XY"] if store.name == "postgresql" else ["45000000-7XY1", "45000000-7XY2"]
    assert sorted(twice_codes) == ["45000000-7", *cut]


def test_the_quality_mark_read_models_leave_out_odd_events_and_apply_the_rest(
    store: Store,  # noqa: F811
    apps: tuple[MembershipApp, MarksApp, Engine],
) -> None:
    _, marks, engine = apps
    org = uuid.uuid4()
    started = {"originator_topic": APPLICATION, "organisation_id": org, "review": "full"}
    for odd in (
        started | {"organisation_id": ...},
        started | {"review": None},
        started | {"organisation_id": "not an id"},
    ):
        record(marks, f"{APPLICATION}.Started", uuid.uuid4(), 1, **odd)
    application = uuid.uuid4()
    record(marks, f"{APPLICATION}.Started", application, 1, **started)
    record(marks, f"{APPLICATION}.Submitted", application, 2)  # no criteria version
    record(marks, f"{APPLICATION}.Submitted", application, 3, criteria_version="2026")
    awarded = {
        "originator_topic": MARK,
        "organisation_id": org,
        "certificate_number": "TH-2026-0001",
        "application_id": application,
        "valid_from": AT,
        "valid_until": AT.replace(year=2029),
    }
    for odd in (awarded | {"certificate_number": ...}, awarded | {"valid_until": "soon"}):
        record(marks, f"{MARK}.Awarded", uuid.uuid4(), 1, **odd)
    mark = uuid.uuid4()
    record(marks, f"{MARK}.Awarded", mark, 1, **awarded)
    record(marks, f"{MARK}.Renewed", mark, 2, valid_from=AT)  # no valid_until
    record(marks, f"{MARK}.Suspended", mark, 3, cause="staff", reason="checks")
    projections = [MarkRegister(), MarkApplications()]
    runner = BatchProjector(
        engine,
        {"marks": EventSource("marks", marks.recorder)},
        projections,
        in_commit=store.in_projection_commit,
    )

    runner.catch_up()

    head = marks.recorder.max_notification_id()
    assert [(s.projection, s.position, s.failure) for s in runner.status()] == [
        (p.name, head, None) for p in projections
    ]
    with engine.connect() as connection:
        applied = connection.execute(select(mark_applications)).one()
        register = connection.execute(select(quality_marks)).one()
    assert (applied.application_id, applied.stage, applied.criteria_version) == (
        application,
        "submitted",
        "2026",
    )
    assert (register.mark_id, register.status, register.valid_until) == (
        mark,
        "suspended",
        AT.replace(year=2029),
    )


@pytest.fixture
def marketplace(store: Store) -> Iterator[MarketplaceApp]:  # noqa: F811
    app = MarketplaceApp(env=store.application_env("marketplace", pool_size=2))
    yield app
    app.close()


def test_a_time_stored_without_its_zone_is_read_as_utc_by_every_read_model_and_follower(
    store: Store,  # noqa: F811
    apps: tuple[MembershipApp, MarksApp, Engine],
    marketplace: MarketplaceApp,
) -> None:
    membership, _, engine = apps
    naive = datetime(2026, 3, 2, 9, 30)
    org = uuid.uuid4()
    record(
        membership,
        f"{ORGANISATION}.Registered",
        org,
        1,
        **registered(name="Naive Ltd", timestamp=naive, effective_at=naive),
    )
    record(membership, f"{ORGANISATION}.MembershipApplied", org, 2, timestamp=naive)
    record(
        membership,
        f"{ORGANISATION}.MembershipAdmitted",
        org,
        3,
        timestamp=naive,
        effective_at=naive,
    )
    listing = uuid.uuid4()
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
        listing,
        1,
        originator_topic=LISTING,
        organisation_id=org,
        details=details,
        timestamp=naive,
        effective_at=naive,
    )
    projections = [
        *all_projections(),
        BuyersProjection(),
        ListingsProjection(),
        NoticeWriter("https://tradehall.example"),
    ]
    runner = BatchProjector(
        engine,
        {
            "membership": EventSource("membership", membership.recorder),
            "marketplace": EventSource("marketplace", marketplace.recorder),
        },
        projections,
        in_commit=store.in_projection_commit,
    )
    runner.catch_up()

    assert [s.failure for s in runner.status()] == [None] * len(runner.status())
    utc = naive.replace(tzinfo=UTC)
    with engine.connect() as connection:
        member = connection.execute(
            select(directory_members).where(directory_members.c.organisation_id == org)
        ).one()
        published = connection.execute(
            select(service_listings.c.published_at).where(service_listings.c.listing_id == listing)
        ).scalar_one()
        told = connection.execute(
            select(outbox_messages.c.created_at).where(
                outbox_messages.c.organisation_id == org,
                outbox_messages.c.template == "application_admitted",
            )
        ).scalar_one()
    assert (member.registered_at, member.admitted_at, member.listed) == (utc, utc, False)
    assert published == utc
    assert told == utc


def test_the_clock_s_index_of_statuses_passes_a_status_event_without_its_status(
    apps: tuple[MembershipApp, MarksApp, Engine],
) -> None:
    """The clock job folds the log's status events the way the directory does
    (projections.membership_status): an event that does not say its status stops neither."""
    membership, _, _ = apps
    current, odd = uuid.uuid4(), uuid.uuid4()
    for org in (current, odd):
        record(membership, f"{ORGANISATION}.Registered", org, 1, **registered())
        record(membership, f"{ORGANISATION}.StandingChanged", org, 2, status="current")
    record(membership, f"{ORGANISATION}.StandingChanged", odd, 3)  # no status

    members = new_member_index().members(membership.recorder)

    # The organisation whose latest status cannot be read is no candidate for the clock.
    assert members == [current]


def test_the_notice_writer_queues_a_notice_whose_event_holds_no_time(
    store: Store,  # noqa: F811
    apps: tuple[MembershipApp, MarksApp, Engine],
) -> None:
    """The outbox row is dated by the event's time, else its effective time (the row needs
    one: it orders the sending)."""
    membership, _, engine = apps
    org = uuid.uuid4()
    record(membership, f"{ORGANISATION}.Registered", org, 1, **registered(name="Timeless Ltd"))
    record(membership, f"{ORGANISATION}.MembershipApplied", org, 2)
    record(membership, f"{ORGANISATION}.MembershipAdmitted", org, 3, timestamp=...)
    writer = NoticeWriter("https://tradehall.example")
    runner = BatchProjector(
        engine,
        {"membership": EventSource("membership", membership.recorder)},
        [writer],
        in_commit=store.in_projection_commit,
    )

    runner.catch_up()

    assert [s.failure for s in runner.status()] == [None]
    with engine.connect() as connection:
        told = connection.execute(
            select(outbox_messages.c.created_at).where(
                outbox_messages.c.organisation_id == org,
                outbox_messages.c.template == "application_admitted",
            )
        ).scalar_one()
    assert told == AT
