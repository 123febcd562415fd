"""What a lot's evaluation tells its bidders, through the outbox (ADR 12): each bidder's
assessment summary when the lot is decided, and word that its price looks abnormally low.

The award notice is published only once every summary of the lot has been sent: the summaries'
message ids follow from the deciding event (`summary_message_ids`), and `all_sent` asks the
outbox whether each was accepted by the mail server.

`AwardNoticeWriter` queues them: a follower of the marketplace log, never rebuilt (its `clear`
refuses). It keeps what it needs in its own records (ADR 18), never reading a read model nor
another follower's records: tenders' and lots' titles (Tender.Drafted, DraftRevised, Amended)
and each opened bid's lead (LotEvaluation.Started), since LowPriceQueried names only the bid. A
summary goes to every organisation its `recipients` names (a consortium's members each), with
its own scores, justifications and result and the winning bid's scores and result: what the
domain put in the summary, which holds no other losing bid's. An event never stops the writer
(ADR 16): one whose payload lacks what it needs is skipped with a log line.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec
from sqlalchemy import Connection, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from marketplace.evaluation.lot import LotEvaluation
from projections.events import RecordedEvent, payload_uuid
from projections.folding import Row, insert_rows, upsert_rows
from tradehall.mail.outbox import Notice, NoticeFollower, message_id_for, not_queued, outbox_row
from tradehall.mail.tables import (
    AWARD_NOTICE_LOT_ID_LENGTH as _MAX_LOT_ID,
)
from tradehall.mail.tables import (
    award_notice_bids,
    award_notice_tenders,
    outbox_messages,
)
from tradehall.marketplace.notices import TITLED, tender_title

SUMMARY_TEMPLATE = "assessment_summary"
LOW_PRICE_TEMPLATE = "abnormally_low_price"


def summary_message_id(evaluation_id: UUID, decision_version: int, organisation: UUID) -> str:
    """The outbox id of one bidder's summary: per deciding event and organisation."""
    return message_id_for(evaluation_id, decision_version, SUMMARY_TEMPLATE, organisation)


def summary_message_ids(evaluation: LotEvaluation) -> list[str]:
    """Every summary the lot's decision sends; none before the decision."""
    if evaluation.decision is None:
        return []
    version = evaluation.decision.version
    return [
        summary_message_id(evaluation.id, version, organisation)
        for organisation in evaluation.summary_recipients
    ]


async def summaries_sent(
    engine: AsyncEngine, evaluation: LotEvaluation
) -> Callable[[LotEvaluation], bool]:
    """What `MarketplaceApp.publish_award_notice` asks: whether the summaries of the lot's
    decision, as it stands when the notice is decided, have all been sent. The outbox is asked
    now (the command runs in a worker thread, without the async engine); a decision is final,
    so the answer holds for the evaluation the command loads."""
    decided = evaluation.decision
    sent = await all_sent(engine, summary_message_ids(evaluation))

    def answer(current: LotEvaluation) -> bool:
        if not sent or decided is None or current.decision is None:
            return False
        return current.decision.version == decided.version

    return answer


async def all_sent(engine: AsyncEngine, message_ids: list[str]) -> bool:
    """Whether every one of these messages is in the outbox and sent (none queued yet, or one
    still waiting, is not)."""
    if not message_ids:
        return False
    async with engine.connect() as connection:
        sent = await connection.scalar(
            select(func.count())
            .select_from(outbox_messages)
            .where(outbox_messages.c.message_id.in_(message_ids))
            .where(outbox_messages.c.sent_at.is_not(None))
        )
    return sent == len(set(message_ids))


# The follower ------------------------------------------------------------------------------

_log = logging.getLogger("tradehall.mail")

STARTED = "LotEvaluation.Started"
LOW_PRICE_QUERIED = "LotEvaluation.LowPriceQueried"
AWARDED = "LotEvaluation.Awarded"
NOT_AWARDED = "LotEvaluation.NotAwarded"
_DECIDED = frozenset({AWARDED, NOT_AWARDED})
_HANDLED = frozenset({*TITLED, STARTED, LOW_PRICE_QUERIED, *_DECIDED})
_NONE = UUID(int=0)  # no id: stands in for a missing one in a lookup


# The parts of the events read here, as the domain writes them (checked before use).
class _Share(msgspec.Struct):
    organisation_id: UUID


class _OpenedBid(msgspec.Struct):
    bid_id: UUID
    shares: Annotated[list[_Share], msgspec.Meta(min_length=1)]  # the lead's first


