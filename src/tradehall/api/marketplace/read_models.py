"""What the marketplace's projection-backed reads take alike, as dependencies a controller
declares: a read model to query once the caller's own write is in (read-your-writes), and the
page asked for. Both are built from what is injected and the query string alone (no I/O,
nothing that fails), so a handler still does its own checks, in its own order, in its body.

A handler names them after its own parameters (keyword-only where those have defaults): the
OpenAPI document lists a dependency's query parameters where the handler names it, and
`page`, `per_page` and `position` come last."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Concatenate, ParamSpec, TypeVar

from litestar import Response
from litestar.di import NamedDependency, Provide
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from tradehall.api.reads import (
    PageParam,
    PerPageParam,
    PositionParam,
    ReadYourWrites,
    page_response,
    with_consistency,
)

P = ParamSpec("P")
R = TypeVar("R")
Body = TypeVar("Body")


@dataclass(frozen=True)
class ReadModel:
    """One projection's tables, as the `read_model` dependency, for the request's `position`."""

    projection: str
    engine: AsyncEngine
    reads: ReadYourWrites
    position: str | None

    async def consistent(self) -> bool:
        """Wait (bounded) until the projection has applied the caller's write; True if it has."""
        return await self.reads.after(self.projection, self.position)

    async def query(
        self,
        query: Callable[Concatenate[AsyncConnection, P], Awaitable[R]],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> tuple[R, bool]:
        """`query(connection, ...)` once the caller's write is in (or the wait is over), and
        whether it was."""
        consistent = await self.consistent()
        async with self.engine.connect() as connection:
            return await query(connection, *args, **kwargs), consistent


def read_model(projection: str) -> Provide:
    """The `read_model` dependency of a controller whose reads use `projection`'s tables."""

    def provide(
        engine: NamedDependency[AsyncEngine],
        reads: NamedDependency[ReadYourWrites],
        position: PositionParam = None,
    ) -> ReadModel:
        return ReadModel(projection, engine, reads, position)

    return Provide(provide, sync_to_thread=False)


def list_response(
    list_type: Callable[..., Body], items: list[Any], consistent: bool
) -> Response[Body]:
    """A whole list (no paging), saying whether it is consistent (body and header)."""
    return with_consistency(list_type(items=items, consistent=consistent), consistent)


@dataclass(frozen=True)
class Paging:
    """The page a list read asks for, as the `paging` dependency (`page`, `per_page`)."""

    page: int
    per_page: int

    @property
    def limit(self) -> int:
        return self.per_page

    @property
    def offset(self) -> int:
        """How many rows the pages before this one hold."""
        return (self.page - 1) * self.per_page

    def response(
        self, page_type: Callable[..., Body], items: list[Any], total: int, consistent: bool
    ) -> Response[Body]:
        return page_response(page_type, items, total, self.page, self.per_page, consistent)


def _paging(page: PageParam = 1, per_page: PerPageParam = 20) -> Paging:
    return Paging(page, per_page)


PAGING = Provide(_paging, sync_to_thread=False)
