"""The Litestar app factory."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar, Router
from litestar.config.app import AppConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.middleware import DefineMiddleware
from litestar.openapi.config import OpenAPIConfig
from litestar.routes import HTTPRoute
from litestar.security.jwt import JWTAuth, Token

from tradehall.api.access import PUBLIC, access_guard, declared_access, is_declared, rule
from tradehall.api.health import HealthController
from tradehall.api.identity.accounts import AccountController
from tradehall.api.identity.auth import AuthController, TokenIssuer, user_from_token
from tradehall.api.membership.directory import ApplicationsController, DirectoryController
from tradehall.api.membership.dues import DuesController, DuesScheduleController
from tradehall.api.membership.members import MembersExportController
from tradehall.api.membership.membership import MembershipController
from tradehall.api.membership.organisations import OrganisationController, RegistryClaimController
from tradehall.api.membership.payments import StripeDuesController, StripeWebhookController
from tradehall.api.middleware import RequestIdAndAccessLog
from tradehall.api.openapi import OfflineSwaggerRenderPlugin, document_operation
from tradehall.api.operations import OperationsController
from tradehall.api.problems import EXCEPTION_HANDLERS, document_problems
from tradehall.api.request_policy import request_policy_guard
from tradehall.clock import Clock
from tradehall.identity.users import Passwords, User
from tradehall.mail.sender import run_sender
from tradehall.membership.clock_jobs import run_clock
from tradehall.services import Services, build_services
from tradehall.settings import Settings
from tradehall.store import store_from_settings
from tradehall.store.base import Store

CONTROLLERS = [
    HealthController,
    AuthController,
    OrganisationController,
    RegistryClaimController,
    DirectoryController,
    ApplicationsController,
    MembershipController,
    DuesScheduleController,
    DuesController,
    MembersExportController,
    StripeDuesController,
    StripeWebhookController,
    AccountController,
    OperationsController,
]
OPENAPI_PATH = "/schema"


def _services(state: State) -> Services:
    services: Services = state.services
    return services


def _tokens(state: State) -> TokenIssuer:
    tokens: TokenIssuer = state.tokens
    return tokens


def undeclared_routes(app: Litestar) -> list[str]:
    """Routes that declare no access rule."""
    missing = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            if not is_declared(handler):
                missing.append(f"{route.path} {sorted(getattr(handler, 'http_methods', []))}")
    return missing


def _document_problems(app: Litestar) -> None:
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            access = declared_access(handler)
            if access is None:
                continue  # Litestar's own OPTIONS handlers
            statuses = [400, 404, 409, 413, 415, 422, 500, 503]
            if not access.public:
                statuses += [401, 403]
            document_problems(handler, statuses)
            document_operation(handler, access)


def create_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    store: Store | None = None,
    passwords: Passwords | None = None,
) -> Litestar:
    """Build the app. Stores are prepared and services wired when it starts, not before."""
    chosen_store = store or store_from_settings(settings.database_url, settings.data_dir)
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
        await asyncio.to_thread(chosen_store.prepare_for_serving)
        services = build_services(settings, clock=clock, store=chosen_store, passwords=passwords)
        app.state.services = services
        await services.prepare_data()
        await services.open_read_side()
        app.state.tokens = TokenIssuer(jwt_auth, settings.jwt_lifetime_seconds)
        stop_workers = asyncio.Event()
        workers = []
        if settings.clock_interval_seconds:
            workers.append(run_clock(services, settings.clock_interval_seconds, stop_workers))
        smtp = settings.smtp
        if smtp is not None and settings.mail_interval_seconds:
            workers.append(run_sender(services, smtp, stop_workers, settings.mail_interval_seconds))
        tasks = [asyncio.create_task(worker) for worker in workers]
        try:
            yield
        finally:
            stop_workers.set()
            await asyncio.gather(*tasks)
            await services.close()

    def configure(app_config: AppConfig) -> AppConfig:
        return jwt_auth.on_app_init(app_config)

    app = Litestar(
        route_handlers=CONTROLLERS,
        dependencies={
            "services": Provide(_services, sync_to_thread=False),
            "tokens": Provide(_tokens, sync_to_thread=False),
        },
        # Who may call it, then what the request may hold (both before the body is parsed).
        guards=[access_guard, request_policy_guard],
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[DefineMiddleware(RequestIdAndAccessLog)],
        lifespan=[lifespan],
        on_app_init=[configure],
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
    _document_problems(app)
    return app
