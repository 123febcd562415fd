"""Tenders' clarifications: each question and its answer (issue 11); the published Q&A.

Follows the marketplace log: `Clarification.Asked` makes a row (the tender, the question, when),
`Clarification.Answered` gives it its answer. The asker is not kept: this table feeds the public
Q&A and the buyer's open questions, and only staff may learn who asked (they read the log's
aggregate). Which suppliers registered interest is not kept on the read side at all: the tender
notice writer keeps it in its own record (tradehall.marketplace.notices), which no view reads.

An event never stops the projection (ADR 16): text is made storable by `projections.folding`;
a question or answer whose payload lacks what it needs (a time with an offset among it), or a
second answer to an answered question, is left out with a log line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy import Connection, select
from sqlalchemy.ext.asyncio import AsyncConnection

from projections.base import RowPerAggregate
from projections.events import RecordedEvent, leave_out, payload_uuid
from projections.folding import Row
from projections.tables import tender_clarifications

ASKED = "Clarification.Asked"
ANSWERED = "Clarification.Answered"


def _moment(value: object) -> datetime | None:
    """An event's time, if it is one with an offset (a naive one compares with no other)."""
    if isinstance(value, datetime) and value.utcoffset() is not None:
        return value
    return None


def _asked(event: RecordedEvent) -> Row | None:
    data = event.data
    tender_id = payload_uuid(data.get("tender_id"))
    question, at = data.get("question"), _moment(data.get("timestamp"))
    if tender_id is None or not isinstance(question, str) or at is None:
        return None
    return {
        "clarification_id": event.originator_id,
        "tender_id": tender_id,
        "question": question,
        "answer": None,
        "asked_at": at,
        "answered_at": None,
    }


class ClarificationsProjection(RowPerAggregate):
    name = "clarifications"
    logs = ("marketplace",)
    table = tender_clarifications
    created_by = ASKED
    changed_by = frozenset({ANSWERED})

    def apply(self, connection: Connection, events: Sequence[RecordedEvent]) -> None:
        usable = []
        for event in events:
            if event.name == ASKED and _asked(event) is None:
                leave_out("clarifications", event, "not a question")
                continue
            usable.append(event)
        super().apply(connection, usable)

    def create(self, event: RecordedEvent) -> Row:
        row = _asked(event)
        assert row is not None  # malformed questions are left out by `apply`
        return row

    def change(self, row: Row, event: RecordedEvent) -> None:
        answer, at = event.data.get("answer"), _moment(event.data.get("timestamp"))
        if not isinstance(answer, str) or at is None:
            leave_out("clarifications", event, "not an answer")
            return
        if row.get("answered_at") is not None:
            # The domain answers a question once: a second answer (another writer's, or a log
            # replayed into this one) never rewrites what was published to all.
            leave_out("clarifications", event, "the question is answered already")
            return
        row.update(answer=answer, answered_at=at)


@dataclass(frozen=True)
class PublishedClarification:
    question: str
    answer: str
    answered_at: datetime


@dataclass(frozen=True)
class OpenQuestion:
    clarification_id: UUID
    question: str
    asked_at: datetime


async def published_clarifications(
    connection: AsyncConnection, tender_id: UUID
) -> list[PublishedClarification]:
    """A tender's answered questions, oldest answer first; never who asked."""
    table = tender_clarifications
    result = await connection.execute(
        select(table.c.question, table.c.answer, table.c.answered_at)
        .where(table.c.tender_id == tender_id, table.c.answered_at.is_not(None))
        .order_by(table.c.answered_at, table.c.asked_at, table.c.clarification_id)
    )
    return [
        PublishedClarification(
            question=row.question, answer=row.answer, answered_at=row.answered_at
        )
        for row in result
    ]


async def open_questions(connection: AsyncConnection, tender_id: UUID) -> list[OpenQuestion]:
    """A tender's questions not answered yet, oldest first (for its buyer); never who asked."""
    table = tender_clarifications
    result = await connection.execute(
        select(table.c.clarification_id, table.c.question, table.c.asked_at)
        .where(table.c.tender_id == tender_id, table.c.answered_at.is_(None))
        .order_by(table.c.asked_at, table.c.clarification_id)
    )
    return [
        OpenQuestion(
            clarification_id=row.clarification_id, question=row.question, asked_at=row.asked_at
        )
        for row in result
    ]
