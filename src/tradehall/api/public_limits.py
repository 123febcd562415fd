"""Public routes limited per client address, on the database throttles (docs/adr/0014).

A `PublicLimit` lets each client address make `burst` requests at once and then keep up one
per `every_seconds`; past that it is answered 429 (problem details, `Retry-After`), the wait
doubling from 1 s up to `max_wait_seconds`, and a refused request is not counted. It is
`identity.throttle` with a policy for reads instead of password guesses: one `throttles` row
per route name and address (IPv6 by its /64), shared by every API worker. The address is
`client_address`'s: the TCP peer, or behind `TRUSTED_PROXY_HOPS` proxies the address the
outermost one saw.

Each counted request costs a read and a compare-and-set write of that row; a refused one a
read. Use it where a lookup must not be scraped or guessed at (a certificate number), not on
what pages elsewhere embed (a badge: cache it instead).

On a route: `guards=[limited_per_address(LIMIT)]` and `responses=THROTTLED_RESPONSE`; a limit
read from the settings is given as a function of them (`registrations`).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from sqlalchemy.ext.asyncio import AsyncEngine

from tradehall.api.identity.auth import THROTTLED_RESPONSE, client_address
from tradehall.identity import throttle
from tradehall.settings import Settings

__all__ = [
    "MARK_LOOKUPS",
    "THROTTLED_RESPONSE",
    "PublicLimit",
    "count_public_request",
    "limited_per_address",
    "registrations",
]

_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,19}")
_ADDRESS_PREFIX = "login:"  # throttle.address_key's own; the address part after it is reused


@dataclass(frozen=True)
class PublicLimit:
    """`burst` requests per client address at once, then one per `every_seconds`."""

    name: str
    burst: int
    every_seconds: float
    max_wait_seconds: float = 60.0
    first_wait_seconds: float = 1.0  # past the burst; doubling up to max_wait_seconds

    def __post_init__(self) -> None:
        if not _NAME.fullmatch(self.name):
            raise ValueError("a limit's name is 1-20 of a-z, 0-9 and '-'")
        if self.burst < 1 or self.every_seconds <= 0 or self.max_wait_seconds < 1:
            raise ValueError("a limit allows at least one request and waits at least 1 s")
        if not 0 < self.first_wait_seconds <= self.max_wait_seconds:
            raise ValueError("a limit's first wait is positive and at most its longest")

    @property
    def policy(self) -> throttle.Policy:
        return throttle.Policy(
            free=self.burst,
            base_seconds=self.first_wait_seconds,
            max_seconds=self.max_wait_seconds,
            decay_seconds=self.every_seconds,
        )

    def key(self, host: str | None) -> str:
        """`public:<name>:address:<address>`; the address as sign-in's throttle keys it."""
        return f"public:{self.name}:" + throttle.address_key(host).removeprefix(_ADDRESS_PREFIX)


# A buyer checking a certificate, or a page of them: 30 at once, then one every 2 s.
MARK_LOOKUPS = PublicLimit("marks", burst=30, every_seconds=2, max_wait_seconds=60)


def registrations(settings: Settings) -> PublicLimit:
    """Registrations from one client address (ADRs 8 and 14): as many as
    `REGISTRATIONS_PER_ADDRESS_PER_HOUR` at once, then one per its share of an hour. Past that
    the wait starts at that share and doubles up to an hour; a refused attempt is not counted.
    Each registration asked costs a password hash and a mail: this is how fast one client may
    ask (the recipient's account-mail throttle bounds the mails to one address)."""
    share = 3600 / settings.registrations_per_address_per_hour
    return PublicLimit(
        "registrations",
        burst=settings.registrations_per_address_per_hour,
        every_seconds=share,
        max_wait_seconds=3600,
        first_wait_seconds=share,
    )


async def count_public_request(
    connection: ASGIConnection[Any, Any, Any, Any],
    limit: PublicLimit,
    *,
    engine: AsyncEngine,
    now: datetime,
    trusted_hops: int,
) -> None:
    """Count this request against its client address; over the limit, raise a 429."""
    key = limit.key(client_address(connection, trusted_hops))
    await throttle.count_attempt(engine, key, limit.policy, now)  # over it: Throttled, a 429


Guard = Callable[[ASGIConnection[Any, Any, Any, Any], BaseRouteHandler], Awaitable[None]]


def limited_per_address(limit: PublicLimit | Callable[[Settings], PublicLimit]) -> Guard:
    """A route guard counting each request under `limit` (or the limit the app's settings
    give), before the handler runs (and after the app's access and request-policy guards),
    with the app's engine, clock and settings."""

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        services = connection.app.state.services
        await count_public_request(
            connection,
            limit if isinstance(limit, PublicLimit) else limit(services.settings),
            engine=services.engine,
            now=services.clock.now(),
            trusted_hops=services.settings.trusted_proxy_hops,
        )

    return guard
