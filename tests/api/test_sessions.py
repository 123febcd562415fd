"""Sign-in sessions: rotating refresh tokens, reuse detection, logout, and tokens that stop at
once when the password is reset, the user disabled or a role removed."""

from __future__ import annotations

import unicodedata
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest
from argon2 import PasswordHasher
from sqlalchemy import delete, select, update

from tests.api.conftest import Mailbox, add_user
from tests.api.helpers import PASSWORD, register, services_of
from tests.api.test_accounts import mail_to, token_in
from tests.conftest import JWT_SECRET, AppClient
from tradehall.clock import ManualClock
from tradehall.identity.sessions import disable_user, enable_user, set_roles
from tradehall.identity.tables import users
from tradehall.identity.users import Role
from tradehall.store.base import Store

TOKEN, REFRESH, LOGOUT = "/api/v1/auth/token", "/api/v1/auth/token/refresh", "/api/v1/auth/logout"
ME = "/api/v1/auth/me"


async def sign_in(client: AppClient, email: str, password: str = PASSWORD) -> dict[str, Any]:
    response = await client.post(TOKEN, json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    pair: dict[str, Any] = response.json()
    return pair


def bearer(pair: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {pair['access_token']}"}


async def refresh(client: AppClient, refresh_token: str) -> httpx.Response:
    return await client.post(REFRESH, json={"refresh_token": refresh_token})


async def me(client: AppClient, pair_or_headers: dict[str, Any]) -> int:
    headers = pair_or_headers if "Authorization" in pair_or_headers else bearer(pair_or_headers)
    return (await client.get(ME, headers=headers)).status_code


def with_sync_connection(store: Store, work: Any) -> None:
    engine = store.sync_engine()
    try:
        with engine.begin() as connection:
            work(connection)
    finally:
        engine.dispose()


async def test_sign_in_answers_an_access_and_a_refresh_token(client: AppClient) -> None:
    org = await register(client)
    pair = await sign_in(client, org["email"])
    assert pair["token_type"] == "bearer"
    assert pair["expires_in"] == 900
    assert pair["refresh_expires_in"] == services_of(client).settings.refresh_lifetime_seconds
    assert pair["refresh_token"]
    assert pair["refresh_token"] != pair["access_token"]
    assert await me(client, pair) == 200


async def test_a_refresh_token_rotates_on_use(client: AppClient) -> None:
    org = await register(client)
    first = await sign_in(client, org["email"])
    second = await refresh(client, first["refresh_token"])
    assert second.status_code == 200, second.text
    third = await refresh(client, second.json()["refresh_token"])
    assert third.status_code == 200, third.text
    assert len({first["refresh_token"], second.json()["refresh_token"]}) == 2
    assert await me(client, third.json()) == 200


async def test_a_reused_refresh_token_ends_its_whole_sign_in(client: AppClient) -> None:
    org = await register(client)
    first = await sign_in(client, org["email"])
    other_sign_in = await sign_in(client, org["email"])
    rotated = (await refresh(client, first["refresh_token"])).json()

    reused = await refresh(client, first["refresh_token"])

    assert reused.status_code == 401
    assert reused.headers["content-type"].startswith("application/problem+json")
    # The family is revoked: the rotated refresh token and every access token of it.
    assert (await refresh(client, rotated["refresh_token"])).status_code == 401
    assert await me(client, rotated) == 401
    assert await me(client, first) == 401
    # Another sign-in of the same user is another family, untouched.
    assert await me(client, other_sign_in) == 200
    assert (await refresh(client, other_sign_in["refresh_token"])).status_code == 200


async def test_concurrent_use_of_one_refresh_token_counts_as_reuse(client: AppClient) -> None:
    import asyncio

    org = await register(client)
    pair = await sign_in(client, org["email"])
    answers = await asyncio.gather(*(refresh(client, pair["refresh_token"]) for _ in range(4)))
    assert sorted(answer.status_code for answer in answers) == [200, 401, 401, 401]
    winner = next(answer.json() for answer in answers if answer.status_code == 200)
    assert (await refresh(client, winner["refresh_token"])).status_code == 401


async def test_logout_ends_the_sign_in(client: AppClient) -> None:
    org = await register(client)
    pair = await sign_in(client, org["email"])
    other = await sign_in(client, org["email"])

    out = await client.post(LOGOUT, json={"refresh_token": pair["refresh_token"]})

    assert out.status_code == 200, out.text
    assert (await refresh(client, pair["refresh_token"])).status_code == 401
    assert await me(client, pair) == 401
    assert await me(client, other) == 200
    unknown = await client.post(LOGOUT, json={"refresh_token": "x" * 43})
    assert unknown.status_code == 200
    assert unknown.json() == out.json()


async def test_a_refresh_token_expires(client: AppClient, clock: ManualClock) -> None:
    org = await register(client)
    pair = await sign_in(client, org["email"])
    clock.advance(timedelta(seconds=services_of(client).settings.refresh_lifetime_seconds))
    assert (await refresh(client, pair["refresh_token"])).status_code == 401


async def test_a_password_reset_ends_every_token_at_once(
    mail_client: AppClient, mailbox: tuple[Mailbox, int]
) -> None:
    box, _ = mailbox
    org = await register(mail_client)
    pair = await sign_in(mail_client, org["email"])
    await mail_client.post("/api/v1/auth/password-reset", json={"email": org["email"]})
    reset_body = next(b for b in await mail_to(mail_client, box, org["email"]) if "reset" in b)

    changed = await mail_client.post(
        "/api/v1/auth/password-reset/confirmation",
        json={"token": token_in(reset_body), "password": "a brand new passphrase"},
    )

    assert changed.status_code == 200, changed.text
    assert await me(mail_client, pair) == 401
    assert (await refresh(mail_client, pair["refresh_token"])).status_code == 401
    fresh = await sign_in(mail_client, org["email"], "a brand new passphrase")
    assert await me(mail_client, fresh) == 200


async def test_a_disabled_user_is_refused_at_once(
    client: AppClient, store: Store, clock: ManualClock
) -> None:
    user_id, email = add_user(store, clock, frozenset({Role.STAFF}))
    pair = await sign_in(client, email)

    with_sync_connection(store, lambda c: disable_user(c, user_id, clock.now()))

    assert await me(client, pair) == 401
    assert (await refresh(client, pair["refresh_token"])).status_code == 401
    refused = await client.post(TOKEN, json={"email": email, "password": PASSWORD})
    assert refused.status_code == 403
    # Enabled again: a new sign-in works; the old tokens stay dead.
    with_sync_connection(store, lambda c: enable_user(c, user_id))
    assert await me(client, await sign_in(client, email)) == 200
    assert await me(client, pair) == 401


async def test_a_removed_role_ends_the_users_tokens_at_once(
    client: AppClient, store: Store, clock: ManualClock
) -> None:
    user_id, email = add_user(store, clock, frozenset({Role.STAFF, Role.ASSESSOR}))
    pair = await sign_in(client, email)
    assert (
        await client.get("/api/v1/membership/applications", headers=bearer(pair))
    ).status_code == 200

    with_sync_connection(
        store, lambda c: set_roles(c, user_id, frozenset({Role.ASSESSOR}), clock.now())
    )

    assert await me(client, pair) == 401
    assert (await refresh(client, pair["refresh_token"])).status_code == 401
    again = await sign_in(client, email)
    assert (await client.get(ME, headers=bearer(again))).json()["roles"] == ["assessor"]
    staff_only = await client.get("/api/v1/membership/applications", headers=bearer(again))
    assert staff_only.status_code == 403


async def test_an_added_role_keeps_tokens_and_takes_effect(
    client: AppClient, store: Store, clock: ManualClock
) -> None:
    user_id, email = add_user(store, clock, frozenset({Role.ASSESSOR}))
    pair = await sign_in(client, email)
    with_sync_connection(
        store, lambda c: set_roles(c, user_id, frozenset({Role.ASSESSOR, Role.STAFF}), clock.now())
    )
    # Roles are read per request, not from the token.
    applications = await client.get("/api/v1/membership/applications", headers=bearer(pair))
    assert applications.status_code == 200


def signed(sub: str, **extras: Any) -> dict[str, str]:
    claims = {
        "sub": sub,
        "exp": datetime.now(UTC) + timedelta(minutes=5),
        "iat": datetime.now(UTC),
        "extras": extras,
    }
    return {"Authorization": f"Bearer {jwt.encode(claims, JWT_SECRET, algorithm='HS256')}"}


@pytest.mark.parametrize(("method", "path"), [("GET", ME), ("POST", "/api/v1/auth/verification")])
async def test_a_signed_token_of_a_user_who_does_not_exist_is_401(
    client: AppClient, method: str, path: str
) -> None:
    response = await client.request(
        method, path, headers=signed(str(uuid.uuid4()), roles=["staff"])
    )
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_a_token_of_a_deleted_user_is_401(client: AppClient) -> None:
    org = await register(client)
    pair = await sign_in(client, org["email"])
    async with services_of(client).engine.begin() as connection:
        await connection.execute(delete(users).where(users.c.email == org["email"]))
    assert await me(client, pair) == 401
    assert (await client.post("/api/v1/auth/verification", headers=bearer(pair))).status_code == 401


async def test_tokens_signed_before_generations_keep_working_until_revoked(
    client: AppClient, store: Store, clock: ManualClock
) -> None:
    user_id, _ = add_user(store, clock, frozenset({Role.STAFF}))
    old_style = signed(str(user_id), org=None, roles=["staff"])  # no "gen", no "fam"
    assert await me(client, old_style) == 200
    with_sync_connection(store, lambda c: disable_user(c, user_id, clock.now()))
    assert await me(client, old_style) == 401


async def test_passwords_are_hashed_as_nfc_and_old_forms_still_sign_in(
    client: AppClient, store: Store, clock: ManualClock
) -> None:
    decomposed = unicodedata.normalize("NFD", "café crème brûlée")
    composed = unicodedata.normalize("NFC", decomposed)
    assert decomposed != composed

    # Registration hashes the NFC form: either form signs in.
    org = await register(
        client, user={"email": f"nfc-{uuid.uuid4().hex[:8]}@example.org", "password": decomposed}
    )
    await sign_in(client, org["email"], composed)
    await sign_in(client, org["email"], decomposed)

    # A password stored before normalisation, in the form typed then.
    user_id, email = add_user(store, clock, frozenset({Role.STAFF}))
    legacy = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(decomposed)
    async with services_of(client).engine.begin() as connection:
        await connection.execute(
            update(users).where(users.c.id == user_id).values(password_hash=legacy)
        )
    await sign_in(client, email, decomposed)
    # ... is rehashed as NFC on that sign-in, so the composed form works from then on.
    async with services_of(client).engine.connect() as connection:
        stored = (
            await connection.execute(select(users.c.password_hash).where(users.c.id == user_id))
        ).scalar_one()
    assert stored != legacy
    await sign_in(client, email, composed)
