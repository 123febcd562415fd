"""Sign-in and account-mail throttles: kept in the database, per account, address and recipient.

Every test signs in from addresses of its own (PostgreSQL's database is shared by the run, and
so are its throttle rows), and moves time with the ManualClock, never by sleeping.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from litestar import Litestar
from sqlalchemy import func, select

from tests.api.helpers import PASSWORD, register, services_of, statements_of
from tests.conftest import FAST_PASSWORDS, JWT_SECRET, AppClient, running
from tradehall.api.app import create_app
from tradehall.clock import ManualClock
from tradehall.mail.tables import outbox_messages
from tradehall.settings import Settings
from tradehall.store.base import Store
from tradehall.store.postgres import PostgresStore

TOKEN = "/api/v1/auth/token"
RESET = "/api/v1/auth/password-reset"


def an_address() -> str:
    return f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"


def from_address(app: Litestar, address: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=(address, 40000)),  # type: ignore[arg-type]
        base_url="http://testserver.local",
    )


async def sign_in(http: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await http.post(TOKEN, json={"email": email, "password": password})


def assert_throttled(response: httpx.Response, retry_after: int | None = None) -> int:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["status"] == 429
    waited = int(response.headers["Retry-After"])
    assert waited >= 1
    if retry_after is not None:
        assert waited == retry_after
    return waited


async def test_failures_on_an_account_make_it_wait_longer_each_time_up_to_a_bound(
    client: AppClient, clock: ManualClock
) -> None:
    org = await register(client)
    http = from_address(client.app, an_address())
    for _ in range(5):
        assert (await sign_in(http, org["email"], "not the password")).status_code == 401

    # Throttled now, the right password included: it is not even checked.
    assert_throttled(await sign_in(http, org["email"], "not the password"), 1)
    assert_throttled(await sign_in(http, org["email"], PASSWORD), 1)

    waits: list[int] = []
    for _ in range(12):
        clock.advance(timedelta(seconds=int(waits[-1] if waits else 1)))
        assert (await sign_in(http, org["email"], "not the password")).status_code == 401
        waits.append(assert_throttled(await sign_in(http, org["email"], PASSWORD)))

    assert waits[:5] == [2, 4, 8, 16, 32]
    assert max(waits) == services_of(client).settings.login_max_delay_seconds == 300


async def test_the_account_throttle_holds_for_every_address_and_a_success_resets_it(
    client: AppClient, clock: ManualClock
) -> None:
    org = await register(client)
    for _ in range(5):  # each from another address
        wrong = await sign_in(from_address(client.app, an_address()), org["email"], "wrong one!")
        assert wrong.status_code == 401

    assert_throttled(await sign_in(from_address(client.app, an_address()), org["email"], PASSWORD))

    clock.advance(timedelta(seconds=1))
    http = from_address(client.app, an_address())
    assert (await sign_in(http, org["email"], PASSWORD)).status_code == 200
    # Reset: five failures again before any wait.
    for _ in range(5):
        assert (await sign_in(http, org["email"], "not the password")).status_code == 401
    assert_throttled(await sign_in(http, org["email"], "not the password"))


async def test_unknown_accounts_are_throttled_alike(client: AppClient) -> None:
    http = from_address(client.app, an_address())
    nobody = f"nobody-{uuid.uuid4().hex[:8]}@example.org"
    answers = [(await sign_in(http, nobody, "whatever123")).status_code for _ in range(6)]
    assert answers == [401] * 5 + [429]


async def test_one_address_trying_many_accounts_is_throttled(
    client: AppClient, clock: ManualClock
) -> None:
    org = await register(client)
    address = an_address()
    http = from_address(client.app, address)
    for _ in range(20):
        stranger = f"someone-{uuid.uuid4().hex[:8]}@example.org"
        assert (await sign_in(http, stranger, "guess guess")).status_code == 401

    # Every account from this address waits, even one never tried; other addresses do not.
    assert_throttled(await sign_in(http, org["email"], PASSWORD), 1)
    other = from_address(client.app, an_address())
    assert (await sign_in(other, org["email"], PASSWORD)).status_code == 200
    clock.advance(timedelta(seconds=1))
    assert (await sign_in(http, org["email"], PASSWORD)).status_code == 200


async def test_right_passwords_from_a_shared_address_use_up_nothing(client: AppClient) -> None:
    http = from_address(client.app, an_address())
    colleagues = [await register(client) for _ in range(3)]
    for _ in range(8):
        for colleague in colleagues:
            assert (await sign_in(http, colleague["email"], PASSWORD)).status_code == 200


async def test_failures_are_forgotten_over_time(client: AppClient, clock: ManualClock) -> None:
    org = await register(client)
    http = from_address(client.app, an_address())
    for _ in range(5):
        await sign_in(http, org["email"], "not the password")
    clock.advance(timedelta(seconds=1))
    await sign_in(http, org["email"], "not the password")
    assert_throttled(await sign_in(http, org["email"], PASSWORD), 2)

    # Six failures, one forgotten per decay period: after six periods none is left.
    decay = services_of(client).settings.throttle_decay_seconds
    clock.advance(timedelta(seconds=6 * decay))
    for _ in range(5):
        assert (await sign_in(http, org["email"], "not the password")).status_code == 401
    assert_throttled(await sign_in(http, org["email"], PASSWORD), 1)


async def test_a_burst_of_concurrent_guesses_gets_no_more_than_the_free_attempts(
    client: AppClient,
) -> None:
    import asyncio

    org = await register(client)
    http = from_address(client.app, an_address())
    answers = await asyncio.gather(
        *(sign_in(http, org["email"], f"guess number {n}") for n in range(30))
    )
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses.count(401) == 5
    assert statuses.count(429) == 25


async def test_forwarded_for_counts_only_when_a_setting_trusts_a_proxy(
    settings: Settings, store: Store, clock: ManualClock
) -> None:
    org_email = None
    for hops in (0, 1):
        app = create_app(
            replace(settings, trusted_proxy_hops=hops),
            clock=clock,
            store=store,
            passwords=FAST_PASSWORDS,
        )
        async with running(app), AppClient(app) as client:
            if org_email is None:
                org_email = (await register(client))["email"]
            proxy = from_address(app, an_address())
            statuses = []
            for _ in range(21):
                # A client claiming another address each time.
                forged = {"X-Forwarded-For": f"{an_address()}"}
                stranger = f"someone-{uuid.uuid4().hex[:8]}@example.org"
                response = await proxy.post(
                    TOKEN, json={"email": stranger, "password": "guess guess"}, headers=forged
                )
                statuses.append(response.status_code)
            if hops == 0:
                # The header is ignored: all 21 come from the proxy's (the peer's) address.
                assert statuses[-1] == 429
            else:
                # Behind a trusted proxy each forwarded address is a client of its own.
                assert set(statuses) == {401}
            clock.advance(timedelta(hours=2))


async def test_two_api_workers_share_one_throttle(
    postgres_url: str, tmp_path: Path, clock: ManualClock
) -> None:
    store = PostgresStore(postgres_url)
    shared = Settings(
        environment="embedded",
        database_url=postgres_url,
        data_dir=tmp_path / "data",
        jwt_secret=JWT_SECRET,
        jwt_lifetime_seconds=900,
        db_pool_size=4,
        max_body_bytes=65536,
        log_level="INFO",
        run_projections=False,
        clock_interval_seconds=0,
    )

    @asynccontextmanager
    async def worker() -> AsyncIterator[Litestar]:
        app = create_app(shared, clock=clock, store=store, passwords=FAST_PASSWORDS)
        async with running(app):
            yield app

    async with worker() as first, worker() as second:
        async with AppClient(first) as client:
            org = await register(client)
        address = an_address()
        one, two = from_address(first, address), from_address(second, address)
        for http in (one, two, one, two, one):
            assert (await sign_in(http, org["email"], "not the password")).status_code == 401
        assert_throttled(await sign_in(two, org["email"], PASSWORD), 1)
        assert_throttled(await sign_in(one, org["email"], PASSWORD), 1)
        clock.advance(timedelta(seconds=1))
        assert (await sign_in(two, org["email"], PASSWORD)).status_code == 200


async def test_reset_mails_to_one_address_are_throttled(
    client: AppClient, clock: ManualClock
) -> None:
    org = await register(client)

    async def mails() -> int:
        async with services_of(client).engine.connect() as connection:
            return int(
                (
                    await connection.execute(
                        select(func.count())
                        .select_from(outbox_messages)
                        .where(
                            outbox_messages.c.recipient == org["email"],
                            outbox_messages.c.template == "account_reset",
                        )
                    )
                ).scalar_one()
            )

    answers = [
        (await client.post(RESET, json={"email": org["email"]})).status_code for _ in range(20)
    ]

    assert answers == [202] * 3 + [429] * 17
    assert await mails() == 3
    clock.advance(timedelta(seconds=60))
    assert (await client.post(RESET, json={"email": org["email"]})).status_code == 202
    assert_throttled(await client.post(RESET, json={"email": org["email"]}), 120)
    assert await mails() == 4


async def test_verification_mails_share_the_address_throttle(
    client: AppClient, clock: ManualClock
) -> None:
    org = await register(client)
    signed_in = await sign_in(client, org["email"], PASSWORD)
    headers = {"Authorization": f"Bearer {signed_in.json()['access_token']}"}
    answers = [
        (await client.post("/api/v1/auth/verification", headers=headers)).status_code
        for _ in range(5)
    ]
    assert answers == [202, 202, 202, 429, 429]
    assert_throttled(await client.post(RESET, json={"email": org["email"]}))


async def test_a_reset_request_does_the_same_work_whether_or_not_the_address_exists(
    client: AppClient,
) -> None:
    org = await register(client)

    async def statements_for(email: str) -> list[str]:
        async def send() -> None:
            response = await client.post(RESET, json={"email": email})
            assert response.status_code == 202, response.text

        return await statements_of(client, send)

    known = await statements_for(org["email"])
    unknown = await statements_for(f"nobody-{uuid.uuid4().hex[:8]}@example.org")

    assert known == unknown
    assert any("INSERT INTO account_tokens" in statement for statement in known)
    assert any("INSERT INTO outbox_messages" in statement for statement in known)


@pytest.mark.parametrize("route", [TOKEN, RESET])
async def test_the_throttled_answer_is_documented(client: AppClient, route: str) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    responses = schema["paths"][route]["post"]["responses"]
    assert "429" in responses
    assert "Retry-After" in responses["429"]["description"]


async def test_the_clock_tick_forgets_decayed_throttles(
    client: AppClient, clock: ManualClock
) -> None:
    from tradehall.identity import throttle
    from tradehall.identity.tables import throttles
    from tradehall.membership.clock_jobs import clock_tick

    address = an_address()
    http = from_address(client.app, address)
    nobody = f"nobody-{uuid.uuid4().hex[:8]}@example.org"
    for _ in range(3):
        await sign_in(http, nobody, "whatever123")
    keys = [throttle.address_key(address), throttle.account_key(nobody)]

    async def remaining() -> int:
        async with services_of(client).engine.connect() as connection:
            query = select(func.count()).where(throttles.c.throttle_key.in_(keys))
            return int((await connection.execute(query)).scalar_one())

    services = services_of(client)
    await clock_tick(services)
    assert await remaining() == 2
    clock.advance(
        timedelta(seconds=throttle.MAX_COUNTED * services.settings.throttle_decay_seconds)
    )
    clock.advance(timedelta(seconds=1))
    await clock_tick(services)
    assert await remaining() == 0
