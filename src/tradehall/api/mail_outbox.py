"""The outbox's failed messages, for staff (ADR 12): which messages have failed and why, and
putting one back in the queue once the fault is mended.

What a list shows is what staff need to mend a fault, never a message's body (an account
e-mail's holds a one-use link). Sealed notices are on neither route: their addressee, subject
or time, or even how many failed, would say who is bidding, how many, or when (ADR 27). The
sender never gives one up instead (tradehall.mail.sender.next_attempt_after).
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec
from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from sharedkernel.errors import Conflict, InvalidValue, NotFound
from tradehall.api.access import rule, staff_only
from tradehall.api.reads import PageParam, PerPageParam
from tradehall.mail.sender import MAX_ATTEMPTS
from tradehall.mail.tables import outbox_messages
from tradehall.marketplace.sealing.outbox import SEALED_TEMPLATE

_log = logging.getLogger("tradehall.mail")
# A Message-ID as the outbox writes them, with or without its angle brackets.
_MESSAGE_ID = re.compile(r"^<?([A-Za-z0-9._-]{1,150}@[A-Za-z0-9.-]{1,40})>?$")
MESSAGE = "/mail/{message_id:str}"


class OutboxMessageView(msgspec.Struct, kw_only=True):
    message_id: str  # as its copies carry it (each recipient's is derived from it)
    template: str
    # Whom it tells: an organisation's users, or one address (account e-mails).
    organisation_id: UUID | None
    recipient: str | None
    subject: str
    created_at: datetime
    attempts: int
    # The last failure's kind and the server's codes (never its words).
    last_error: str | None
    # When the sender tries again; None with `waiting_for_staff` (its attempts are used up)
    # or when due at once.
    next_attempt_at: datetime | None
    waiting_for_staff: bool


class PutBack(msgspec.Struct, kw_only=True):
    put_back: int  # how many messages waiting for staff are in the queue again


class OutboxMessagesPage(msgspec.Struct, kw_only=True):
    items: list[OutboxMessageView]
    total: int
    page: int
    per_page: int


_COLUMNS = [
    outbox_messages.c.message_id,
    outbox_messages.c.template,
    outbox_messages.c.organisation_id,
    outbox_messages.c.recipient,
    outbox_messages.c.subject,
    outbox_messages.c.created_at,
    outbox_messages.c.attempts,
    outbox_messages.c.last_error,
    outbox_messages.c.next_attempt_at,
]  # never the body, nor a sealed notice's sealed contents


def _view(row: Any) -> OutboxMessageView:
    return OutboxMessageView(
        message_id=row.message_id,
        template=row.template,
        organisation_id=row.organisation_id,
        recipient=row.recipient,
        subject=row.subject,
        created_at=row.created_at,
        attempts=row.attempts,
        last_error=row.last_error,
        next_attempt_at=row.next_attempt_at,
        waiting_for_staff=row.attempts >= MAX_ATTEMPTS,
    )


def message_id_of(text: str) -> str:
    """The path's message id as the outbox keeps it (`<…@…>`), or a problem naming it."""
    found = _MESSAGE_ID.match(text)
    if found is None:
        raise InvalidValue("message_id", "a Message-ID such as 1b4e…@tradehall.invalid")
    return f"<{found.group(1)}>"


async def failed_messages(
    connection: AsyncConnection, limit: int, offset: int
) -> tuple[list[OutboxMessageView], int]:
    """The messages not sent that have failed at least once, the oldest first; never a sealed
    notice."""
    table = outbox_messages
    failed = (
        table.c.sent_at.is_(None) & (table.c.attempts > 0) & (table.c.template != SEALED_TEMPLATE)
    )
    total = (
        await connection.execute(select(func.count()).select_from(table).where(failed))
    ).scalar_one()
    rows = await connection.execute(
        select(*_COLUMNS)
        .where(failed)
        .order_by(table.c.created_at, table.c.message_id)
        .limit(limit)
        .offset(offset)
    )
    return [_view(row) for row in rows], int(total)


class MailOutboxController(Controller):
    path = "/api/v1/operations"
    tags = ["operations"]

    @get(
        "/mail/failed",
        opt=rule(staff_only()),
        summary="Messages that failed to send: why, and when they are tried again (staff)",
        description=(
            "Messages not sent whose attempts have failed, the oldest first: those still "
            "retried (each failure waits longer: 30 s, doubling, at most an hour) and those "
            f"whose {MAX_ATTEMPTS} attempts are used up (`waiting_for_staff`). Never a "
            "message's body, nor a sealed notice (it is tried until sent)."
        ),
    )
    async def failed(
        self,
        engine: NamedDependency[AsyncEngine],
        page: PageParam = 1,
        per_page: PerPageParam = 20,
    ) -> OutboxMessagesPage:
        async with engine.connect() as connection:
            items, total = await failed_messages(
                connection, limit=per_page, offset=(page - 1) * per_page
            )
        return OutboxMessagesPage(items=items, total=total, page=page, per_page=per_page)

    @post(
        f"{MESSAGE}/retry",
        opt=rule(staff_only()),
        status_code=200,
        summary="Put a message that failed back in the queue (staff)",
        description=(
            "Its attempts start again from none and it is due at once; its last error is kept "
            "until it is sent. Again on a message waiting changes nothing; a message already "
            "sent is a conflict; a sealed notice is not found. The id is the message's "
            "`message_id`, with or without its angle brackets."
        ),
    )
    async def retry(
        self, engine: NamedDependency[AsyncEngine], message_id: FromPath[str]
    ) -> OutboxMessageView:
        wanted = message_id_of(message_id)
        table = outbox_messages
        this = (table.c.message_id == wanted) & (table.c.template != SEALED_TEMPLATE)
        async with engine.begin() as connection:
            await connection.execute(
                update(table)
                .where(this, table.c.sent_at.is_(None))
                .values(attempts=0, next_attempt_at=None)
            )
            found = (
                await connection.execute(select(*_COLUMNS, table.c.sent_at).where(this))
            ).one_or_none()
        if found is None:
            raise NotFound(f"no message {wanted} in the outbox")
        if found.sent_at is not None:
            raise Conflict(f"message {wanted} is sent already")
        _log.info("mail %s put back in the queue by staff", wanted)
        return _view(found)

    @post(
        "/mail/failed/retry",
        opt=rule(staff_only()),
        status_code=200,
        summary="Put every message waiting for staff back in the queue (staff)",
        description=(
            f"Each message whose {MAX_ATTEMPTS} attempts are used up starts again from none and "
            "is due at once (after an outage is mended); messages still being retried are left "
            "to their wait. Again changes nothing more."
        ),
    )
    async def retry_waiting(self, engine: NamedDependency[AsyncEngine]) -> PutBack:
        table = outbox_messages
        async with engine.begin() as connection:
            result = await connection.execute(
                update(table)
                .where(
                    table.c.sent_at.is_(None),
                    table.c.attempts >= MAX_ATTEMPTS,
                    table.c.template != SEALED_TEMPLATE,
                )
                .values(attempts=0, next_attempt_at=None)
            )
        _log.info("%d mail(s) waiting for staff put back in the queue", result.rowcount)
        return PutBack(put_back=result.rowcount)
