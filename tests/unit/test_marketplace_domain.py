"""The marketplace's domain: service listings and buyer verification, every transition."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from marketplace.buyers import BuyerVerification, buyer_id_for
from marketplace.listings import ListingDetails, ListingState, PriceBasis, ServiceListing
from sharedkernel.errors import Conflict, InvalidValue
from sharedkernel.events import Context

ORG = uuid.uuid4()


def ctx() -> Context:
    return Context("user:x", "r", datetime(2026, 6, 1, tzinfo=UTC))


def details(**overrides: Any) -> ListingDetails:
    given: dict[str, Any] = {
        "title": "  Office   cleaning  ",
        "description": "Daily cleaning by a team of six",
        "cpv_codes": ["90910000", "90910000-9"],
        "regions": ["tlc4"],
        "price_basis": "day_rate",
        "capacity_minor": 5_000_000,
    } | overrides
    return ListingDetails.parse(**given)


def test_details_are_normalised_and_codes_checked() -> None:
    parsed = details()
    assert parsed.title == "Office cleaning"
    assert parsed.cpv_codes == ("90910000-9",)
    assert parsed.regions == ("TLC4",)
    assert parsed.price_basis is PriceBasis.DAY_RATE


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"title": "   "}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"description": ""}, "description"),
        ({"cpv_codes": []}, "cpv_codes"),
        ({"cpv_codes": ["99999999"]}, "cpv_codes[0]"),
        ({"regions": []}, "regions"),
        ({"regions": ["TLC4", "ZZZ"]}, "regions[1]"),
        ({"price_basis": "barter"}, "price_basis"),
        ({"capacity_minor": 0}, "capacity_minor"),
        ({"capacity_minor": 10**13}, "capacity_minor"),
    ],
)
def test_bad_details_name_their_field(override: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidValue) as error:
        details(**override)
    assert error.value.field == field


def test_only_a_member_in_good_standing_publishes() -> None:
    with pytest.raises(Conflict):
        ServiceListing.publish(ctx(), uuid.uuid4(), ORG, details(), in_good_standing=False)
    listing = ServiceListing.publish(ctx(), uuid.uuid4(), ORG, details(), in_good_standing=True)
    assert listing.state is ListingState.PUBLISHED


def test_a_listing_is_updated_withdrawn_and_republished() -> None:
    listing = ServiceListing.publish(ctx(), uuid.uuid4(), ORG, details(), in_good_standing=True)
    listing.update(ctx(), details())  # the same: nothing recorded
    listing.update(ctx(), details(price_basis="fixed"))
    listing.withdraw(ctx())
    with pytest.raises(Conflict):
        listing.withdraw(ctx())
    listing.update(ctx(), details(title="Window cleaning"))  # a withdrawn listing may be edited
    with pytest.raises(Conflict):
        listing.republish(ctx(), in_good_standing=False)
    listing.republish(ctx(), in_good_standing=True)
    with pytest.raises(Conflict):
        listing.republish(ctx(), in_good_standing=True)
    names = [type(e).__name__ for e in listing.collect_events()]
    assert names == ["Published", "Updated", "Withdrawn", "Updated", "Republished"]
    assert listing.details.title == "Window cleaning"
    assert listing.state is ListingState.PUBLISHED


def test_only_a_public_body_is_verified_and_verification_can_be_withdrawn_and_given_again() -> None:
    with pytest.raises(Conflict):
        BuyerVerification.verify(ctx(), ORG, "business", "checked")
    with pytest.raises(Conflict):
        BuyerVerification.verify(ctx(), ORG, "social_enterprise", "checked")
    buyer = BuyerVerification.verify(ctx(), ORG, "public_body", "gov.uk listing")
    assert buyer.id == buyer_id_for(ORG)
    assert buyer.verified
    with pytest.raises(Conflict):
        buyer.reverify(ctx(), "public_body", "again")
    buyer.withdraw(ctx(), "merged into another council")
    assert not buyer.verified
    with pytest.raises(Conflict):
        buyer.withdraw(ctx(), "twice")
    buyer.reverify(ctx(), "public_body", "new gov.uk listing")
    assert buyer.verified
    assert buyer.evidence == "new gov.uk listing"
