"""Routes that act on an aggregate for the organisation that owns it: the aggregate loaded, and
the same 404 for anyone else (staff included) as for an id that names nothing, or another kind
of aggregate, so a route never tells whether something exists to those it does not serve."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar
from uuid import UUID

from litestar.exceptions import NotFoundException

from sharedkernel.errors import NotFound
from tradehall.api.commands import Commands, current_user

A = TypeVar("A")


def caller_organisation(commands: Commands) -> UUID | None:
    """The signed-in caller's organisation, if it has one."""
    found = current_user(commands.request).organisation_id
    # A plain UUID: on PostgreSQL the signed-in user's row may give asyncpg's own UUID type,
    # which the event transcoder does not know (when it goes into an event).
    return None if found is None else UUID(str(found))


async def load_or_404(
    commands: Commands,
    load: Callable[[UUID], A],
    aggregate_id: UUID,
    not_found: Callable[[UUID], NotFoundException],
) -> A:
    """`load(aggregate_id)` in a worker thread; `not_found(aggregate_id)` if it finds none."""
    try:
        return await commands.run(load, aggregate_id)
    except NotFound as error:  # none, or the id names another kind of aggregate
        raise not_found(aggregate_id) from error


async def owned_by_caller(
    commands: Commands,
    load: Callable[[UUID], A],
    aggregate_id: UUID,
    owner: Callable[[A], UUID],
    not_found: Callable[[UUID], NotFoundException],
) -> A:
    """The aggregate, if the caller is one of the users of the organisation `owner` names for
    it; else `not_found(aggregate_id)`, as if there were none."""
    organisation_id = caller_organisation(commands)
    aggregate = await load_or_404(commands, load, aggregate_id, not_found)
    if organisation_id is None or organisation_id != owner(aggregate):
        raise not_found(aggregate_id)
    return aggregate
