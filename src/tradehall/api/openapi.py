"""The OpenAPI document says what the code enforces, and its pages work offline.

`document_operation` runs for every route handler when the app is built (app.py):

- A public route says `security: []`; the others keep the document's bearer requirement.
- A command that honours `If-Match` (its handler calls `commands.expected_version`, found in its
  code, so a new command is documented without a list to keep) documents the optional header.
- A request body with a rule across fields carries it as a JSON Schema conditional, derived from
  the domain's own validation (`BODY_RULES`).

The documentation pages load Swagger UI from the app itself (`swagger_ui`), from the files of the
pinned `swagger-ui-py` package: no CDN, so they work offline. Scalar is not served: no package
ships its assets for Python.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cache
from importlib.metadata import version
from inspect import unwrap
from pathlib import Path
from types import CodeType
from typing import Any, ClassVar

from litestar import Router
from litestar.datastructures import CacheControlHeader
from litestar.enums import ParamType
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import (
    OpenAPIMediaType,
    OpenAPIType,
    Operation,
    Parameter,
    Reference,
    RequestBody,
    Schema,
)
from litestar.static_files import create_static_files_router

from membership.details import LegalForm, OrganisationKind, RegistrationDetails
from sharedkernel.errors import InvalidValue
from tradehall.api import commands
from tradehall.api.access import PUBLIC, Access, rule
from tradehall.api.membership.schemas.organisations import RegisterOrganisation

IF_MATCH = Parameter(
    name="If-Match",
    param_in=ParamType.HEADER,
    required=False,
    description=(
        'The version this command expects, as a strong entity tag ("3", as `ETag` and a command '
        "result's `version` give it); a stale one is a 409 and changes nothing. Without it, or "
        "with `*`, the command acts on the current version."
    ),
    schema=Schema(type=OpenAPIType.STRING, pattern=r'^(\*|"\d{1,18}")$'),
)


def honours_if_match(handler: HTTPRouteHandler) -> bool:
    """Whether the handler reads If-Match: its code (or code nested in it) calls
    `commands.expected_version`, or it takes a dependency that reads it (`Commands`, or a
    bundle of it such as `OrganisationCommands`: a type naming its `READS_IF_MATCH` methods)
    and calls one of those methods."""
    fn = unwrap(handler.fn)
    code = getattr(fn, "__code__", None)
    if code is None:
        return False
    name = commands.expected_version.__name__
    if getattr(fn, "__globals__", {}).get(name) is commands.expected_version and _calls(code, name):
        return True
    readers = {
        method
        for parameter in handler.parsed_fn_signature.parameters.values()
        for method in getattr(parameter.annotation, "READS_IF_MATCH", ())
    }
    return any(_calls(code, method) for method in readers)


def _calls(code: CodeType, name: str) -> bool:
    return name in code.co_names or any(
        isinstance(const, CodeType) and _calls(const, name) for const in code.co_consts
    )


def forms_without_registry() -> list[str]:
    """The legal forms that may register without a registry identifier, as the domain decides
    (asked of `RegistrationDetails.parse` itself, so the document cannot drift from it)."""
    optional = []
    for form in LegalForm:
        try:
            RegistrationDetails.parse(
                name="n",
                kind=OrganisationKind.BUSINESS.value,
                legal_form=form.value,
                registry_scheme=None,
                registry_id=None,
                social_purpose="",
                regions=[],
                cpv_codes=[],
            )
        except InvalidValue as error:
            if error.field == "registry_identifier":
                continue
            raise
        optional.append(form.value)
    return optional


def registration_rules() -> list[Schema]:
    """What `RegistrationDetails.parse` asks beyond each field's own type."""
    optional = forms_without_registry()
    return [
        Schema(
            description=(
                "A registry identifier is required unless `legal_form` is "
                f"{' or '.join(f'`{form}`' for form in optional)} (no public register)."
            ),
            schema_if=Schema(
                properties={"legal_form": Schema(enum=optional)}, required=["legal_form"]
            ),
            schema_else=Schema(
                required=["registry_identifier"],
                properties={"registry_identifier": Schema(type=OpenAPIType.OBJECT)},
            ),
        ),
        Schema(
            description=(
                "A social enterprise states its social purpose and names at least one ITL "
                "region it serves and one CPV code it supplies."
            ),
            schema_if=Schema(
                properties={"kind": Schema(const=OrganisationKind.SOCIAL_ENTERPRISE.value)},
                required=["kind"],
            ),
            then=Schema(
                required=["social_purpose", "regions", "cpv_codes"],
                properties={
                    "social_purpose": Schema(type=OpenAPIType.STRING, pattern=r"\S"),
                    "regions": Schema(type=OpenAPIType.ARRAY, min_items=1),
                    "cpv_codes": Schema(type=OpenAPIType.ARRAY, min_items=1),
                },
            ),
        ),
    ]


