"""What every request must be before a handler sees it: one guard, for every route.

- Query parameters, string path parameters and the headers we read are held to the text policy
  (sharedkernel.text); a violation is a 400 naming the parameter.
- A route that takes a body takes JSON only (415 otherwise), nested at most `MAX_JSON_DEPTH`
  deep, decoded strictly into its schema: no numbers from strings ("1e3"), no unknown fields,
  no key given twice in one object (parsers disagree on which counts: a proxy or a signature
  check may read the other one), every string checked by the schema's `RequestBody` base.
  Litestar decodes the body again afterwards, leniently; by then it is known to be strictly
  valid, so both agree.
- A route that takes no body refuses one (413), unless it reads its raw body itself
  (`RAW_BODY` in its opt: the Stripe webhook, whose signature covers the exact bytes).
- A route with `UPLOAD_BODY` in its opt takes a raw body of any Content-Type, up to
  `evidence_max_bytes` (ADR 24), which its handler streams (`request.stream()`) and checks
  itself (tradehall.membership.evidence); only such routes have that limit (`allow_uploads`),
  every other route keeps `max_body_bytes`.
"""

from __future__ import annotations

import json
import re
import weakref
from typing import Any

import msgspec
from litestar import Litestar, Request
from litestar.connection import ASGIConnection
from litestar.exceptions import (
    ClientException,
    ImproperlyConfiguredException,
    ValidationException,
)
from litestar.handlers.base import BaseRouteHandler
from litestar.status_codes import (
    HTTP_413_REQUEST_ENTITY_TOO_LARGE,
    HTTP_415_UNSUPPORTED_MEDIA_TYPE,
)

from sharedkernel.text import TextRejected, clean_text
from tradehall.api.routes import http_handlers

