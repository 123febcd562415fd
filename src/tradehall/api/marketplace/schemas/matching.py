"""Responses of procurement matching: a lot's members and a member's recommended lots, each
score broken into its named parts (ADR 29)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import msgspec


class PartView(msgspec.Struct, kw_only=True):
    points: int
    max: int
    detail: str


class PartsView(msgspec.Struct, kw_only=True):
    cpv: PartView
    region: PartView
    mark: PartView
    capacity: PartView
    track_record: PartView
    listings: PartView


class MemberMatchView(msgspec.Struct, kw_only=True):
    rank: int
    organisation_id: UUID
    name: str
    score: int
    parts: PartsView


class ExcludedView(msgspec.Struct, kw_only=True):
    """Matching members left out, never named: counted by reason (a member may count under
    several) and in all (each member once)."""

    total: int
    not_in_good_standing: int
    no_quality_mark: int
    outside_regions: int


class LotMatchesView(msgspec.Struct, kw_only=True):
    tender_id: UUID
    lot_id: str
    formula: str
    members: list[MemberMatchView]
    excluded: ExcludedView
    consistent: bool


class RecommendationView(msgspec.Struct, kw_only=True):
    # Where the opportunity comes from: "tradehall" (this marketplace's tenders), or the
    # publisher of an outside opportunity (a national portal's notice, imported as OCDS).
    source: str
    # A tender's id, or an outside opportunity's (GET /api/v1/opportunities/{id}), whose one
    # lot is "opportunity".
    tender_id: UUID
    lot_id: str
    tender_title: str
    lot_title: str
    # The buyer organisation; null for an outside opportunity (its buyer is not one here:
    # `buyer_name` says who it is).
    buyer_id: UUID | None
    buyer_name: str | None
    deadline: datetime
    score: int
    parts: PartsView
    # Outside opportunities: the notice on the portal, its ocid, and whether the buyer flags it
    # suitable for VCSEs (null: not said). Null for this marketplace's own tenders.
    url: str | None
    ocid: str | None
    vcse: bool | None


class RecommendationsView(msgspec.Struct, kw_only=True):
    # "in good standing"; "not in good standing" or "not a member" with no items.
    standing: str
    formula: str
    items: list[RecommendationView]
    consistent: bool
