"""Payments tables: webhooks parked for staff, and the commands for card subscriptions.

State-stored, not events: Stripe payloads hold people's e-mail addresses and names.
"""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, MetaData, String, Table, Text, Uuid

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
    # The organisation the event named (or whose payment it is about), when parked; and the
    # one staff applied or dismissed it to: its erasure reaches the payload (ADR 4).
    Column("organisation_id", Uuid, nullable=True),
    Column("resolved_to", Uuid, nullable=True),
)
# Resolved events are deleted once past their retention (the clock's purge).
Index("ix_parked_webhooks_resolved_at", parked_webhooks.c.resolved_at)

# What the membership log asks of members' card subscriptions (cancel, reprice), written by a
# follower of the log (tradehall.membership.card_subscriptions) and performed by its sender.
# A record, not a view: never rebuilt, since a rebuild must not call Stripe again.
card_subscription_commands = Table(
    "card_subscription_commands",
    metadata,
    # Derived from the event that asked for it: also the idempotency key sent to Stripe.
    Column("command_id", String(120), primary_key=True),
    Column("organisation_id", Uuid, nullable=False),
    Column("action", String(40), nullable=False),  # cancel_now, cancel_at_period_end, reprice
    Column("created_at", UtcDateTime, nullable=False),
    # pending, done (performed), not_needed (no live card subscription), failed (gave up)
    Column("status", String(20), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UtcDateTime, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("finished_at", UtcDateTime, nullable=True),
)
Index(
    "ix_card_subscription_commands_status",
    card_subscription_commands.c.status,
    card_subscription_commands.c.created_at,
)
