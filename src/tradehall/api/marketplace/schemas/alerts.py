"""Requests and responses of saved searches and their alerts (issue 17)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec

from marketplace.alerts.criteria import (
    MAX_KEYWORD,
    MAX_KEYWORDS,
    MAX_NAME,
    MAX_PREFIXES,
    MAX_REGIONS,
    MAX_VALUE_MINOR,
)
from tradehall.api.schemas.base import RequestBody

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_NAME)]
Prefix = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^[0-9]{2,8}$", max_length=8, description="a CPV code's first 2 to 8 digits"
    ),
]
Region = Annotated[str, msgspec.Meta(min_length=2, max_length=10, description="an ITL code")]
Keyword = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_KEYWORD)]
Bound = Annotated[
    int, msgspec.Meta(ge=0, le=MAX_VALUE_MINOR, description="pence (GBP, minor units)")
]
Delivery = Annotated[Literal["immediate", "daily"], msgspec.Meta(description="immediate or daily")]


class SavedSearchBody(RequestBody):
    name: Name
    cpv_prefixes: Annotated[list[Prefix], msgspec.Meta(max_length=MAX_PREFIXES)] = []
    regions: Annotated[list[Region], msgspec.Meta(max_length=MAX_REGIONS)] = []
    min_value_minor: Bound | None = None
    max_value_minor: Bound | None = None
    keywords: Annotated[list[Keyword], msgspec.Meta(max_length=MAX_KEYWORDS)] = []
    vcse_only: bool = False
    include_outside: bool = True
    delivery: Delivery = "daily"


class SavedSearchView(msgspec.Struct, kw_only=True):
    id: UUID
    organisation_id: UUID
    user_id: UUID  # the user who saved it
    name: str
    cpv_prefixes: list[str]
    regions: list[str]
    min_value_minor: int | None
    max_value_minor: int | None
    keywords: list[str]
    vcse_only: bool
    include_outside: bool
    delivery: str
    saved_at: datetime
    changed_at: datetime
    version: int


class SavedSearchesView(msgspec.Struct, kw_only=True):
    items: list[SavedSearchView]
    consistent: bool


class AlertView(msgspec.Struct, kw_only=True):
    id: UUID
    search_id: UUID
    kind: str  # tender, opportunity or request (an open-audience request for quote)
    item_id: UUID  # the tender's, the opportunity's or the request's id
    title: str
    delivery: str
    created_at: datetime
    sent: bool  # queued as mail (at once, or in a daily digest)
    read: bool
    read_at: datetime | None


class AlertsView(msgspec.Struct, kw_only=True):
    items: list[AlertView]
    unread: int
    consistent: bool
