"""Requests and responses of buyer verification and the public list of buyers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec

from tradehall.api.schemas.base import FREE_TEXT, Reason, RequestBody

Evidence = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=4000,
        extra=FREE_TEXT,
        description="what staff checked (a government register entry, a statute, ...)",
    ),
]


class VerifyBuyer(RequestBody):
    evidence: Evidence


class WithdrawVerification(RequestBody):
    reason: Reason


class BuyerVerificationView(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A buyer organisation's verification. Its own users see whether it is verified and since
    when; staff also see the evidence, who verified it, and any withdrawal."""

    organisation_id: UUID
    verified: bool
    # When it was last verified (verified), or last withdrawn (not verified); null: never.
    since: datetime | None
    # The verification's version, for If-Match on a withdrawal; null: never verified.
    version: int | None
    # Staff only.
    evidence: str | None = None
    verified_at: datetime | None = None
    verified_by: UUID | None = None
    withdrawn_at: datetime | None = None
    withdrawn_by: UUID | None = None
    withdrawal_reason: str | None = None


class BuyerEntry(msgspec.Struct, kw_only=True):
    id: UUID
    name: str
    kind: Literal["public_body", "business"]
    verified: bool
    verified_since: datetime | None


class BuyersPage(msgspec.Struct, kw_only=True):
    items: list[BuyerEntry]
    total: int
    page: int
    per_page: int
    consistent: bool
