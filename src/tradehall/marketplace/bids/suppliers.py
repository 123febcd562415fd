"""What membership and the quality mark say of a supplier at a bid command or at opening.

A mark is held as it stands at the moment given (the command's or the opening's time, from the
injected clock): expired from its `valid_until` on, though the marks clock records `Expired`
only at its next tick (`QualityMark.status_at`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from uuid import UUID

from marketplace.bids.content import SupplierFacts
from membership.application import MembershipApp
from membership.marks.application import MarksApp
from membership.marks.mark import MarkStatus
from sharedkernel.errors import NotFound


def supplier_facts(
    membership: MembershipApp, marks: MarksApp, organisation_id: UUID, at: datetime | None = None
) -> SupplierFacts:
    """What membership says of one organisation; its mark as it stands `at` (None: as last
    recorded, which lags its expiry by up to one tick of the marks clock)."""
    try:
        organisation = membership.get_organisation(organisation_id)
    except NotFound:
        return SupplierFacts(organisation_id, False, False, False, ())
    mark = marks.mark_of(organisation_id)
    return SupplierFacts(
        organisation_id=organisation_id,
        registered=True,
        in_good_standing=membership.is_in_good_standing(organisation_id),
        holds_mark=mark is not None
        and (mark.status if at is None else mark.status_at(at)) is MarkStatus.VALID,
        regions=tuple(organisation.regions),
    )


def facts_of(
    membership: MembershipApp,
    marks: MarksApp,
    organisation_ids: Iterable[UUID],
    at: datetime | None = None,
) -> Mapping[UUID, SupplierFacts]:
    return {o: supplier_facts(membership, marks, o, at) for o in organisation_ids}
