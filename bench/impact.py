"""The impact reports (issue 17) at scale, against the directory's page as a baseline.

1. Write `--contracts` N contracts' events straight into the marketplace log, forged but as the
   domain writes them (tests/api/test_impact_probe.py's payloads): per contract its tender's
   Tender.Drafted terms (the lot's estimate), Contract.Signed (1 supplier, or a consortium of
   2-3 in one contract in 5; 1-3 social-value commitments; signed 2023 to mid 2026), and 0-4
   Contract.DeliveryReported, most of them DeliveryConfirmed. Suppliers are drawn from N/4
   members (at least 50), buyers from N/20 (at least 10). The directory's tables and the
   organisations' names (tender_buyers) are filled directly with those members and buyers.
2. Serve the app (`tradehall serve`, its in-process projector), time the projector's catch-up,
   then time `--runs` rounds, each one request in turn of: GET /api/v1/impact,
   /api/v1/impact/chart.svg?year=2025, /api/v1/impact/report?by=member (staff), one member's
   /organisations/{id}/impact (staff) and the baseline GET /api/v1/directory?per_page=20, on one
   keep-alive connection. Median and p95 per route: answers kept (issue 19), the ledger
   unchanged between rounds.
   Then `--cold-runs` rounds after a write: one more contract signed in the marketplace log (the
   impact ledger changes, so every kept answer is read again), an untimed read waiting for the
   projection to apply it, then each impact route once, timed: the cost of the first read after
   a change of the ledger (other marketplace events leave the answers kept).
3. In-process, on the same database: one summary's and one member report's cost split into
   reading rows, the ledger's arithmetic and encoding the JSON (median of `--runs`), and a
   cProfile of one summary (the functions that take the most time).

Run: `.venv/bin/python -m bench.impact --help`.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
from eventsourcing.persistence import StoredEvent
from sqlalchemy import Engine, insert, text

from bench._common import (
    BENCH_PASSWORD,
    HttpConnection,
    ServedApp,
    admin_url_default,
    bench_database,
    create_staff,
    emit,
    fetch_token,
    machine,
    ms,
    percentile,
    run_async,
    server_env,
)
from bench.matching import _complete
from marketplace.application import MarketplaceApp
from marketplace.working_days import london_date
from projections.impact_ledger import Grouping, Totals, ledger
from projections.impact_query import ledger_contracts, ledger_deliveries, names_of
from projections.tables import (
    directory_member_cpv,
    directory_member_regions,
    directory_members,
    tender_buyers,
)
from sharedkernel.reference import cpv_codes
from tradehall.api.marketplace.schemas.impact import ImpactSummaryView
from tradehall.identity.users import Passwords
from tradehall.marketplace.impact.chart import quarterly_chart
from tradehall.marketplace.impact.report import group_view, named_groups, rate_of
from tradehall.store.base import Store
from tradehall.store.postgres import PostgresStore
from tradehall.store.sqlite import SQLiteStore

DRAFTED = "marketplace.tenders:Tender.Drafted"
SIGNED = "marketplace.contracts:Contract.Signed"
REPORTED = "marketplace.contracts:Contract.DeliveryReported"
CONFIRMED = "marketplace.contracts:Contract.DeliveryConfirmed"
MEASURES = ("local_jobs", "apprenticeships", "volunteering_hours", "training_weeks")
UNITS = {
    "local_jobs": "jobs",
    "apprenticeships": "apprenticeships",
    "volunteering_hours": "hours",
    "training_weeks": "weeks",
}
FIRST_DAY = datetime(2023, 1, 2, 9, 0, tzinfo=UTC)
SPAN_DAYS = 3 * 365 + 180
CHUNK = 5_000
CHART_YEAR = 2025
CATCH_UP_LIMIT_S = 1800.0
ROUTES = {
    "impact_summary": ("/api/v1/impact", False),
    "impact_chart_svg": (f"/api/v1/impact/chart.svg?figure=social_value&year={CHART_YEAR}", False),
    "impact_report_by_member": ("/api/v1/impact/report?by=member", True),
    "impact_member": ("/api/v1/organisations/{member}/impact", True),
    "baseline_directory_page": ("/api/v1/directory?per_page=20", False),
}
COLD_ROUTES = [name for name in ROUTES if name.startswith("impact_")]


def _tagged(value: Any) -> Any:
    """A value as the library's transcoder writes it (UUIDs and datetimes tagged)."""
    if isinstance(value, uuid.UUID):
        return {"_type_": "uuid_hex", "_data_": value.hex}
    if isinstance(value, datetime):
        return {"_type_": "datetime_iso", "_data_": value.isoformat()}
    return value


