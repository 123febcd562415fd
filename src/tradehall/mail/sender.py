"""Sends the outbox by SMTP (or into the embedded mail directory): at-least-once, each message
with its stable Message-ID.

A message is marked sent after the SMTP server accepts it; a crash in between sends it again,
with the same Message-ID, which receivers use to drop the duplicate.
"""

from __future__ import annotations

import asyncio
import logging
import re
import smtplib
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any, Protocol, TypeVar

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from tradehall.clock import Clock
from tradehall.identity.tables import users
from tradehall.mail.outbox import message_id_for
from tradehall.mail.smtp import Transport
from tradehall.mail.tables import outbox_messages
from tradehall.marketplace.sealing.keys import SealingError, SealingKeys
from tradehall.marketplace.sealing.outbox import SEALED_TEMPLATE, PublicNotice, open_sealed_row

T = TypeVar("T")


class SenderParts(Protocol):
    """What the sender uses: the database (the outbox), the clock, a thread for SMTP, and the
    sealing keys that open sealed notices (None: a sealed notice fails its attempts)."""

    @property
    def engine(self) -> AsyncEngine: ...
    @property
    def clock(self) -> Clock: ...
    @property
    def sealing(self) -> SealingKeys | None: ...

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T: ...


MAX_ATTEMPTS = 10
# A failed attempt waits before the next: 30 s, doubling, at most an hour. A passing fault (a
# server restarting, a greylisting answer) is retried within a minute; an outage is not
# hammered, and the ten attempts span about three hours (30 s + 1 + 2 + 4 + 8 + 16 + 32 min +
# 1 h + 1 h) before the message waits for staff (GET /api/v1/operations/mail/failed).
FIRST_RETRY = timedelta(seconds=30)
LONGEST_WAIT = timedelta(hours=1)
SENT_LINK_REMOVED = "(sent; the one-use link in it is not kept)"
_log = logging.getLogger("tradehall.mail")
_LINE_BREAKS = re.compile(r"[\r\n\v\f\x1c\x1d\x1e\x85\u2028\u2029]+")


def retry_delay(attempts: int) -> timedelta:
    """How long a message waits after its `attempts`-th failed attempt."""
    doublings = min(max(attempts - 1, 0), 8)  # 30 s * 2**7 is past the longest wait already
    wait: timedelta = FIRST_RETRY * 2**doublings
    return min(wait, LONGEST_WAIT)


def next_attempt_after(attempts: int, now: datetime, *, sealed: bool = False) -> datetime | None:
    """When a message that has failed `attempts` times is tried again; None once it has used
    up its attempts (it waits for staff). A sealed notice never uses them up: it is on no staff
    route (even how many failed would say how many bid, ADR 27), so it is tried at the longest
    wait until it is sent."""
    if attempts >= MAX_ATTEMPTS and not sealed:
        return None
    return now + retry_delay(attempts)


async def pending(services: SenderParts, limit: int = 100) -> list[Any]:
    """The messages due: not sent, attempts left, and past their wait after a failure."""
    now = services.clock.now()
    due = outbox_messages.c.next_attempt_at
    async with services.engine.connect() as connection:
        result = await connection.execute(
            select(outbox_messages)
            .where(outbox_messages.c.sent_at.is_(None))
            .where(
                or_(
                    outbox_messages.c.attempts < MAX_ATTEMPTS,
                    outbox_messages.c.template == SEALED_TEMPLATE,
                )
            )
            .where(or_(due.is_(None), due <= now))
            .order_by(outbox_messages.c.created_at)
            .limit(limit)
        )
        return list(result)


# What refuses one message or its recipient, not the server: a recipient refused, a message
# the server will not take (its data refused), or one the email package cannot make (an address
# or header it refuses).
ONE_RECIPIENT_REFUSED = (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError, ValueError)


