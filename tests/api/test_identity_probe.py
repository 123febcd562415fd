"""Accounts, links and sign-in probed as an attacker would: through the app, on both stores."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any, cast

import pytest
from argon2 import PasswordHasher
from litestar import Litestar
from sqlalchemy import select

from tests.api.helpers import PASSWORD, register, services_of, statements_of, token, token_in
from tests.conftest import AppClient, running
from tradehall.api.app import create_app, is_running, serve_again
from tradehall.clock import ManualClock
from tradehall.identity.accounts import INVITATIONS_FREE_PER_ORGANISATION, invitation_for_address
from tradehall.identity.sessions import purge_expired
from tradehall.identity.tables import account_tokens, users
from tradehall.identity.users import Passwords, Role
from tradehall.mail.tables import outbox_messages
from tradehall.settings import Settings
from tradehall.store.base import Store

Client = AppClient


class CountingHasher(PasswordHasher):
    """argon2's own hasher (cheap parameters, as the suite's), counting the hashes it makes:
    what a request costs the server is the number of argon2 hashes it runs."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=1024, parallelism=1)
        self.hashes = 0

    def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str:
        self.hashes += 1
        return super().hash(password, salt=salt)


@pytest.fixture
async def counted(
    settings: Settings, store: Store, clock: ManualClock, built_app: Litestar
) -> AsyncIterator[tuple[Client, CountingHasher]]:
    hasher = CountingHasher()
    passwords = Passwords(hasher)
    if is_running(built_app):
        app = create_app(settings, clock=clock, store=store, passwords=passwords)
    else:
        app = serve_again(built_app, settings, clock=clock, store=store, passwords=passwords)
    async with running(app), AppClient(app) as http:
        yield http, hasher


@pytest.mark.parametrize(
    "route", ["/api/v1/auth/password-reset/confirmation", "/api/v1/invitations/acceptance"]
)
async def test_a_link_unknown_or_used_costs_no_password_hash(
    counted: tuple[Client, CountingHasher], route: str
) -> None:
    """These routes are public and unthrottled: a hash (argon2: 64 MiB and tens of ms at the
    default parameters) made before the link is looked at would let anyone make the server
    hash at will with made-up links."""
    client, hasher = counted
    before = hasher.hashes
    body: dict[str, Any] = {"token": "made-up-" + "x" * 35, "password": PASSWORD}

    answers = [await client.post(route, json=body) for _ in range(3)]

    for answer in answers:
        assert answer.status_code == 422, answer.text
        assert [e["field"] for e in answer.json()["errors"]] == ["token"]
    assert hasher.hashes == before


async def test_a_used_reset_link_costs_no_password_hash(
    counted: tuple[Client, CountingHasher],
) -> None:
    client, hasher = counted
    owner = await register(client)
    assert (
        await client.post("/api/v1/auth/password-reset", json={"email": owner["email"]})
    ).status_code == 202
    secret = await link_mailed(client, owner["email"], "account_reset")
    body = {"token": secret, "password": "a new password, long"}
    route = "/api/v1/auth/password-reset/confirmation"
    assert (await client.post(route, json=body)).status_code == 200
    before = hasher.hashes

    again = await client.post(route, json=body)

    assert again.status_code == 422, again.text
    assert again.json()["errors"] == [
        {"field": "token", "message": "this link has been used already"}
    ]
    assert hasher.hashes == before


async def link_mailed(client: Client, email: str, template: str) -> str:
    """The secret of the one `template` link waiting in the outbox for `email`."""
    query = select(outbox_messages.c.body).where(
        outbox_messages.c.recipient == email.lower(), outbox_messages.c.template == template
    )
    async with services_of(client).engine.connect() as connection:
        [body] = (await connection.execute(query)).scalars()
    return token_in(body)


async def test_an_invitation_does_the_same_work_whether_or_not_the_address_is_taken(
    client: Client,
) -> None:
    """ADR 8: the answer was the same, the work not (a read of users, then one insert for a
    taken address against two for a free one): an admin could time the difference."""
    org, other = await register(client), await register(client)
    admin = await token(client, org["email"])
    path = f"/api/v1/organisations/{org['id']}/invitations"

    async def statements_for(email: str) -> list[str]:
        async def send() -> None:
            answer = await client.post(path, json={"email": email}, headers=admin)
            assert answer.status_code == 202, answer.text

        return await statements_of(client, send)

    await statements_for(f"first-{uuid.uuid4().hex[:10]}@example.org")  # the org's count
    taken = await statements_for(other["email"])
    free = await statements_for(f"free-{uuid.uuid4().hex[:10]}@example.org")

    assert taken == free
    assert any("INSERT INTO account_tokens" in statement for statement in taken)
    assert any("INSERT INTO outbox_messages" in statement for statement in taken)


