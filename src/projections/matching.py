"""Procurement matching's inputs (issue 14, ADR 29): what the matching queries
(projections.matching_query) score members and lots from, kept as events arrive.

One projection follows two logs, and only their public data (never a bid, an interest, a due).
From the membership log, a row an organisation: its name, whether ever admitted, whether in
good standing, its profile's CPV codes and regions. From the marketplace log, a row a service
listing (published or not, capacity, codes), a row a signed contract (its lot's CPV divisions,
completed or not) and its parties, and a row a tender's lot (drafts too) with its prefixes and
its tender's regions. The quality mark is not folded here: the queries read the register's
own table (`quality_marks`).

From the marketplace log too, each request for quote's CPV codes (issue 18: RequestForQuote.
Posted), which give a contract for it (an accepted quote's, lot "quote") its divisions; a request
is never a lot (never recommended as one).

From the marketplace log too, each outside opportunity (issue 16: a national portal's notice,
imported as OCDS) while it may be open: one lot, its summary's CPV prefixes and ITL regions.

A batch then recomputes, for each organisation whose profile, listings or contracts it touched,
and only those, the rows the queries read by index: its CPV prefixes, regions and per-division
figures, from the folded rows alone. A rebuild from zero therefore gives the same rows.

An event never stops the projection (ADR 16): text is made storable by `projections.folding`;
an event whose payload is not what the domain writes is left out with a log line; codes that
are not CPV codes match nothing.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import msgspec
from sqlalchemy import Connection, select

from projections.base import Projection
from projections.contracts import COMPLETED as CONTRACT_COMPLETED
from projections.contracts import QUOTE_LOT, StoredSigned
from projections.contracts import SIGNED as CONTRACT_SIGNED
from projections.directory import LISTED_STATUSES, PROFILE_UPDATED
from projections.events import EVENT_THEN_WHY, RecordedEvent, leave_out
from projections.folding import (
    Row,
    delete_rows,
    insert_rows,
    load_rows,
    replace_rows,
    save_rows,
    storable,
)
from projections.listings import LISTING_EVENTS, STATE_AFTER, listing_details
from projections.listings import PUBLISHED as LISTING_PUBLISHED
from projections.listings import UPDATED as LISTING_UPDATED
from projections.matching_query import OPEN_STATUS
from projections.matching_score import AMOUNT_CAP, divisions_of, prefixes_of
from projections.matching_tables import (
    LOT_ID_LENGTH,
    OUTSIDE_BUYER,
    OUTSIDE_LOT_ID,
    REGION_LENGTH,
    match_contract_parties,
    match_contracts,
    match_listings,
    match_lot_prefixes,
    match_lots,
    match_member_divisions,
    match_member_prefixes,
    match_member_regions,
    match_members,
    match_requests,
    match_tender_regions,
)
from projections.membership_status import (
    STANDING_DATE_EVENTS,
    STATUS_EVENTS,
    UNREADABLE,
    standing_dates,
    status_after,
)
from projections.opportunities import IMPORTED as OPPORTUNITY_IMPORTED
from projections.opportunities import MERGED as OPPORTUNITY_MERGED
from projections.opportunities import StoredSummary, amount_minor
from projections.quote_requests import POSTED as REQUEST_POSTED
from projections.quote_requests import posted
from projections.tenders import (
    ACTIVATED,
    AMENDED,
    DRAFT,
    DRAFTED,
    ENDED,
    ENDED_AS,
    LOT_AWARDED,
    LOT_DECIDED,
    PUBLISHED,
    PUBLISHED_AS,
    REVISED,
    StoredTerms,
)

MARKETPLACE, MEMBERSHIP = "marketplace", "membership"
REGISTERED, ADMITTED = "Organisation.Registered", "Organisation.MembershipAdmitted"
_MEMBER_EVENTS = frozenset({REGISTERED, PROFILE_UPDATED, *STATUS_EVENTS, *STANDING_DATE_EVENTS})
_TENDER_TERMS = frozenset({DRAFTED, REVISED, AMENDED})
_TENDER_EVENTS = frozenset({*_TENDER_TERMS, PUBLISHED, ACTIVATED, ENDED, LOT_DECIDED})
_OPPORTUNITY_EVENTS = frozenset({OPPORTUNITY_IMPORTED, OPPORTUNITY_MERGED})
_TITLE_LENGTH = 200  # match_lots' titles


def _codes(value: Any) -> list[str]:
    """A list of codes as an event holds it; [] for anything else."""
    return [str(code) for code in value] if isinstance(value, list) else []


def _dump(codes: Iterable[str]) -> str:
    return json.dumps(sorted(set(codes)))  # ASCII: storable as it is


def _load(stored: str) -> list[str]:
    try:
        return _codes(json.loads(stored))
    except ValueError:
        return []


# The membership log -----------------------------------------------------------------------


def _apply_members(connection: Connection, events: list[RecordedEvent]) -> set[UUID]:
    """Fold the organisations' rows and replace their regions; the organisations whose
    profile codes changed (their prefixes to recompute)."""
    touched = {e.originator_id for e in events}
    rows = load_rows(connection, match_members, "organisation_id", touched)
    stored = set(rows)
    regions: dict[UUID, list[str]] = {}
    profiled: set[UUID] = set()
    for event in events:
        org_id, data = event.originator_id, event.data
        row = rows.get(org_id)
        if event.name == REGISTERED:
            if row is not None:  # registered twice (not the domain's doing): the first kept
                continue
            rows[org_id] = {
                "organisation_id": org_id,
                "name": str(data.get("name") or ""),
                "member": False,
                "listed": False,
                "profile_cpv": _dump(_codes(data.get("cpv_codes"))),
                "lapses_at": None,
                "resigns_at": None,
            }
            regions[org_id] = _codes(data.get("regions"))
            profiled.add(org_id)
            continue
        if row is None:  # registered before the log began
            continue
        if event.name == PROFILE_UPDATED:
            name = data.get("name")
            if isinstance(name, str) and name:
                row["name"] = name
            if "cpv_codes" in data:
                row["profile_cpv"] = _dump(_codes(data["cpv_codes"]))
                profiled.add(org_id)
            if "regions" in data:
                regions[org_id] = _codes(data["regions"])
            continue
        if event.name in STANDING_DATE_EVENTS:
            row.update(standing_dates("matching", event))
            continue
        status = status_after(event.name, data)
        if status == UNREADABLE:
            leave_out(
                "matching", event, "carries no status; the member is unchanged", text=EVENT_THEN_WHY
            )
            continue
        row["listed"] = status in LISTED_STATUSES
        row["member"] = row["member"] or event.name == ADMITTED or row["listed"]
    save_rows(connection, match_members, "organisation_id", rows, created=set(rows) - stored)
    replace_rows(
        connection,
        match_member_regions,
        "organisation_id",
        regions.keys(),
        [
            {"organisation_id": org_id, "region": region}
            for org_id, stated in regions.items()
            for region in dict.fromkeys(storable(connection, r, REGION_LENGTH) for r in stated)
        ],
    )
    return profiled


# The marketplace log: listings --------------------------------------------------------------


def _listing_details(event: RecordedEvent) -> tuple[int, list[str]] | None:
    """A Published or Updated listing's capacity (capped) and codes, as the listings
    projection reads them; None (logged there) if they are not what the domain writes."""
    details = listing_details(event)
    if details is None:
        return None
    return min(details.columns["capacity_minor"], AMOUNT_CAP), details.cpv_codes


def _apply_listings(connection: Connection, events: list[RecordedEvent], dirty: set[UUID]) -> None:
    created = {e.originator_id for e in events if e.name == LISTING_PUBLISHED}
    rows = load_rows(connection, match_listings, "listing_id", {e.originator_id for e in events})
    created -= set(rows)  # published twice (not the domain's doing): the first kept
    for event in events:
        listing_id = event.originator_id
        row = rows.get(listing_id)
        if event.name == LISTING_PUBLISHED:
            if row is not None:
                continue
            details, seller = _listing_details(event), event.data.get("organisation_id")
            if details is None or not isinstance(seller, UUID):
                if details is not None:
                    leave_out("matching", event, "it names no organisation")
                created.discard(listing_id)
                continue
            rows[listing_id] = {
                "listing_id": listing_id,
                "organisation_id": seller,
                "published": True,
                "capacity_minor": details[0],
                "cpv_codes": _dump(details[1]),
            }
        elif row is None:  # its publication was left out, or came before the log began
            continue
        elif event.name == LISTING_UPDATED:
            details = _listing_details(event)
            if details is None:
                continue
            row.update(capacity_minor=details[0], cpv_codes=_dump(details[1]))
        else:
            row["published"] = STATE_AFTER[event.name] == "published"
        dirty.add(rows[listing_id]["organisation_id"])
    save_rows(connection, match_listings, "listing_id", rows, created=created)


# The marketplace log: tenders' lots ---------------------------------------------------------


@dataclass
class _Tender:
    """A tender's lots as a batch leaves them."""

    buyer_id: UUID
    status: str
    regions: list[str]
    lots: dict[str, Row] = field(default_factory=dict)