class _Score(msgspec.Struct):
    criterion: str
    score: int
    scale: int
    weight: int
    justification: str | None = None


class _Result(msgspec.Struct):
    price_points: str
    quality_points: str
    social_value_points: str
    total: str


class _Winner(msgspec.Struct):
    result: _Result | None = None
    scores: list[_Score] = msgspec.field(default_factory=list)


class _Summary(msgspec.Struct):
    """One bid's assessment summary (`LotEvaluation._summary`)."""

    tender_id: UUID
    lot_id: str
    recipients: list[UUID]
    outcome: str
    excluded_reason: str | None = None
    passed_over_reason: str | None = None
    invalid_reason: str | None = None
    decision_reason: str | None = None
    result: _Result | None = None
    scores: list[_Score] = msgspec.field(default_factory=list)
    winner: _Winner | None = None


@dataclass(frozen=True)
class _Titles:
    title: str
    lots: dict[str, str]

    def lot(self, lot_id: str) -> str:
        return self.lots.get(lot_id) or lot_id


_UNKNOWN_TENDER = _Titles("a tender you bid for", {})


def _titles(event: RecordedEvent) -> _Titles | None:
    title = tender_title(event)
    if title is None:
        return None
    lots = event.data["terms"].get("lots")  # terms with a title are a dict
    named = {}
    for lot in lots if isinstance(lots, list) else []:
        if isinstance(lot, dict) and isinstance(lot.get("id"), str):
            named[lot["id"]] = str(lot.get("title") or lot["id"])
    return _Titles(title, named)


# The abnormally low rule's percentages the domain takes (tender_terms.parse_evaluation).
_PERCENTS = range(1, 91)


def _percent(rules: Any) -> int | None:
    """The tender's abnormally low percentage; None (the notice then names no figure) for one
    the domain would not take: a figure outside 1 to 90 would misstate the rule (and one past
    a 32-bit integer failed the writer on PostgreSQL, "integer out of range")."""
    percent = rules.get("abnormally_low_percent") if isinstance(rules, dict) else None
    return percent if type(percent) is int and percent in _PERCENTS else None


def _bid_rows(event: RecordedEvent) -> list[Row]:
    """Each opened bid's lead, tender and lot, from LotEvaluation.Started; a bid not as the
    domain writes it is left out (logged)."""
    data = event.data
    tender_id, lot_id = payload_uuid(data.get("tender_id")), data.get("lot_id")
    bids = data.get("bids")
    if tender_id is None or not isinstance(lot_id, str) or not isinstance(bids, list):
        _log.warning("award notices: %r skipped: not a lot's evaluation", event)
        return []
    rows = []
    for record in bids:
        try:
            bid = msgspec.convert(record, _OpenedBid)
        except msgspec.ValidationError as error:
            _log.warning("award notices: a bid of %r skipped: %s", event, error)
            continue
        rows.append(
            {
                "bid_id": bid.bid_id,
                "evaluation_id": event.originator_id,
                "tender_id": tender_id,
                "lot_id": lot_id[:_MAX_LOT_ID],
                "lead_id": bid.shares[0].organisation_id,
                "abnormally_low_percent": _percent(data.get("rules")),
            }
        )
    return rows


def _summaries(event: RecordedEvent) -> list[_Summary]:
    """The event's summaries as the domain writes them; any other is left out (logged)."""
    given = event.data.get("summaries")
    if not isinstance(given, list):
        _log.warning("award notices: %r skipped: it holds no summaries", event)
        return []
    summaries = []
    for summary in given:
        try:
            summaries.append(msgspec.convert(summary, _Summary))
        except msgspec.ValidationError as error:
            _log.warning("award notices: a summary of %r skipped: %s", event, error)
    return summaries


# What the messages say -------------------------------------------------------------------------


def _indented(text: str) -> str:
    return "\n".join(f"    {line}" for line in text.strip().splitlines())


def _score_lines(scores: list[_Score]) -> list[str]:
    lines = []
    for given in scores:
        lines.append(
            f"  - {given.criterion}: {given.score} out of {given.scale} "
            f"(weight {given.weight} points)"
        )
        if given.justification:
            lines.append(f"    Why:\n{_indented(given.justification)}")
    return lines or ["  (none recorded)"]


def _result_line(result: _Result) -> str:
    return (
        f"{result.price_points} points for price, {result.quality_points} for quality, "
        f"{result.social_value_points} for social value: total {result.total} points"
    )


