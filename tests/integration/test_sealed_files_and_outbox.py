"""Sealed files (a bid's documents) and sealed notices (the outbox), on both stores: what is
stored names no organisation and says nothing; the sender still delivers a sealed notice to the
organisation's users, and the row stays sealed once sent."""

from __future__ import annotations

import asyncio
import email
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import Message
from pathlib import Path
from typing import Any, TypeVar

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import Engine, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.integration.test_cli import free_port
from tests.integration.test_sealing_keys import engine, fresh_store, master  # noqa: F401
from tradehall.clock import Clock, ManualClock
from tradehall.identity.users import Role, create_user, insert_user
from tradehall.mail.sender import send_pending
from tradehall.mail.smtp import SmtpSettings
from tradehall.mail.tables import outbox_messages
from tradehall.marketplace.sealing.files import SealedFileStore
from tradehall.marketplace.sealing.keys import SealingError, SealingKeys
from tradehall.marketplace.sealing.master import new_key_text
from tradehall.marketplace.sealing.outbox import (
    SEALED_SUBJECT,
    SEALED_TEMPLATE,
    open_sealed,
    sealed_outbox_row,
)
from tradehall.services import build_services
from tradehall.settings import Settings
from tradehall.store.base import Store

T = TypeVar("T")
AT = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
DOCUMENT = b"%PDF-1.7 ZQX method statement: nine volunteer days a year " * 20
SUBJECT = "ZQX Your bid for the Riverside catering tender was lodged"
BODY = "ZQX We received your bid for lot 2 of the Riverside catering tender."


@pytest.fixture
def keys(engine: Engine) -> SealingKeys:  # noqa: F811
    return SealingKeys(engine, master())


# -- files ---------------------------------------------------------------------------------------


def test_a_sealed_file_round_trips_under_a_random_name(tmp_path: Path, keys: SealingKeys) -> None:
    files = SealedFileStore(tmp_path / "bids", keys)
    tender = uuid.uuid4()
    first, second = files.put(tender, DOCUMENT), files.put(tender, DOCUMENT)

    assert first != second  # the same bytes twice: two files, never de-duplicated
    for name in (first, second):
        assert len(name) == 32
        assert int(name, 16) >= 0
        assert files.get(tender, name) == DOCUMENT
        stored = (tmp_path / "bids" / name).read_bytes()
        assert b"ZQX" not in stored
        assert (tmp_path / "bids" / name).stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in (tmp_path / "bids").iterdir()) == sorted([first, second])

    files.delete(first)
    with pytest.raises(FileNotFoundError):
        files.get(tender, first)
    files.delete(first)  # gone already: nothing to do
    assert files.get(tender, second) == DOCUMENT


def test_a_sealed_file_opens_only_for_its_tender_and_name(
    tmp_path: Path, keys: SealingKeys
) -> None:
    files = SealedFileStore(tmp_path / "bids", keys)
    tender, other = uuid.uuid4(), uuid.uuid4()
    name = files.put(tender, DOCUMENT)
    files.put(other, b"another bid")
    with pytest.raises(SealingError):
        files.get(other, name)
    # The bytes moved under another name (the aad): refused.
    moved = "0" * 32
    (tmp_path / "bids" / moved).write_bytes((tmp_path / "bids" / name).read_bytes())
    with pytest.raises(SealingError):
        files.get(tender, moved)


@pytest.mark.parametrize(
    "name",
    [
        "",
        "../sealing-key",
        "..",
        "/etc/passwd",
        "A" * 32,
        "a" * 31,
        "a" * 33,
        "a" * 16 + "/" + "a" * 15,
        "a" * 32 + "\n",
        "a" * 32 + ".tmp",
    ],
)
def test_names_are_checked_before_any_path_is_made(
    tmp_path: Path, keys: SealingKeys, name: str
) -> None:
    files = SealedFileStore(tmp_path / "bids", keys)
    (tmp_path / "sealing-key").write_text("not to be read")
    with pytest.raises(FileNotFoundError):
        files.get(uuid.uuid4(), name)
    with pytest.raises(FileNotFoundError):
        files.delete(name)
    assert (tmp_path / "sealing-key").exists()


