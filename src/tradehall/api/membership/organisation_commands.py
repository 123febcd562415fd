"""The `organisation` dependency: what a command on the organisation the path names takes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar
from uuid import UUID

from litestar import Response
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath

from membership.application import MembershipApp
from membership.domain import Organisation
from sharedkernel.errors import NotFound
from tradehall.api.commands import Commands, Saved
from tradehall.api.schemas.common import CommandResult
from tradehall.membership import LOG


@dataclass(frozen=True)
class OrganisationCommands:
    """The command plumbing, the membership Application and the organisation's id, given to a
    route as `organisation`. Pure (it reads nothing), so it is given before the body is checked
    without changing what a bad body gets: access checks stay in the handler."""

    commands: Commands
    membership: MembershipApp
    organisation_id: UUID

    # Like `Commands.READS_IF_MATCH`: the methods the OpenAPI document takes to honour If-Match.
    READS_IF_MATCH: ClassVar[tuple[str, ...]] = ("execute",)

    async def execute(
        self, command: Callable[..., Saved], *args: Any, **kwargs: Any
    ) -> Response[CommandResult]:
        """`command(context, organisation_id, *args, **kwargs)` at the If-Match version, answered
        with the organisation's new version as its ETag."""
        return await self.commands.execute(LOG, command, self.organisation_id, *args, **kwargs)

    async def load(self) -> Organisation:
        """The organisation as it stands (404 if there is none)."""
        return await self.commands.run(self.membership.get_organisation, self.organisation_id)

    async def require_registered(self) -> None:
        """404 unless the organisation is registered (for what is kept beside its events)."""
        if not await self.commands.run(self.membership.is_registered, self.organisation_id):
            raise NotFound(f"no organisation {self.organisation_id}")


def _organisation(
    commands: NamedDependency[Commands],
    membership: NamedDependency[MembershipApp],
    organisation_id: FromPath[UUID],
) -> OrganisationCommands:
    return OrganisationCommands(commands, membership, organisation_id)


# A controller's `dependencies`: its routes may then take `organisation`.
ORGANISATION = {"organisation": Provide(_organisation, sync_to_thread=False)}
