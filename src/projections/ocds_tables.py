"""The OCDS publication's tables (projections.ocds), on the read side's one metadata: created by
Alembic (migrations/versions/*_ocds.py), rebuilt by the projection."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, String, Table, Text, Uuid

from projections.tables import metadata
from sharedkernel.sqltypes import UtcDateTime

# A row a tender from its draft: what its releases are built from (JSON: the terms as they
# stand, status, documents, amendments, lots' outcomes, bid statistics after opening, awards,
# contracts). `published`: whether any release has been made (a draft makes none).
ocds_processes = Table(
    "ocds_processes",
    metadata,
    Column("tender_id", Uuid, primary_key=True),
    Column("ocid", String(120), nullable=False),
    Column("buyer_id", Uuid, nullable=False),
    Column("state", Text, nullable=False),
)
# The aggregates whose events name only themselves (a lot's evaluation, a contract), to the
# tender they belong to, and the lot.
ocds_links = Table(
    "ocds_links",
    metadata,
    Column("aggregate_id", Uuid, primary_key=True),
    Column("tender_id", Uuid, nullable=False),
    Column("lot_id", String(40), nullable=False),
)
# One row a release: its body (JSON, without parties or the buyer's name, which are read from
# `ocds_organisations` when served) and the organisations it names. `position`, the event's
# place in the marketplace log, orders releases of one date.
ocds_releases = Table(
    "ocds_releases",
    metadata,
    Column("release_id", String(200), primary_key=True),
    Column("ocid", String(120), nullable=False),
    Column("buyer_id", Uuid, nullable=False),
    Column("date", UtcDateTime, nullable=False),
    Column("position", BigInteger, nullable=False),
    Column("organisations", Text, nullable=False),
    Column("body", Text, nullable=False),
)
Index("ix_ocds_releases_date", ocds_releases.c.date, ocds_releases.c.position)
Index("ix_ocds_releases_ocid", ocds_releases.c.ocid, ocds_releases.c.date)
# Every organisation (membership log), as it stood from each of its events that changed what a
# release shows of it: its name, kind (only a public body's releases are published) and
# org-id.guide identifier, if it holds one. A release shows its parties as they stood on its
# date, so a release never changes once published.
ocds_organisations = Table(
    "ocds_organisations",
    metadata,
    Column("organisation_id", Uuid, primary_key=True),
    Column("version", BigInteger, primary_key=True),
    Column("since", UtcDateTime, nullable=False),
    Column("name", Text, nullable=False),
    Column("kind", String(40), nullable=False),
    Column("scheme", String(20)),
    Column("identifier", String(40)),
)
