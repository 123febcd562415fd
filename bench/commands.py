"""Commands over HTTP on PostgreSQL at 16 concurrent clients, against two same-run baselines.

Each round runs three phases one after another, each for `--duration` seconds:

1. direct: the same commands through `MembershipApp` in `--clients` threads (no server running);
2. http: `tradehall serve` (in-process projector, the default; `--workers N` processes) with
   `--clients` keep-alive connections, each alternating apply / withdraw on its own organisation;
3. pgbench: `--clients` clients each running BEGIN; LOCK TABLE ... IN EXCLUSIVE MODE; INSERT one
   event-sized row; NOTIFY; COMMIT: the ordering the event log needs, and nothing else.

Every phase uses organisations of its own, registered through the Application (the user row as a
side write, one argon2 hash computed once and reused), so each starts from the same aggregate
length. The direct phase's Application is opened for it and closed after it (registration uses a
small one), so the served app and pgbench do not share PostgreSQL's connections with its pool.
The server's connections to the database are counted by `application_name` at rest and after
the load (ADR 38). Run: `.venv/bin/python -m bench.commands --help`.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import subprocess
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from bench._common import (
    APPLICATION_BODY,
    BENCH_PASSWORD,
    BENCH_TURNOVER,
    LISTENING_LINE,
    STARTUP_LINE,
    HttpConnection,
    Member,
    ServedApp,
    admin_url_default,
    bench_database,
    emit,
    fetch_token,
    machine,
    ms,
    percentile,
    postgres_settings,
    register_members,
    run_async,
    run_migrate,
    server_env,
    tradehall_command,
    wait_for_projections,
)
from membership.application import MembershipApp
from sharedkernel.events import Context, user_actor
from tradehall.identity.users import Passwords
from tradehall.store.postgres import PostgresStore

PGBENCH_TABLE = "bench_event_log"


class ServedWorkers(ServedApp):
    """`tradehall serve` with `workers` processes (TRADEHALL_WORKERS in its environment).

    With several, uvicorn's parent says it is listening before its workers start: ready once
    it has said so and each worker has said its start-up is complete.
    """

    def __init__(self, env: dict[str, str], log_path: Path, workers: int) -> None:
        super().__init__(env, log_path)
        self.workers = workers

    def __enter__(self) -> ServedWorkers:
        if self.workers == 1:
            super().__enter__()
            return self
        self.process = subprocess.Popen(
            [*tradehall_command(), "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        assert self.process.stdout is not None
        log = self.log_path.open("wb")
        seen: list[bytes] = []
        listening, started = False, 0
        for line in self.process.stdout:  # blocks on each line: no sleeping
            log.write(line)
            seen.append(line)
            listening = listening or LISTENING_LINE in line
            started += STARTUP_LINE in line
            if listening and started >= self.workers:
                break
        else:
            log.close()
            self.process.wait()
            tail = b"".join(seen[-30:]).decode(errors="replace")
            raise RuntimeError(f"tradehall serve exited before start-up completed:\n{tail}")
        stdout = self.process.stdout

        def drain() -> None:
            with log:
                shutil.copyfileobj(stdout, log)

        self._drain = threading.Thread(target=drain, name="server-log", daemon=True)
        self._drain.start()
        return self

    def rss_kib(self) -> int:
        """VmRSS of the server and its worker processes."""
        total, pending = 0, [self.pid]
        while pending:
            pid = pending.pop()
            status = Path(f"/proc/{pid}/status")
            children = Path(f"/proc/{pid}/task/{pid}/children")
            if not status.exists():
                continue
            match = re.search(r"^VmRSS:\s+(\d+)\s+kB", status.read_text(), re.MULTILINE)
            total += int(match.group(1)) if match else 0
            if children.exists():
                pending.extend(int(child) for child in children.read_text().split())
        return total


def server_connections(url: str) -> dict[str, int]:
    """The served app's connections to the database, by `application_name` (ADR 38)."""
    with psycopg.connect(url, autocommit=True) as connection:
        rows = connection.execute(
            "SELECT application_name, count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND application_name LIKE 'tradehall-%%' "
            "GROUP BY application_name ORDER BY application_name"
        ).fetchall()
    return {name: count for name, count in rows}


