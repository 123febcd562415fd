"""The identity tables (SQLAlchemy Core). Alembic migrations create them."""

from __future__ import annotations

from sqlalchemy import Column, Index, MetaData, String, Table, Uuid

from projections.tables import NAMING_CONVENTION, UtcDateTime

__all__ = ["EMAIL_UNIQUE_CONSTRAINT", "UtcDateTime", "account_tokens", "metadata", "users"]

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
)
Index("ix_users_organisation_id", users.c.organisation_id)

# One-use secrets sent by e-mail: verify an address, reset a password, accept an invitation.
# Only a hash is kept; the secret itself exists in the message alone.
account_tokens = Table(
    "account_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("purpose", String(20), nullable=False),
    Column("user_id", Uuid, nullable=True),
    Column("organisation_id", Uuid, nullable=True),
    # For an invitation: who is invited, and with which roles.
    Column("email", String(320), nullable=True),
    Column("roles", String(200), nullable=True),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("used_at", UtcDateTime, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
)

EMAIL_UNIQUE_CONSTRAINT = "uq_users_email"
