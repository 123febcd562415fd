"""Requests and responses of requests for quote (their requester's users, the suppliers they
reach, staff) and of quotes (sealed: their supplier's users only, until the deadline)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec

from marketplace.tender_terms import MAX_TITLE, MAX_VALUE_MINOR
from tradehall.api.schemas.base import FREE_TEXT, RequestBody

MAX_DESCRIPTION = 4000
MAX_NOTE = 4000
MAX_REASON = 2000
MAX_CODES = 20
MAX_INVITED = 50

Code = Annotated[str, msgspec.Meta(min_length=1, max_length=20)]
Currency = Annotated[
    str, msgspec.Meta(pattern="^[A-Z]{3}$", max_length=3, description="ISO 4217, e.g. GBP")
]
Minor = Annotated[int, msgspec.Meta(ge=1, le=MAX_VALUE_MINOR, description="minor units (pence)")]
Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_REASON, extra=FREE_TEXT)]


class BudgetBody(RequestBody):
    """A budget band: either bound may be left out."""

    currency: Currency | None = None  # left out: the request's
    min_minor: Minor | None = None
    max_minor: Minor | None = None


class WorkPeriodBody(RequestBody):
    start: datetime
    end: datetime


class RequestForQuoteBody(RequestBody):
    """What a request for quote asks, and of whom."""

    organisation_id: Annotated[UUID, msgspec.Meta(description="the requesting organisation")]
    title: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_TITLE)]
    description: Annotated[
        str, msgspec.Meta(min_length=1, max_length=MAX_DESCRIPTION, extra=FREE_TEXT)
    ]
    cpv_codes: Annotated[list[Code], msgspec.Meta(min_length=1, max_length=MAX_CODES)]
    deadline: Annotated[
        datetime, msgspec.Meta(description="quotes until then (UTC or with an offset)")
    ]
    period: Annotated[WorkPeriodBody, msgspec.Meta(description="when the work is done")]
    audience: Annotated[
        Literal["open", "invited"],
        msgspec.Meta(description="open: any member in good standing; invited: only those named"),
    ]
    regions: Annotated[
        list[Code], msgspec.Meta(max_length=MAX_CODES, description="ITL codes; none: anywhere")
    ] = msgspec.field(default_factory=list)
    budget: BudgetBody | None = None
    # Every quote's: the budget's (another is a 422); left out, the budget's, or GBP.
    currency: Currency | None = None
    invited: Annotated[
        list[UUID], msgspec.Meta(max_length=MAX_INVITED, description="the members invited")
    ] = msgspec.field(default_factory=list)


class RequestReasonBody(RequestBody):
    reason: Reason


class QuoteAcceptanceBody(RequestBody):
    quote_id: UUID


class QuoteBody(RequestBody):
    price_minor: Minor
    currency: Currency | None = None  # the request's (another is a 422); left out: the same
    note: Annotated[str, msgspec.Meta(max_length=MAX_NOTE, extra=FREE_TEXT)] = ""


class DeclineBody(RequestBody):
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_REASON, extra=FREE_TEXT)] | (
        None
    ) = None


# Responses -----------------------------------------------------------------------------------


class BudgetView(msgspec.Struct, kw_only=True):
    currency: str
    min_minor: int | None
    max_minor: int | None


class WorkPeriodView(msgspec.Struct, kw_only=True):
    start: datetime
    end: datetime


class AcceptedView(msgspec.Struct, kw_only=True):
    quote_id: UUID
    supplier_id: UUID
    price_minor: int
    currency: str
    contract_id: UUID


class RequestForQuoteView(msgspec.Struct, kw_only=True):
    id: UUID
    version: int
    requester_id: UUID
    title: str
    description: str
    cpv_codes: list[str]
    regions: list[str]
    budget: BudgetView | None
    # The currency every quote is in (the budget's, where there is one).
    currency: str
    deadline: datetime
    period: WorkPeriodView
    audience: str
    # Whom it invited: to the requester's users and staff only (None to anyone else).
    invited: list[UUID] | None
    status: str
    # Why it was cancelled or closed.
    reason: str | None
    # Once the quotes are opened: how many quoted and declined (None before: sealed).
    quotes_count: int | None
    declined_count: int | None
    # The accepted quote and its contract: to the requester's users and staff only.
    accepted: AcceptedView | None
    posted_at: datetime


class RequestSummary(msgspec.Struct, kw_only=True):
    id: UUID
    version: int
    requester_id: UUID
    # The requester's name (None until the read side has it).
    requester_name: str | None
    title: str
    cpv_codes: list[str]
    regions: list[str]
    budget: BudgetView | None
    # The currency every quote is in (the budget's, where there is one), as the request's own
    # view says; null only for a request listed before this was (migration 0034) that names no
    # budget, until the read model is rebuilt.
    currency: str | None
    deadline: datetime
    audience: str
    status: str
    posted_at: datetime


class RequestsPage(msgspec.Struct, kw_only=True):
    items: list[RequestSummary]
    total: int
    page: int
    per_page: int
    consistent: bool


class OpenedQuoteView(msgspec.Struct, kw_only=True):
    quote_id: UUID
    supplier_id: UUID
    price_minor: int
    currency: str
    note: str
    quoted_at: datetime


class OpenedQuotesView(msgspec.Struct, kw_only=True):
    request_id: UUID
    status: str
    # Cheapest first.
    quotes: list[OpenedQuoteView]
    # The suppliers that declined.
    declined: list[UUID]


class QuoteView(msgspec.Struct, kw_only=True):
    id: UUID
    version: int
    request_id: UUID
    supplier_id: UUID
    status: str
    price_minor: int | None
    currency: str | None
    note: str
    quoted_at: datetime | None
    decline_reason: str | None
    closed_reason: str | None


class QuotesList(msgspec.Struct, kw_only=True):
    items: list[QuoteView]
