"""Tables owned by the read side (created by Alembic, rebuilt by the projections)."""

from __future__ import annotations

from typing import Any

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

from projections.standing_query import standing_date_columns
from sharedkernel.sqltypes import NAMING_CONVENTION, UtcDateTime, owned_rows_table, uuid_key

# Read models carry no foreign keys: the projector alone writes them, a batch at a time.
metadata = MetaData(naming_convention=NAMING_CONVENTION)


# How far each projection has read each event log: written in the same transaction as the
# projection's own changes. While a projection fails on an event, the failure is kept on its
# row (so every process sees it) until the projection moves past that event; so is how many
# events it has left out.
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
    # The events it has left out of the log (ADR 16: odd events, each with a WARNING line),
    # counted in the same transaction as the position moves past them, and the last of them:
    # its position, topic and why (trimmed). A rebuild that swaps sets them to what it left out.
    Column("left_out", BigInteger, nullable=False, server_default="0"),
    Column("left_out_position", BigInteger, nullable=True),
    Column("left_out_topic", String(200), nullable=True),
    Column("left_out_why", Text, nullable=True),
)


def _registered() -> list[Column[object]]:
    """An organisation's key and what its registration says of it, as its rows begin."""
    return [
        uuid_key("organisation_id"),
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
    *standing_date_columns(),
)
Index("ix_directory_members_listed_name", directory_members.c.listed, directory_members.c.name)


def organisation_names_table(name: str, *more: Column[Any]) -> Table:
    """Each registered organisation's name (one row an organisation, and what `more` says of
    it), folded from the membership log by a projection that shows it beside its own rows."""
    return Table(
        name,
        metadata,
        uuid_key("organisation_id"),
        Column("name", String(200), nullable=False),
        *more,
    )


def _codes(name: str, key: str, code: Column[str], *more: Column[str], indexed: str) -> Table:
    """An aggregate's codes of one kind (one row a code, keyed by the aggregate's `key` and the
    code), indexed by the column `indexed` (projections.codes)."""
    return owned_rows_table(metadata, name, key, code, *more, indexed=indexed)


def regions_table(name: str, key: str) -> Table:
    return _codes(name, key, Column("region", String(10), primary_key=True), indexed="region")


def cpv_codes_table(name: str, key: str) -> Table:
    return _codes(
        name,
        key,
        Column("cpv_code", String(12), primary_key=True),
        # The code's digits without trailing zeros: "45000000-7" -> "45". Prefix = hierarchy.
        Column("cpv_stem", String(8), nullable=False),
        indexed="cpv_stem",
    )


directory_member_regions = regions_table("directory_member_regions", "organisation_id")
directory_member_cpv = cpv_codes_table("directory_member_cpv", "organisation_id")

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

# Buyer organisations (public bodies and businesses) and their verification by staff
# (projections.buyers.BuyersProjection, following the membership and marketplace logs). Either
# log may be read first: a verification seen before its registration makes a row without a
# name, shown once the registration arrives.
marketplace_buyers = Table(
    "marketplace_buyers",
    metadata,
    Column("organisation_id", Uuid, primary_key=True),
    # From the registration (NULL until it is read): the name and kind.
    Column("name", String(200), nullable=True),
    Column("kind", String(40), nullable=True),
    Column("registered_at", UtcDateTime, nullable=True),
    # The BuyerVerification aggregate's id, to find the row for its later events.
    Column("verification_id", Uuid, nullable=True),
    Column("verified", Boolean, nullable=False),
    # When it was last verified, and last withdrawn.
    Column("verified_at", UtcDateTime, nullable=True),
    Column("withdrawn_at", UtcDateTime, nullable=True),
)
Index("ix_marketplace_buyers_name", marketplace_buyers.c.name)
Index("ix_marketplace_buyers_verification_id", marketplace_buyers.c.verification_id)

# The quality mark register: one row a mark (projections.marks.MarkRegister). Its flags are
# the mark's causes; `status` is derived from them (membership.marks.mark.mark_status).
quality_marks = Table(
    "quality_marks",
    metadata,
    Column("mark_id", Uuid, primary_key=True),
    Column("organisation_id", Uuid, nullable=False, unique=True),
    # Canonical, as the Awarded event holds it: TQM-XXXX-XXXX-C (15 characters).
    Column("certificate_number", String(40), nullable=False, unique=True),
    Column("status", String(20), nullable=False),
    Column("valid_from", UtcDateTime, nullable=False),
    Column("valid_until", UtcDateTime, nullable=False),
    Column("staff_suspended", Boolean, nullable=False),
    Column("membership_suspended", Boolean, nullable=False),
    Column("expired", Boolean, nullable=False),
    Column("withdrawn", Boolean, nullable=False),
    Column("revoked", Boolean, nullable=False),
    # The latest suspension's reason while a suspension holds; NULL otherwise.
    Column("suspension_reason", Text, nullable=True),
    Column("updated_at", UtcDateTime, nullable=False),
)
Index("ix_quality_marks_status", quality_marks.c.status)

