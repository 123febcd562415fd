"""The award notice writer keeps a tender's abnormally low percentage only as the domain bounds
it (1 to 90, tender_terms.parse_evaluation): a LotEvaluation.Started holding another figure (one
past a 32-bit integer failed the writer on PostgreSQL, "integer out of range"; any other would
misstate the rule) is applied without it, and its low-price notice names no figure. On both
stores."""

from __future__ import annotations

import uuid

from sqlalchemy import Engine, select

from tests.integration.test_award_notices import URL, recorded
from tradehall.mail.tables import award_notice_bids, outbox_messages
from tradehall.marketplace.award_notices import LOW_PRICE_TEMPLATE, AwardNoticeWriter

NAMED = "(a price more than {}% below the average of the other bids' prices for the lot)"
UNNAMED = "by the rule the tender published, your bid's price looks abnormally low"


def test_a_percentage_the_domain_would_not_take_is_left_out_of_the_notice(
    engine: Engine,
) -> None:
    tender = uuid.uuid4()
    percents = [20, 2**31, 2**63, 150, 0, -5, True]
    leads = [uuid.uuid4() for _ in percents]
    bids = [uuid.uuid4() for _ in percents]
    events = [recorded(1, tender, "Tender.Drafted", terms={"title": "Grounds", "lots": []})]
    for position, (percent, lead, bid) in enumerate(zip(percents, leads, bids, strict=True)):
        evaluation = uuid.uuid4()
        shares = [{"organisation_id": str(lead)}]
        events.append(
            recorded(
                2 * position + 2,
                evaluation,
                "LotEvaluation.Started",
                tender_id=tender,
                lot_id="lot-1",
                rules={"abnormally_low_percent": percent},
                bids=[{"bid_id": str(bid), "shares": shares}],
            )
        )
        events.append(
            recorded(
                2 * position + 3, evaluation, "LotEvaluation.LowPriceQueried", 2, bid_id=str(bid)
            )
        )

    with engine.begin() as connection:
        AwardNoticeWriter(URL).apply(connection, events)

    with engine.connect() as connection:
        kept = dict(
            connection.execute(
                select(
                    award_notice_bids.c.bid_id, award_notice_bids.c.abnormally_low_percent
                ).where(award_notice_bids.c.bid_id.in_(bids))
            ).all()
        )
        told = dict(
            connection.execute(
                select(outbox_messages.c.organisation_id, outbox_messages.c.body).where(
                    outbox_messages.c.organisation_id.in_(leads),
                    outbox_messages.c.template == LOW_PRICE_TEMPLATE,
                )
            ).all()
        )
    assert [kept[b] for b in bids] == [20, None, None, None, None, None, None]
    assert NAMED.format(20) in told[leads[0]]
    for lead in leads[1:]:
        assert UNNAMED in told[lead]
        assert "% below" not in told[lead]
