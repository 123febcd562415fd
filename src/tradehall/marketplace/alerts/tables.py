"""The alert follower's records (issue 17): the saved searches as their events left them, the
public facts of tenders and outside opportunities, and the alerts. Like the outbox they are a
record, not a view: never rebuilt (an alert's read flag and digest are written beside them)."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
)

from sharedkernel.sqltypes import NAMING_CONVENTION, UtcDateTime

metadata = MetaData(naming_convention=NAMING_CONVENTION)

# A row a saved search; `saved_at` is its Saved event's time (alerts only for what is published
# after it), `version` its aggregate's (an ETag). Deleted searches stay, flagged.
alert_searches = Table(
    "alert_searches",
    metadata,
    Column("search_id", Uuid, primary_key=True),
    Column("organisation_id", Uuid, nullable=False),
    Column("user_id", Uuid, nullable=False),
    Column("name", String(200), nullable=False),
    Column("criteria", Text, nullable=False),  # JSON: Criteria.as_data
    Column("delivery", String(20), nullable=False),
    Column("saved_at", UtcDateTime, nullable=False),
    Column("changed_at", UtcDateTime, nullable=False),
    Column("version", Integer, nullable=False),
    Column("deleted", Boolean, nullable=False),
    Index("ix_alert_searches_organisation_id", "organisation_id"),
)

# A row a tender (from its draft on: its terms are in the draft's events) or outside
# opportunity. `published_at`: a tender's Published event time, an opportunity's first
# release's own date (the feed's backlog is old). `open_until`: the deadline while open, null
# once ended (or, for an opportunity, not open at its latest import, `imported_at`).
alert_items = Table(
    "alert_items",
    metadata,
    Column("item_id", Uuid, primary_key=True),
    Column("kind", String(20), nullable=False),
    Column("facts", Text, nullable=False),  # JSON: Facts.as_data
    Column("published_at", UtcDateTime, nullable=True),
    Column("open_until", UtcDateTime, nullable=True),
    Column("imported_at", UtcDateTime, nullable=True),
)

# One alert per search per tender or opportunity. `message_id`: the outbox message telling it
# (at once: queued with the alert; daily: set by the digest that takes it).
alerts = Table(
    "alerts",
    metadata,
    Column("alert_id", Uuid, primary_key=True),
    Column("search_id", Uuid, nullable=False),
    Column("organisation_id", Uuid, nullable=False),
    Column("item_kind", String(20), nullable=False),
    Column("item_id", Uuid, nullable=False),
    Column("title", String(300), nullable=False),
    Column("delivery", String(20), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("message_id", String(200), nullable=True),
    Column("read_at", UtcDateTime, nullable=True),
    UniqueConstraint("search_id", "item_id", name="uq_alerts_search_id_item_id"),
    Index("ix_alerts_organisation_id_created_at", "organisation_id", "created_at"),
)
