"""Which marketplace events tell interested suppliers something, and what: written to the outbox
(ADR 12). Issue 11: every supplier that registered interest in a tender is told of each
amendment (what changed, why, the new deadline), each document added to it once published (its
name, kind and link) and each published answer (the question and the answer; never who asked).
Bidders are told of amendments and documents by a sealed batch
(tradehall.marketplace.bids.amendment_notices), which passes over whom these notices address.

Followed on the marketplace log by the batched projector machinery (each event queued exactly
once, across crashes) and never rebuilt: its `clear` refuses. It keeps what it needs in its own
records (ADR 18), never reading a read model: tenders' titles (from Tender.Drafted, DraftRevised
and Amended), suppliers' interest (Interest.Registered: a record no route or view reads, since it
would name likely bidders) and each question's tender and text until it is answered
(Clarification.Asked; an answer's event carries neither; the domain answers once, so a second
`Answered`, another writer's, finds no record and tells nobody). Events are taken in log
order: a supplier that registers interest after an amendment is not told of it. A message is
addressed to the supplier organisation (its users are looked up when sending), its id stable
per event, template and organisation.

An event never stops the writer (ADR 16): one whose payload lacks what it needs is skipped with
a log line, and text is made storable by `projections.folding`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, delete, select

from projections.events import RecordedEvent, payload_uuid
from projections.folding import Row, insert_rows, upsert_rows
from tradehall.mail.outbox import Notice, NoticeFollower, not_queued, outbox_row
from tradehall.mail.tables import (
    outbox_messages,
    tender_notice_interest,
    tender_notice_questions,
    tender_notice_tenders,
)

_log = logging.getLogger("tradehall.mail")

DRAFTED = "Tender.Drafted"
REVISED = "Tender.DraftRevised"
AMENDED = "Tender.Amended"
INTEREST = "Interest.Registered"
ASKED = "Clarification.Asked"
ANSWERED = "Clarification.Answered"
DOCUMENT_ADDED = "Tender.DocumentAdded"
# The tender's events that carry its terms, title and lots with them (the award notices' too).
TITLED = frozenset({DRAFTED, REVISED, AMENDED})
_HANDLED = frozenset({*TITLED, DOCUMENT_ADDED, INTEREST, ASKED, ANSWERED})
# The templates of the notices interested suppliers are told by (the bidders' sealed batch of
# the same event passes over whom they address: tradehall.marketplace.bids.amendment_notices).
AMENDED_TEMPLATE = "tender_amended"
DOCUMENT_TEMPLATE = "tender_document_added"


def tender_title(event: RecordedEvent) -> str | None:
    """The title in a `TITLED` event's terms; None if it has none."""
    terms = event.data.get("terms")
    title = terms.get("title") if isinstance(terms, dict) else None
    return title if isinstance(title, str) and title else None


def _deadline(terms: Any) -> str:
    try:
        end = terms["tender_period"]["end"]
        return datetime.fromisoformat(str(end)).strftime("%Y-%m-%d %H:%M %Z").strip()
    except (KeyError, TypeError, ValueError):
        return "(not stated)"


def amendment_notice(tender_id: UUID, title: str, data: dict[str, Any], public_url: str) -> Notice:
    changed = data.get("changed")
    what = ", ".join(str(c) for c in changed) if isinstance(changed, list) and changed else "?"
    return Notice(
        AMENDED_TEMPLATE,
        f"Tender amended: {title}",
        f'The buyer has amended the tender "{title}".\n'
        f"What changed: {what}.\n"
        f"Why: {data.get('rationale') or '(not stated)'}\n"
        f"The deadline for tenders is now {_deadline(data.get('terms'))}.\n"
        f"The tender as it stands: {public_url}/api/v1/tenders/{tender_id}",
    )


def document_notice(tender_id: UUID, title: str, data: dict[str, Any], public_url: str) -> Notice:
    """A document added to a published tender, as its public event states it."""
    filename = data.get("filename") or "(no name)"
    kind = data.get("kind") or "other"
    tender = f"{public_url}/api/v1/tenders/{tender_id}"
    return Notice(
        DOCUMENT_TEMPLATE,
        f"Tender document added: {title}",
        f'The buyer has added a document to the tender "{title}": {filename} ({kind}).\n'
        f"The document: {tender}/documents/{data.get('sha256')}\n"
        f"The tender as it stands: {tender}",
    )


def answer_notice(
    tender_id: UUID, title: str, question: str, answer: str, public_url: str
) -> Notice:
    """The same words to every interested supplier: nothing in it says who asked."""
    return Notice(
        "tender_question_answered",
        f"A question answered: {title}",
        f'A question about the tender "{title}" has been answered and published to all.\n\n'
        f"Question: {question}\n\nAnswer: {answer}\n\n"
        f"Every published question and answer: {public_url}/api/v1/tenders/{tender_id}/questions",
    )


