"""Requests and responses of sealed bids (their bidders only) and of opened bids (the buyer's
users and staff, after opening)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec

from marketplace.bids.content import (
    MAX_ANSWER,
    MAX_COMMITMENTS,
    MAX_PARTNERS,
    MAX_PRICE_MINOR,
    MAX_QUANTITY,
    MEASURES,
)
from tradehall.api.schemas.base import FREE_TEXT, RequestBody
from tradehall.api.schemas.common import CommandResult

Measure = Literal[
    "local_jobs",
    "apprenticeships",
    "volunteering_hours",
    "local_social_enterprise_spend",
    "training_weeks",
    "carbon_saving",
]
assert set(Measure.__args__) == set(MEASURES)  # type: ignore[attr-defined]
Answer = Annotated[str, msgspec.Meta(max_length=MAX_ANSWER, extra=FREE_TEXT)]
LotId = Annotated[str, msgspec.Meta(min_length=1, max_length=20)]
Share = Annotated[int, msgspec.Meta(ge=1, le=100, description="a whole percentage")]


class NewBidBody(RequestBody):
    tender_id: UUID
    lot_id: LotId


class CommitmentBody(RequestBody):
    measure: Measure
    quantity: Annotated[int, msgspec.Meta(ge=1, le=MAX_QUANTITY)]
    unit: Annotated[str, msgspec.Meta(max_length=20)] | None = None


class BidContentBody(RequestBody):
    price_minor: (
        Annotated[
            int,
            msgspec.Meta(
                ge=1, le=MAX_PRICE_MINOR, description="in the lot's currency, minor units"
            ),
        ]
        | None
    ) = None
    answers: Annotated[
        dict[Annotated[str, msgspec.Meta(max_length=200)], Answer],
        msgspec.Meta(max_length=20, description="quality criterion name -> answer"),
    ] = {}
    commitments: Annotated[list[CommitmentBody], msgspec.Meta(max_length=MAX_COMMITMENTS)] = []


class PartnerBody(RequestBody):
    organisation_id: UUID
    share: Share


class ConsortiumBody(RequestBody):
    lead_share: Share
    partners: Annotated[list[PartnerBody], msgspec.Meta(max_length=MAX_PARTNERS)]


class AcceptanceBody(RequestBody):
    consortium_round: Annotated[
        int, msgspec.Meta(ge=0, le=10**6, description="the terms round read and accepted")
    ]


class CommitmentView(msgspec.Struct, kw_only=True):
    measure: str
    quantity: int
    unit: str


class BidDocumentView(msgspec.Struct, kw_only=True):
    name: str
    filename: str
    content_type: str
    size: int
    sha256: str


class ShareView(msgspec.Struct, kw_only=True):
    organisation_id: UUID
    share: int
    lead: bool
    accepted: bool


class BidView(msgspec.Struct, kw_only=True):
    id: UUID
    version: int
    tender_id: UUID
    lot_id: str
    status: str
    currency: str
    price_minor: int | None
    answers: dict[str, str]
    commitments: list[CommitmentView]
    documents: list[BidDocumentView]
    consortium: list[ShareView]
    consortium_round: int
    consortium_complete: bool
    submitted_at: datetime | None
    digest: str | None
    invalid_reason: str | None
    closed_reason: str | None
    # How many times the tender was amended since the bid was drafted (its terms, deadline or
    # criteria may have changed: read the tender again). Bidders who did not register interest
    # are not mailed of amendments (ADR 27), so this is where they see them.
    tender_amended_since_drafted: int
    # The tender's status now, read with the bid (nothing written): "cancelled" or "withdrawn"
    # (or "unsuccessful" while the bid is not opened) says it ended before opening, so the bid
    # will never be opened. The bid is closed, and its bidders mailed, only at the deadline plus
    # the opening margin: written at the ending, that would tell anyone counting rows how many
    # bids the tender had (ADR 27).
    tender_status: str


class BidsList(msgspec.Struct, kw_only=True):
    items: list[BidView]


class ReceiptCommandResult(CommandResult, kw_only=True):
    """A submission's result: the command's, with its receipt (also sent by e-mail)."""

    submitted_at: datetime
    digest: str


class OpenedBidView(msgspec.Struct, kw_only=True):
    bid_id: UUID
    lot_id: str
    lead_id: UUID
    consortium: list[dict[str, object]]
    submitted_at: datetime | None
    digest: str | None
    valid: bool
    reason: str | None
    content: dict[str, object] | None = None
    documents: list[dict[str, object]] | None = None


class OpenedBidsView(msgspec.Struct, kw_only=True):
    tender_id: UUID
    opened_at: datetime
    bids: list[OpenedBidView]
