"""One tick of the bids' opening clock (`open_due_bids`) with N tenders published and none due.

Each measurement has a store of its own (a SQLite directory, or a PostgreSQL database made and
dropped here). Set-up, untimed, through the real Applications: a verified buyer drafts and
publishes N tenders (bench/burst.py's terms: two lots, their deadline 30 days ahead) through
`MarketplaceApp`, each tender's sealing key made at publication as the API makes it. Then the
clock's parts are built afresh, as a process starting (new Applications, empty aggregate caches,
a new `SealingKeys`), and timed:

- `first_tick`: the first tick after start; no tender is due, so it opens and discards nothing
  (checked: it answers (0, 0));
- `warm_tick`: the median of `--ticks` more ticks by the same parts (their caches warm), the
  steady state of a running clock;
- `restart_tick`: one tick by parts built afresh again (a restarted process), after the ticks
  above.

`--amended K` amends the first K of the N tenders once each (their title, the deadline kept)
after publication, through `MarketplaceApp` (untimed, set-up): since the clock tells bidders of
each amendment whose deadline is ahead by one sealed batch row (ADR 27), the first tick then
writes K batches, and the tick after a restart reads the log's amendments from its start again
(finding their batches written).

`--base-tree DIR` measures another source tree (a `git worktree` of the commit before a change)
in the same run (and `--new-tree DIR` a tree of its own as the new side, rather than this
checkout's, which others may be editing): every measurement runs in a subprocess of its own
with `PYTHONPATH=<tree>/src:<this checkout>` (this bench, that tree's service and migrations),
the trees alternating which goes first; the result gives each side's figures and new/base
ratios. Without it, only the new side is measured.

Run: `.venv/bin/python -m bench.opening_clock --help`; e.g.
`git worktree add /tmp/opening-base <commit>` then
`.venv/bin/python -m bench.opening_clock --base-tree /tmp/opening-base --json /tmp/opening.json`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench._common import admin_url_default, bench_database, emit, machine, ms

SIZES = (100, 1_000)
STORES = ("sqlite", "postgresql")
MARGIN = timedelta(minutes=1)
DEADLINE_AHEAD = timedelta(days=30)
BENCH_ROOT = Path(__file__).resolve().parents[1]


# --- one measurement (in the tree PYTHONPATH gives) ----------------------------------------------


@contextmanager
def fresh_store(kind: str, admin_url: str) -> Iterator[Any]:
    from tradehall.store.postgres import PostgresStore
    from tradehall.store.sqlite import SQLiteStore

    if kind == "sqlite":
        workdir = Path(tempfile.mkdtemp(prefix="tradehall-bench-opening-"))
        try:
            store = SQLiteStore(workdir / "data")
            store.migrate()
            yield store
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        return
    with bench_database(admin_url) as url:
        store = PostgresStore(url)
        store.migrate()
        yield store


def seed(store: Any, master: bytes, count: int, now: datetime, amended: int = 0) -> None:
    """N tenders published by one verified buyer through the Application, a key each; the
    first `amended` of them amended once (their title)."""
    import dataclasses

    from bench.burst import burst_tender, context
    from marketplace.application import BuyerFacts, MarketplaceApp
    from tradehall.marketplace.sealing.keys import SealingKeys
    from tradehall.marketplace.sealing.master import MasterKeys

    marketplace = MarketplaceApp(env=store.application_env("marketplace", pool_size=2))
    keys = SealingKeys(store.sync_engine(), MasterKeys(master))
    buyer = uuid.uuid4()
    buyer_facts = BuyerFacts("public_body")
    try:
        marketplace.verify_buyer(context(now), buyer, "public_body", "bench register")
        for number in range(count):
            terms = burst_tender(number, now + DEADLINE_AHEAD).terms
            tender_id = uuid.uuid4()
            marketplace.draft_tender(context(now), tender_id, buyer, terms)
            keys.ensure_tender_key(tender_id, now)  # as the publication route: the key first
            marketplace.publish_tender(context(now), tender_id, BuyerFacts("public_body"))
            if number < amended:
                terms = dataclasses.replace(terms, title=f"{terms.title} (amended)")
                why = "bench: one amendment"
                marketplace.amend_tender(context(now), tender_id, terms, why, buyer_facts)
    finally:
        marketplace.close()
        keys.engine.dispose()


class Parts:
    """The clock's parts as `tradehall.marketplace.bids.declaration` builds them, afresh."""

    def __init__(self, store: Any, master: bytes, now: datetime) -> None:
        from marketplace.application import MarketplaceApp
        from membership.application import MembershipApp
        from membership.marks.application import MarksApp
        from tradehall.clock import ManualClock
        from tradehall.marketplace.bids import LOG
        from tradehall.marketplace.bids.declaration import SealedBidsApp
        from tradehall.marketplace.bids.opening import OpeningParts
        from tradehall.marketplace.sealing.keys import SealingKeys
        from tradehall.marketplace.sealing.master import MasterKeys

        keys = SealingKeys(store.sync_engine(), MasterKeys(master))
        self.apps = [
            SealedBidsApp(store.application_env(LOG.name, pool_size=2), keys),
            MarketplaceApp(env=store.application_env("marketplace", pool_size=2)),
            MembershipApp(env=store.application_env("membership", pool_size=2)),
            MarksApp(env=store.application_env("marks", pool_size=2)),
        ]
        bids, marketplace, membership, marks = self.apps
        self.parts = OpeningParts(
            bids=bids,  # type: ignore[arg-type]
            marketplace=marketplace,  # type: ignore[arg-type]
            membership=membership,  # type: ignore[arg-type]
            marks=marks,  # type: ignore[arg-type]
            keys=keys,
            clock=ManualClock(now),
            margin=MARGIN,
        )
        for app in self.apps:  # connections open, as in a running process
            app.recorder.max_notification_id()  # type: ignore[attr-defined]
        with keys.engine.connect():
            pass

    def tick(self) -> float:
        from tradehall.marketplace.bids.opening import open_due_bids

        started = time.perf_counter()
        result = open_due_bids(self.parts)
        elapsed = time.perf_counter() - started
        if result != (0, 0):
            raise RuntimeError(f"no tender is due, yet the tick answered {result}")
        return elapsed

    def close(self) -> None:
        for app in self.apps:
            app.close()  # the bids' also disposes of the keys' engine


