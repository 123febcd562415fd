"""Directory search's read model, on both stores: it follows the membership and marketplace logs
in either order (a rebuild, in any batches, gives the same rows, and searching works after the
projector's shadow-table rebuild); the text is name, social purpose and published listings;
ranking within each store; hierarchical filters with words; facets; keyset pages stable while
members join; good standing and withdrawn listings take effect at once; no event stops it."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, inspect, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from projections.events import RecordedEvent
from projections.marks import MarkRegister
from projections.search import (
    Cursor,
    DirectorySearchProjection,
    SearchFilters,
    SearchPage,
    search_directory,
)
from projections.search_tables import directory_search, directory_search_cpv
from projections.text_search import search_terms
from sharedkernel.reference import itl_regions
from tests.integration.projection_fixtures import snapshot
from tests.integration.recorded import recorded

T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
PARENTS = {code: region.parent for code, region in itl_regions().items()}


class Log:
    """Events of both logs, numbered per log as the projector would read them."""

    def __init__(self) -> None:
        self.events: list[RecordedEvent] = []
        self.positions = {"membership": 0, "marketplace": 0}
        self.versions: dict[uuid.UUID, int] = {}

    def add(self, log: str, originator: uuid.UUID, event_name: str, /, **data: Any) -> None:
        data.setdefault("timestamp", T0)
        self.positions[log] += 1
        self.versions[originator] = version = self.versions.get(originator, 0) + 1
        module = "membership.domain" if log == "membership" else "marketplace.listings"
        topic = f"{module}:{event_name}"
        self.events.append(recorded(log, self.positions[log], originator, version, topic, data))

    def member(
        self,
        name: str,
        *,
        purpose: str = "Jobs for people far from work",
        legal_form: str = "cic",
        regions: Sequence[str] = ("TLC3",),
        cpv: Sequence[str] = ("15810000-9",),
        listed: bool = True,
    ) -> uuid.UUID:
        org = uuid.uuid4()
        self.add(
            "membership", org, "Organisation.Registered", name=name, kind="social_enterprise",
            legal_form=legal_form, social_purpose=purpose, regions=list(regions),
            cpv_codes=list(cpv),
        )  # fmt: skip
        if listed:
            self.add("membership", org, "Organisation.MembershipAdmitted", effective_at=T0)
            self.add("membership", org, "Organisation.StandingChanged", status="new")
        return org

    def listing(self, org: uuid.UUID, title: str, description: str, cpv: str) -> uuid.UUID:
        listing = uuid.uuid4()
        details = {
            "title": title, "description": description, "cpv_codes": [cpv],
            "regions": ["TLD"], "price_basis": "fixed", "capacity_minor": 1000,
        }  # fmt: skip
        self.add(
            "marketplace", listing, "ServiceListing.Published", organisation_id=org,
            details=details,
        )  # fmt: skip
        return listing


def apply(engine: Engine, batches: Sequence[Sequence[RecordedEvent]]) -> None:
    projection = DirectorySearchProjection()
    for batch in batches:
        # The projector gives a projection one log's events at a time.
        for log in ("membership", "marketplace"):
            with engine.begin() as connection:
                projection.apply(connection, [e for e in batch if e.log == log])


def rebuild(engine: Engine, batches: Sequence[Sequence[RecordedEvent]]) -> dict[str, Any]:
    projection = DirectorySearchProjection()
    with engine.begin() as connection:
        projection.clear(connection)
    apply(engine, batches)
    return snapshot(engine, [projection])


def filters(q: str | None = None, **given: Any) -> SearchFilters:
    return SearchFilters(
        terms=None if q is None else search_terms(q),
        cpv_code=given.get("cpv"),
        region=given.get("region"),
        region_parents=PARENTS,
        legal_form=given.get("legal_form"),
        mark=given.get("mark"),
    )


async def search(
    engine: AsyncEngine, q: str | None = None, after: Cursor | None = None, limit: int = 50,
    **given: Any,
) -> SearchPage:  # fmt: skip
    async with engine.connect() as connection:
        return await search_directory(connection, filters(q, **given), after=after, limit=limit)


def names(page: SearchPage) -> list[str]:
    return [hit.entry.name for hit in page.hits]


def the_log(word: str) -> tuple[Log, dict[str, uuid.UUID]]:
    """Members whose texts hold `word` (unique to the test) in different places."""
    log = Log()
    ids: dict[str, uuid.UUID] = {}
    # A listing read before its seller's registration.
    early = uuid.uuid4()
    log.add(
        "marketplace", early, "ServiceListing.Published", organisation_id=(late := uuid.uuid4()),
        details={"title": f"{word} bakery", "description": "Bread", "cpv_codes": ["15810000-9"],
                 "regions": ["TLC"], "price_basis": "fixed", "capacity_minor": 10},
    )  # fmt: skip
    ids["named"] = log.member(f"{word} Works", purpose="Gardens", regions=["TLD3"])
    ids["purpose"] = log.member(
        "Alpha Trust", purpose=f"Community {word} for all", legal_form="co_operative_society",
        regions=["TLC3", "TLD"], cpv=["45000000-7"],
    )  # fmt: skip
    ids["listing"] = log.member("Beta Co", purpose="Repairs", regions=["TLE"], cpv=["50000000-5"])
    ids["listing_id"] = log.listing(ids["listing"], f"{word} cleaning", "Offices", "90910000-9")
    ids["unlisted"] = log.member(f"{word} Lapsed", listed=False)
    # The early listing's seller, registered after it.
    log.add(
        "membership", late, "Organisation.Registered", name="Gamma Ltd", kind="social_enterprise",
        legal_form="cic", social_purpose="Meals", regions=["TLC4"], cpv_codes=["55520000-1"],
    )  # fmt: skip
    log.add("membership", late, "Organisation.MembershipAdmitted", effective_at=T0)
    log.add("membership", late, "Organisation.StandingChanged", status="current")
    ids["late"] = late
    # A profile update and a listing updated then withdrawn.
    log.add(
        "membership", ids["named"], "Organisation.ProfileUpdated", name=f"{word} Works",
        social_purpose="Gardens and parks", regions=["TLD3", "TLE4"], cpv_codes=["77310000-6"],
        website=None,
    )  # fmt: skip
    gone = log.listing(ids["purpose"], "Painting", f"Painting with {word}", "45442100-8")
    log.add(
        "marketplace", gone, "ServiceListing.Updated",
        details={"title": "Painting", "description": f"Walls, {word}", "cpv_codes": ["45442100-8"],
                 "regions": ["TLD"], "price_basis": "fixed", "capacity_minor": 10},
    )  # fmt: skip
    log.add("marketplace", gone, "ServiceListing.Withdrawn")
    return log, ids


async def test_either_log_first_and_a_rebuild_in_any_batches_gives_the_same_rows(
    engine: Engine, async_engine: AsyncEngine
) -> None:
    word = f"zq{uuid.uuid4().hex[:8]}"
    log, ids = the_log(word)
    events = log.events
    built = rebuild(engine, [events])
    assert rebuild(engine, [events[:5], events[5:]]) == built
    assert rebuild(engine, [[e] for e in events]) == built
    # Listings first, then the whole membership log: the same.
    listings_first = [e for e in events if e.log == "marketplace"]
    assert rebuild(engine, [listings_first, [e for e in events if e.log == "membership"]]) == built

    with engine.connect() as connection:
        late = connection.execute(
            select(directory_search.c.listings_text).where(
                directory_search.c.organisation_id == ids["late"]
            )
        ).scalar_one()
        sources = connection.execute(
            select(directory_search_cpv.c.cpv_code, directory_search_cpv.c.source).where(
                directory_search_cpv.c.organisation_id.in_([ids["late"], ids["purpose"]])
            )
        ).all()
    assert late == f"{word} bakery\nBread"
    # Profile codes and published listings' codes; the withdrawn listing's code gone.
    assert sorted(sources) == [
        ("15810000-9", "listing"),
        ("45000000-7", "profile"),
        ("55520000-1", "profile"),
    ]
    found = await search(async_engine, word)
    # Found in the name, the purpose, a listing (the early one too); never the unlisted.
    assert set(names(found)) == {f"{word} Works", "Alpha Trust", "Beta Co", "Gamma Ltd"}
    assert found.total == 4


async def test_ranking_within_the_store_name_over_purpose_over_listings(
    engine: Engine, async_engine: AsyncEngine
) -> None:
    word = f"zq{uuid.uuid4().hex[:8]}"
    log, _ = the_log(word)
    apply(engine, [log.events])
    found = await search(async_engine, word)
    ranks = {hit.entry.name: hit.rank for hit in found.hits}
    assert names(found)[0] == f"{word} Works"  # the word in the name ranks first
    assert ranks[f"{word} Works"] > ranks["Alpha Trust"]  # then the social purpose
    assert ranks["Alpha Trust"] > ranks["Beta Co"]  # then a listing
    # Listings equally: by name.
    assert ranks["Beta Co"] == ranks["Gamma Ltd"]
    assert names(found)[2:] == ["Beta Co", "Gamma Ltd"]
    # Two words: both must be there; stemmed on both stores ("gardens" finds "garden").
    assert names(await search(async_engine, f"{word} garden")) == [f"{word} Works"]
    assert names(await search(async_engine, f"{word} nowhere")) == []


async def test_filters_with_words_are_hierarchical_and_facets_count_the_query(
    engine: Engine, async_engine: AsyncEngine
) -> None:
    word = f"zq{uuid.uuid4().hex[:8]}"
    log, _ = the_log(word)
    apply(engine, [log.events])
    # CPV up and down the tree: 15 (a division) finds a listing's 15810000 code.
    assert names(await search(async_engine, word, cpv="15000000-8")) == ["Gamma Ltd"]
    assert names(await search(async_engine, word, cpv="45000000-7")) == ["Alpha Trust"]
    # A region finds the regions inside it and above it.
    assert names(await search(async_engine, word, region="TLD")) == [
        f"{word} Works", "Alpha Trust"
    ]  # fmt: skip
    assert names(await search(async_engine, word, region="TLC31")) == ["Alpha Trust"]
    assert names(await search(async_engine, word, legal_form="co_operative_society")) == [
        "Alpha Trust"
    ]
    assert names(await search(async_engine, word, mark=True)) == []

    facets = (await search(async_engine, word, region="TLD")).facets
    # By hand: Works serves TLD3, TLE4 (ITL1 TLD, TLE); Alpha serves TLC3, TLD (TLC, TLD).
    assert facets.legal_form == {"cic": 1, "co_operative_society": 1}
    assert facets.region == {"TLC": 1, "TLD": 2, "TLE": 1}
    # Works: 77310000 (profile, updated); Alpha: 45000000 (its listing withdrawn).
    assert facets.cpv_division == {"45": 1, "77": 1}
    assert (facets.mark_held, facets.mark_not_held) == (0, 2)


async def test_keyset_pages_are_stable_while_members_join(
    engine: Engine, async_engine: AsyncEngine
) -> None:
    word = f"zq{uuid.uuid4().hex[:8]}"
    log = Log()
    for name in ("B", "D", "F", "H"):
        log.member(f"{name} {word}")
    for name in ("C", "G"):
        log.member(name, purpose=f"{word} here")
    apply(engine, [log.events])
    for q in (word, None):
        given: dict[str, Any] = {} if q else {"legal_form": "cic", "region": "TLC3"}
        first = await search(async_engine, q, limit=3, **given)
        assert first.next is not None
        before = len(log.events)
        # Members join: some sort before the cursor, some after, ranked higher and lower.
        for name in ("A", "E", "I"):
            log.member(f"{name}{uuid.uuid4().hex[:4]} {word}")
        log.member(f"Z{uuid.uuid4().hex[:4]}", purpose=f"{word} too")
        apply(engine, [log.events[before:]])
        rest: list[str] = []
        rest_ids: list[uuid.UUID] = []
        after: Cursor | None = first.next
        while after is not None:
            page = await search(async_engine, q, after=after, limit=3, **given)
            rest += names(page)
            rest_ids += [hit.entry.organisation_id for hit in page.hits]
            after = page.next
        seen = names(first) + rest
        ids = [hit.entry.organisation_id for hit in first.hits] + rest_ids
        assert len(ids) == len(set(ids))  # no duplicates
        existing = {f"{n} {word}" for n in "BDFH"} | {"C", "G"}
        if q is not None:
            assert existing <= set(seen)  # nothing skipped
            assert names(first) == [f"B {word}", f"D {word}", f"F {word}"]


async def test_losing_good_standing_or_withdrawing_a_listing_takes_effect_at_once(
    engine: Engine, async_engine: AsyncEngine
) -> None:
    word = f"zq{uuid.uuid4().hex[:8]}"
    log = Log()
    org = log.member("Delta Co")
    listing = log.listing(org, f"{word} catering", "Lunches", "55520000-1")
    apply(engine, [log.events])
    assert names(await search(async_engine, word)) == ["Delta Co"]
    mark = len(log.events)
    log.add("membership", org, "Organisation.StandingChanged", status="lapsed")
    apply(engine, [log.events[mark:]])
    assert names(await search(async_engine, word)) == []
    mark = len(log.events)
    log.add("membership", org, "Organisation.StandingChanged", status="current")
    log.add("marketplace", listing, "ServiceListing.Withdrawn")
    apply(engine, [log.events[mark:]])
    assert names(await search(async_engine, word)) == []  # its text gone with the listing
    assert names(await search(async_engine, "Delta")) != []


@pytest.mark.parametrize(
    "query",
    ['"', '" OR "', "a* NEAR(b c)", "{name} : x", "-x", "name:x", "\x00", "x" * 10_000, "!?.,;",
     "AND", "NOT OR", "'; DROP TABLE directory_search; --", "ünïcødé 日本"],
)  # fmt: skip
async def test_hostile_words_never_reach_either_query_language(
    engine: Engine, async_engine: AsyncEngine, query: str
) -> None:
    log = Log()
    log.member("NEAR AND OR", purpose="name x")
    apply(engine, [log.events])
    found = await search(async_engine, query)
    assert found.total == len(found.hits)
    for hit in found.hits:  # whatever is found holds every word
        assert hit.rank is not None
        assert hit.rank > 0


async def test_the_mark_filter_and_facet_read_the_mark_register(
    engine: Engine, async_engine: AsyncEngine
) -> None:
    word = f"zq{uuid.uuid4().hex[:8]}"
    log = Log()
    holder = log.member(f"Holder {word}")
    log.member(f"Other {word}")
    apply(engine, [log.events])
    awarded = {
        "organisation_id": holder,
        "certificate_number": f"TQM-{word[2:6].upper()}-{word[6:].upper()}-1",
        "valid_from": T0,
        "valid_until": T0.replace(year=2029),
        "timestamp": T0,
    }
    mark = recorded(
        "marks", 1, uuid.uuid4(), 1, "membership.marks.mark:QualityMark.Awarded", awarded
    )
    with engine.begin() as connection:
        MarkRegister().apply(connection, [mark])
    assert names(await search(async_engine, word, mark=True)) == [f"Holder {word}"]
    assert names(await search(async_engine, word, mark=False)) == [f"Other {word}"]
    found = await search(async_engine, word)
    assert (found.facets.mark_held, found.facets.mark_not_held) == (1, 1)
    assert [hit.entry.mark_status for hit in found.hits] == ["valid", None]


def test_no_event_stops_the_projection(engine: Engine) -> None:
    log = Log()
    org = log.member("Epsilon\x00 \ud800 Co")
    log.add("membership", uuid.uuid4(), "Organisation.Registered", name=None)
    log.add("membership", org, "Organisation.ProfileUpdated", name=7)
    log.add("membership", org, "Organisation.StandingChanged")
    log.add("marketplace", uuid.uuid4(), "ServiceListing.Published", details={"title": "x"})
    log.add("marketplace", uuid.uuid4(), "ServiceListing.Withdrawn")
    apply(engine, [log.events])
    with engine.connect() as connection:
        rows = connection.execute(
            select(directory_search.c.name, directory_search.c.listed).where(
                directory_search.c.organisation_id == org
            )
        ).all()
    assert len(rows) == 1
    assert rows[0].listed is True


@pytest.mark.parametrize("batches", [1, 2])
def test_a_second_registration_or_publication_keeps_the_first(engine: Engine, batches: int) -> None:
    """Not the domain's doing, but an event in the log: in the same batch or a later one, the
    repeat is left out (a plain insert would fail on the key and stop the projection)."""
    first, repeat = Log(), Log()
    org = first.member("Zeta Bakers", purpose="Bread for all")
    listing = first.listing(org, "Sourdough", "Loaves", "15810000-9")
    repeat.positions = dict(first.positions)
    repeat.add(
        "membership", org, "Organisation.Registered", name="Impostor", kind="social_enterprise",
        legal_form="cic", social_purpose="Nothing", regions=["TLC3"], cpv_codes=["45000000-7"],
    )  # fmt: skip
    repeat.add(
        "marketplace", listing, "ServiceListing.Published", organisation_id=uuid.uuid4(),
        details={"title": "Forged", "description": "x", "cpv_codes": ["45000000-7"],
                 "regions": ["TLD"], "price_basis": "fixed", "capacity_minor": 1},
    )  # fmt: skip
    together = [first.events + repeat.events]
    apply(engine, together if batches == 1 else [first.events, repeat.events])
    with engine.connect() as connection:
        row = connection.execute(
            select(directory_search).where(directory_search.c.organisation_id == org)
        ).one()
    assert (row.name, row.social_purpose) == ("Zeta Bakers", "Bread for all")
    assert "Sourdough" in row.listings_text
    assert "Forged" not in row.listings_text


def test_the_text_index_is_there_after_migrating(engine: Engine) -> None:
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            found = connection.execute(
                text("SELECT indexdef FROM pg_indexes WHERE indexname = :name"),
                {"name": "ix_directory_search_document"},
            ).scalar_one()
            assert "gin" in found
        else:
            assert "directory_search_fts" in inspect(connection).get_table_names()
