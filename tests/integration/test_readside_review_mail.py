"""The mail sender: one message that cannot be sent never holds up the others (it counts its
attempts, waits longer after each and stops at the limit), and what the outbox holds is sent as
it can be; each recipient's copy keeps its Message-ID whoever else is told. On both stores,
through the embedded mail directory (tradehall.mail.drop)."""

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
from tradehall.mail.sender import (
    LONGEST_WAIT,
    MAX_ATTEMPTS,
    deliver,
    pending,
    recipient_message_id,
    send_pending,
)
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
        parts.clock.advance(LONGEST_WAIT)  # each wait is at most this long
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
    # Tried at most MAX_ATTEMPTS times, then left for staff with its error (no next attempt).
    assert (failed.sent_at, failed.attempts) == (None, MAX_ATTEMPTS)
    assert failed.last_error
    assert failed.next_attempt_at is None


async def add_member(parts: Parts, organisation: uuid.UUID, email: str) -> None:
    async with parts.engine.begin() as connection:
        await connection.run_sync(
            lambda sync: create_user(
                sync,
                insert_user(
                    user_id=uuid.uuid4(),
                    email=email,
                    password_hash="x",
                    organisation_id=organisation,
                    roles=frozenset({Role.MEMBER}),
                    now=AT,
                ),
            )
        )


async def outbox_row(parts: Parts, message_id: str) -> Any:
    async with parts.engine.connect() as connection:
        return (
            await connection.execute(
                select(outbox_messages).where(outbox_messages.c.message_id == message_id)
            )
        ).one()


async def test_a_failed_message_waits_longer_after_each_attempt_then_waits_for_staff(
    parts: Parts, tmp_path: Path
) -> None:
    # An account e-mail to an address no message can be made for: every attempt fails.
    broken = row(1, None, recipient="someone@example.org\nBcc: all@example.org", template="x")
    async with parts.engine.begin() as connection:
        await connection.execute(insert(outbox_messages), [broken])
    drop = MailDrop(tmp_path / "mail", "tradehall@review.example")
    key = broken["message_id"]

    async def due() -> bool:
        return key in {r.message_id for r in await pending(parts, limit=10_000)}

    waits = []
    for attempt in range(1, MAX_ATTEMPTS + 1):
        assert await due()
        await send_pending(parts, drop)
        failed = await outbox_row(parts, key)
        assert failed.attempts == attempt
        if attempt == MAX_ATTEMPTS:
            break
        wait = failed.next_attempt_at - parts.clock.now()
        waits.append(wait)
        # Not tried again at the next pass, nor a second before its time; at its time it is.
        assert not await due()
        parts.clock.advance(wait - timedelta(seconds=1))
        await send_pending(parts, drop)
        assert (await outbox_row(parts, key)).attempts == attempt
        parts.clock.advance(timedelta(seconds=1))

    assert waits == [timedelta(seconds=30 * 2**n) for n in range(7)] + [timedelta(hours=1)] * 2
    assert failed.next_attempt_at is None  # its attempts used up: it waits for staff
    parts.clock.advance(timedelta(days=30))
    assert not await due()
    assert received(drop.directory) == []


async def test_each_recipient_keeps_its_message_id_when_a_colleague_joins(
    parts: Parts, tmp_path: Path
) -> None:
    organisation = uuid.uuid4()
    first, colleague = f"first-{organisation}@review.example", f"second-{organisation}@x.example"
    await add_member(parts, organisation, first)
    message = row(1, organisation)
    async with parts.engine.begin() as connection:
        await connection.execute(insert(outbox_messages), [message])
    alone, together = MailDrop(tmp_path / "one", "t@x"), MailDrop(tmp_path / "two", "t@x")
    waiting = await outbox_row(parts, message["message_id"])

    # Sent while the organisation has one user (say the server took it, then the process
    # died before marking it sent); sent again after a colleague joined.
    assert await deliver(parts, alone, waiting)
    await add_member(parts, organisation, colleague)
    assert await deliver(parts, together, waiting)

    [before] = received(alone.directory)
    after = {str(m["To"]): m["Message-ID"] for m in received(together.directory)}
    assert before["To"] == first
    assert after[first] == before["Message-ID"]  # a duplicate the receiver can drop
    assert after[colleague] != after[first]
    assert before["Message-ID"] == recipient_message_id(message["message_id"], first)
