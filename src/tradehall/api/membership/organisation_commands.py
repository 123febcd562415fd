"""The `organisation` dependency: what a command on the organisation the path names takes."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from litestar.di import NamedDependency, Provide
from litestar.params import FromPath

from membership.application import MembershipApp
from membership.domain import Organisation
from sharedkernel.errors import NotFound
from tradehall.api.commands import AggregateCommands, Commands
from tradehall.membership import LOG


@dataclass(frozen=True)
class OrganisationCommands(AggregateCommands):
    """The command plumbing, the membership Application and the organisation's id."""

    membership: MembershipApp
    log = LOG

    @property
    def organisation_id(self) -> UUID:
        return self.aggregate_id

    async def load(self) -> Organisation:
        """The organisation as it stands (404 if there is none)."""
        return await self.commands.run(self.membership.get_organisation, self.aggregate_id)

    async def require_registered(self) -> None:
        """404 unless the organisation is registered (for what is kept beside its events)."""
        if not await self.commands.run(self.membership.is_registered, self.aggregate_id):
            raise NotFound(f"no organisation {self.aggregate_id}")


def _organisation(
    commands: NamedDependency[Commands],
    membership: NamedDependency[MembershipApp],
    organisation_id: FromPath[UUID],
) -> OrganisationCommands:
    return OrganisationCommands(commands, organisation_id, membership)


# A controller's `dependencies`: its routes may then take `organisation`.
ORGANISATION = {"organisation": Provide(_organisation, sync_to_thread=False)}