def measure(kind: str, count: int, ticks: int, admin_url: str, amended: int = 0) -> dict[str, Any]:
    import tradehall

    now = datetime.now(UTC).replace(microsecond=0)
    master = os.urandom(32)
    with fresh_store(kind, admin_url) as store:
        started = time.perf_counter()
        seed(store, master, count, now, amended)
        seeding = time.perf_counter() - started
        parts = Parts(store, master, now + timedelta(hours=1))
        try:
            first = parts.tick()
            warm = [parts.tick() for _ in range(ticks)]
        finally:
            parts.close()
        again = Parts(store, master, now + timedelta(hours=2))
        try:
            restart = again.tick()
        finally:
            again.close()
    return {
        "store": kind,
        "tenders": count,
        "amended": amended,
        "tradehall_source": str(Path(tradehall.__file__).resolve().parents[1]),
        "seeding_s": round(seeding, 1),
        "first_tick_ms": ms(first),
        "warm_tick_ms": ms(statistics.median(warm)),
        "warm_ticks_ms": [ms(t) for t in warm],
        "restart_tick_ms": ms(restart),
    }


# --- the run: each measurement in a subprocess, the trees alternating ---------------------------


def run_one(tree: Path | None, kind: str, count: int, args: argparse.Namespace) -> dict[str, Any]:
    env = dict(os.environ)
    if tree is not None:
        env["PYTHONPATH"] = f"{tree / 'src'}{os.pathsep}{BENCH_ROOT}"
    else:
        env.pop("PYTHONPATH", None)
    command = [sys.executable, "-m", "bench.opening_clock", "--one", kind, str(count)]
    command += ["--ticks", str(args.ticks), "--admin-url", args.admin_url]
    command += ["--amended", str(args.amended)]
    done = subprocess.run(
        command, env=env, cwd=BENCH_ROOT, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def ratios(new: dict[str, Any], base: dict[str, Any]) -> dict[str, float]:
    keys = ("first_tick_ms", "warm_tick_ms", "restart_tick_ms")
    return {k: round(new[k] / base[k], 4) if base[k] else float("nan") for k in keys}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--stores", nargs="+", choices=STORES, default=list(STORES))
    parser.add_argument("--ticks", type=int, default=5, help="warm ticks timed (median)")
    parser.add_argument(
        "--amended", type=int, default=0, help="of the N tenders, how many amended once each"
    )
    parser.add_argument("--base-tree", type=Path, help="also measure this tree (the baseline)")
    parser.add_argument("--new-tree", type=Path, help="measure this tree as the new side")
    parser.add_argument("--admin-url", default=admin_url_default())
    parser.add_argument("--json", help="keep a copy of the result here")
    parser.add_argument("--one", nargs=2, metavar=("STORE", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one is not None:
        kind, count = args.one
        print(json.dumps(measure(kind, int(count), args.ticks, args.admin_url, args.amended)))
        return

    result: dict[str, Any] = {
        "machine": machine(),
        "margin_s": MARGIN.total_seconds(),
        "amended": args.amended,
    }
    runs = []
    flip = False
    for kind in args.stores:
        for count in args.sizes:
            row: dict[str, Any] = {"store": kind, "tenders": count, "amended": args.amended}
            new_tree = args.new_tree.resolve() if args.new_tree is not None else None
            sides: list[tuple[str, Path | None]] = [("new", new_tree)]
            if args.base_tree is not None:
                sides.append(("base", args.base_tree.resolve()))
                if flip:
                    sides.reverse()
                flip = not flip
            for name, tree in sides:
                row[name] = run_one(tree, kind, count, args)
                print(f"{kind} N={count} {name}: {row[name]}", file=sys.stderr)
            if "base" in row:
                row["new_over_base"] = ratios(row["new"], row["base"])
            runs.append(row)
    result["runs"] = runs
    emit(result, args.json)


if __name__ == "__main__":
    main()