def _stored(originator: uuid.UUID, version: int, topic: str, data: dict[str, Any]) -> StoredEvent:
    state = json.dumps({key: _tagged(value) for key, value in data.items()}).encode()
    return StoredEvent(originator, version, topic, state)


class Synthetic:
    """The contracts' events and the organisations, drawn once and written to both stores."""

    def __init__(self, contracts: int, seed: int) -> None:
        rng = random.Random(seed)
        self.members = [uuid.uuid4() for _ in range(max(50, contracts // 4))]
        self.buyers = [uuid.uuid4() for _ in range(max(10, contracts // 20))]
        self.events: list[StoredEvent] = []
        self.counts = {"contracts": contracts, "reports": 0, "confirmed": 0, "consortia": 0}
        for _ in range(contracts):
            tender_id, contract_id = uuid.uuid4(), uuid.uuid4()
            at = FIRST_DAY + timedelta(days=rng.randrange(SPAN_DAYS))
            value = rng.randrange(10**6, 10**9)
            estimate = value + rng.randrange(-(value // 5), value // 5)
            lots = [{"id": "lot-1", "value_minor": estimate, "currency": "GBP"}]
            self.events.append(
                _stored(tender_id, 1, DRAFTED, {"terms": {"lots": lots}, "timestamp": at})
            )
            size = rng.choice((2, 3)) if rng.random() < 0.2 else 1
            self.counts["consortia"] += size > 1
            parties = rng.sample(self.members, size)
            shares = [100] if size == 1 else ([50, 50] if size == 2 else [34, 33, 33])
            measures = rng.sample(MEASURES, rng.randint(1, 3))
            signed = {
                "tender_id": str(tender_id),
                "lot_id": "lot-1",
                "bid_id": str(uuid.uuid4()),
                "buyer_id": str(rng.choice(self.buyers)),
                "value_minor": value,
                "currency": "GBP",
                "period": {
                    "start": at.isoformat(),
                    "end": (at + timedelta(days=365)).isoformat(),
                },
                "parties": [
                    {"organisation_id": str(o), "share_percent": s}
                    for o, s in zip(parties, shares, strict=True)
                ],
                "commitments": [
                    {"measure": m, "quantity": rng.randint(1, 40), "unit": UNITS[m]}
                    for m in measures
                ],
                "timestamp": at,
            }
            version = 1
            self.events.append(_stored(contract_id, version, SIGNED, signed))
            for n in range(rng.choice((0, 1, 2, 2, 3, 4))):
                start = at + timedelta(days=90 * n)
                end = start + timedelta(days=90)
                report_id = uuid.uuid4()
                version += 1
                report = {
                    "report_id": str(report_id),
                    "reporter_id": str(rng.choice(parties)),
                    "period": {"start": start.isoformat(), "end": end.isoformat()},
                    "delivered": [{"measure": m, "quantity": rng.randint(0, 10)} for m in measures],
                    "note": "Delivered as planned",
                    "timestamp": end,
                }
                self.events.append(_stored(contract_id, version, REPORTED, report))
                self.counts["reports"] += 1
                if rng.random() < 0.8:
                    version += 1
                    decided = {"report_id": str(report_id), "timestamp": end + timedelta(days=3)}
                    self.events.append(_stored(contract_id, version, CONFIRMED, decided))
                    self.counts["confirmed"] += 1
        self.counts["events"] = len(self.events)
        self.counts["members"] = len(self.members)
        self.counts["buyers"] = len(self.buyers)


def fill(store: Store, data: Synthetic) -> int:
    """The events into the marketplace log, the organisations into the directory's tables and
    tender_buyers; the log's head (the position the projector must reach)."""
    app = MarketplaceApp(env=store.application_env("marketplace", pool_size=2))
    try:
        for start in range(0, len(data.events), CHUNK):
            app.recorder.insert_events(data.events[start : start + CHUNK])
        head = app.recorder.max_notification_id() or 0
    finally:
        app.close()
    codes = sorted(cpv_codes())[:200]
    now = FIRST_DAY
    rows: dict[Any, list[dict[str, Any]]] = {
        directory_members: [],
        directory_member_cpv: [],
        directory_member_regions: [],
        tender_buyers: [],
    }
    for n, org_id in enumerate(data.members):
        name = f"Member {n:06d}"
        rows[directory_members].append(
            _complete(
                directory_members,
                {
                    "organisation_id": org_id,
                    "name": name,
                    "kind": "social_enterprise",
                    "legal_form": "cic",
                    "social_purpose": "Jobs",
                    "status": "current",
                    "listed": True,
                    "registered_at": now,
                    "admitted_at": now,
                },
            )
        )
        code = codes[n % len(codes)]
        rows[directory_member_cpv].append(
            _complete(
                directory_member_cpv,
                {
                    "organisation_id": org_id,
                    "cpv_code": code,
                    "cpv_stem": code.split("-")[0].rstrip("0").ljust(2, "0"),
                },
            )
        )
        rows[directory_member_regions].append(
            _complete(directory_member_regions, {"organisation_id": org_id, "region": "TLE"})
        )
        rows[tender_buyers].append({"organisation_id": org_id, "name": name})
    for n, buyer in enumerate(data.buyers):
        rows[tender_buyers].append({"organisation_id": buyer, "name": f"Council {n:05d}"})
    engine: Engine = store.sync_engine()
    try:
        with engine.begin() as connection:
            for table, found in rows.items():
                for start in range(0, len(found), CHUNK):
                    connection.execute(insert(table), found[start : start + CHUNK])
        with engine.begin() as connection:
            connection.execute(text("ANALYZE"))
    finally:
        engine.dispose()
    return head


async def caught_up(connection: HttpConnection, head: int) -> float:
    """Seconds until the impact projection has applied the log to `head` (each read waits,
    bounded, on the projector's board: no sleeping here)."""
    started = time.perf_counter()
    while time.perf_counter() - started < CATCH_UP_LIMIT_S:
        reply = await connection.request("GET", f"/api/v1/impact?position=marketplace:{head}")
        if reply.status != 200:
            raise RuntimeError(f"GET /api/v1/impact: {reply.status} {reply.body[:300]!r}")
        if reply.json()["consistent"]:
            return time.perf_counter() - started
    raise TimeoutError("the impact projection did not catch up")


def _figures(times: dict[str, list[float]], sizes: dict[str, int]) -> dict[str, Any]:
    return {
        name: {
            "median_ms": ms(statistics.median(found)),
            "p95_ms": ms(percentile(found, 0.95)),
            "bytes": sizes[name],
        }
        for name, found in times.items()
    }


def _a_write(store: Store, member: uuid.UUID) -> int:
    """One more contract signed in the marketplace log (the member alone, nothing committed):
    the impact ledger changes, so every kept answer is read again. The log's head."""
    app = MarketplaceApp(env=store.application_env("marketplace", pool_size=1))
    try:
        signed = {
            "tender_id": str(uuid.uuid4()),
            "lot_id": "lot-1",
            "bid_id": str(uuid.uuid4()),
            "buyer_id": str(uuid.uuid4()),
            "value_minor": 100_000,
            "currency": "GBP",
            "period": {
                "start": FIRST_DAY.isoformat(),
                "end": (FIRST_DAY + timedelta(days=365)).isoformat(),
            },
            "parties": [{"organisation_id": str(member), "share_percent": 100}],
            "commitments": [],
            "timestamp": FIRST_DAY,
        }
        app.recorder.insert_events([_stored(uuid.uuid4(), 1, SIGNED, signed)])
        return app.recorder.max_notification_id() or 0
    finally:
        app.close()


async def timed(
    port: int,
    staff_email: str,
    head: int,
    runs: int,
    cold_runs: int,
    member: uuid.UUID,
    other: uuid.UUID,
    store: Store,
) -> dict[str, Any]:
    connection = HttpConnection("127.0.0.1", port)
    paths = {name: (path.format(member=member), staff) for name, (path, staff) in ROUTES.items()}
    try:
        token = await fetch_token(connection, staff_email, BENCH_PASSWORD)
        catch_up = await caught_up(connection, head)
        times: dict[str, list[float]] = {name: [] for name in paths}
        sizes: dict[str, int] = {}
        for round_ in range(runs + 2):  # two warm rounds
            for name, (path, staff) in paths.items():
                started = time.perf_counter()
                reply = await connection.request("GET", path, token=token if staff else None)
                elapsed = time.perf_counter() - started
                if reply.status != 200:
                    raise RuntimeError(f"GET {path}: {reply.status} {reply.body[:300]!r}")
                sizes[name] = len(reply.body)
                if round_ >= 2:
                    times[name].append(elapsed)
        figures: dict[str, Any] = {"catch_up_s": round(catch_up, 2)} | _figures(times, sizes)
        base = figures["baseline_directory_page"]["median_ms"]
        figures["ratio_to_baseline"] = {
            name: round(figures[name]["median_ms"] / base, 1)
            for name in ROUTES
            if name != "baseline_directory_page"
        }
        cold: dict[str, list[float]] = {name: [] for name in COLD_ROUTES}
        for _ in range(cold_runs):
            written = await asyncio.to_thread(_a_write, store, member)
            # Untimed: waits for the projection to apply the write (another member's report).
            waited = f"/api/v1/organisations/{other}/impact?position=marketplace:{written}"
            reply = await connection.request("GET", waited, token=token)
            if reply.status != 200 or not reply.json()["consistent"]:
                raise RuntimeError(f"the write was not applied: {reply.body[:300]!r}")
            for name in COLD_ROUTES:
                path, staff = paths[name]
                started = time.perf_counter()
                reply = await connection.request("GET", path, token=token if staff else None)
                cold[name].append(time.perf_counter() - started)
                if reply.status != 200:
                    raise RuntimeError(f"GET {path}: {reply.status} {reply.body[:300]!r}")
        if cold_runs:
            figures["after_a_write"] = _figures(cold, sizes)
        return figures
    finally:
        await connection.close()


# In process: where one request's time goes ------------------------------------------------------


def _median(runs: int, step: Callable[[], Any]) -> tuple[float, Any]:
    found, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = step()
        found.append(time.perf_counter() - started)
    return ms(statistics.median(found)), result


async def split(store: Store, runs: int) -> dict[str, Any]:
    """The summary's and the member report's parts, as the routes do them (rows, arithmetic,
    JSON), each the median of `runs`."""
    app = MarketplaceApp(env=store.application_env("marketplace", pool_size=1))
    engine = store.async_engine(pool_size=1)
    try:
        rate = rate_of(app.proxy_tables())
        proxy_ms, _ = _median(runs, app.proxy_tables)

        async def rows() -> tuple[list[Any], list[Any]]:
            async with engine.connect() as connection:
                contracts = await ledger_contracts(connection, london_date)
                deliveries = await ledger_deliveries(connection, london_date)
            return contracts, deliveries

        contracts, deliveries = await rows()  # warm
        row_times = []
        for _ in range(runs):
            started = time.perf_counter()
            contracts, deliveries = await rows()
            row_times.append(time.perf_counter() - started)

        def summary() -> tuple[Any, list[Any]]:
            whole = ledger(contracts, deliveries, rate, Grouping.ASSOCIATION).get("all")
            years = ledger(contracts, deliveries, rate, Grouping.YEAR)
            return group_view(whole or Totals("all")), [
                group_view(t) for _, t in sorted(years.items())
            ]

        summary_ms, (whole, years) = _median(runs, summary)
        body = ImpactSummaryView(
            totals=whole, years=years, proxy_values="/api/v1/impact/proxy-values", consistent=True
        )
        summary_json_ms, encoded = _median(runs, lambda: msgspec.json.encode(body))

        def chart() -> str:
            quarters = ledger(
                contracts,
                deliveries,
                rate,
                Grouping.QUARTER,
                since=date(CHART_YEAR, 1, 1),
                until=date(CHART_YEAR + 1, 1, 1),
            )
            return quarterly_chart("social_value", CHART_YEAR, quarters)

        chart_ms, _ = _median(runs, chart)
        by_member_ms, groups = _median(
            runs, lambda: ledger(contracts, deliveries, rate, Grouping.MEMBER)
        )
        async with engine.connect() as connection:
            started = time.perf_counter()
            names = await names_of(connection, [uuid.UUID(key) for key in groups])
            names_ms = ms(time.perf_counter() - started)
        views_ms, views = _median(runs, lambda: named_groups(groups, names))
        report_json_ms, report = _median(runs, lambda: msgspec.json.encode(views))

        profile = cProfile.Profile()
        profile.enable()
        await rows()
        summary()
        msgspec.json.encode(body)
        profile.disable()
        stats = pstats.Stats(profile)
        top = sorted(stats.stats.items(), key=lambda item: item[1][2], reverse=True)[:12]  # type: ignore[attr-defined]
        return {
            "ledger_contracts": len(contracts),
            "ledger_deliveries": len(deliveries),
            "proxy_tables_ms": proxy_ms,
            "read_rows_ms": ms(statistics.median(row_times)),
            "summary_arithmetic_ms": summary_ms,
            "summary_json_ms": summary_json_ms,
            "summary_json_bytes": len(encoded),
            "chart_arithmetic_and_svg_ms": chart_ms,
            "report_by_member_arithmetic_ms": by_member_ms,
            "report_names_ms": names_ms,
            "report_views_ms": views_ms,
            "report_json_ms": report_json_ms,
            "report_json_bytes": len(report),
            "profile_summary_top_tottime": [
                {
                    "function": f"{Path(file).name}:{line}({name})",
                    "calls": calls[1],
                    "tottime_ms": ms(calls[2]),
                    "cumtime_ms": ms(calls[3]),
                }
                for (file, line, name), calls in top
            ],
        }
    finally:
        await engine.dispose()
        app.close()


def run_store(
    kind: str,
    store: Store,
    env: dict[str, str],
    url: str | None,
    data_dir: Path | None,
    data: Synthetic,
    args: argparse.Namespace,
    workdir: Path,
) -> dict[str, Any]:
    store.migrate()
    started = time.perf_counter()
    head = fill(store, data)
    result: dict[str, Any] = {"fill_s": round(time.perf_counter() - started, 1), "head": head}
    staff = create_staff(url, data_dir, Passwords().hash(BENCH_PASSWORD))
    with ServedApp(env, workdir / f"server-{kind}-{len(data.members)}.log") as server:
        result |= run_async(
            timed(
                server.port,
                staff,
                head,
                args.runs,
                args.cold_runs,
                data.members[0],
                data.members[1],
                store,
            )
        )
    result["split"] = asyncio.run(split(store, args.runs))
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.impact", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--contracts", type=int, nargs="+", default=[500, 2_000])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument(
        "--cold-runs", type=int, default=5, help="rounds after a write (answers read again)"
    )
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument(
        "--stores", nargs="+", choices=["sqlite", "postgresql"], default=["sqlite", "postgresql"]
    )
    parser.add_argument("--admin-url", default=admin_url_default())
    parser.add_argument("--json", default=None, help="also write the result here")
    args = parser.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="tradehall-bench-impact-"))
    result: dict[str, Any] = {
        "machine": machine(),
        "options": vars(args),
        "server_logs": str(workdir),
    }
    for contracts in args.contracts:
        data = Synthetic(contracts, args.seed)
        figures: dict[str, Any] = {"data": data.counts}
        for kind in args.stores:
            if kind == "sqlite":
                data_dir = workdir / f"sqlite-{contracts}"
                env = server_env(database_url=None, data_dir=data_dir, pool_size=8, extra={})
                figures[kind] = run_store(
                    kind, SQLiteStore(data_dir), env, None, data_dir, data, args, workdir
                )
            else:
                with bench_database(args.admin_url) as url:
                    env = server_env(database_url=url, data_dir=None, pool_size=8, extra={})
                    figures[kind] = run_store(
                        kind, PostgresStore(url), env, url, None, data, args, workdir
                    )
            summary = {k: v for k, v in figures[kind].items() if k != "split"}
            print(f"{contracts} contracts, {kind}: {json.dumps(summary)}", flush=True)
        result[str(contracts)] = figures
    result["loadavg_at_end"] = os.getloadavg()
    emit(result, args.json)


if __name__ == "__main__":
    main()
