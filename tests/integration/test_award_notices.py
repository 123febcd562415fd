"""The award notice writer, on both stores: a lot's decision in the marketplace log queues every
bidder's assessment summary under the ids the award notice waits for; a losing bidder reads its
own scores with the buyer's justifications and the winner's, never a third bid's; a bid priced
abnormally low has its lead asked to explain, naming no other bidder or price; a replay queues
nothing new; `all_sent` holds only once the mail sender has marked every summary sent; and a
malformed event is skipped, never an error (ADR 16)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.ext.asyncio import AsyncEngine

from marketplace.application import BuyerFacts, MarketplaceApp
from marketplace.bids.content import SupplierFacts
from marketplace.evaluation.application import Score
from marketplace.evaluation.lot import evaluation_id_for
from marketplace.tender_terms import LotInput
from projections.events import EventSource, RecordedEvent
from projections.runner import BatchProjector
from sharedkernel.events import Context
from tests.unit.test_tender_domain import terms
from tradehall.clock import ManualClock
from tradehall.mail.outbox import Notice, outbox_row
from tradehall.mail.sender import mark_sent
from tradehall.mail.tables import outbox_messages
from tradehall.marketplace.award_notices import (
    LOW_PRICE_TEMPLATE,
    SUMMARY_TEMPLATE,
    AwardNoticeWriter,
    all_sent,
    summary_message_id,
    summary_message_ids,
)
from tradehall.marketplace.sealing.keys import SealingKeys
from tradehall.store.base import Store

T = TypeVar("T")
URL = "https://tradehall.example"
NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)
SUBMITTED = NOW + timedelta(days=2)
OPENED = NOW + timedelta(days=30, hours=1)  # after the deadline (30 days on)
SCORED = ["method statement", "experience", "social value"]
# Each bid's scores on SCORED, and what the buyer wrote of them.
SCORES = {
    "winner": (5, 4, 9),
    "second": (3, 3, 6),
    "third": (2, 2, 3),
    "cheap": (1, 1, 1),
}
PRICES = {"winner": 1_000_000, "second": 1_100_000, "third": 1_234_567, "cheap": 500_000}


def justification(bid: str, criterion: str) -> str:
    return f"ZQX-{bid.upper()} on {criterion}: the buyer's reasons"


def at(moment: datetime) -> Context:
    return Context("user:buyer", "r", moment)


@dataclass
class Scenario:
    """A buyer's tender of two lots (lot-1: a consortium's bid and three others, one priced
    abnormally low and excluded; lot-2: no bid) and a one-lot tender the buyer declined to
    award."""

    buyer: uuid.UUID = field(default_factory=uuid.uuid4)
    tender: uuid.UUID = field(default_factory=uuid.uuid4)
    declined: uuid.UUID = field(default_factory=uuid.uuid4)
    # The lead of each bid of lot-1 by name, and the winning consortium's partner.
    leads: dict[str, uuid.UUID] = field(default_factory=dict)
    partner: uuid.UUID = field(default_factory=uuid.uuid4)
    bids: dict[str, uuid.UUID] = field(default_factory=dict)
    # The declined tender's two bidders.
    declined_leads: list[uuid.UUID] = field(default_factory=list)

    def facts(self) -> dict[uuid.UUID, SupplierFacts]:
        organisations = [*self.leads.values(), self.partner, *self.declined_leads]
        return {o: SupplierFacts(o, True, True, False, ("TLC4",)) for o in organisations}


def opened_bid(
    bid_id: uuid.UUID, lot_id: str, lead: uuid.UUID, price: int, partner: uuid.UUID | None = None
) -> dict[str, Any]:
    """A valid bid as the opening records it (`bids.opening.as_opened`)."""
    shares = []
    if partner is not None:
        shares = [
            {"organisation_id": str(lead), "percent": 60},
            {"organisation_id": str(partner), "percent": 40},
        ]
    return {
        "bid_id": str(bid_id),
        "lot_id": lot_id,
        "lead_id": str(lead),
        "shares": shares,
        "submitted_at": SUBMITTED.isoformat(),
        "digest": "ab" * 32,
        "valid": True,
        "reason": None,
        "content": {
            "price_minor": price,
            "currency": "GBP",
            "answers": {"method statement": "We mow", "experience": "Ten years"},
            "commitments": [],
        },
        "documents": [],
    }


def published(app: MarketplaceApp, scenario: Scenario, tender_id: uuid.UUID, **given: Any) -> None:
    app.draft_tender(at(NOW), tender_id, scenario.buyer, terms(**given))
    app.publish_tender(at(NOW), tender_id, BuyerFacts("public_body"))


def score(app: MarketplaceApp, tender_id: uuid.UUID, bid_id: uuid.UUID, name: str) -> None:
    given = [
        Score(criterion, value, justification(name, criterion))
        for criterion, value in zip(SCORED, SCORES[name], strict=True)
    ]
    app.score_bid(at(OPENED), tender_id, "lot-1", bid_id, given)


def decide(app: MarketplaceApp) -> Scenario:
    """Both tenders through the marketplace's own commands, from publication to decision."""
    scenario = Scenario()
    app.verify_buyer(at(NOW), scenario.buyer, "public_body", "Schedule 2 of the Act")

    published(app, scenario, scenario.tender)
    for name, _price in PRICES.items():
        scenario.leads[name], scenario.bids[name] = uuid.uuid4(), uuid.uuid4()
    records = [
        opened_bid(
            scenario.bids[name],
            "lot-1",
            scenario.leads[name],
            price,
            scenario.partner if name == "winner" else None,
        )
        for name, price in PRICES.items()
    ]
    app.record_opening(at(OPENED), scenario.tender, records)
    for name, bid_id in scenario.bids.items():
        score(app, scenario.tender, bid_id, name)
    cheap = scenario.bids["cheap"]
    app.query_low_price(at(OPENED), scenario.tender, "lot-1", cheap)
    app.record_low_price_explanation(
        at(OPENED), scenario.tender, "lot-1", cheap, "ZQX-EXPLAINED volunteers"
    )
    app.decide_low_price(
        at(OPENED), scenario.tender, "lot-1", cheap, False, "ZQX-EXCLUDED: unpaid labour"
    )
    app.award_lot(at(OPENED), scenario.tender, "lot-1", scenario.facts())

    one_lot = [LotInput("Cafe", "The park cafe", ["55520000"], 5_000_000)]
    published(app, scenario, scenario.declined, lots=one_lot)
    scenario.declined_leads = [uuid.uuid4(), uuid.uuid4()]
    declined_bids = [uuid.uuid4(), uuid.uuid4()]
    app.record_opening(
        at(OPENED),
        scenario.declined,
        [
            opened_bid(bid, "lot-1", lead, 900_000)
            for bid, lead in zip(declined_bids, scenario.declined_leads, strict=True)
        ],
    )
    for bid_id in declined_bids:
        score(app, scenario.declined, bid_id, "second")
    app.decline_to_award(at(OPENED), scenario.declined, "lot-1", "ZQX-DECLINED: budget withdrawn")
    return scenario


