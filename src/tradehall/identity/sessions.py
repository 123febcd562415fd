"""Sign-in, refresh tokens and revocation (see docs/adr/0014).

- Sign-in is throttled per account and per client address (identity.throttle), the count taken
  before the password is checked.
- A sign-in opens a *family*: a chain of opaque refresh tokens, kept as SHA-256 hashes. Using a
  refresh token rotates it (it is marked used and a new one issued in one transaction); using a
  token already rotated means a copy is in other hands, so its whole family is revoked. Logout
  revokes the family.
- Every user has a token generation, carried in each access token. A password reset, a
  disabling or a removed role bumps it and revokes the user's families, in the transaction
  that makes the change: access tokens of older generations are refused on their next request
  (the caller is loaded from the database on every request).
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy import Executable, and_, delete, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from sharedkernel.errors import InvalidValue
from tradehall.identity import throttle
from tradehall.identity.parts import IdentityParts
from tradehall.identity.tables import (
    account_tokens,
    pending_registrations,
    refresh_tokens,
    token_families,
    users,
)
from tradehall.identity.tokens import token_hash, use_once
from tradehall.identity.users import Role, User, normalise_email, user_of_row

__all__ = [
    "AccountDisabled",
    "Caller",
    "RefreshRefused",
    "Session",
    "WrongCredentials",
    "caller",
    "disable_user",
    "enable_user",
    "logout",
    "open_session",
    "purge_expired",
    "refresh",
    "revoke_user_tokens",
    "set_roles",
    "sign_in",
]


class WrongCredentials(Exception):
    """The e-mail address or the password is wrong (which one is not said)."""


class AccountDisabled(Exception):
    """The password is right, but the account is disabled."""


class RefreshRefused(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Caller:
    """A user as the database has them now, with the generation their tokens must carry."""

    user: User
    generation: int


@dataclass(frozen=True)
class Session:
    caller: Caller
    family_id: UUID
    refresh_token: str
    refresh_expires_in: int


def login_policies(identity: IdentityParts) -> tuple[throttle.Policy, throttle.Policy]:
    settings = identity.settings
    account = throttle.Policy(
        free=settings.login_account_free_failures,
        base_seconds=1,
        max_seconds=settings.login_max_delay_seconds,
        decay_seconds=settings.throttle_decay_seconds,
    )
    address = throttle.Policy(
        free=settings.login_address_free_failures,
        base_seconds=1,
        max_seconds=settings.login_max_delay_seconds,
        decay_seconds=settings.throttle_decay_seconds,
    )
    return account, address


async def sign_in(identity: IdentityParts, email: str, password: str, client: str | None) -> Caller:
    """Check an e-mail address and password, throttled per account and per client address.

    Raises throttle.Throttled (nothing checked), WrongCredentials or AccountDisabled.
    """
    engine, now = identity.engine, identity.clock.now()
    account_policy, address_policy = login_policies(identity)
    try:
        normalised = normalise_email(email)
    except InvalidValue:  # not an address by today's rules: looked up (and throttled) as given
        normalised = email.strip().lower()
    address_attempt = await throttle.count_attempt(
        engine, throttle.address_key(client), address_policy, now
    )
    try:
        await throttle.count_attempt(engine, throttle.account_key(normalised), account_policy, now)
    except throttle.Throttled:
        await throttle.refund(engine, address_attempt)  # not an attempt at all
        raise
    async with engine.connect() as connection:
        row = (await connection.execute(select(users).where(users.c.email == normalised))).first()
    stored = row.password_hash if row is not None else None
    check = await identity.run(identity.passwords.check, stored, password)
    if row is None or not check.ok:
        raise WrongCredentials
    # A right password: the account starts afresh, and the address gets its attempt back
    # (colleagues behind one address do not use up each other's allowance).
    await throttle.clear(engine, throttle.account_key(normalised))
    await throttle.refund(engine, address_attempt)
    if check.new_hash is not None:
        async with engine.begin() as connection:
            await connection.execute(
                update(users)
                .where(users.c.id == row.id, users.c.password_hash == stored)
                .values(password_hash=check.new_hash)
            )
    if row.disabled_at is not None:
        raise AccountDisabled
    return Caller(user_of_row(row), row.token_generation)


async def open_session(identity: IdentityParts, caller: Caller) -> Session:
    """A new family with its first refresh token."""
    now = identity.clock.now()
    family_id, secret = uuid.uuid4(), secrets.token_urlsafe(32)
    lifetime = identity.settings.refresh_lifetime_seconds
    async with identity.engine.begin() as connection:
        await connection.execute(
            insert(token_families).values(
                id=family_id, user_id=caller.user.id, created_at=now, revoked_at=None
            )
        )
        await connection.execute(_refresh_row(secret, family_id, now, lifetime))
    return Session(caller, family_id, secret, lifetime)


def _refresh_row(secret: str, family_id: UUID, now: datetime, lifetime: int) -> Executable:
    return insert(refresh_tokens).values(
        token_hash=token_hash(secret),
        family_id=family_id,
        created_at=now,
        expires_at=now + timedelta(seconds=lifetime),
        used_at=None,
    )


def _revoke_family(family_id: UUID, now: datetime, reason: str) -> Executable:
    return (
        update(token_families)
        .where(token_families.c.id == family_id, token_families.c.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=reason)
    )


async def refresh(identity: IdentityParts, secret: str) -> Session:
    """Rotate a refresh token: the old one is used up, a new one of the same family issued.

    A token already rotated revokes its family (RefreshRefused either way).
    """
    now = identity.clock.now()
    hashed = token_hash(secret)
    async with identity.engine.connect() as connection:
        row = (
            await connection.execute(
                select(
                    refresh_tokens.c.family_id,
                    refresh_tokens.c.expires_at,
                    refresh_tokens.c.used_at,
                    token_families.c.revoked_at,
                    users,
                )
                .join(token_families, token_families.c.id == refresh_tokens.c.family_id)
                .join(users, users.c.id == token_families.c.user_id)
                .where(refresh_tokens.c.token_hash == hashed)
            )
        ).first()
    if row is None:
        raise RefreshRefused("this refresh token is unknown")
    if row.revoked_at is not None:
        raise RefreshRefused("this refresh token's sign-in has ended")
    if row.used_at is not None:
        await _revoke(identity.engine, row.family_id, now, "reuse")
        raise RefreshRefused("this refresh token was used already; its sign-in is ended")
    if row.expires_at <= now:
        raise RefreshRefused("this refresh token has expired")
    if row.disabled_at is not None:
        raise RefreshRefused("this account is disabled")
    new_secret = secrets.token_urlsafe(32)
    lifetime = identity.settings.refresh_lifetime_seconds
    async with identity.engine.begin() as connection:
        claimed = await connection.execute(use_once(refresh_tokens, hashed, now))
        if claimed.rowcount == 1:
            await connection.execute(_refresh_row(new_secret, row.family_id, now, lifetime))
    if claimed.rowcount != 1:
        # Rotated by a concurrent request with the same token: one of the two is a copy.
        await _revoke(identity.engine, row.family_id, now, "reuse")
        raise RefreshRefused("this refresh token was used already; its sign-in is ended")
    return Session(
        Caller(user_of_row(row), row.token_generation), row.family_id, new_secret, lifetime
    )


async def _revoke(engine: AsyncEngine, family_id: UUID, now: datetime, reason: str) -> None:
    async with engine.begin() as connection:
        await connection.execute(_revoke_family(family_id, now, reason))


async def logout(identity: IdentityParts, secret: str) -> None:
    """End the sign-in the refresh token belongs to (whatever its state; unknown: nothing)."""
    async with identity.engine.connect() as connection:
        family_id = (
            await connection.execute(
                select(refresh_tokens.c.family_id).where(
                    refresh_tokens.c.token_hash == token_hash(secret)
                )
            )
        ).scalar()
    if family_id is not None:
        await _revoke(identity.engine, family_id, identity.clock.now(), "logout")


async def caller(
    engine: AsyncEngine, user_id: UUID, generation: int, family_id: UUID | None
) -> Caller | None:
    """The user a token names, if the token still stands: the user exists and is enabled,
    the token is of the user's current generation and its family (if any) is not revoked."""
    family = token_families.alias("family")
    async with engine.connect() as connection:
        # One statement: no transaction around it (BEGIN and ROLLBACK were two more round trips
        # on every signed-in request; the pool resets the level when the connection returns).
        connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
        row = (
            await connection.execute(
                select(users, family.c.id.label("family_id"), family.c.revoked_at)
                .select_from(
                    users.outerjoin(
                        family, and_(family.c.id == family_id, family.c.user_id == users.c.id)
                    )
                )
                .where(users.c.id == user_id)
            )
        ).first()
    if row is None or row.disabled_at is not None or row.token_generation != generation:
        return None
    if family_id is not None and (row.family_id is None or row.revoked_at is not None):
        return None
    return Caller(user_of_row(row), row.token_generation)