def test_an_unknown_name_is_not_found(tmp_path: Path, keys: SealingKeys) -> None:
    with pytest.raises(FileNotFoundError):
        SealedFileStore(tmp_path / "bids", keys).get(uuid.uuid4(), "0123456789abcdef" * 2)


# -- notices -------------------------------------------------------------------------------------


def sealed_row(keys: SealingKeys, organisation_id: uuid.UUID) -> dict[str, Any]:
    return sealed_outbox_row(
        keys,
        message_id=f"<{uuid.uuid4()}@tradehall.invalid>",
        organisation_id=organisation_id,
        template="bid_lodged",
        subject=SUBJECT,
        body=BODY,
        created_at=AT,
    )


def test_a_sealed_row_names_no_organisation_and_says_nothing(
    engine: Engine,  # noqa: F811
    keys: SealingKeys,
) -> None:
    organisation = uuid.uuid4()
    row = sealed_row(keys, organisation)
    with engine.begin() as connection:
        connection.execute(insert(outbox_messages).values(row))
        stored = connection.execute(
            select(outbox_messages).where(outbox_messages.c.message_id == row["message_id"])
        ).one()

    assert stored.template == SEALED_TEMPLATE
    assert stored.organisation_id is None
    assert stored.recipient is None
    assert (stored.subject, stored.body) == (SEALED_SUBJECT, "")
    everything = repr(tuple(stored)).encode() + bytes(stored.sealed)
    for secret in (str(organisation).encode(), organisation.hex.encode(), organisation.bytes):
        assert secret not in everything
    assert b"ZQX" not in everything
    assert b"bid_lodged" not in everything

    assert open_sealed(keys, stored) == (organisation, "bid_lodged", SUBJECT, BODY)
    assert open_sealed(keys, row) == (organisation, "bid_lodged", SUBJECT, BODY)
    # Bound to its message id: the sealed bytes under another id do not open.
    with pytest.raises(SealingError):
        open_sealed(keys, row | {"message_id": "<another@tradehall.invalid>"})


