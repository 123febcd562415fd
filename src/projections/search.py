"""Directory search (issue 14): members found by their words, filtered and counted by facet.

One projection follows two logs. From the membership log, a row an organisation: what the
directory shows (name, legal form, social purpose, member since), whether it is listed (in good
standing, as projections.directory decides), its profile's CPV codes and regions. From the
marketplace log, every service listing's seller, state, text and codes. An organisation's
searchable text is its name, social purpose and its published listings' titles and
descriptions; its CPV codes are its profile's and its published listings'. Both are worked out
again, from the stored listings, for every organisation a batch touches, whichever log came
first: the same rows whatever the batches (a rebuild equals the incremental view).

Public data only: nothing about bids or interest is read. An event never stops the projection
(ADR 16): text is made storable; an event whose data is not what the domain writes is left out
with a log line.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    String,
    and_,
    bindparam,
    case,
    delete,
    exists,
    func,
    intersect,
    literal,
    literal_column,
    not_,
    null,
    or_,
    select,
    type_coerce,
    union_all,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from projections.base import Projection
from projections.codes import (
    CPV_LENGTH,
    REGION_LENGTH,
    cpv_rows,
    cpv_stem,
    region_rows,
    related_regions,
    stem_prefixes,
)
from projections.directory import (
    LISTED_STATUSES,
    PROFILE_UPDATED,
    DirectoryEntry,
    directory_entry,
    gathered,
)
from projections.events import EVENT_THEN_WHY, RecordedEvent, leave_out
from projections.folding import Row, delete_rows, insert_rows, load_rows, save_rows, storable
from projections.listings import LISTING_EVENTS, STATE_AFTER, listing_details
from projections.listings import PUBLISHED as LISTING_PUBLISHED
from projections.listings import UPDATED as LISTING_UPDATED
from projections.mark_query import mark_held_at, mark_status_at
from projections.membership_status import (
    STANDING_DATE_EVENTS,
    STATUS_EVENTS,
    UNREADABLE,
    standing_dates,
    status_after,
)
from projections.search_tables import (
    DIRECTORY_TEXT,
    directory_search,
    directory_search_cpv,
    directory_search_listings,
    directory_search_regions,
)
from projections.standing_query import listed_at
from projections.tables import quality_marks
from projections.text_search import matches, rank

MEMBERSHIP, MARKETPLACE = "membership", "marketplace"
REGISTERED = "Organisation.Registered"
ADMITTED = "Organisation.MembershipAdmitted"
_MEMBER_EVENTS = frozenset({REGISTERED, PROFILE_UPDATED, *STATUS_EVENTS, *STANDING_DATE_EVENTS})
PROFILE, LISTING = "profile", "listing"
# The quality mark's register status of a mark held.
MARK_HELD = "valid"


@dataclass(frozen=True)
class _Profile:
    name: str
    social_purpose: str
    cpv_codes: list[str]
    regions: list[str]


def _profile(event: RecordedEvent) -> _Profile | None:
    """What a registration or profile update says of the organisation; None (logged) if it is
    not what the domain writes."""
    data = event.data
    try:
        return _Profile(
            name=_text(data["name"]),
            social_purpose=_text(data["social_purpose"]),
            cpv_codes=[_text(code) for code in data["cpv_codes"]],
            regions=[_text(region) for region in data["regions"]],
        )
    except (KeyError, TypeError) as error:
        leave_out("directory_search", event, f"not an organisation's profile ({error})")
        return None


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{value!r} is not text")
    return value


class DirectorySearchProjection(Projection):
    """Organisations' searchable rows (see the module's doc)."""

    name = "directory_search"
    logs = (MEMBERSHIP, MARKETPLACE)
    tables = (
        directory_search_cpv,
        directory_search_regions,
        directory_search_listings,
        directory_search,
    )

    def apply(self, connection: Connection, events: Sequence[RecordedEvent]) -> None:
        touched: set[UUID] = set()
        members = [e for e in events if e.log == MEMBERSHIP and e.name in _MEMBER_EVENTS]
        if members:
            touched |= _apply_members(connection, members)
        listings = [e for e in events if e.log == MARKETPLACE and e.name in LISTING_EVENTS]
        if listings:
            touched |= _apply_listings(connection, listings)
        if touched:
            _work_out_listings(connection, touched)


def _apply_members(connection: Connection, events: list[RecordedEvent]) -> set[UUID]:
    """Fold the organisations' events; the organisations made in the batch (whose listings,
    maybe read first, are still to be taken in)."""
    rows = load_rows(connection, directory_search, "organisation_id", {
        e.originator_id for e in events})  # fmt: skip
    created: set[UUID] = set()
    registered: set[UUID] = set()
    profiles: dict[UUID, _Profile] = {}
    for event in events:
        org_id, data = event.originator_id, event.data
        if event.name == REGISTERED:
            if org_id in rows or org_id in registered:
                continue  # registered twice (not the domain's doing): the first kept
            registered.add(org_id)
            profile, legal_form = _profile(event), data.get("legal_form")
            if profile is None or not isinstance(legal_form, str):
                if profile is not None:
                    leave_out("directory_search", event, "it has no legal form")
                continue
            created.add(org_id)
            rows[org_id] = {
                "organisation_id": org_id,
                "name": profile.name,
                "legal_form": legal_form,
                "social_purpose": profile.social_purpose,
                "listed": False,
                "admitted_at": None,
                "listings_text": "",
                "lapses_at": None,
                "resigns_at": None,
            }
            profiles[org_id] = profile
            continue
        row = rows.get(org_id)
        if row is None:  # its registration was left out, or came before the log began
            continue
        if event.name == PROFILE_UPDATED:
            profile = _profile(event)
            if profile is not None:
                row.update(name=profile.name, social_purpose=profile.social_purpose)
                profiles[org_id] = profile
            continue
        if event.name in STANDING_DATE_EVENTS:
            row.update(standing_dates("directory_search", event))
            continue
        status = status_after(event.name, data)
        if status == UNREADABLE:
            leave_out("directory_search", event, "carries no status; left out", text=EVENT_THEN_WHY)
        else:
            row["listed"] = status in LISTED_STATUSES
        if event.name == ADMITTED and isinstance(data.get("effective_at"), datetime):
            row["admitted_at"] = data["effective_at"]
    save_rows(connection, directory_search, "organisation_id", rows, created=created)
    _replace_profiles(connection, profiles, created)
    return created


def _replace_profiles(
    connection: Connection, profiles: dict[UUID, _Profile], created: Collection[UUID]
) -> None:
    """The profile codes each organisation's last profile in the batch stated, each once."""
    replaced = [org for org in profiles if org not in created]
    delete_rows(connection, directory_search_regions, "organisation_id", replaced)
    if replaced:
        connection.execute(
            delete(directory_search_cpv).where(
                directory_search_cpv.c.organisation_id.in_(replaced),
                directory_search_cpv.c.source == PROFILE,
            )
        )
    regions: list[Row] = []
    codes: list[Row] = []
    for org, profile in profiles.items():
        stored = dict.fromkeys(storable(connection, r, REGION_LENGTH) for r in profile.regions)
        regions.extend(region_rows("organisation_id", org, stored))
        cpv = dict.fromkeys(storable(connection, c, CPV_LENGTH) for c in profile.cpv_codes)
        codes.extend(row | {"source": PROFILE} for row in cpv_rows("organisation_id", org, cpv))
    insert_rows(connection, directory_search_regions, regions)
    insert_rows(connection, directory_search_cpv, codes)