class TenderNoticeWriter(NoticeFollower):
    """Follows the marketplace log and queues a message to each interested supplier for each
    amendment and published answer."""

    name = "tender_notices"
    logs = ("marketplace",)
    tables = (
        tender_notice_tenders,
        tender_notice_interest,
        tender_notice_questions,
        outbox_messages,
    )

    def apply(self, connection: Connection, events: Sequence[RecordedEvent]) -> None:
        relevant = [e for e in events if e.name in _HANDLED]
        if not relevant:
            return
        # Each question's tender and text: this batch's, then those stored before it.
        questions: dict[UUID, Row] = {}
        new_questions: list[Row] = []
        for event in relevant:
            if event.name == ASKED:
                tender_id = payload_uuid(event.data.get("tender_id"))
                question = event.data.get("question")
                if tender_id is None or not isinstance(question, str):
                    _log.warning("tender notices: %r skipped: not a question", event)
                    continue
                row = {
                    "clarification_id": event.originator_id,
                    "tender_id": tender_id,
                    "question": question,
                }
                questions[event.originator_id] = row
                new_questions.append(row)
        answered = {e.originator_id for e in relevant if e.name == ANSWERED} - questions.keys()
        if answered:
            table = tender_notice_questions
            for found in connection.execute(
                select(table).where(table.c.clarification_id.in_(answered))
            ):
                questions[found.clarification_id] = dict(found._mapping)
        upsert_rows(connection, tender_notice_questions, "clarification_id", new_questions)

        # The tenders the batch touches: their titles and interested suppliers as stored.
        tenders: set[UUID] = set()
        for event in relevant:
            if event.name in TITLED or event.name == DOCUMENT_ADDED:
                tenders.add(event.originator_id)
            elif event.name == INTEREST:
                tender_id = payload_uuid(event.data.get("tender_id"))
                if tender_id is not None:
                    tenders.add(tender_id)
            elif event.name == ANSWERED and event.originator_id in questions:
                tenders.add(questions[event.originator_id]["tender_id"])
        titles: dict[UUID, str] = {}
        interested: dict[UUID, set[UUID]] = {t: set() for t in tenders}
        if tenders:
            t = tender_notice_tenders
            titles = dict(
                connection.execute(
                    select(t.c.tender_id, t.c.title).where(t.c.tender_id.in_(tenders))
                ).all()
            )
            i = tender_notice_interest
            for tender_id, supplier_id in connection.execute(
                select(i.c.tender_id, i.c.supplier_id).where(i.c.tender_id.in_(tenders))
            ):
                interested[tender_id].add(supplier_id)

        # In log order: interest from the moment it is registered; titles as they stood.
        new_titles: dict[UUID, Row] = {}
        new_interest: list[Row] = []
        messages: dict[str, Row] = {}
        told_by: dict[str, int] = {}  # each message's event, by its position
        told_questions: set[UUID] = set()  # answered in this batch: their records go
        for event in relevant:
            if event.name in TITLED:
                title = tender_title(event)
                if title is not None:
                    titles[event.originator_id] = title
                    new_titles[event.originator_id] = {
                        "tender_id": event.originator_id,
                        "title": title,
                    }
            if event.name == INTEREST:
                tender_id = payload_uuid(event.data.get("tender_id"))
                supplier_id = payload_uuid(event.data.get("supplier_id"))
                if tender_id is None or supplier_id is None:
                    _log.warning("tender notices: %r skipped: not an interest", event)
                elif supplier_id not in interested[tender_id]:
                    interested[tender_id].add(supplier_id)
                    new_interest.append({"tender_id": tender_id, "supplier_id": supplier_id})
                continue
            notice: Notice | None = None
            tender_id = event.originator_id
            if event.name == AMENDED:
                title = titles.get(tender_id) or "a tender you follow"
                notice = amendment_notice(tender_id, title, event.data, self.public_url)
            elif event.name == DOCUMENT_ADDED:
                # A draft's documents tell nobody: none registers interest in a draft.
                title = titles.get(tender_id) or "a tender you follow"
                notice = document_notice(tender_id, title, event.data, self.public_url)
            elif event.name == ANSWERED:
                record = questions.get(event.originator_id)
                answer = event.data.get("answer")
                if record is None or not isinstance(answer, str):
                    _log.warning(
                        "tender notices: %r skipped: its question is not known (or answered)",
                        event,
                    )
                    continue
                tender_id = record["tender_id"]
                title = titles.get(tender_id) or "a tender you follow"
                notice = answer_notice(
                    tender_id, title, record["question"], answer, self.public_url
                )
            if notice is None:
                continue
            at = event.data.get("timestamp")
            if not isinstance(at, datetime):
                _log.warning("tender notices: %r skipped: it has no time", event)
                continue
            if event.name == ANSWERED:
                # Told once: the domain answers a question once, so another `Answered` (another
                # writer's) finds its question no longer kept, and tells nobody.
                del questions[event.originator_id]
                told_questions.add(event.originator_id)
            for supplier_id in sorted(interested.get(tender_id, ())):
                message = outbox_row(event, notice, supplier_id, per_addressee=True)
                messages.setdefault(message["message_id"], message)
                told_by[message["message_id"]] = event.position
        upsert_rows(connection, tender_notice_tenders, "tender_id", new_titles.values())
        if told_questions:
            table = tender_notice_questions
            connection.execute(
                delete(table).where(table.c.clarification_id.in_(list(told_questions)))
            )
        insert_rows(connection, tender_notice_interest, new_interest)
        # Applied again (a position set back, a restore), an event queues nothing new: not its
        # messages queued already, nor one to a supplier whose interest was registered after
        # it (an event's messages are queued together, so one of them there means the event
        # was applied). As the projections write: text is made storable first.
        new = not_queued(connection, messages)
        fresh = {message["message_id"] for message in new}
        applied = {told_by[key] for key in messages.keys() - fresh}
        insert_rows(
            connection,
            outbox_messages,
            [message for message in new if told_by[message["message_id"]] not in applied],
        )