def _load_tenders(connection: Connection, tender_ids: Collection[UUID]) -> dict[UUID, _Tender]:
    found: dict[UUID, _Tender] = {}
    if not tender_ids:
        return found
    for row in connection.execute(select(match_lots).where(match_lots.c.tender_id.in_(tender_ids))):
        tender = found.setdefault(row.tender_id, _Tender(row.buyer_id, row.status, []))
        tender.lots[row.lot_id] = dict(row._mapping)
    for tender_id, region in connection.execute(
        select(match_tender_regions).where(match_tender_regions.c.tender_id.in_(found))
    ):
        found[tender_id].regions.append(region)
    return found


def _terms(event: RecordedEvent) -> StoredTerms | None:
    try:
        return msgspec.convert(event.data["terms"], StoredTerms)
    except (KeyError, TypeError, ValueError, msgspec.ValidationError) as error:
        leave_out("matching", event, f"its terms are not a tender's ({error})")
        return None


def _set_terms(tender_id: UUID, tender: _Tender, terms: StoredTerms, event: RecordedEvent) -> None:
    """The tender's lots as the terms state them (each lot's outcome, if decided, kept)."""
    outcomes = {lot_id: row["outcome"] for lot_id, row in tender.lots.items()}
    tender.lots = {}
    for lot in terms.lots:
        if not lot.id or len(lot.id) > LOT_ID_LENGTH or lot.id in tender.lots:
            why = f"lot {lot.id!r} of tender {tender_id} left out: not a lot id"
            leave_out("matching", event, why, text="%(reader)s: %(why)s")
            continue
        tender.lots[lot.id] = {
            "tender_id": tender_id,
            "lot_id": lot.id,
            "buyer_id": tender.buyer_id,
            "tender_title": terms.title,
            "lot_title": lot.title,
            "status": tender.status,
            "outcome": outcomes.get(lot.id),
            "deadline": terms.tender_period.end,
            "value_minor": min(lot.value_minor, AMOUNT_CAP),
            "currency": lot.currency,
            "quality_mark_required": terms.eligibility.quality_mark_required,
            "members_only": terms.eligibility.members_only,
            "restricted": bool(terms.eligibility.regions),
            "cpv_codes": _dump(lot.cpv_codes),
        }
    tender.regions = list(terms.eligibility.regions)