RAW_BODY = "raw_body"
UPLOAD_BODY = "upload_body"
MAX_JSON_DEPTH = 32
MAX_PARAMETER_LENGTH = 2000
# Headers a handler reads as text (Authorization is read by the JWT layer, strictly ASCII).
HEADERS_READ = ("if-match", "idempotency-key", "x-request-id", "stripe-signature")
_JSON_MEDIA = re.compile(r"^application/(?:[\w.+-]+\+)?json$")
_CHARSET = re.compile(r"charset\s*=\s*\"?([^\";\s]*)", re.IGNORECASE)
_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = bytes(range(256)).translate(None, b"[]{}")
_AT_PATH = re.compile(r"^(?P<message>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.DOTALL)
# Our text policy's messages name the field first ("`email` contains ..."); msgspec's own
# "missing required field `x`" is named by the problem handler from the object's path.
_NAMED = re.compile(r"^`(?P<field>[^`]+)` (?P<reason>.*)$", re.DOTALL)
_EMPTY_BODIES = {b"", b"{}", b"null"}


def _bad_request(field: str, message: str, source: str) -> ValidationException:
    return ValidationException(
        f"{field}: {message}", extra=[{"key": field, "message": message, "source": source}]
    )


def _printable(name: str) -> str:
    """A parameter's name as it can be shown back (escaped if it holds what the policy refuses)."""
    try:
        return clean_text(name, max_length=200)
    except TextRejected:
        return name.encode("unicode_escape", "backslashreplace").decode("ascii")[:200]


def _check_text(value: str, field: str, source: str) -> None:
    try:
        clean_text(value, max_length=MAX_PARAMETER_LENGTH)
    except TextRejected as rejected:
        raise _bad_request(_printable(field), rejected.reason, source) from None


_INTEGER = re.compile(r"^[+-]?[0-9]{1,18}$")  # not \d: it matches any script's digits
# Weakly keyed: each app has its own copies of the handlers, and a plain dict kept every app
# (and all it holds) alive for as long as the process ran.
_integer_parameters: weakref.WeakKeyDictionary[BaseRouteHandler, frozenset[str]] = (
    weakref.WeakKeyDictionary()
)


def _integers_of(handler: BaseRouteHandler) -> frozenset[str]:
    """The query parameters a handler takes as integers (Litestar would coerce "1e3")."""
    try:
        found = _integer_parameters.get(handler)
    except TypeError:  # a handler that takes no weak reference (Litestar's OPTIONS handlers)
        return _integer_names(handler)
    if found is None:
        found = _integer_parameters[handler] = _integer_names(handler)
    return found


def _integer_names(handler: BaseRouteHandler) -> frozenset[str]:
    """The handler's integer parameters and those of the dependencies it takes (theirs too,
    all the way down): a dependency's query parameter is the route's too."""
    dependencies = handler.resolve_dependencies()
    names: set[str] = set()
    signatures, taken = [handler.parsed_fn_signature], set()
    while signatures:
        for name, field in signatures.pop().parameters.items():
            if name in dependencies:
                if name not in taken:
                    taken.add(name)
                    signatures.append(dependencies[name].parsed_fn_signature)
            elif field.is_subclass_of(int) and not field.is_subclass_of(bool):
                alias = getattr(field.kwarg_definition, "query", None)
                names.add(alias or name)
    return frozenset(names)


def check_parameters(request: Request[Any, Any, Any], handler: BaseRouteHandler) -> None:
    integers = _integers_of(handler)
    for name, value in request.query_params.multi_items():
        _check_text(name, name, "query")
        _check_text(value, name, "query")
        if name in integers and not _INTEGER.match(value):
            raise _bad_request(_printable(name), "not a whole number in decimal digits", "query")
    for name, value in request.path_params.items():
        if isinstance(value, str):
            _check_text(value, name, "path")
    for name in HEADERS_READ:
        value = request.headers.get(name)
        if value is not None:
            _check_text(value, name, "header")


def json_depth(body: bytes) -> int:
    """How deeply arrays and objects nest in a JSON text (strings, which may hold brackets,
    are skipped). Linear, and mostly in C: only the brackets reach the Python loop."""
    brackets = _STRINGS.sub(b"", body).translate(None, _BRACKETS)
    depth = deepest = 0
    for byte in brackets:
        depth += 1 if byte in b"[{" else -1
        deepest = max(deepest, depth)
    return deepest


def _validation_error(error: msgspec.ValidationError) -> ValidationException:
    """msgspec's message as a problem naming the field: "<message> - at `$.a.b`"."""
    matched = _AT_PATH.match(str(error))
    assert matched is not None
    message, path = matched.group("message"), (matched.group("path") or "").lstrip(".")
    named = _NAMED.match(message)
    if named is not None:
        path = f"{path}.{named.group('field')}" if path else named.group("field")
        message = named.group("reason")
    return _bad_request(path or "data", message, "body")


def check_json_body(body: bytes, content_type: str, schema: Any) -> None:
    media, _, parameters = content_type.partition(";")
    media = media.strip().lower()
    if not _JSON_MEDIA.match(media):
        raise ClientException(
            f"send the body as application/json (got {_printable(media) or 'no Content-Type'})",
            status_code=HTTP_415_UNSUPPORTED_MEDIA_TYPE,
        )
    charset = _CHARSET.search(parameters)
    if charset is not None and charset.group(1).lower() not in ("utf-8", "utf8"):
        raise ClientException(
            "JSON is read as UTF-8 only", status_code=HTTP_415_UNSUPPORTED_MEDIA_TYPE
        )
    if json_depth(body) > MAX_JSON_DEPTH:
        raise _bad_request("body", f"nested more than {MAX_JSON_DEPTH} levels deep", "body")
    try:
        msgspec.json.decode(body, type=schema, strict=True)
    except msgspec.ValidationError as error:
        raise _validation_error(error) from None
    except msgspec.DecodeError as error:
        raise _bad_request("body", f"not valid JSON: {error}", "body") from None
    repeated = _repeated_key(body)
    if repeated is not None:
        raise _bad_request(repeated, "given twice in one object: send each key once", "body")


class _RepeatedKey(Exception):
    def __init__(self, key: str) -> None:
        self.key = key


def _unique_pairs(pairs: list[tuple[str, Any]]) -> None:
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            raise _RepeatedKey(key)
        seen.add(key)


def _repeated_key(body: bytes) -> str | None:
    """The first key an object of the body gives twice (escapes decoded: "n\\u0061me" is
    "name"), printable; None when there is none. msgspec has decoded the body already, so it
    is valid JSON within the depth bound; the standard parser is the one that reports pairs."""
    try:
        # Numbers are not converted (a 5,000-digit one would pass Python's int limit).
        json.loads(body, object_pairs_hook=_unique_pairs, parse_int=len, parse_float=len)
    except _RepeatedKey as repeated:
        return _printable(repeated.key) or "body"
    return None


async def request_policy_guard(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    if not isinstance(connection, Request):
        return
    check_parameters(connection, handler)
    if handler.opt.get(RAW_BODY) or handler.opt.get(UPLOAD_BODY):
        return
    data = handler.parsed_fn_signature.parameters.get("data")
    if data is None:
        await _refuse_body(connection)
        return
    content_type = connection.headers.get("content-type", "")
    check_json_body(await connection.body(), content_type, data.annotation)


async def _refuse_body(request: Request[Any, Any, Any]) -> None:
    headers = request.headers
    if headers.get("content-length", "0") == "0" and "transfer-encoding" not in headers:
        return
    if (await request.body()).strip() not in _EMPTY_BODIES:
        raise ClientException(
            "this route takes no request body", status_code=HTTP_413_REQUEST_ENTITY_TOO_LARGE
        )


def allow_uploads(app: Litestar, max_bytes: int) -> None:
    """Give the app's `UPLOAD_BODY` routes their own body limit (Litestar enforces a route's
    `request_max_body_size` as the body streams: an announced larger Content-Length is refused
    before anything is read). Such a route must read its body as a stream: a `data` parameter
    would have Litestar buffer and parse it."""
    for route, handler in http_handlers(app):
        if not handler.opt.get(UPLOAD_BODY):
            continue
        if "data" in handler.parsed_fn_signature.parameters:
            raise ImproperlyConfiguredException(
                f"{route.path}: an {UPLOAD_BODY} route streams its body; it takes no `data`"
            )
        handler.request_max_body_size = max_bytes