# Quality mark applications: the staff queue by stage and waiting time, assessors'
# assignments, each applicant's own (projections.marks.MarkApplications).
mark_applications = Table(
    "mark_applications",
    metadata,
    Column("application_id", Uuid, primary_key=True),
    Column("organisation_id", Uuid, nullable=False),
    Column("review", String(20), nullable=False),
    Column("stage", String(30), nullable=False),
    Column("waiting_since", UtcDateTime, nullable=True),
    Column("submitted_at", UtcDateTime, nullable=True),
    Column("assessor_id", Uuid, nullable=True),
    Column("criteria_version", String(20), nullable=True),
    # The open information request's reply deadline; NULL when none is open.
    Column("reply_by", UtcDateTime, nullable=True),
    Column("evidence_count", Integer, nullable=False),
    Column("decided_at", UtcDateTime, nullable=True),
)
Index(
    "ix_mark_applications_stage_waiting_since",
    mark_applications.c.stage,
    mark_applications.c.waiting_since,
)
Index("ix_mark_applications_organisation_id", mark_applications.c.organisation_id)
Index("ix_mark_applications_assessor_id", mark_applications.c.assessor_id)

# Service listings (projections.listings.ListingsProjection, following the marketplace and
# membership logs). A listing is shown publicly while it is published and its seller is listed
# (in good standing): decided when reading, by a join with listing_sellers.
service_listings = Table(
    "service_listings",
    metadata,
    Column("listing_id", Uuid, primary_key=True),
    Column("organisation_id", Uuid, nullable=False),
    Column("title", String(200), nullable=False),
    Column("description", Text, nullable=False),
    Column("price_basis", String(20), nullable=False),
    # The largest contract value the member can take, in minor units.
    Column("capacity_minor", BigInteger, nullable=False),
    Column("state", String(20), nullable=False),
    Column("version", BigInteger, nullable=False),
    Column("published_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)
Index("ix_service_listings_organisation_id", service_listings.c.organisation_id)
Index("ix_service_listings_state_title", service_listings.c.state, service_listings.c.title)
service_listing_regions = regions_table("service_listing_regions", "listing_id")
service_listing_cpv = cpv_codes_table("service_listing_cpv", "listing_id")
# Every registered organisation as a seller: its name and whether it is listed (in good
# standing), folded from the membership log by the same projection.
listing_sellers = organisation_names_table(
    "listing_sellers", Column("listed", Boolean, nullable=False), *standing_date_columns()
)

# Tenders' clarifications (projections.clarifications.ClarificationsProjection, following the
# marketplace log): each question and, once given, its answer. No asker here: the table feeds
# public and buyer views, and the asker is for staff only (read from the log's aggregate).
tender_clarifications = Table(
    "tender_clarifications",
    metadata,
    Column("clarification_id", Uuid, primary_key=True),
    Column("tender_id", Uuid, nullable=False),
    Column("question", Text, nullable=False),
    Column("answer", Text, nullable=True),
    Column("asked_at", UtcDateTime, nullable=False),
    Column("answered_at", UtcDateTime, nullable=True),
)
Index("ix_tender_clarifications_tender_id", tender_clarifications.c.tender_id)

# Tenders (projections.tenders.TendersProjection, following the marketplace and membership
# logs). A draft has its row, flagged by its status, for its buyer's own list; every public
# read leaves drafts out. `terms` is the tender's terms as JSON (lots, periods, eligibility,
# evaluation), as the last draft revision or amendment gave them.
tenders = Table(
    "tenders",
    metadata,
    Column("tender_id", Uuid, primary_key=True),
    Column("buyer_id", Uuid, nullable=False),
    Column("ocid", String(200), nullable=False),
    Column("title", String(200), nullable=False),
    Column("status", String(20), nullable=False),
    Column("method", String(20), nullable=False),
    Column("category", String(20), nullable=False),
    # The lots' estimated values summed, in minor units of the lots' one currency.
    Column("value_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("deadline", UtcDateTime, nullable=False),
    Column("members_only", Boolean, nullable=False),
    Column("quality_mark_required", Boolean, nullable=False),
    Column("terms", Text, nullable=False),
    Column("end_reason", Text, nullable=True),
    Column("version", BigInteger, nullable=False),
    Column("drafted_at", UtcDateTime, nullable=False),
    Column("published_at", UtcDateTime, nullable=True),
    Column("updated_at", UtcDateTime, nullable=False),
)
Index("ix_tenders_buyer_id", tenders.c.buyer_id)
Index("ix_tenders_status_deadline", tenders.c.status, tenders.c.deadline)
tender_cpv = cpv_codes_table("tender_cpv", "tender_id")
# The regions a tender's eligibility names (none: anywhere).
tender_regions = regions_table("tender_regions", "tender_id")
# Each amendment of a published tender: what changed (the parts of its terms), why, when.
tender_amendments = owned_rows_table(
    metadata,
    "tender_amendments",
    "tender_id",
    # The tender's version the amendment made: amendments in order.
    Column("version", BigInteger, primary_key=True),
    Column("changed", Text, nullable=False),
    Column("rationale", Text, nullable=False),
    Column("amended_at", UtcDateTime, nullable=False),
)
tender_documents = owned_rows_table(
    metadata,
    "tender_documents",
    "tender_id",
    Column("sha256", String(64), primary_key=True),
    Column("kind", String(40), nullable=False),
    Column("filename", String(200), nullable=False),
    Column("content_type", String(200), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("added_at", UtcDateTime, nullable=False),
)
# Each decided lot's outcome (Tender.LotDecided): awarded, not_awarded or unsuccessful, as the
# event gave it; a lot with no row is not decided yet.
tender_lot_outcomes = owned_rows_table(
    metadata,
    "tender_lot_outcomes",
    "tender_id",
    Column("lot_id", String(40), primary_key=True),
    Column("outcome", String(40), nullable=False),
    Column("decided_at", UtcDateTime, nullable=False),
)
# Buyer organisations' names, folded from the membership log by the same projection.
tender_buyers = organisation_names_table("tender_buyers")
