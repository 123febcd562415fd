"""Buyer organisations and their verification: the public list of buyers (GET /api/v1/buyers).

One projection following two logs: `membership` (an organisation registered as a public body
or a business: its name and kind) and `marketplace` (staff verify it, withdraw the
verification, verify it again). The logs are read independently, so either may come first: a
verification read before its registration makes a row without a name, which the list leaves
out until the registration is read. An event never stops the projection (ADR 16): one whose
payload lacks what it needs is left out with a log line, and text is made storable by
`projections.folding`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, and_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from projections.base import Projection
from projections.events import RecordedEvent, leave_out, payload_uuid
from projections.folding import Row, load_rows, upsert_rows
from projections.pages import Page, entry_of, page_rows
from projections.tables import marketplace_buyers

# Organisation kinds that buy in the marketplace (as marketplace.buyers.BUYER_KINDS; the read
# side reads events by topic and payload, not through the domain).
BUYER_KINDS = frozenset({"public_body", "business"})
REGISTERED = "Organisation.Registered"
RENAMED = "Organisation.ProfileUpdated"  # carries the whole profile, the name among it
VERIFIED = "BuyerVerification.Verified"
REVERIFIED = "BuyerVerification.Reverified"
WITHDRAWN = "BuyerVerification.Withdrawn"
_LATER = frozenset({REVERIFIED, WITHDRAWN})
_HANDLED = {
    "membership": frozenset({REGISTERED, RENAMED}),
    "marketplace": frozenset({VERIFIED, *_LATER}),
}


def _empty_row(organisation_id: UUID) -> Row:
    return {
        "organisation_id": organisation_id,
        "name": None,
        "kind": None,
        "registered_at": None,
        "verification_id": None,
        "verified": False,
        "verified_at": None,
        "withdrawn_at": None,
    }


class BuyersProjection(Projection):
    name = "buyers"
    logs = ("membership", "marketplace")
    tables = (marketplace_buyers,)

    def apply(self, connection: Connection, events: Sequence[RecordedEvent]) -> None:
        relevant = [e for e in events if e.name in _HANDLED.get(e.log, ())]
        if not relevant:
            return
        table = marketplace_buyers
        # The organisations the events name: a registration's originator, a first
        # verification's organisation_id; later verification events name their aggregate.
        org_of: dict[UUID, UUID] = {}  # verification id -> organisation id
        wanted: set[UUID] = set()
        later: set[UUID] = set()
        for event in relevant:
            if event.name in (REGISTERED, RENAMED):
                wanted.add(event.originator_id)
            elif event.name == VERIFIED:
                org = payload_uuid(event.data.get("organisation_id"))
                if org is not None:
                    org_of[event.originator_id] = org
                    wanted.add(org)
            else:
                later.add(event.originator_id)
        unknown = later - set(org_of)
        if unknown:
            for row in load_rows(connection, table, "verification_id", unknown).values():
                org_of[row["verification_id"]] = row["organisation_id"]
                wanted.add(row["organisation_id"])
        rows = load_rows(connection, table, "organisation_id", wanted)
        changed: set[UUID] = set()
        for event in relevant:
            org_id = self._fold(rows, org_of, event)
            if org_id is not None:
                changed.add(org_id)
        upsert_rows(connection, table, "organisation_id", [rows[o] for o in changed])

    @staticmethod
    def _fold(rows: dict[UUID, Row], org_of: dict[UUID, UUID], event: RecordedEvent) -> UUID | None:
        """Fold one event into its organisation's row; the organisation, or None if left out."""
        data = event.data
        if event.name == REGISTERED:
            kind = data.get("kind")
            if not isinstance(kind, str) or kind not in BUYER_KINDS:
                return None
            org_id = event.originator_id
            row = rows.setdefault(org_id, _empty_row(org_id))
            row.update(
                name=str(data.get("name") or "(unnamed)"),
                kind=data["kind"],
                registered_at=data.get("timestamp"),
            )
            return org_id
        if event.name == RENAMED:
            buyer = rows.get(event.originator_id)
            if buyer is None or buyer["kind"] is None or not data.get("name"):
                return None  # not a buyer (or its registration not read yet): nothing to rename
            buyer["name"] = str(data["name"])
            return event.originator_id
        found = org_of.get(event.originator_id)
        if found is None:
            leave_out("buyers", event, "no organisation known for it")
            return None
        row = rows.setdefault(found, _empty_row(found))
        at = data.get("timestamp")
        if event.name == WITHDRAWN:
            row.update(verified=False, withdrawn_at=at)
        else:
            row.update(verification_id=event.originator_id, verified=True, verified_at=at)
        return found


@dataclass(frozen=True)
class BuyerEntry:
    organisation_id: UUID
    name: str
    kind: str
    verified: bool
    verified_at: datetime | None


BuyersPage = Page[BuyerEntry]


async def buyers_page(
    connection: AsyncConnection,
    *,
    kind: str | None,
    verified: bool | None,
    limit: int,
    offset: int,
) -> BuyersPage:
    """Registered buyer organisations by name; filtered by kind and by verification."""
    table = marketplace_buyers
    conditions: list[Any] = [table.c.name.is_not(None), table.c.kind.in_(BUYER_KINDS)]
    if kind is not None:
        conditions.append(table.c.kind == kind)
    if verified is not None:
        conditions.append(table.c.verified.is_(verified))
    query = select(
        table.c.organisation_id,
        table.c.name,
        table.c.kind,
        table.c.verified,
        table.c.verified_at,
    )
    order = (table.c.name, table.c.organisation_id)
    result, total = await page_rows(
        connection, query, table, and_(*conditions), order, limit, offset
    )
    entries = [
        entry_of(BuyerEntry, row, verified_at=row.verified_at if row.verified else None)
        for row in result
    ]
    return BuyersPage(entries=entries, total=total)