def _set_status(tender: _Tender, status: str) -> None:
    tender.status = status
    for row in tender.lots.values():
        row["status"] = status


def _change_tender(tender_id: UUID, tender: _Tender, event: RecordedEvent) -> None:
    data = event.data
    if event.name in _TENDER_TERMS:
        terms = _terms(event)
        if terms is not None:  # else the tender keeps the terms it had
            _set_terms(tender_id, tender, terms, event)
    elif event.name == ACTIVATED:
        _set_status(tender, "active")
    elif event.name in (PUBLISHED, ENDED):
        status = data.get("status")
        allowed = PUBLISHED_AS if event.name == PUBLISHED else ENDED_AS
        if not isinstance(status, str) or status not in allowed:
            leave_out("matching", event, "carries no status it may; left out", text=EVENT_THEN_WHY)
            return
        _set_status(tender, str(status))
    else:  # LOT_DECIDED: the lot's outcome; once all are decided, the tender's status
        lot_id, outcome = data.get("lot_id"), data.get("outcome")
        # A list or dict is unhashable: checked to be text before it is looked up (ADR 16).
        if not isinstance(lot_id, str) or lot_id not in tender.lots:
            leave_out("matching", event, "it names no lot of the tender")
            return
        if not isinstance(outcome, str) or not outcome:
            leave_out("matching", event, "it gives no outcome")
            return
        tender.lots[lot_id]["outcome"] = outcome[:20]
        outcomes = [row["outcome"] for row in tender.lots.values()]
        if None not in outcomes:
            _set_status(tender, "complete" if LOT_AWARDED in outcomes else "unsuccessful")


