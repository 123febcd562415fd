"""Matching's two reads at scale (issue 14, ADR 29), against the directory's page as a baseline.

1. Fill the matching projection's input tables directly (no events) with `--members` synthetic
   members: 1-4 profile CPV codes and 0-3 published listings each, from a skewed spread of
   divisions (a few very common, as in the real directory: construction, cleaning, food);
   1-3 ITL regions of any level; a quarter with a valid quality mark; 9 in 10 in good standing;
   some contracts won and completed. And `--lots` open lots (tenders with 0-2 regions). The
   directory's own tables get the same members, for the baseline.
2. Time, on SQLite and PostgreSQL, the median of `--runs` runs of: a lot's matches (a lot in a
   common division, restricted to a region; a lot of a rare code, open anywhere), a member's
   recommended open lots, and `directory_page` (a CPV division filter, 20 a page).
3. Print PostgreSQL's EXPLAIN (ANALYZE, BUFFERS) of the ranked query of each read.

Run: `.venv/bin/python -m bench.matching --help`.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Boolean, Engine, Integer, String, Table, event, insert, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bench._common import admin_url_default, bench_database, emit, machine, ms
from projections.directory import directory_page
from projections.matching_query import lot_matches, lot_of, recommended_lots
from projections.matching_score import divisions_of, prefixes_of
from projections.matching_tables import (
    match_lot_prefixes,
    match_lots,
    match_member_divisions,
    match_member_prefixes,
    match_member_regions,
    match_members,
    match_tender_regions,
)
from projections.tables import (
    directory_member_cpv,
    directory_member_regions,
    directory_members,
    quality_marks,
)
from sharedkernel.reference import cpv_codes, itl_regions
from tradehall.store.base import Store
from tradehall.store.postgres import PostgresStore
from tradehall.store.sqlite import SQLiteStore

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
COMMON = "45000000-7"  # construction: the common division the busy lot is in
CHUNK = 5_000

Row = dict[str, Any]


def _complete(table: Table, row: Row) -> Row:
    """The row with every other NOT NULL column given a plain value (the directory's tables
    may carry columns this benchmark does not care about)."""
    for column in table.columns:
        if column.name in row or column.nullable:
            continue
        if isinstance(column.type, Boolean):
            row[column.name] = False
        elif isinstance(column.type, Integer):
            row[column.name] = 0
        elif isinstance(column.type, String):
            row[column.name] = ""
        elif column.type.python_type is uuid.UUID:
            row[column.name] = uuid.uuid4()
        else:
            row[column.name] = NOW
    return row


class Synthetic:
    """The members and lots, drawn once and written to both stores alike."""

    def __init__(self, members: int, lots: int, seed: int) -> None:
        rng = random.Random(seed)
        codes = sorted(cpv_codes())
        by_division: dict[str, list[str]] = {}
        for code in codes:
            by_division.setdefault(code[:2], []).append(code)
        divisions = sorted(by_division)
        # Zipf-like: the k-th division drawn with weight 1/k (45 first: the busiest).
        divisions.remove("45")
        divisions.insert(0, "45")
        weights = [1 / (k + 1) for k in range(len(divisions))]
        regions = sorted(itl_regions())
        self.tables: dict[Table, list[Row]] = {t: [] for t in _TABLES}
        self.member_ids: list[uuid.UUID] = []
        for n in range(members):
            org_id = uuid.uuid4()
            self.member_ids.append(org_id)
            home = rng.choices(divisions, weights)[0]
            profile = rng.sample(by_division[home], min(len(by_division[home]), rng.randint(1, 4)))
            listings = [
                (rng.sample(by_division[home], 1), rng.randrange(10**5, 10**9))
                for _ in range(rng.choice((0, 0, 1, 1, 2, 3)))
            ]
            served = rng.sample(regions, rng.randint(1, 3))
            listed = rng.random() < 0.9
            name = f"Member {n:06d}"
            self._add(
                match_members,
                organisation_id=org_id,
                name=name,
                member=True,
                listed=listed,
                profile_cpv="[]",
            )
            all_codes = profile + [c for codes_, _ in listings for c in codes_]
            for prefix in sorted(prefixes_of(all_codes)):
                self._add(match_member_prefixes, organisation_id=org_id, prefix=prefix)
            for region in served:
                self._add(match_member_regions, organisation_id=org_id, region=region)
            for division in sorted(divisions_of(all_codes)):
                mine = [cap for codes_, cap in listings if codes_[0][:2] == division]
                won = rng.choice((0, 0, 0, 1, 2, 5))
                self._add(
                    match_member_divisions,
                    organisation_id=org_id,
                    division=division,
                    listings=len(mine),
                    capacity_minor=max(mine, default=0),
                    won=won,
                    delivered=rng.randint(0, won),
                )
            if rng.random() < 0.25:
                self._add(
                    quality_marks,
                    mark_id=uuid.uuid4(),
                    organisation_id=org_id,
                    certificate_number=f"TQM-{n:08d}",
                    status="valid",
                    valid_from=NOW,
                    valid_until=NOW + timedelta(days=365),
                    updated_at=NOW,
                )
            # The directory's rows for the same member (the baseline's input).
            self._add(
                directory_members,
                organisation_id=org_id,
                name=name,
                kind="social_enterprise",
                legal_form="cic",
                social_purpose="Jobs",
                status="current" if listed else "suspended",
                listed=listed,
                registered_at=NOW,
                admitted_at=NOW,
            )
            for code in profile:
                self._add(
                    directory_member_cpv,
                    organisation_id=org_id,
                    cpv_code=code,
                    cpv_stem=code.split("-")[0].rstrip("0").ljust(2, "0"),
                )
            for region in served:
                self._add(directory_member_regions, organisation_id=org_id, region=region)
        buyers = [uuid.uuid4() for _ in range(max(1, lots // 10))]
        buyer = buyers[0]
        for n in range(lots):
            tender_id = uuid.uuid4()
            division = rng.choices(divisions, weights)[0]
            lot_codes = rng.sample(by_division[division], 1)
            named = rng.sample(regions, rng.choice((0, 0, 1, 2)))
            value = rng.randrange(10**6, 10**9)
            self._lot(tender_id, rng.choice(buyers), lot_codes, value, n, named)
        # The two lots the buyer's read is timed on.
        self.busy = uuid.uuid4()
        self._lot(self.busy, buyer, ["45214000-0"], 8_000_000, lots, ["TLE42"])
        self.rare = uuid.uuid4()
        rare_code = by_division[divisions[-1]][-1]
        self._lot(self.rare, buyer, [rare_code], 8_000_000, lots + 1, [])
        self.member = self.member_ids[0]

    def _add(self, table: Table, **row: Any) -> None:
        self.tables[table].append(_complete(table, row))

    def _lot(
        self,
        tender_id: uuid.UUID,
        buyer: uuid.UUID,
        codes: list[str],
        value: int,
        n: int,
        regions: list[str],
    ) -> None:
        restricted = bool(regions)
        self._add(
            match_lots,
            tender_id=tender_id,
            lot_id="lot-1",
            buyer_id=buyer,
            tender_title=f"Tender {n}",
            lot_title="Lot 1",
            status="active",
            outcome=None,
            deadline=NOW + timedelta(days=30),
            value_minor=value,
            currency="GBP",
            quality_mark_required=n % 5 == 0,
            members_only=False,
            restricted=restricted,
            cpv_codes=f'["{codes[0]}"]',
        )
        for prefix in sorted(prefixes_of(codes)):
            self._add(match_lot_prefixes, tender_id=tender_id, lot_id="lot-1", prefix=prefix)
        for region in regions:
            self._add(match_tender_regions, tender_id=tender_id, region=region)


_TABLES = (
    match_members,
    match_member_prefixes,
    match_member_regions,
    match_member_divisions,
    match_lots,
    match_lot_prefixes,
    match_tender_regions,
    quality_marks,
    directory_members,
    directory_member_cpv,
    directory_member_regions,
)


def fill(engine: Engine, data: Synthetic) -> dict[str, int]:
    counts = {}
    with engine.begin() as connection:
        for table, rows in data.tables.items():
            for start in range(0, len(rows), CHUNK):
                connection.execute(insert(table), rows[start : start + CHUNK])
            counts[table.name] = len(rows)
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("ANALYZE"))
        else:
            connection.execute(text("ANALYZE"))
    return counts


async def median_ms(
    engine: AsyncEngine, runs: int, read: Callable[[Any], Coroutine[Any, Any, Any]]
) -> dict[str, Any]:
    times = []
    result = None
    async with engine.connect() as connection:
        result = await read(connection)  # warm
        for _ in range(runs):
            started = time.perf_counter()
            result = await read(connection)
            times.append(time.perf_counter() - started)
    return {"median_ms": ms(statistics.median(times)), "max_ms": ms(max(times)), "result": result}


PARENTS = {code: region.parent for code, region in itl_regions().items()}


def reads(data: Synthetic) -> dict[str, Callable[[Any], Coroutine[Any, Any, Any]]]:
    async def lot(connection: Any, tender_id: uuid.UUID) -> str:
        found = await lot_of(connection, tender_id, "lot-1")
        assert found is not None
        matches = await lot_matches(connection, found, PARENTS, 20)
        return f"{len(matches.members)} ranked, {matches.excluded.total} excluded"

    async def busy(connection: Any) -> str:
        return await lot(connection, data.busy)

    async def rare(connection: Any) -> str:
        return await lot(connection, data.rare)

    async def recommended(connection: Any) -> str:
        found = await recommended_lots(connection, data.member, PARENTS, NOW, 20)
        return f"{found.standing}: {len(found.items)} lots"

    async def directory(connection: Any) -> str:
        page = await directory_page(
            connection,
            region=None,
            cpv_code=COMMON,
            region_parents=PARENTS,
            limit=20,
            offset=0,
        )
        return f"{page.total} listed in division 45"

    return {
        "lot_matches_busy_division_restricted": busy,
        "lot_matches_rare_code_open": rare,
        "recommended_tenders": recommended,
        "baseline_directory_page_cpv_45": directory,
    }


async def measure(store: Store, data: Synthetic, runs: int, explain: bool) -> dict[str, Any]:
    engine = store.async_engine(pool_size=1)
    captured: list[tuple[str, Any]] = []
    try:
        figures = {}
        for name, read in reads(data).items():
            figures[name] = await median_ms(engine, runs, read)
        if explain:
            for name, read in reads(data).items():
                captured.clear()

                def keep(conn: Any, cursor: Any, statement: str, params: Any, *rest: Any) -> None:
                    captured.append((statement, params))

                event.listen(engine.sync_engine, "before_cursor_execute", keep)
                async with engine.connect() as connection:
                    await read(connection)
                event.remove(engine.sync_engine, "before_cursor_execute", keep)
                ranked = [s for s in captured if "LIMIT" in s[0]]
                statement, params = ranked[0]
                async with engine.connect() as connection:
                    plan = await connection.exec_driver_sql(
                        "EXPLAIN (ANALYZE, BUFFERS) " + statement, params
                    )
                    figures[name]["explain"] = [row[0] for row in plan]
        return figures
    finally:
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--lots", type=int, default=2_000)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--admin-url", default=admin_url_default())
    parser.add_argument("--json", default=None, help="also write the result here")
    parser.add_argument("--no-explain", action="store_true")
    args = parser.parse_args()

    data = Synthetic(args.members, args.lots, args.seed)
    result: dict[str, Any] = {
        "machine": machine(),
        "members": args.members,
        "lots": args.lots,
        "runs": args.runs,
    }
    with tempfile.TemporaryDirectory() as scratch:
        sqlite = SQLiteStore(Path(scratch) / "data")
        sqlite.migrate()
        engine = sqlite.sync_engine()
        result["rows"] = fill(engine, data)
        engine.dispose()
        result["sqlite"] = asyncio.run(measure(sqlite, data, args.runs, explain=False))
    with bench_database(args.admin_url) as url:
        postgres = PostgresStore(url)
        postgres.migrate()
        engine = postgres.sync_engine()
        fill(engine, data)
        engine.dispose()
        result["postgresql"] = asyncio.run(
            measure(postgres, data, args.runs, explain=not args.no_explain)
        )
    emit(result, args.json)


if __name__ == "__main__":
    main()
