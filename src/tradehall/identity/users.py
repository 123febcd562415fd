"""Users: e-mail, argon2 password hash, organisation and roles."""

from __future__ import annotations

import logging
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import Insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from sharedkernel.errors import InvalidValue
from sharedkernel.text import TextRejected, check_email
from tradehall.identity.tables import users


class Role(StrEnum):
    STAFF = "staff"
    ASSESSOR = "assessor"
    MEMBER = "member"
    BUYER = "buyer"
    # Administers its organisation's users (invites colleagues).
    ADMIN = "admin"


@dataclass(frozen=True)
class User:
    id: UUID
    email: str
    organisation_id: UUID | None
    roles: frozenset[Role]


MIN_PASSWORD = 10
MAX_PASSWORD = 256


def normalise_email(email: str, *, field: str = "email") -> str:
    """The one form an address is kept, looked up and throttled under: lower case, and the
    domain as IDNA resolves it (UTS 46 maps fullwidth letters to ASCII, and an A-label
    `xn--…` is written as its U-label), so the ways of writing one mailbox's domain are one
    account and one mail throttle. The local part is the mailbox's own: only lowered."""
    try:
        parts = validate_email(check_email(email.strip()), check_deliverability=False)
    except (TextRejected, EmailNotValidError):
        raise InvalidValue(field, "not an e-mail address") from None
    return f"{parts.local_part}@{parts.domain}".lower()


def check_password_policy(password: str, *, field: str = "password") -> None:
    if len(password) < MIN_PASSWORD:
        raise InvalidValue(field, f"use at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise InvalidValue(field, f"use at most {MAX_PASSWORD} characters")


def normalise_password(password: str) -> str:
    """The form a password is hashed in: Unicode NFC (the same characters typed on another
    keyboard or platform give the same bytes)."""
    return unicodedata.normalize("NFC", password)


@dataclass(frozen=True)
class PasswordCheck:
    ok: bool
    # Store this instead of the old hash: the NFC form's hash, when the password matched only
    # in the form given (set before passwords were normalised) or under older parameters.
    new_hash: str | None = None


class Passwords:
    """argon2id hashing of the NFC form. Slow by design: call it from a worker thread."""

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self._hasher = hasher or PasswordHasher()
        # Verified against when the e-mail is unknown, so both paths cost the same.
        self._decoy = self._hasher.hash("decoy password that matches nothing")

    def hash(self, password: str) -> str:
        """The hash to store for a new password (registration, reset, invitation)."""
        return self._hasher.hash(normalise_password(password))

    def check(self, password_hash: str | None, given: str) -> PasswordCheck:
        """Sign-in: the NFC form first; if that fails and the form given differs, that form
        (a password set before normalisation keeps working), rehashed to NFC on success.

        The work does not depend on whether `password_hash` exists (unknown users are checked
        against a decoy), only on the text given.
        """
        normal = normalise_password(given)
        if self.verify(password_hash, normal):
            assert password_hash is not None
            if self._hasher.check_needs_rehash(password_hash):
                return PasswordCheck(True, self._hasher.hash(normal))
            return PasswordCheck(True)
        if normal != given and self.verify(password_hash, given):
            return PasswordCheck(True, self._hasher.hash(normal))
        return PasswordCheck(False)

    def verify(self, password_hash: str | None, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash or self._decoy, password) and bool(
                password_hash
            )
        except (VerificationError, InvalidHashError):
            return False


def insert_user(
    *,
    user_id: UUID,
    email: str,
    password_hash: str,
    organisation_id: UUID | None,
    roles: frozenset[Role],
    now: datetime,
) -> Insert:
    """The statement that writes a user row (run alone, or beside events as a side write)."""
    return users.insert().values(
        id=user_id,
        email=email,
        password_hash=password_hash,
        organisation_id=organisation_id,
        roles=" ".join(sorted(roles)),
        created_at=now,
    )


def user_of_row(row: object) -> User:
    """A users row as a User (plain UUIDs, whatever the driver gives)."""
    mapping = row._mapping  # type: ignore[attr-defined]
    # Plain UUIDs: asyncpg gives its own UUID type, which the event transcoder does not know.
    organisation_id = mapping["organisation_id"]
    return User(
        id=UUID(str(mapping["id"])),
        email=mapping["email"],
        organisation_id=None if organisation_id is None else UUID(str(organisation_id)),
        roles=known_roles(mapping["roles"]),
    )


_log = logging.getLogger("tradehall.identity")
_ROLE_NAMES = frozenset(role.value for role in Role)
_unknown_logged: set[str] = set()


def known_roles(stored: str) -> frozenset[Role]:
    """The roles a users row's `roles` names that this code knows. A name it does not know (a
    role dropped or renamed without a migration of `users.roles`) grants nothing: it is left
    out, never read as another, and logged once per name per process (the name alone: no user,
    no address), instead of every request of its user being a 500."""
    names = stored.split()
    unknown = [name for name in names if name not in _ROLE_NAMES]
    for name in unknown:
        if name not in _unknown_logged:
            _unknown_logged.add(name)
            # The name is cut and repr'd: it is whatever the column holds.
            _log.warning("users.roles names an unknown role, ignored: %r", name[:40])
    return frozenset(Role(name) for name in names if name in _ROLE_NAMES)


class UserDirectory:
    """Async reads of the users table."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def credentials(self, email: str) -> tuple[User, str] | None:
        async with self._engine.connect() as connection:
            result = await connection.execute(select(users).where(users.c.email == email))
            row = result.first()
        if row is None:
            return None
        return user_of_row(row), row._mapping["password_hash"]

    async def by_id(self, user_id: UUID) -> User | None:
        """An enabled user by id (a disabled one is as good as none)."""
        async with self._engine.connect() as connection:
            query = select(users).where(users.c.id == user_id, users.c.disabled_at.is_(None))
            row = (await connection.execute(query)).first()
        return None if row is None else user_of_row(row)

    async def email_taken(self, email: str) -> bool:
        async with self._engine.connect() as connection:
            result = await connection.execute(select(users.c.id).where(users.c.email == email))
            return result.first() is not None


def create_user(connection: Connection, statement: Insert) -> None:
    connection.execute(statement)
