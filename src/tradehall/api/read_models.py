"""What the projection-backed reads take alike: a read model, the dependency a
controller declares, to query once the caller's own write is in (read-your-writes), and the
page asked for.

The read model is built from what is injected alone (no query parameter, no I/O, nothing that
fails). The query parameters (`page`, `per_page`, `position`) stay in the handler's signature,
last: Litestar validates a dependency's parameters before the handler's, so a dependency taking
them would answer a request with several bad parameters with a 400 naming only its own."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Concatenate, ParamSpec, TypeVar

from litestar import Response
from litestar.di import NamedDependency, Provide
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from tradehall.api.reads import ReadYourWrites, with_consistency

P = ParamSpec("P")
R = TypeVar("R")
Body = TypeVar("Body")


@dataclass(frozen=True)
class ReadModel:
    """One projection's tables, as the `read_model` dependency; `position` is the request's
    (the handler's `position` query parameter)."""

    projection: str
    engine: AsyncEngine
    reads: ReadYourWrites

    async def consistent(self, position: str | None) -> bool:
        """Wait (bounded) until the projection has applied the caller's write; True if it has."""
        return await self.reads.after(self.projection, position)

    async def query(
        self,
        position: str | None,
        query: Callable[Concatenate[AsyncConnection, P], Awaitable[R]],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> tuple[R, bool]:
        """`query(connection, ...)` once the caller's write is in (or the wait is over), and
        whether it was."""
        consistent = await self.consistent(position)
        async with self.engine.connect() as connection:
            return await query(connection, *args, **kwargs), consistent


def read_model(projection: str) -> Provide:
    """The `read_model` dependency of a controller whose reads use `projection`'s tables."""

    def provide(
        engine: NamedDependency[AsyncEngine], reads: NamedDependency[ReadYourWrites]
    ) -> ReadModel:
        return ReadModel(projection, engine, reads)

    return Provide(provide, sync_to_thread=False)


def list_response(
    list_type: Callable[..., Body], items: list[Any], consistent: bool
) -> Response[Body]:
    """A whole list (no paging), saying whether it is consistent (body and header)."""
    return with_consistency(list_type(items=items, consistent=consistent), consistent)


@dataclass(frozen=True)
class Paging:
    """The page a list read asks for (its handler's `page` and `per_page`)."""

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
        """This page of a read model's rows, saying whether it is consistent (body and header)."""
        body = page_type(
            items=items,
            total=total,
            page=self.page,
            per_page=self.per_page,
            consistent=consistent,
        )
        return with_consistency(body, consistent)
