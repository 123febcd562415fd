"""Tenders: the tender board and each tender's public view (issue 11); a buyer's own list.

One projection follows two logs. From the marketplace log, a row a tender (its terms as they
stand, status, deadline, total estimated value; its CPV codes and eligible regions; its
amendments and documents; each decided lot's outcome, and the tender complete or unsuccessful
once every lot is decided, as `marketplace.tenders.Tender` does); from the membership log,
organisations' names (the buyer's name shown). A draft has its row, flagged by its status, for
its buyer's own list: every public read here leaves drafts out.

An event never stops the projection (ADR 16): text is made storable by `projections.folding`;
codes that would become one once stored are kept once; a tender event whose terms are not what
the domain writes is left out with a log line (a draft or amendment keeps the terms it had); a
lot's outcome is kept as the event gives it, and an event naming no lot is left out.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec
from sqlalchemy import (
    ColumnElement,
    Connection,
    and_,
    exists,
    literal,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from projections.base import BesideOrganisations, RowPerAggregate
from projections.codes import in_cpv, in_regions, replace_codes, stated_codes
from projections.events import EVENT_THEN_WHY, RecordedEvent, leave_out
from projections.folding import Row, load_touched, replace_keyed_rows, save_rows
from projections.pages import Page, entry_of, equal_where_given, page_rows
from projections.search_tables import TENDER_TEXT, tender_search_text
from projections.tables import (
    tender_amendments,
    tender_buyers,
    tender_cpv,
    tender_documents,
    tender_lot_outcomes,
    tender_regions,
    tenders,
)
from projections.text_search import matches, rank

DRAFTED = "Tender.Drafted"
REVISED = "Tender.DraftRevised"
PUBLISHED = "Tender.Published"
ACTIVATED = "Tender.Activated"
AMENDED = "Tender.Amended"
DOCUMENT_ADDED = "Tender.DocumentAdded"
ENDED = "Tender.Ended"
LOT_DECIDED = "Tender.LotDecided"
# Change nothing shown but the version (the tender's ETag follows the aggregate's); a national
# portal's ocid is shown in the OCDS releases (projections.ocds).
BIDS_OPENED = "Tender.BidsOpened"
NATIONAL_OCID_LINKED = "Tender.NationalOcidLinked"
_TENDER_EVENTS = frozenset(
    {
        DRAFTED,
        REVISED,
        PUBLISHED,
        ACTIVATED,
        AMENDED,
        DOCUMENT_ADDED,
        ENDED,
        LOT_DECIDED,
        BIDS_OPENED,
        NATIONAL_OCID_LINKED,
    }
)
DRAFT = "draft"
# Statuses each event may set (OCDS tender.status, as marketplace.tenders writes them).
PUBLISHED_AS = frozenset({"planned", "active"})
ENDED_AS = frozenset({"cancelled", "withdrawn", "unsuccessful", "complete"})
# A lot's outcome that makes its tender complete once every lot is decided (else unsuccessful).
LOT_AWARDED = "awarded"
_MAX_LOT_ID = 40
PROFILE_UPDATED = "Organisation.ProfileUpdated"
_MAX_BIGINT = 2**63 - 1

Moment = Annotated[datetime, msgspec.Meta(tz=True)]


# The terms as the domain writes them (TenderTerms.as_data); read by topic and payload, not
# through the domain, and checked whole before anything is stored.
class StoredPeriod(msgspec.Struct):
    start: Moment
    end: Moment


class StoredLot(msgspec.Struct):
    id: str
    title: str
    description: str
    cpv_codes: list[str]
    value_minor: Annotated[int, msgspec.Meta(ge=0, le=_MAX_BIGINT)]
    currency: str


class StoredCriterion(msgspec.Struct):
    name: str
    weight: int
    scale: int


class StoredEvaluation(msgspec.Struct):
    price: StoredCriterion
    quality: list[StoredCriterion]
    social_value: StoredCriterion
    tie_break: str
    abnormally_low_percent: int


class StoredEligibility(msgspec.Struct):
    members_only: bool
    quality_mark_required: bool
    regions: list[str]


class StoredTerms(msgspec.Struct):
    title: str
    description: str
    method: str
    category: str
    lots: Annotated[list[StoredLot], msgspec.Meta(min_length=1)]
    enquiry_period: StoredPeriod
    tender_period: StoredPeriod
    contract_period: StoredPeriod
    eligibility: StoredEligibility
    evaluation: StoredEvaluation


_decode_terms = msgspec.json.Decoder(StoredTerms)


@dataclass(frozen=True)
class _Terms:
    columns: Row
    cpv_codes: list[str]
    regions: list[str]
    # Its searchable text (tender_search_text, less the key).
    text: Row


def _terms(event: RecordedEvent) -> _Terms | None:
    """The terms a Drafted, DraftRevised or Amended event holds; None (logged) if they are not
    what the domain writes."""
    try:
        terms = msgspec.convert(event.data["terms"], StoredTerms)
        total = sum(lot.value_minor for lot in terms.lots)
        if total > _MAX_BIGINT:
            raise ValueError(f"a total estimated value of {total}")
    except (KeyError, TypeError, ValueError, msgspec.ValidationError) as error:
        leave_out("tenders", event, f"its terms are not a tender's ({error})")
        return None
    return _Terms(
        columns={
            "title": terms.title,
            "method": terms.method,
            "category": terms.category,
            "value_minor": total,
            "currency": terms.lots[0].currency,
            "deadline": terms.tender_period.end,
            "members_only": terms.eligibility.members_only,
            "quality_mark_required": terms.eligibility.quality_mark_required,
            # JSON (control characters escaped; the rest made storable when the row is saved).
            "terms": json.dumps(msgspec.to_builtins(terms), ensure_ascii=False),
        },
        cpv_codes=[code for lot in terms.lots for code in lot.cpv_codes],
        regions=list(terms.eligibility.regions),
        text=search_text(terms),
    )


def search_text(terms: StoredTerms) -> Row:
    """A tender's searchable text (tender_search_text, less the key), from its terms."""
    return {
        "title": terms.title,
        "description": terms.description,
        "lots_text": "\n".join(f"{lot.title}\n{lot.description}" for lot in terms.lots),
    }