class Mailbox:
    """An SMTP server's inbox."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, SmtpSettings]]:
    box, port = Mailbox(), free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield box, SmtpSettings(host="127.0.0.1", port=port, sender="Tradehall <t@tradehall.invalid>")
    controller.stop()


def add_users(engine: Engine, organisation: uuid.UUID, count: int) -> list[str]:  # noqa: F811
    addresses = [f"bidder-{uuid.uuid4().hex[:8]}@example.org" for _ in range(count)]
    with engine.begin() as connection:
        for address in addresses:
            create_user(
                connection,
                insert_user(
                    user_id=uuid.uuid4(),
                    email=address,
                    password_hash="not-a-real-hash",
                    organisation_id=organisation,
                    roles=frozenset({Role.MEMBER}),
                    now=AT,
                ),
            )
    return sorted(addresses)


def outbox_row_of(engine: Engine, message_id: str) -> Any:  # noqa: F811
    with engine.connect() as connection:
        return connection.execute(
            select(outbox_messages).where(outbox_messages.c.message_id == message_id)
        ).one()


async def test_the_sender_delivers_a_sealed_notice_to_the_organisations_users(
    fresh_store: Store,  # noqa: F811
    tmp_path: Path,
    smtp: tuple[Mailbox, SmtpSettings],
) -> None:
    """Through the container the API and `tradehall mail send` use (Services.sealing)."""
    box, smtp_settings = smtp
    settings = Settings(
        environment="embedded",
        database_url=None,
        data_dir=tmp_path / "service",
        jwt_secret="s" * 40,
        sealing_key=new_key_text(),
        mail_interval_seconds=0,
    )
    services = build_services(settings, store=fresh_store, clock=ManualClock(AT), contexts=[])
    sync = fresh_store.sync_engine()
    try:
        organisation = uuid.uuid4()
        addresses = add_users(sync, organisation, 2)
        add_users(sync, uuid.uuid4(), 1)  # another organisation's user: not told
        row = await services.run(sealed_row, services.sealing, organisation)
        with sync.begin() as connection:
            connection.execute(insert(outbox_messages).values(row))

        assert await send_pending(services, smtp_settings) == 1

        received = sorted(box.messages, key=lambda m: str(m["To"]))
        assert [str(m["To"]) for m in received] == addresses
        for message in received:
            assert message["Subject"] == SUBJECT
            payload = message.get_payload(decode=True)
            assert isinstance(payload, bytes)
            assert payload.decode().strip() == BODY
        sent = outbox_row_of(sync, row["message_id"])
        assert sent.sent_at == AT
        assert (sent.template, sent.organisation_id, sent.subject, sent.body) == (
            SEALED_TEMPLATE,
            None,
            SEALED_SUBJECT,
            "",
        )
        assert bytes(sent.sealed) == row["sealed"]
        assert await send_pending(services, smtp_settings) == 0
    finally:
        sync.dispose()
        await services.close()


@dataclass
class PartsWithoutKeys:
    engine: AsyncEngine
    clock: Clock
    sealing: SealingKeys | None = None

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await asyncio.to_thread(fn, *args, **kwargs)


async def test_a_sealed_notice_that_cannot_be_opened_is_not_sent(
    fresh_store: Store,  # noqa: F811
    engine: Engine,  # noqa: F811
    keys: SealingKeys,
    smtp: tuple[Mailbox, SmtpSettings],
) -> None:
    box, smtp_settings = smtp
    organisation = uuid.uuid4()
    add_users(engine, organisation, 1)
    row = await asyncio.to_thread(sealed_row, keys, organisation)
    with engine.begin() as connection:
        connection.execute(insert(outbox_messages).values(row))
    async_engine = fresh_store.async_engine(pool_size=2)
    try:
        without = PartsWithoutKeys(async_engine, ManualClock(AT))
        # Tried again once its wait after the first failure is over.
        later = ManualClock(AT + timedelta(hours=1))
        wrong = PartsWithoutKeys(async_engine, later, SealingKeys(engine, master()))
        assert await send_pending(without, smtp_settings) == 0
        assert await send_pending(wrong, smtp_settings) == 0
    finally:
        await async_engine.dispose()
    assert box.messages == []
    failed = outbox_row_of(engine, row["message_id"])
    assert failed.attempts == 2
    assert failed.sent_at is None
    assert str(organisation) not in failed.last_error


class RefusingMailbox(Mailbox):
    """An SMTP server that refuses every recipient, naming the address as servers do."""

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        return f"550 5.1.1 <{address}>: Recipient address rejected: mailbox unavailable"


async def test_a_refused_sealed_notice_records_and_logs_no_address(
    fresh_store: Store,  # noqa: F811
    engine: Engine,  # noqa: F811
    keys: SealingKeys,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A bounce must not say who the sealed notice was for: the recipient's address names the
    organisation that is bidding (ADR 27). The attempt is counted, with the server's code."""
    box, port = RefusingMailbox(), free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    organisation = uuid.uuid4()
    [address] = add_users(engine, organisation, 1)
    row = await asyncio.to_thread(sealed_row, keys, organisation)
    with engine.begin() as connection:
        connection.execute(insert(outbox_messages).values(row))
    async_engine = fresh_store.async_engine(pool_size=2)
    smtp_settings = SmtpSettings(host="127.0.0.1", port=port, sender="T <t@tradehall.invalid>")
    try:
        with caplog.at_level("WARNING", logger="tradehall.mail"):
            parts = PartsWithoutKeys(async_engine, ManualClock(AT), keys)
            assert await send_pending(parts, smtp_settings) == 0
    finally:
        await async_engine.dispose()
        controller.stop()

    assert box.messages == []
    failed = outbox_row_of(engine, row["message_id"])
    assert (failed.attempts, failed.sent_at) == (1, None)
    assert "550" in failed.last_error
    logged = " ".join(record.getMessage() for record in caplog.records)
    assert "not sent" in logged
    local_part = address.split("@")[0]
    for text in (failed.last_error, logged):
        assert local_part not in text
        assert str(organisation) not in text
