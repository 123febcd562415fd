"""Every string a client can send is held to one text policy, on every operation, on both stores.

The operations come from the served OpenAPI document, so a new route is covered as it is added:
each string field of its body, each parameter and each header we read is sent in turn with a
NUL and with a bidi override; the answer is a 4xx (a 400 naming the field where the caller may
use the route), and the event logs and tables are as they were.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any
from urllib.parse import quote

import pytest
from litestar import Litestar
from litestar.routes import HTTPRoute

from tests.api.helpers import (
    SignedIn,
    confirm,
    register,
    registration,
    registration_secrets,
    token,
)
from tests.api.openapi_walk import (
    Examples,
    Operation,
    Snapshot,
    dotted,
    operations,
    replaced,
    string_paths,
)
from tests.conftest import AppClient
from tradehall.api.access import Access, declared_access
from tradehall.api.request_policy import HEADERS_READ
from tradehall.store.base import Store

Client = AppClient  # type: ignore[type-arg]
BAD = {"NUL": "ok\u0000ok", "bidi override": "ok\u202eok"}


def access_by_operation(app: Litestar) -> dict[tuple[str, str], Access]:
    rules = {}
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        path = re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path)
        for handler in route.route_handlers:
            access = declared_access(handler)
            for method in handler.http_methods:
                if access is not None:
                    rules[(method.lower(), path)] = access
    return rules


class Caller:
    """Sends an operation as someone allowed to call it, with real ids in its path."""

    def __init__(self, client: Client, staff: SignedIn, member: dict[str, Any]) -> None:
        self.client = client
        self.staff = staff.headers
        self.member = member["headers"]
        self.ids = {
            "organisation_id": member["id"],
            "event_id": "evt_walker",
            "application_id": str(uuid.uuid4()),
            "listing_id": str(uuid.uuid4()),
            "tender_id": str(uuid.uuid4()),
            "clarification_id": str(uuid.uuid4()),
            "bid_id": str(uuid.uuid4()),
            "contract_id": str(uuid.uuid4()),
            "report_id": str(uuid.uuid4()),
            "opportunity_id": str(uuid.uuid4()),
            "search_id": str(uuid.uuid4()),
            "alert_id": str(uuid.uuid4()),
            "request_id": str(uuid.uuid4()),
        }
        self.rules = access_by_operation(client.app)

    def headers(self, operation: Operation) -> dict[str, str]:
        access = self.rules[(operation.method, operation.path)]
        if access.public:
            return {}
        return self.member if access.own_organisation and not access.roles else self.staff

    def url(self, operation: Operation, overrides: dict[str, str] | None = None) -> str:
        values = self.ids | (overrides or {})
        return re.sub(
            r"\{(\w+)\}", lambda m: quote(values.get(m.group(1), "x"), safe=""), operation.path
        )

    async def send(
        self,
        operation: Operation,
        *,
        body: Any = None,
        params: dict[str, str] | None = None,
        path: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        return await self.client.request(
            operation.method.upper(),
            self.url(operation, path),
            json=body,
            params=params,
            headers=self.headers(operation) | (headers or {}),
        )


@pytest.fixture
async def caller(client: Client, staff: SignedIn) -> Caller:
    registered = await register(client)
    registered["headers"] = await token(client, registered["email"])
    return Caller(client, staff, registered)


def refused(response: Any, field: str, what: str) -> str | None:
    """None if the response refuses the value as the policy says; else what is wrong."""
    if not 400 <= response.status_code < 500:
        return f"{what}: {response.status_code} {response.text[:200]}"
    if response.status_code == 400:
        # Items of a list are named by index ("bands[0].code"); the walk names their list.
        named = [re.sub(r"\[\d+\]", "", e["field"]) for e in response.json().get("errors") or []]
        if not any(field == n or field.startswith(f"{n}.") for n in named):
            return f"{what}: 400 names {named}, not {field}"
    return None


# Its snapshot reads every table whole, twice an operation: not the shared database's.
@pytest.mark.own_database
async def test_every_string_of_every_operation_is_held_to_the_text_policy(
    client: Client, store: Store, caller: Caller
) -> None:
    document = (await client.get("/schema/openapi.json")).json()
    examples = Examples(document, caller.ids)
    snapshot = Snapshot(store, client.app.state.services.event_logs)
    failures: list[str] = []
    try:
        for operation in operations(document):
            before = snapshot.take()
            if operation.body_schema is not None:
                body = examples.value(operation.body_schema)
                for at in string_paths(body):
                    for label, bad in BAD.items():
                        response = await caller.send(operation, body=replaced(body, at, bad))
                        what = f"{operation} body {dotted(at) or at} with a {label}"
                        failures.append(refused(response, dotted(at), what) or "")
            for parameter in operation.parameters:
                name, where = parameter["name"], parameter["in"]
                for label, bad in BAD.items():
                    if where == "query":
                        response = await caller.send(operation, params={name: bad})
                    elif where == "path":
                        response = await caller.send(operation, path={name: bad})
                    else:
                        continue  # headers: below, every one we read on every operation
                    what = f"{operation} {where} parameter {name} with a {label}"
                    # A path segment that cannot be its type is simply not found (404).
                    failures.append(refused(response, name, what) or "")
            for header in HEADERS_READ:
                response = await caller.send(operation, headers={header: "ok\x01ok"})
                what = f"{operation} header {header} with a control character"
                failures.append(refused(response, header, what) or "")
            if snapshot.take() != before:
                failures.append(f"{operation}: a refused request changed the stores")
    finally:
        snapshot.close()
    failures = [failure for failure in failures if failure]
    assert not failures, "\n".join(failures)


async def test_the_walk_reaches_every_string_field_of_the_registration(
    client: Client, caller: Caller
) -> None:
    """The walk is only as good as its example bodies: check it finds the fields we know of."""
    document = (await client.get("/schema/openapi.json")).json()
    registration = next(
        op for op in operations(document) if str(op) == "POST /api/v1/organisations"
    )
    body = Examples(document, caller.ids).value(registration.body_schema or {})
    found = {dotted(at) for at in string_paths(body)}
    assert {"name", "social_purpose", "user.email", "user.password", "regions"} <= found
    assert {"registry_identifier.scheme", "registry_identifier.identifier"} <= found


async def test_text_is_stored_in_nfc(client: Client, staff: SignedIn) -> None:
    decomposed = "Cafe\u0301 Co-operative"  # e + combining acute accent
    registered = await register(client, name=decomposed)

    response = await client.get(f"/api/v1/organisations/{registered['id']}", headers=staff.headers)

    assert response.json()["name"] == "Caf\u00e9 Co-operative"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "\u200b\u200b", "blank"),
        ("name", "two\nlines", "line break"),
        ("social_purpose", "Jobs\u2066 hidden\u2069", "bidirectional"),
        # msgspec refuses a lone surrogate escape as it parses, so the body is at fault.
        ("body", "x\ud800", "not valid JSON"),
    ],
)
async def test_each_rule_of_the_policy_names_the_field(
    client: Client, field: str, value: str, message: str
) -> None:
    body = json.dumps(
        registration(**{"name" if field == "body" else field: value})
    )  # \ud800 escaped: not UTF-8 encodable

    response = await client.post(
        "/api/v1/organisations", content=body, headers={"content-type": "application/json"}
    )

    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["field"] == field
    assert message in response.json()["errors"][0]["message"]


async def test_free_text_keeps_line_breaks(client: Client, staff: SignedIn) -> None:
    registered = await register(client, social_purpose="Training\n\tand jobs")

    response = await client.get(f"/api/v1/organisations/{registered['id']}", headers=staff.headers)

    assert response.json()["social_purpose"] == "Training\n\tand jobs"


def twice(body: dict[str, Any]) -> str:
    """The body as JSON with its first key given again, with the same value, first."""
    key, value = next(iter(body.items()))
    return "{" + f"{json.dumps(key)}: {json.dumps(value)}, " + json.dumps(body)[1:]


def number_paths(value: Any, at: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    if isinstance(value, bool):
        return []
    if isinstance(value, int | float):
        return [at]
    if isinstance(value, dict):
        return [p for key, item in value.items() for p in number_paths(item, (*at, key))]
    if isinstance(value, list):
        return [p for index, item in enumerate(value) for p in number_paths(item, (*at, index))]
    return []


# Its snapshot reads every table whole, twice an operation: not the shared database's.
@pytest.mark.own_database
async def test_every_body_is_decoded_strictly_and_bad_bodies_change_nothing(
    client: Client, store: Store, caller: Caller
) -> None:
    """Malformed bodies on every operation: each a 4xx problem, none stored."""
    document = (await client.get("/schema/openapi.json")).json()
    examples = Examples(document, caller.ids)
    snapshot = Snapshot(store, client.app.state.services.event_logs)
    deep = b"[" * 1000 + b"]" * 1000
    json_type = {"content-type": "application/json"}
    failures: list[str] = []

    async def expect(operation: Operation, what: str, statuses: set[int], **kwargs: Any) -> None:
        headers = caller.headers(operation) | kwargs.pop("headers", {})
        response = await client.request(
            operation.method.upper(), caller.url(operation), headers=headers, **kwargs
        )
        if response.status_code not in statuses:
            failures.append(f"{operation} {what}: {response.status_code} {response.text[:200]}")
        elif not response.headers.get("content-type", "").startswith("application/problem+json"):
            failures.append(f"{operation} {what}: not a problem response")

    try:
        for operation in operations(document):
            before = snapshot.take()
            if operation.body_schema is None:
                if operation.method != "get":
                    # The raw-body webhook judges its own body (404 here: Stripe is not set up).
                    await expect(operation, "garbage body", {400, 404, 413}, content=b"x" * 5000)
                else:
                    await expect(operation, "a body on a GET", {413}, content=b"x" * 5000)
            else:
                body = examples.value(operation.body_schema)
                await expect(
                    operation, "deep JSON", {400}, content=b'{"a":' + deep + b"}", headers=json_type
                )
                await expect(operation, "deep JSON alone", {400}, content=deep, headers=json_type)
                await expect(
                    operation, "not UTF-8", {400}, content=b'{"a":"\xff\xfe"}', headers=json_type
                )
                await expect(operation, "not JSON", {400}, content=b"{", headers=json_type)
                await expect(operation, "no content type", {415}, content=json.dumps(body))
                await expect(operation, "form content type", {415}, data={"a": "b"})
                await expect(operation, "a list, not an object", {400}, json=[body])
                await expect(operation, "an unknown field", {400}, json=body | {"zz_extra": 1})
                if body:
                    twice_over = {"content": twice(body), "headers": json_type}
                    await expect(operation, "a key given twice", {400}, **twice_over)
                for at in number_paths(body):
                    value = replaced(body, at, "1e3")
                    await expect(operation, f"{dotted(at)} as a string", {400}, json=value)
            if snapshot.take() != before:
                failures.append(f"{operation}: a refused request changed the stores")
    finally:
        snapshot.close()
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("value", ["1e3", "1.0", "0x10", " 2", "\uff12"])
async def test_whole_numbers_in_the_query_are_decimal_digits_only(
    client: Client, value: str
) -> None:
    response = await client.get("/api/v1/directory", params={"page": value})

    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["field"] == "page"


@pytest.mark.parametrize("value", ["1e1", "1.0"])
@pytest.mark.parametrize(
    "path",
    ["/api/v1/listings", "/api/v1/tenders", "/api/v1/opportunities", "/api/v1/buyers"],
)
@pytest.mark.parametrize("name", ["page", "per_page"])
async def test_the_marketplace_lists_page_numbers_are_decimal_digits_only(
    client: Client, path: str, name: str, value: str
) -> None:
    """`page` and `per_page` of the marketplace's lists (whose reads share the `read_model`
    bundle) are held to decimal digits (Litestar alone would read "1e1" as 10)."""
    response = await client.get(path, params={name: value})

    assert response.status_code == 400, response.text
    assert response.json()["errors"] == [
        {"field": name, "message": "not a whole number in decimal digits", "source": "query"}
    ]


async def test_an_options_request_is_answered_twice_over_and_its_query_checked(
    client: Client,
) -> None:
    """Litestar's own OPTIONS handlers pass through the request policy too (they take no weak
    reference, unlike ours: the policy's cache must not need one)."""
    for _ in range(2):
        allowed = await client.options("/api/v1/directory")
        assert allowed.status_code == 204, allowed.text
        assert "GET" in allowed.headers["allow"]
    refused = await client.options("/api/v1/directory", params={"page": "1\x00"})
    assert refused.status_code == 400, refused.text


