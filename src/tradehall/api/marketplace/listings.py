"""Service listings over HTTP: members in good standing publish, update, withdraw and republish
what they offer; anyone reads the listings shown (issue 10).

A listing is acted on only by users of its organisation: anyone else gets the same 404 as for
a listing that does not exist. The public sees a listing while it is published and its member
is in good standing (the read side's rule, `projections.listings`), judged at the request's time:
a member whose grace has run out is not, though the membership clock has not recorded the
lapse yet (`projections.standing_query`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar
from uuid import UUID, uuid4

from litestar import Controller, Response, get, post, put
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, JSONBody, QueryParameter
from sqlalchemy.ext.asyncio import AsyncConnection

from marketplace.application import MarketplaceApp
from marketplace.listings import ListingDetails, PriceBasis, ServiceListing
from membership.application import MembershipApp
from projections.listings import (
    ListingEntry,
    listing_entry,
    organisation_listings,
    public_listings,
)
from tradehall.api.access import PUBLIC, Access, own_organisation, own_organisation_or_staff, rule
from tradehall.api.commands import Commands, command_response, etag
from tradehall.api.marketplace.schemas.listings import ListingBody, ListingsPage, ListingView
from tradehall.api.ownership import owned_by_caller
from tradehall.api.read_models import Paging, ReadModel, read_model
from tradehall.api.reads import (
    CpvParam,
    PageParam,
    PerPageParam,
    PositionParam,
    RegionParam,
    place_filter,
    with_consistency,
)
from tradehall.api.schemas.common import CommandResult
from tradehall.clock import Clock
from tradehall.identity.users import Role
from tradehall.marketplace import LOG

# The projection whose tables these reads use (read-your-writes waits on it).
PROJECTION = "listings"
# Checked in the handler against the listing itself.
LISTING_OWNER = Access("users of the listing's organisation (others: 404)", roles=frozenset(Role))

PriceBasisParam = Annotated[
    PriceBasis | None, QueryParameter(name="price_basis", description="listings priced so")
]
MemberParam = Annotated[
    UUID | None,
    QueryParameter(name="organisation_id", description="listings of this member"),
]


def _details(data: ListingBody) -> ListingDetails:
    return ListingDetails.parse(
        title=data.title,
        description=data.description,
        cpv_codes=data.cpv_codes,
        regions=data.regions,
        price_basis=data.price_basis.value,
        capacity_minor=data.capacity_minor,
    )


def _not_found(listing_id: UUID) -> NotFoundException:
    return NotFoundException(f"no service listing {listing_id}")


async def _own_listing(
    commands: Commands, marketplace: MarketplaceApp, listing_id: UUID
) -> ServiceListing:
    """The listing, if the caller is one of its organisation's users; else 404."""
    return await owned_by_caller(commands, marketplace.listing, listing_id, _seller_of, _not_found)


def _seller_of(listing: ServiceListing) -> UUID:
    return listing.organisation_id


def listing_view(entry: ListingEntry) -> ListingView:
    return ListingView(
        id=entry.listing_id,
        organisation_id=entry.organisation_id,
        seller_name=entry.seller_name,
        title=entry.title,
        description=entry.description,
        cpv_codes=entry.cpv_codes,
        regions=entry.regions,
        price_basis=entry.price_basis,
        capacity_minor=entry.capacity_minor,
        state=entry.state,
        shown=entry.shown,
        version=entry.version,
        published_at=entry.published_at,
        updated_at=entry.updated_at,
    )


