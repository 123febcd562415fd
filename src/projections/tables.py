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

directory_members = Table(
    "directory_members",
    metadata,
    Column("organisation_id", Uuid, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("legal_form", String(60), nullable=False),
    Column("social_purpose", Text, nullable=False),
    Column("status", String(30), nullable=False),
    Column("listed", Boolean, nullable=False),
    Column("registered_at", UtcDateTime, nullable=False),
    Column("admitted_at", UtcDateTime, nullable=True),
)
Index("ix_directory_members_listed_name", directory_members.c.listed, directory_members.c.name)

directory_member_regions = Table(
    "directory_member_regions",
    metadata,
    Column("organisation_id", Uuid, primary_key=True),
    Column("region", String(10), primary_key=True),
)
Index("ix_directory_member_regions_region", directory_member_regions.c.region)

directory_member_cpv = Table(
    "directory_member_cpv",
    metadata,
    Column("organisation_id", Uuid, primary_key=True),
    Column("cpv_code", String(12), primary_key=True),
    # The code's digits without trailing zeros: "45000000-7" -> "45". Prefix = hierarchy.
    Column("cpv_stem", String(8), nullable=False),
)
Index("ix_directory_member_cpv_cpv_stem", directory_member_cpv.c.cpv_stem)

membership_applications = Table(
    "membership_applications",
    metadata,
    Column("organisation_id", Uuid, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("legal_form", String(60), nullable=False),
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
