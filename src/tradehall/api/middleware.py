"""Request ids and the access log, as plain ASGI middleware."""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import structlog
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from tradehall.identity.users import User

REQUEST_ID_HEADER = "x-request-id"
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
_log = structlog.get_logger("tradehall.access")
# Routes whose caller the access log does not name (sealed bids, ADR 27).
SEALED_PATHS = ("/api/v1/bids",)
# A quote's route names its supplier and its request (issue 18): logged without either, and
# without its caller, as a bid route is.
_QUOTE_PATH = re.compile(r"^/api/v1/organisations/[^/]+/quotes(/[^/]+)?")


def logged_path(path: str) -> tuple[str, bool]:
    """The path as the access log records it, and whether its caller is sealed too."""
    if path.startswith(SEALED_PATHS):
        return path, True
    quote = _QUOTE_PATH.match(path)
    if quote is None:
        return path, False
    named = "/api/v1/organisations/{organisation_id}/quotes"
    named += "/{request_id}" if quote.group(1) else ""
    return named + path[quote.end() :], True


def request_id_of(scope: Scope) -> str:
    state: dict[str, Any] = scope.setdefault("state", {})
    return str(state.get("request_id", ""))


class RequestIdAndAccessLog:
    """Gives every request an id (the caller's X-Request-ID if well-formed) and logs it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        supplied = _header(scope, REQUEST_ID_HEADER)
        request_id = supplied if supplied and _VALID_REQUEST_ID.match(supplied) else None
        request_id = request_id or uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((REQUEST_ID_HEADER.encode(), request_id.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            user = scope.get("user")
            path, sealed = logged_path(scope["path"])
            _log.info(
                "request",
                method=scope.get("method", ""),
                path=path,
                status=status,
                duration_ms=round((time.perf_counter() - started) * 1000, 2),
                request_id=request_id,
                # Who called a bid or quote route is itself sealed: that user's organisation
                # bids or quotes.
                user_id=str(user.id) if isinstance(user, User) and not sealed else None,
            )


def _header(scope: Scope, name: str) -> str | None:
    wanted = name.encode()
    for key, value in scope.get("headers", []):
        if key.lower() == wanted:
            return bytes(value).decode("latin-1")
    return None
