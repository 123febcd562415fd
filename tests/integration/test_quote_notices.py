"""What requests for quote tell members through the outbox (issue 18), on both stores: an
invitation to each invited organisation; on acceptance, the winner told and every other quoter
told "not accepted"; on closure, every quoter told with the reason; on cancellation, the
invited told. Each message once, by a stable id, however often its event is followed; no event
stops the writer."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select

from projections.events import RecordedEvent
from tests.integration.recorded import recorded
from tradehall.mail.outbox import message_id
from tradehall.mail.tables import outbox_messages
from tradehall.marketplace.quote_notices import (
    ACCEPTED_TEMPLATE,
    CANCELLED_TEMPLATE,
    CLOSED_TEMPLATE,
    INVITATION_TEMPLATE,
    NOT_ACCEPTED_TEMPLATE,
    QuoteNoticeWriter,
)

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
URL = "https://hall.example"
PERIOD = {"start": "2027-01-04T00:00:00+00:00", "end": "2027-03-31T00:00:00+00:00"}


class Log:
    """RequestForQuote events as the marketplace's log holds them, numbered as they are made."""

    def __init__(self) -> None:
        self.events: list[RecordedEvent] = []
        self.versions: dict[uuid.UUID, int] = {}

    def add(self, request: uuid.UUID, name: str, **data: Any) -> None:
        version = self.versions[request] = self.versions.get(request, 0) + 1
        data.setdefault("timestamp", T0 + timedelta(hours=len(self.events)))
        topic = f"marketplace.quotes.request:RequestForQuote.{name}"
        self.events.append(
            recorded("marketplace", len(self.events) + 1, request, version, topic, data)
        )

    def posted(self, request: uuid.UUID, title: str, invited: list[uuid.UUID]) -> None:
        self.add(
            request,
            "Posted",
            requester_id=uuid.uuid4(),
            title=title,
            description="Two sites",
            cpv_codes=["77310000-6"],
            regions=[],
            budget=None,
            deadline=T0 + timedelta(days=14),
            period=PERIOD,
            audience="invited" if invited else "open",
            invited=[str(o) for o in invited],
        )

    def opened(self, request: uuid.UUID, quoters: list[uuid.UUID]) -> None:
        quotes = [
            {
                "quote_id": str(uuid.uuid4()),
                "supplier_id": str(q),
                "price_minor": 100_000,
                "currency": "GBP",
                "note": "",
                "quoted_at": T0.isoformat(),
            }
            for q in quoters
        ]
        self.add(request, "QuotesOpened", quotes=quotes, declined=[])


def follow(engine: Engine, batches: list[list[RecordedEvent]]) -> None:
    writer = QuoteNoticeWriter(URL)
    for batch in batches:
        with engine.begin() as connection:
            writer.apply(connection, batch)


def told(engine: Engine, organisations: list[uuid.UUID]) -> list[tuple[Any, ...]]:
    with engine.connect() as connection:
        return sorted(
            (row.organisation_id, row.template, row.subject, row.body, row.message_id)
            for row in connection.execute(
                select(outbox_messages).where(outbox_messages.c.organisation_id.in_(organisations))
            )
        )


def test_each_step_tells_whom_it_concerns_once(engine: Engine) -> None:
    x, y, z, w = (uuid.uuid4() for _ in range(4))
    invited, open_to_all, closed = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    log = Log()
    log.posted(invited, "Cleaning", [x, y])
    log.posted(open_to_all, "Catering", [])
    log.posted(closed, "Printing", [y, z])
    log.add(invited, "Cancelled", reason="Budget withdrawn")
    log.opened(open_to_all, [y, z, w])
    log.opened(closed, [y, z])
    log.add(
        open_to_all,
        "Accepted",
        quote_id=uuid.uuid4(),
        supplier_id=z,
        price_minor=100_000,
        currency="GBP",
        contract_id=uuid.uuid4(),
    )
    log.add(closed, "Closed", reason="Over budget")
    everyone = [x, y, z, w]
    follow(engine, [log.events[:5], log.events[5:]])

    found = told(engine, everyone)
    kinds = sorted((org, template) for org, template, *_ in found)
    assert kinds == sorted(
        [
            (x, INVITATION_TEMPLATE),  # Cleaning
            (y, INVITATION_TEMPLATE),  # Cleaning
            (y, INVITATION_TEMPLATE),  # Printing
            (z, INVITATION_TEMPLATE),  # Printing
            (x, CANCELLED_TEMPLATE),
            (y, CANCELLED_TEMPLATE),
            (z, ACCEPTED_TEMPLATE),
            (y, NOT_ACCEPTED_TEMPLATE),
            (w, NOT_ACCEPTED_TEMPLATE),
            (y, CLOSED_TEMPLATE),
            (z, CLOSED_TEMPLATE),
        ]
    )
    by = {(org, template, subject): body for org, template, subject, body, _ in found}
    invitation = by[(x, INVITATION_TEMPLATE, "Invitation to quote: Cleaning")]
    assert f"{URL}/api/v1/requests-for-quote/{invited}" in invitation
    assert f"{URL}/api/v1/organisations/{x}/quotes/{invited}" in invitation
    assert (
        "Why: Budget withdrawn"
        in by[(y, CANCELLED_TEMPLATE, "Request for quote cancelled: Cleaning")]
    )
    assert (z, ACCEPTED_TEMPLATE, "Your quote was accepted: Catering") in by
    not_accepted = by[(w, NOT_ACCEPTED_TEMPLATE, "Your quote was not accepted: Catering")]
    assert str(z) not in not_accepted  # nothing names the accepted quoter
    assert "Why: Over budget" in by[(z, CLOSED_TEMPLATE, "Request for quote closed: Printing")]
    # The ids follow from the event and the addressee: the same on every follow.
    cancelled_event = log.events[3]
    assert (x, CANCELLED_TEMPLATE) in {(o, t) for o, t, *_ in found}
    assert message_id(cancelled_event, CANCELLED_TEMPLATE, x) in {m for *_, m in found}

    # Followed again (a replay, in other batches): nothing new is queued.
    follow(engine, [[e] for e in log.events])
    assert told(engine, everyone) == found


def test_no_event_stops_the_writer(engine: Engine) -> None:
    x, y = uuid.uuid4(), uuid.uuid4()
    good, unknown = uuid.uuid4(), uuid.uuid4()
    log = Log()
    log.add(uuid.uuid4(), "Posted", title="No terms")  # left out
    log.posted(good, "Gardening", [x])
    log.posted(good, "Posted again", [y])  # another writer's: the first stands
    log.add(good, "QuotesOpened", quotes="none", declined=[])  # left out
    log.add(good, "Cancelled", reason=None)  # no reason: skipped
    log.add(good, "Accepted", supplier_id="nobody")  # skipped
    log.add(unknown, "Closed", reason="never posted")  # skipped
    log.add(good, "Closed", reason="late", timestamp="yesterday")  # no time: skipped
    log.add(good, "Cancelled", reason="Sorry")
    follow(engine, [log.events])
    assert [(org, template) for org, template, *_ in told(engine, [x, y])] == sorted(
        [(x, INVITATION_TEMPLATE), (x, CANCELLED_TEMPLATE)]
    )
