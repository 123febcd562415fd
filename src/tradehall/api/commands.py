"""What every command handler does alike: who, which request, when; versions; results."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, TypeVar
from uuid import UUID

from litestar import Request, Response
from litestar.exceptions import NotAuthorizedException, ValidationException

from sharedkernel.events import Context, user_actor
from tradehall.api.middleware import request_id_of
from tradehall.api.schemas.common import CommandResult
from tradehall.clock import Clock
from tradehall.context import EventLog
from tradehall.identity.users import User
from tradehall.services import Threads

T = TypeVar("T")


class Saved(Protocol):
    """What an Application's command returns: the aggregate, its version, the log position."""

    @property
    def aggregate_id(self) -> Any: ...
    @property
    def version(self) -> int: ...
    @property
    def position(self) -> int | None: ...


_STRONG_ETAG = re.compile(r'^"(\d{1,18})"$')
_IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9._:-]{8,100}$")


def current_user(request: Request[Any, Any, Any]) -> User:
    user = request.scope.get("user")
    if not isinstance(user, User):
        raise NotAuthorizedException("sign in first")
    return user


class _HasClock(Protocol):
    @property
    def clock(self) -> Clock: ...


def command_context(request: Request[Any, Any, Any], clock: Clock | _HasClock) -> Context:
    """The signed-in caller, this request's id and the clock's time (`clock`, or the clock of
    what is given: the container, for the controllers not yet given `commands`)."""
    source: Any = getattr(clock, "clock", clock)
    now = source.now()
    return Context(
        actor=user_actor(current_user(request).id), request_id=request_id_of(request.scope), at=now
    )


def expected_version(request: Request[Any, Any, Any]) -> int | None:
    """The version the caller last saw (If-Match), or None to act on the current one."""
    header = request.headers.get("if-match")
    if header is None or header.strip() == "*":
        return None
    match = _STRONG_ETAG.match(header.strip())
    if match is None:
        # If-Match compares strongly (RFC 9110 13.1.1): a weak tag W/"3" never matches.
        raise ValidationException(
            'If-Match must be a strong entity tag such as "3", as the ETag header gives it',
            extra=[{"key": "If-Match", "message": "not a strong entity tag", "source": "header"}],
        )
    return int(match.group(1))


def is_version_tag(header: str) -> bool:
    """Whether an If-Match is one strong entity tag naming a version (as `expected_version`
    reads it; `*` aside)."""
    return _STRONG_ETAG.match(header.strip()) is not None


def idempotency_key(request: Request[Any, Any, Any]) -> str | None:
    """The client's `Idempotency-Key`, if it sent one: the same request twice records once."""
    key = request.headers.get("idempotency-key")
    if key is None:
        return None
    if not _IDEMPOTENCY_KEY.match(key):
        raise ValidationException(
            "Idempotency-Key must be 8-100 letters, digits or . _ : -",
            extra=[{"key": "Idempotency-Key", "message": "not a usable key", "source": "header"}],
        )
    return key


def etag(version: int) -> str:
    return f'"{version}"'


def command_result(saved: Saved, log: EventLog | str) -> CommandResult:
    """`{id, version, position}`; a sealed log's commands carry no position (nothing follows
    it, so there is nothing to read after)."""
    event_log = EventLog(log) if isinstance(log, str) else log
    position = event_log.position_of(saved.position)
    return CommandResult(id=saved.aggregate_id, version=saved.version, position=position)


def command_response(
    saved: Saved, log: EventLog, status_code: int = 200
) -> Response[CommandResult]:
    """The command's result with the aggregate's new version as its ETag."""
    return Response(
        command_result(saved, log), status_code=status_code, headers={"ETag": etag(saved.version)}
    )


@dataclass(frozen=True)
class Commands:
    """A command handler's plumbing, given to controllers as the `commands` dependency: the
    command's context (caller, request id, the clock's time), `If-Match`, the worker threads
    the synchronous Applications run in, and the response. A command route is then one line:

        return await commands.execute(LOG, marketplace.activate_tender, tender_id)

    (A route on the one aggregate its path names may take a bundle of this, its Application and
    the id instead: an `AggregateCommands`.)
    """

    request: Request[Any, Any, Any]
    clock: Clock
    threads: Threads

    # The methods that honour If-Match: the OpenAPI document finds them in a handler's code.
    READS_IF_MATCH: ClassVar[tuple[str, ...]] = ("expected_version", "save", "execute")

    def context(self) -> Context:
        return command_context(self.request, self.clock)

    def expected_version(self) -> int | None:
        return expected_version(self.request)

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Synchronous work (an Application's query, say) in a worker thread."""
        return await self.threads.run(fn, *args, **kwargs)

    async def save(
        self, command: Callable[..., T], *args: Any, context: Context | None = None, **kwargs: Any
    ) -> T:
        """`command(context, *args, **kwargs, expected_version=If-Match)` in a worker thread
        (`context` given: the caller's with another effective time, say)."""
        kwargs["expected_version"] = self.expected_version()
        return await self.record(command, *args, context=context, **kwargs)

    async def record(
        self, command: Callable[..., T], *args: Any, context: Context | None = None, **kwargs: Any
    ) -> T:
        """`command(context, *args, **kwargs)` in a worker thread: a command that takes no
        expected version (one that acts on no single aggregate's version)."""
        return await self.threads.run(command, context or self.context(), *args, **kwargs)

    async def execute(
        self,
        log: EventLog,
        command: Callable[..., Saved],
        *args: Any,
        status_code: int = 200,
        **kwargs: Any,
    ) -> Response[CommandResult]:
        """Save, then answer the result with its ETag."""
        saved = await self.save(command, *args, **kwargs)
        return command_response(saved, log, status_code)


@dataclass(frozen=True)
class AggregateCommands:
    """The commands on the one aggregate a route's path names: the base of a dependency that
    bundles them with the aggregate's Application (`OrganisationCommands`, say), so a route takes
    one parameter, not three. Such a dependency is pure (it reads nothing): it is given before
    the body is checked without changing what a bad body gets, and access checks stay in the
    handler."""

    commands: Commands
    aggregate_id: UUID

    log: ClassVar[EventLog]  # the log the aggregate is recorded in (each subclass's)
    # Like `Commands.READS_IF_MATCH`: the methods the OpenAPI document takes to honour If-Match.
    READS_IF_MATCH: ClassVar[tuple[str, ...]] = ("execute",)

    async def execute(
        self, command: Callable[..., Saved], *args: Any, **kwargs: Any
    ) -> Response[CommandResult]:
        """`command(context, aggregate_id, *args, **kwargs)` at the If-Match version, answered
        with the aggregate's new version as its ETag."""
        return await self.commands.execute(self.log, command, self.aggregate_id, *args, **kwargs)
