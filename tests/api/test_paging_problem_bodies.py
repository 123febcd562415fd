"""A request with several bad query parameters gets one 400 naming every one of them, in the
handler's order, as at 7a43724.

Litestar validates a dependency's own parameters before the handler's: were `page`, `per_page`
or `position` taken through a dependency (as from 0772d0d until the fix), the problem body
would name only the dependency's and lose the handler's errors. They stay in the handlers'
signatures; the marketplace's dependencies take no query parameter.
"""

from __future__ import annotations

import pytest

from tests.conftest import AppClient

Client = AppClient  # type: ignore[type-arg]

TOO_SMALL = "Expected `int` >= 1"
CASES = [
    (
        "/api/v1/listings",
        {"per_page": "0", "price_basis": "bogus"},
        [("price_basis", "Invalid enum value 'bogus'"), ("per_page", TOO_SMALL)],
    ),
    (
        "/api/v1/tenders",
        {"per_page": "0", "status": "bogus"},
        [("status", "Invalid enum value 'bogus'"), ("per_page", TOO_SMALL)],
    ),
    (
        "/api/v1/buyers",
        {"kind": "bogus", "per_page": "0"},
        [("kind", "Invalid enum value 'bogus'"), ("per_page", TOO_SMALL)],
    ),
    (
        "/api/v1/opportunities",
        {"per_page": "0", "open": "maybe"},
        [("open", "Expected `bool | null`, got `str`"), ("per_page", TOO_SMALL)],
    ),
    (
        "/api/v1/ocds/releases",
        {"per_page": "0", "position": "x" * 300},
        [("per_page", TOO_SMALL), ("position", "Expected `str` of length <= 200")],
    ),
]


@pytest.mark.parametrize(("path", "params", "errors"), CASES)
async def test_a_bad_request_names_every_bad_parameter_as_before(
    client: Client, path: str, params: dict[str, str], errors: list[tuple[str, str]]
) -> None:
    response = await client.get(path, params=params)

    assert response.status_code == 400, response.text
    found = [(e["field"], e["message"]) for e in response.json()["errors"]]
    assert found == errors
