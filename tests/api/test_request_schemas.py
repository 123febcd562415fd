"""Every route's body type holds its strings to the text policy."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar.routes import HTTPRoute

from tests.conftest import AppClient
from tradehall.api.schemas.base import RequestBody

Client = AppClient  # type: ignore[type-arg]
Short = Annotated[str, msgspec.Meta(max_length=20)]


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


def test_strings_inside_unions_lists_and_dicts_are_checked() -> None:
    """The shapes a future schema may take: optional lists, unions with numbers, mappings."""
    import pytest

    from tradehall.api.schemas.base import InvalidText

    class Shapes(RequestBody):  # module-level names: msgspec resolves annotations there
        tags: list[Short] | None = None
        either: int | Short = 0
        labels: dict[Short, Short] = msgspec.field(default_factory=dict)

    assert msgspec.convert({"tags": ["e\u0301"]}, Shapes).tags == ["\u00e9"]
    assert msgspec.convert({"either": 3}, Shapes).either == 3
    for bad in ({"tags": ["x\u0000"]}, {"either": "a\u202e"}, {"labels": {"k\u0000": "v"}}):
        with pytest.raises(msgspec.ValidationError, match="control character"):
            msgspec.convert(bad, Shapes)
    assert issubclass(InvalidText, ValueError)
