"""If-Match on every command (RFC 9110 §13.1.1: a server that receives If-Match evaluates it
before it performs the method; one it cannot evaluate must not be passed over in silence).

A command acting on one versioned aggregate reads If-Match as the version it expects
(`Commands.expected_version`: a stale one is a 409 and changes nothing). Every other command
(one that makes something new, or changes what has no version a client is shown) refuses a
request that carries one, before anything else is decided: a 412 naming the header. `*` (any
current version) is taken everywhere; a malformed If-Match is the 400 it is everywhere.

Which commands read it is found in their handlers' code (`openapi.honours_if_match`), the very
test by which the OpenAPI document lists the header: the document and the guard cannot differ.

A read (GET, HEAD) evaluates it on the answer its route chose (`IfMatchOnReads`): a tag that is
not the answer's ETag is a 412, a refusal is left as it is (RFC 9110 §13.2.1).
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Iterable
from typing import Any

import msgspec
from litestar import Request
from litestar.connection import ASGIConnection
from litestar.enums import ScopeType
from litestar.exceptions import HTTPException
from litestar.handlers.base import BaseRouteHandler
from litestar.handlers.http_handlers import HTTPRouteHandler
from litestar.status_codes import HTTP_412_PRECONDITION_FAILED
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from tradehall.api.commands import expected_version
from tradehall.api.openapi import honours_if_match
from tradehall.api.problems import PROBLEM_MEDIA_TYPE

COMMAND_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
REFUSED = "this command acts on no version a client can name: send it without If-Match"
# Weakly keyed: each app has its own copies of the handlers (as request_policy's).
_refusing: weakref.WeakKeyDictionary[BaseRouteHandler, bool] = weakref.WeakKeyDictionary()


def refuses_if_match(handler: BaseRouteHandler) -> bool:
    """Whether the handler is a command that does not read If-Match."""
    try:
        found = _refusing.get(handler)
    except TypeError:  # a handler that takes no weak reference (Litestar's OPTIONS handlers)
        return False
    if found is None:
        found = _refusing[handler] = (
            isinstance(handler, HTTPRouteHandler)
            and bool(set(handler.http_methods) & COMMAND_METHODS)
            and not honours_if_match(handler)
        )
    return found


def if_match_guard(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    """Refuse If-Match (but `*`) on a command that does not read it: 412, nothing done."""
    if not isinstance(connection, Request):
        return
    header = connection.headers.get("if-match")
    if header is None or header.strip() == "*" or not refuses_if_match(handler):
        return
    expected_version(connection)  # a malformed one: the 400 naming If-Match, as on any route
    raise HTTPException(
        status_code=HTTP_412_PRECONDITION_FAILED,
        detail=f"If-Match: {REFUSED}",
        extra={
            "type": "urn:tradehall:problem:precondition-failed",
            "errors": [{"field": "If-Match", "message": REFUSED, "source": "header"}],
        },
    )


# --- If-Match on reads ------------------------------------------------------------------------

READING_METHODS = frozenset({"GET", "HEAD"})
# RFC 9110 §8.8.3 and §13.1.1: If-Match is `*` or a list of entity tags, `[W/]"etagc*"`.
_ENTITY_TAG = r'(W/)?("[\x21\x23-\x7e\x80-\xff]*")'
_ENTITY_TAGS = re.compile(rf"\s*{_ENTITY_TAG}(\s*,\s*{_ENTITY_TAG})*\s*")
STALE_READ = "names no current version of what this route answers (its ETag)"
NO_VERSION_READ = (
    "this route answers no version (no ETag) a client can name: send it without If-Match"
)


class IfMatchOnReads:
    """If-Match on a GET (or HEAD), evaluated as RFC 9110 §13.1.1 and §13.2.2 ask, after the
    route has chosen its answer: the condition is only evaluated where the answer without it
    would be a 2xx (or the 304 of an If-None-Match), §13.2.1. So a route's refusal (a 404 to
    a stranger asking for a sealed bid, a 403) is exactly what it is without If-Match, and no
    answer to If-Match tells anyone more than the route's own answer does.

    Evaluated there: `*` passes (there is a current representation); the tag the answer's ETag
    gives passes; any other well-formed tag is a 412 naming the header (a route answering no
    ETag has no tag a client can name, so every tag fails: the same 412, as a command that
    takes no version answers); a malformed one is the 400 naming If-Match it is on a command.
    The answer replaced is never sent, not a byte of it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or scope.get("method") not in READING_METHODS:
            await self.app(scope, receive, send)
            return
        header = _header(scope, b"if-match")
        if header is None or header.strip() == "*":
            await self.app(scope, receive, send)
            return
        replaced = False

        async def evaluated(message: Message) -> None:
            nonlocal replaced
            if replaced:
                return  # the body of the answer a refusal replaced
            if message["type"] == "http.response.start":
                status = int(message["status"])
                if 200 <= status < 300 or status == 304:
                    refusal = _refusal(scope, header, _etag(message))
                    if refusal is not None:
                        replaced = True
                        for part in refusal:
                            await send(part)
                        return
            await send(message)

        await self.app(scope, receive, evaluated)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if bytes(key).lower() == name:
            return bytes(value).decode("latin-1")
    return None


def _etag(message: Message) -> str | None:
    headers: Iterable[tuple[bytes, bytes]] = message.get("headers", ())  # type: ignore[assignment]
    for key, value in headers:
        if bytes(key).lower() == b"etag":
            return bytes(value).decode("latin-1")
    return None


def _strong_tags(header: str) -> list[str] | None:
    """The strong tags an If-Match lists (a weak one matches nothing: §8.8.3.2, strong
    comparison), or None if it is not a list of entity tags."""
    if _ENTITY_TAGS.fullmatch(header) is None:
        return None
    return [tag for weak, tag in re.findall(_ENTITY_TAG, header) if not weak]


def _refusal(scope: Scope, header: str, etag: str | None) -> list[Message] | None:
    """The 400 or 412 that replaces the route's answer, or None if the condition holds."""
    sent = _strong_tags(header)
    answered = (etag or "").strip()
    if sent is not None and answered and not answered.startswith("W/") and answered in sent:
        return None
    if sent is None:
        message = 'not a list of entity tags ("…" or W/"…", comma-separated)'
        status, title, kind, detail = 400, "Bad request", "bad-request", f"If-Match: {message}"
        errors = [{"field": "If-Match", "message": message, "source": "header"}]
    else:
        reason = STALE_READ if etag is not None else NO_VERSION_READ
        status, title, kind = 412, "Precondition Failed", "precondition-failed"
        detail = f"If-Match: {reason}"
        errors = [{"field": "If-Match", "message": reason, "source": "header"}]
    body = msgspec.json.encode(
        {
            "type": f"urn:tradehall:problem:{kind}",
            "title": title,
            "status": status,
            "detail": detail,
            "instance": scope["path"],
            "errors": errors,
        }
    )
    headers = [
        (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
    ]
    if scope.get("method") == "HEAD":
        body = b""
    return [
        {"type": "http.response.start", "status": status, "headers": headers},
        {"type": "http.response.body", "body": body, "more_body": False},
    ]
