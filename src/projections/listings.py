"""Service listings: what members offer, and who may be shown (issue 10); public reads.

One projection follows two logs. From the marketplace log, a row a listing (its details, CPV
codes and regions, published or withdrawn); from the membership log, a row an organisation as
a seller (its name, and whether it is listed: in good standing, as the directory decides). A
listing is shown publicly while it is published *and* its seller is listed, decided when
reading by a join: a member whose standing ends has its listings vanish from every public view,
and they return with its standing, with no listing event.

An event never stops the projection (ADR 16): text is made storable by `projections.folding`;
codes that would become one once stored are kept once; a listing event whose details are not
what the domain writes is left out with a log line.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, Connection, and_, case, select
from sqlalchemy.ext.asyncio import AsyncConnection

from projections.base import BesideOrganisations, RowPerAggregate
from projections.codes import in_cpv, in_regions, replace_codes, stated_codes
from projections.directory import LISTED_STATUSES
from projections.events import EVENT_THEN_WHY, RecordedEvent, leave_out
from projections.folding import Row, load_touched, save_rows
from projections.membership_status import (
    STANDING_DATE_EVENTS,
    STATUS_EVENTS,
    UNREADABLE,
    standing_dates,
    status_after,
)
from projections.pages import Page, equal_where_given, page_rows
from projections.standing_query import listed_at
from projections.tables import (
    listing_sellers,
    service_listing_cpv,
    service_listing_regions,
    service_listings,
)

PUBLISHED = "ServiceListing.Published"
UPDATED = "ServiceListing.Updated"
# The listing's state after each event that only moves it (the listing read models share these).
STATE_AFTER = {"ServiceListing.Withdrawn": "withdrawn", "ServiceListing.Republished": "published"}
LISTING_EVENTS = frozenset({PUBLISHED, UPDATED, *STATE_AFTER})
# An organisation's profile change, which may rename it (its `name`, when it carries one).
PROFILE_UPDATED = "Organisation.ProfileUpdated"
_MAX_BIGINT = 2**63 - 1


@dataclass(frozen=True)
class ListingDetails:
    columns: Row
    cpv_codes: list[str]
    regions: list[str]


def listing_details(event: RecordedEvent) -> ListingDetails | None:
    """The listing's details as its Published or Updated event holds them; None (logged) if
    they are not what the domain writes."""
    try:
        details = event.data["details"]
        capacity = details["capacity_minor"]
        if type(capacity) is not int or not 0 <= capacity <= _MAX_BIGINT:
            raise ValueError(f"capacity {capacity!r}")
        return ListingDetails(
            columns={
                "title": str(details["title"]),
                "description": str(details["description"]),
                "price_basis": str(details["price_basis"]),
                "capacity_minor": capacity,
            },
            cpv_codes=[str(code) for code in details["cpv_codes"]],
            regions=[str(region) for region in details["regions"]],
        )
    except (KeyError, TypeError, ValueError) as error:
        leave_out("listings", event, f"its details are not a listing's ({error})")
        return None


class _Sellers(RowPerAggregate):
    """The membership log's part: a row an organisation, its name and whether it is listed."""

    name = "listings"  # the projection it is part of: what a left-out event is logged under
    table = listing_sellers
    created_by = "Organisation.Registered"
    changed_by = frozenset({*STATUS_EVENTS, *STANDING_DATE_EVENTS, PROFILE_UPDATED})

    def create(self, event: RecordedEvent) -> Row:
        return {
            "organisation_id": event.originator_id,
            "name": str(event.data.get("name") or ""),
            "listed": False,
            "lapses_at": None,
            "resigns_at": None,
        }

    def change(self, row: Row, event: RecordedEvent) -> None:
        if event.name == PROFILE_UPDATED:
            name = event.data.get("name")
            if isinstance(name, str) and name:
                row["name"] = name
            return
        if event.name in STANDING_DATE_EVENTS:
            row.update(standing_dates("listings", event))
            return
        status = status_after(event.name, event.data)
        if status == UNREADABLE:
            leave_out(
                "listings", event, "carries no status; the seller is unchanged", text=EVENT_THEN_WHY
            )
            return
        row["listed"] = status in LISTED_STATUSES


