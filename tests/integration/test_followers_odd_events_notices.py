"""The membership and quality-mark notice writers pass an event that is in the log but not as
the domain writes it (a key missing, None, a value of another type): it is left out with a log
line, and the next good event is still mailed (ADR 16: a follower never fails for ever). On
both stores, each event recorded raw in its log as another writer might, run by the projector.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import Engine, select

from membership.application import MembershipApp
from membership.marks.application import MarksApp
from projections.events import EventSource
from projections.runner import BatchProjector
from tests.integration.test_projector import store  # noqa: F401
from tests.integration.test_readside_review_payloads import (
    APPLICATION,
    AT,
    MARK,
    ORGANISATION,
    apps,  # noqa: F401
    record,
    registered,
)
from tradehall.mail.tables import outbox_messages
from tradehall.membership.marks.notices import MarkNoticeWriter
from tradehall.membership.notices import NoticeWriter
from tradehall.store.base import Store

URL = "https://tradehall.example"


def run_writers(
    the_store: Store, membership: MembershipApp, marks: MarksApp, engine: Engine
) -> None:
    runner = BatchProjector(
        engine,
        {
            "membership": EventSource("membership", membership.recorder),
            "marks": EventSource("marks", marks.recorder),
        },
        [NoticeWriter(URL), MarkNoticeWriter(URL)],
        in_commit=the_store.in_projection_commit,
    )
    runner.catch_up()
    heads = {
        "membership": membership.recorder.max_notification_id() or 0,
        "marks": marks.recorder.max_notification_id() or 0,
    }
    assert [(s.projection, s.position, s.failure) for s in runner.status()] == [
        (s.projection, heads[s.log], None) for s in runner.status()
    ]


def told(engine: Engine, organisation: uuid.UUID) -> list[tuple[str, str]]:
    with engine.connect() as connection:
        return sorted(
            (row.template, row.body)
            for row in connection.execute(
                select(outbox_messages).where(outbox_messages.c.organisation_id == organisation)
            )
        )


def test_the_membership_notice_writer_leaves_out_odd_events_and_mails_the_next(
    store: Store,  # noqa: F811
    apps: tuple[MembershipApp, MarksApp, Engine],  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    membership, marks, engine = apps
    nameless, none_named, good = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    record(membership, f"{ORGANISATION}.Registered", nameless, 1, **registered(name=...))
    record(membership, f"{ORGANISATION}.Registered", none_named, 1, **registered(name=None))
    record(membership, f"{ORGANISATION}.Registered", good, 1, **registered(name="Good Ltd"))
    odd: list[tuple[str, dict[str, Any]]] = [
        ("ProfileUpdated", {"name": None, "social_purpose": "x", "regions": [], "cpv_codes": []}),
        ("ProfileUpdated", {"name": ..., "social_purpose": "x", "regions": [], "cpv_codes": []}),
        ("MembershipRejected", {}),
        ("MembershipRejected", {"reason": None}),
        ("PaymentRecorded", {"amount_minor": None, "reference": "r"}),
        ("PaymentRecorded", {"amount_minor": "ten", "reference": "r"}),
        ("PaymentRecorded", {"reference": "r"}),
        ("PaymentRecorded", {"amount_minor": 100}),
        ("RenewalDue", {}),
        ("RenewalDue", {"period_end": None}),
        ("PaymentFailed", {}),
        ("PaymentFailed", {"reference": None}),
        ("StandingChanged", {}),
        ("StandingChanged", {"status": None}),
        ("StandingChanged", {"status": {"grace": 1}}),
        ("StandingChanged", {"status": ["grace"]}),
        ("Suspended", {}),
        ("Suspended", {"reason": None}),
    ]
    version = 1
    for name, data in odd:
        version += 1
        record(membership, f"{ORGANISATION}.{name}", good, version, **data)
    # The good events after them, each mailed under the name the organisation registered.
    later: list[tuple[str, dict[str, Any]]] = [
        ("PaymentRecorded", {"amount_minor": 12_345, "reference": "INV-1"}),
        ("StandingChanged", {"status": "grace"}),
        ("Suspended", {"reason": "checks"}),
    ]
    for name, data in later:
        version += 1
        record(membership, f"{ORGANISATION}.{name}", good, version, **data)
    for organisation in (nameless, none_named):
        record(membership, f"{ORGANISATION}.MembershipAdmitted", organisation, 2)

    run_writers(store, membership, marks, engine)

    assert told(engine, good) == [
        ("grace", "Good Ltd's dues are overdue. The membership stays in good standing for a "
         "month of grace; please pay to keep it."),
        ("payment_received", "We received £123.45 from Good Ltd (reference INV-1)."),
        ("suspended", "The association has suspended Good Ltd's membership: checks"),
    ]  # fmt: skip
    for organisation in (nameless, none_named):
        [(template, body)] = told(engine, organisation)
        assert template == "application_admitted"
        assert body.startswith("Your organisation is admitted.")
    assert "left out: not what the domain writes" in caplog.text


def test_the_mark_notice_writer_leaves_out_odd_events_and_mails_the_next(
    store: Store,  # noqa: F811
    apps: tuple[MembershipApp, MarksApp, Engine],  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    membership, marks, engine = apps
    org = uuid.uuid4()
    record(membership, f"{ORGANISATION}.Registered", org, 1, **registered(name="Marked Ltd"))
    started = {"originator_topic": APPLICATION, "organisation_id": org, "review": "full"}
    # Applications whose organisation cannot be read: their later events are left out.
    for odd in ({"organisation_id": ...}, {"organisation_id": None}, {"organisation_id": "x"}):
        stray = uuid.uuid4()
        record(marks, f"{APPLICATION}.Started", stray, 1, **(started | odd))
        record(marks, f"{APPLICATION}.Suspended", stray, 2, reason="never told")
        record(marks, f"{APPLICATION}.InformationRequested", stray, 3, question="Who?", reply_by=AT)
    application = uuid.uuid4()
    record(marks, f"{APPLICATION}.Started", application, 1, **started)
    asked = {"round": 1, "question": "Your accounts?", "reply_by": AT}
    version = 1
    for odd in (
        {"question": ...},
        {"question": None},
        {"reply_by": ...},
        {"reply_by": "soon"},
    ):
        version += 1
        record(marks, f"{APPLICATION}.InformationRequested", application, version, **(asked | odd))
    for odd in ({"reasons": ["a"]}, {"reasons": {"governance": None}}):
        version += 1
        record(marks, f"{APPLICATION}.Rejected", application, version, **odd)
    version += 1
    record(marks, f"{APPLICATION}.InformationRequested", application, version, **asked)

    awarded = {
        "originator_topic": MARK,
        "organisation_id": org,
        "certificate_number": {"not": "text"},
        "application_id": application,
        "valid_from": AT,
        "valid_until": ...,  # the award's notice is left out, its organisation kept
    }
    mark = uuid.uuid4()
    record(marks, f"{MARK}.Awarded", mark, 1, **awarded)
    version = 1
    for name, data in [
        ("Renewed", {"valid_until": None}),
        ("RenewalDue", {"days_before": None, "valid_until": AT}),
        ("RenewalDue", {"days_before": "thirty", "valid_until": AT}),
        ("RenewalDue", {"days_before": 30}),
        ("Expired", {"valid_until": "later"}),
        ("Suspended", {"cause": "staff", "reason": None}),
        ("Suspended", {"cause": "staff"}),
        ("Suspended", {"cause": "staff", "reason": "checks", "caused_by": None}),
    ]:
        version += 1
        record(marks, f"{MARK}.{name}", mark, version, **data)

    run_writers(store, membership, marks, engine)

    assert told(engine, org) == [
        ("mark_information_requested", "The assessor of Marked Ltd's quality mark application "
         f"asks: Your accounts?\nPlease reply by {AT.date().isoformat()}."),
        ("mark_suspended", "Marked Ltd's quality mark ((not known)) is suspended: checks"),
    ]  # fmt: skip
    assert "left out" in caplog.text
