"""What every command handler does alike: who, which request, when; versions; results."""

from __future__ import annotations

import re
from typing import Any

from litestar import Request
from litestar.exceptions import NotAuthorizedException, ValidationException

from membership.application import Saved
from sharedkernel.events import Context, user_actor
from tradehall.api.middleware import request_id_of
from tradehall.api.schemas.common import CommandResult
from tradehall.identity.users import User
from tradehall.services import Services

_STRONG_ETAG = re.compile(r'^"(\d{1,18})"$')


def current_user(request: Request[Any, Any, Any]) -> User:
    user = request.scope.get("user")
    if not isinstance(user, User):
        raise NotAuthorizedException("sign in first")
    return user


def command_context(request: Request[Any, Any, Any], services: Services) -> Context:
    """The signed-in caller, this request's id and the clock's time."""
    return Context(
        actor=user_actor(current_user(request).id),
        request_id=request_id_of(request.scope),
        at=services.clock.now(),
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


def etag(version: int) -> str:
    return f'"{version}"'


def command_result(saved: Saved, log: str) -> CommandResult:
    position = {log: saved.position} if saved.position is not None else {}
    return CommandResult(id=saved.aggregate_id, version=saved.version, position=position)