# Request bodies whose rules span fields: the schema the body must match as well as its type's.
BODY_RULES: dict[type, Callable[[], list[Schema]]] = {RegisterOrganisation: registration_rules}


def _body_type(handler: HTTPRouteHandler) -> Any:
    data = handler.parsed_fn_signature.parameters.get("data")
    return None if data is None else data.annotation


def _with_rules(
    body: RequestBody | Reference | None, rules: list[Schema]
) -> RequestBody | Reference:
    assert isinstance(body, RequestBody), "a body rule for a route without a request body"
    content = {
        media_type: replace(media, schema=Schema(all_of=[media.schema, *rules]))
        if isinstance(media, OpenAPIMediaType) and media.schema is not None
        else media
        for media_type, media in body.content.items()
    }
    return replace(body, content=content)


@dataclass
class _DocumentedOperation(Operation):
    """Litestar builds each operation with the handler's `operation_class`: this one adds what
    `document_operation` found out about the handler."""

    public: ClassVar[bool] = False
    parameters_added: ClassVar[tuple[Parameter, ...]] = ()
    body_rules: ClassVar[list[Schema] | None] = None

    def __post_init__(self) -> None:
        if self.public:
            self.security = []
        if self.parameters_added:
            self.parameters = [*(self.parameters or []), *self.parameters_added]
        if self.body_rules is not None:
            self.request_body = _with_rules(self.request_body, self.body_rules)


def document_operation(handler: HTTPRouteHandler, access: Access) -> None:
    """Make the handler's OpenAPI operation say what its code enforces (see the module's doc)."""
    handler.operation_class = _operation_class(
        access.public, honours_if_match(handler), _body_type(handler)
    )


@cache
def _operation_class(public: bool, if_match: bool, body_type: Any) -> type[Operation]:
    """One operation class for each kind of handler, made once per process (an app is made
    for every test: making a dataclass per handler per app was a tenth of a second each)."""
    rules = BODY_RULES.get(body_type)
    attributes = {
        "public": public,
        "parameters_added": (IF_MATCH,) if if_match else (),
        "body_rules": rules() if rules is not None else None,
    }
    kind = f"{'Public' if public else ''}{'IfMatch' if if_match else ''}"
    return dataclass(type(f"Documented{kind}Operation", (_DocumentedOperation,), attributes))


# --- Swagger UI, served from the app ------------------------------------------------------------

SWAGGER_UI_PACKAGE = "swagger-ui-py"  # pinned in pyproject.toml; ships Swagger UI's dist files


def swagger_ui_directory() -> Path:
    """The installed package's copy of Swagger UI's dist files (found without importing it)."""
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"{SWAGGER_UI_PACKAGE} is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "static"


class OfflineSwaggerRenderPlugin(SwaggerRenderPlugin):
    """Swagger UI whose scripts, styles and icon are served by the app itself, under
    `<openapi path>/swagger-ui/<package version>/` (so a new version is a new address and the
    files can be cached for good)."""

    def __init__(self, openapi_path: str) -> None:
        self.assets_path = f"/swagger-ui/{version(SWAGGER_UI_PACKAGE)}"
        base = f"{openapi_path.rstrip('/')}{self.assets_path}"
        super().__init__(
            js_url=f"{base}/swagger-ui-bundle.js",
            css_url=f"{base}/swagger-ui.css",
            standalone_preset_js_url=f"{base}/swagger-ui-standalone-preset.js",
            favicon=f"<link rel='icon' type='image/png' href='{base}/favicon-32x32.png'>",
        )

    def receive_router(self, router: Router) -> None:
        super().receive_router(router)
        router.register(
            create_static_files_router(
                path=self.assets_path,
                directories=[swagger_ui_directory()],
                name="swagger-ui-assets",
                opt=rule(PUBLIC),
                cache_control=CacheControlHeader(max_age=365 * 24 * 3600, immutable=True),
                include_in_schema=False,
            )
        )
