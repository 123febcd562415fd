"""Every route's body type holds its strings to the text policy."""

from __future__ import annotations

from litestar.routes import HTTPRoute

from tests.conftest import AppClient
from tradehall.api.schemas.base import RequestBody

Client = AppClient  # type: ignore[type-arg]


async def test_every_request_body_schema_holds_its_text_to_the_policy(client: Client) -> None:
    """Each route's body type checks its strings (RequestBody), and every string is bounded."""
    for route in client.app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            data = handler.parsed_fn_signature.parameters.get("data")
            if data is None:
                continue
            schema = data.annotation
            assert isinstance(schema, type), (route.path, schema)
            assert issubclass(schema, RequestBody), f"{route.path}: make {schema} a RequestBody"
            schema.text_plan()  # raises TypeError for an unbounded string or a plain Struct
