"""The dependencies of the quality mark's routes: the application, or the organisation's mark,
that the path names, with the command plumbing and the marks Application (ADR 23).

An application is seen only by its parties: the applicant's users, its assigned assessor and
staff. Anyone else gets the same 404 as for an application that does not exist.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from uuid import UUID

from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotFoundException
from litestar.params import FromPath

from membership.marks.application import MarksApp
from membership.marks.assessment import MarkApplication
from membership.marks.mark import QualityMark
from tradehall.api.commands import AggregateCommands, Commands, current_user
from tradehall.api.ownership import load_or_404
from tradehall.identity.users import Role, User
from tradehall.membership.marks import LOG


def _is_staff(user: User) -> bool:
    return Role.STAFF in user.roles


def _sees(user: User, application: MarkApplication) -> bool:
    return (
        _is_staff(user)
        or user.organisation_id == application.organisation_id
        or user.id == application.assessor_id
    )


def _applicant(user: User, application: MarkApplication) -> bool:
    return user.organisation_id == application.organisation_id


def _not_found(application_id: UUID) -> NotFoundException:
    return NotFoundException(f"no quality mark application {application_id}")


@dataclass(frozen=True)
class MarkApplicationCommands(AggregateCommands):
    """The application the path names, given to a route as `mark_application`."""

    marks: MarksApp
    log = LOG

    async def for_parties(self) -> MarkApplication:
        """The application, if the caller is one of its parties; else 404."""
        return await self._for(_sees)

    async def for_applicant(self) -> MarkApplication:
        """The application, if the caller is one of the applicant's users; else 404."""
        return await self._for(_applicant)

    async def _for(self, allowed: Callable[[User, MarkApplication], bool]) -> MarkApplication:
        user = current_user(self.commands.request)
        application = await load_or_404(
            self.commands, self.marks.get_application, self.aggregate_id, _not_found
        )
        if not allowed(user, application):
            raise _not_found(self.aggregate_id)
        return application


@dataclass(frozen=True)
class MarkCommands(AggregateCommands):
    """The quality mark of the organisation the path names, given as `organisation_mark`."""

    marks: MarksApp
    log = LOG

    async def load(self) -> QualityMark:
        """The organisation's mark (404 if it holds none)."""
        return await self.commands.run(self.marks.get_mark, self.aggregate_id)


def _mark_application(
    commands: NamedDependency[Commands],
    marks: NamedDependency[MarksApp],
    application_id: FromPath[UUID],
) -> MarkApplicationCommands:
    return MarkApplicationCommands(commands, application_id, marks)


def _organisation_mark(
    commands: NamedDependency[Commands],
    marks: NamedDependency[MarksApp],
    organisation_id: FromPath[UUID],
) -> MarkCommands:
    return MarkCommands(commands, organisation_id, marks)


# Controllers' `dependencies`: their routes may then take `mark_application`, `organisation_mark`.
MARK_APPLICATION = {"mark_application": Provide(_mark_application, sync_to_thread=False)}
ORGANISATION_MARK = {"organisation_mark": Provide(_organisation_mark, sync_to_thread=False)}
