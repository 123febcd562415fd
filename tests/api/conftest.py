from __future__ import annotations

import uuid

import pytest

from tests.api.helpers import PASSWORD, SignedIn, token
from tests.conftest import FAST_PASSWORDS, AppClient
from tradehall.clock import ManualClock
from tradehall.identity.users import Role, create_user, insert_user
from tradehall.store import Store


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
                    password_hash=FAST_PASSWORDS.hash(PASSWORD),
                    organisation_id=None,
                    roles=roles,
                    now=clock.now(),
                ),
            )
    finally:
        engine.dispose()
    return user_id, email


@pytest.fixture
async def staff(client: AppClient, store: Store, clock: ManualClock) -> SignedIn:  # type: ignore[type-arg]
    user_id, email = add_user(store, clock, frozenset({Role.STAFF}))
    return SignedIn(user_id, email, await token(client, email))


@pytest.fixture
def staff_headers(staff: SignedIn) -> dict[str, str]:
    return staff.headers
