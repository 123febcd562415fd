"""The identity tables (SQLAlchemy Core). Alembic migrations create them."""

from __future__ import annotations

from sqlalchemy import Column, Index, MetaData, String, Table, Uuid

from projections.tables import NAMING_CONVENTION, UtcDateTime

__all__ = ["EMAIL_UNIQUE_CONSTRAINT", "UtcDateTime", "metadata", "users"]

# One naming convention and one UTC type for every table we own.
metadata = MetaData(naming_convention=NAMING_CONVENTION)


users = Table(
    "users",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("email", String(320), nullable=False, unique=True),
    Column("password_hash", String(200), nullable=False),
    Column("organisation_id", Uuid, nullable=True),
    # Space-separated role names: staff, assessor, member, buyer.
    Column("roles", String(200), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)
Index("ix_users_organisation_id", users.c.organisation_id)

EMAIL_UNIQUE_CONSTRAINT = "uq_users_email"
