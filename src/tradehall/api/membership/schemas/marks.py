"""Requests and responses of the quality mark (ADR 23)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec

from tradehall.api.schemas.base import FREE_TEXT, Reason, RequestBody

Amount = Annotated[int, msgspec.Meta(ge=0, le=10**14, description="minor units (pence)")]
SignedAmount = Annotated[
    int, msgspec.Meta(ge=-(10**14), le=10**14, description="minor units; negative: a loss")
]
LongText = Annotated[str, msgspec.Meta(min_length=1, max_length=8000, extra=FREE_TEXT)]
CriterionCode = Annotated[str, msgspec.Meta(pattern="^[a-z_]{1,40}$", max_length=40)]
Note = Annotated[str, msgspec.Meta(max_length=4000, extra=FREE_TEXT)]


class DeclarationsBody(RequestBody):
    """What the applicant declares for the last financial year. Shares are computed from the
    amounts, never typed in."""

    objects_clause: LongText | None = None
    independent: bool | None = None
    trading_income_minor: Amount | None = None
    grant_income_minor: Amount | None = None
    donation_income_minor: Amount | None = None
    other_income_minor: Amount | None = None
    profit_minor: SignedAmount | None = None
    distributed_minor: Amount | None = None
    asset_lock: bool | None = None
    impact_statement: LongText | None = None


class AssignAssessor(RequestBody):
    assessor_id: UUID


class InformationRequest(RequestBody):
    question: Reason
    reply_by: datetime


class InformationReply(RequestBody):
    reply: Reason


class FindingBody(RequestBody):
    met: bool
    note: Note = ""


class Referral(RequestBody):
    findings: Annotated[dict[CriterionCode, FindingBody], msgspec.Meta(max_length=40)]


class Decision(RequestBody):
    award: bool
    reasons: Annotated[dict[CriterionCode, Reason], msgspec.Meta(max_length=40)] = {}


class MarkReason(RequestBody):
    reason: Reason


class CriterionView(msgspec.Struct, kw_only=True):
    code: str
    title: str
    evidence: str
    basis: Literal["declared", "computed"]


class CriteriaView(msgspec.Struct, kw_only=True):
    version: str
    effective_from: str
    criteria: list[CriterionView]


class FindingView(msgspec.Struct, kw_only=True):
    met: bool | None
    note: str


class EvidenceView(msgspec.Struct, kw_only=True):
    criterion: str
    sha256: str
    content_type: str
    size: int
    filename: str


class RoundView(msgspec.Struct, kw_only=True):
    number: int
    question: str
    reply_by: datetime
    reply: str | None


class MarkApplicationView(msgspec.Struct, kw_only=True):
    id: UUID
    version: int
    organisation_id: UUID
    review: str
    stage: str
    criteria_version: str | None
    declarations: dict[str, object]
    computed: dict[str, FindingView]
    evidence: list[EvidenceView]
    assessor_id: UUID | None
    rounds: list[RoundView]
    assessor_findings: dict[str, FindingView]
    rejection_reasons: dict[str, str]
    submitted_at: datetime | None
    decided_at: datetime | None


class MarkView(msgspec.Struct, kw_only=True):
    organisation_id: UUID
    version: int
    certificate_number: str
    status: str
    valid_from: datetime
    valid_until: datetime
    suspensions: dict[str, str]
    next_review: str


class PublicMark(msgspec.Struct, kw_only=True):
    certificate_number: str
    status: str
    holder_name: str
    valid_from: str
    valid_until: str


class QueueEntry(msgspec.Struct, kw_only=True):
    application_id: UUID
    organisation_id: UUID
    review: str
    stage: str
    waiting_since: datetime | None
    waiting_days: int | None
    assessor_id: UUID | None
    reply_by: datetime | None


class QueuePage(msgspec.Struct, kw_only=True):
    items: list[QueueEntry]
