"""The identity tables (SQLAlchemy Core). Alembic migrations create them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, Index, Integer, MetaData, String, Table, Text, Uuid, text

from sharedkernel.sqltypes import NAMING_CONVENTION, UtcDateTime

__all__ = [
    "EMAIL_UNIQUE_CONSTRAINT",
    "account_tokens",
    "contact_points",
    "metadata",
    "pending_registrations",
    "refresh_tokens",
    "throttles",
    "token_families",
    "users",
]

# One naming convention and one UTC type for every table we own.
metadata = MetaData(naming_convention=NAMING_CONVENTION)


users = Table(
    "users",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("email", String(320), nullable=False, unique=True),
    Column("password_hash", String(200), nullable=False),
    Column("organisation_id", Uuid, nullable=True),
    # Space-separated role names: staff, assessor, member, buyer, admin.
    Column("roles", String(200), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("email_verified_at", UtcDateTime, nullable=True),
    # Every token carries the generation it was issued under; a password reset, a disabling
    # or a removed role bumps it, and older tokens stop working at once.
    Column("token_generation", Integer, nullable=False, server_default=text("0")),
    Column("disabled_at", UtcDateTime, nullable=True),
)
Index("ix_users_organisation_id", users.c.organisation_id)


def _one_use_tokens(name: str, *columns: Column[Any]) -> Table:
    """A table of one-use secrets, kept only as their hash (`tokens.token_hash`, 64 hex
    characters): what `columns` say of each, when it was made, when it expires, and when it
    was used (`tokens.use_once`)."""
    return Table(
        name,
        metadata,
        Column("token_hash", String(64), primary_key=True),
        *columns,
        Column("created_at", UtcDateTime, nullable=False),
        Column("expires_at", UtcDateTime, nullable=False),
        Column("used_at", UtcDateTime, nullable=True),
    )


# One-use secrets sent by e-mail: verify an address, reset a password, accept an invitation.
# Only a hash is kept; the secret itself exists in the message alone.
account_tokens = _one_use_tokens(
    "account_tokens",
    Column("purpose", String(20), nullable=False),
    Column("user_id", Uuid, nullable=True),
    Column("organisation_id", Uuid, nullable=True),
    # For an invitation: who is invited, and with which roles.
    Column("email", String(320), nullable=True),
    Column("roles", String(200), nullable=True),
    # For an invitation: the admin who sent it; its acceptance is refused unless they are still
    # an enabled admin of the organisation (null on links written before migration 0036).
    Column("invited_by", Uuid, nullable=True),
)
# The clock's purge deletes links past their expiry each tick.
Index("ix_account_tokens_expires_at", account_tokens.c.expires_at)

# Registrations asked for by the public route, waiting for the link mailed to the address
# (ADR 8): what was declared and the password's hash, never in events until confirmed (ADR 4).
# The ids are chosen when asked: a second confirmation of one link would record the very same
# organisation and user, which the log and `users` refuse. A row for an address already taken
# is written too, inert (used, without data), so the work is the same either way; a used row
# keeps no personal data; the clock's tick deletes rows past their expiry.
pending_registrations = _one_use_tokens(
    "pending_registrations",
    Column("organisation_id", Uuid, nullable=False),
    Column("user_id", Uuid, nullable=False),
    Column("email", String(320), nullable=True),
    Column("password_hash", String(200), nullable=True),
    # The declared details as registration takes them (JSON).
    Column("details", Text, nullable=True),
)
Index("ix_pending_registrations_expires_at", pending_registrations.c.expires_at)

EMAIL_UNIQUE_CONSTRAINT = "uq_users_email"

# Failure counters with a back-off (see identity/throttle.py): sign-in per account and per
# client address, account mails per recipient. Keys hold hashes, not addresses.
throttles = Table(
    "throttles",
    metadata,
    Column("throttle_key", String(100), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("blocked_until", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    # Compare-and-set: concurrent API workers never lose a count.
    Column("version", Integer, nullable=False),
)
Index("ix_throttles_updated_at", throttles.c.updated_at)

# An organisation's contact points (membership.contacts): people's names, e-mails and phones,
# so a table, never events (ADR 4). Here, beside `users`, because the same rules bind both:
# replaced or erased in place, in the membership log's SQLite file, and migrated with identity.
# Replaced as a whole list; `position` is each one's place in it.
contact_points = Table(
    "contact_points",
    metadata,
    Column("organisation_id", Uuid, primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("label", String(60), nullable=False),
    Column("name", String(200), nullable=True),
    Column("email", String(320), nullable=True),
    Column("phone", String(40), nullable=True),
    # Who wrote the list, and when (an actor string, "user:<id>": no personal data).
    Column("updated_by", String(60), nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

# One sign-in's chain of refresh tokens; revoking it ends the sign-in (see docs/adr).
token_families = Table(
    "token_families",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("user_id", Uuid, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime, nullable=True),
    Column("revoked_reason", String(40), nullable=True),
)
Index("ix_token_families_user_id", token_families.c.user_id)

# Opaque refresh tokens, kept as hashes; used_at is set when the token is rotated.
refresh_tokens = _one_use_tokens("refresh_tokens", Column("family_id", Uuid, nullable=False))
Index("ix_refresh_tokens_family_id", refresh_tokens.c.family_id)
Index("ix_refresh_tokens_expires_at", refresh_tokens.c.expires_at)