def _apply_listings(connection: Connection, events: list[RecordedEvent]) -> set[UUID]:
    """Fold the listings' events; the organisations whose listings changed."""
    rows = load_rows(
        connection, directory_search_listings, "listing_id", {e.originator_id for e in events}
    )
    created: set[UUID] = set()
    published: set[UUID] = set()
    for event in events:
        listing_id = event.originator_id
        if event.name == LISTING_PUBLISHED:
            if listing_id in rows or listing_id in published:
                continue  # published twice (not the domain's doing): the first kept
            published.add(listing_id)
            details, seller = listing_details(event), event.data.get("organisation_id")
            if details is None or not isinstance(seller, UUID):
                if details is not None:
                    leave_out("directory_search", event, "it names no seller")
                continue
            created.add(listing_id)
            rows[listing_id] = {
                "listing_id": listing_id,
                "organisation_id": seller,
                "published": True,
                **_listing_text(details.columns, details.cpv_codes),
            }
            continue
        row = rows.get(listing_id)
        if row is None:  # its publication was left out, or came before the log began
            continue
        if event.name == LISTING_UPDATED:
            details = listing_details(event)
            if details is not None:  # else left out: the listing keeps what it said
                row.update(_listing_text(details.columns, details.cpv_codes))
        else:
            row["published"] = STATE_AFTER[event.name] == "published"
    save_rows(connection, directory_search_listings, "listing_id", rows, created=created)
    return {row["organisation_id"] for row in rows.values()}


