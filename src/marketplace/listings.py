"""A member's service listing: published, updated, withdrawn, republished. Pure domain code.

Only a member in good standing publishes or republishes; whether a listing is shown publicly
also depends on its member's standing at the time of reading, which the read side decides (a
member whose standing ends is hidden, and shown again when it returns), not these events.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from uuid import UUID

from sharedkernel.errors import Conflict, InvalidValue
from sharedkernel.events import Context, TradehallAggregate
from sharedkernel.reference import canonical_cpv_codes, canonical_regions

MAX_TITLE = 200
MAX_DESCRIPTION = 8000
MAX_CODES = 50
# The largest contract value a listing may state (minor units): ten billion pounds.
MAX_CAPACITY_MINOR = 10**12


class PriceBasis(StrEnum):
    FIXED = "fixed"
    DAY_RATE = "day_rate"
    ON_QUOTATION = "on_quotation"


class ListingState(StrEnum):
    PUBLISHED = "published"
    WITHDRAWN = "withdrawn"


@dataclass(frozen=True)
class ListingDetails:
    """What a listing says, validated and normalised."""

    title: str
    description: str
    cpv_codes: tuple[str, ...]
    regions: tuple[str, ...]
    price_basis: PriceBasis
    capacity_minor: int

    @classmethod
    def parse(
        cls,
        *,
        title: str,
        description: str,
        cpv_codes: list[str],
        regions: list[str],
        price_basis: str,
        capacity_minor: int,
    ) -> ListingDetails:
        clean_title = " ".join(title.split())
        if not clean_title:
            raise InvalidValue("title", "the title is empty")
        if len(clean_title) > MAX_TITLE:
            raise InvalidValue("title", f"the title is longer than {MAX_TITLE} characters")
        clean_description = description.strip()
        if not clean_description:
            raise InvalidValue("description", "describe the service")
        if len(clean_description) > MAX_DESCRIPTION:
            raise InvalidValue("description", f"longer than {MAX_DESCRIPTION} characters")
        if not cpv_codes:
            raise InvalidValue("cpv_codes", "name at least one CPV code")
        if not regions:
            raise InvalidValue("regions", "name at least one ITL region served")
        for name, codes in (("cpv_codes", cpv_codes), ("regions", regions)):
            if len(codes) > MAX_CODES:
                raise InvalidValue(name, f"at most {MAX_CODES}")
        try:
            basis = PriceBasis(price_basis)
        except ValueError:
            allowed = ", ".join(b.value for b in PriceBasis)
            raise InvalidValue("price_basis", f"one of: {allowed}") from None
        if not 1 <= capacity_minor <= MAX_CAPACITY_MINOR:
            raise InvalidValue(
                "capacity_minor", f"the largest contract value, 1 to {MAX_CAPACITY_MINOR}"
            )
        return cls(
            title=clean_title,
            description=clean_description,
            cpv_codes=canonical_cpv_codes(cpv_codes),
            regions=canonical_regions(regions),
            price_basis=basis,
            capacity_minor=capacity_minor,
        )

    def as_data(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "description": self.description,
            "cpv_codes": list(self.cpv_codes),
            "regions": list(self.regions),
            "price_basis": self.price_basis.value,
            "capacity_minor": self.capacity_minor,
        }

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> ListingDetails:
        return cls(
            title=str(data["title"]),
            description=str(data["description"]),
            cpv_codes=tuple(data["cpv_codes"]),
            regions=tuple(data["regions"]),
            price_basis=PriceBasis(data["price_basis"]),
            capacity_minor=int(data["capacity_minor"]),
        )


class ServiceListing(TradehallAggregate):
    class Published(TradehallAggregate.Created):
        organisation_id: UUID
        details: dict[str, Any]

    class Updated(TradehallAggregate.Event):
        details: dict[str, Any]

        def apply(self, aggregate: ServiceListing) -> None:
            aggregate.details = ListingDetails.from_data(self.details)

    class Withdrawn(TradehallAggregate.Event):
        def apply(self, aggregate: ServiceListing) -> None:
            aggregate.state = ListingState.WITHDRAWN

    class Republished(TradehallAggregate.Event):
        def apply(self, aggregate: ServiceListing) -> None:
            aggregate.state = ListingState.PUBLISHED

    def __init__(self, organisation_id: UUID, details: dict[str, Any]) -> None:
        self.organisation_id = organisation_id
        self.details = ListingDetails.from_data(details)
        self.state = ListingState.PUBLISHED

    @classmethod
    def publish(
        cls,
        context: Context,
        listing_id: UUID,
        organisation_id: UUID,
        details: ListingDetails,
        in_good_standing: bool,
    ) -> ServiceListing:
        _require_good_standing(in_good_standing)
        return cls._create(
            cls.Published,
            id=listing_id,
            organisation_id=organisation_id,
            details=details.as_data(),
            **context.event_kwargs(),
        )

    def update(self, context: Context, details: ListingDetails) -> None:
        if details == self.details:
            return  # nothing changed: nothing to record
        self.trigger_event(self.Updated, details=details.as_data(), **context.event_kwargs())

    def withdraw(self, context: Context) -> None:
        if self.state is ListingState.WITHDRAWN:
            raise Conflict("the listing is already withdrawn")
        self.trigger_event(self.Withdrawn, **context.event_kwargs())

    def republish(self, context: Context, in_good_standing: bool) -> None:
        if self.state is ListingState.PUBLISHED:
            raise Conflict("the listing is already published")
        _require_good_standing(in_good_standing)
        self.trigger_event(self.Republished, **context.event_kwargs())


def _require_good_standing(in_good_standing: bool) -> None:
    if not in_good_standing:
        raise Conflict("only a member in good standing publishes listings")
