"""Outside opportunities' response types (issue 16)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import msgspec


class OpportunityView(msgspec.Struct, kw_only=True):
    id: UUID
    ocid: str
    # Where it came from (the publisher of the package it was imported from), and the notice
    # there, when the releases link one.
    source: str
    url: str | None
    title: str
    description: str
    buyer_name: str | None
    # OCDS tender.status as published, when it is one.
    status: str | None
    # Active with its deadline ahead, by the service's clock.
    open: bool
    deadline: datetime | None
    # As published: decimal text in major units (never a float), and its currency.
    amount: str | None
    currency: str | None
    # tender.suitability.vcse: suitable for voluntary, community and social enterprises;
    # null when the publisher did not say (unknown, not no).
    vcse: bool | None
    cpv_codes: list[str]
    regions: list[str]
    # Places the releases name that could not be read reliably as ITL regions, as given.
    unresolved_regions: list[str]
    releases: int
    version: int
    updated_at: datetime


class OpportunitiesPage(msgspec.Struct, kw_only=True):
    items: list[OpportunityView]
    total: int
    page: int
    per_page: int
    consistent: bool
