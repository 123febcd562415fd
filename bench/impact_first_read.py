"""The impact routes' first read after a contract event (issue 19), in process, on a copy of
the template `bench.scale_data` made: the steps a route's `read()` runs when its answer is not
kept (tradehall.api.marketplace.impact: the ledger's rows or sums, the arithmetic on a worker
thread, the view, the JSON), each sample beside the same-run SQL baseline of bench.scale_reads
(bench/_scale_sql.py), interleaved.

- `impact_summary`: GET /api/v1/impact.
- `impact_report`: GET /api/v1/impact/report?by=member (staff), names and all.
- `impact_report_year`: GET /api/v1/impact/report?by=year (its baseline: the summary's SQL).

bench.scale_reads times the ledger's library functions as they stood at issue 19 (the rows of
every contract, `ledger` once a grouping); this times what the route calls, whichever tree is
on PYTHONPATH (`PYTHONPATH=/tmp/th-before/src:$PWD` for an older one).

Run: `.venv/bin/python -m bench.impact_first_read --help`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable
from typing import Any

import psycopg

from bench._common import admin_url_default, emit, machine, run_async
from bench.scale_reads import DEFAULT_NAME, baseline_reads, clone, drop, timed_pair

READS = ("impact_summary", "impact_report", "impact_report_year")


class _Run:
    """What the routes' `commands.run` does: the work on a worker thread."""

    async def run(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return await asyncio.to_thread(fn, *args, **kwargs)


async def in_process(url: str, samples: int, reads: list[str]) -> dict[str, Any]:
    from litestar.serialization import encode_json

    from marketplace.application import MarketplaceApp
    from tradehall.api.marketplace import impact as route
    from tradehall.api.marketplace.schemas.impact import ImpactReportView, ImpactSummaryView
    from tradehall.store.postgres import PostgresStore

    store = PostgresStore(url)
    engine = store.async_engine(pool_size=2)
    marketplace = MarketplaceApp(env=store.application_env("marketplace", pool_size=1))
    commands: Any = _Run()

    async def summary(sample: Any) -> bytes:
        # As ImpactController.summary's read(), in this tree.
        if hasattr(route, "_by_period"):
            found = await route._by_period(engine, commands, marketplace, route._SUMMARY)
            whole, years = await commands.run(route._summary_totals, found)
        else:
            ledger = await route._read(engine, commands, marketplace)
            whole, years = await commands.run(route._summary_totals, ledger)
        body = ImpactSummaryView(
            totals=whole, years=years, proxy_values="/api/v1/impact/proxy-values", consistent=True
        )
        answer: bytes = encode_json(body)
        return answer

    def report(by: str) -> Callable[[Any], Any]:
        async def read(sample: Any) -> bytes:
            # As ImpactController.report's read().
            asked = route._Asked(by, None, None)  # type: ignore[arg-type]
            groups = await route._report(engine, commands, marketplace, asked)
            body = ImpactReportView(
                by=asked.by, since=None, until=None, groups=groups, consistent=True
            )
            answer: bytes = await commands.run(encode_json, body)
            return answer

        return read

    ours = {
        "impact_summary": summary,
        "impact_report": report("member"),
        "impact_report_year": report("year"),
    }
    result: dict[str, Any] = {}
    try:
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as connection:
            baselines = baseline_reads(connection)
            baselines["impact_report_year"] = baselines["impact_summary"]
            for name in reads:
                mine, base = await timed_pair([None] * samples, ours[name], baselines[name])
                ratio = round(mine["p50_ms"] / base["p50_ms"], 1) if base["p50_ms"] else None
                result[name] = {"ours": mine, "baseline": base, "p50_ratio": ratio}
                print(f"in process {name}: {json.dumps(result[name])}", file=sys.stderr)
    finally:
        await engine.dispose()
        marketplace.close()
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.impact_first_read", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--template", default=DEFAULT_NAME, help="made by bench.scale_data")
    parser.add_argument("--samples", type=int, default=5)
    parser.add_argument("--reads", nargs="+", choices=READS, default=list(READS))
    parser.add_argument("--admin-url", default=admin_url_default())
    parser.add_argument("--json", default=None, help="also write the result here")
    args = parser.parse_args(argv)
    result: dict[str, Any] = {"benchmark": "impact_first_read", "machine": machine()}
    result["options"] = vars(args)
    name, url = clone(args.admin_url, args.template)
    try:
        result["in_process"] = run_async(in_process(url, args.samples, args.reads))
    finally:
        drop(args.admin_url, name)
    emit(result, args.json)


if __name__ == "__main__":
    main()
