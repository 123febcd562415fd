"""The OpenAPI document says what the code enforces; the docs pages and the README keep up.

- Public routes need no token in the document, the others a bearer token.
- Commands that honour If-Match document it; the header's schema is the one `expected_version`
  accepts.
- The password length is identity's; the registration rules (registry identifier, a social
  enterprise's purpose, regions and codes) are the domain's, and the API enforces what the
  document says.
- /schema/swagger loads every script, style and icon from the app itself (no CDN).
- The README's route table names every route of the app.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import jsonschema_rs
import pytest
from litestar import Controller, Litestar, Request, post
from litestar.routes import HTTPRoute

from tests.api.helpers import registration
from tests.conftest import FAST_PASSWORDS, JWT_SECRET, AppClient, running
from tradehall.api.access import PUBLIC, declared_access, rule, staff_only
from tradehall.api.app import OPENAPI_PATH, create_app
from tradehall.api.commands import expected_version
from tradehall.identity.users import MAX_PASSWORD, MIN_PASSWORD
from tradehall.membership.declaration import MEMBERSHIP
from tradehall.settings import Settings

README = Path(__file__).resolve().parents[2] / "README.md"
ORG = "/api/v1/organisations/{organisation_id}"
METHODS = {"get", "post", "put", "patch", "delete"}
# Commands on an organisation that act on a version the client saw: they must say so.
IF_MATCH_COMMANDS = {
    ("post", f"{ORG}/membership/application"),
    ("post", f"{ORG}/membership/application/withdrawal"),
    ("post", f"{ORG}/membership/admission"),
    ("post", f"{ORG}/membership/rejection"),
    ("post", f"{ORG}/membership/turnover"),
    ("post", f"{ORG}/membership/resignation"),
    ("post", f"{ORG}/membership/suspension"),
    ("post", f"{ORG}/membership/reinstatement"),
    ("post", f"{ORG}/membership/expulsion"),
    ("post", f"{ORG}/dues/payments"),
    ("post", f"{ORG}/dues/refunds"),
    ("post", f"{ORG}/dues/credit-notes"),
    ("put", f"{ORG}/profile"),
}


def settings_for(data_dir: Path) -> Settings:
    return Settings(
        environment="embedded",
        database_url=None,
        data_dir=data_dir,
        jwt_secret=JWT_SECRET,
        jwt_lifetime_seconds=900,
        db_pool_size=2,
        max_body_bytes=65536,
        log_level="INFO",
    )


@pytest.fixture
async def docs_client(tmp_path: Path) -> AsyncIterator[AppClient]:
    """An app on the embedded store: the document and its pages do not depend on the store."""
    app = create_app(settings_for(tmp_path / "data"), passwords=FAST_PASSWORDS)
    async with running(app), AppClient(app) as http:
        yield http


@pytest.fixture
async def document(docs_client: AppClient) -> dict[str, Any]:
    response = await docs_client.get(f"{OPENAPI_PATH}/openapi.json")
    assert response.status_code == 200
    spec: dict[str, Any] = response.json()
    return spec


def operations(spec: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method, path): operation
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    }


def openapi_path(litestar_path: str) -> str:
    return re.sub(r"\{(\w+):[^}]+\}", r"{\1}", litestar_path)


def app_routes(app: Litestar) -> dict[tuple[str, str], Any]:
    """(method, path as the document writes it) -> the route's access rule, for our routes."""
    found = {}
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            access = declared_access(handler)
            if access is None:
                continue
            for method in handler.http_methods - {"HEAD", "OPTIONS"}:
                found[(method.lower(), openapi_path(route.path))] = access
    return found


def resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def body_schema(spec: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    schema: dict[str, Any] = operations(spec)[(method, path)]["requestBody"]["content"][
        "application/json"
    ]["schema"]
    return schema


def body_validator(spec: dict[str, Any], method: str, path: str) -> Any:
    """A JSON Schema validator for the operation's request body, refs resolved in the document."""
    schema = {"components": spec["components"], **body_schema(spec, method, path)}
    return jsonschema_rs.Draft202012Validator(schema)


def properties_of(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """The properties of an object schema, through `$ref` and `allOf`."""
    schema = resolve(spec, schema)
    found = dict(schema.get("properties", {}))
    for part in schema.get("allOf", []):
        found = properties_of(spec, part) | found
    return found


# --- security ---------------------------------------------------------------------------------


async def test_public_routes_need_no_token_and_the_others_a_bearer_token(
    docs_client: AppClient, document: dict[str, Any]
) -> None:
    scheme = document["components"]["securitySchemes"]["BearerToken"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "Bearer")
    assert document["security"] == [{"BearerToken": []}]
    rules = app_routes(docs_client.app)
    documented = operations(document)
    assert documented, "no operations in the document"
    for key, operation in documented.items():
        access = rules[key]
        if access.public:
            assert operation.get("security") == [], f"{key}: public, yet asks for a token"
        else:
            # Inherits the document's bearer requirement (or names it itself).
            assert operation.get("security", document["security"]) == [{"BearerToken": []}], key
    public = {key for key, access in rules.items() if access.public}
    assert ("post", "/api/v1/auth/token") in public
    assert ("get", "/api/v1/directory") in public


# --- If-Match ---------------------------------------------------------------------------------


def if_match_of(operation: dict[str, Any]) -> dict[str, Any] | None:
    found = [p for p in operation.get("parameters", []) if p["name"].lower() == "if-match"]
    assert len(found) <= 1
    return found[0] if found else None


async def test_commands_that_honour_if_match_document_it(document: dict[str, Any]) -> None:
    documented = {key for key, op in operations(document).items() if if_match_of(op)}
    assert documented >= IF_MATCH_COMMANDS
    for key in documented:
        operation = operations(document)[key]
        parameter = if_match_of(operation)
        assert parameter is not None
        assert parameter["in"] == "header"
        assert parameter["required"] is False
        assert "409" in operation["responses"], key
        ok = operation["responses"].get("200") or operation["responses"].get("201")
        assert ok["content"]["application/json"]["schema"]["$ref"].endswith("CommandResult"), key
    # The documented form is the one the server accepts, and the weak one it refuses.
    parameter = if_match_of(operations(document)[min(documented)])
    assert parameter is not None
    pattern = re.compile(parameter["schema"]["pattern"])
    assert pattern.search('"3"')
    assert pattern.search("*")
    assert not pattern.search('W/"3"')
    assert not pattern.search("3")


async def test_a_new_command_reading_if_match_is_documented_without_a_list(
    tmp_path: Path,
) -> None:
    """The mechanism, not the list: a handler whose code calls expected_version (even in a
    nested function) documents the header; one that does not, does not."""

    class Probe(Controller):
        path = "/api/v1/probe"

        @post("/reads", opt=rule(staff_only()), status_code=200)
        async def reads(self, request: Request[Any, Any, Any]) -> dict[str, Any]:
            def inner() -> int | None:
                return expected_version(request)

            return {"expected": inner()}

        @post("/ignores", opt=rule(PUBLIC), status_code=200)
        async def ignores(self) -> dict[str, Any]:
            return {}

    probing = replace(MEMBERSHIP, controllers=(*MEMBERSHIP.controllers, Probe))
    app = create_app(settings_for(tmp_path / "data"), contexts=[probing])
    spec = app.openapi_schema.to_schema()
    probe = spec["paths"]
    assert if_match_of(probe["/api/v1/probe/reads"]["post"]) is not None
    assert if_match_of(probe["/api/v1/probe/ignores"]["post"]) is None
    assert probe["/api/v1/probe/ignores"]["post"]["security"] == []
    assert "security" not in probe["/api/v1/probe/reads"]["post"]


# --- what the bodies must hold ----------------------------------------------------------------

NEW_PASSWORD_BODIES = [
    ("post", "/api/v1/organisations", ("user", "password")),
    ("post", "/api/v1/auth/password-reset/confirmation", ("password",)),
    ("post", "/api/v1/invitations/acceptance", ("password",)),
]


@pytest.mark.parametrize(("method", "path", "field"), NEW_PASSWORD_BODIES)
async def test_a_new_password_is_documented_as_identity_checks_it(
    document: dict[str, Any], method: str, path: str, field: tuple[str, ...]
) -> None:
    schema: dict[str, Any] = body_schema(document, method, path)
    for name in field:
        schema = properties_of(document, schema)[name]
    schema = resolve(document, schema)
    assert (schema.get("minLength"), schema.get("maxLength")) == (MIN_PASSWORD, MAX_PASSWORD)


def _without_identifier(**overrides: Any) -> dict[str, Any]:
    body = registration(**overrides)
    del body["registry_identifier"]
    return body


async def test_the_registration_rules_are_documented_and_enforced(
    client: AppClient, document: dict[str, Any]
) -> None:
    """What the document says a registration needs is what the API accepts and refuses."""
    validator = body_validator(document, "post", "/api/v1/organisations")
    business = {"kind": "business", "social_purpose": "", "regions": [], "cpv_codes": []}
    cases = [
        (registration(), True),
        (_without_identifier(), False),  # a CIC is on a public register
        (_without_identifier(legal_form="sole_trader_or_partnership"), True),
        (registration(regions=[]), False),  # a social enterprise names its regions
        (registration(cpv_codes=[]), False),
        (registration(social_purpose=""), False),
        (registration(**business), True),  # a business need not
        (_without_identifier(**business), False),
    ]
    for body, valid in cases:
        assert validator.is_valid(body) is valid, body
        response = await client.post("/api/v1/organisations", json=body)
        assert (response.status_code == 202) is valid, (body, response.text)
        if not valid:
            assert response.status_code in (400, 422), response.text
    registry = properties_of(document, body_schema(document, "post", "/api/v1/organisations"))
    assert "registry_identifier" in registry
    text = str(body_schema(document, "post", "/api/v1/organisations"))
    assert "sole_trader_or_partnership" in text


# --- the docs pages work offline --------------------------------------------------------------


class _Assets(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        for name in ("src", "href"):
            if found.get(name) and tag in {"script", "link", "img"}:
                self.urls.append(str(found[name]))


async def test_the_swagger_page_loads_every_asset_from_the_app(docs_client: AppClient) -> None:
    page = await docs_client.get(f"{OPENAPI_PATH}/swagger")
    assert page.status_code == 200
    parser = _Assets()
    parser.feed(page.text)
    assert len(parser.urls) >= 3  # a script, the preset, the styles (and the icon)
    page_url = str(page.url)
    for url in parser.urls:
        absolute = urljoin(page_url, url)
        assert urlsplit(absolute).netloc == urlsplit(page_url).netloc, f"{url} is off-host"
        asset = await docs_client.get(absolute)
        assert asset.status_code == 200, url
        assert asset.content, url
    assert "swagger-ui-bundle.js" in " ".join(parser.urls)
    # Only Swagger UI is offered: no page that would need a CDN.
    assert (await docs_client.get(f"{OPENAPI_PATH}/scalar")).status_code == 404


async def test_the_docs_routes_are_not_part_of_the_api_document(document: dict[str, Any]) -> None:
    assert not [path for path in document["paths"] if path.startswith(OPENAPI_PATH)]


# --- the README's route table -----------------------------------------------------------------

_ROUTE = re.compile(r"`(GET|POST|PUT|PATCH|DELETE) (/[^`\s?]*)[^`]*`")


def readme_routes() -> set[tuple[str, str]]:
    """Routes named in the first cell of the README's tables: `METHOD /full/path`."""
    found = set()
    for line in README.read_text().splitlines():
        if not line.startswith("| `"):
            continue
        first_cell = line.split("|")[1]
        found |= {(m.lower(), p) for m, p in _ROUTE.findall(first_cell)}
    return found


def test_the_readme_route_table_lists_every_route(tmp_path: Path) -> None:
    app = create_app(settings_for(tmp_path / "data"))
    # The documentation router's routes are described in the README's text, not the table.
    routes = {key for key in app_routes(app) if not key[1].startswith(f"{OPENAPI_PATH}")}
    listed = readme_routes()
    assert sorted(routes - listed) == [], "routes missing from the README's table"
    assert sorted(listed - routes) == [], "the README's table names routes the app lacks"
