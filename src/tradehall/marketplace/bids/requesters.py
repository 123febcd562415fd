"""What membership and buyer verification say of a requester at a request for quote's posting."""

from __future__ import annotations

from uuid import UUID

from marketplace.application import MarketplaceApp
from marketplace.quotes.request import RequesterFacts
from membership.application import MembershipApp
from sharedkernel.errors import NotFound


def requester_facts(
    membership: MembershipApp, marketplace: MarketplaceApp, organisation_id: UUID
) -> RequesterFacts:
    try:
        organisation = membership.get_organisation(organisation_id)
    except NotFound:
        return RequesterFacts(organisation_id, False, "", False, False)
    return RequesterFacts(
        organisation_id=organisation_id,
        registered=True,
        kind=organisation.kind.value,
        in_good_standing=membership.is_in_good_standing(organisation_id),
        verified_buyer=marketplace.is_verified(organisation_id),
    )