def _listing_text(columns: Row, cpv_codes: list[str]) -> Row:
    return {
        "title": columns["title"],
        "description": columns["description"],
        "cpv_codes": json.dumps(cpv_codes),
    }


def _work_out_listings(connection: Connection, organisations: set[UUID]) -> None:
    """Each organisation's listings text and listing codes, from its published listings."""
    present = set(
        connection.execute(
            select(directory_search.c.organisation_id).where(
                directory_search.c.organisation_id.in_(organisations)
            )
        ).scalars()
    )
    if not present:
        return
    texts: dict[UUID, list[str]] = {org: [] for org in present}
    codes: dict[UUID, dict[str, None]] = {org: {} for org in present}
    listings = directory_search_listings.c
    for org, title, description, cpv in connection.execute(
        select(listings.organisation_id, listings.title, listings.description, listings.cpv_codes)
        .where(listings.organisation_id.in_(present), listings.published.is_(True))
        .order_by(listings.organisation_id, listings.listing_id)
    ):
        texts[org].append(f"{title}\n{description}")
        for code in json.loads(cpv):
            codes[org][storable(connection, str(code), CPV_LENGTH)] = None
    connection.execute(
        update(directory_search)
        .where(directory_search.c.organisation_id == bindparam("org"))
        .values(listings_text=bindparam("text")),
        [{"org": org, "text": "\n".join(text)} for org, text in texts.items()],
    )
    connection.execute(
        delete(directory_search_cpv).where(
            directory_search_cpv.c.organisation_id.in_(present),
            directory_search_cpv.c.source == LISTING,
        )
    )
    insert_rows(
        connection,
        directory_search_cpv,
        [
            row | {"source": LISTING}
            for org, stated in codes.items()
            for row in cpv_rows("organisation_id", org, stated)
        ],
    )


# Reads -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchFilters:
    """The current query: its words (None: no text query) and its filters."""

    terms: list[str] | None
    cpv_code: str | None
    region: str | None
    region_parents: dict[str, str | None]
    legal_form: str | None
    mark: bool | None
    # The request's time: a mark is valid until its `valid_until`, whether or not the marks
    # clock has recorded it expired since (projections.mark_query), and a member in good
    # standing until its grace runs out or its resignation takes effect, whether or not the
    # membership clock has recorded it since (projections.standing_query). None: as recorded.
    now: datetime | None = None


@dataclass(frozen=True)
class Cursor:
    """Where a page ended: the last member's rank (None without a text query), name and id."""

    rank: int | None
    name: str
    organisation_id: UUID


@dataclass(frozen=True)
class SearchHit:
    entry: DirectoryEntry
    rank: int | None


@dataclass(frozen=True)
class Facets:
    legal_form: dict[str, int]
    region: dict[str, int]
    cpv_division: dict[str, int]
    mark_held: int
    mark_not_held: int


@dataclass(frozen=True)
class SearchPage:
    hits: list[SearchHit]
    next: Cursor | None
    total: int
    facets: Facets


_KEY = directory_search.c.organisation_id


def _holds_mark(now: datetime | None) -> ColumnElement[bool]:
    held = quality_marks.c.status == MARK_HELD if now is None else mark_held_at(now)
    return exists().where(quality_marks.c.organisation_id == _KEY, held)