def summarise(
    samples: list[tuple[float, float]], started: float, finished: float, errors: int
) -> dict[str, Any]:
    """Figures from (finished_at, latency) pairs; quarters show the aggregates' growing cost."""
    elapsed = finished - started
    latencies = [latency for _, latency in samples]
    quarter = elapsed / 4

    def rate(low: float, high: float) -> float:
        done = sum(1 for at, _ in samples if low <= at - started < high)
        return round(done / quarter, 1) if quarter > 0 else 0.0

    return {
        "commands": len(samples),
        "errors": errors,
        "seconds": round(elapsed, 2),
        "commands_per_s": round(len(samples) / elapsed, 1) if elapsed > 0 else 0.0,
        "first_quarter_per_s": rate(0, quarter),
        "last_quarter_per_s": rate(3 * quarter, elapsed + 1),
        "p50_ms": ms(percentile(latencies, 0.50)),
        "p99_ms": ms(percentile(latencies, 0.99)),
    }


def aggregate_lengths(url: str, members: list[Member]) -> float:
    """The mean number of events per organisation at the end of a phase (replay cost grows)."""
    with psycopg.connect(url) as connection:
        row = connection.execute(
            "SELECT avg(n) FROM (SELECT count(*) AS n FROM events.membership_events "
            "WHERE originator_id = ANY(%s) GROUP BY originator_id) AS per_org",
            ([m.organisation_id for m in members],),
        ).fetchone()
    return round(float(row[0]), 1) if row and row[0] is not None else 0.0


# --- baseline (a): the Application in threads ---------------------------------------------------


def direct_phase(app: MembershipApp, members: list[Member], duration: float) -> dict[str, Any]:
    latencies: list[list[tuple[float, float]]] = [[] for _ in members]
    errors: dict[str, int] = {}
    start_gate = threading.Barrier(len(members) + 1)
    deadline = 0.0

    def client(index: int, member: Member) -> None:
        actor = user_actor(member.user_id)
        mine = latencies[index]
        start_gate.wait()
        applying = True
        while True:
            begun = time.perf_counter()
            if begun >= deadline:
                return
            context = Context(actor, uuid.uuid4().hex, datetime.now(UTC))
            try:
                if applying:
                    app.apply_for_membership(context, member.organisation_id, BENCH_TURNOVER)
                else:
                    app.withdraw_application(context, member.organisation_id)
            except Exception as error:
                name = type(error).__name__
                errors[name] = errors.get(name, 0) + 1
            ended = time.perf_counter()
            mine.append((ended, ended - begun))
            applying = not applying

    threads = [
        threading.Thread(target=client, args=(i, m), name=f"direct-{i}")
        for i, m in enumerate(members)
    ]
    for thread in threads:
        thread.start()
    started = time.perf_counter()
    deadline = started + duration
    start_gate.wait()
    for thread in threads:
        thread.join()
    finished = time.perf_counter()
    result = summarise([x for xs in latencies for x in xs], started, finished, sum(errors.values()))
    result["error_types"] = errors
    return result


# --- the measured loop: HTTP ---------------------------------------------------------------------


async def http_phase(
    port: int, members: list[Member], tokens: list[str], duration: float
) -> dict[str, Any]:
    connections = [HttpConnection("127.0.0.1", port) for _ in members]
    for connection in connections:
        await connection.connect()
    latencies: list[tuple[float, float]] = []
    statuses: dict[int, int] = {}
    started = time.perf_counter()
    deadline = started + duration

    async def client(connection: HttpConnection, member: Member, token: str) -> None:
        base = f"/api/v1/organisations/{member.organisation_id}/membership/application"
        requests = ((base, APPLICATION_BODY), (base + "/withdrawal", None))
        turn = 0
        while True:
            begun = time.perf_counter()
            if begun >= deadline:
                return
            path, body = requests[turn]
            reply = await connection.request("POST", path, token=token, body=body)
            ended = time.perf_counter()
            latencies.append((ended, ended - begun))
            statuses[reply.status] = statuses.get(reply.status, 0) + 1
            turn ^= 1

    await asyncio.gather(
        *(client(c, m, t) for c, m, t in zip(connections, members, tokens, strict=True))
    )
    finished = time.perf_counter()
    for connection in connections:
        await connection.close()
    errors = sum(n for status, n in statuses.items() if status != 200)
    result = summarise(latencies, started, finished, errors)
    result["statuses"] = {str(k): v for k, v in sorted(statuses.items())}
    return result


async def sign_in(port: int, members: list[Member]) -> list[str]:
    connection = HttpConnection("127.0.0.1", port)
    try:
        return [await fetch_token(connection, m.email, BENCH_PASSWORD) for m in members]
    finally:
        await connection.close()


# --- baseline (b): pgbench -----------------------------------------------------------------------


