"""Requests and responses of contracts, their delivery reports, and the closure days."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from uuid import UUID

import msgspec

from marketplace.bids.content import MAX_QUANTITY
from marketplace.closures import MAX_REASON as MAX_CLOSURE_REASON
from marketplace.contracts import MAX_NOTE, MAX_REPORTS
from marketplace.contracts import MAX_REASON as MAX_CONTRACT_REASON
from marketplace.tender_terms import MAX_VALUE_MINOR
from tradehall.api.marketplace.schemas.bids import Measure
from tradehall.api.schemas.base import FREE_TEXT, RequestBody

Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_CONTRACT_REASON, extra=FREE_TEXT)]
# One line: a closure day's reason is shown in a list.
ClosureReason = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_CLOSURE_REASON)]
Note = Annotated[str, msgspec.Meta(max_length=MAX_NOTE, extra=FREE_TEXT)]
ValueMinor = Annotated[
    int,
    msgspec.Meta(ge=1, le=MAX_VALUE_MINOR, description="in the contract's currency, minor units"),
]
Quantity = Annotated[
    int, msgspec.Meta(ge=0, le=MAX_QUANTITY, description="in the commitment's unit")
]


class PeriodBody(RequestBody):
    start: datetime
    end: datetime


class ContractAmendmentBody(RequestBody):
    """A new value and/or period, and why; what is left out stays as it is."""

    reason: Reason
    value_minor: ValueMinor | None = None
    period: PeriodBody | None = None


class ContractReasonBody(RequestBody):
    reason: Reason


class DeliveredBody(RequestBody):
    measure: Measure
    quantity: Quantity


class DeliveryReportBody(RequestBody):
    report_id: Annotated[
        UUID,
        msgspec.Meta(description="chosen by the client: a retried report is the same report"),
    ]
    period: PeriodBody
    delivered: Annotated[list[DeliveredBody], msgspec.Meta(min_length=1, max_length=20)]
    note: Note = ""


class ClosureDayBody(RequestBody):
    reason: ClosureReason


# Responses -----------------------------------------------------------------------------------


class PeriodView(msgspec.Struct, kw_only=True):
    start: datetime
    end: datetime


class PartyView(msgspec.Struct, kw_only=True):
    organisation_id: UUID
    share_percent: int


class CommitmentView(msgspec.Struct, kw_only=True):
    measure: str
    unit: str
    committed: int
    # Confirmed by the buyer.
    delivered: int
    # Reported, awaiting the buyer's confirmation.
    pending: int


class ContractAmendmentView(msgspec.Struct, kw_only=True):
    at: datetime
    changed: list[str]
    value_minor: int | None
    period: PeriodView | None
    reason: str


class DeliveredView(msgspec.Struct, kw_only=True):
    measure: str
    quantity: int


class DeliveryReportView(msgspec.Struct, kw_only=True):
    id: UUID
    reporter_id: UUID
    period: PeriodView
    delivered: list[DeliveredView]
    note: str
    status: str
    # A rejection's reason.
    decision_reason: str | None


class ContractView(msgspec.Struct, kw_only=True):
    id: UUID
    version: int
    tender_id: UUID
    lot_id: str
    bid_id: UUID
    buyer_id: UUID
    parties: list[PartyView]
    value_minor: int
    currency: str
    period: PeriodView
    status: str
    signed_at: datetime
    # When and why it was completed or terminated.
    ended_at: datetime | None
    end_reason: str | None
    amendments: list[ContractAmendmentView]
    commitments: list[CommitmentView]
    delivery_reports: Annotated[list[DeliveryReportView], msgspec.Meta(max_length=MAX_REPORTS)]


class ContractSummary(msgspec.Struct, kw_only=True):
    id: UUID
    tender_id: UUID
    lot_id: str
    buyer_id: UUID
    parties: list[PartyView]
    status: str
    value_minor: int
    currency: str
    period: PeriodView
    signed_at: datetime
    version: int


class ContractsPage(msgspec.Struct, kw_only=True):
    items: list[ContractSummary]
    total: int
    page: int
    per_page: int
    consistent: bool


class ClosureDayView(msgspec.Struct, kw_only=True):
    day: date
    reason: str


class ClosureDaysView(msgspec.Struct, kw_only=True):
    # How a working day is counted (the standstill's days).
    rule: str
    # From today (London) on, in order.
    days: list[ClosureDayView]
