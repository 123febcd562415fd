"""Contracts: a row a signed contract, its parties, and per social-value measure what the winning
bid committed and what the buyer confirmed as delivered (issue 13). The contracts lists read it
("my organisation's contracts", as buyer or party); the social value report will read the
measures.

Built only from the marketplace log's Contract events: Signed makes the rows; Amended changes
the value or period; Completed and Terminated the status; DeliveryReported keeps a report's
figures, which DeliveryConfirmed adds to the measures' delivered totals (confirmed only);
DeliveryRejected marks the report and adds nothing.

An event never stops the projection (ADR 16): text is made storable by `projections.folding`;
a Contract event whose payload is not what the domain writes is left out with a log line (a
contract keeps what it had; a confirmation of a report never seen adds nothing; a report made
again under its id leaves the first, and its decision, standing).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, TypeVar
from uuid import UUID

import msgspec
from sqlalchemy import Connection, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from projections.base import Projection
from projections.contract_tables import (
    contract_delivery_reports,
    contract_measures,
    contract_parties,
    contracts,
)
from projections.events import RecordedEvent, leave_out
from projections.folding import Row, insert_rows, load_rows, replace_keyed_rows, save_rows
from projections.pages import Page, page_rows

MARKETPLACE = "marketplace"
SIGNED = "Contract.Signed"
AMENDED = "Contract.Amended"
COMPLETED = "Contract.Completed"
TERMINATED = "Contract.Terminated"
REPORTED = "Contract.DeliveryReported"
CONFIRMED = "Contract.DeliveryConfirmed"
REJECTED = "Contract.DeliveryRejected"
_ENDED_AS = {COMPLETED: "completed", TERMINATED: "terminated"}
_DECIDED_AS = {CONFIRMED: "confirmed", REJECTED: "rejected"}
_CONTRACT_EVENTS = frozenset({SIGNED, AMENDED, REPORTED, *_ENDED_AS, *_DECIDED_AS})
# The lot a contract for a request for quote names (marketplace.quotes: an accepted quote's):
# the tender its `tender_id` names is the request. Its award, unlike a tender's, is not public.
QUOTE_LOT = "quote"
_MAX_BIGINT = 2**63 - 1

Moment = Annotated[datetime, msgspec.Meta(tz=True)]
Whole = Annotated[int, msgspec.Meta(ge=0, le=_MAX_BIGINT)]
Share = Annotated[int, msgspec.Meta(ge=0, le=100)]
# The domain's measure names (marketplace.bids.content.MEASURES): a key of the measures' rows,
# so anything else leaves its event out rather than risk a key the store cannot hold.
MeasureName = Annotated[str, msgspec.Meta(pattern=r"^[a-z_]{1,60}\Z")]  # `$`: "x\n" too
# An ISO 4217 code's form: the currency columns hold three letters, and a longer code cut to
# fit would show (and count) as another currency ("GBPX" as GBP). `\Z`: `$` lets a newline
# follow.
CurrencyCode = Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{3}\Z")]
T = TypeVar("T")


# The payloads as the domain writes them (marketplace.contracts), read by topic and payload,
# not through the domain, and checked whole before anything is stored.
class StoredPeriod(msgspec.Struct):
    start: Moment
    end: Moment


class StoredParty(msgspec.Struct):
    organisation_id: UUID
    share_percent: Share


def share_rows(contract_id: UUID, parties: Sequence[StoredParty]) -> list[Row]:
    """A signed contract's rows of a supplier shares table (contract_tables): each organisation
    once (the domain's rule; another writer's duplicate would break the key), the first kept."""
    shares: dict[UUID, int] = {}
    for party in parties:
        shares.setdefault(party.organisation_id, party.share_percent)
    return [
        {"contract_id": contract_id, "organisation_id": o, "share_percent": share}
        for o, share in shares.items()
    ]


class StoredCommitment(msgspec.Struct):
    measure: MeasureName
    quantity: Whole
    unit: str


class StoredSigned(msgspec.Struct):
    tender_id: UUID
    lot_id: str
    bid_id: UUID
    buyer_id: UUID
    value_minor: Whole
    currency: CurrencyCode
    period: StoredPeriod
    parties: list[StoredParty]
    commitments: list[StoredCommitment]
    timestamp: Moment


class StoredAmended(msgspec.Struct):
    value_minor: Whole | None
    period: StoredPeriod | None


class StoredDelivered(msgspec.Struct):
    measure: MeasureName
    quantity: Whole


class StoredReport(msgspec.Struct):
    report_id: UUID
    reporter_id: UUID
    period: StoredPeriod
    delivered: list[StoredDelivered]
    timestamp: Moment


class StoredDecision(msgspec.Struct):
    report_id: UUID


def _payload(event: RecordedEvent, shape: type[T]) -> T | None:
    return event.payload_as(shape, "contracts")


_Key = tuple[UUID, Any]  # (contract id, measure or report id)


@dataclass
class _Batch:
    """What a batch changes: the contracts' rows, and the child rows it touched by key."""

    rows: dict[UUID, Row]
    created: set[UUID]
    parties: list[Row]
    measures: dict[_Key, Row]
    reports: dict[_Key, Row]
    # The stored reports' keys of the contracts this batch reports on but decides nothing of
    # (their rows are not loaded): a report made again under its id leaves the first standing.
    made: set[_Key]


