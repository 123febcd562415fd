"""Throttles kept in the database, so they hold across API workers (see docs/adr/0014).

A throttle counts attempts under a key (an account, a client address, a mail recipient). Each
attempt is counted *before* the work it guards (a password check, a mail), by a compare-and-set
on the key's row, so a burst of concurrent requests cannot all slip past the check before the
first failure is written. After `free` counted attempts each further one sets a wait that doubles
from `base_seconds` up to `max_seconds`; an attempt inside the wait is refused (and not counted,
so refusals never lengthen it). One counted attempt is forgotten per `decay_seconds` without
one, so the count, and with it the wait, decays to nothing: a throttle is never a lock-out.

An attempt that turns out well is given back (`refund`) or the key cleared (`clear`, or
`clearing` in a transaction of the caller's).
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Delete, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from tradehall.identity.tables import throttles

# Beyond this the wait is at its cap long since; keeping the count small bounds its decay.
MAX_COUNTED = 64
_ATTEMPTS_TO_SET = 20


@dataclass(frozen=True)
class Policy:
    free: int
    base_seconds: float
    max_seconds: float
    decay_seconds: float

    def wait_after(self, counted: int) -> timedelta:
        """How long the next attempt must wait after `counted` attempts."""
        if counted < self.free:
            return timedelta(0)
        seconds = self.base_seconds * 2 ** min(counted - self.free, 40)
        return timedelta(seconds=min(self.max_seconds, seconds))

    def decayed(self, counted: int, last: datetime, now: datetime) -> int:
        quiet = max(0.0, (now - last).total_seconds())
        return max(0, counted - int(quiet // self.decay_seconds))


class Throttled(Exception):
    """Too many attempts under a key: try again after `retry_after` seconds."""

    def __init__(self, key: str, retry_after: int) -> None:
        super().__init__(f"throttled: retry after {retry_after} s")
        self.key = key
        self.retry_after = retry_after


@dataclass(frozen=True)
class Attempt:
    """A counted attempt, with the row as it was before, so it can be given back."""

    key: str
    version: int
    before_failures: int
    before_blocked_until: datetime
    before_updated_at: datetime


def account_key(email: str) -> str:
    return "login:account:" + hashlib.sha256(email.encode()).hexdigest()[:40]


def address_key(host: str | None) -> str:
    """A client address; IPv6 by its /64 (one host is handed a whole /64)."""
    try:
        address = ipaddress.ip_address(host or "")
    except ValueError:
        return f"login:address:{(host or 'unknown')[:60]}"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return f"login:address:{address.ipv4_mapped}"
        return f"login:address:{ipaddress.ip_network(f'{address}/64', strict=False)}"
    return f"login:address:{address}"


def mail_key(email: str) -> str:
    """A mailbox: the address without a subaddress (`name+tag@` reaches `name@` at most
    providers, so each tag is not a throttle of its own). Two people whose addresses differ
    only by a tag share a throttle, which costs them at most a wait."""
    local, at, domain = email.rpartition("@")
    mailbox = f"{local.split('+', 1)[0] or local}{at}{domain}" if at else email
    return "mail:" + hashlib.sha256(mailbox.encode()).hexdigest()[:40]


def _retry_after(blocked_until: datetime, now: datetime) -> int:
    return max(1, math.ceil((blocked_until - now).total_seconds()))


async def _row(engine: AsyncEngine, key: str) -> Any:
    # Read outside the writing transaction: each write is then one compare-and-set statement,
    # which SQLite serialises without a lock upgrade (no "database is locked" under a burst).
    async with engine.connect() as connection:
        return (
            await connection.execute(select(throttles).where(throttles.c.throttle_key == key))
        ).first()


async def _write(engine: AsyncEngine, statement: Any) -> int:
    async with engine.begin() as connection:
        return int((await connection.execute(statement)).rowcount)


async def count_attempt(engine: AsyncEngine, key: str, policy: Policy, now: datetime) -> Attempt:
    """Count an attempt under `key`, or raise Throttled if it must wait."""
    for _ in range(_ATTEMPTS_TO_SET):
        row = await _row(engine, key)
        if row is None:
            try:
                await _write(
                    engine,
                    insert(throttles).values(
                        throttle_key=key,
                        failures=1,
                        blocked_until=now + policy.wait_after(1),
                        updated_at=now,
                        version=1,
                    ),
                )
            except IntegrityError:
                continue  # another worker wrote the first row for this key: read it again
            return Attempt(key, 1, 0, now, now)
        if now < row.blocked_until:
            raise Throttled(key, _retry_after(row.blocked_until, now))
        counted = min(MAX_COUNTED, policy.decayed(row.failures, row.updated_at, now) + 1)
        changed = await _write(
            engine,
            update(throttles)
            .where(throttles.c.throttle_key == key, throttles.c.version == row.version)
            .values(
                failures=counted,
                blocked_until=now + policy.wait_after(counted),
                updated_at=now,
                version=row.version + 1,
            ),
        )
        if changed == 1:
            return Attempt(key, row.version + 1, row.failures, row.blocked_until, row.updated_at)
    raise Throttled(key, 1)  # a storm of writers on one key: let it calm


async def refund(engine: AsyncEngine, attempt: Attempt) -> None:
    """Give back an attempt that turned out well (a right password from a shared address)."""
    restored = await _write(
        engine,
        update(throttles)
        .where(throttles.c.throttle_key == attempt.key, throttles.c.version == attempt.version)
        .values(
            failures=attempt.before_failures,
            blocked_until=attempt.before_blocked_until,
            updated_at=attempt.before_updated_at,
            version=attempt.version + 1,
        ),
    )
    if restored == 1:
        return
    # Others counted since: take one off, and leave their wait as it is.
    for _ in range(_ATTEMPTS_TO_SET):
        row = await _row(engine, attempt.key)
        if row is None:
            return
        taken = await _write(
            engine,
            update(throttles)
            .where(throttles.c.throttle_key == attempt.key, throttles.c.version == row.version)
            .values(failures=max(0, row.failures - 1), version=row.version + 1),
        )
        if taken == 1:
            return


def clearing(key: str) -> Delete:
    """The statement `clear` runs, for a transaction of the caller's."""
    return delete(throttles).where(throttles.c.throttle_key == key)


async def clear(engine: AsyncEngine, key: str) -> None:
    await _write(engine, clearing(key))


async def purge(engine: AsyncEngine, now: datetime, decay_seconds: float) -> int:
    """Delete rows whose count has decayed to nothing and whose wait is over."""
    forgotten = now - timedelta(seconds=decay_seconds * MAX_COUNTED)
    async with engine.begin() as connection:
        result = await connection.execute(
            delete(throttles).where(
                throttles.c.updated_at < forgotten, throttles.c.blocked_until < now
            )
        )
    return int(result.rowcount)