class ListingsProjection(BesideOrganisations):
    """Service listings and their sellers (see the module's doc)."""

    name = "listings"
    tables = (service_listing_cpv, service_listing_regions, service_listings, listing_sellers)
    marketplace_events = LISTING_EVENTS

    def __init__(self) -> None:
        self.organisations = _Sellers()

    def apply_marketplace(self, connection: Connection, events: list[RecordedEvent]) -> None:
        rows, created = load_touched(connection, service_listings, "listing_id", events, PUBLISHED)
        # The codes of the listings whose details this batch set, as they end up.
        codes: dict[UUID, ListingDetails] = {}
        for event in events:
            listing_id, data = event.originator_id, event.data
            if event.name == PUBLISHED:
                details = listing_details(event)
                at, seller = data.get("timestamp"), data.get("organisation_id")
                if details is None or not isinstance(at, datetime):
                    if details is not None:
                        leave_out("listings", event, "it has no time")
                    created.discard(listing_id)
                    continue
                if not isinstance(seller, UUID):
                    leave_out("listings", event, "it names no organisation")
                    created.discard(listing_id)
                    continue
                rows[listing_id] = details.columns | {
                    "listing_id": listing_id,
                    "organisation_id": seller,
                    "state": "published",
                    "version": event.originator_version,
                    "published_at": at,
                    "updated_at": at,
                }
                codes[listing_id] = details
                continue
            row = rows.get(listing_id)
            if row is None:  # its publication was left out, or came before the log began
                continue
            if event.name == UPDATED:
                details = listing_details(event)
                if details is not None:  # else left out: the listing keeps what it said
                    row.update(details.columns)
                    codes[listing_id] = details
            else:
                row["state"] = STATE_AFTER[event.name]
            row["version"] = event.originator_version
            if isinstance(data.get("timestamp"), datetime):
                row["updated_at"] = data["timestamp"]
        save_rows(connection, service_listings, "listing_id", rows, created=created)
        replace_codes(
            connection, "listing_id", service_listing_cpv, service_listing_regions, codes, created
        )


# Reads -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ListingEntry:
    listing_id: UUID
    organisation_id: UUID
    # The seller's name; None while the membership log has not been read that far.
    seller_name: str | None
    title: str
    description: str
    price_basis: str
    capacity_minor: int
    state: str
    # Published and its seller listed: what the public sees.
    shown: bool
    version: int
    cpv_codes: list[str]
    regions: list[str]
    published_at: datetime
    updated_at: datetime


ListingsPage = Page[ListingEntry]


_LISTING_COLUMNS = (
    "listing_id",
    "organisation_id",
    "title",
    "description",
    "price_basis",
    "capacity_minor",
    "state",
    "version",
    "published_at",
    "updated_at",
)


def _listed(now: datetime | None) -> ColumnElement[bool]:
    """The seller is in good standing at `now` (projections.standing_query; None: as
    recorded)."""
    return listed_at(listing_sellers, now)


async def public_listings(
    connection: AsyncConnection,
    *,
    cpv_code: str | None,
    region: str | None,
    region_parents: dict[str, str | None],
    price_basis: str | None,
    organisation_id: UUID | None,
    limit: int,
    offset: int,
    now: datetime | None = None,
) -> ListingsPage:
    """Shown listings, by title; a region or CPV filter matches up and down its hierarchy. A
    seller's good standing is as it stands at `now` (None: as recorded)."""
    conditions: list[Any] = [
        service_listings.c.state == "published",
        _listed(now),
        *equal_where_given(
            (service_listings.c.price_basis, price_basis),
            (service_listings.c.organisation_id, organisation_id),
        ),
    ]
    key = service_listings.c.listing_id
    if region is not None:
        conditions.append(in_regions(service_listing_regions, key, region, region_parents))
    if cpv_code is not None:
        conditions.append(in_cpv(service_listing_cpv, key, cpv_code))
    return await _page(connection, and_(*conditions), limit, offset, now)


async def organisation_listings(
    connection: AsyncConnection,
    organisation_id: UUID,
    *,
    limit: int,
    offset: int,
    now: datetime | None = None,
) -> ListingsPage:
    """An organisation's listings, withdrawn ones too, each saying whether it is shown (its
    seller's standing at `now`)."""
    where = service_listings.c.organisation_id == organisation_id
    return await _page(connection, where, limit, offset, now)


async def listing_entry(
    connection: AsyncConnection, listing_id: UUID, now: datetime | None = None
) -> ListingEntry | None:
    found = await _page(connection, service_listings.c.listing_id == listing_id, 1, 0, now)
    return found.entries[0] if found.entries else None


async def _page(
    connection: AsyncConnection, where: Any, limit: int, offset: int, now: datetime | None
) -> ListingsPage:
    joined = service_listings.outerjoin(
        listing_sellers, listing_sellers.c.organisation_id == service_listings.c.organisation_id
    )
    listed = case((_listed(now), True), else_=False).label("listed")
    query = select(service_listings, listing_sellers.c.name, listed)
    order = (service_listings.c.title, service_listings.c.listing_id)
    rows, total = await page_rows(
        connection, query.select_from(joined), joined, where, order, limit, offset
    )
    ids = [row.listing_id for row in rows]
    cpv, regions = await stated_codes(
        connection, "listing_id", service_listing_cpv, service_listing_regions, ids
    )
    return ListingsPage(
        entries=[
            ListingEntry(
                **{name: row._mapping[name] for name in _LISTING_COLUMNS},
                seller_name=row.name,
                shown=row.state == "published" and bool(row.listed),
                cpv_codes=cpv[row.listing_id],
                regions=regions[row.listing_id],
            )
            for row in rows
        ],
        total=int(total),
    )