def event_payload_bytes(url: str) -> int:
    """The mean size of the apply / withdraw events' stored state."""
    with psycopg.connect(url) as connection:
        row = connection.execute(
            "SELECT avg(octet_length(state)) FROM events.membership_events "
            "WHERE topic LIKE %s OR topic LIKE %s",
            ("%MembershipApplied", "%MembershipApplicationWithdrawn"),
        ).fetchone()
    return round(float(row[0])) if row and row[0] is not None else 300


def prepare_pgbench(url: str, payload_bytes: int, directory: Path) -> Path:
    with psycopg.connect(url, autocommit=True) as connection:
        # Shaped like the library's event table: the same keys and a bigserial position.
        connection.execute(f"DROP TABLE IF EXISTS {PGBENCH_TABLE}")
        connection.execute(
            f"CREATE TABLE {PGBENCH_TABLE} ("
            "originator_id uuid NOT NULL, originator_version bigint NOT NULL, topic text, "
            "state bytea, notification_id bigserial, "
            "PRIMARY KEY (originator_id, originator_version))"
        )
        connection.execute(
            f"CREATE UNIQUE INDEX {PGBENCH_TABLE}_notification_id ON {PGBENCH_TABLE} "
            "(notification_id ASC)"
        )
    script = directory / "event_insert.sql"
    script.write_text(
        "\\set version random(1, 1000000)\n"
        "BEGIN;\n"
        f"LOCK TABLE {PGBENCH_TABLE} IN EXCLUSIVE MODE;\n"
        f"INSERT INTO {PGBENCH_TABLE} (originator_id, originator_version, topic, state) "
        "VALUES (gen_random_uuid(), :version, "
        # Same length as the real topic; pgbench would read ":Organisation" as a variable.
        "'membership.domain.Organisation.MembershipApplied', "
        f"convert_to(repeat('x', {payload_bytes}), 'UTF8'));\n"
        f"NOTIFY {PGBENCH_TABLE};\n"
        "COMMIT;\n"
    )
    return script


