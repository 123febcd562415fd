"""The tender board's read model, on both stores: drafts are kept flagged and never on the
board, amendments and documents are recorded, a buyer's rename follows, and no event stops the
projection (ADR 16)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.ext.asyncio import AsyncEngine

from projections.events import RecordedEvent
from projections.tables import tender_amendments, tender_documents, tenders
from projections.tenders import TendersProjection, buyer_tenders, tender_board, tender_detail
from tests.integration.recorded import recorded

T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
PERIOD = {"start": "2026-03-02T10:00:00+00:00", "end": "2026-04-01T12:00:00+00:00"}
CRITERION = {"name": "Price", "weight": 50, "scale": 10}
TERMS: dict[str, Any] = {
    "title": "Parks",
    "description": "Two lots",
    "method": "open",
    "category": "services",
    "lots": [
        {
            "id": "lot-1",
            "title": "Grounds",
            "description": "",
            "cpv_codes": ["77310000-6"],
            "value_minor": 1000,
            "currency": "GBP",
        },
        {
            "id": "lot-2",
            "title": "Cafe",
            "description": "",
            "cpv_codes": ["55520000-1", "77310000-6"],
            "value_minor": 500,
            "currency": "GBP",
        },
    ],
    "enquiry_period": PERIOD,
    "tender_period": PERIOD,
    "contract_period": {"start": "2026-05-01T00:00:00+00:00", "end": "2027-05-01T00:00:00+00:00"},
    "eligibility": {"members_only": False, "quality_mark_required": True, "regions": ["TLC3"]},
    "evaluation": {
        "price": CRITERION,
        "quality": [CRITERION | {"name": "Method", "weight": 40}],
        "social_value": CRITERION | {"name": "Social value", "weight": 10},
        "tie_break": "lowest_price",
        "abnormally_low_percent": 20,
    },
}
LATER = {"start": PERIOD["start"], "end": "2026-04-15T12:00:00+00:00"}


def event(
    log: str, position: int, originator: uuid.UUID, event_name: str, version: int = 1, **data: Any
) -> RecordedEvent:
    data.setdefault("timestamp", T0)
    module = "membership.domain" if log == "membership" else "marketplace.tenders"
    return recorded(log, position, originator, version, f"{module}:{event_name}", data)


def m(position: int, originator: uuid.UUID, name: str, version: int = 1, **data: Any) -> Any:
    """A marketplace event."""
    return event("marketplace", position, originator, f"Tender.{name}", version, **data)


async def test_drafts_stay_private_and_no_event_stops_the_projection(
    engine: Engine, async_engine: AsyncEngine
) -> None:
    buyer, tender, broken, draft = uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    odd = TERMS | {"description": "nul \x00 and lone \ud800 surrogate"}
    sha = "a" * 64
    document = {"sha256": sha, "content_type": "image/png", "size": 10, "filename": "a.png"}
    with engine.begin() as connection:
        TendersProjection().apply(
            connection,
            [
                event("membership", 1, buyer, "Organisation.Registered", name="Riverside"),
                event("membership", 2, buyer, "Organisation.ProfileUpdated", 2, name="Riverside B"),
                m(1, tender, "Drafted", buyer_id=buyer, ocid="ocds-x-1", terms=odd),
                m(2, tender, "DraftRevised", 2, terms={"title": "junk"}),
                m(3, tender, "Published", 3, status="active"),
                m(4, tender, "DocumentAdded", 4, kind="other", **document),
                m(5, tender, "DocumentAdded", 5, kind="other", **document),
                m(6, tender, "DocumentAdded", 6, sha256=sha, size="big"),
                m(
                    7, tender, "Amended", 7, terms=TERMS | {"tender_period": LATER},
                    changed=["tender_period"], rationale="More time",
                ),
                m(8, tender, "Ended", 8, status="bogus", reason="x"),
                # Terms that are not a tender's: left out, with the events that follow.
                m(9, broken, "Drafted", buyer_id=buyer, terms={"lots": []}),
                m(10, broken, "Published", 2, status="active"),
                m(11, draft, "Drafted", buyer_id=buyer, ocid="o", terms=TERMS),
            ],
        )  # fmt: skip
        row = connection.execute(select(tenders).where(tenders.c.tender_id == tender)).one()
        assert (row.status, row.version, row.value_minor) == ("active", 8, 1500)
        assert row.deadline == datetime(2026, 4, 15, 12, tzinfo=UTC)
        assert connection.execute(select(tenders).where(tenders.c.tender_id == broken)).all() == []
        documents = select(tender_documents).where(tender_documents.c.tender_id == tender)
        assert len(connection.execute(documents).all()) == 1
        [amendment] = connection.execute(
            select(tender_amendments).where(tender_amendments.c.tender_id == tender)
        ).all()
        assert (amendment.version, amendment.rationale) == (7, "More time")
    async with async_engine.connect() as connection:
        board = await tender_board(connection, buyer_id=buyer, limit=10, offset=0)
        assert [e.tender_id for e in board.entries] == [tender]
        assert board.entries[0].buyer_name == "Riverside B"
        assert board.entries[0].cpv_codes == ["55520000-1", "77310000-6"]
        assert await tender_board(
            connection, buyer_id=buyer, cpv_code="55000000", limit=10, offset=0
        )
        own = await buyer_tenders(connection, buyer, limit=10, offset=0)
        assert {e.tender_id: e.status for e in own.entries} == {tender: "active", draft: "draft"}
        detail = await tender_detail(connection, tender)
        assert detail is not None
        assert detail.terms.tender_period.end == datetime(2026, 4, 15, 12, tzinfo=UTC)
        assert [a.changed for a in detail.amendments] == [["tender_period"]]