def _conditions(connection: AsyncConnection, filters: SearchFilters) -> list[Any]:
    conditions: list[Any] = [listed_at(directory_search, filters.now)]
    if filters.terms is not None:
        conditions.append(matches(connection.dialect, DIRECTORY_TEXT, filters.terms))
    if filters.legal_form is not None:
        conditions.append(directory_search.c.legal_form == filters.legal_form)
    if filters.mark is not None:
        holds = _holds_mark(filters.now)
        conditions.append(holds if filters.mark else not_(holds))
    placed = _placed(filters)
    if placed is not None:
        conditions.append(_KEY.in_(placed))
    return conditions


def _placed(filters: SearchFilters) -> Any | None:
    """The organisations serving the query's region (or a region up or down its tree) and
    naming its CPV code (or one under or above it): each filter's ids read from its index,
    intersected (None without either filter). As projections.codes' `in_regions` and `in_cpv`
    find them, but as sets: the store reads the few index entries that match rather than
    probing each listed member in turn."""
    found = []
    if filters.region is not None:
        regions = directory_search_regions.c
        related = sorted(related_regions(filters.region, filters.region_parents))
        found.append(select(regions.organisation_id).where(regions.region.in_(related)))
    if filters.cpv_code is not None:
        codes = directory_search_cpv.c
        stem = cpv_stem(filters.cpv_code)
        if not stem.isdigit():  # inline below: only a checked code's digits, never raw text
            raise ValueError(f"not a CPV code's stem: {stem!r}")
        # The prefix inline, not a parameter: a prepared statement's generic plan then still
        # reads the index's range for it.
        prefix = literal(_like_escaped(stem) + "%", String(), literal_execute=True)
        under = select(codes.organisation_id).where(codes.cpv_stem.like(prefix, escape="/"))
        above = select(codes.organisation_id).where(codes.cpv_stem.in_(stem_prefixes(stem)))
        # UNION ALL: a member found twice is kept once by the IN or INTERSECT. A subquery:
        # SQLite takes no parenthesised compound inside another.
        coded = union_all(under, above).subquery("coded")
        found.append(select(coded.c.organisation_id))
    if not found:
        return None
    return found[0] if len(found) == 1 else intersect(*found)


def _like_escaped(text: str) -> str:
    """`text` matched as itself by LIKE ... ESCAPE '/' (as SQLAlchemy's autoescape does)."""
    return text.replace("/", "//").replace("%", "/%").replace("_", "/_")


async def search_directory(
    connection: AsyncConnection, filters: SearchFilters, *, after: Cursor | None, limit: int
) -> SearchPage:
    """Listed members matching the query, best first (with words: by rank, then name and id;
    without: by name and id), a page after `after`; the total and facets of the whole query.

    One statement: the members the query finds, found once (a materialised CTE: the filters
    run once, not once for the page and once a facet); the page from them, each member's
    regions, profile codes and mark gathered in it; every count from them."""
    ranked = filters.terms is not None
    found = _found(connection, filters)
    searched = _searched(connection, found, after, limit, ranked, filters.now)
    rows = (await connection.execute(searched)).all()
    page = [row for row in rows if row.kind == _PAGE]
    more, page = len(page) > limit, page[:limit]
    hits = [SearchHit(directory_entry(row), row.rank if ranked else None) for row in page]
    last_row = page[-1] if more and page else None
    cursor = (
        Cursor(rank=last_row.rank if ranked else None, name=last_row.name,
               organisation_id=last_row.organisation_id)
        if last_row is not None else None
    )  # fmt: skip
    facets, total = _facets([row for row in rows if row.kind != _PAGE])
    return SearchPage(hits=hits, next=cursor, total=total, facets=facets)


_PAGE = "page"


def _found(connection: AsyncConnection, filters: SearchFilters) -> Any:
    """The members the query finds: their key, name, legal form, rank and whether they hold a
    valid mark."""
    return (
        select(
            _KEY.label("organisation_id"),
            directory_search.c.name,
            directory_search.c.legal_form,
            rank(connection.dialect, DIRECTORY_TEXT, filters.terms or []).label("rank"),
            case((_holds_mark(filters.now), 1), else_=0).label("held"),
        )
        .where(*_conditions(connection, filters))
        .cte("found")
        .prefix_with("MATERIALIZED")
    )


