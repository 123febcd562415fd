"""What membership says of suppliers (standing, quality mark, regions), as the `suppliers`
dependency of the routes that decide on bids and quotes: the two applications it is asked of,
always together."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from uuid import UUID

from litestar.di import NamedDependency, Provide

from marketplace.bids.content import SupplierFacts
from membership.application import MembershipApp
from membership.marks.application import MarksApp
from tradehall.api.commands import Commands
from tradehall.marketplace.bids.suppliers import facts_of, supplier_facts


@dataclass(frozen=True)
class Suppliers:
    """The membership and quality-mark applications, only bundled (no I/O): a handler asks
    them, in a worker thread, when it decides."""

    membership: MembershipApp
    marks: MarksApp

    async def facts(self, commands: Commands, organisation_id: UUID) -> SupplierFacts:
        """What membership says of one organisation now (the clock's time: a member whose grace
        ran out is not in good standing, and a mark past its `valid_until` is not held, whether
        or not the membership or marks clock has ticked since)."""
        return await commands.run(
            supplier_facts, self.membership, self.marks, organisation_id, commands.clock.now()
        )

    async def facts_of(
        self, commands: Commands, organisation_ids: Iterable[UUID]
    ) -> Mapping[UUID, SupplierFacts]:
        """What membership says of each of these organisations now (as `facts`)."""
        return await commands.run(
            facts_of, self.membership, self.marks, organisation_ids, commands.clock.now()
        )


def _suppliers(
    membership: NamedDependency[MembershipApp], marks: NamedDependency[MarksApp]
) -> Suppliers:
    return Suppliers(membership, marks)


SUPPLIERS = Provide(_suppliers, sync_to_thread=False)