@pytest.fixture
def marketplace(store: Store) -> Iterator[MarketplaceApp]:
    store.migrate()
    app = MarketplaceApp(env=store.application_env("marketplace", pool_size=2))
    yield app
    app.close()


@pytest.fixture
def engine(store: Store, marketplace: MarketplaceApp) -> Iterator[Engine]:
    made = store.sync_engine()
    yield made
    made.dispose()


@pytest.fixture
async def async_engine(store: Store, engine: Engine) -> Any:
    made: AsyncEngine = store.async_engine(pool_size=1)
    yield made
    await made.dispose()


def follow(store: Store, engine: Engine, app: MarketplaceApp) -> BatchProjector:
    runner = BatchProjector(
        engine,
        {"marketplace": EventSource("marketplace", app.recorder)},
        [AwardNoticeWriter(URL)],
        in_commit=store.in_projection_commit,
    )
    runner.catch_up()
    return runner


def rows_of(engine: Engine) -> dict[str, Any]:
    """The outbox's award messages, by id."""
    with engine.connect() as connection:
        found = connection.execute(
            select(outbox_messages).where(
                outbox_messages.c.template.in_([SUMMARY_TEMPLATE, LOW_PRICE_TEMPLATE])
            )
        ).all()
    return {row.message_id: row for row in found}


@dataclass
class SenderParts:
    """What the mail sender's `mark_sent` uses (tradehall.mail.sender.SenderParts)."""

    engine: AsyncEngine
    clock: ManualClock
    sealing: SealingKeys | None = None

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return fn(*args, **kwargs)


