"""A public route limited per client address: a burst, then a pace, then 429 with Retry-After.

The route is a small app's own, sharing the real app's services (engine, clock, settings) on
both stores; each test uses addresses of its own (PostgreSQL's throttle rows are shared by the
run) and moves time with the ManualClock.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from litestar import Litestar, get
from litestar.datastructures import State

from tests.conftest import AppClient
from tradehall.api.problems import EXCEPTION_HANDLERS
from tradehall.api.public_limits import (
    MARK_LOOKUPS,
    PublicLimit,
    limited_per_address,
)
from tradehall.clock import ManualClock

LIMIT = PublicLimit("test-lookups", burst=5, every_seconds=2, max_wait_seconds=30)


# Nothing decays within the test: the wait's growth and bound show.
SLOW = PublicLimit("test-slow", burst=2, every_seconds=600, max_wait_seconds=30)


@get("/thing", guards=[limited_per_address(LIMIT)], sync_to_thread=False)
def thing() -> dict[str, str]:
    return {"status": "ok"}


@get("/slow", guards=[limited_per_address(SLOW)], sync_to_thread=False)
def slow() -> dict[str, str]:
    return {"status": "ok"}


def an_address() -> str:
    return f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"


def limited_app(client: AppClient, trusted_proxy_hops: int = 0) -> Litestar:
    services = client.app.state.services
    shared = SimpleNamespace(
        engine=services.engine,
        clock=services.clock,
        settings=replace(services.settings, trusted_proxy_hops=trusted_proxy_hops),
    )
    return Litestar(
        route_handlers=[thing, slow],
        exception_handlers=EXCEPTION_HANDLERS,
        state=State({"services": shared}),
    )


def from_address(app: Litestar, address: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=(address, 40000)),  # type: ignore[arg-type]
        base_url="http://testserver.local",
    )


def retry_after(response: httpx.Response) -> int:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return int(response.headers["Retry-After"])


async def test_a_burst_passes_then_the_address_waits_and_others_do_not(
    client: AppClient, clock: ManualClock
) -> None:
    app = limited_app(client)
    http = from_address(app, an_address())
    assert [(await http.get("/thing")).status_code for _ in range(5)] == [200] * 5
    assert retry_after(await http.get("/thing")) == 1
    assert retry_after(await http.get("/thing")) == 1  # refused, not counted: no longer wait

    other = from_address(app, an_address())
    assert (await other.get("/thing")).status_code == 200

    clock.advance(timedelta(seconds=1))
    assert (await http.get("/thing")).status_code == 200
    assert retry_after(await http.get("/thing")) == 2  # past the burst, the wait doubles


async def test_a_client_keeping_to_the_pace_is_never_refused(
    client: AppClient, clock: ManualClock
) -> None:
    http = from_address(limited_app(client), an_address())
    for _ in range(40):
        assert (await http.get("/thing")).status_code == 200
        clock.advance(timedelta(seconds=2))


async def test_a_client_following_retry_after_gets_the_pace_and_no_more(
    client: AppClient, clock: ManualClock
) -> None:
    http = from_address(limited_app(client), an_address())
    served, start = 0, clock.now()
    while clock.now() - start < timedelta(seconds=120):
        response = await http.get("/thing")
        if response.status_code == 200:
            served += 1
        else:
            clock.advance(timedelta(seconds=retry_after(response)))
    assert 5 + 55 <= served <= 5 + 61  # the burst, then one per 2 s


async def test_the_wait_doubles_up_to_its_bound_and_the_count_decays(
    client: AppClient, clock: ManualClock
) -> None:
    http = from_address(limited_app(client), an_address())
    assert [(await http.get("/slow")).status_code for _ in range(2)] == [200, 200]
    waits = []
    for _ in range(8):
        waits.append(retry_after(await http.get("/slow")))
        clock.advance(timedelta(seconds=waits[-1]))
        assert (await http.get("/slow")).status_code == 200
    assert waits == [1, 2, 4, 8, 16, 30, 30, 30]
    clock.advance(timedelta(seconds=SLOW.every_seconds * 12))
    assert [(await http.get("/slow")).status_code for _ in range(2)] == [200, 200]


async def test_an_ipv6_client_is_limited_by_its_64(client: AppClient) -> None:
    app = limited_app(client)
    prefix = f"2001:db8:{random.getrandbits(16):x}:{random.getrandbits(16):x}"
    for host in range(1, 6):
        response = await from_address(app, f"{prefix}::{host}").get("/thing")
        assert response.status_code == 200
    assert (await from_address(app, f"{prefix}::ffff").get("/thing")).status_code == 429


@pytest.mark.parametrize("hops", [0, 1])
async def test_forwarded_for_counts_only_behind_a_trusted_proxy(
    client: AppClient, hops: int
) -> None:
    proxy = from_address(limited_app(client, trusted_proxy_hops=hops), an_address())
    statuses = [
        (await proxy.get("/thing", headers={"X-Forwarded-For": an_address()})).status_code
        for _ in range(6)
    ]
    assert statuses == ([200] * 5 + [429] if hops == 0 else [200] * 6)


def test_keys_name_the_route_and_fit_the_table() -> None:
    assert MARK_LOOKUPS.key("192.0.2.7") == "public:marks:address:192.0.2.7"
    assert MARK_LOOKUPS.key("::ffff:192.0.2.7") == "public:marks:address:192.0.2.7"
    assert MARK_LOOKUPS.key("2001:db8::1") == MARK_LOOKUPS.key("2001:db8::ffff:1")
    assert MARK_LOOKUPS.key("2001:db8::1") == "public:marks:address:2001:db8::/64"
    longest = PublicLimit("a" * 20, burst=1, every_seconds=1)
    assert len(longest.key("x" * 500)) <= 100  # throttles.throttle_key is String(100)
    assert longest.key(None).endswith(":address:unknown")


@pytest.mark.parametrize(
    "arguments",
    [
        {"name": "", "burst": 1, "every_seconds": 1},
        {"name": "Marks", "burst": 1, "every_seconds": 1},
        {"name": "a" * 21, "burst": 1, "every_seconds": 1},
        {"name": "marks:x", "burst": 1, "every_seconds": 1},
        {"name": "marks", "burst": 0, "every_seconds": 1},
        {"name": "marks", "burst": 1, "every_seconds": 0},
        {"name": "marks", "burst": 1, "every_seconds": 1, "max_wait_seconds": 0},
    ],
)
def test_a_limit_that_makes_no_sense_is_refused(arguments: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="limit"):
        PublicLimit(**arguments)
