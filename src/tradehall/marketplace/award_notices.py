"""What a lot's evaluation tells its bidders, through the outbox (ADR 12): each bidder's
assessment summary when the lot is decided, and word that its price looks abnormally low.

The award notice is published only once every summary of the lot has been sent: the summaries'
message ids follow from the deciding event (`summary_message_ids`), and `all_sent` asks the
outbox whether each was accepted by the mail server.
"""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from marketplace.evaluation.lot import LotEvaluation
from tradehall.mail.outbox import message_id_for
from tradehall.mail.tables import outbox_messages

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