def _fold_tender(tenders: dict[UUID, _Tender], event: RecordedEvent) -> None:
    tender_id = event.originator_id
    if event.name == DRAFTED:
        terms, buyer = _terms(event), event.data.get("buyer_id")
        if tender_id in tenders or terms is None or not isinstance(buyer, UUID):
            if tender_id not in tenders and terms is not None:
                leave_out("matching", event, "it names no buyer")
            return
        tender = tenders[tender_id] = _Tender(buyer, DRAFT, [])
        _set_terms(tender_id, tender, terms, event)
    elif tender_id in tenders:  # else its draft was left out, or came before the log began
        _change_tender(tender_id, tenders[tender_id], event)
    if tender_id in tenders and not tenders[tender_id].lots:
        del tenders[tender_id]  # nothing stored of it: as if its draft were left out


def _save_tenders(
    connection: Connection, tenders: dict[UUID, _Tender], touched: Collection[UUID]
) -> None:
    """Replace every row of the touched tenders with what the batch left."""
    for table in (match_lot_prefixes, match_lots, match_tender_regions):
        delete_rows(connection, table, "tender_id", touched)
    kept = [tenders[t] for t in touched if t in tenders]
    insert_rows(connection, match_lots, [row for t in kept for row in t.lots.values()])
    insert_rows(
        connection,
        match_lot_prefixes,
        [
            {"tender_id": row["tender_id"], "lot_id": row["lot_id"], "prefix": prefix}
            for t in kept
            for row in t.lots.values()
            for prefix in sorted(prefixes_of(_load(row["cpv_codes"])))
        ],
    )
    insert_rows(
        connection,
        match_tender_regions,
        [
            {"tender_id": tender_id, "region": region}
            for tender_id in touched
            if tender_id in tenders
            for region in dict.fromkeys(
                storable(connection, r, REGION_LENGTH) for r in tenders[tender_id].regions
            )
        ],
    )


# The marketplace log: outside opportunities ------------------------------------------------


def _summary(event: RecordedEvent) -> StoredSummary | None:
    """The summary an Opportunity event holds, read as the opportunities projection reads it;
    None (logged) if it is not what the domain writes."""
    try:
        return msgspec.convert(event.data["summary"], StoredSummary)
    except (KeyError, TypeError, ValueError, msgspec.ValidationError) as error:
        leave_out("matching", event, f"not an opportunity's summary ({error})")
        return None


def _value(summary: StoredSummary) -> tuple[int, str]:
    """The published value in minor units (rounded half up, capped) and its currency; (0, "")
    when none is published or it is not an amount: the formula's V = 0 (see ADR 29)."""
    currency = summary.currency
    if summary.amount is None or not isinstance(currency, str) or len(currency) != 3:
        return 0, ""
    minor = amount_minor(summary.amount)
    if minor is None:
        return 0, ""
    return min(minor, AMOUNT_CAP), currency


def _outside_lot(
    connection: Connection, opportunity_id: UUID, summary: StoredSummary
) -> _Tender | None:
    """The opportunity as one lot, while it may be open (active, with a deadline); None once it
    cannot be (its rows are then deleted: only recommendations read it, and they want open
    ones)."""
    deadline = summary.deadline
    if summary.status != OPEN_STATUS or deadline is None or deadline.tzinfo is None:
        return None
    value, currency = _value(summary)
    title = storable(connection, summary.title[:_TITLE_LENGTH], _TITLE_LENGTH)
    lot: Row = {
        "tender_id": opportunity_id,
        "lot_id": OUTSIDE_LOT_ID,
        "buyer_id": OUTSIDE_BUYER,
        "tender_title": title,
        "lot_title": title,
        "status": OPEN_STATUS,
        "outcome": None,
        "deadline": deadline,
        "value_minor": value,
        "currency": currency,
        "quality_mark_required": False,
        "members_only": False,
        # Any place named restricts it; none read as a region leaves it with no region rows.
        "restricted": bool(summary.regions or summary.unresolved_regions),
        "cpv_codes": _dump(summary.cpv_codes),
    }
    return _Tender(OUTSIDE_BUYER, OPEN_STATUS, list(summary.regions), {OUTSIDE_LOT_ID: lot})


def _fold_opportunities(
    connection: Connection, events: list[RecordedEvent]
) -> dict[UUID, _Tender | None]:
    """Each opportunity as its batch's last readable event leaves it (an event holds its whole
    summary): a lot, or None (no rows). One whose events were all left out is not touched."""
    found: dict[UUID, _Tender | None] = {}
    for event in events:
        summary = _summary(event)
        if summary is not None:
            found[event.originator_id] = _outside_lot(connection, event.originator_id, summary)
    return found


