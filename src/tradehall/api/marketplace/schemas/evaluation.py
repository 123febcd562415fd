"""Requests and responses of a lot's evaluation and award: the buyer's scores, the abnormally
low price procedure, the decision, the award notice and the contract; each bidder's own
assessment summary; the public award notice."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec

from marketplace.evaluation.lot import MAX_JUSTIFICATION, MAX_REASON
from marketplace.tender_terms import MAX_CRITERIA, MAX_VALUE_MINOR
from tradehall.api.marketplace.schemas.bids import CommitmentView
from tradehall.api.marketplace.schemas.tenders import PeriodBody
from tradehall.api.schemas.base import FREE_TEXT, RequestBody

Explanation = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_REASON, extra=FREE_TEXT)]
Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_REASON, extra=FREE_TEXT)]


class ScoreBody(RequestBody):
    criterion: Annotated[
        str,
        msgspec.Meta(
            min_length=1, max_length=200, description="a quality or social-value criterion"
        ),
    ]
    score: Annotated[
        int, msgspec.Meta(ge=0, le=100, description="a whole number on the criterion's scale")
    ]
    justification: Annotated[
        str, msgspec.Meta(min_length=1, max_length=MAX_JUSTIFICATION, extra=FREE_TEXT)
    ]


class ScoresBody(RequestBody):
    scores: Annotated[
        list[ScoreBody],
        msgspec.Meta(
            min_length=1,
            max_length=MAX_CRITERIA + 1,
            description="one or more criteria; the others keep their scores",
        ),
    ]


class ExplanationBody(RequestBody):
    explanation: Annotated[Explanation, msgspec.Meta(description="what the bidder said")]


class LowPriceDecisionBody(RequestBody):
    accept: Annotated[bool, msgspec.Meta(description="false excludes the bid")]
    reason: Reason


class NoAwardBody(RequestBody):
    reason: Reason


class ContractBody(RequestBody):
    value_minor: Annotated[
        int, msgspec.Meta(ge=1, le=MAX_VALUE_MINOR, description="the contract's value, minor units")
    ]
    period: PeriodBody
    currency: Annotated[
        str, msgspec.Meta(pattern="^[A-Z]{3}$", max_length=3, description="ISO 4217, e.g. GBP")
    ] = "GBP"


# Responses -----------------------------------------------------------------------------------


class MemberView(msgspec.Struct, kw_only=True):
    organisation_id: UUID
    share: int


class ScoreView(msgspec.Struct, kw_only=True):
    criterion: str
    score: int
    justification: str


class LowPriceView(msgspec.Struct, kw_only=True):
    queried_at: datetime | None
    explanation: str | None
    decision: Literal["accepted", "excluded"] | None
    reason: str | None


class EvaluatedBidView(msgspec.Struct, kw_only=True):
    bid_id: UUID
    members: list[MemberView]  # the lead's first
    price_minor: int
    currency: str
    commitments: list[CommitmentView]
    submitted_at: datetime
    scores: list[ScoreView]
    low_price: LowPriceView | None


class PointsView(msgspec.Struct, kw_only=True):
    """A bid's points as computed (decimal strings, rounded half up to two places)."""

    bid_id: UUID
    price_minor: int
    price_points: str
    quality_points: str
    social_value_points: str
    total: str


class ResultView(PointsView, kw_only=True):
    """Its points and its place: the buyer's view of the ranking."""

    rank: int


class UnscoredView(msgspec.Struct, kw_only=True):
    bid_id: UUID
    criteria: list[str]


class PassedOverView(msgspec.Struct, kw_only=True):
    bid_id: UUID
    reason: str


class DecisionView(msgspec.Struct, kw_only=True):
    winner: UUID | None
    passed_over: list[PassedOverView]
    reason: str | None


class EvaluationView(msgspec.Struct, kw_only=True):
    tender_id: UUID
    lot_id: str
    version: int
    status: str
    bids: list[EvaluatedBidView]
    flagged: list[UUID]
    excluded: list[UUID]
    unscored: list[UnscoredView]
    ranking: list[ResultView]
    decision: DecisionView | None
    notice_published_at: datetime | None
    standstill_ends: datetime | None
    contract_id: UUID | None


class SummaryScoreView(msgspec.Struct, kw_only=True):
    criterion: str
    score: int
    scale: int
    weight: int
    justification: str


class WinnerScoreView(msgspec.Struct, kw_only=True):
    criterion: str
    score: int
    scale: int
    weight: int


class WinnerView(msgspec.Struct, kw_only=True):
    bid_id: UUID
    result: PointsView | None
    scores: list[WinnerScoreView]


class AssessmentSummaryView(msgspec.Struct, kw_only=True):
    """A bidder's own scores and justifications and the winner's scores; never another's."""

    tender_id: UUID
    lot_id: str
    bid_id: UUID
    outcome: Literal["successful", "unsuccessful", "excluded", "passed_over", "invalid"]
    excluded_reason: str | None
    # Why the bid, ranked first, was no longer eligible when the award was made.
    passed_over_reason: str | None = None
    # Why the bid was found invalid at opening (it was not evaluated).
    invalid_reason: str | None = None
    decision_reason: str | None
    # Its points, never its place among the losing bids.
    result: PointsView | None
    scores: list[SummaryScoreView]
    winner: WinnerView | None


class AwardNoticeView(msgspec.Struct, kw_only=True):
    tender_id: UUID
    lot_id: str
    winners: list[MemberView]
    price_minor: int
    currency: str
    published_at: datetime
    standstill_ends: datetime | None
    contracted: bool