class ContractsProjection(Projection):
    """Contracts, their parties, measures and delivery reports (see the module's doc)."""

    name = "contracts"
    logs = (MARKETPLACE,)
    tables = (contract_delivery_reports, contract_measures, contract_parties, contracts)

    def apply(self, connection: Connection, events: Sequence[RecordedEvent]) -> None:
        mine = [e for e in events if e.log == MARKETPLACE and e.name in _CONTRACT_EVENTS]
        if not mine:
            return
        signed = {e.originator_id for e in mine if e.name == SIGNED}
        # Signed ones too: a second signing of a stored contract (not the domain's doing) is
        # left out, never inserted over it.
        touched = {e.originator_id for e in mine}
        batch = _Batch(
            load_rows(connection, contracts, "contract_id", touched), set(), [], {}, {}, set()
        )
        fresh = signed - batch.rows.keys()  # none of their rows is stored yet
        decided = {e.originator_id for e in mine if e.name in _DECIDED_AS} - fresh
        reporting = {e.originator_id for e in mine if e.name == REPORTED} - fresh - decided
        batch.measures = _load_children(connection, contract_measures, "measure", decided)
        batch.reports = _load_children(connection, contract_delivery_reports, "report_id", decided)
        batch.made = _report_keys(connection, reporting)
        for event in mine:
            if event.name == SIGNED:
                self._signed(event, batch)
                continue
            row = batch.rows.get(event.originator_id)
            if row is None:  # its signing was left out, or came before the log began
                continue
            if self._changed(row, event, batch):
                row["version"] = event.originator_version
                at = event.data.get("timestamp")
                if isinstance(at, datetime) and at.tzinfo is not None:
                    row["updated_at"] = at
        save_rows(connection, contracts, "contract_id", batch.rows, created=batch.created)
        insert_rows(connection, contract_parties, batch.parties)
        for table, second, changed in (
            (contract_measures, "measure", batch.measures),
            (contract_delivery_reports, "report_id", batch.reports),
        ):
            replace_keyed_rows(connection, table, ("contract_id", second), list(changed.values()))

    @staticmethod
    def _signed(event: RecordedEvent, batch: _Batch) -> None:
        signed = _payload(event, StoredSigned)
        contract_id = event.originator_id
        if signed is None or contract_id in batch.rows:  # left out, or signed twice
            return
        batch.created.add(contract_id)
        batch.rows[contract_id] = {
            "contract_id": contract_id,
            "tender_id": signed.tender_id,
            "lot_id": signed.lot_id,
            "bid_id": signed.bid_id,
            "buyer_id": signed.buyer_id,
            "status": "active",
            "value_minor": signed.value_minor,
            "currency": signed.currency,
            "period_start": signed.period.start,
            "period_end": signed.period.end,
            "signed_at": signed.timestamp,
            "version": event.originator_version,
            "updated_at": signed.timestamp,
        }
        # Each measure once (the domain's rule; another writer's duplicate would break the
        # key): the first kept.
        batch.parties.extend(share_rows(contract_id, signed.parties))
        for commitment in signed.commitments:
            key = (contract_id, commitment.measure)
            batch.measures.setdefault(
                key,
                {
                    "contract_id": contract_id,
                    "measure": commitment.measure,
                    "unit": commitment.unit,
                    "committed": commitment.quantity,
                    "delivered": 0,
                },
            )

    @staticmethod
    def _changed(row: Row, event: RecordedEvent, batch: _Batch) -> bool:
        """Change the contract's rows as the event says; False if it was left out."""
        if event.name == AMENDED:
            amended = _payload(event, StoredAmended)
            if amended is None:
                return False
            if amended.value_minor is not None:
                row["value_minor"] = amended.value_minor
            if amended.period is not None:
                row.update(period_start=amended.period.start, period_end=amended.period.end)
        elif event.name in _ENDED_AS:
            row["status"] = _ENDED_AS[event.name]
        elif event.name == REPORTED:
            return _reported(event, batch)
        else:
            return _decided(event, batch)
        return True


