"""An invitation is as good as its sender's right to invite: an admin who loses the role, is
disabled or moves to another organisation before the invitee accepts takes their pending
invitations with them. Both stores, through the app; the race with a role removal too."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Connection, select, text, update

from tests.api.helpers import PASSWORD, register, services_of, token, token_in
from tests.conftest import AppClient
from tradehall.identity.accounts import INVITER_GONE
from tradehall.identity.sessions import disable_user, set_roles
from tradehall.identity.tables import users
from tradehall.identity.users import Role
from tradehall.mail.tables import outbox_messages
from tradehall.store.base import Store

ACCEPT = "/api/v1/invitations/acceptance"
# When the changes below say they were made (the revoked sign-ins' date): any moment will do.
NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


async def invited(client: AppClient) -> tuple[uuid.UUID, str, str]:
    """A registered organisation's admin (their id) invites a fresh address (and its link)."""
    org = await register(client)
    admin = await token(client, org["email"])
    email = f"invitee-{uuid.uuid4().hex[:10]}@example.org"
    sent = await client.post(
        f"/api/v1/organisations/{org['id']}/invitations", json={"email": email}, headers=admin
    )
    assert sent.status_code == 202, sent.text
    engine = services_of(client).engine
    async with engine.connect() as connection:
        admin_id = (
            await connection.execute(select(users.c.id).where(users.c.email == org["email"]))
        ).scalar_one()
        [body] = (
            await connection.execute(
                select(outbox_messages.c.body).where(
                    outbox_messages.c.recipient == email,
                    outbox_messages.c.template == "account_invite",
                )
            )
        ).scalars()
    return uuid.UUID(str(admin_id)), email, token_in(body)


async def added(client: AppClient, email: str) -> list[Any]:
    async with services_of(client).engine.connect() as connection:
        return list(await connection.execute(select(users.c.id).where(users.c.email == email)))


def in_sync_transaction(store: Store, work: Callable[[Connection], None]) -> None:
    engine = store.sync_engine()
    try:
        with engine.begin() as connection:
            work(connection)
    finally:
        engine.dispose()


def _moved_away(connection: Connection, user_id: uuid.UUID) -> None:
    connection.execute(
        update(users).where(users.c.id == user_id).values(organisation_id=uuid.uuid4())
    )


CHANGES: dict[str, Callable[[Connection, uuid.UUID], None]] = {
    "admin role removed": lambda c, user_id: set_roles(c, user_id, frozenset({Role.MEMBER}), NOW),
    "disabled": lambda c, user_id: disable_user(c, user_id, NOW),
    "moved to another organisation": _moved_away,
}


@pytest.mark.parametrize("change", list(CHANGES))
async def test_an_invitation_goes_with_its_inviter_s_right_to_invite(
    client: AppClient, store: Store, change: str
) -> None:
    """Before: the acceptance looked at the token alone, so an admin removed (or disabled)
    left their invitations open for 14 days: 201, a new user of the organisation."""
    admin_id, email, secret = await invited(client)
    in_sync_transaction(store, lambda c: CHANGES[change](c, admin_id))

    refused = await client.post(ACCEPT, json={"token": secret, "password": PASSWORD})

    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"] == [{"field": "token", "message": INVITER_GONE}]
    again = await client.post(ACCEPT, json={"token": secret, "password": PASSWORD})
    assert again.json()["errors"] == [
        {"field": "token", "message": "this link has been used already"}
    ]
    assert await added(client, email) == []


async def test_an_invitation_is_accepted_while_its_inviter_still_administers(
    client: AppClient, store: Store
) -> None:
    """Checked at acceptance: a role given back before then keeps the invitation good."""
    admin_id, email, secret = await invited(client)
    in_sync_transaction(store, lambda c: set_roles(c, admin_id, frozenset({Role.MEMBER}), NOW))
    in_sync_transaction(
        store,
        lambda c: set_roles(c, admin_id, frozenset({Role.MEMBER, Role.ADMIN}), NOW),
    )

    accepted = await client.post(ACCEPT, json={"token": secret, "password": PASSWORD})

    assert accepted.status_code == 201, accepted.text
    assert len(await added(client, email)) == 1


async def test_a_role_removed_while_the_invitation_is_accepted_adds_nobody(
    client: AppClient, store: Store
) -> None:
    """The race: the admin's role is taken away in a transaction still open when the invitee
    accepts. The acceptance must read the outcome of that change, not the row as it was, so
    no user is added by an inviter who had lost the role before the acceptance committed.

    PostgreSQL: we wait until the acceptance is seen blocked behind the open change (it reads
    the inviter FOR SHARE), then commit the change. Before the fix it never blocked, read the
    old row and answered 201. SQLite: its one write lock serialises them, so the acceptance
    runs after the change commits (the outcome checked, not a race)."""
    admin_id, email, secret = await invited(client)
    engine = store.sync_engine()
    try:
        with engine.connect() as holder:
            transaction = holder.begin()
            set_roles(holder, admin_id, frozenset({Role.MEMBER}), NOW)
            acceptance = asyncio.create_task(
                client.post(ACCEPT, json={"token": secret, "password": PASSWORD})
            )
            if store.name == "postgresql":
                holder_pid = holder.execute(text("SELECT pg_backend_pid()")).scalar_one()
                await _until_blocked_by(engine, holder_pid, acceptance)
            # SQLite: nothing awaited yet, so the acceptance has not started; the store's one
            # write lock orders the two, and the change commits first.
            assert not acceptance.done()
            transaction.commit()
        answer = await acceptance
    finally:
        engine.dispose()

    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"] == [{"field": "token", "message": INVITER_GONE}]
    assert await added(client, email) == []


async def _until_blocked_by(engine: Any, holder_pid: int, acceptance: asyncio.Task[Any]) -> None:
    """Polls pg_stat_activity (yielding to the loop between looks) until some session waits
    on the holder's locks, or the acceptance is over (it was not made to wait: the bug)."""
    blocked = text(
        "SELECT count(*) FROM pg_stat_activity WHERE :holder = ANY(pg_blocking_pids(pid))"
    )
    deadline = time.monotonic() + 30
    with engine.connect() as looking:
        while not acceptance.done() and time.monotonic() < deadline:
            if looking.execute(blocked, {"holder": holder_pid}).scalar_one():
                return
            looking.rollback()
            await asyncio.sleep(0)
