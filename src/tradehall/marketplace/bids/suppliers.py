"""What membership and the quality mark say of a supplier at a bid command or at opening."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from uuid import UUID

from marketplace.bids.content import SupplierFacts
from membership.application import MembershipApp
from membership.marks.application import MarksApp
from membership.marks.mark import MarkStatus
from sharedkernel.errors import NotFound


def supplier_facts(
    membership: MembershipApp, marks: MarksApp, organisation_id: UUID
) -> SupplierFacts:
    try:
        organisation = membership.get_organisation(organisation_id)
    except NotFound:
        return SupplierFacts(organisation_id, False, False, False, ())
    mark = marks.mark_of(organisation_id)
    return SupplierFacts(
        organisation_id=organisation_id,
        registered=True,
        in_good_standing=membership.is_in_good_standing(organisation_id),
        holds_mark=mark is not None and mark.status is MarkStatus.VALID,
        regions=tuple(organisation.regions),
    )


def facts_of(
    membership: MembershipApp, marks: MarksApp, organisation_ids: Iterable[UUID]
) -> Mapping[UUID, SupplierFacts]:
    return {o: supplier_facts(membership, marks, o) for o in organisation_ids}