def stored_terms(stored: str) -> StoredTerms:
    """The terms as a tender's row holds them (its `terms` column)."""
    return _decode_terms.decode(stored)


class _Buyers(RowPerAggregate):
    """The membership log's part: every organisation's name (a buyer's is shown)."""

    name = "tenders"  # the projection it is part of: what a left-out event is logged under
    table = tender_buyers
    created_by = "Organisation.Registered"
    changed_by = frozenset({PROFILE_UPDATED})

    def create(self, event: RecordedEvent) -> Row:
        return {"organisation_id": event.originator_id, "name": str(event.data.get("name") or "")}

    def change(self, row: Row, event: RecordedEvent) -> None:
        name = event.data.get("name")
        if isinstance(name, str) and name:
            row["name"] = name


class TendersProjection(BesideOrganisations):
    """Tenders and their buyers' names (see the module's doc)."""

    name = "tenders"
    tables = (
        tender_search_text,
        tender_cpv,
        tender_regions,
        tender_amendments,
        tender_documents,
        tender_lot_outcomes,
        tenders,
        tender_buyers,
    )

    marketplace_events = _TENDER_EVENTS

    def __init__(self) -> None:
        self.organisations = _Buyers()

    def apply_marketplace(self, connection: Connection, events: list[RecordedEvent]) -> None:
        rows, created = load_touched(connection, tenders, "tender_id", events, DRAFTED)
        codes: dict[UUID, _Terms] = {}  # the codes of the tenders whose terms this batch set
        amendments: dict[tuple[UUID, int], Row] = {}
        documents: dict[tuple[UUID, str], Row] = {}
        outcomes = _Outcomes(connection, {e.originator_id for e in events if e.name == LOT_DECIDED})
        for event in events:
            tender_id, data = event.originator_id, event.data
            at = data.get("timestamp")
            if not isinstance(at, datetime):
                leave_out("tenders", event, "it has no time")
                if event.name == DRAFTED:
                    created.discard(tender_id)
                continue
            if event.name == DRAFTED:
                terms, buyer = _terms(event), data.get("buyer_id")
                if terms is None or not isinstance(buyer, UUID):
                    if terms is not None:
                        leave_out("tenders", event, "it names no buyer")
                    created.discard(tender_id)
                    continue
                rows[tender_id] = terms.columns | {
                    "tender_id": tender_id,
                    "buyer_id": buyer,
                    "ocid": str(data.get("ocid") or tender_id),
                    "status": DRAFT,
                    "end_reason": None,
                    "version": event.originator_version,
                    "drafted_at": at,
                    "published_at": None,
                    "updated_at": at,
                }
                codes[tender_id] = terms
                continue
            row = rows.get(tender_id)
            if row is None:  # its draft was left out, or came before the log began
                continue
            if event.name == LOT_DECIDED:
                outcomes.decide(row, event, at)
            else:
                self._change(row, event, at, codes, amendments, documents)
            row["version"] = event.originator_version
            row["updated_at"] = at
        save_rows(connection, tenders, "tender_id", rows, created=created)
        replace_codes(connection, "tender_id", tender_cpv, tender_regions, codes, created)
        texts = {
            tender_id: terms.text | {"tender_id": tender_id} for tender_id, terms in codes.items()
        }
        save_rows(connection, tender_search_text, "tender_id", texts, created=created & set(texts))
        for table, second, changed in (
            (tender_amendments, "version", amendments),
            (tender_documents, "sha256", documents),
            (tender_lot_outcomes, "lot_id", outcomes.changed),
        ):
            replace_keyed_rows(connection, table, ("tender_id", second), list(changed.values()))

    @staticmethod
    def _change(
        row: Row,
        event: RecordedEvent,
        at: datetime,
        codes: dict[UUID, _Terms],
        amendments: dict[tuple[UUID, int], Row],
        documents: dict[tuple[UUID, str], Row],
    ) -> None:
        tender_id, data = event.originator_id, event.data
        if event.name in (REVISED, AMENDED):
            terms = _terms(event)
            if terms is None:
                return  # left out: the tender keeps the terms it had
            row.update(terms.columns)
            codes[tender_id] = terms
            if event.name == AMENDED:
                changed = data.get("changed")
                amendments[(tender_id, event.originator_version)] = {
                    "tender_id": tender_id,
                    "version": event.originator_version,
                    "changed": json.dumps(
                        [str(c) for c in changed] if isinstance(changed, list) else []
                    ),
                    "rationale": str(data.get("rationale") or ""),
                    "amended_at": at,
                }
        elif event.name == PUBLISHED:
            status = data.get("status")
            if not isinstance(status, str) or status not in PUBLISHED_AS:
                leave_out(
                    "tenders", event, "carries no status it may; left out", text=EVENT_THEN_WHY
                )
                return
            row.update(status=status, published_at=at)
        elif event.name == ACTIVATED:
            row["status"] = "active"
        elif event.name == ENDED:
            status = data.get("status")
            if not isinstance(status, str) or status not in ENDED_AS:
                leave_out(
                    "tenders", event, "carries no status it may; left out", text=EVENT_THEN_WHY
                )
                return
            row.update(status=status, end_reason=str(data.get("reason") or ""))
        elif event.name == DOCUMENT_ADDED:
            sha256, size = data.get("sha256"), data.get("size")
            if not isinstance(sha256, str) or type(size) is not int or not 0 <= size <= _MAX_BIGINT:
                leave_out("tenders", event, "not a document")
                return
            documents[(tender_id, sha256)] = {
                "tender_id": tender_id,
                "sha256": sha256,
                "kind": str(data.get("kind") or "other"),
                "filename": str(data.get("filename") or sha256),
                "content_type": str(data.get("content_type") or "application/octet-stream"),
                "size": size,
                "added_at": at,
            }


