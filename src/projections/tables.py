"""Tables owned by the read side (created by Alembic, rebuilt by the projections)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    Uuid,
)

from sharedkernel.sqltypes import NAMING_CONVENTION, UtcDateTime

# Read models carry no foreign keys: the projector alone writes them, a batch at a time.
metadata = MetaData(naming_convention=NAMING_CONVENTION)


# How far each projection has read each event log: written in the same transaction as the
# projection's own changes. While a projection fails on an event, the failure is kept on its
# row (so every process sees it) until the projection moves past that event.
projection_positions = Table(
    "projection_positions",
    metadata,
    Column("projection", String(100), primary_key=True),
    Column("log", String(100), primary_key=True),
    Column("position", BigInteger, nullable=False),
    # The position of the event it fails on; NULL while it does not fail.
    Column("failed_position", BigInteger, nullable=True),
    Column("error_type", String(200), nullable=True),
    Column("error_message", Text, nullable=True),
    # Attempts at that event so far, since when it fails, and when it is next tried.
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("failed_since", UtcDateTime, nullable=True),
    Column("retry_at", UtcDateTime, nullable=True),
)


def _registered() -> list[Column[object]]:
    """An organisation's key and what its registration says of it, as its rows begin."""
    return [
        Column("organisation_id", Uuid, primary_key=True),
        Column("name", String(200), nullable=False),
        Column("kind", String(40), nullable=False),
        Column("legal_form", String(60), nullable=False),
    ]


directory_members = Table(
    "directory_members",
    metadata,
    *_registered(),
    Column("social_purpose", Text, nullable=False),
    Column("status", String(30), nullable=False),
    Column("listed", Boolean, nullable=False),
    Column("registered_at", UtcDateTime, nullable=False),
    Column("admitted_at", UtcDateTime, nullable=True),
)
Index("ix_directory_members_listed_name", directory_members.c.listed, directory_members.c.name)


def _member_codes(name: str, code: Column[str], *more: Column[str], indexed: str) -> Table:
    """A member's codes of one kind (one row a code), indexed by the column `indexed`."""
    table = Table(name, metadata, Column("organisation_id", Uuid, primary_key=True), code, *more)
    Index(f"ix_{name}_{indexed}", table.c[indexed])
    return table


directory_member_regions = _member_codes(
    "directory_member_regions", Column("region", String(10), primary_key=True), indexed="region"
)
directory_member_cpv = _member_codes(
    "directory_member_cpv",
    Column("cpv_code", String(12), primary_key=True),
    # The code's digits without trailing zeros: "45000000-7" -> "45". Prefix = hierarchy.
    Column("cpv_stem", String(8), nullable=False),
    indexed="cpv_stem",
)

membership_applications = Table(
    "membership_applications",
    metadata,
    *_registered(),
    Column("status", String(30), nullable=False),
    Column("applied_at", UtcDateTime, nullable=True),
    Column("decided_at", UtcDateTime, nullable=True),
    Column("decided_by", String(60), nullable=True),
    Column("rejection_reason", Text, nullable=True),
    Column("version", BigInteger, nullable=False),
)
Index(
    "ix_membership_applications_status_applied_at",
    membership_applications.c.status,
    membership_applications.c.applied_at,
)
