"""The mail sender: one message that cannot be sent never holds up the others (it counts its
attempts and stops at the limit), and what the outbox holds is sent as it can be. On both
stores, through the embedded mail directory (tradehall.mail.drop)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import ManualClock
from tests.integration.test_projector import store  # noqa: F401
from tradehall.identity.users import Role, create_user, insert_user
from tradehall.mail.drop import MailDrop
from tradehall.mail.sender import MAX_ATTEMPTS, send_pending
from tradehall.mail.tables import outbox_messages
from tradehall.marketplace.sealing.keys import SealingKeys
from tradehall.store.base import Store

T = TypeVar("T")
AT = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


@dataclass
class Parts:
    """What the sender uses (tradehall.mail.sender.SenderParts), without the API around it."""

    engine: AsyncEngine
    clock: ManualClock
    sealing: SealingKeys | None = None

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await asyncio.to_thread(fn, *args, **kwargs)


@pytest.fixture
async def parts(store: Store) -> AsyncIterator[Parts]:  # noqa: F811
    store.migrate()
    engine = store.async_engine(pool_size=1)
    yield Parts(engine, ManualClock(AT))
    await engine.dispose()


def row(n: int, organisation_id: uuid.UUID | None, **values: Any) -> dict[str, Any]:
    return {
        "message_id": f"<review-{n}-{uuid.uuid4()}@tradehall.invalid>",
        "template": "tender_amended",
        "organisation_id": organisation_id,
        "recipient": None,
        "subject": f"Message {n}",
        "body": f"Body {n}",
        "created_at": AT + timedelta(minutes=n),
        "sent_at": None,
        "attempts": 0,
        "last_error": None,
        "sealed": None,
    } | values


def received(folder: Path) -> list[Message]:
    return [message_from_bytes(path.read_bytes()) for path in sorted(folder.glob("*.eml"))]


async def test_a_message_that_cannot_be_made_fails_alone_and_the_later_ones_are_sent(
    parts: Parts, tmp_path: Path
) -> None:
    organisation = uuid.uuid4()
    async with parts.engine.begin() as connection:
        await connection.run_sync(
            lambda sync: create_user(
                sync,
                insert_user(
                    user_id=uuid.uuid4(),
                    email="member@review.example",
                    password_hash="x",
                    organisation_id=organisation,
                    roles=frozenset({Role.MEMBER}),
                    now=AT,
                ),
            )
        )
    # First in the queue: an account e-mail to an address no message can be made for; then a
    # notice whose subject (a title from an imported release, say) holds a line break; then
    # an ordinary one.
    broken = row(1, None, recipient="someone@example.org\nBcc: all@example.org", template="x")
    titled = row(2, organisation, subject="Tender amended: Line one\r\nLine two")
    plain = row(3, organisation)
    async with parts.engine.begin() as connection:
        await connection.execute(insert(outbox_messages), [broken, titled, plain])
    drop = MailDrop(tmp_path / "mail", "tradehall@review.example")

    sent = await send_pending(parts, drop)
    for _ in range(MAX_ATTEMPTS + 2):
        await send_pending(parts, drop)

    assert sent == 2
    subjects = sorted(str(m["Subject"]) for m in received(drop.directory))
    assert subjects == ["Message 3", "Tender amended: Line one Line two"]
    async with parts.engine.connect() as connection:
        rows = {
            r.message_id: r
            for r in await connection.execute(
                select(outbox_messages).where(
                    outbox_messages.c.message_id.in_(
                        [broken["message_id"], titled["message_id"], plain["message_id"]]
                    )
                )
            )
        }
    assert rows[titled["message_id"]].sent_at is not None
    assert rows[plain["message_id"]].sent_at is not None
    failed = rows[broken["message_id"]]
    # Tried at most MAX_ATTEMPTS times, then left for staff with its error.
    assert (failed.sent_at, failed.attempts) == (None, MAX_ATTEMPTS)
    assert failed.last_error