class _Outcomes:
    """The decided lots of the batch's tenders: as stored, then as the batch decides them."""

    def __init__(self, connection: Connection, tender_ids: set[UUID]) -> None:
        self.by_tender: dict[UUID, dict[str, str]] = {t: {} for t in tender_ids}
        self.changed: dict[tuple[UUID, str], Row] = {}
        if tender_ids:
            table = tender_lot_outcomes
            for found in connection.execute(
                select(table.c.tender_id, table.c.lot_id, table.c.outcome).where(
                    table.c.tender_id.in_(tender_ids)
                )
            ):
                self.by_tender[found.tender_id][found.lot_id] = found.outcome

    def decide(self, row: Row, event: RecordedEvent, at: datetime) -> None:
        """The lot's outcome as given; once every lot of the terms is decided, the tender is
        complete if one was awarded, else unsuccessful (as `Tender.LotDecided` applies)."""
        lot_id, outcome = event.data.get("lot_id"), event.data.get("outcome")
        if not isinstance(lot_id, str) or not lot_id or len(lot_id) > _MAX_LOT_ID:
            leave_out("tenders", event, "it names no lot")
            return
        if not isinstance(outcome, str) or not outcome:
            leave_out("tenders", event, "it gives no outcome")
            return
        tender_id = event.originator_id
        decided = self.by_tender.setdefault(tender_id, {})
        decided[lot_id] = outcome
        self.changed[(tender_id, lot_id)] = {
            "tender_id": tender_id,
            "lot_id": lot_id,
            "outcome": outcome,
            "decided_at": at,
        }
        lots = _lot_ids(row["terms"])
        if lots and lots.issubset(decided):
            awarded = LOT_AWARDED in decided.values()
            row["status"] = "complete" if awarded else "unsuccessful"


