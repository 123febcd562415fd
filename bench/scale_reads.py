"""The reads at scale (issue 19), on a copy of the database `bench.scale_data` kept as a template.

For each read, p50/p95/p99 over a named, seeded query mix, through the service's read functions
(the Python the routes call, on the async engine) and over HTTP (`tradehall serve` on the copy),
each sample interleaved with a same-run baseline: the equivalent hand-written SQL on psycopg
(bench/_scale_sql.py says what each leaves out).

- `directory_search`: GET /api/v1/directory/search?cpv=&region= (page of 20, total, facets).
  Mix: a listed member drawn at random; its first profile code cut to its division (50%), its
  group (30%) or whole (20%); one of its regions, or that region's ITL1 (half each).
- `lot_matches`: GET /api/v1/organisations/{buyer}/tenders/{t}/lots/{l}/matches. Mix: lots drawn
  at random (every status: a buyer asks of drafts and closed ones too).
- `recommendations`: GET /api/v1/organisations/{o}/recommended-tenders. Mix: members drawn from
  those ever admitted and listed now.
- `impact_summary` (GET /api/v1/impact) and `impact_report` (GET /api/v1/impact/report?by=member,
  staff): every request reads the whole ledger, so fewer samples (`--impact-samples`).
  In process, the route's own steps (ledger rows, arithmetic, names, views) with no cache.
- `rebuild`: `BatchProjector.rebuild()` of every rebuildable projection on the copy, as
  `tradehall projections rebuild` runs it, in a child process: log events per second and its
  peak RSS (VmHWM). Last, since it rewrites the tables.
- The served API's RSS (VmRSS and VmHWM) after the HTTP reads.
- EXPLAIN (ANALYZE, BUFFERS) of every statement one sample of each read sends (captured from
  the engine), the slowest kept.

Run: `.venv/bin/python -m bench.scale_reads --help`. Needs `python -m bench.scale_data` first
(same `--template`). Against an older tree, PYTHONPATH=/tmp/th-before/src:$PWD as for the other
benches (reads the tree lacks are reported as skipped).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
from sqlalchemy import event, make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from bench import _scale_sql as sql
from bench._common import (
    BENCH_PASSWORD,
    HttpConnection,
    ServedApp,
    admin_url_default,
    create_staff,
    emit,
    fetch_token,
    machine,
    ms,
    percentile,
    run_async,
    server_env,
)

# As bench.scale_data's, not imported from it: that module imports the domain it loads, which an
# older tree (PYTHONPATH) may lack; this one must import against any tree.
DEFAULT_NAME = "tradehall_scale"
WARM_UP = 10
Read = Callable[[Any], Awaitable[Any]]


# --- the copy ------------------------------------------------------------------------------------


def database_url(admin_url: str, name: str) -> str:
    return (
        make_url(admin_url)
        .set(drivername="postgresql", database=name)
        .render_as_string(hide_password=False)
    )


def clone(admin_url: str, template: str) -> tuple[str, str]:
    name = f"tradehall_scale_copy_{uuid.uuid4().hex[:8]}"
    admin = database_url(admin_url, make_url(admin_url).database or "postgres")
    started = time.perf_counter()
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    print(f"copied {template} to {name} in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return name, database_url(admin_url, name)


def drop(admin_url: str, name: str) -> None:
    admin = database_url(admin_url, make_url(admin_url).database or "postgres")
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- the query mix -------------------------------------------------------------------------------


def draw_mix(url: str, seed: int, samples: int, impact_samples: int) -> dict[str, list[Any]]:
    """Each read's samples, drawn from the copy's rows with a seeded generator (the same
    template and seed give the same mix)."""
    from projections.codes import cpv_stem
    from sharedkernel.reference import cpv_codes, itl_regions

    rng = random.Random(seed)
    by_stem = {cpv_stem(code): code for code in cpv_codes()}
    parents = {code: region.parent for code, region in itl_regions().items()}
    with psycopg.connect(url, autocommit=True) as connection:
        listed = connection.execute(
            "SELECT s.organisation_id, "
            "(SELECT min(c.cpv_code) FROM directory_search_cpv c "
            " WHERE c.organisation_id = s.organisation_id AND c.source = 'profile'), "
            "(SELECT min(r.region) FROM directory_search_regions r "
            " WHERE r.organisation_id = s.organisation_id) "
            "FROM directory_search s WHERE s.listed ORDER BY s.organisation_id"
        ).fetchall()
        lots = connection.execute(
            "SELECT buyer_id, tender_id, lot_id FROM match_lots ORDER BY tender_id, lot_id"
        ).fetchall()
        members = connection.execute(
            "SELECT organisation_id FROM match_members WHERE member AND listed "
            "ORDER BY organisation_id"
        ).fetchall()
    directory = []
    for _ in range(samples):
        _, code, region = rng.choice(listed)
        stem = cpv_stem(code)
        roll = rng.random()
        cut = stem[:2] if roll < 0.5 else stem[:3] if roll < 0.8 else stem
        cpv = by_stem.get(cut, code)
        top = region
        while parents.get(top):
            top = parents[top] or top
        directory.append((cpv, region if rng.random() < 0.5 else top))
    return {
        "directory_search": directory,
        "lot_matches": [tuple(rng.choice(lots)) for _ in range(samples)],
        "recommendations": [rng.choice(members)[0] for _ in range(samples)],
        "impact_summary": [None] * impact_samples,
        "impact_report": [None] * impact_samples,
    }


# --- the service's read functions --------------------------------------------------------------


class _Run:
    """What the routes' `commands.run` does: the work on a worker thread."""

    async def run(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return await asyncio.to_thread(fn, *args, **kwargs)


def service_reads(engine: AsyncEngine, url: str) -> tuple[dict[str, Read], dict[str, str], Any]:
    """Each read as its route calls it (no read-your-writes wait: no position is given). A read
    the tree lacks is left out, with why."""
    reads: dict[str, Read] = {}
    skipped: dict[str, str] = {}
    marketplace = None
    try:
        from projections.search import SearchFilters, search_directory
        from tradehall.api.reads import place_filter

        async def directory(sample: Any) -> Any:
            cpv, region = sample
            place = place_filter(cpv, region)
            filters = SearchFilters(
                terms=None,
                cpv_code=place.cpv_code,
                region=place.region,
                region_parents=place.region_parents,
                legal_form=None,
                mark=None,
            )
            async with engine.connect() as connection:
                return await search_directory(connection, filters, after=None, limit=20)

        reads["directory_search"] = directory
    except ImportError as missing:
        skipped["directory_search"] = str(missing)
    try:
        from projections.matching_query import lot_matches, lot_of, recommended_lots
        from sharedkernel.reference import itl_regions

        parents = {code: region.parent for code, region in itl_regions().items()}

        async def matches(sample: Any) -> Any:
            _, tender_id, lot_id = sample
            async with engine.connect() as connection:
                lot = await lot_of(connection, tender_id, lot_id)
                assert lot is not None
                return await lot_matches(connection, lot, parents, 20)

        async def recommended(sample: Any) -> Any:
            async with engine.connect() as connection:
                return await recommended_lots(connection, sample, parents, datetime.now(UTC), 20)

        reads["lot_matches"] = matches
        reads["recommendations"] = recommended
    except ImportError as missing:
        skipped["lot_matches"] = skipped["recommendations"] = str(missing)
    try:
        import msgspec

        from marketplace.application import MarketplaceApp
        from marketplace.working_days import london_date
        from projections.impact_ledger import Grouping, Totals, ledger
        from projections.impact_query import ledger_contracts, ledger_deliveries, names_of
        from tradehall.marketplace.impact.report import group_view, named_groups, rate_of
        from tradehall.store.postgres import PostgresStore

        marketplace = MarketplaceApp(
            env=PostgresStore(url).application_env("marketplace", pool_size=1)
        )
        app = marketplace
        runner = _Run()

        async def rows() -> tuple[Any, Any, Any]:
            tables = await runner.run(app.proxy_tables)
            async with engine.connect() as connection:
                contracts = await ledger_contracts(connection, london_date)
                deliveries = await ledger_deliveries(connection, london_date)
            return contracts, deliveries, rate_of(tables)

        def summary_of(contracts: Any, deliveries: Any, rate: Any) -> bytes:
            whole = ledger(contracts, deliveries, rate, Grouping.ASSOCIATION).get("all")
            years = ledger(contracts, deliveries, rate, Grouping.YEAR)
            views = [group_view(whole or Totals("all"))]
            views += [group_view(t) for _, t in sorted(years.items())]
            return msgspec.json.encode(views)

        async def impact_summary(sample: Any) -> Any:
            contracts, deliveries, rate = await rows()
            return await runner.run(summary_of, contracts, deliveries, rate)

        async def impact_report(sample: Any) -> Any:
            contracts, deliveries, rate = await rows()
            groups = await runner.run(ledger, contracts, deliveries, rate, Grouping.MEMBER)
            async with engine.connect() as connection:
                names = await names_of(connection, [UUID(key) for key in groups])
            views = await runner.run(named_groups, groups, names)
            return msgspec.json.encode(views)

        reads["impact_summary"] = impact_summary
        reads["impact_report"] = impact_report
    except ImportError as missing:
        skipped["impact_summary"] = skipped["impact_report"] = str(missing)
    return reads, skipped, marketplace


# --- the baselines -------------------------------------------------------------------------------


def baseline_reads(connection: psycopg.AsyncConnection[Any]) -> dict[str, Read]:
    from projections.codes import cpv_stem, related_regions, stem_prefixes
    from sharedkernel.reference import itl_regions

    parents = {code: region.parent for code, region in itl_regions().items()}

    async def fetch(query: str, params: dict[str, Any]) -> list[Any]:
        cursor = await connection.execute(query, params)
        return await cursor.fetchall()

    async def directory(sample: Any) -> Any:
        cpv, region = sample
        stem = cpv_stem(cpv)
        params = {
            "like": stem + "%",
            "above": stem_prefixes(stem),
            "regions": sorted(related_regions(region, parents)),
        }
        return await fetch(sql.DIRECTORY_PAGE, params), await fetch(sql.DIRECTORY_FACETS, params)

    async def matches(sample: Any) -> Any:
        _, tender_id, lot_id = sample
        return await fetch(sql.LOT_MATCHES, {"tender_id": tender_id, "lot_id": lot_id})

    async def recommended(sample: Any) -> Any:
        return await fetch(sql.RECOMMENDED, {"organisation_id": sample})

    async def impact_summary(sample: Any) -> Any:
        return (
            await fetch(sql.IMPACT_SUMMARY_CONTRACTS, {}),
            await fetch(sql.IMPACT_SUMMARY_DELIVERED, {}),
        )

    async def impact_report(sample: Any) -> Any:
        return (
            await fetch(sql.IMPACT_REPORT_CONTRACTS, {}),
            await fetch(sql.IMPACT_REPORT_DELIVERED, {}),
        )

    return {
        "directory_search": directory,
        "lot_matches": matches,
        "recommendations": recommended,
        "impact_summary": impact_summary,
        "impact_report": impact_report,
    }


# --- timing --------------------------------------------------------------------------------------


def stats(times: list[float]) -> dict[str, Any]:
    return {
        "n": len(times),
        "p50_ms": ms(percentile(times, 0.50)),
        "p95_ms": ms(percentile(times, 0.95)),
        "p99_ms": ms(percentile(times, 0.99)),
        "max_ms": ms(max(times)) if times else None,
    }


async def timed_pair(
    samples: list[Any], ours: Read, baseline: Read
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Each sample through ours then the baseline, interleaved; warm-up samples first (the
    very first, cold, is reported as `first_ms`: a cache a route keeps is empty then)."""
    first = None
    for sample in samples[:WARM_UP]:
        started = time.perf_counter()
        await ours(sample)
        first = time.perf_counter() - started if first is None else first
        await baseline(sample)
    mine, base = [], []
    for sample in samples:
        started = time.perf_counter()
        await ours(sample)
        mine.append(time.perf_counter() - started)
        started = time.perf_counter()
        await baseline(sample)
        base.append(time.perf_counter() - started)
    return stats(mine) | {"first_ms": None if first is None else ms(first)}, stats(base)


def _ratio(ours: dict[str, Any], base: dict[str, Any]) -> float | None:
    if not base.get("p50_ms"):
        return None
    return round(float(ours["p50_ms"]) / float(base["p50_ms"]), 1)


async def in_process(url: str, mix: dict[str, list[Any]], explain: bool) -> dict[str, Any]:
    from tradehall.store.postgres import PostgresStore

    engine = PostgresStore(url).async_engine(pool_size=2)
    reads, skipped, marketplace = service_reads(engine, url)
    # Only the reads asked for (--reads): the mix holds no samples for the others.
    reads = {name: read for name, read in reads.items() if name in mix}
    result: dict[str, Any] = {"skipped": skipped}
    try:
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as connection:
            baselines = baseline_reads(connection)
            for name, read in reads.items():
                ours, base = await timed_pair(mix[name], read, baselines[name])
                result[name] = {"ours": ours, "baseline": base, "p50_ratio": _ratio(ours, base)}
                print(f"in process {name}: {json.dumps(result[name])}", file=sys.stderr)
            if explain:
                result["explain"] = {
                    name: await explained(engine, read, mix[name][0])
                    for name, read in reads.items()
                }
    finally:
        await engine.dispose()
        if marketplace is not None:
            marketplace.close()
    return result


async def explained(engine: AsyncEngine, read: Read, sample: Any) -> list[dict[str, Any]]:
    """EXPLAIN (ANALYZE, BUFFERS) of each statement one run of `read` sends, slowest first."""
    sent: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, *rest: Any) -> None:
        if not statement.lstrip().upper().startswith("EXPLAIN"):
            sent.append((statement, parameters))

    event.listen(engine.sync_engine, "before_cursor_execute", capture)
    try:
        await read(sample)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", capture)
    plans = []
    async with engine.connect() as connection:
        for statement, parameters in sent:
            rows = await connection.exec_driver_sql(
                "EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters
            )
            lines = [row[0] for row in rows]
            execution = next((x for x in lines if x.startswith("Execution Time")), "")
            planning = next((x for x in lines if x.startswith("Planning Time")), "")
            plans.append(
                {
                    "statement": " ".join(statement.split())[:300],
                    "planning": planning,
                    "execution": execution,
                    "execution_ms": float(execution.split(":")[1].split()[0]) if execution else 0,
                    "plan": lines[:40],
                }
            )
    return sorted(plans, key=lambda p: p["execution_ms"], reverse=True)


# --- over HTTP -----------------------------------------------------------------------------------


def paths_of(name: str, sample: Any) -> str:
    if name == "directory_search":
        cpv, region = sample
        return f"/api/v1/directory/search?cpv={cpv}&region={region}"
    if name == "lot_matches":
        buyer_id, tender_id, lot_id = sample
        return f"/api/v1/organisations/{buyer_id}/tenders/{tender_id}/lots/{lot_id}/matches"
    if name == "recommendations":
        return f"/api/v1/organisations/{sample}/recommended-tenders"
    if name == "impact_summary":
        return "/api/v1/impact"
    return "/api/v1/impact/report?by=member"


async def over_http(
    url: str, port: int, mix: dict[str, list[Any]], staff_email: str
) -> dict[str, Any]:
    result: dict[str, Any] = {}
    client = HttpConnection("127.0.0.1", port)
    try:
        token = await fetch_token(client, staff_email, BENCH_PASSWORD)
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as connection:
            baselines = baseline_reads(connection)
            for name, samples in mix.items():

                async def ours(sample: Any, name: str = name) -> Any:
                    reply = await client.request("GET", paths_of(name, sample), token=token)
                    if reply.status != 200:
                        raise RuntimeError(f"{name}: {reply.status} {reply.body[:300]!r}")
                    return reply

                mine, base = await timed_pair(samples, ours, baselines[name])
                result[name] = {"ours": mine, "baseline": base, "p50_ratio": _ratio(mine, base)}
                print(f"http {name}: {json.dumps(result[name])}", file=sys.stderr)
    finally:
        await client.close()
    return result


def _vm(pid: int) -> dict[str, int]:
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key + "_mib"] = round(int(value.split()[0]) / 1024)
    return found


def served(url: str, mix: dict[str, list[Any]], workdir: Path) -> dict[str, Any]:
    from tradehall.identity.users import Passwords

    staff = create_staff(url, None, Passwords().hash(BENCH_PASSWORD))
    # Off: the clock (it would lapse and invoice on today's date), the mail sender (the awards'
    # summaries wait in the outbox), card commands, and the quality mark's follower of the
    # membership log (uncaught-up in the template: it would read the whole log, ~500 events/s,
    # beside the reads). The projector runs, caught up already.
    env = server_env(
        database_url=url,
        data_dir=workdir / "data",
        pool_size=8,
        extra={
            "TRADEHALL_CLOCK_INTERVAL_SECONDS": "0",
            "TRADEHALL_MAIL_INTERVAL_SECONDS": "0",
            "TRADEHALL_CARD_COMMANDS_INTERVAL_SECONDS": "0",
            "TRADEHALL_FOLLOW_INTERVAL_SECONDS": "0",
        },
    )
    with ServedApp(env, workdir / "server.log") as server:
        started = _vm(server.pid)
        result: dict[str, Any] = run_async(over_http(url, server.port, mix, staff))
        result["api_memory_at_start"] = started
        result["api_memory_after_reads"] = _vm(server.pid)
    return result


# --- the rebuild, in a child process -----------------------------------------------------------


def rebuild_child(url: str) -> None:
    """Run inside the child: open the projector as `tradehall projections rebuild` does, time
    the rebuild of every rebuildable projection, print JSON with this process's peak RSS."""
    from tradehall.cli.projections import opened_projector
    from tradehall.readside import rebuildable
    from tradehall.settings import Settings
    from tradehall.store import store_from_settings

    env = server_env(database_url=url, data_dir=None, pool_size=2, extra={})
    settings = Settings.from_env(env)
    store = store_from_settings(settings.database_url, settings.data_dir)
    with opened_projector(settings, store) as (projector, _):
        heads = {log: source.head() for log, source in projector.sources.items()}
        chosen = rebuildable(projector)
        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute("CHECKPOINT")
        started = time.perf_counter()
        applied = projector.rebuild(chosen)
        elapsed = time.perf_counter() - started
    log_events = sum(heads.values())
    print(
        json.dumps(
            {
                "projections": chosen,
                "log_heads": heads,
                "log_events": log_events,
                "events_applied": applied,
                "seconds": round(elapsed, 2),
                "log_events_per_s": round(log_events / elapsed),
                "events_applied_per_s": round(applied / elapsed),
                "peak_rss_mib": _vm(os.getpid())["VmHWM_mib"],
            }
        )
    )


def rebuild(url: str) -> dict[str, Any]:
    process = subprocess.run(
        [sys.executable, "-m", "bench.scale_reads", "--rebuild-child", url],
        capture_output=True,
        text=True,
        check=False,
    )
    if process.returncode != 0:
        return {"failed": process.stderr[-3000:]}
    found: dict[str, Any] = json.loads(process.stdout.strip().splitlines()[-1])
    return found


# --- the run -------------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> dict[str, Any]:
    result: dict[str, Any] = {
        "benchmark": "scale_reads",
        "machine": machine(),
        "options": vars(args),
    }
    workdir = Path(tempfile.mkdtemp(prefix="tradehall-bench-scale-"))
    name, url = clone(args.admin_url, args.template)
    result["copy"] = name
    try:
        with psycopg.connect(url, autocommit=True) as connection:
            result["data"] = {
                table: connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # type: ignore[index]
                for table in (
                    "directory_members",
                    "directory_search",
                    "match_members",
                    "match_lots",
                    "impact_contracts",
                    "impact_reports",
                )
            }
        mix = draw_mix(url, args.seed, args.samples, args.impact_samples)
        result["mix"] = {k: len(v) for k, v in mix.items()}
        chosen = {k: v for k, v in mix.items() if k in args.reads}
        result["in_process"] = run_async(in_process(url, chosen, args.explain))
        if args.http:
            result["http"] = served(url, chosen, workdir)
        if args.rebuild:
            result["rebuild"] = rebuild(url)
    finally:
        if args.keep_copy:
            print(f"kept the copy {name}", file=sys.stderr)
        else:
            drop(args.admin_url, name)
    result["server_logs"] = str(workdir)
    result["loadavg_at_end"] = os.getloadavg()
    return result


READS = ("directory_search", "lot_matches", "recommendations", "impact_summary", "impact_report")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.scale_reads", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--template", default=DEFAULT_NAME, help="made by bench.scale_data")
    parser.add_argument("--samples", type=int, default=500)
    parser.add_argument("--impact-samples", type=int, default=10)
    parser.add_argument("--seed", type=int, default=19)
    parser.add_argument("--reads", nargs="+", choices=READS, default=list(READS))
    parser.add_argument("--http", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--rebuild", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--explain", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--keep-copy", action="store_true")
    parser.add_argument("--admin-url", default=admin_url_default())
    parser.add_argument("--json", default=None, help="also write the result here")
    parser.add_argument("--rebuild-child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.rebuild_child:
        rebuild_child(args.rebuild_child)
        return
    emit(run(args), args.json)


if __name__ == "__main__":
    main()
