"""Account e-mails: verify an address, reset a password, invite a colleague.

Each writes a one-use token (only its hash is kept) and an outbox message in one transaction.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import Insert, insert, select, update
from sqlalchemy.exc import IntegrityError

from sharedkernel.errors import Conflict, InvalidValue
from tradehall.identity.tables import account_tokens, users
from tradehall.identity.users import (
    Role,
    User,
    check_password_policy,
    insert_user,
    normalise_email,
)
from tradehall.mail.tables import outbox_messages
from tradehall.services import Services

VERIFY, RESET, INVITE = "verify", "reset", "invite"
LIFETIMES = {VERIFY: timedelta(days=7), RESET: timedelta(hours=1), INVITE: timedelta(days=14)}
_MAIL = {
    VERIFY: ("Confirm your e-mail address", "Confirm this address for Tradehall: {link}"),
    RESET: (
        "Reset your Tradehall password",
        "Someone asked to reset your password. If it was you: {link} (valid for an hour). "
        "If not, ignore this message.",
    ),
    INVITE: (
        "You are invited to Tradehall",
        "A colleague invited you to act for your organisation on Tradehall. Set your password "
        "here: {link}",
    ),
}
_PATHS = {VERIFY: "account/verify", RESET: "account/reset", INVITE: "account/invitation"}


def token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def token_and_mail(
    purpose: str,
    *,
    recipient: str,
    now: datetime,
    public_url: str,
    user_id: UUID | None = None,
    organisation_id: UUID | None = None,
    roles: frozenset[Role] | None = None,
) -> list[Insert]:
    """The token row and the message carrying its secret, to write in one transaction."""
    secret = secrets.token_urlsafe(32)
    hashed = token_hash(secret)
    subject, body = _MAIL[purpose]
    link = f"{public_url.rstrip('/')}/{_PATHS[purpose]}?token={secret}"
    return [
        insert(account_tokens).values(
            token_hash=hashed,
            purpose=purpose,
            user_id=user_id,
            organisation_id=organisation_id,
            email=recipient if purpose == INVITE else None,
            roles=" ".join(sorted(roles)) if roles else None,
            expires_at=now + LIFETIMES[purpose],
            used_at=None,
            created_at=now,
        ),
        insert(outbox_messages).values(
            message_id=f"<{uuid.uuid5(uuid.NAMESPACE_OID, hashed)}@tradehall.invalid>",
            template=f"account_{purpose}",
            organisation_id=organisation_id,
            recipient=recipient,
            subject=subject,
            body=body.format(link=link),
            created_at=now,
            sent_at=None,
            attempts=0,
            last_error=None,
        ),
    ]


async def _write(services: Services, statements: list[Insert]) -> None:
    async with services.engine.begin() as connection:
        for statement in statements:
            await connection.execute(statement)


async def _use_token(services: Services, connection: Any, secret: str, purpose: str) -> Any:
    """The token's row, marked used in the caller's transaction; refused if not usable."""
    now = services.clock.now()
    hashed = token_hash(secret)
    row = (
        await connection.execute(
            select(account_tokens).where(
                account_tokens.c.token_hash == hashed, account_tokens.c.purpose == purpose
            )
        )
    ).first()
    if row is None or row.expires_at < now:
        raise InvalidValue("token", "this link is unknown or has expired")
    claimed = await connection.execute(
        update(account_tokens)
        .where(account_tokens.c.token_hash == hashed, account_tokens.c.used_at.is_(None))
        .values(used_at=now)
    )
    if claimed.rowcount != 1:
        raise InvalidValue("token", "this link has been used already")
    return row


async def request_verification(services: Services, user: User) -> None:
    async with services.engine.connect() as connection:
        email = (
            await connection.execute(select(users.c.email).where(users.c.id == user.id))
        ).scalar_one()
    await _write(
        services,
        token_and_mail(
            VERIFY,
            recipient=email,
            now=services.clock.now(),
            public_url=services.settings.public_url,
            user_id=user.id,
            organisation_id=user.organisation_id,
        ),
    )


async def confirm_verification(services: Services, secret: str) -> None:
    async with services.engine.begin() as connection:
        row = await _use_token(services, connection, secret, VERIFY)
        await connection.execute(
            update(users)
            .where(users.c.id == row.user_id)
            .values(email_verified_at=services.clock.now())
        )


async def request_password_reset(services: Services, email: str) -> None:
    """Sends a reset link if the address has an account; says nothing either way."""
    address = normalise_email(email)
    found = await services.users.credentials(address)
    if found is None:
        return
    user, _ = found
    await _write(
        services,
        token_and_mail(
            RESET,
            recipient=address,
            now=services.clock.now(),
            public_url=services.settings.public_url,
            user_id=user.id,
            organisation_id=user.organisation_id,
        ),
    )


async def confirm_password_reset(services: Services, secret: str, password: str) -> None:
    check_password_policy(password)
    password_hash = await services.run(services.passwords.hash, password)
    async with services.engine.begin() as connection:
        row = await _use_token(services, connection, secret, RESET)
        await connection.execute(
            update(users).where(users.c.id == row.user_id).values(password_hash=password_hash)
        )
        # Any other reset link still out there stops working with this one.
        await connection.execute(
            update(account_tokens)
            .where(
                account_tokens.c.user_id == row.user_id,
                account_tokens.c.purpose == RESET,
                account_tokens.c.used_at.is_(None),
            )
            .values(used_at=services.clock.now())
        )


async def invite(services: Services, inviter: User, organisation_id: UUID, email: str) -> None:
    address = normalise_email(email)
    if await services.users.email_taken(address):
        raise Conflict("a user with this e-mail address is already registered")
    # The invitee acts as the inviter does (member or buyer), without administering others.
    roles = frozenset(inviter.roles & {Role.MEMBER, Role.BUYER}) or frozenset({Role.MEMBER})
    await _write(
        services,
        token_and_mail(
            INVITE,
            recipient=address,
            now=services.clock.now(),
            public_url=services.settings.public_url,
            organisation_id=organisation_id,
            roles=roles,
        ),
    )


async def accept_invitation(services: Services, secret: str, password: str) -> UUID:
    check_password_policy(password)
    password_hash = await services.run(services.passwords.hash, password)
    user_id = uuid.uuid4()
    try:
        async with services.engine.begin() as connection:
            row = await _use_token(services, connection, secret, INVITE)
            await connection.execute(
                insert_user(
                    user_id=user_id,
                    email=row.email,
                    password_hash=password_hash,
                    organisation_id=row.organisation_id,
                    roles=frozenset(Role(name) for name in (row.roles or "").split()),
                    now=services.clock.now(),
                ).values(email_verified_at=services.clock.now())
            )
    except IntegrityError:
        raise Conflict("a user with this e-mail address is already registered") from None
    return user_id