def _lot_ids(terms: str) -> set[str]:
    """The lots of the terms as stored (checked whole when they were stored)."""
    try:
        return {str(lot["id"]) for lot in json.loads(terms)["lots"]}
    except (KeyError, TypeError, ValueError):
        return set()


# Reads -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TenderEntry:
    tender_id: UUID
    ocid: str
    buyer_id: UUID
    # The buyer's name; None while the membership log has not been read that far.
    buyer_name: str | None
    title: str
    status: str
    method: str
    category: str
    value_minor: int
    currency: str
    deadline: datetime
    members_only: bool
    quality_mark_required: bool
    cpv_codes: list[str]
    regions: list[str]
    version: int
    published_at: datetime | None
    updated_at: datetime
    # With a text query: how well it matches (higher first; projections.text_search).
    rank: int | None = None


@dataclass(frozen=True)
class TenderAmendment:
    version: int
    changed: list[str]
    rationale: str
    amended_at: datetime


@dataclass(frozen=True)
class TenderDocumentEntry:
    sha256: str
    kind: str
    filename: str
    content_type: str
    size: int
    added_at: datetime


@dataclass(frozen=True)
class LotOutcome:
    outcome: str  # awarded, not_awarded, unsuccessful (as the event gave it)
    decided_at: datetime


@dataclass(frozen=True)
class TenderDetail:
    entry: TenderEntry
    terms: StoredTerms
    end_reason: str | None
    amendments: list[TenderAmendment]
    documents: list[TenderDocumentEntry]
    # The decided lots, by lot id (a lot not here is not decided yet).
    lot_outcomes: dict[str, LotOutcome]


TendersPage = Page[TenderEntry]


_ENTRY_COLUMNS = (
    "tender_id",
    "ocid",
    "buyer_id",
    "title",
    "status",
    "method",
    "category",
    "value_minor",
    "currency",
    "deadline",
    "members_only",
    "quality_mark_required",
    "version",
    "published_at",
    "updated_at",
)
_PUBLISHED = tenders.c.status != DRAFT


async def tender_board(
    connection: AsyncConnection,
    *,
    cpv_code: str | None = None,
    region: str | None = None,
    region_parents: dict[str, str | None] | None = None,
    value_min: int | None = None,
    value_max: int | None = None,
    deadline_from: datetime | None = None,
    deadline_to: datetime | None = None,
    quality_mark_required: bool | None = None,
    status: str | None = None,
    buyer_id: UUID | None = None,
    terms: list[str] | None = None,
    limit: int,
    offset: int,
) -> TendersPage:
    """Published tenders (never drafts), by deadline; CPV and region filters match up and down
    their hierarchies; the value band is on the total estimated value. With `terms` (a text
    query's words), the tenders whose title, description or lots hold them all, best first."""
    conditions: list[Any] = [_PUBLISHED]
    if terms is not None:
        conditions.append(matches(connection.dialect, TENDER_TEXT, terms))
    conditions += equal_where_given((tenders.c.status, status), (tenders.c.buyer_id, buyer_id))
    if value_min is not None:
        conditions.append(tenders.c.value_minor >= value_min)
    if value_max is not None:
        conditions.append(tenders.c.value_minor <= value_max)
    if deadline_from is not None:
        conditions.append(tenders.c.deadline >= deadline_from)
    if deadline_to is not None:
        conditions.append(tenders.c.deadline <= deadline_to)
    if quality_mark_required is not None:
        conditions.append(tenders.c.quality_mark_required.is_(quality_mark_required))
    if region is not None:
        # A tender that names regions matches a related one; a tender that names none is open
        # to suppliers anywhere, so it is found from every region.
        names_regions = exists().where(tender_regions.c.tender_id == tenders.c.tender_id)
        conditions.append(
            or_(
                ~names_regions,
                in_regions(tender_regions, tenders.c.tender_id, region, region_parents or {}),
            )
        )
    if cpv_code is not None:
        conditions.append(in_cpv(tender_cpv, tenders.c.tender_id, cpv_code))
    score = None if terms is None else rank(connection.dialect, TENDER_TEXT, terms)
    return await _page(connection, and_(*conditions), limit, offset, score)


