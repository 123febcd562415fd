"""RFC 9457 problem details for every error, with the offending field named."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import msgspec
import structlog
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from litestar.types import ExceptionHandlersMap

from sharedkernel.errors import Conflict, InvalidValue, NotFound, StaleVersion
from tradehall.api.middleware import logged_path
from tradehall.identity import throttle

PROBLEM_MEDIA_TYPE = "application/problem+json"


class FieldError(msgspec.Struct, kw_only=True):
    field: str
    message: str
    source: str | None = None


class Problem(msgspec.Struct, kw_only=True):
    """RFC 9457 problem details, as every error answers (members beyond these may appear)."""

    type: str
    title: str
    status: int
    detail: str
    instance: str
    errors: list[FieldError] | None = None


_PROBLEM_DESCRIPTIONS = {
    400: "Malformed request: the field or parameter at fault is named in `errors`",
    401: "Not signed in, or the token is invalid or expired",
    403: "Signed in, but not allowed to do this",
    404: "No such thing",
    409: "A stale version (If-Match), a concurrent change, or a state that forbids this",
    412: "If-Match sent to a command that reads none (it names no version): nothing was done",
    413: "The request body is too large, or the route takes none",
    415: "The body is not JSON (send Content-Type: application/json)",
    422: "A well-formed value that breaks a rule, named in `errors`",
    500: "The server failed",
    503: "A store is not answering",
}


# A read's 412 (tradehall.api.preconditions.IfMatchOnReads).
READ_PRECONDITION_FAILED = (
    "If-Match naming a version that is not current (the answer's ETag), or any tag where the "
    "answer has no ETag: nothing else is answered"
)


def document_problems(
    handler: HTTPRouteHandler, statuses: Iterable[int], description: str | None = None
) -> None:
    """Add problem-details responses to a route's OpenAPI entry (Litestar's defaults differ),
    each with its status's description or the one given."""
    documented = dict(handler.responses or {})
    for status in statuses:
        documented.setdefault(
            status,
            ResponseSpec(
                data_container=Problem,
                media_type=PROBLEM_MEDIA_TYPE,
                description=description or _PROBLEM_DESCRIPTIONS[status],
                generate_examples=False,
            ),
        )
    handler.responses = documented


_log = structlog.get_logger("tradehall.api")


def problem(
    request: Request[Any, Any, Any],
    status: int,
    title: str,
    detail: str,
    *,
    type_: str = "about:blank",
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response[dict[str, Any]]:
    body: dict[str, Any] = {
        "type": type_,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
    }
    body.update(extra)
    return Response(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def _invalid_value(request: Request[Any, Any, Any], exc: InvalidValue) -> Response[Any]:
    return problem(
        request,
        422,
        "Invalid value",
        f"{exc.field}: {exc.message}",
        type_="urn:tradehall:problem:invalid-value",
        errors=[{"field": exc.field, "message": exc.message}],
    )


def _not_found(request: Request[Any, Any, Any], exc: NotFound) -> Response[Any]:
    return problem(request, 404, "Not found", exc.message, type_="urn:tradehall:problem:not-found")


def _conflict(request: Request[Any, Any, Any], exc: Conflict) -> Response[Any]:
    extra: dict[str, Any] = {}
    type_ = "urn:tradehall:problem:conflict"
    if isinstance(exc, StaleVersion):
        type_ = "urn:tradehall:problem:stale-version"
        extra = {"expected_version": exc.expected, "current_version": exc.actual}
    return problem(request, 409, "Conflict", exc.message, type_=type_, **extra)


_FIELD_IN_MESSAGE = re.compile(r"(?:missing required|unknown) field `([^`]+)`")


def _field_of(error: dict[str, Any]) -> str:
    """The field a Litestar / msgspec validation error is about, as a dotted path.

    Litestar gives the path of the object at fault ("user", "regions[0]"); for a missing or
    unknown field the message names the field inside it.
    """
    key = str(error.get("key") or "")
    key = "" if key == "data" else key.removeprefix("data.")
    named = _FIELD_IN_MESSAGE.search(str(error.get("message", "")))
    if named:
        return f"{key}.{named.group(1)}" if key else named.group(1)
    return key or "body"


def _validation(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    raw = exc.extra if isinstance(exc.extra, list) else []
    errors = [
        {
            "field": _field_of(item),
            "message": str(item.get("message", "")),
            "source": str(item.get("source", "body")),
        }
        for item in raw
        if isinstance(item, dict)
    ]
    if not errors:
        errors = [{"field": "body", "message": exc.detail, "source": "body"}]
    detail = "; ".join(f"{error['field']}: {error['message']}" for error in errors)
    return problem(
        request,
        400,
        "Bad request",
        detail,
        type_="urn:tradehall:problem:bad-request",
        errors=errors,
    )


def _http(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    headers = dict(exc.headers or {})
    extra = exc.extra if isinstance(exc.extra, dict) else {}
    if exc.status_code == 400 and "errors" not in extra:
        # A body that is not JSON at all: the body is what is at fault.
        extra = extra | {"errors": [{"field": "body", "message": exc.detail, "source": "body"}]}
    if exc.status_code == 401:
        headers.setdefault("WWW-Authenticate", "Bearer")
    return problem(
        request, exc.status_code, _title(exc.status_code), exc.detail, headers=headers, **extra
    )


def _throttled(request: Request[Any, Any, Any], exc: throttle.Throttled) -> Response[Any]:
    """Too many attempts (sign-in, account mail, a public lookup): wait `retry_after` s."""
    return problem(
        request,
        429,
        _title(429),
        "too many attempts; try again later",
        headers={"Retry-After": str(exc.retry_after)},
        retry_after=exc.retry_after,
    )


def _internal(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    # As the access log records it: a quote's path names its supplier and request (sealed).
    _log.exception("unhandled error", path=logged_path(request.url.path)[0])
    return problem(
        request,
        HTTP_500_INTERNAL_SERVER_ERROR,
        "Internal server error",
        "the server failed to handle this request; nothing was recorded unless a response said so",
    )


def _title(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    InvalidValue: _invalid_value,
    NotFound: _not_found,
    Conflict: _conflict,
    ValidationException: _validation,
    HTTPException: _http,
    throttle.Throttled: _throttled,
    Exception: _internal,
}