def _searched(
    connection: AsyncConnection,
    found: Any,
    after: Cursor | None,
    limit: int,
    ranked: bool,
    now: datetime | None,
) -> Any:
    """The page's rows (kind "page", in order: `seq`), then a row a facet count (kind, key,
    count), in one result: the page first, whose columns' types the result takes."""
    f = found.c
    page = select(found)
    if after is not None:
        later = or_(
            f.name > after.name,
            and_(f.name == after.name, after.organisation_id < f.organisation_id),
        )
        if ranked:
            last = after.rank or 0
            later = or_(f.rank < last, and_(f.rank == last, later))
        page = page.where(later)
    in_order = [*([f.rank.desc()] if ranked else []), f.name, f.organisation_id]
    page_cte = page.order_by(*in_order).limit(limit + 1).cte("page")
    p, ds, qm = page_cte.c, directory_search, quality_marks
    dialect, cpv = connection.dialect.name, directory_search_cpv
    none = null()
    shown = select(
        _kind(_PAGE).label("kind"),
        type_coerce(none, String()).label("key"),
        type_coerce(none, BigInteger()).label("count"),
        p.organisation_id,
        p.rank,
        ds.c.name,
        ds.c.legal_form,
        ds.c.social_purpose,
        ds.c.admitted_at,
        gathered(dialect, directory_search_regions, "region", p.organisation_id),
        gathered(dialect, cpv, "cpv_code", p.organisation_id, cpv.c.source == PROFILE),
        (qm.c.status if now is None else mark_status_at(now)).label("mark_status"),
        qm.c.certificate_number,
        func.row_number()
        .over(order_by=[*([p.rank.desc()] if ranked else []), p.name, p.organisation_id])
        .label("seq"),
    ).select_from(
        page_cte.join(ds, ds.c.organisation_id == p.organisation_id).outerjoin(
            qm, qm.c.organisation_id == p.organisation_id
        )
    )
    regions = directory_search_regions
    itl1 = func.substr(regions.c.region, 1, 3)
    division = func.substr(cpv.c.cpv_stem, 1, 2)
    padding = [none] * 11
    statement = union_all(
        shown,
        select(_kind("legal_form"), f.legal_form, func.count(), *padding).group_by(f.legal_form),
        select(_kind("mark"), _kind(""), func.coalesce(func.sum(f.held), 0), *padding),
        select(_kind("region"), itl1, func.count(regions.c.organisation_id.distinct()), *padding)
        .select_from(regions.join(found, f.organisation_id == regions.c.organisation_id))
        .group_by(itl1),
        select(_kind("cpv_division"), division, func.count(cpv.c.organisation_id.distinct()),
               *padding)
        .select_from(cpv.join(found, f.organisation_id == cpv.c.organisation_id))
        .group_by(division),
    )  # fmt: skip
    return statement.order_by(statement.selected_columns.seq)


def _facets(rows: Sequence[Any]) -> tuple[Facets, int]:
    """Counts of the members the query finds: by legal form, by ITL1 region served (once per
    ITL1: its regions' first three characters), by CPV division (two digits) and mark."""
    by_kind: dict[str, dict[str, int]] = {
        "legal_form": {}, "mark": {}, "region": {}, "cpv_division": {}
    }  # fmt: skip
    for row in rows:
        by_kind[row.kind][row.key] = int(row.count)
    forms, held = by_kind["legal_form"], by_kind["mark"].get("", 0)
    total = sum(forms.values())
    facets = Facets(
        legal_form=forms,
        region=by_kind["region"],
        cpv_division=by_kind["cpv_division"],
        mark_held=held,
        mark_not_held=total - held,
    )
    return facets, total


def _kind(name: str) -> Any:
    """A constant text column (inline: a bound parameter has no type in a UNION's branch)."""
    return literal_column(f"'{name}'")