async def test_a_decision_queues_every_summary_under_the_ids_the_award_notice_waits_for(
    store: Store, marketplace: MarketplaceApp, engine: Engine, async_engine: AsyncEngine
) -> None:
    source = EventSource("marketplace", marketplace.recorder)
    start = source.head()
    scenario = decide(marketplace)
    follow(store, engine, marketplace)

    lot = marketplace.lot_evaluation(scenario.tender, "lot-1")
    expected = summary_message_ids(lot)
    # Every organisation in a bid: the consortium's partner too.
    assert len(expected) == 5
    outbox = rows_of(engine)
    summaries = {outbox[m].organisation_id: outbox[m] for m in expected}
    assert set(summaries) == {*scenario.leads.values(), scenario.partner}
    assert {r.template for r in summaries.values()} == {SUMMARY_TEMPLATE}
    assert {r.created_at for r in summaries.values()} == {OPENED}
    subjects = {r.subject for r in summaries.values()}
    assert subjects == {"Assessment summary: Grounds maintenance (lot-1)"}

    # The id is the event's: outbox_row of the deciding event says the same.
    decided = [e for e in source.read(start, 1000) if e.originator_id == lot.id]
    [awarded] = [e for e in decided if e.name == "LotEvaluation.Awarded"]
    assert lot.decision is not None
    assert awarded.originator_version == lot.decision.version
    organisation = scenario.leads["second"]
    notice = Notice(SUMMARY_TEMPLATE, "s", "b")
    assert (
        outbox_row(awarded, notice, organisation, per_addressee=True)["message_id"]
        == summary_message_id(lot.id, lot.decision.version, organisation)
        == summaries[organisation].message_id
    )

    # The declined tender: both bidders told why, with their own scores.
    declined = marketplace.lot_evaluation(scenario.declined, "lot-1")
    for message_id in summary_message_ids(declined):
        body = outbox[message_id].body
        assert "decided not to award" in body
        assert "ZQX-DECLINED: budget withdrawn" in body
        assert justification("second", "experience") in body
        assert "winning bid" not in body


async def test_a_losing_bidder_reads_its_own_scores_and_the_winners_never_a_third_bids(
    store: Store, marketplace: MarketplaceApp, engine: Engine
) -> None:
    scenario = decide(marketplace)
    follow(store, engine, marketplace)
    lot = marketplace.lot_evaluation(scenario.tender, "lot-1")
    assert lot.decision is not None
    results = {r["bid_id"]: r for r in lot.decision.results}
    outbox = rows_of(engine)
    by_organisation = {outbox[m].organisation_id: outbox[m].body for m in summary_message_ids(lot)}

    second = by_organisation[scenario.leads["second"]]
    mine, winners = results[str(scenario.bids["second"])], results[str(scenario.bids["winner"])]
    third = results[str(scenario.bids["third"])]
    assert "Outcome: your bid was not successful" in second
    for criterion in SCORED:
        assert justification("second", criterion) in second
        assert justification("winner", criterion) not in second  # the winner's scores, no words
        assert justification("third", criterion) not in second
        assert justification("cheap", criterion) not in second
    assert f"total {mine['total']} points\n" in second
    assert "ranked" not in second  # points, never a place among the losing bids
    assert "method statement: 5 out of 5 (weight 30 points)" in second  # the winner's score
    assert f"total {winners['total']} points\n" in second
    assert third["total"] not in second
    for secret in ("1234567", "12,345.67", "12345.67", "500000", "ZQX-EXPLAINED", "ZQX-EXCLUDED"):
        assert secret not in second
    for organisation in (*scenario.leads.values(), scenario.partner):
        assert str(organisation) not in second

    winner = by_organisation[scenario.leads["winner"]]
    assert by_organisation[scenario.partner] == winner
    assert "Outcome: your bid was successful" in winner
    assert justification("winner", "experience") in winner
    assert "winning bid" not in winner

    cheap = by_organisation[scenario.leads["cheap"]]
    assert "excluded for an abnormally low price" in cheap
    assert "ZQX-EXCLUDED: unpaid labour" in cheap
    assert justification("cheap", "social value") in cheap
    assert "Your bid's result: not ranked." in cheap
    assert third["total"] not in cheap


async def test_a_low_price_asks_the_lead_alone_naming_no_one_and_no_price(
    store: Store, marketplace: MarketplaceApp, engine: Engine
) -> None:
    scenario = decide(marketplace)
    follow(store, engine, marketplace)
    lot_id = evaluation_id_for(scenario.tender, "lot-1")

    asked = [
        r for r in rows_of(engine).values()
        if r.template == LOW_PRICE_TEMPLATE and r.organisation_id == scenario.leads["cheap"]
    ]  # fmt: skip
    [row] = asked
    assert row.subject == "Please explain your price: Grounds maintenance (lot-1)"
    assert 'lot "North" (lot-1) of the tender "Grounds maintenance"' in row.body
    assert "more than 20% below the average of the other bids' prices" in row.body
    assert "explain" in row.body
    assert "Your bid has not been excluded" in row.body
    for price in PRICES.values():
        assert str(price) not in row.body
        assert f"{price / 100:,.2f}" not in row.body
    for organisation in (*scenario.leads.values(), scenario.partner, scenario.buyer):
        assert str(organisation) not in row.body
    assert str(lot_id) not in row.body