def _reported(event: RecordedEvent, batch: _Batch) -> bool:
    report = _payload(event, StoredReport)
    if report is None:
        return False
    contract_id = event.originator_id
    key = (contract_id, report.report_id)
    if key in batch.reports or key in batch.made:
        # Never the domain's doing (it refuses a report id made before): the first stands, its
        # decision with it, so its figures are never counted twice (as the impact ledger).
        leave_out("contracts", event, "its report is made already: the first stands")
        return False
    batch.reports[key] = {
        "contract_id": contract_id,
        "report_id": report.report_id,
        "reporter_id": report.reporter_id,
        "period_start": report.period.start,
        "period_end": report.period.end,
        "status": "reported",
        "delivered": json.dumps(msgspec.to_builtins(report.delivered), ensure_ascii=False),
        "reported_at": report.timestamp,
    }
    return True


def _decided(event: RecordedEvent, batch: _Batch) -> bool:
    """A confirmation adds the report's figures to the measures' delivered totals; a rejection
    only marks the report."""
    decision = _payload(event, StoredDecision)
    if decision is None:
        return False
    contract_id = event.originator_id
    report = batch.reports.get((contract_id, decision.report_id))
    if report is None or report["status"] != "reported":
        leave_out("contracts", event, "no report awaiting a decision")
        return False
    report["status"] = _DECIDED_AS[event.name]
    if event.name == CONFIRMED:
        for item in _figures(report["delivered"]):
            _add_delivered(batch, contract_id, item)
    return True


def _figures(stored: str) -> list[StoredDelivered]:
    try:
        return msgspec.json.decode(stored, type=list[StoredDelivered])
    except msgspec.DecodeError:  # a row written by another writer: nothing to add
        return []


def _add_delivered(batch: _Batch, contract_id: UUID, item: StoredDelivered) -> None:
    row = batch.measures.get((contract_id, item.measure))
    if row is None:  # not committed (not the domain's doing): shown, committed 0
        row = batch.measures[(contract_id, item.measure)] = {
            "contract_id": contract_id,
            "measure": item.measure,
            "unit": "",
            "committed": 0,
            "delivered": 0,
        }
    row["delivered"] = min(row["delivered"] + item.quantity, _MAX_BIGINT)


