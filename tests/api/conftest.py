from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest
from litestar.testing import AsyncTestClient

from tests.api.helpers import PASSWORD, token
from tradehall.clock import ManualClock
from tradehall.identity.users import Passwords, Role, create_user, insert_user
from tradehall.store import Store


@dataclass(frozen=True)
class SignedIn:
    user_id: uuid.UUID
    email: str
    headers: dict[str, str]


def add_user(store: Store, clock: ManualClock, roles: frozenset[Role]) -> tuple[uuid.UUID, str]:
    """A user created as `tradehall staff create` does (identity is not event-sourced)."""
    email = f"{'-'.join(sorted(roles))}-{uuid.uuid4().hex[:10]}@association.example"
    user_id = uuid.uuid4()
    engine = store.sync_engine()
    try:
        with engine.begin() as connection:
            create_user(
                connection,
                insert_user(
                    user_id=user_id,
                    email=email,
                    password_hash=Passwords().hash(PASSWORD),
                    organisation_id=None,
                    roles=roles,
                    now=clock.now(),
                ),
            )
    finally:
        engine.dispose()
    return email


@pytest.fixture
async def staff_headers(
    client: AsyncTestClient,
    store: Store,
    clock: ManualClock,  # type: ignore[type-arg]
) -> dict[str, str]:
    return await token(client, add_user(store, clock, frozenset({Role.STAFF})))