async def test_a_replay_queues_nothing_new_and_all_sent_waits_for_every_summary(
    store: Store, marketplace: MarketplaceApp, engine: Engine, async_engine: AsyncEngine
) -> None:
    source = EventSource("marketplace", marketplace.recorder)
    start = source.head()
    scenario = decide(marketplace)
    lot = marketplace.lot_evaluation(scenario.tender, "lot-1")
    ids = summary_message_ids(lot)
    assert await all_sent(async_engine, ids) is False  # nothing queued yet

    follow(store, engine, marketplace)
    before = rows_of(engine)
    writer = AwardNoticeWriter(URL)
    events = source.read(start, 1000)
    with engine.begin() as connection:
        writer.apply(connection, events)
        writer.apply(connection, events)
    assert rows_of(engine).keys() == before.keys()
    assert await all_sent(async_engine, ids) is False  # queued, not sent

    parts = SenderParts(async_engine, ManualClock(OPENED + timedelta(minutes=5)))
    for message_id in ids[:-1]:
        await mark_sent(parts, message_id)
    assert await all_sent(async_engine, ids) is False  # one still waiting
    await mark_sent(parts, ids[-1])
    assert await all_sent(async_engine, ids) is True

    # And the award notice may now be published: the command asks whether they were sent.
    sent = await all_sent(async_engine, ids)
    later = OPENED + timedelta(hours=1)
    marketplace.publish_award_notice(at(later), scenario.tender, "lot-1", lambda _: sent)
    assert marketplace.lot_evaluation(scenario.tender, "lot-1").notice_published_at == later


def recorded(
    position: int, originator: uuid.UUID, name: str, version: int = 1, **data: Any
) -> RecordedEvent:
    data.setdefault("timestamp", OPENED)

    def value(v: Any) -> Any:
        if isinstance(v, uuid.UUID):
            return {"_type_": "uuid_hex", "_data_": v.hex}
        if isinstance(v, datetime):
            return {"_type_": "datetime_iso", "_data_": v.isoformat()}
        return v

    state = json.dumps({k: value(v) for k, v in data.items()}).encode()
    module = "marketplace.tenders" if name.startswith("Tender") else "marketplace.evaluation.lot"
    return RecordedEvent("marketplace", position, originator, version, f"{module}:{name}", state)


def test_malformed_events_are_skipped_never_an_error(
    store: Store, marketplace: MarketplaceApp, engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    tender, evaluation_id, lead, bid = uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    good = {
        "tender_id": str(tender),
        "lot_id": "lot-1",
        "recipients": [str(lead)],
        "outcome": "unsuccessful",
        "scores": [{"criterion": "q", "score": 1, "scale": 5, "weight": 30, "justification": "ok"}],
    }
    events = [
        recorded(1, tender, "Tender.Drafted", terms={"title": "Odd \x00 title", "lots": "none"}),
        recorded(2, tender, "Tender.Amended", 2, terms="not terms"),
        recorded(
            3, evaluation_id, "LotEvaluation.Started", tender_id=tender, lot_id="lot-1",
            rules={"abnormally_low_percent": "twenty"},
            bids=[{"bid_id": "not a uuid"}, {"bid_id": str(bid), "shares": []},
                  {"bid_id": str(bid), "shares": [{"organisation_id": str(lead)}]}],
        ),
        recorded(4, evaluation_id, "LotEvaluation.Started", tender_id="x", bids=None),
        recorded(5, evaluation_id, "LotEvaluation.LowPriceQueried", 2, bid_id=str(bid)),
        recorded(6, evaluation_id, "LotEvaluation.LowPriceQueried", 3, bid_id="nobody"),
        recorded(7, uuid.uuid4(), "LotEvaluation.LowPriceQueried", 1, bid_id=str(bid)),
        recorded(8, evaluation_id, "LotEvaluation.Awarded", 4, summaries="none"),
        recorded(
            9, evaluation_id, "LotEvaluation.Awarded", 5,
            summaries=[good, {"recipients": ["x"]}, 7, good | {"recipients": [str(lead), "x"]},
                       good | {"outcome": "mislaid", "result": None, "winner": None}],
        ),
        recorded(
            10, evaluation_id, "LotEvaluation.NotAwarded", 6, timestamp="never", summaries=[good]
        ),
    ]  # fmt: skip
    writer = AwardNoticeWriter(URL)
    with engine.begin() as connection:
        writer.apply(connection, events)
        writer.apply(connection, events)
    queued = [r for r in rows_of(engine).values() if r.organisation_id == lead]
    by_template: dict[str, list[Any]] = {}
    for row in queued:
        by_template.setdefault(row.template, []).append(row)
    [asked] = by_template[LOW_PRICE_TEMPLATE]
    assert "Odd" in asked.subject
    assert "abnormally low" in asked.body
    [summary] = by_template[SUMMARY_TEMPLATE]  # one message per event and organisation
    assert summary.message_id == summary_message_id(evaluation_id, 5, lead)
    assert "Outcome: your bid was not successful" in summary.body
    assert "skipped" in caplog.text