# The marketplace log: requests for quote ----------------------------------------------------


def _fold_requests(connection: Connection, events: list[RecordedEvent]) -> dict[UUID, Row]:
    """The rows of the requests the batch posts (a request posted again, by another writer,
    keeps its first codes: the stored row, or the batch's first)."""
    stored = load_rows(connection, match_requests, "request_id", {e.originator_id for e in events})
    new: dict[UUID, Row] = {}
    for event in events:
        request_id = event.originator_id
        if request_id in stored or request_id in new:
            continue
        terms = posted(event, "matching")
        if terms is not None:
            new[request_id] = {"request_id": request_id, "cpv_codes": _dump(terms.cpv_codes)}
    insert_rows(connection, match_requests, list(new.values()))
    return stored | new


# The marketplace log: contracts -------------------------------------------------------------


def _signed(event: RecordedEvent) -> StoredSigned | None:
    try:
        return msgspec.convert(event.data, StoredSigned)
    except (msgspec.ValidationError, TypeError, ValueError) as error:
        leave_out("matching", event, f"not a contract's signing ({error})")
        return None


def _divisions(
    signed: StoredSigned,
    tenders: dict[UUID, _Tender],
    requests: dict[UUID, Row],
    event: RecordedEvent,
) -> set[str]:
    """A signed contract's CPV divisions: its request's (an accepted quote's contract) or its
    tender lot's; none (logged) if neither is known."""
    request = requests.get(signed.tender_id) if signed.lot_id == QUOTE_LOT else None
    if request is not None:
        return divisions_of(_load(request["cpv_codes"]))
    tender = tenders.get(signed.tender_id)
    lot = tender.lots.get(signed.lot_id) if tender else None
    if lot is None:
        leave_out(
            "matching", event, "names no lot or request we know: no division", text=EVENT_THEN_WHY
        )
        return set()
    return divisions_of(_load(lot["cpv_codes"]))


# The marketplace log, in order -------------------------------------------------------------


def _apply_marketplace(connection: Connection, events: list[RecordedEvent]) -> set[UUID]:
    """Fold listings, lots and contracts; the organisations whose figures changed."""
    dirty: set[UUID] = set()
    listings = [e for e in events if e.name in LISTING_EVENTS]
    if listings:
        _apply_listings(connection, listings, dirty)
    tender_events = [e for e in events if e.name in _TENDER_EVENTS]
    contract_events = [e for e in events if e.name in (CONTRACT_SIGNED, CONTRACT_COMPLETED)]
    outside = _fold_opportunities(connection, [e for e in events if e.name in _OPPORTUNITY_EVENTS])
    posted_requests = [e for e in events if e.name == REQUEST_POSTED]
    # A request is posted before any contract for it is signed: the batch's are folded first.
    requests = _fold_requests(connection, posted_requests) if posted_requests else {}
    if not tender_events and not contract_events and not outside:
        return dirty
    signings = {e.originator_id: _signed(e) for e in contract_events if e.name == CONTRACT_SIGNED}
    touched = {e.originator_id for e in tender_events}
    wanted = touched | {s.tender_id for s in signings.values() if s is not None}
    tenders = _load_tenders(connection, wanted)
    quoted = {s.tender_id for s in signings.values() if s is not None and s.lot_id == QUOTE_LOT}
    requests |= load_rows(connection, match_requests, "request_id", quoted - requests.keys())
    contracts = load_rows(
        connection, match_contracts, "contract_id", {e.originator_id for e in contract_events}
    )
    stored_contracts = set(contracts)
    parties: dict[UUID, list[UUID]] = {}
    completed: set[UUID] = set()
    for event in sorted([*tender_events, *contract_events], key=lambda e: e.position):
        if event.name in _TENDER_EVENTS:
            _fold_tender(tenders, event)
            continue
        contract_id = event.originator_id
        if event.name == CONTRACT_SIGNED:
            signed = signings[contract_id]
            if signed is None or contract_id in contracts:
                continue
            divisions = _divisions(signed, tenders, requests, event)
            contracts[contract_id] = {
                "contract_id": contract_id,
                "divisions": _dump(divisions),
                "completed": False,
            }
            parties[contract_id] = list(dict.fromkeys(p.organisation_id for p in signed.parties))
            dirty.update(parties[contract_id])
        elif contract_id in contracts:  # Completed; else its signing was left out
            contracts[contract_id]["completed"] = True
            completed.add(contract_id)
    # Outside opportunities are folded apart (no tender or contract event names them) and
    # replaced with the tenders' rows.
    for opportunity_id, opportunity in outside.items():
        if opportunity is None:
            tenders.pop(opportunity_id, None)
        else:
            tenders[opportunity_id] = opportunity
    _save_tenders(connection, tenders, touched | set(outside))
    save_rows(
        connection,
        match_contracts,
        "contract_id",
        contracts,
        created=set(contracts) - stored_contracts,
    )
    insert_rows(
        connection,
        match_contract_parties,
        [
            {"organisation_id": org_id, "contract_id": contract_id}
            for contract_id, orgs in parties.items()
            for org_id in orgs
        ],
    )
    if completed:  # their parties' track records change
        dirty.update(
            connection.execute(
                select(match_contract_parties.c.organisation_id).where(
                    match_contract_parties.c.contract_id.in_(completed)
                )
            ).scalars()
        )
    return dirty


