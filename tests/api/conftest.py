from __future__ import annotations

import email
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from litestar import Litestar

from tests.api.helpers import PASSWORD, SignedIn, token
from tests.conftest import FAST_PASSWORDS, AppClient, app_for, running
from tests.integration.test_cli import free_port
from tradehall.clock import ManualClock
from tradehall.identity.users import Role, create_user, insert_user
from tradehall.settings import Settings
from tradehall.store.base import Store


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


class Mailbox:
    """An SMTP server's inbox (aiosmtpd calls handle_DATA for each message)."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.arrived = threading.Condition()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.arrived:
            self.messages.append(email.message_from_bytes(envelope.content))
            self.arrived.notify_all()
        return "250 OK"


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    box, port = Mailbox(), free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield box, port
    controller.stop()


@pytest.fixture
async def mail_client(
    settings: Settings,
    store: Store,
    clock: ManualClock,
    mailbox: tuple[Mailbox, int],
    built_app: Litestar,
) -> AsyncIterator[AppClient]:
    _, port = mailbox
    # The sender is driven by each test (mail_interval_seconds=0), so nothing races it.
    with_smtp = replace(settings, smtp_host="127.0.0.1", smtp_port=port, mail_interval_seconds=0)
    app = app_for(built_app, with_smtp, clock=clock, store=store)
    async with running(app), AppClient(app) as http:
        yield http
