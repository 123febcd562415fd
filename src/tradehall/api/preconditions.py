"""If-Match on every command (RFC 9110 §13.1.1: a server that receives If-Match evaluates it
before it performs the method; one it cannot evaluate must not be passed over in silence).

A command acting on one versioned aggregate reads If-Match as the version it expects
(`Commands.expected_version`: a stale one is a 409 and changes nothing). Every other command
(one that makes something new, or changes what has no version a client is shown) refuses a
request that carries one, before anything else is decided: a 412 naming the header. `*` (any
current version) is taken everywhere; a malformed If-Match is the 400 it is everywhere.

Which commands read it is found in their handlers' code (`openapi.honours_if_match`), the very
test by which the OpenAPI document lists the header: the document and the guard cannot differ.
"""

from __future__ import annotations

import weakref
from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.exceptions import HTTPException
from litestar.handlers.base import BaseRouteHandler
from litestar.handlers.http_handlers import HTTPRouteHandler
from litestar.status_codes import HTTP_412_PRECONDITION_FAILED

from tradehall.api.commands import expected_version
from tradehall.api.openapi import honours_if_match

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
