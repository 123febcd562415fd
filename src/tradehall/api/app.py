"""The Litestar app factory."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, fields
from typing import Any

from litestar import Litestar, Request, Router
from litestar.config.app import AppConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.middleware import DefineMiddleware
from litestar.openapi.config import OpenAPIConfig
from litestar.security.jwt import JWTAuth, Token

from tradehall.api.access import PUBLIC, access_guard, declared_access, is_declared, rule
from tradehall.api.commands import Commands
from tradehall.api.health import HealthController
from tradehall.api.identity.accounts import AccountController
from tradehall.api.identity.auth import AuthController, TokenIssuer, user_from_token
from tradehall.api.mail_outbox import MailOutboxController
from tradehall.api.middleware import RequestIdAndAccessLog
from tradehall.api.openapi import OfflineSwaggerRenderPlugin, document_operation
from tradehall.api.operations import OperationsController
from tradehall.api.preconditions import IfMatchOnReads, if_match_guard, refuses_if_match
from tradehall.api.problems import (
    EXCEPTION_HANDLERS,
    READ_PRECONDITION_FAILED,
    document_problems,
)
from tradehall.api.reads import ReadYourWrites
from tradehall.api.request_policy import allow_uploads, request_policy_guard
from tradehall.api.routes import http_handlers
from tradehall.clock import Clock
from tradehall.context import ContextDeclaration, event_logs, followed_logs
from tradehall.identity.parts import Identity
from tradehall.identity.users import Passwords, User
from tradehall.services import Services, build_services
from tradehall.settings import Settings
from tradehall.store import store_from_settings
from tradehall.store.base import Store
from tradehall.store.leases import JobLeases, leases_for

# The controllers every context shares; each context's come from its declaration.
SHARED_CONTROLLERS = [
    HealthController,
    AuthController,
    AccountController,
    OperationsController,
    MailOutboxController,
]
OPENAPI_PATH = "/schema"


def controllers_of(contexts: Sequence[ContextDeclaration]) -> list[Any]:
    """The shared controllers, with each context's after sign-in (the document's order)."""
    health, auth, *rest = SHARED_CONTROLLERS
    return [health, auth, *(c for declared in contexts for c in declared.controllers), *rest]


def _tokens(state: State) -> TokenIssuer:
    tokens: TokenIssuer = state.tokens
    return tokens


def _part(read: Callable[[Services], Any]) -> Provide:
    """A dependency given by name: one part of the container, not the container."""

    def provide(state: State) -> Any:
        return read(state.services)

    return Provide(provide, sync_to_thread=False)


def _commands(request: Request[Any, Any, Any], state: State) -> Commands:
    services: Services = state.services
    return Commands(request, services.clock, services.threads)


def _reads(state: State) -> ReadYourWrites:
    services: Services = state.services
    assert services.readside is not None
    return ReadYourWrites(services.readside.board, frozenset(followed_logs(services.contexts)))


def _identity(services: Services) -> Identity:
    """Identity's parts: each the container's part of the same name."""
    return Identity(**{part.name: getattr(services, part.name) for part in fields(Identity)})


def _application_of(log: str) -> Callable[[Services], Any]:
    def application(services: Services) -> Any:
        return services.applications[log]

    return application


def dependencies_of(contexts: Sequence[ContextDeclaration]) -> dict[str, Provide]:
    """What a handler may ask for by name: each part it uses, and each context's Application
    under its declared name (`membership: NamedDependency[MembershipApp]`)."""
    parts: dict[str, Provide] = {
        "tokens": Provide(_tokens, sync_to_thread=False),
        "commands": Provide(_commands, sync_to_thread=False),
        "reads": Provide(_reads, sync_to_thread=False),
        "settings": _part(lambda services: services.settings),
        "store": _part(lambda services: services.store),
        "clock": _part(lambda services: services.clock),
        "engine": _part(lambda services: services.engine),
        "threads": _part(lambda services: services.threads),
        "users": _part(lambda services: services.users),
        "passwords": _part(lambda services: services.passwords),
        "stripe": _part(lambda services: services.stripe),
        "applications": _part(lambda services: services.event_logs),
        "identity": _part(_identity),
    }
    for declared in contexts:
        parts[declared.dependency] = _part(_application_of(declared.log.name))
        for name, make in declared.dependencies.items():
            parts[name] = _part(make)
    return parts


def undeclared_routes(app: Litestar) -> list[str]:
    """Routes that declare no access rule."""
    return [
        f"{route.path} {sorted(handler.http_methods)}"
        for route, handler in http_handlers(app)
        if not is_declared(handler)
    ]


def _document_problems(app: Litestar) -> None:
    for _, handler in http_handlers(app):
        access = declared_access(handler)
        if access is None:
            continue  # Litestar's own OPTIONS handlers
        statuses = [400, 404, 409, 413, 415, 422, 500, 503]
        if not access.public:
            statuses += [401, 403]
        if refuses_if_match(handler):
            statuses.append(412)
        document_problems(handler, statuses)
        if "GET" in handler.http_methods:  # If-Match on a read (IfMatchOnReads)
            document_problems(handler, [412], READ_PRECONDITION_FAILED)
        document_operation(handler, access)


@dataclass(frozen=True)
class Serving:
    """What one run of the app serves, read by its lifespan each time it starts."""

    settings: Settings
    store: Store
    clock: Clock | None
    passwords: Passwords | None


SERVING = "serving"  # its key in the app's state


def _route_shape(settings: Settings) -> tuple[object, ...]:
    """The settings the app's routes are built with (the rest are read as it starts)."""
    return (settings.jwt_secret, settings.max_body_bytes, settings.evidence_max_bytes)


