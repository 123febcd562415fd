"""The impact ledger (issue 17): per signed contract what it was awarded at, what it stands at,
its lot's estimate, its parties' shares, what the winning bid committed and each delivery report
with its status. The impact reports (projections.impact_query, projections.impact_ledger) read it.

Built from the marketplace log only, and only from public steps of a contract's life (no bid
before opening: a contract exists only after an award). Tender.Drafted, DraftRevised and Amended
keep each lot's estimate; Contract.Signed makes the contract's rows (its lot's estimate copied as
it stands); Amended changes the value; Completed and Terminated the status; DeliveryReported
adds a report; DeliveryConfirmed and DeliveryRejected decide it. The position of the last
contract event applied is kept in impact_changes: the impact routes keep their answers until it
moves (tradehall.api.marketplace.impact_cache).

An event never stops the projection (ADR 16): one whose payload is not what the domain writes is
left out with a log line, and the rest of its contract stands.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Annotated, Any, TypeVar
from uuid import UUID

import msgspec
from sqlalchemy import Connection, delete, select, tuple_

from projections.base import Projection
from projections.contracts import (
    CurrencyCode,
    StoredAmended,
    StoredDecision,
    StoredReport,
    StoredSigned,
    share_rows,
)
from projections.events import RecordedEvent, leave_out
from projections.folding import Row, insert_rows, load_rows, save_rows, upsert_rows
from projections.impact_tables import (
    impact_changes,
    impact_commitments,
    impact_contracts,
    impact_lots,
    impact_parties,
    impact_reports,
)

MARKETPLACE = "marketplace"
_TERMS = frozenset({"Tender.Drafted", "Tender.DraftRevised", "Tender.Amended"})
SIGNED = "Contract.Signed"
AMENDED = "Contract.Amended"
REPORTED = "Contract.DeliveryReported"
_ENDED_AS = {"Contract.Completed": "completed", "Contract.Terminated": "terminated"}
_DECIDED_AS = {"Contract.DeliveryConfirmed": "confirmed", "Contract.DeliveryRejected": "rejected"}
_CONTRACT = frozenset({SIGNED, AMENDED, REPORTED, *_ENDED_AS, *_DECIDED_AS})
_MAX_BIGINT = 2**63 - 1
T = TypeVar("T")

LotId = Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
# The contracts' rule: three capitals and nothing after them (`$` would let 'GBP\n' through).
Currency = CurrencyCode
Whole = Annotated[int, msgspec.Meta(ge=0, le=_MAX_BIGINT)]


class StoredLotValue(msgspec.Struct):
    id: LotId
    value_minor: Whole
    currency: Currency


class StoredLots(msgspec.Struct):
    lots: list[StoredLotValue]


class _TermsPayload(msgspec.Struct):
    terms: StoredLots


def _payload(event: RecordedEvent, shape: type[T]) -> T | None:
    return event.payload_as(shape, "impact")


_Key = tuple[UUID, str]


class ImpactProjection(Projection):
    """The impact ledger's rows (see the module's doc)."""

    name = "impact"
    logs = (MARKETPLACE,)
    tables = (
        impact_reports,
        impact_commitments,
        impact_parties,
        impact_contracts,
        impact_lots,
        impact_changes,
    )

    def apply(self, connection: Connection, events: Sequence[RecordedEvent]) -> None:
        mine = [
            e for e in events if e.log == MARKETPLACE and (e.name in _TERMS or e.name in _CONTRACT)
        ]
        if not mine:
            return
        # Each signing's payload read once: its lot's stored estimate is loaded with the others'.
        signings = {i: _payload(e, StoredSigned) for i, e in enumerate(mine) if e.name == SIGNED}
        batch = _Batch(connection, mine, [s for s in signings.values() if s is not None])
        for i, event in enumerate(mine):
            if event.name in _TERMS:
                batch.terms(event)
            elif event.name == SIGNED:
                batch.signed(event, signings[i])
            else:
                batch.changed(event)
        batch.write()
        changed = max((e.position for e in mine if e.name in _CONTRACT), default=None)
        if changed is not None:
            upsert_rows(connection, impact_changes, "id", [{"id": 1, "position": changed}])


class _Batch:
    def __init__(
        self,
        connection: Connection,
        events: Sequence[RecordedEvent],
        signings: Sequence[StoredSigned],
    ) -> None:
        self.connection = connection
        # Signed ones too: a second signing of a stored contract is left out, never inserted.
        touched = {e.originator_id for e in events if e.name in _CONTRACT}
        self.contracts = load_rows(connection, impact_contracts, "contract_id", touched)
        # Stored contracts' stored reports, for those this batch reports on or decides: a
        # report made again (another writer's) leaves the first standing, as within a batch,
        # and a decision finds its report whatever else the batch holds (a second signing).
        reported = {
            e.originator_id for e in events if e.name == REPORTED or e.name in _DECIDED_AS
        } & self.contracts.keys()
        self.created: set[UUID] = set()
        self.parties: list[Row] = []
        self.commitments: list[Row] = []
        self.lots: dict[UUID, list[Row]] = {}  # a tender's lots as its latest terms give them
        self.reports: dict[_Key, Row] = {}
        if reported:
            found = connection.execute(
                select(impact_reports).where(impact_reports.c.contract_id.in_(reported))
            )
            self.reports = {(r.contract_id, str(r.report_id)): dict(r._mapping) for r in found}
        # The stored lots of the tenders signed for, in one query a chunk rather than one a
        # signing: a signing finds its lot here unless this batch's terms gave its tender's.
        self.stored_lots: dict[UUID, list[Row]] = {}
        tenders = sorted({s.tender_id for s in signings})
        for start in range(0, len(tenders), 500):
            found = connection.execute(
                select(impact_lots).where(impact_lots.c.tender_id.in_(tenders[start : start + 500]))
            )
            for r in found:
                self.stored_lots.setdefault(r.tender_id, []).append(dict(r._mapping))

    def terms(self, event: RecordedEvent) -> None:
        payload = _payload(event, _TermsPayload)
        if payload is None:
            return
        lots: dict[str, Row] = {}
        for lot in payload.terms.lots:
            lots.setdefault(
                lot.id,
                {
                    "tender_id": event.originator_id,
                    "lot_id": lot.id,
                    "estimated_minor": lot.value_minor,
                    "currency": lot.currency,
                },
            )
        self.lots[event.originator_id] = list(lots.values())

    def _estimate(self, tender_id: UUID, lot_id: str, currency: str) -> int | None:
        lots = (
            self.lots[tender_id] if tender_id in self.lots else self.stored_lots.get(tender_id, [])
        )
        rows = [r for r in lots if r["lot_id"] == lot_id]
        # An estimate in another currency is no estimate of this contract's value.
        return next((r["estimated_minor"] for r in rows if r["currency"] == currency), None)

    def signed(self, event: RecordedEvent, signed: StoredSigned | None) -> None:
        contract_id = event.originator_id
        if signed is None or contract_id in self.contracts:  # left out, or signed twice
            return
        self.created.add(contract_id)
        self.contracts[contract_id] = {
            "contract_id": contract_id,
            "tender_id": signed.tender_id,
            "lot_id": signed.lot_id[:40],
            "buyer_id": signed.buyer_id,
            "currency": signed.currency,
            "awarded_minor": signed.value_minor,
            "value_minor": signed.value_minor,
            "estimated_minor": self._estimate(signed.tender_id, signed.lot_id, signed.currency),
            "signed_at": signed.timestamp,
            "status": "active",
        }
        self.parties.extend(share_rows(contract_id, signed.parties))
        measures: dict[str, int] = {}
        for commitment in signed.commitments:
            measures.setdefault(commitment.measure, commitment.quantity)
        self.commitments.extend(
            {"contract_id": contract_id, "measure": m, "quantity": q} for m, q in measures.items()
        )

    def changed(self, event: RecordedEvent) -> None:
        contract_id = event.originator_id
        row = self.contracts.get(contract_id)
        if row is None:  # its signing was left out
            return
        if event.name == AMENDED:
            amended = _payload(event, StoredAmended)
            if amended is not None and amended.value_minor is not None:
                row["value_minor"] = amended.value_minor
        elif event.name in _ENDED_AS:
            row["status"] = _ENDED_AS[event.name]
        elif event.name == REPORTED:
            report = _payload(event, StoredReport)
            if report is None:
                return
            key = (contract_id, str(report.report_id))
            if key in self.reports:  # a report made twice: the first stands
                return
            self.reports[key] = {
                "contract_id": contract_id,
                "report_id": report.report_id,
                "reporter_id": report.reporter_id,
                "period_end": report.period.end,
                "status": "reported",
                "delivered": json.dumps(
                    [{"measure": d.measure, "quantity": d.quantity} for d in report.delivered]
                ),
            }
        else:
            decision = _payload(event, StoredDecision)
            if decision is None:
                return
            found = self.reports.get((contract_id, str(decision.report_id)))
            if found is None or found["status"] != "reported":
                leave_out("impact", event, "no report awaiting a decision")
                return
            found["status"] = _DECIDED_AS[event.name]

    def write(self) -> None:
        connection = self.connection
        if self.lots:
            connection.execute(delete(impact_lots).where(impact_lots.c.tender_id.in_(self.lots)))
            insert_rows(connection, impact_lots, [r for rows in self.lots.values() for r in rows])
        save_rows(connection, impact_contracts, "contract_id", self.contracts, created=self.created)
        insert_rows(connection, impact_parties, self.parties)
        insert_rows(connection, impact_commitments, self.commitments)
        if self.reports:
            keys = [
                (contract_id, row["report_id"]) for (contract_id, _), row in self.reports.items()
            ]
            connection.execute(
                delete(impact_reports).where(
                    tuple_(impact_reports.c.contract_id, impact_reports.c.report_id).in_(keys)
                )
            )
            insert_rows(connection, impact_reports, list(self.reports.values()))


def delivered_figures(stored: str) -> list[tuple[str, int]]:
    """A report row's figures as (measure, quantity); none if the row is not ours to read."""
    try:
        items: Any = json.loads(stored)
        return [
            (str(item["measure"]), int(item["quantity"]))
            for item in items
            if isinstance(item, dict) and isinstance(item.get("quantity"), int)
        ]
    except (ValueError, TypeError, KeyError):
        return []
