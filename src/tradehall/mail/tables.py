"""The outbox: what is to be sent and what was sent. Not a projection: never rebuilt, since a
rebuild must not send anything again. Recipients' addresses are looked up when sending."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, Index, Integer, LargeBinary, MetaData, String, Table, Text, Uuid

from sharedkernel.sqltypes import NAMING_CONVENTION, UtcDateTime, owned_rows_table, uuid_key

metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _titles(name: str, key: str, *more: Column[Any]) -> Table:
    """A notice writer's record of each aggregate's title (for its notices' subjects) and of
    what `more` says of it."""
    return Table(name, metadata, uuid_key(key), Column("title", String(300), nullable=False), *more)


outbox_messages = Table(
    "outbox_messages",
    metadata,
    # Stable per event and template: a message sent twice (at-least-once) carries the same id.
    Column("message_id", String(200), primary_key=True),
    Column("template", String(60), nullable=False),
    # Whom to tell: an organisation's users, or one address (account e-mails).
    Column("organisation_id", Uuid, nullable=True),
    Column("recipient", String(320), nullable=True),
    Column("subject", String(300), nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("sent_at", UtcDateTime, nullable=True),
    Column("attempts", Integer, nullable=False),
    Column("last_error", Text, nullable=True),
    # After a failed attempt, when the sender tries again (tradehall.mail.sender.retry_delay);
    # None: due at once (never failed, or put back by staff), or its attempts used up.
    Column("next_attempt_at", UtcDateTime, nullable=True),
    # A sealed notice's addressee and contents (tradehall.marketplace.sealing.outbox).
    Column("sealed", LargeBinary, nullable=True),
)
Index("ix_outbox_messages_sent_at", outbox_messages.c.sent_at)

# The name each organisation registered with, kept by the notice writer from the events it
# follows (so it reads no read model, ADR 18). A record like the outbox: never rebuilt.
notice_organisations = Table(
    "notice_organisations",
    metadata,
    Column("organisation_id", Uuid, primary_key=True),
    Column("name", String(200), nullable=False),
)

# The organisation of each quality mark and mark application, kept by the mark notice writer
# from the marks log's first events (MarkApplication.Started, QualityMark.Awarded), with a
# mark's certificate number (for the renewal notice, whose event does not carry it). A record
# like the outbox: never rebuilt.
mark_notice_organisations = Table(
    "mark_notice_organisations",
    metadata,
    Column("aggregate_id", Uuid, primary_key=True),
    Column("organisation_id", Uuid, nullable=False),
    Column("certificate_number", String(40), nullable=True),
)

# The tender notice writer's own records (tradehall.marketplace.notices), kept from the
# marketplace log's events (ADR 18): records like the outbox, never rebuilt. Each tender's
# title (for the subject); the suppliers that registered interest in it (never shown to anyone:
# it would name likely bidders to the buyer); each question's tender and text (an answer's
# event carries neither).
tender_notice_tenders = _titles("tender_notice_tenders", "tender_id")
tender_notice_interest = owned_rows_table(
    metadata, "tender_notice_interest", "tender_id", uuid_key("supplier_id")
)
tender_notice_questions = Table(
    "tender_notice_questions",
    metadata,
    Column("clarification_id", Uuid, primary_key=True),
    Column("tender_id", Uuid, nullable=False),
    Column("question", Text, nullable=False),
)

# The award notice writer's own records (tradehall.marketplace.award_notices), kept from the
# marketplace log's events (ADR 18): records like the outbox, never rebuilt. Each tender's
# title and its lots' titles (JSON, lot id -> title), as the last draft revision or amendment
# gave them; each opened bid's lead organisation, tender and lot, and the tender's abnormally
# low rule (LotEvaluation.Started), for the low-price notice, whose event names only the bid.
AWARD_NOTICE_LOT_ID_LENGTH = 40
award_notice_tenders = _titles(
    "award_notice_tenders", "tender_id", Column("lots", Text, nullable=False)
)
award_notice_bids = Table(
    "award_notice_bids",
    metadata,
    Column("bid_id", Uuid, primary_key=True),
    Column("evaluation_id", Uuid, nullable=False),
    Column("tender_id", Uuid, nullable=False),
    Column("lot_id", String(AWARD_NOTICE_LOT_ID_LENGTH), nullable=False),
    Column("lead_id", Uuid, nullable=False),
    Column("abnormally_low_percent", Integer, nullable=True),
)

# The request-for-quote notice writer's own records (tradehall.marketplace.quote_notices), kept
# from the marketplace log's events (ADR 18): records like the outbox, never rebuilt. Each
# request's title, its invited organisations (JSON list, from Posted) and, once its quotes are
# opened, the organisations that quoted (JSON list, from QuotesOpened): whom its later events
# tell.
quote_notice_requests = _titles(
    "quote_notice_requests",
    "request_id",
    Column("invited", Text, nullable=False),
    Column("quoters", Text, nullable=False),
    # The request's status as the writer's events left it (migration 0040): an ending event
    # from another status tells nobody. NULL for a request recorded before it: any is taken.
    Column("status", String(20), nullable=True),
)
