"""Webhooks that matched no organisation (or that a member's state refused), parked for staff.

State-stored, not events: Stripe payloads hold people's e-mail addresses and names.
"""

from __future__ import annotations

from sqlalchemy import Column, MetaData, String, Table, Text

from sharedkernel.sqltypes import NAMING_CONVENTION, UtcDateTime

metadata = MetaData(naming_convention=NAMING_CONVENTION)

parked_webhooks = Table(
    "parked_webhooks",
    metadata,
    Column("event_id", String(100), primary_key=True),
    Column("source", String(30), nullable=False),
    Column("event_type", String(100), nullable=False),
    Column("reason", Text, nullable=False),
    Column("payload", Text, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    Column("resolved_at", UtcDateTime, nullable=True),
)
