"""Saved searches' alerts for requests for quote (issue 18), on both stores: an open-audience
request alerts each matching search saved before it was posted (event time, whatever the log's
order), once, while it is open; an invited one never alerts; the mail names a request for
quote and links it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select

from marketplace.alerts.criteria import Criteria
from projections.events import RecordedEvent
from tests.integration.recorded import recorded
from tradehall.mail.tables import outbox_messages
from tradehall.marketplace.alerts.digest import queue_digests
from tradehall.marketplace.alerts.follower import IMMEDIATE_TEMPLATE, AlertFollower
from tradehall.marketplace.alerts.tables import alerts

# Long past: no other test's search was saved before these requests, nor looks back while they
# are open; the digest queued "now" takes no other test's daily alerts.
T0 = datetime(2020, 11, 2, 9, 0, tzinfo=UTC)
URL = "https://hall.example"
PERIOD = {"start": "2027-01-04T00:00:00+00:00", "end": "2027-03-31T00:00:00+00:00"}


class Log:
    """Marketplace events, numbered as they are made; each at the time it is given."""

    def __init__(self) -> None:
        self.events: list[RecordedEvent] = []
        self.versions: dict[uuid.UUID, int] = {}

    def add(self, aggregate: uuid.UUID, topic: str, at: datetime, **data: Any) -> None:
        version = self.versions[aggregate] = self.versions.get(aggregate, 0) + 1
        data["timestamp"] = at
        self.events.append(
            recorded("marketplace", len(self.events) + 1, aggregate, version, topic, data)
        )

    def search(
        self, search: uuid.UUID, organisation: uuid.UUID, at: datetime, **criteria: Any
    ) -> None:
        delivery = criteria.pop("delivery", "immediate")
        self.add(
            search,
            "marketplace.alerts.search:SavedSearch.Saved",
            at,
            organisation_id=organisation,
            user_id=uuid.uuid4(),
            name="Grounds work",
            criteria=Criteria.parse(**criteria).as_data(),
            delivery=delivery,
        )

    def posted(self, request: uuid.UUID, at: datetime, tag: str, **terms: Any) -> None:
        terms.setdefault("cpv_codes", ["77310000-6"])
        terms.setdefault("regions", ["TLC3"])
        terms.setdefault("budget", {"currency": "GBP", "min_minor": None, "max_minor": 500_000})
        terms.setdefault("deadline", T0 + timedelta(days=14))
        terms.setdefault("audience", "open")
        terms.setdefault("invited", [])
        self.add(
            request,
            "marketplace.quotes.request:RequestForQuote.Posted",
            at,
            requester_id=uuid.uuid4(),
            title=f"Grass cutting {tag}",
            description="Two sites, fortnightly",
            period=PERIOD,
            **terms,
        )

    def request(self, request: uuid.UUID, name: str, at: datetime, **data: Any) -> None:
        self.add(request, f"marketplace.quotes.request:RequestForQuote.{name}", at, **data)


def follow(engine: Engine, batches: list[list[RecordedEvent]]) -> None:
    follower = AlertFollower(URL)
    for batch in batches:
        with engine.begin() as connection:
            follower.apply(connection, batch)


def alerted(engine: Engine, organisations: list[uuid.UUID]) -> list[tuple[Any, ...]]:
    with engine.connect() as connection:
        return sorted(
            (row.organisation_id, row.item_id, row.item_kind, row.message_id is not None)
            for row in connection.execute(
                select(alerts).where(alerts.c.organisation_id.in_(organisations))
            )
        )


def test_an_open_request_alerts_searches_saved_before_it_once_an_invited_one_never(
    engine: Engine,
) -> None:
    tag = uuid.uuid4().hex[:10]
    early, band, late, reordered, other = (uuid.uuid4() for _ in range(5))
    open_request, invited, cancelled = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    log = Log()
    log.search(uuid.uuid4(), early, T0, cpv_prefixes=["7731"], keywords=[tag])
    log.search(uuid.uuid4(), band, T0, regions=["TLC31"], max_value_minor=600_000, keywords=[tag])
    # Would want it but for the band: the budget's upper bound is above the search's.
    log.search(uuid.uuid4(), other, T0, max_value_minor=400_000, keywords=[tag])
    log.posted(open_request, T0 + timedelta(hours=1), tag)
    log.posted(
        invited, T0 + timedelta(hours=1), tag, audience="invited", invited=[str(uuid.uuid4())]
    )
    log.posted(cancelled, T0 + timedelta(hours=1), tag)
    log.request(cancelled, "Cancelled", T0 + timedelta(hours=2), reason="Not needed")
    # Saved after the posting: nothing of it is new to this search.
    log.search(uuid.uuid4(), late, T0 + timedelta(hours=3), keywords=[tag])
    # Saved before the posting, by its event's time, though the log holds it after: alerted
    # when its saving looks back, except for the request cancelled meanwhile.
    log.search(uuid.uuid4(), reordered, T0 + timedelta(minutes=30), keywords=[tag])
    organisations = [early, band, late, reordered, other]

    follow(engine, [log.events[:4], log.events[4:]])
    # The cancelled one alerted those saved before it while it was open (at its posting).
    expected = sorted(
        [(org, open_request, "request", True) for org in (early, band, reordered)]
        + [(org, cancelled, "request", True) for org in (early, band)]
    )
    assert alerted(engine, organisations) == expected
    # Followed again (another batch holding the same events): nothing new, no second mail.
    follow(engine, [log.events])
    assert alerted(engine, organisations) == expected
    with engine.connect() as connection:
        messages = list(
            connection.execute(
                select(outbox_messages).where(
                    outbox_messages.c.organisation_id.in_(organisations),
                    outbox_messages.c.template == IMMEDIATE_TEMPLATE,
                )
            )
        )
    assert len(messages) == 5
    [message] = [m for m in messages if m.organisation_id == reordered]
    assert message.subject == f"New request for quote: Grass cutting {tag}"
    assert "A new request for quote matches your saved search" in message.body
    assert f"{URL}/api/v1/requests-for-quote/{open_request}" in message.body


def test_a_request_whose_quotes_are_opened_alerts_no_search_looking_back(
    engine: Engine,
) -> None:
    tag = uuid.uuid4().hex[:10]
    member, still_open, opened = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    log = Log()
    log.posted(still_open, T0 + timedelta(hours=1), tag)
    log.posted(opened, T0 + timedelta(hours=1), tag, deadline=T0 + timedelta(days=1))
    log.request(opened, "QuotesOpened", T0 + timedelta(days=1), quotes=[], declined=[])
    # Saved (by its event's time) before both were posted, recorded after: its saving looks
    # back and finds the one still open, not the one whose quotes are opened.
    log.search(uuid.uuid4(), member, T0 + timedelta(minutes=30), keywords=[tag])
    follow(engine, [log.events])
    assert alerted(engine, [member]) == [(member, still_open, "request", True)]


async def test_the_daily_digest_names_and_links_a_request_for_quote(
    engine: Engine, async_engine: Any
) -> None:
    tag = uuid.uuid4().hex[:10]
    member, request = uuid.uuid4(), uuid.uuid4()
    log = Log()
    log.search(uuid.uuid4(), member, T0, keywords=[tag], delivery="daily")
    log.posted(request, T0 + timedelta(hours=1), tag)
    follow(engine, [log.events])
    assert alerted(engine, [member]) == [(member, request, "request", False)]
    await queue_digests(async_engine, T0 + timedelta(days=1), URL)
    with engine.connect() as connection:
        [digest] = list(
            connection.execute(
                select(outbox_messages).where(outbox_messages.c.organisation_id == member)
            )
        )
    assert f"- Grass cutting {tag} (request for quote)" in digest.body
    assert f"{URL}/api/v1/requests-for-quote/{request}" in digest.body
