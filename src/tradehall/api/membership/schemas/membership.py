"""Requests and responses of membership standing and dues."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

import msgspec

from sharedkernel.money import Money
from tradehall.api.schemas.base import Reason, RequestBody

Currency = Annotated[
    str, msgspec.Meta(pattern="^[A-Z]{3}$", max_length=3, description="ISO 4217, e.g. GBP")
]
Minor = Annotated[int, msgspec.Meta(ge=0, le=10**13, description="minor units (pence)")]
PositiveMinor = Annotated[int, msgspec.Meta(ge=1, le=10**13, description="minor units (pence)")]


class MoneyBody(RequestBody):
    amount_minor: Minor
    currency: Currency = "GBP"


class PositiveMoneyBody(RequestBody):
    amount_minor: PositiveMinor
    currency: Currency = "GBP"


def money_of(body: MoneyBody | PositiveMoneyBody, field: str) -> Money:
    """The body's amount as Money (its currency checked), a refusal naming `field`."""
    return Money.of(body.amount_minor, body.currency, field=field)


class ApplyForMembership(RequestBody):
    annual_turnover: MoneyBody


class DeclareTurnover(RequestBody):
    annual_turnover: MoneyBody


class Resignation(RequestBody):
    effective: Literal["period_end", "now"] = "period_end"


class WithReason(RequestBody):
    reason: Reason


class ManualPayment(RequestBody):
    amount: PositiveMoneyBody
    method: Literal["bank_transfer", "cheque", "cash", "other"]
    reference: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    effective_date: date | None = None


class Refund(RequestBody):
    amount: PositiveMoneyBody
    reference: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    effective_date: date | None = None


class CreditNote(RequestBody):
    amount: PositiveMoneyBody
    reason: Reason


class MoneyView(msgspec.Struct, kw_only=True):
    amount_minor: int
    currency: str


class LedgerEntryView(msgspec.Struct, kw_only=True):
    kind: str
    id: str
    at: datetime
    amount: MoneyView
    reference: str
    period_start: datetime | None
    period_end: datetime | None


class LedgerView(msgspec.Struct, kw_only=True):
    organisation_id: str
    entries: list[LedgerEntryView]
    balance: MoneyView
    paid_up_until: datetime | None


class HistoryEntry(msgspec.Struct, kw_only=True):
    version: int
    event: str
    actor: str
    effective_at: datetime
    recorded_at: datetime
    details: dict[str, object]


class StandingAt(msgspec.Struct, kw_only=True):
    as_at: datetime
    status: str
    good_standing: bool
    paid_up_until: datetime | None
    tier: str | None


class History(msgspec.Struct, kw_only=True):
    organisation_id: str
    events: list[HistoryEntry]
    standing: StandingAt | None


class BandBody(RequestBody):
    code: Annotated[str, msgspec.Meta(pattern="^[a-z][a-z0-9_]{0,30}$", max_length=31)]
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    up_to_minor: Minor | None
    annual_due_minor: Minor
    lookup_key: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]


class PublishSchedule(RequestBody):
    effective_from: datetime
    bands: Annotated[list[BandBody], msgspec.Meta(min_length=1, max_length=20)]


class BandView(msgspec.Struct, kw_only=True):
    code: str
    name: str
    up_to_minor: int | None
    annual_due_minor: int
    currency: str
    lookup_key: str


class ScheduleVersionView(msgspec.Struct, kw_only=True):
    version: int
    effective_from: datetime
    bands: list[BandView]


class ScheduleView(msgspec.Struct, kw_only=True):
    versions: list[ScheduleVersionView]
