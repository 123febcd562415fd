"""A follower applied to the same events again (its position set back by hand or by a restore)
records nothing twice and does not fail: the membership, quality-mark and tender notice writers
queue each message once (by its stable id) and the card-subscription follower records each
command once (by its id, Stripe's idempotency key). On both stores.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, select

from projections.base import Projection
from projections.events import RecordedEvent
from tests.integration.recorded import recorded
from tradehall.mail.tables import outbox_messages
from tradehall.marketplace.notices import TenderNoticeWriter
from tradehall.membership.card_subscriptions import CardSubscriptionFollower
from tradehall.membership.marks.notices import MarkNoticeWriter
from tradehall.membership.notices import NoticeWriter
from tradehall.payments.tables import card_subscription_commands

AT = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
URL = "https://tradehall.example"
ORGANISATION = "membership.domain:Organisation"
APPLICATION = "membership.marks.assessment:MarkApplication"
MARK = "membership.marks.mark:QualityMark"


class Log:
    """Events of one log as the projector reads them, numbered as they are made."""

    def __init__(self, log: str) -> None:
        self.log = log
        self.events: list[RecordedEvent] = []
        self.versions: dict[uuid.UUID, int] = {}

    def add(self, topic: str, originator: uuid.UUID, **data: Any) -> None:
        version = self.versions[originator] = self.versions.get(originator, 0) + 1
        data = {"timestamp": AT, "actor": "system", "request_id": "r", "effective_at": AT} | data
        position = len(self.events) + 1
        self.events.append(recorded(self.log, position, originator, version, topic, data))


def applied_twice(engine: Engine, follower: Projection, events: Sequence[RecordedEvent]) -> None:
    """Each event applied, then all of them again in a later batch (a replay)."""
    for _ in range(2):
        with engine.begin() as connection:
            follower.apply(connection, events)


def queued(connection: Connection, organisations: set[uuid.UUID]) -> Counter[str]:
    column = outbox_messages.c.organisation_id
    found = connection.execute(
        select(outbox_messages.c.template).where(column.in_(organisations))
    ).scalars()
    return Counter(found)


def test_the_membership_and_mark_notice_writers_queue_nothing_twice(engine: Engine) -> None:
    org = uuid.uuid4()
    membership = Log("membership")
    membership.add(f"{ORGANISATION}.Registered", org, name="Twice Ltd")
    membership.add(f"{ORGANISATION}.MembershipApplied", org)
    membership.add(f"{ORGANISATION}.MembershipAdmitted", org)
    membership.add(f"{ORGANISATION}.PaymentRecorded", org, amount_minor=100, reference="R")
    membership.add(f"{ORGANISATION}.StandingChanged", org, status="grace")
    marks = Log("marks")
    application, mark = uuid.uuid4(), uuid.uuid4()
    marks.add(f"{APPLICATION}.Started", application, organisation_id=org, review="full")
    marks.add(
        f"{APPLICATION}.InformationRequested", application, round=1, question="Q?", reply_by=AT
    )
    marks.add(
        f"{MARK}.Awarded", mark, organisation_id=org, certificate_number="TH-1", valid_until=AT
    )

    applied_twice(engine, NoticeWriter(URL), membership.events)
    applied_twice(engine, MarkNoticeWriter(URL), marks.events)

    with engine.connect() as connection:
        assert queued(connection, {org}) == {
            "application_admitted": 1,
            "payment_received": 1,
            "grace": 1,
            "mark_information_requested": 1,
            "mark_awarded": 1,
        }


def test_the_tender_notice_writer_queues_nothing_twice(engine: Engine) -> None:
    tender, buyer, supplier, clarification = (uuid.uuid4() for _ in range(4))
    log = Log("marketplace")
    terms = {"title": "Grounds", "tender_period": {"end": "2027-01-04T12:00:00+00:00"}}
    log.add("marketplace.tenders:Tender.Drafted", tender, buyer_id=buyer, ocid="o", terms=terms)
    log.add(
        "marketplace.tenders:Interest.Registered",
        uuid.uuid4(),
        tender_id=tender,
        supplier_id=supplier,
    )
    log.add(
        "marketplace.tenders:Tender.Amended",
        tender,
        terms=terms,
        changed=["tender_period"],
        rationale="More time",
    )
    log.add(
        "marketplace.tenders:Clarification.Asked",
        clarification,
        tender_id=tender,
        asker_id=supplier,
        question="When?",
    )
    log.add("marketplace.tenders:Clarification.Answered", clarification, answer="Soon")

    applied_twice(engine, TenderNoticeWriter(URL), log.events)

    with engine.connect() as connection:
        assert queued(connection, {supplier}) == {
            "tender_amended": 1,
            "tender_question_answered": 1,
        }


def test_the_card_subscription_follower_records_each_command_once(engine: Engine) -> None:
    org = uuid.uuid4()
    log = Log("membership")
    log.add(f"{ORGANISATION}.Registered", org, name="Twice Ltd")
    log.add(f"{ORGANISATION}.TurnoverDeclared", org, turnover_minor=10_000_00, currency="GBP")
    log.add(f"{ORGANISATION}.Expelled", org, reason="fraud")

    applied_twice(engine, CardSubscriptionFollower(), log.events)

    with engine.connect() as connection:
        actions = connection.execute(
            select(card_subscription_commands.c.action).where(
                card_subscription_commands.c.organisation_id == org
            )
        ).scalars()
        assert Counter(actions) == {"reprice": 1, "cancel_now": 1}


def test_a_replayed_amendment_tells_no_supplier_whose_interest_came_after_it(
    engine: Engine,
) -> None:
    """Interest is taken from the moment it is registered: a supplier registering after an
    amendment is not told of it, the first time or when the events are applied again."""
    tender, buyer, early, late = (uuid.uuid4() for _ in range(4))
    log = Log("marketplace")
    terms = {"title": "Grounds", "tender_period": {"end": "2027-01-04T12:00:00+00:00"}}
    log.add("marketplace.tenders:Tender.Drafted", tender, buyer_id=buyer, ocid="o", terms=terms)
    for supplier in (early, late):
        if supplier == late:
            log.add(
                "marketplace.tenders:Tender.Amended",
                tender,
                terms=terms,
                changed=["tender_period"],
                rationale="More time",
            )
        log.add(
            "marketplace.tenders:Interest.Registered",
            uuid.uuid4(),
            tender_id=tender,
            supplier_id=supplier,
        )

    applied_twice(engine, TenderNoticeWriter(URL), log.events)

    with engine.connect() as connection:
        assert queued(connection, {early}) == {"tender_amended": 1}
        assert queued(connection, {late}) == {}