@pytest.mark.parametrize(
    ("content_type", "status"),
    [
        ("application/json; charset=utf-8", 202),
        ("application/json; charset=latin-1", 415),
        ("text/plain", 415),
        ("application/merge-patch+json", 202),
    ],
)
async def test_a_body_is_json_in_utf_8(client: Client, content_type: str, status: int) -> None:
    response = await client.post(
        "/api/v1/organisations",
        content=json.dumps(registration()),
        headers={"content-type": content_type},
    )

    assert response.status_code == status, response.text


@pytest.mark.parametrize(
    ("key", "values"),
    [
        ('"name"', ('"First Co-op"', '"Second Co-op"')),
        # The same key, escaped: one key to a parser that decodes it, two to one that does not.
        ('"n\\u0061me"', ('"First Co-op"', '"Second Co-op"')),
        ('"regions"', ('["TLC"]', '["TLD"]')),
    ],
)
async def test_a_key_given_twice_is_refused_naming_it_and_nothing_is_registered(
    client: Client, key: str, values: tuple[str, str]
) -> None:
    """Parsers disagree on which of two values counts (the first, the last, an error): a proxy
    or a signature check in front of us could have read the other one."""
    field = json.loads(key)
    others = json.dumps({k: v for k, v in registration().items() if k != field})[1:-1]
    first, second = values
    content = "{" + f'"{field}": {first}, {others}, {key}: {second}' + "}"

    response = await client.post(
        "/api/v1/organisations", content=content, headers={"content-type": "application/json"}
    )

    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["field"] == field
    assert "twice" in response.json()["errors"][0]["message"]
    once = json.loads(content)
    email = once["user"]["email"]
    # The refused one mailed nothing; once each, the same body is taken and its link records
    # it: the refusal was the repetition alone.
    assert await registration_secrets(client, email) == []
    assert (await client.post("/api/v1/organisations", json=once)).status_code == 202, once
    assert (await confirm(client, email)).status_code == 201
