"""A request for quote's currency in its read model (migration 0034), on both stores: the
projection writes the currency every quote is in from each Posted event (the one stated; a
version 1 Posted, which stated none: its budget's, else GBP, as the domain reads it), and a
rebuild writes it for old requests too. The upgrade fills the rows already kept where the row
says it for certain (a budget's currency) and leaves the rest to a rebuild, an accepted quote's
included (a version 1 request's quotes were in any currency)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.ext.asyncio import AsyncEngine

from marketplace.quotes.terms import DEFAULT_CURRENCY
from projections.quote_request_tables import quote_requests
from projections.quote_requests import VERSION_1_CURRENCY
from tests.integration.test_quote_request_projection import (
    STAFF,
    Log,
    apply,
    forget_made,  # noqa: F401 (this module's requests deleted after each test)
    listed_entry,
    rebuild,
)
from tests.integration.test_tender_text_migration import _alembic

EUROS = {"currency": "EUR", "min_minor": None, "max_minor": 90_000}


def requests_log() -> tuple[Log, dict[str, uuid.UUID], uuid.UUID]:
    """Version 1 (no currency) with and without a budget, version 2 stating one with and
    without a budget, and a version 2 without a budget whose quote was accepted."""
    ids = {name: uuid.uuid4() for name in ("v1", "v1_euros", "stated", "budget", "accepted")}
    requester = uuid.uuid4()
    log = Log()
    log.posted(ids["v1"], requester, budget=None)
    log.posted(ids["v1_euros"], requester, budget=EUROS)
    log.posted(ids["stated"], requester, budget=None, currency="CHF")
    log.posted(ids["budget"], requester, budget=EUROS, currency="EUR")
    log.posted(ids["accepted"], requester, budget=None, currency="SEK")
    supplier = uuid.uuid4()
    log.add(
        ids["accepted"],
        "QuotesOpened",
        quotes=[
            {
                "quote_id": str(uuid.uuid4()),
                "supplier_id": str(supplier),
                "price_minor": 70_000,
                "currency": "SEK",
            }
        ],
        declined=[],
    )
    log.add(
        ids["accepted"],
        "Accepted",
        quote_id=uuid.uuid4(),
        supplier_id=supplier,
        price_minor=70_000,
        currency="SEK",
        contract_id=uuid.uuid4(),
    )
    return log, ids, requester


EXPECTED = {"v1": "GBP", "v1_euros": "EUR", "stated": "CHF", "budget": "EUR", "accepted": "SEK"}


def currencies(engine: Engine, ids: dict[str, uuid.UUID]) -> dict[str, Any]:
    names = {v: k for k, v in ids.items()}
    with engine.connect() as connection:
        rows = connection.execute(
            select(quote_requests.c.request_id, quote_requests.c.currency).where(
                quote_requests.c.request_id.in_(ids.values())
            )
        )
        return {names[r.request_id]: r.currency for r in rows}


async def test_the_projection_and_a_rebuild_write_each_request_s_currency(
    engine: Engine, async_engine: AsyncEngine
) -> None:
    assert VERSION_1_CURRENCY == DEFAULT_CURRENCY  # the projection reads as the domain does
    log, ids, requester = requests_log()
    apply(engine, [log.events])
    assert currencies(engine, ids) == EXPECTED
    rebuild(engine, [[e] for e in log.events])
    assert currencies(engine, ids) == EXPECTED
    async with async_engine.connect() as connection:
        for name, currency in EXPECTED.items():
            entry = await listed_entry(connection, ids[name], STAFF, requester)
            assert entry is not None, name
            assert entry.currency == currency, name


@pytest.mark.own_database  # it migrates down and up: never the run's shared database
def test_the_upgrade_fills_what_the_rows_say_and_a_rebuild_the_rest(engine: Engine) -> None:
    log, ids, _ = requests_log()
    apply(engine, [log.events])
    _alembic(engine, "downgrade", "0033")
    _alembic(engine, "upgrade", "head")
    # A budget's currency; a request without one is left to a rebuild, even with an accepted
    # quote (before requests stated a currency, quotes came in any: the domain reads GBP).
    assert currencies(engine, ids) == EXPECTED | {"v1": None, "stated": None, "accepted": None}
    rebuild(engine, [log.events])
    assert currencies(engine, ids) == EXPECTED