async def deliver(services: SenderParts, transport: Transport, row: Any) -> bool:
    """Send one outbox row to its organisation's users (a sealed batch's: each addressee's
    message to that organisation's users). True once the server accepted them all."""
    batch, messages = False, [(row.organisation_id, row.template, row.subject, row.body)]
    public: PublicNotice | None = None
    try:
        if row.template == SEALED_TEMPLATE:  # opened only to send; the row stays sealed
            if services.sealing is None:
                raise SealingError("no sealing keys to open a sealed notice with")
            opened = await services.run(open_sealed_row, services.sealing, row)
            batch, messages, public = opened.batch, opened.messages, opened.public_notice
    # Not only SealingError: contents that open but do not read as a notice fail this message
    # alone, as any message that cannot be made does (below).
    except Exception as error:
        await _failed(services, row.message_id, error)
        return False
    addresses = await _addresses(services, row, {org for org, *_ in messages})
    if public is not None:
        # A batch naming the public notice of its event (an amendment's to interested
        # suppliers) passes over whom that notice addresses: one message a member. Read for
        # every such batch, whatever it names; one passed over is left as if not named, so a
        # batch whose every addressee is (one query, the same) is probed as an empty one.
        told = await _told_publicly(services, public, {org for org, *_ in messages})
        addresses = {org: found for org, found in addresses.items() if org not in told}
    try:
        # One message each, so colleagues do not see each other's addresses; each keeps an id
        # of its own that is the same every time it is sent (a batch's, per addressee too: one
        # organisation may be told of two of its bids). A batch's row is one attempt, failed
        # or sent as a whole, whatever the number it tells: one log line at most.
        if batch and not any(addresses.get(org) for org, *_ in messages):
            # Nobody to tell: the server is reached all the same, so a batch naming no bidder
            # fails (an outage) or is sent as one naming some would (ADR 27).
            await services.run(transport.probe)
        for number, (organisation_id, _, subject, body) in enumerate(messages):
            key = f"{row.message_id}#{number}" if batch else row.message_id
            for recipient in addresses.get(organisation_id, []):
                message = EmailMessage()
                message["Message-ID"] = recipient_message_id(key, recipient)
                message["From"] = transport.sender
                message["To"] = recipient
                message["Subject"] = one_line(subject)
                message.set_content(body)
                try:
                    await services.run(transport.send, message)
                except ONE_RECIPIENT_REFUSED as error:
                    if not batch or _for_now(error):
                        raise
                    # In a sealed batch, an address the server or the email package refuses
                    # for good is passed over without a trace: a failed attempt, an error or a
                    # log line on the row would say that it named a bidder, which an empty
                    # batch never does (ADR 27). A refusal for now (4xx: greylisting, a full
                    # mailbox) fails the batch whole, to be tried again: every bidder must be
                    # told, and that failure is the one a batch naming nobody cannot show.
                    continue
    # The server or the network (OSError, SMTPException), or a message that cannot be made
    # (an address or header the email package refuses: ValueError, ...): this message's
    # attempt fails, counted, and the others are sent; after MAX_ATTEMPTS it waits for staff.
    # Nobody to tell (users erased) is sent: nothing will ever be sendable.
    except Exception as error:
        await _failed(services, row.message_id, error)
        return False
    return True