def pgbench_phase(url: str, script: Path, clients: int, duration: float) -> dict[str, Any]:
    from sqlalchemy import make_url

    parsed = make_url(url)
    command = [
        "pgbench",
        "--no-vacuum",
        "--client",
        str(clients),
        "--jobs",
        "2",
        "--time",
        str(max(1, round(duration))),
        "--protocol",
        "prepared",
        "--file",
        str(script),
        "--host",
        parsed.host or "127.0.0.1",
        "--port",
        str(parsed.port or 5432),
        "--username",
        parsed.username or "root",
        parsed.database or "",
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0 or "aborted" in done.stderr:
        raise RuntimeError(f"pgbench failed:\n{done.stdout}\n{done.stderr}")
    tps = re.search(r"tps = ([\d.]+) \(without initial connection time\)", done.stdout)
    latency = re.search(r"latency average = ([\d.]+) ms", done.stdout)
    if tps is None:
        raise RuntimeError(f"could not read pgbench's tps:\n{done.stdout}\n{done.stderr}")
    return {
        "commands_per_s": round(float(tps.group(1)), 1),
        "latency_avg_ms": float(latency.group(1)) if latency else None,
        "command": " ".join(command),
    }


# --- the run -------------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> dict[str, Any]:
    result: dict[str, Any] = {
        "benchmark": "commands",
        "machine": machine(),
        "options": vars(args),
        "rounds": [],
    }
    password_hash = Passwords().hash(BENCH_PASSWORD)  # once: argon2 is not what we measure
    workdir = Path(tempfile.mkdtemp(prefix="tradehall-bench-"))
    with bench_database(args.admin_url, keep=args.keep_db) as url:
        result["postgres"] = postgres_settings(url)
        extra = {"TRADEHALL_RUN_PROJECTIONS": "true" if args.projector else "false"}
        if args.workers > 1:
            extra["TRADEHALL_WORKERS"] = str(args.workers)
        app_extra: dict[str, str] = {}
        if args.aggregate_cache:
            # Not the service's configuration: an experiment. The library merges os.environ
            # into an Application's settings, so the server's MembershipApp picks this up.
            app_extra["MEMBERSHIP_AGGREGATE_CACHE_MAXSIZE"] = str(args.aggregate_cache)
            extra.update(app_extra)
        env = server_env(database_url=url, data_dir=None, pool_size=args.pool_size, extra=extra)
        run_migrate(env)
        store = PostgresStore(url)
        # Registers each phase's organisations; the direct phase has an Application of its own.
        app = MembershipApp(env=store.application_env("membership", pool_size=2) | app_extra)
        try:
            for number in range(1, args.rounds + 1):
                phases: dict[str, Any] = {}
                direct_members = register_members(
                    app, count=args.clients, password_hash=password_hash, label=f"direct{number}"
                )
                direct_app = MembershipApp(
                    env=store.application_env("membership", pool_size=args.clients) | app_extra
                )
                try:
                    phases["direct"] = direct_phase(direct_app, direct_members, args.duration)
                finally:
                    direct_app.close()
                phases["direct"]["events_per_org_after"] = aggregate_lengths(url, direct_members)

                if args.direct_db_functions:
                    # An experiment beside baseline (a): the library's insert function, which
                    # takes the table lock inside one statement (the service turns it off).
                    fn_members = register_members(
                        app, count=args.clients, password_hash=password_hash, label=f"fn{number}"
                    )
                    fn_env = {
                        key: ("y" if key.endswith("POSTGRES_ENABLE_DB_FUNCTIONS") else value)
                        for key, value in store.application_env(
                            "membership", pool_size=args.clients
                        ).items()
                    }
                    fn_app = MembershipApp(env=fn_env | app_extra)
                    try:
                        phases["direct_db_functions"] = direct_phase(
                            fn_app, fn_members, args.duration
                        )
                    finally:
                        fn_app.close()

                http_members = register_members(
                    app, count=args.clients, password_hash=password_hash, label=f"http{number}"
                )
                served = ServedWorkers(env, workdir / f"server-{number}.log", args.workers)
                with served as server:
                    if args.projector:
                        wait_for_projections(url)  # the direct phase's events, before we start
                    at_rest = server_connections(url)
                    tokens = run_async(sign_in(server.port, http_members))
                    phases["http"] = run_async(
                        http_phase(server.port, http_members, tokens, args.duration)
                    )
                    if args.projector:
                        caught_up = time.perf_counter()
                        wait_for_projections(url)
                        phases["http"]["projector_drain_after_s"] = round(
                            time.perf_counter() - caught_up, 3
                        )
                    phases["http"]["server_rss_mib"] = round(server.rss_kib() / 1024, 1)
                    phases["http"]["server_pid"] = server.pid
                    phases["http"]["workers"] = args.workers
                    phases["http"]["connections_at_rest"] = at_rest
                    phases["http"]["connections_after_load"] = server_connections(url)
                phases["http"]["events_per_org_after"] = aggregate_lengths(url, http_members)

                payload = event_payload_bytes(url)
                script = prepare_pgbench(url, payload, workdir)
                phases["pgbench"] = pgbench_phase(url, script, args.clients, args.duration)
                phases["pgbench"]["payload_bytes"] = payload
                http_rate = phases["http"]["commands_per_s"]
                phases["ratios"] = {
                    "http_over_direct": round(http_rate / phases["direct"]["commands_per_s"], 3),
                    "http_over_pgbench": round(http_rate / phases["pgbench"]["commands_per_s"], 3),
                    "direct_over_pgbench": round(
                        phases["direct"]["commands_per_s"] / phases["pgbench"]["commands_per_s"], 3
                    ),
                }
                result["rounds"].append(phases)
                print(f"round {number}: {phases['ratios']}", flush=True)
        finally:
            app.close()
    result["server_logs"] = str(workdir)
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.commands",
        description="Commands over HTTP on PostgreSQL vs the Application directly vs pgbench.",
    )
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients (16)")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per phase (20)")
    parser.add_argument("--rounds", type=int, default=2, help="direct/http/pgbench rounds (2)")
    parser.add_argument(
        "--pool-size", type=int, default=16, help="TRADEHALL_DB_POOL_SIZE of the server (16)"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="API processes of the server (`tradehall serve --workers`, via TRADEHALL_WORKERS; 1)",
    )
    parser.add_argument(
        "--no-projector",
        dest="projector",
        action="store_false",
        help="serve with TRADEHALL_RUN_PROJECTIONS=false (default: the in-process projector)",
    )
    parser.add_argument(
        "--aggregate-cache",
        type=int,
        default=0,
        metavar="N",
        help="experiment: MEMBERSHIP_AGGREGATE_CACHE_MAXSIZE=N for the server and the direct "
        "baseline (default 0: off, as the service is configured)",
    )
    parser.add_argument(
        "--direct-db-functions",
        action="store_true",
        help="experiment: also run the direct phase with POSTGRES_ENABLE_DB_FUNCTIONS=y",
    )
    parser.add_argument("--admin-url", default=admin_url_default(), help="where to create the db")
    parser.add_argument("--keep-db", action="store_true", help="do not drop the database")
    parser.add_argument("--json", help="also write the result to this file")
    args = parser.parse_args(argv)
    emit(run(args), args.json)


if __name__ == "__main__":
    main()