class ListingsController(Controller):
    path = "/api/v1"
    tags = ["marketplace"]
    dependencies = {"read_model": read_model(PROJECTION)}

    @post(
        "/organisations/{organisation_id:uuid}/listings",
        opt=rule(own_organisation()),
        status_code=201,
        summary="Publish a service listing (members in good standing)",
    )
    async def publish(
        self,
        commands: NamedDependency[Commands],
        marketplace: NamedDependency[MarketplaceApp],
        membership: NamedDependency[MembershipApp],
        organisation_id: FromPath[UUID],
        data: JSONBody[ListingBody],
    ) -> Response[CommandResult]:
        details = _details(data)
        standing = await commands.run(
            membership.is_in_good_standing, organisation_id, commands.clock.now()
        )
        saved = await commands.record(
            marketplace.publish_listing, uuid4(), organisation_id, details, standing
        )
        return command_response(saved, LOG, status_code=201)

    @put(
        "/listings/{listing_id:uuid}",
        opt=rule(LISTING_OWNER),
        status_code=200,
        summary="Change what a listing says (its organisation's users)",
    )
    async def update(
        self,
        commands: NamedDependency[Commands],
        marketplace: NamedDependency[MarketplaceApp],
        listing_id: FromPath[UUID],
        data: JSONBody[ListingBody],
    ) -> Response[CommandResult]:
        await _own_listing(commands, marketplace, listing_id)
        details = _details(data)
        return await commands.execute(LOG, marketplace.update_listing, listing_id, details)

    @post(
        "/listings/{listing_id:uuid}/withdrawal",
        opt=rule(LISTING_OWNER),
        status_code=200,
        summary="Withdraw a listing from public view (its organisation's users)",
    )
    async def withdraw(
        self,
        commands: NamedDependency[Commands],
        marketplace: NamedDependency[MarketplaceApp],
        listing_id: FromPath[UUID],
    ) -> Response[CommandResult]:
        await _own_listing(commands, marketplace, listing_id)
        return await commands.execute(LOG, marketplace.withdraw_listing, listing_id)

    @post(
        "/listings/{listing_id:uuid}/republication",
        opt=rule(LISTING_OWNER),
        status_code=200,
        summary="Publish a withdrawn listing again (members in good standing)",
    )
    async def republish(
        self,
        commands: NamedDependency[Commands],
        marketplace: NamedDependency[MarketplaceApp],
        membership: NamedDependency[MembershipApp],
        listing_id: FromPath[UUID],
    ) -> Response[CommandResult]:
        listing = await _own_listing(commands, marketplace, listing_id)
        standing = await commands.run(
            membership.is_in_good_standing, listing.organisation_id, commands.clock.now()
        )
        return await commands.execute(LOG, marketplace.republish_listing, listing_id, standing)

    @get(
        "/listings",
        opt=rule(PUBLIC),
        summary="Service listings of members in good standing, by title",
    )
    async def listings(
        self,
        read_model: NamedDependency[ReadModel],
        clock: NamedDependency[Clock],
        cpv: CpvParam = None,
        region: RegionParam = None,
        price_basis: PriceBasisParam = None,
        organisation_id: MemberParam = None,
        page: PageParam = 1,
        per_page: PerPageParam = 20,
        position: PositionParam = None,
    ) -> Response[ListingsPage]:
        paging = Paging(page, per_page)
        place = place_filter(cpv, region)
        found, consistent = await read_model.query(
            position,
            _now,
            public_listings,
            clock,
            cpv_code=place.cpv_code,
            region=place.region,
            region_parents=place.region_parents,
            price_basis=price_basis.value if price_basis is not None else None,
            organisation_id=organisation_id,
            limit=paging.limit,
            offset=paging.offset,
        )
        items = [listing_view(entry) for entry in found.entries]
        return paging.response(ListingsPage, items, found.total, consistent)

    @get(
        "/listings/{listing_id:uuid}",
        opt=rule(PUBLIC),
        summary="A service listing, while it is shown publicly",
    )
    async def listing(
        self,
        read_model: NamedDependency[ReadModel],
        clock: NamedDependency[Clock],
        listing_id: FromPath[UUID],
        position: PositionParam = None,
    ) -> Response[ListingView]:
        entry, consistent = await read_model.query(position, _now, listing_entry, clock, listing_id)
        if entry is None or not entry.shown:
            raise _not_found(listing_id)
        response = with_consistency(listing_view(entry), consistent)
        response.headers["ETag"] = etag(entry.version)
        return response

    @get(
        "/organisations/{organisation_id:uuid}/listings",
        opt=rule(own_organisation_or_staff()),
        summary="An organisation's own listings, withdrawn ones too, each saying if it is shown",
    )
    async def own(
        self,
        read_model: NamedDependency[ReadModel],
        clock: NamedDependency[Clock],
        organisation_id: FromPath[UUID],
        page: PageParam = 1,
        per_page: PerPageParam = 20,
        position: PositionParam = None,
    ) -> Response[ListingsPage]:
        paging = Paging(page, per_page)
        found, consistent = await read_model.query(
            position,
            _now,
            organisation_listings,
            clock,
            organisation_id,
            limit=paging.limit,
            offset=paging.offset,
        )
        items = [listing_view(entry) for entry in found.entries]
        return paging.response(ListingsPage, items, found.total, consistent)


T = TypeVar("T")


async def _now(
    connection: AsyncConnection,
    /,
    read: Callable[..., Awaitable[T]],
    clock: Clock,
    *args: Any,
    **kwargs: Any,
) -> T:
    """`read` with the request's time as `now` (sellers' standing as it stands then): the clock
    is read here, once the read model has waited for the caller's write."""
    return await read(connection, *args, now=clock.now(), **kwargs)


# The controllers the marketplace declaration serves.
CONTROLLERS = (ListingsController,)