def _outcome_lines(summary: _Summary, awarded: bool) -> list[str]:
    if not awarded:
        lines = [
            "Outcome: the buyer decided not to award this lot.",
            f"The buyer's reason: {summary.decision_reason or '(not stated)'}",
        ]
        if summary.outcome == "excluded":
            lines.append(
                "Your bid had been excluded for an abnormally low price. The buyer's reason: "
                f"{summary.excluded_reason or '(not stated)'}"
            )
        if summary.outcome == "invalid":
            lines.append(
                "Your bid had been found invalid when the bids were opened: "
                f"{summary.invalid_reason or '(no reason recorded)'}"
            )
        return lines
    if summary.outcome == "successful":
        return [
            "Outcome: your bid was successful. The buyer intends to award the lot to you.",
            "The contract is signed only after the award notice is published and the "
            "standstill period that follows it (at least 8 working days) has ended.",
        ]
    if summary.outcome == "excluded":
        return [
            "Outcome: your bid was excluded for an abnormally low price.",
            f"The buyer's reason: {summary.excluded_reason or '(not stated)'}",
        ]
    if summary.outcome == "invalid":
        return [
            "Outcome: your bid was found invalid when the bids were opened, so it was not "
            f"evaluated: {summary.invalid_reason or '(no reason recorded)'}.",
        ]
    if summary.outcome == "passed_over":
        return [
            "Outcome: your bid was not awarded: when the award was made, "
            f"{summary.passed_over_reason or 'it was no longer eligible'}.",
        ]
    if summary.outcome == "unsuccessful":
        return [
            "Outcome: your bid was not successful. The lot is to be awarded to the bid whose "
            "scores and result are shown below."
        ]
    return [f"Outcome: {summary.outcome}"]


def summary_notice(titles: _Titles, summary: _Summary, awarded: bool, public_url: str) -> Notice:
    """One bidder's assessment summary: its own scores with the buyer's justifications and its
    result, and the winning bid's scores and result; never another losing bid's (the summary
    holds none)."""
    lot = titles.lot(summary.lot_id)
    lines = [
        f'The buyer has decided lot "{lot}" ({summary.lot_id}) of the tender "{titles.title}".',
        "",
        *_outcome_lines(summary, awarded),
        "",
        "Your bid's scores:",
        *_score_lines(summary.scores),
        "Your bid's result: " + (_result_line(summary.result) if summary.result else "not ranked."),
    ]
    winner = summary.winner
    if winner is not None and summary.outcome != "successful":
        lines += [
            "",
            "The winning bid's scores:",
            *_score_lines(winner.scores),
            "The winning bid's result: "
            + (_result_line(winner.result) if winner.result else "not shown."),
        ]
    lines += [
        "",
        "Points are each score divided by its scale, times its weight; price points are the "
        "lowest valid price divided by the bid's price, times the price weight.",
        f"The tender: {public_url}/api/v1/tenders/{summary.tender_id}",
    ]
    return Notice(
        SUMMARY_TEMPLATE,
        f"Assessment summary: {titles.title} ({summary.lot_id})",
        "\n".join(lines),
    )


def low_price_notice(
    titles: _Titles, tender_id: UUID, lot_id: str, percent: int | None, public_url: str
) -> Notice:
    """The bid's lead is asked to explain its price; no other bidder or price is named."""
    if percent is None:
        rule = "by the rule the tender published, your bid's price looks abnormally low"
    else:
        rule = (
            f"by the rule the tender published (a price more than {percent}% below the "
            "average of the other bids' prices for the lot), your bid's price looks abnormally "
            "low"
        )
    lot = titles.lot(lot_id)
    return Notice(
        LOW_PRICE_TEMPLATE,
        f"Please explain your price: {titles.title} ({lot_id})",
        f'The buyer is evaluating the bids for lot "{lot}" ({lot_id}) of the tender '
        f'"{titles.title}".\n\n'
        f"The buyer has found that {rule}. Before deciding anything, the buyer asks you to "
        "explain how your price is made up and how you will deliver the contract at it. "
        "Please send your explanation to the buyer.\n\n"
        "Your bid has not been excluded: a bid is excluded for an abnormally low price only "
        "after its bidder has been asked and its explanation recorded.\n\n"
        f"The tender: {public_url}/api/v1/tenders/{tender_id}",
    )


# The writer --------------------------------------------------------------------------------


