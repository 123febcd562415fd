"""One route builder for the marketplace's commands that end something with only a reason: a
tender's cancel, withdraw and close, a contract's completion and termination, a request for
quote's cancel and close. Each is `POST <the thing's path>/<action>` with a reason body: the
controller's access check first, then the command at the If-Match version. An ending of what
has sealed bids or quotes tells the opening clock nothing: it discards them at the deadline, as
it would have opened them (ADR 27).

A route is named after the controller attribute it is assigned to (`cancel = ...route(...)`):
the operation id is made of that name, and logs, tracebacks and the order Litestar lists a
controller's routes in (the OpenAPI document's) read `<module>.<Controller>.<name>`, as for a
method written in the class."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar, get_type_hints
from uuid import UUID

from litestar import Controller, HttpMethod, Request, Response
from litestar.di import NamedDependency
from litestar.handlers import HTTPRouteHandler
from litestar.params import JSONBody

from marketplace.application import MarketplaceApp
from sharedkernel.writing import Saved
from tradehall.api.access import Access, rule
from tradehall.api.commands import Commands
from tradehall.api.schemas.common import CommandResult
from tradehall.marketplace import LOG


class _Reasoned(Protocol):
    @property
    def reason(self) -> str: ...


Body = TypeVar("Body", bound=_Reasoned)

# The access check a controller's reason routes run first: given the path's id, it answers the
# command's arguments before the reason (the id, and whatever else the command takes).
Check = Callable[[Commands, MarketplaceApp, UUID], Awaitable[tuple[Any, ...]]]


class _ReasonRoute(HTTPRouteHandler):
    """A POST route that takes its name from the controller attribute it is assigned to."""

    def __set_name__(self, owner: type, name: str) -> None:
        fn: Any = self.fn
        fn.__name__ = name
        fn.__qualname__ = f"{owner.__qualname__}.{name}"
        fn.__module__ = owner.__module__
        fn.__code__ = fn.__code__.replace(co_name=name, co_qualname=fn.__qualname__)


@dataclass(frozen=True)
class ReasonRoutes:
    """A controller's reason routes: the path of what they end (its id, `id_name`, a path
    parameter `{<id_name>:uuid}`), who may, the body's type, and the check each runs first."""

    path: str
    id_name: str
    access: Access
    body: type[_Reasoned]
    check: Check

    def route(
        self,
        action: str,
        summary: str,
        command: Callable[..., Saved],
        description: str | None = None,
    ) -> HTTPRouteHandler:
        """`POST <path>/<action>`: the check, then `marketplace.<command>(context, *what the
        check answered, reason)` (`command` is a MarketplaceApp method)."""
        routes = self

        async def handler(
            self: Controller,
            request: Request[Any, Any, Any],
            commands: NamedDependency[Commands],
            marketplace: NamedDependency[MarketplaceApp],
            data: JSONBody[Body],
        ) -> Response[CommandResult]:
            aggregate_id = request.path_params[routes.id_name]
            leading = await routes.check(commands, marketplace, aggregate_id)
            run = getattr(marketplace, command.__name__)
            return await commands.execute(LOG, run, *leading, data.reason)

        # Resolved here, `Body` as this builder's type: the handler moves to the controller's
        # module (__set_name__), where Litestar would otherwise look its annotations' names up.
        handler.__annotations__ = get_type_hints(
            handler, localns={"Body": self.body}, include_extras=True
        )
        return _ReasonRoute(
            f"{self.path}/{action}",
            http_method=HttpMethod.POST,
            opt=rule(self.access),
            status_code=200,
            summary=summary,
            description=description,
        )(handler)
