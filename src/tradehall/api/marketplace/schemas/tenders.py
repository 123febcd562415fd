"""Requests and responses of tenders and the tender board."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec

from marketplace.tender_terms import (
    MAX_CRITERIA,
    MAX_LOTS,
    MAX_TEXT,
    MAX_TITLE,
    MAX_VALUE_MINOR,
    Category,
    Method,
)
from marketplace.tenders import MAX_QUESTION
from tradehall.api.schemas.base import FREE_TEXT, RequestBody

Code = Annotated[str, msgspec.Meta(min_length=1, max_length=20)]
Title = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_TITLE)]
Text = Annotated[str, msgspec.Meta(max_length=MAX_TEXT, extra=FREE_TEXT)]
Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_QUESTION, extra=FREE_TEXT)]
Percent = Annotated[int, msgspec.Meta(ge=0, le=100)]
MAX_CODES = 50


class PeriodBody(RequestBody):
    start: datetime
    end: datetime


class LotBody(RequestBody):
    title: Title
    cpv_codes: Annotated[list[Code], msgspec.Meta(min_length=1, max_length=MAX_CODES)]
    value_minor: Annotated[
        int,
        msgspec.Meta(
            ge=1, le=MAX_VALUE_MINOR, description="the lot's estimated value, in minor units"
        ),
    ]
    description: Text = ""
    currency: Annotated[
        str, msgspec.Meta(pattern="^[A-Z]{3}$", max_length=3, description="ISO 4217, e.g. GBP")
    ] = "GBP"


class CriterionBody(RequestBody):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    weight: Annotated[Percent, msgspec.Meta(description="a whole percentage; all sum to 100")]
    scale: Annotated[int, msgspec.Meta(ge=1, le=100, description="scored 0 to 5 or 0 to 10")]


class EvaluationBody(RequestBody):
    price: CriterionBody
    quality: Annotated[list[CriterionBody], msgspec.Meta(min_length=1, max_length=MAX_CRITERIA)]
    social_value: CriterionBody
    tie_break: Literal["highest_quality", "highest_social_value", "lowest_price"]
    abnormally_low_percent: Annotated[
        int,
        msgspec.Meta(
            ge=0, le=100, description="a bid this many percent below the others' mean is abnormal"
        ),
    ]


class EligibilityBody(RequestBody):
    members_only: bool = False
    quality_mark_required: bool = False
    regions: Annotated[
        list[Code],
        msgspec.Meta(max_length=MAX_CODES, description="ITL regions served; none: anywhere"),
    ] = msgspec.field(default_factory=list)


class TenderBody(RequestBody):
    """What a tender says: drafted as given, or replacing what its draft said."""

    title: Title
    description: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_TEXT, extra=FREE_TEXT)]
    method: Method
    category: Category
    lots: Annotated[list[LotBody], msgspec.Meta(min_length=1, max_length=MAX_LOTS)]
    enquiry_period: PeriodBody
    tender_period: PeriodBody
    contract_period: PeriodBody
    eligibility: EligibilityBody
    evaluation: EvaluationBody


class AmendmentBody(TenderBody):
    """The tender's terms as amended, and why."""

    rationale: Reason


class PublicationBody(RequestBody):
    planned: Annotated[
        bool,
        msgspec.Meta(description="announced ahead (OCDS planned), not yet open for tendering"),
    ] = False


class ReasonBody(RequestBody):
    reason: Reason


class NationalOcidBody(RequestBody):
    ocid: Annotated[
        str,
        msgspec.Meta(
            min_length=1,
            max_length=200,
            description="the ocid a national portal (Find a Tender, Contracts Finder) issued for "
            "this process, such as ocds-h6vhtk-04f9a1: published with the tender's OCDS "
            "releases as a related process",
        ),
    ]


# Responses -----------------------------------------------------------------------------------


class PeriodView(msgspec.Struct, kw_only=True):
    start: datetime
    end: datetime


class LotView(msgspec.Struct, kw_only=True):
    id: str
    title: str
    description: str
    cpv_codes: list[str]
    value_minor: int
    currency: str
    # Once its evaluation ends: awarded, not_awarded or unsuccessful (no valid bid); and when.
    # None while the lot is not decided.
    outcome: str | None = None
    decided_at: datetime | None = None


class CriterionView(msgspec.Struct, kw_only=True):
    name: str
    weight: int
    scale: int


class EvaluationView(msgspec.Struct, kw_only=True):
    price: CriterionView
    quality: list[CriterionView]
    social_value: CriterionView
    tie_break: str
    abnormally_low_percent: int


class EligibilityView(msgspec.Struct, kw_only=True):
    members_only: bool
    quality_mark_required: bool
    regions: list[str]


class AmendmentView(msgspec.Struct, kw_only=True):
    changed: list[str]
    rationale: str
    amended_at: datetime


class DocumentView(msgspec.Struct, kw_only=True):
    sha256: str
    kind: str
    filename: str
    content_type: str
    size: int
    added_at: datetime


class ClarificationView(msgspec.Struct, kw_only=True):
    question: str
    answer: str
    answered_at: datetime


class TenderSummary(msgspec.Struct, kw_only=True):
    id: UUID
    ocid: str
    buyer_id: UUID
    # The buyer's name (None until the read side has it).
    buyer_name: str | None
    title: str
    status: str
    method: str
    category: str
    # The lots' estimated values summed, in minor units.
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


class TenderView(TenderSummary, kw_only=True):
    description: str
    lots: list[LotView]
    enquiry_period: PeriodView
    tender_period: PeriodView
    contract_period: PeriodView
    eligibility: EligibilityView
    evaluation: EvaluationView
    # Why it was cancelled, withdrawn or closed unsuccessful.
    end_reason: str | None
    documents: list[DocumentView]
    amendments: list[AmendmentView]
    # The published questions and answers (never who asked).
    clarifications: list[ClarificationView]


class TendersPage(msgspec.Struct, kw_only=True):
    items: list[TenderSummary]
    total: int
    page: int
    per_page: int
    consistent: bool


class BoardTender(TenderSummary, kw_only=True, omit_defaults=True):
    """A tender on the board; with a text query, how well it matches (higher first; comparable
    only within one query on one store)."""

    rank: int | None = None


class BoardPage(msgspec.Struct, kw_only=True):
    items: list[BoardTender]
    total: int
    page: int
    per_page: int
    consistent: bool