# Each touched organisation's figures, recomputed from the folded rows ---------------------


def _recompute(connection: Connection, org_ids: Collection[UUID]) -> None:
    """Replace the organisations' prefixes and per-division figures with what their profile,
    published listings and contracts give."""
    if not org_ids:
        return
    profile = {
        row.organisation_id: _load(row.profile_cpv)
        for row in connection.execute(
            select(match_members.c.organisation_id, match_members.c.profile_cpv).where(
                match_members.c.organisation_id.in_(org_ids)
            )
        )
    }
    prefixes: dict[UUID, set[str]] = {o: prefixes_of(profile.get(o, [])) for o in org_ids}
    figures: dict[tuple[UUID, str], Row] = {}

    def division(org_id: UUID, name: str) -> Row:
        return figures.setdefault(
            (org_id, name),
            {
                "organisation_id": org_id,
                "division": name,
                "listings": 0,
                "capacity_minor": 0,
                "won": 0,
                "delivered": 0,
            },
        )

    for row in connection.execute(
        select(match_listings).where(
            match_listings.c.organisation_id.in_(org_ids), match_listings.c.published.is_(True)
        )
    ):
        codes = _load(row.cpv_codes)
        prefixes[row.organisation_id] |= prefixes_of(codes)
        for name in divisions_of(codes):
            figure = division(row.organisation_id, name)
            figure["listings"] += 1
            figure["capacity_minor"] = max(figure["capacity_minor"], row.capacity_minor)
    for org_id, divisions, completed in connection.execute(
        select(
            match_contract_parties.c.organisation_id,
            match_contracts.c.divisions,
            match_contracts.c.completed,
        )
        .join(
            match_contracts, match_contracts.c.contract_id == match_contract_parties.c.contract_id
        )
        .where(match_contract_parties.c.organisation_id.in_(org_ids))
    ):
        for name in _load(divisions):
            figure = division(org_id, name)
            figure["won"] += 1
            figure["delivered"] += 1 if completed else 0
    replace_rows(
        connection,
        match_member_prefixes,
        "organisation_id",
        org_ids,
        [
            {"organisation_id": o, "prefix": p}
            for o, found in prefixes.items()
            for p in sorted(found)  # digits only: storable as they are
        ],
    )
    replace_rows(
        connection, match_member_divisions, "organisation_id", org_ids, list(figures.values())
    )


class MatchingProjection(Projection):
    """Matching's inputs (see the module's doc)."""

    name = "matching"
    logs = (MARKETPLACE, MEMBERSHIP)
    tables = (
        match_member_prefixes,
        match_member_regions,
        match_member_divisions,
        match_contract_parties,
        match_contracts,
        match_listings,
        match_members,
        match_requests,
        match_lot_prefixes,
        match_tender_regions,
        match_lots,
    )

    def apply(self, connection: Connection, events: Sequence[RecordedEvent]) -> None:
        dirty: set[UUID] = set()
        members = [e for e in events if e.log == MEMBERSHIP and e.name in _MEMBER_EVENTS]
        if members:
            dirty |= _apply_members(connection, members)
        market = [e for e in events if e.log == MARKETPLACE]
        if market:
            dirty |= _apply_marketplace(connection, market)
        _recompute(connection, dirty)