async def test_an_organisation_s_invitations_to_many_addresses_are_throttled(
    client: Client, clock: ManualClock
) -> None:
    """Anyone may register, and so administer an organisation; each recipient's throttle
    bounds the mail one address gets, but not how many addresses one organisation mails: its
    admin could have the association mail any list of strangers. A throttled answer tells the
    admin only of their own organisation's count; a recipient's 429 uses none of it."""
    org = await register(client)
    admin = await token(client, org["email"])
    path = f"/api/v1/organisations/{org['id']}/invitations"
    free = INVITATIONS_FREE_PER_ORGANISATION

    def stranger() -> dict[str, str]:
        return {"email": f"stranger-{uuid.uuid4().hex[:12]}@example.org"}

    victim = stranger()
    to_one = services_of(client).settings.account_mail_free_per_address
    one = [await client.post(path, json=victim, headers=admin) for _ in range(to_one + 1)]
    answers = [await client.post(path, json=stranger(), headers=admin) for _ in range(free)]

    assert [answer.status_code for answer in one] == [202] * to_one + [429]
    statuses = [answer.status_code for answer in answers]
    assert statuses == [202] * (free - to_one) + [429] * to_one, statuses
    assert answers[-1].headers["retry-after"] == "60"
    clock.advance(timedelta(seconds=60))
    assert (await client.post(path, json=stranger(), headers=admin)).status_code == 202


async def test_the_clock_forgets_an_unaccepted_invitation_s_address(
    client: Client, clock: ManualClock
) -> None:
    """An invitation keeps the invitee's address until it is accepted; a stranger who never
    accepts kept it for ever (the purge deleted refresh tokens and pending registrations past
    their expiry, never account links). ADR 4: personal data is kept no longer than needed."""
    org = await register(client)
    admin = await token(client, org["email"])
    stranger = f"never-joins-{uuid.uuid4().hex[:10]}@example.org"
    path = f"/api/v1/organisations/{org['id']}/invitations"
    assert (await client.post(path, json={"email": stranger}, headers=admin)).status_code == 202
    secret = await link_mailed(client, stranger, "account_invite")
    services = services_of(client)
    kept = select(account_tokens.c.email).where(account_tokens.c.email == stranger)

    clock.advance(timedelta(days=14, seconds=1))
    await purge_expired(services.engine, clock.now(), services.settings.throttle_decay_seconds)

    async with services.engine.connect() as connection:
        assert list(await connection.execute(kept)) == []
    late = await client.post(
        "/api/v1/invitations/acceptance", json={"token": secret, "password": PASSWORD}
    )
    assert late.status_code == 422, late.text
    assert late.json()["errors"][0]["message"] == "this link is unknown or has expired"


async def test_an_invitation_naming_a_role_that_no_longer_exists_must_be_sent_again(
    client: Client,
) -> None:
    """An invitation lives 14 days; a deployment in between may rename or drop a role. Its
    roles were parsed again on acceptance: a 500, every time. Now the link is used up and the
    invitee is told to ask for a new one (the body is {token, password}: nothing to mend)."""
    org = await register(client)
    email = f"invited-{uuid.uuid4().hex[:10]}@example.org"
    services = services_of(client)
    retired = cast(Role, "retired_role")
    statements = invitation_for_address(
        email,
        organisation_id=uuid.UUID(org["id"]),
        roles=frozenset({Role.MEMBER, retired}),
        now=services.clock.now(),
        public_url=services.settings.public_url,
    )
    async with services.engine.begin() as connection:
        for statement in statements:
            await connection.execute(statement)
    secret = await link_mailed(client, email, "account_invite")
    route = "/api/v1/invitations/acceptance"

    first = await client.post(route, json={"token": secret, "password": PASSWORD})

    assert first.status_code == 422, first.text
    [error] = first.json()["errors"]
    assert error["field"] == "token"
    assert "ask for a new invitation" in error["message"]
    again = await client.post(route, json={"token": secret, "password": PASSWORD})
    assert again.json()["errors"] == [
        {"field": "token", "message": "this link has been used already"}
    ]
    async with services.engine.connect() as connection:
        added = select(users.c.id).where(users.c.email == email)
        assert list(await connection.execute(added)) == []
