"""The embedded SQLite store in one process, no HTTP (issue 19): commands/s through
MembershipApp beside plain sqlite3, in the same run.

The store is `SQLiteStore` in a fresh temporary directory, migrated; the Application is built
as the service builds it (`store.application_env("membership")`: the service's recorder, with
its side writes, and its aggregate cache). For each thread count (`--threads`, 1 4 16) that many
organisations are registered (a member user each, written beside the event), then
bench/commands.py's direct phase runs for `--duration` seconds: one thread per organisation,
each alternately applying for membership and withdrawing the application.

Baseline, same run, right after each phase: plain `sqlite3` in the same directory, one
event-sized row (the mean stored size of the phase's apply and withdraw events) inserted per
transaction (`BEGIN IMMEDIATE`, `INSERT`, `COMMIT`) into a table shaped like the library's
event table, by as many threads, each with its own connection, taking turns on a lock of the
process (as the library's pool makes writers do), in the journal mode and
`synchronous` setting read from the store's own connection (the library sets WAL; neither it nor
the service sets `synchronous`, so SQLite's default applies). Also once at one thread with
`synchronous = OFF`: the same rows without the fsync at each commit, to show what the fsync
costs.

What limits it, measured: this process's CPU seconds per command and CPU/wall (one core busy is
1.0: the GIL lets Python code run on one core at a time, while sqlite3 releases it inside
SQLite, fsync included), the baseline's rate with and without fsync, and with `--profile N`, N
commands in this thread under cProfile: the share of the time in `sqlite3` commits and the
functions taking the most time of their own.

Run: `.venv/bin/python -m bench.embedded --help`; a small run while developing:
`.venv/bin/python -m bench.embedded --duration 3 --threads 1 4`. Against another tree:
`PYTHONPATH=/tmp/th-before/src:$PWD` from a tree holding this bench.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import shutil
import sqlite3
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench._common import (
    BENCH_PASSWORD,
    BENCH_TURNOVER,
    Member,
    emit,
    machine,
    ms,
    percentile,
    register_members,
)
from bench.commands import direct_phase
from bench.sealed_bids import source
from membership.application import MembershipApp
from sharedkernel.events import Context, user_actor
from tradehall.identity.users import Passwords
from tradehall.store.sqlite import SQLiteStore

SYNCHRONOUS = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}
TOPIC = "membership.domain:Organisation.MembershipApplied"
TARGET = 1_500.0


# --- the store's settings and its events ----------------------------------------------------


def store_pragmas(app: MembershipApp, main_file: Path) -> dict[str, Any]:
    """journal_mode and synchronous as the Application's own connection has them (falling back
    to a new connection to the store's file)."""
    datastore = getattr(app.recorder, "datastore", None)
    if datastore is not None and hasattr(datastore, "get_connection"):
        with datastore.get_connection(commit=False) as connection:
            cursor = connection.cursor()
            cursor.execute("PRAGMA journal_mode")
            journal = str(cursor.fetchone()[0])
            cursor.execute("PRAGMA synchronous")
            synchronous = int(cursor.fetchone()[0])
            source_of = "the Application's connection"
    else:
        with sqlite3.connect(main_file) as connection:
            journal = str(connection.execute("PRAGMA journal_mode").fetchone()[0])
            synchronous = int(connection.execute("PRAGMA synchronous").fetchone()[0])
        source_of = "a new connection to the store's file"
    return {
        "journal_mode": journal.lower(),
        "synchronous": synchronous,
        "synchronous_name": SYNCHRONOUS.get(synchronous, str(synchronous)),
        "read_from": source_of,
    }