async def buyer_tenders(
    connection: AsyncConnection, buyer_id: UUID, *, limit: int, offset: int
) -> TendersPage:
    """A buyer's own tenders, drafts too, by deadline."""
    return await _page(connection, tenders.c.buyer_id == buyer_id, limit, offset)


async def tender_detail(connection: AsyncConnection, tender_id: UUID) -> TenderDetail | None:
    """A tender as its view shows it, drafts too (the caller decides who sees a draft)."""
    found = await _page(connection, tenders.c.tender_id == tender_id, 1, 0)
    if not found.entries:
        return None
    row = (
        await connection.execute(
            select(tenders.c.terms, tenders.c.end_reason).where(tenders.c.tender_id == tender_id)
        )
    ).one()
    amendments = [
        TenderAmendment(
            version=a.version,
            changed=list(json.loads(a.changed)),
            rationale=a.rationale,
            amended_at=a.amended_at,
        )
        for a in await connection.execute(
            select(tender_amendments)
            .where(tender_amendments.c.tender_id == tender_id)
            .order_by(tender_amendments.c.version)
        )
    ]
    documents = [
        entry_of(TenderDocumentEntry, d)
        for d in await connection.execute(
            select(tender_documents)
            .where(tender_documents.c.tender_id == tender_id)
            .order_by(tender_documents.c.added_at, tender_documents.c.sha256)
        )
    ]
    outcomes = {
        o.lot_id: LotOutcome(outcome=o.outcome, decided_at=o.decided_at)
        for o in await connection.execute(
            select(tender_lot_outcomes).where(tender_lot_outcomes.c.tender_id == tender_id)
        )
    }
    return TenderDetail(
        entry=found.entries[0],
        terms=_decode_terms.decode(row.terms),
        end_reason=row.end_reason,
        amendments=amendments,
        documents=documents,
        lot_outcomes=outcomes,
    )


async def _page(
    connection: AsyncConnection,
    where: Any,
    limit: int,
    offset: int,
    score: ColumnElement[int] | None = None,
) -> TendersPage:
    """A page of tenders by deadline; with a text query's `score`, by it first."""
    joined = tenders.outerjoin(tender_buyers, tender_buyers.c.organisation_id == tenders.c.buyer_id)
    if score is not None:  # the text's table, which the match and the rank read
        joined = joined.join(
            tender_search_text, tender_search_text.c.tender_id == tenders.c.tender_id
        )
    ranked = literal(None) if score is None else score
    query = select(
        *(tenders.c[name] for name in _ENTRY_COLUMNS), tender_buyers.c.name, ranked.label("rank")
    ).select_from(joined)
    order = (*([] if score is None else [score.desc()]), tenders.c.deadline, tenders.c.tender_id)
    rows, total = await page_rows(connection, query, joined, where, order, limit, offset)
    ids = [row.tender_id for row in rows]
    cpv, regions = await stated_codes(connection, "tender_id", tender_cpv, tender_regions, ids)
    return TendersPage(
        entries=[
            TenderEntry(
                **{name: row._mapping[name] for name in _ENTRY_COLUMNS},
                buyer_name=row.name or None,
                cpv_codes=cpv[row.tender_id],
                regions=regions[row.tender_id],
                rank=None if score is None else int(row.rank),
            )
            for row in rows
        ],
        total=int(total),
    )
