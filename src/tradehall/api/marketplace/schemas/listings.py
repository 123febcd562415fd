"""Requests and responses of service listings."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec

from marketplace.listings import (
    MAX_CAPACITY_MINOR,
    MAX_CODES,
    MAX_DESCRIPTION,
    MAX_TITLE,
    PriceBasis,
)
from tradehall.api.schemas.base import FREE_TEXT, RequestBody

Code = Annotated[str, msgspec.Meta(min_length=1, max_length=20)]


class ListingBody(RequestBody):
    """What a listing says: published as given, or replacing what it said."""

    title: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_TITLE)]
    description: Annotated[
        str, msgspec.Meta(min_length=1, max_length=MAX_DESCRIPTION, extra=FREE_TEXT)
    ]
    cpv_codes: Annotated[
        list[Code],
        msgspec.Meta(min_length=1, max_length=MAX_CODES, description="CPV codes of the service"),
    ]
    regions: Annotated[
        list[Code],
        msgspec.Meta(min_length=1, max_length=MAX_CODES, description="ITL regions served"),
    ]
    price_basis: PriceBasis
    capacity_minor: Annotated[
        int,
        msgspec.Meta(
            ge=1,
            le=MAX_CAPACITY_MINOR,
            description="the largest contract value the member can take, in minor units",
        ),
    ]


class ListingView(msgspec.Struct, kw_only=True):
    id: UUID
    organisation_id: UUID
    # The seller's name (None until the read side has it).
    seller_name: str | None
    title: str
    description: str
    cpv_codes: list[str]
    regions: list[str]
    price_basis: str
    capacity_minor: int
    state: str
    # Published and its member in good standing: whether the public sees it.
    shown: bool
    version: int
    published_at: datetime
    updated_at: datetime


class ListingsPage(msgspec.Struct, kw_only=True):
    items: list[ListingView]
    total: int
    page: int
    per_page: int
    consistent: bool