def create_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    store: Store | None = None,
    passwords: Passwords | None = None,
    contexts: Sequence[ContextDeclaration] | None = None,
) -> Litestar:
    """Build the app. Stores are prepared and services wired when it starts, not before.

    `contexts` defaults to every declared one (`tradehall.contexts.CONTEXTS`)."""
    if contexts is None:
        from tradehall.contexts import CONTEXTS

        contexts = CONTEXTS
    declared = contexts
    jwt_auth = JWTAuth[User, Token](
        retrieve_user_handler=user_from_token,
        token_secret=settings.jwt_secret,
        exclude_opt_key="exclude_from_auth",
    )

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        missing = undeclared_routes(app)
        if missing:
            raise RuntimeError(f"routes without an access rule: {', '.join(missing)}")
        serving: Serving = app.state[SERVING]
        # Whatever this run puts in the state goes with it, so a stopped app starts clean.
        kept = set(app.state)
        services: Services | None = None
        try:
            await asyncio.to_thread(serving.store.prepare_for_serving, event_logs(declared))
            services = build_services(
                serving.settings,
                clock=serving.clock,
                store=serving.store,
                passwords=serving.passwords,
                contexts=declared,
            )
            app.state.services = services
            await services.prepare_data()
            await services.open_read_side_without_projector()
            app.state.tokens = TokenIssuer(jwt_auth, serving.settings.jwt_lifetime_seconds)
            # The projector, clocks and senders: each runs in one process of all that share
            # the store, the one holding its lease (ADR 37); the first try is made before
            # serving.
            services.jobs = JobLeases(
                leases_for(serving.store),
                services.single_instance_jobs(),
                serving.settings.lease_retry_seconds,
            )
            await services.jobs.start()
            yield
        finally:
            # Each step whatever the one before raised: a stopped app holds nothing of its run.
            try:
                if services is not None:
                    try:
                        if services.jobs is not None:
                            await services.jobs.stop()
                    finally:
                        await services.close()
            finally:
                for key in [key for key in app.state if key not in kept]:
                    del app.state[key]

    def configure(app_config: AppConfig) -> AppConfig:
        return jwt_auth.on_app_init(app_config)

    chosen_store = store or store_from_settings(settings.database_url, settings.data_dir)
    app = Litestar(
        route_handlers=controllers_of(declared),
        dependencies=dependencies_of(declared),
        # Who may call it, what the request may hold, then If-Match where the route reads none
        # (all before the body is parsed).
        guards=[access_guard, request_policy_guard, if_match_guard],
        exception_handlers=EXCEPTION_HANDLERS,
        # If-Match on a read is evaluated on the answer the route chose (its ETag; RFC 9110
        # 13.2.1: only where that answer is a 2xx), inside the access log, which logs the 412.
        middleware=[DefineMiddleware(RequestIdAndAccessLog), DefineMiddleware(IfMatchOnReads)],
        lifespan=[lifespan],
        on_app_init=[configure],
        state=State({SERVING: Serving(settings, chosen_store, clock, passwords)}),
        openapi_config=OpenAPIConfig(
            title="Tradehall",
            version="0.1.0",
            description="The trading association's API: membership, marketplace, social value.",
            # Its own router so the documentation routes declare their rule like any other;
            # they are not part of the API, so not in its document.
            openapi_router=Router(
                OPENAPI_PATH, route_handlers=[], opt=rule(PUBLIC), include_in_schema=False
            ),
            # Swagger UI's files are served by the app itself (no CDN: works offline).
            render_plugins=[OfflineSwaggerRenderPlugin(OPENAPI_PATH)],
        ),
        request_max_body_size=settings.max_body_bytes,
        # Logging is ours (tradehall.logging): JSON for every logger, configured by the CLI.
        logging_config=None,
        debug=False,
    )
    allow_uploads(app, settings.evidence_max_bytes)
    _document_problems(app)
    return app


def is_running(app: Litestar) -> bool:
    """Between its start and its stop (its services are in its state only then)."""
    return "services" in app.state


def serve_again(
    app: Litestar,
    settings: Settings,
    *,
    clock: Clock | None = None,
    store: Store | None = None,
    passwords: Passwords | None = None,
) -> Litestar:
    """Point a stopped app at another store, clock and settings for its next start.

    Building the routes is most of what an app costs (~0.5 s for its ~330 handlers, Litestar
    reading every signature); the tests build them once a process and serve each test's
    store with them. Settings the routes were built with may not differ.
    """
    if is_running(app):
        raise RuntimeError("the app is running: stop it before pointing it elsewhere")
    built: Serving = app.state[SERVING]
    if _route_shape(built.settings) != _route_shape(settings):
        raise ValueError("the JWT secret and body limits are built into the routes: build anew")
    chosen_store = store or store_from_settings(settings.database_url, settings.data_dir)
    app.state[SERVING] = Serving(settings, chosen_store, clock, passwords)
    return app


def create_app_from_env() -> Litestar:
    """The app of each worker process `tradehall serve --workers N` starts (uvicorn's import
    string, with `factory=True`): the settings from the environment, every declared context."""
    from tradehall.logging import configure_logging

    settings = Settings.from_env()
    configure_logging(settings.log_level)
    return create_app(settings)