class AwardNoticeWriter(NoticeFollower):
    """Follows the marketplace log: each bidder's assessment summary when a lot is decided, and
    a bid's lead asked to explain an abnormally low price. A summary's message id is
    `summary_message_id` of the deciding event and the organisation, so `summary_message_ids`
    finds it; a message already queued is not queued again (a replay adds nothing)."""

    name = "award_notices"
    logs = ("marketplace",)
    tables = (award_notice_tenders, award_notice_bids, outbox_messages)

    def apply(self, connection: Connection, events: Sequence[RecordedEvent]) -> None:
        relevant = [e for e in events if e.name in _HANDLED]
        if not relevant:
            return
        bids = self._bids(connection, relevant)
        titles = self._stored_titles(connection, relevant, bids)
        new_titles: dict[UUID, Row] = {}
        new_bids: dict[UUID, Row] = {}
        messages: dict[str, Row] = {}
        for event in relevant:  # in log order: titles as they stood
            if event.name in TITLED:
                found = _titles(event)
                if found is not None:
                    titles[event.originator_id] = found
                    new_titles[event.originator_id] = {
                        "tender_id": event.originator_id,
                        "title": found.title,
                        "lots": json.dumps(found.lots, ensure_ascii=False),
                    }
                continue
            if event.name == STARTED:
                for row in _bid_rows(event):
                    bids[row["bid_id"]] = new_bids[row["bid_id"]] = row
                continue
            if not isinstance(event.data.get("timestamp"), datetime):
                _log.warning("award notices: %r skipped: it has no time", event)
                continue
            for row in self._messages(event, titles, bids):
                messages.setdefault(row["message_id"], row)
        upsert_rows(connection, award_notice_tenders, "tender_id", new_titles.values())
        upsert_rows(connection, award_notice_bids, "bid_id", new_bids.values())
        insert_rows(connection, outbox_messages, not_queued(connection, messages))

    def _messages(
        self, event: RecordedEvent, titles: dict[UUID, _Titles], bids: dict[UUID, Row]
    ) -> list[Row]:
        if event.name == LOW_PRICE_QUERIED:
            bid = bids.get(payload_uuid(event.data.get("bid_id")) or _NONE)
            if bid is None or bid["evaluation_id"] != event.originator_id:
                _log.warning("award notices: %r skipped: its bid is not known", event)
                return []
            tender_id = bid["tender_id"]
            notice = low_price_notice(
                titles.get(tender_id, _UNKNOWN_TENDER),
                tender_id,
                bid["lot_id"],
                bid["abnormally_low_percent"],
                self.public_url,
            )
            return [outbox_row(event, notice, bid["lead_id"], per_addressee=True)]
        rows = []
        for summary in _summaries(event):
            tender_titles = titles.get(summary.tender_id, _UNKNOWN_TENDER)
            notice = summary_notice(tender_titles, summary, event.name == AWARDED, self.public_url)
            for organisation in summary.recipients:
                rows.append(outbox_row(event, notice, organisation, per_addressee=True))
        return rows

    @staticmethod
    def _bids(connection: Connection, events: list[RecordedEvent]) -> dict[UUID, Row]:
        """The stored bids the batch's low-price queries name."""
        queried = {
            payload_uuid(e.data.get("bid_id")) for e in events if e.name == LOW_PRICE_QUERIED
        }
        wanted = {b for b in queried if b is not None}
        if not wanted:
            return {}
        table = award_notice_bids
        found = connection.execute(select(table).where(table.c.bid_id.in_(wanted)))
        return {row.bid_id: dict(row._mapping) for row in found}

    @staticmethod
    def _stored_titles(
        connection: Connection, events: list[RecordedEvent], bids: dict[UUID, Row]
    ) -> dict[UUID, _Titles]:
        """The stored titles of the tenders the batch's notices name."""
        wanted = {row["tender_id"] for row in bids.values()}
        for event in events:
            if event.name == STARTED:
                wanted.add(payload_uuid(event.data.get("tender_id")) or _NONE)
            elif event.name in _DECIDED:
                summaries = event.data.get("summaries")
                for summary in summaries if isinstance(summaries, list) else []:
                    tender = summary.get("tender_id") if isinstance(summary, dict) else None
                    wanted.add(payload_uuid(tender) or _NONE)
        wanted.discard(_NONE)
        if not wanted:
            return {}
        table = award_notice_tenders
        titles = {}
        for row in connection.execute(select(table).where(table.c.tender_id.in_(wanted))):
            try:
                lots = json.loads(row.lots)
            except ValueError:
                lots = {}
            titles[row.tender_id] = _Titles(row.title, lots if isinstance(lots, dict) else {})
        return titles
