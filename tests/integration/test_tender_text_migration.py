"""Migration 0020 gives the tenders already on the board their searchable text: the tenders
projection's position stays where it was, so without it a tender read before the upgrade would
never be found by words (short of a rebuild). Both stores."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, select

from projections.search_tables import tender_search_text
from projections.tables import tenders
from projections.tenders import TendersProjection
from tests.integration.test_tenders_read_side import TERMS, m
from tradehall.store.migrations import migrations_dir

ODD = TERMS | {"title": "Café \x00 parks", "description": "Lawns \ud800 and paths"}


def _alembic(engine: Engine, action: str, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        getattr(command, action)(config, revision)


@pytest.mark.own_database  # it migrates down and up: never the run's shared database
def test_the_upgrade_writes_the_text_the_projection_would(engine: Engine) -> None:
    buyer, first, second, broken = uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    with engine.begin() as connection:
        TendersProjection().apply(
            connection,
            [
                m(1, first, "Drafted", buyer_id=buyer, ocid="o-1", terms=TERMS),
                m(2, second, "Drafted", buyer_id=buyer, ocid="o-2", terms=ODD),
                m(3, broken, "Drafted", buyer_id=buyer, ocid="o-3", terms=TERMS),
            ],
        )
        written = _texts(connection, {first, second, broken})
        # A row whose stored terms no longer decode: left to a rebuild, not a failed upgrade.
        connection.execute(
            tenders.update().where(tenders.c.tender_id == broken).values(terms='{"x": 1}')
        )
    assert set(written) == {first, second, broken}

    _alembic(engine, "downgrade", "0019")
    _alembic(engine, "upgrade", "head")

    with engine.connect() as connection:
        filled = _texts(connection, {first, second, broken})
    assert filled == {first: written[first], second: written[second]}
    assert "parks" in filled[second]["title"]
    assert "Lawns" in filled[second]["description"]


def _texts(connection: Connection, tender_ids: set[uuid.UUID]) -> dict[uuid.UUID, Any]:
    """These tenders' text rows (a PostgreSQL test database holds other tests' tenders)."""
    found = select(tender_search_text).where(tender_search_text.c.tender_id.in_(tender_ids))
    return {row.tender_id: row._asdict() for row in connection.execute(found)}
