"""The service listings read model, on both stores: it follows the marketplace and membership
logs in either order, a listing is shown only while published and its seller listed, an update
replaces its codes, and no event stops it (ADR 16)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, and_, select

from projections.events import RecordedEvent
from projections.listings import ListingsProjection
from projections.standing_query import listed_at
from projections.tables import (
    listing_sellers,
    service_listing_cpv,
    service_listing_regions,
    service_listings,
)
from projections.tenders import TendersProjection
from tests.integration.recorded import recorded

# Shown publicly: published, its seller in good standing as recorded (no reader's time here).
SHOWN = and_(service_listings.c.state == "published", listed_at(listing_sellers, None))

T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
DETAILS = {
    "title": "Bread for events",
    "description": "Baked the same morning.",
    "cpv_codes": ["15810000-9"],
    "regions": ["TLC3"],
    "price_basis": "fixed",
    "capacity_minor": 500_000,
}


def event(
    log: str, position: int, originator: uuid.UUID, event_name: str, version: int = 1, **data: Any
) -> RecordedEvent:
    data.setdefault("timestamp", T0)
    module = "membership.domain" if log == "membership" else "marketplace.listings"
    return recorded(log, position, originator, version, f"{module}:{event_name}", data)


def shown(connection: Connection, *listings: uuid.UUID) -> set[uuid.UUID]:
    joined = service_listings.outerjoin(
        listing_sellers, listing_sellers.c.organisation_id == service_listings.c.organisation_id
    )
    query = (
        select(service_listings.c.listing_id)
        .select_from(joined)
        .where(SHOWN, service_listings.c.listing_id.in_(listings))
    )
    return set(connection.execute(query).scalars())


def codes(connection: Connection, listing: uuid.UUID) -> tuple[list[str], list[str]]:
    cpv = connection.execute(
        select(service_listing_cpv.c.cpv_code)
        .where(service_listing_cpv.c.listing_id == listing)
        .order_by(service_listing_cpv.c.cpv_code)
    ).scalars()
    regions = connection.execute(
        select(service_listing_regions.c.region)
        .where(service_listing_regions.c.listing_id == listing)
        .order_by(service_listing_regions.c.region)
    ).scalars()
    return list(cpv), list(regions)


def test_either_log_first_and_the_seller_standing_decides(engine: Engine) -> None:
    org, listing = uuid.uuid4(), uuid.uuid4()
    projection = ListingsProjection()
    with engine.begin() as connection:
        published = event(
            "marketplace", 1, listing, "ServiceListing.Published", organisation_id=org,
            details=DETAILS,
        )  # fmt: skip
        projection.apply(connection, [published])
        assert shown(connection, listing) == set()  # no seller read yet
        projection.apply(
            connection,
            [
                event("membership", 1, org, "Organisation.Registered", name="Riverside"),
                event("membership", 2, org, "Organisation.MembershipAdmitted", 2),
                event("membership", 3, org, "Organisation.StandingChanged", 3, status="new"),
            ],
        )
        assert shown(connection, listing) == {listing}
        lapsed = event("membership", 4, org, "Organisation.StandingChanged", 4, status="lapsed")
        projection.apply(connection, [lapsed])
        assert shown(connection, listing) == set()
        projection.apply(
            connection,
            [
                event("membership", 5, org, "Organisation.StandingChanged", 5, status="current"),
                event("membership", 6, org, "Organisation.ProfileUpdated", 6, name="Riverside 2"),
                event("marketplace", 2, listing, "ServiceListing.Withdrawn", 2),
            ],
        )
        assert shown(connection, listing) == set()
        seller = connection.execute(
            select(listing_sellers).where(listing_sellers.c.organisation_id == org)
        ).one()
        assert (seller.name, seller.listed) == ("Riverside 2", True)
        projection.apply(
            connection, [event("marketplace", 3, listing, "ServiceListing.Republished", 3)]
        )
        assert shown(connection, listing) == {listing}


def test_an_update_replaces_the_codes_and_no_event_stops_the_projection(engine: Engine) -> None:
    org, listing, broken = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    projection = ListingsProjection()
    long_region = "TLD3" + "9" * 20  # another writer's: cut to its column on PostgreSQL
    with engine.begin() as connection:
        projection.apply(
            connection,
            [
                event(
                    "marketplace", 1, listing, "ServiceListing.Published", organisation_id=org,
                    details=DETAILS,
                ),
                event(
                    "marketplace", 2, listing, "ServiceListing.Updated", 2,
                    details=DETAILS | {
                        "cpv_codes": ["55520000", "45000000-7", "55520000"],
                        "regions": ["TLD", long_region, long_region + "0"],
                    },
                ),
                # Details that are not a listing's: left out, with the events that follow.
                event(
                    "marketplace", 3, broken, "ServiceListing.Published", organisation_id=org,
                    details={"title": "no more"},
                ),
                event("marketplace", 4, broken, "ServiceListing.Withdrawn", 2),
                event("marketplace", 5, listing, "ServiceListing.Updated", 3, details="junk"),
                event("membership", 1, org, "Organisation.Registered", name="Riverside"),
                # A status event without its status: the seller is left as it was.
                event("membership", 2, org, "Organisation.StandingChanged", 2),
            ],
        )  # fmt: skip
        cpv, regions = codes(connection, listing)
        assert cpv == ["45000000-7", "55520000"]
        assert regions[0] == "TLD"
        assert len(regions) in (2, 3)  # the long codes are one once cut (PostgreSQL)
        row = connection.execute(
            select(service_listings).where(service_listings.c.listing_id == listing)
        ).one()
        assert (row.version, row.title) == (3, DETAILS["title"])
        assert (
            connection.execute(
                select(service_listings).where(service_listings.c.listing_id == broken)
            ).all()
            == []
        )
        # A later update of the listing replaces its codes again.
        projection.apply(
            connection,
            [event("marketplace", 6, listing, "ServiceListing.Updated", 4, details=DETAILS)],
        )
        assert codes(connection, listing) == (["15810000-9"], ["TLC3"])


def test_the_sellers_part_leaves_events_out_under_the_projections_name() -> None:
    """The membership parts of the listings and tenders projections log an event they leave out
    under their projection's name (RowPerAggregate's left-out path reads `self.name`): they had
    none, so a left-out event there (a lapse date past year 9999, before grace_ends was bounded)
    raised AttributeError and failed the whole projection."""
    assert ListingsProjection().organisations.name == ListingsProjection.name == "listings"
    assert TendersProjection().organisations.name == TendersProjection.name == "tenders"