def event_table(main_file: Path) -> str:
    """The membership log's table in the main file (the library calls it stored_events)."""
    with sqlite3.connect(main_file) as connection:
        names = {
            row[0]
            for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
    return "stored_events" if "stored_events" in names else "membership_events"


def phase_events(main_file: Path, members: Sequence[Member]) -> tuple[int, float]:
    """The mean stored size of the phase's apply and withdraw events, and the mean number of
    events per organisation after it (each command replays a longer history)."""
    table = event_table(main_file)
    ids = [m.organisation_id.hex for m in members]
    marks = ",".join("?" * len(ids))
    with sqlite3.connect(main_file) as connection:
        size = connection.execute(
            f"SELECT avg(length(state)) FROM {table} WHERE originator_id IN ({marks}) "
            "AND (topic LIKE '%MembershipApplied' OR topic LIKE '%ApplicationWithdrawn')",
            ids,
        ).fetchone()[0]
        per_org = connection.execute(
            f"SELECT avg(n) FROM (SELECT count(*) AS n FROM {table} "
            f"WHERE originator_id IN ({marks}) GROUP BY originator_id)",
            ids,
        ).fetchone()[0]
    return round(float(size or 300)), round(float(per_org or 0), 1)


# --- the measured phase: MembershipApp ----------------------------------------------------


def group_figures(app: MembershipApp) -> tuple[int, int, int] | None:
    """The recorder's group commit figures (batches, saves, largest batch), where it has them
    (ADR 36; an older tree's recorder commits each save alone)."""
    figures = getattr(getattr(app.recorder, "group", None), "figures", None)
    if figures is None:
        return None
    return int(figures.batches), int(figures.saves), int(figures.largest)


def app_phase(
    app: MembershipApp, members: list[Member], duration: float, main_file: Path
) -> dict[str, Any]:
    """bench/commands.py's direct phase, with this process's CPU time around it, and how many
    saves each commit carried (where the recorder groups them)."""
    groups_before = group_figures(app)
    cpu_begun, wall_begun = time.process_time(), time.perf_counter()
    result = direct_phase(app, members, duration)
    cpu = time.process_time() - cpu_begun
    wall = time.perf_counter() - wall_begun
    groups_after = group_figures(app)
    if groups_before is not None and groups_after is not None:
        batches = groups_after[0] - groups_before[0]
        saves = groups_after[1] - groups_before[1]
        result["group_commit"] = {
            "commits": batches,
            "saves": saves,
            "saves_per_commit": round(saves / batches, 2) if batches else None,
            "largest_batch_so_far": groups_after[2],
        }
    payload, per_org = phase_events(main_file, members)
    result |= {
        "cpu_seconds": round(cpu, 2),
        "cpu_ms_per_command": ms(cpu / result["commands"]) if result["commands"] else None,
        "cpu_over_wall": round(cpu / wall, 2) if wall > 0 else None,
        "payload_bytes": payload,
        "events_per_org_after": per_org,
    }
    return result


# --- the baseline: plain sqlite3 ------------------------------------------------------------


def prepare_baseline(path: Path, journal_mode: str) -> None:
    """A table shaped like the library's SQLite event table (a rowid table keyed by originator
    and version), in the store's journal mode."""
    path.unlink(missing_ok=True)
    with sqlite3.connect(path) as connection:
        connection.execute(f"PRAGMA journal_mode={journal_mode}")
        connection.execute(
            "CREATE TABLE stored_events (originator_id TEXT, originator_version INTEGER, "
            "topic TEXT, state BLOB, PRIMARY KEY (originator_id, originator_version))"
        )
    connection.close()


def baseline_phase(
    path: Path, threads: int, duration: float, payload_bytes: int, synchronous: int
) -> dict[str, Any]:
    """`threads` threads, each with its own connection, one row per transaction, writers
    taking turns on a lock of this process as the library's connection pool makes them (left to
    SQLite's busy handler, writers sleep 1-100 ms between tries and the rate falls with threads,
    which would flatter the Application)."""
    state = b"x" * payload_bytes
    latencies: list[list[float]] = [[] for _ in range(threads)]
    errors: list[str] = []
    gate = threading.Barrier(threads + 1)
    writing = threading.Lock()
    deadline = 0.0

    def writer(index: int) -> None:
        connection = sqlite3.connect(path, isolation_level=None, timeout=10)
        connection.execute(f"PRAGMA synchronous={synchronous}")
        mine = latencies[index]
        originator = uuid.uuid4().hex
        version = 0
        gate.wait()
        try:
            while True:
                begun = time.perf_counter()
                if begun >= deadline:
                    return
                version += 1
                try:
                    with writing:
                        connection.execute("BEGIN IMMEDIATE")
                        connection.execute(
                            "INSERT INTO stored_events VALUES (?,?,?,?)",
                            (originator, version, TOPIC, state),
                        )
                        connection.execute("COMMIT")
                except sqlite3.Error as error:
                    errors.append(f"{type(error).__name__}: {error}")
                    if connection.in_transaction:
                        connection.execute("ROLLBACK")
                    continue
                mine.append(time.perf_counter() - begun)
        finally:
            connection.close()

    workers = [threading.Thread(target=writer, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    cpu_begun = time.process_time()
    started = time.perf_counter()
    deadline = started + duration
    gate.wait()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_begun
    every = [x for xs in latencies for x in xs]
    return {
        "threads": threads,
        "synchronous": SYNCHRONOUS.get(synchronous, str(synchronous)),
        "commits": len(every),
        "errors": len(errors),
        "error_types": sorted(set(errors)),
        "seconds": round(elapsed, 2),
        "commits_per_s": round(len(every) / elapsed, 1) if elapsed > 0 else None,
        "p50_ms": ms(percentile(every, 0.50)),
        "p99_ms": ms(percentile(every, 0.99)),
        "cpu_ms_per_commit": ms(cpu / len(every)) if every else None,
        "cpu_over_wall": round(cpu / elapsed, 2) if elapsed > 0 else None,
        "payload_bytes": payload_bytes,
    }


# --- where one thread's time goes ---------------------------------------------------------------


def profile(app: MembershipApp, member: Member, count: int, top: int = 15) -> dict[str, Any]:
    """`count` commands (apply, withdraw, ...) in this thread under cProfile."""
    actor = user_actor(member.user_id)
    profiler = cProfile.Profile()
    wall_begun = time.perf_counter()
    profiler.enable()
    for i in range(count):
        context = Context(actor, uuid.uuid4().hex, datetime.now(UTC))
        if i % 2 == 0:
            app.apply_for_membership(context, member.organisation_id, BENCH_TURNOVER)
        else:
            app.withdraw_application(context, member.organisation_id)
    profiler.disable()
    wall = time.perf_counter() - wall_begun
    stats = pstats.Stats(profiler)
    total = stats.total_tt  # type: ignore[attr-defined]
    rows = stats.stats  # type: ignore[attr-defined]

    def seconds_in(predicate: Any) -> float:
        return float(sum(row[2] for key, row in rows.items() if predicate(key)))

    commit = seconds_in(lambda key: key[2] == "<method 'commit' of 'sqlite3.Connection' objects>")
    execute = seconds_in(
        lambda key: (
            (key[2].startswith("<method 'execute") and "sqlite3" in key[2])
            or key[2] == "<method 'executemany' of 'sqlite3.Cursor' objects>"
        )
    )
    ranked = sorted(rows.items(), key=lambda item: item[1][2], reverse=True)[:top]
    return {
        "commands": count,
        "wall_ms_per_command_profiled": ms(wall / count),
        "profiled_seconds": round(total, 3),
        "share_in_sqlite3_commit": round(commit / total, 3) if total else None,
        "share_in_sqlite3_execute": round(execute / total, 3) if total else None,
        "top_own_time": [
            {
                "function": f"{Path(key[0]).name}:{key[1]}({key[2]})",
                "calls": row[1],
                "own_ms_per_command": ms(row[2] / count),
            }
            for key, row in ranked
        ],
    }


# --- the run ------------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> dict[str, Any]:
    result: dict[str, Any] = {
        "benchmark": "embedded",
        "machine": machine(),
        "source": source(),
        "options": vars(args),
        "sqlite_version": sqlite3.sqlite_version,
        "phases": [],
    }
    password_hash = Passwords().hash(BENCH_PASSWORD)
    directory = Path(tempfile.mkdtemp(prefix="tradehall-bench-embedded-"))
    try:
        store = SQLiteStore(directory)
        store.migrate(event_logs=["membership"])
        app = MembershipApp(env=store.application_env("membership", pool_size=max(args.threads)))
        try:
            pragmas = store_pragmas(app, store.main_file)
            result["store"] = pragmas | {"file": store.main_file.name}
            baseline = directory / "baseline.sqlite3"
            for number in range(1, args.rounds + 1):
                for threads in args.threads:
                    members = register_members(
                        app,
                        count=threads,
                        password_hash=password_hash,
                        label=f"embedded{number}-{threads}",
                    )
                    measured = app_phase(app, members, args.duration, store.main_file)
                    prepare_baseline(baseline, pragmas["journal_mode"])
                    plain = baseline_phase(
                        baseline,
                        threads,
                        args.duration,
                        measured["payload_bytes"],
                        pragmas["synchronous"],
                    )
                    phase = {
                        "round": number,
                        "threads": threads,
                        "membership_app": measured,
                        "plain_sqlite3": plain,
                        "app_over_plain": round(
                            measured["commands_per_s"] / plain["commits_per_s"], 3
                        )
                        if plain["commits_per_s"]
                        else None,
                        "meets_1500": measured["commands_per_s"] >= TARGET,
                    }
                    result["phases"].append(phase)
                    print(
                        f"round {number}, {threads} threads: app "
                        f"{measured['commands_per_s']} cmd/s (cpu/wall "
                        f"{measured['cpu_over_wall']}), plain {plain['commits_per_s']} commits/s",
                        file=sys.stderr,
                        flush=True,
                    )
            prepare_baseline(baseline, pragmas["journal_mode"])
            payload = result["phases"][-1]["membership_app"]["payload_bytes"]
            result["plain_sqlite3_without_fsync"] = baseline_phase(
                baseline, 1, args.duration, payload, 0
            )
            if args.profile:
                [member] = register_members(
                    app, count=1, password_hash=password_hash, label="embedded-profile"
                )
                result["profile_one_thread"] = profile(app, member, args.profile)
        finally:
            app.close()
    finally:
        if args.keep:
            print(f"kept {directory}", file=sys.stderr)
        else:
            shutil.rmtree(directory, ignore_errors=True)
    return result


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.embedded",
        description="The embedded SQLite store: MembershipApp commands/s in one process at "
        "1, 4 and 16 threads, beside plain sqlite3 one row a transaction, same run.",
    )
    parser.add_argument(
        "--threads", type=int, nargs="+", default=[1, 4, 16], help="thread counts (1 4 16)"
    )
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per phase (10)")
    parser.add_argument("--rounds", type=int, default=1, help="rounds over the thread counts (1)")
    parser.add_argument(
        "--profile",
        type=int,
        default=2000,
        metavar="N",
        help="profile N commands in one thread at the end (2000; 0 skips)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument("--json", help="also write the result to this file")
    args = parser.parse_args(argv)
    emit(run(args), args.json)


if __name__ == "__main__":
    main()