async def purge_expired(engine: AsyncEngine, now: datetime, throttle_decay_seconds: int) -> int:
    """Forget what no longer matters: decayed throttles, refresh tokens past their expiry,
    pending registrations past theirs (confirmed or not: one not confirmed holds a person's
    address and password hash), and account links past theirs (an invitation never accepted
    holds the invitee's address)."""
    purged = await throttle.purge(engine, now, throttle_decay_seconds)
    async with engine.begin() as connection:
        for table in (refresh_tokens, pending_registrations, account_tokens):
            result = await connection.execute(delete(table).where(table.c.expires_at < now))
            purged += int(result.rowcount)
    return purged


def revoke_user_tokens(user_id: UUID, now: datetime, reason: str) -> list[Executable]:
    """Statements that end every token of the user: run them in the change's transaction."""
    return [
        update(users)
        .where(users.c.id == user_id)
        .values(token_generation=users.c.token_generation + 1),
        update(token_families)
        .where(token_families.c.user_id == user_id, token_families.c.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=reason),
    ]


def disable_user(connection: Connection, user_id: UUID, now: datetime) -> None:
    """Disable a user: no sign-in, and every token of theirs stops working at once."""
    connection.execute(update(users).where(users.c.id == user_id).values(disabled_at=now))
    for statement in revoke_user_tokens(user_id, now, "disabled"):
        connection.execute(statement)


def enable_user(connection: Connection, user_id: UUID) -> None:
    connection.execute(update(users).where(users.c.id == user_id).values(disabled_at=None))


def set_roles(connection: Connection, user_id: UUID, roles: frozenset[Role], now: datetime) -> None:
    """Give a user these roles; if one is taken away, their tokens stop working at once."""
    current = connection.execute(select(users.c.roles).where(users.c.id == user_id)).scalar_one()
    connection.execute(
        update(users).where(users.c.id == user_id).values(roles=" ".join(sorted(roles)))
    )
    if set(current.split()) - set(roles):
        for statement in revoke_user_tokens(user_id, now, "role removed"):
            connection.execute(statement)