def _for_now(error: Exception) -> bool:
    """Whether a refusal is temporary (an SMTP 4xx reply): the server asks to be tried later."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return any(400 <= code < 500 for code, _ in error.recipients.values())
    if isinstance(error, smtplib.SMTPResponseException):
        return 400 <= error.smtp_code < 500
    return False


async def _addresses(
    services: SenderParts, row: Any, organisations: set[Any]
) -> dict[Any, list[str]]:
    """Each organisation's users' addresses (or the row's one address), in order: one query,
    however many organisations a batch names."""
    if row.recipient:
        return {org: [row.recipient] for org in organisations}
    found: dict[Any, list[str]] = {}
    async with services.engine.connect() as connection:
        result = await connection.execute(
            select(users.c.organisation_id, users.c.email).where(
                users.c.organisation_id.in_(sorted(o for o in organisations if o))
            )
        )
        for organisation_id, email in result:
            found.setdefault(organisation_id, []).append(email)
    return {org: sorted(emails) for org, emails in found.items()}


async def _told_publicly(
    services: SenderParts, public: PublicNotice, organisations: set[Any]
) -> set[Any]:
    """The organisations the public notice `public` addresses (its rows queued): one query."""
    ids = {
        message_id_for(public.originator_id, public.version, public.template, org): org
        for org in organisations
    }
    column = outbox_messages.c.message_id
    async with services.engine.connect() as connection:
        found = await connection.scalars(select(column).where(column.in_(sorted(ids))))
        return {ids[message_id] for message_id in found}


def one_line(header: str) -> str:
    """A header value without line breaks (a title may hold them; a header may not)."""
    return _LINE_BREAKS.sub(" ", header) if _LINE_BREAKS.search(header) else header


async def _failed(services: SenderParts, message_id: str, error: Exception) -> None:
    why = failure_of(error)
    now = services.clock.now()
    table = outbox_messages
    async with services.engine.begin() as connection:
        # The count as it stands now (staff may have put the message back meanwhile), locked
        # on PostgreSQL until the failure is written.
        found = (
            await connection.execute(
                select(table.c.attempts, table.c.template)
                .where(table.c.message_id == message_id)
                .with_for_update()
            )
        ).one_or_none()
        if found is None:
            return
        attempts, sealed = found.attempts, found.template == SEALED_TEMPLATE
        await connection.execute(
            update(table)
            .where(table.c.message_id == message_id)
            .values(
                attempts=attempts + 1,
                last_error=why,
                next_attempt_at=next_attempt_after(attempts + 1, now, sealed=sealed),
            )
        )
    _log.warning("mail %s not sent: %s", message_id, why)


def failure_of(error: Exception) -> str:
    """What a failed attempt records and logs: the error's kind and the server's codes, never
    its text. An SMTP server's refusal names the recipients ("<jo@…>: mailbox unavailable"),
    and the address a sealed notice went to says which organisation is bidding (ADR 27); the
    email package's refusals quote the address too."""
    kind = type(error).__name__
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = sorted({str(code) for code, _ in error.recipients.values()})
        return f"{kind}: {len(error.recipients)} recipient(s) refused ({', '.join(codes)})"
    if isinstance(error, smtplib.SMTPResponseException):
        return f"{kind}: the server answered {error.smtp_code}"
    if isinstance(error, OSError) and error.strerror:
        return f"{kind}: {error.strerror}"  # the network's words, not the message's
    return kind


def recipient_message_id(message_id: str, recipient: str) -> str:
    """The Message-ID one recipient's copy carries: from the outbox message and the address
    alone, so it is the same each time it is sent, however many colleagues are told with them
    (one joining between a failed attempt and the next changes no one's id)."""
    return f"<{uuid.uuid5(uuid.NAMESPACE_OID, f'{message_id} {recipient}')}@tradehall.invalid>"


async def mark_sent(services: SenderParts, message_id: str, at: datetime | None = None) -> None:
    """Sent `at` (now, if not said)."""
    async with services.engine.begin() as connection:
        await connection.execute(
            update(outbox_messages)
            .where(outbox_messages.c.message_id == message_id)
            .values(sent_at=at or services.clock.now(), attempts=outbox_messages.c.attempts + 1)
        )
        # Account e-mails carry one-use links: once sent, the outbox keeps no copy of them.
        await connection.execute(
            update(outbox_messages)
            .where(outbox_messages.c.message_id == message_id)
            .where(outbox_messages.c.template.startswith("account_"))
            .values(body=SENT_LINK_REMOVED)
        )


async def send_pending(services: SenderParts, transport: Transport) -> int:
    """Send what is waiting; returns how many were accepted. Each is recorded as sent when
    the round began: the moments between rows would say how many messages each took (a
    sealed batch's, how many bid, ADR 27)."""
    sent = 0
    began = services.clock.now()
    for row in await pending(services):
        if await deliver(services, transport, row):
            await mark_sent(services, row.message_id, began)
            sent += 1
    return sent


async def run_sender(
    services: SenderParts, transport: Transport, stop: asyncio.Event, interval: float
) -> None:
    while not stop.is_set():
        try:
            await send_pending(services, transport)
        except Exception:
            _log.exception("sending the outbox failed; trying again")
        try:
            await asyncio.wait_for(stop.wait(), interval)
        except TimeoutError:
            continue
