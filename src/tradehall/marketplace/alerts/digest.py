"""The daily digest of saved searches' alerts (issue 17): a clock job that queues, for each
member with daily alerts not yet told, one message listing them. Idempotent: the message's id
is the member's and the day's (London), so a second tick that day queues nothing; alerts
recorded after that day's digest wait for the next day's.

The alerts and the outbox row are written in one transaction; two ticks at once clash on the
message id and the loser's transaction changes nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from sqlalchemy import Connection, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from marketplace.alerts.criteria import OPPORTUNITY, Delivery
from marketplace.working_days import london_date
from tradehall.mail.outbox import message_id_for
from tradehall.mail.tables import outbox_messages
from tradehall.marketplace.alerts.follower import ITEM_WORDS, item_link
from tradehall.marketplace.alerts.tables import alert_searches, alerts

log = logging.getLogger("tradehall.clock")
DIGEST_TEMPLATE = "saved_search_digest"
_DIGEST_NAMESPACE = uuid5(NAMESPACE_URL, "https://tradehall.invalid/alert-digest")
# The most alerts one digest lists (the rest are in the feed).
MAX_LISTED = 50


class _Overtaken(Exception):
    pass


def digest_message_id(organisation_id: UUID, now: datetime) -> str:
    day = london_date(now).isoformat()
    return message_id_for(uuid5(_DIGEST_NAMESPACE, f"{organisation_id}:{day}"), 1, DIGEST_TEMPLATE)


def _waiting(connection: Connection, now: datetime) -> dict[UUID, list[Any]]:
    a, s = alerts, alert_searches
    rows = connection.execute(
        select(a.c.alert_id, a.c.organisation_id, a.c.title, a.c.item_kind, a.c.item_id)
        .join(s, s.c.search_id == a.c.search_id)
        .where(
            a.c.delivery == Delivery.DAILY.value,
            a.c.message_id.is_(None),
            a.c.created_at <= now,
            s.c.deleted.is_(False),
        )
        .order_by(a.c.organisation_id, a.c.created_at, a.c.alert_id)
    )
    waiting: dict[UUID, list[Any]] = {}
    for row in rows:
        waiting.setdefault(row.organisation_id, []).append(row)
    return waiting


def _body(rows: list[Any], public_url: str, organisation_id: UUID) -> str:
    lines = [
        f"{len(rows)} new tenders, opportunities and requests for quote match your saved searches:",
        "",
    ]
    for row in rows[:MAX_LISTED]:
        words = ITEM_WORDS.get(row.item_kind, ITEM_WORDS[OPPORTUNITY])
        lines.append(
            f"- {row.title} ({words[1]})\n  {item_link(row.item_kind, row.item_id, public_url)}"
        )
    if len(rows) > MAX_LISTED:
        lines.append(f"... and {len(rows) - MAX_LISTED} more.")
    lines += ["", f"Every alert: {public_url}/api/v1/organisations/{organisation_id}/alerts"]
    return "\n".join(lines)


async def queue_digests(engine: AsyncEngine, now: datetime, public_url: str) -> int:
    """Queue today's digest for each member with daily alerts waiting; how many were queued."""
    public_url = public_url.rstrip("/")
    async with engine.connect() as connection:
        waiting = await connection.run_sync(_waiting, now)
    queued = 0
    for organisation_id, rows in waiting.items():
        message_id = digest_message_id(organisation_id, now)
        try:
            async with engine.begin() as connection:
                there = await connection.scalar(
                    select(outbox_messages.c.message_id).where(
                        outbox_messages.c.message_id == message_id
                    )
                )
                if there is not None:
                    continue  # today's digest went already: these wait for tomorrow's
                ids = [row.alert_id for row in rows]
                taken = (
                    await connection.execute(
                        update(alerts)
                        .where(alerts.c.alert_id.in_(ids), alerts.c.message_id.is_(None))
                        .values(message_id=message_id)
                    )
                ).rowcount
                if taken != len(ids):
                    raise _Overtaken  # another tick took some: roll back, leave it theirs
                await connection.execute(
                    outbox_messages.insert().values(
                        message_id=message_id,
                        template=DIGEST_TEMPLATE,
                        organisation_id=organisation_id,
                        recipient=None,
                        subject=f"Your saved searches: {len(rows)} new today",
                        body=_body(rows, public_url, organisation_id),
                        created_at=now,
                        sent_at=None,
                        attempts=0,
                        last_error=None,
                        sealed=None,
                    )
                )
            queued += 1
        except (IntegrityError, _Overtaken):
            log.info("alert digest: another tick queued %s's digest", organisation_id)
    return queued


async def alert_digest_tick(services: Any) -> str:
    """The digest for `tradehall clock tick` (`ContextDeclaration.clock_ticks`)."""
    now = services.clock.now()
    count = await queue_digests(services.engine, now, services.settings.public_url)
    return f"alert digests: queued {count}"


async def queue_alert_digests(services: Any, interval: float, stop: asyncio.Event) -> None:
    """The digest's clock job (`ContextDeclaration.clock_jobs`): a tick now and every
    `interval` seconds until `stop` is set."""
    while not stop.is_set():
        try:
            log.info(await alert_digest_tick(services))
        except Exception:
            log.exception("the alert digest failed; trying again at the next tick")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)
