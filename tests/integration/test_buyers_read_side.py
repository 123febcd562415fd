"""The buyers read model, on both stores: it follows the membership and marketplace logs in
either order, and no event stops it (ADR 16)."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, select

from projections.buyers import BuyersProjection
from projections.events import RecordedEvent
from projections.tables import marketplace_buyers
from tests.integration.recorded import recorded

T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def event(
    log: str, position: int, originator: uuid.UUID, event_name: str, **data: Any
) -> RecordedEvent:
    data.setdefault("timestamp", T0)
    topic = f"{'membership.domain' if log == 'membership' else 'marketplace.buyers'}:{event_name}"
    return recorded(log, position, originator, 1, topic, data)


def registered(position: int, org: uuid.UUID, kind: str, name: str = "A Council") -> RecordedEvent:
    return event("membership", position, org, "Organisation.Registered", name=name, kind=kind)


def rows(connection: Any, *orgs: uuid.UUID) -> dict[uuid.UUID, dict[str, Any]]:
    query = select(marketplace_buyers).where(marketplace_buyers.c.organisation_id.in_(orgs))
    return {r.organisation_id: dict(r._mapping) for r in connection.execute(query)}


def test_either_log_may_come_first(engine: Engine) -> None:
    council, business, enterprise = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    check = uuid.uuid4()
    projection = BuyersProjection()
    with engine.begin() as connection:
        # The marketplace log read before the registration: a row without a name.
        projection.apply(
            connection,
            [
                event(
                    "marketplace", 1, check, "BuyerVerification.Verified", organisation_id=council
                ),
                event("marketplace", 2, check, "BuyerVerification.Withdrawn", reason="wrong"),
                event("marketplace", 3, check, "BuyerVerification.Reverified", evidence="ok"),
            ],
        )
        early = rows(connection, council)[council]
        assert (early["name"], early["verified"]) == (None, True)
        projection.apply(
            connection,
            [
                registered(1, council, "public_body"),
                registered(2, business, "business", "Harbour Ltd"),
                registered(3, enterprise, "social_enterprise"),
            ],
        )
        found = rows(connection, council, business, enterprise)
        assert set(found) == {council, business}
        assert (found[council]["name"], found[council]["verified"]) == ("A Council", True)
        assert found[council]["verification_id"] == check
        assert (found[business]["kind"], found[business]["verified"]) == ("business", False)
        # A later batch: withdrawn, found by the verification's id.
        projection.apply(
            connection, [event("marketplace", 4, check, "BuyerVerification.Withdrawn", reason="x")]
        )
        assert rows(connection, council)[council]["verified"] is False
        connection.rollback()


def test_no_event_stops_it(engine: Engine, caplog: pytest.LogCaptureFixture) -> None:
    """What the domain never records but another writer could: a later event of a verification
    never seen, a first one without its organisation, a registration without a kind, and a
    name the store cannot hold as it is."""
    org = uuid.uuid4()
    projection = BuyersProjection()
    with caplog.at_level(logging.WARNING), engine.begin() as connection:
        projection.apply(
            connection,
            [
                event("marketplace", 1, uuid.uuid4(), "BuyerVerification.Withdrawn", reason="x"),
                event("marketplace", 2, uuid.uuid4(), "BuyerVerification.Verified", evidence="x"),
                event("marketplace", 3, uuid.uuid4(), "BuyerVerification.Something", a=1),
            ],
        )
        projection.apply(
            connection,
            [
                event("membership", 1, uuid.uuid4(), "Organisation.Registered", name="No kind"),
                registered(2, org, "public_body", "Nul\x00" + "x" * 300),
                event("membership", 3, org, "Organisation.MembershipApplied"),
            ],
        )
        (row,) = rows(connection, org).values()
        assert row["name"].startswith("Nul")
        assert row["verified"] is False
        connection.rollback()
    assert sum("left out" in r.getMessage() for r in caplog.records) == 2


def test_a_renamed_buyer_is_listed_by_its_new_name(engine: Engine) -> None:
    council, enterprise = uuid.uuid4(), uuid.uuid4()
    projection = BuyersProjection()
    renamed = "Organisation.ProfileUpdated"
    with engine.begin() as connection:
        projection.apply(
            connection,
            [
                registered(1, council, "public_body", "Old Town Council"),
                registered(2, enterprise, "social_enterprise"),
                event("membership", 3, council, renamed, name="New Town Council"),
                event("membership", 4, enterprise, renamed, name="Not a buyer"),
                event("membership", 5, uuid.uuid4(), renamed, name="Never registered"),
            ],
        )
        found = rows(connection, council, enterprise)
        assert set(found) == {council}
        assert found[council]["name"] == "New Town Council"
        connection.rollback()