def _report_keys(connection: Connection, contract_ids: Collection[UUID]) -> set[_Key]:
    """The keys of these contracts' stored delivery reports."""
    if not contract_ids:
        return set()
    table = contract_delivery_reports
    result = connection.execute(
        select(table.c.contract_id, table.c.report_id).where(table.c.contract_id.in_(contract_ids))
    )
    return {(r.contract_id, r.report_id) for r in result}


def _load_children(
    connection: Connection, table: Any, second: str, contract_ids: Collection[UUID]
) -> dict[_Key, Row]:
    """Every row of these contracts in a child table keyed (contract_id, `second`)."""
    if not contract_ids:
        return {}
    result = connection.execute(select(table).where(table.c.contract_id.in_(contract_ids)))
    return {(r.contract_id, r._mapping[second]): dict(r._mapping) for r in result}


# Reads -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PartyEntry:
    organisation_id: UUID
    share_percent: int


@dataclass(frozen=True)
class ContractEntry:
    contract_id: UUID
    tender_id: UUID
    lot_id: str
    bid_id: UUID
    buyer_id: UUID
    status: str
    value_minor: int
    currency: str
    period_start: datetime
    period_end: datetime
    signed_at: datetime
    version: int
    parties: list[PartyEntry]


@dataclass(frozen=True)
class MeasureEntry:
    measure: str
    unit: str
    committed: int
    delivered: int


ContractsPage = Page[ContractEntry]


_ENTRY_COLUMNS = (
    "contract_id",
    "tender_id",
    "lot_id",
    "bid_id",
    "buyer_id",
    "status",
    "value_minor",
    "currency",
    "period_start",
    "period_end",
    "signed_at",
    "version",
)


async def organisation_contracts(
    connection: AsyncConnection, organisation_id: UUID, *, limit: int, offset: int
) -> ContractsPage:
    """The organisation's contracts, as buyer or as a party, newest first."""
    party = exists().where(
        contract_parties.c.contract_id == contracts.c.contract_id,
        contract_parties.c.organisation_id == organisation_id,
    )
    return await _page(
        connection, or_(contracts.c.buyer_id == organisation_id, party), limit, offset
    )


async def all_contracts(connection: AsyncConnection, *, limit: int, offset: int) -> ContractsPage:
    """Every contract, newest first (staff)."""
    return await _page(connection, None, limit, offset)


async def contract_measures_of(
    connection: AsyncConnection, contract_id: UUID
) -> list[MeasureEntry]:
    """A contract's measures: committed, and delivered as the buyer confirmed, by measure."""
    rows = await connection.execute(
        select(contract_measures)
        .where(contract_measures.c.contract_id == contract_id)
        .order_by(contract_measures.c.measure)
    )
    return [MeasureEntry(r.measure, r.unit, r.committed, r.delivered) for r in rows]


async def _page(connection: AsyncConnection, where: Any, limit: int, offset: int) -> ContractsPage:
    listed = select(*(contracts.c[name] for name in _ENTRY_COLUMNS))
    order = (contracts.c.signed_at.desc(), contracts.c.contract_id)
    rows, total = await page_rows(connection, listed, contracts, where, order, limit, offset)
    ids = [row.contract_id for row in rows]
    parties: dict[UUID, list[PartyEntry]] = {contract_id: [] for contract_id in ids}
    if ids:
        found = await connection.execute(
            select(contract_parties)
            .where(contract_parties.c.contract_id.in_(ids))
            .order_by(contract_parties.c.share_percent.desc(), contract_parties.c.organisation_id)
        )
        for party in found:
            parties[party.contract_id].append(
                PartyEntry(party.organisation_id, party.share_percent)
            )
    return ContractsPage(
        entries=[
            ContractEntry(
                **{name: row._mapping[name] for name in _ENTRY_COLUMNS},
                parties=parties[row.contract_id],
            )
            for row in rows
        ],
        total=int(total),
    )
