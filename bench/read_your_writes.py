"""Read-your-writes over HTTP: from sending a command to the directory showing its effect.

For each of `--orgs` organisations (registered, applied and admitted through the Application,
so each awaits its first payment and is not yet listed; each with a CPV code no other
organisation shares), a staff client records the first year's dues with
POST /api/v1/organisations/{id}/dues/payments (the payment makes it a member in good standing,
listed in the directory), then at once
GET /api/v1/directory?cpv=<its code>&per_page=1&position=<the command's position>, again until
the answer says consistent=true and lists the organisation. Measured: command -> visible.

Served by `tradehall serve` with the in-process projector (the default), on PostgreSQL and on
the embedded SQLite store. One client, one command at a time. Run:
`.venv/bin/python -m bench.read_your_writes --help`.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from bench._common import (
    BENCH_PASSWORD,
    BENCH_TURNOVER,
    HttpConnection,
    Member,
    ServedApp,
    admin_url_default,
    bench_database,
    create_staff,
    emit,
    fetch_token,
    leaf_cpv_codes,
    machine,
    ms,
    percentile,
    register_members,
    run_async,
    run_migrate,
    server_env,
)
from membership.application import MembershipApp
from membership.dues import band_for, default_bands
from tradehall.identity.users import Passwords
from tradehall.store.base import Store
from tradehall.store.postgres import PostgresStore
from tradehall.store.sqlite import SQLiteStore

GIVE_UP_SECONDS = 5.0
# The first year's dues of the band BENCH_TURNOVER falls in (the default schedule).
DUE = band_for(default_bands(), BENCH_TURNOVER).annual_due
PAYMENT_BODY = {
    "amount": {"amount_minor": DUE.minor, "currency": DUE.currency},
    "method": "bank_transfer",
    "reference": "bench",
}


def position_token(position: dict[str, int]) -> str:
    return ",".join(f"{log}:{at}" for log, at in sorted(position.items()))


async def wait_until_projected(connection: HttpConnection, head: int) -> None:
    """The projector's start-up catch-up, awaited through read-your-writes itself."""
    while True:
        reply = await connection.request(
            "GET", f"/api/v1/directory?per_page=1&position=membership:{head}"
        )
        if reply.status == 200 and reply.json()["consistent"]:
            return


def cpu_seconds(pid: int) -> float:
    """User + system CPU of process `pid` so far, every thread (from /proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def measure(
    port: int, staff_email: str, members: list[Member], warmup: int, head: int, server_pid: int
) -> dict[str, Any]:
    connection = HttpConnection("127.0.0.1", port)
    await connection.connect()
    try:
        await wait_until_projected(connection, head)
        token = await fetch_token(connection, staff_email, BENCH_PASSWORD)
        visible: list[float] = []
        commands: list[float] = []
        first_reads: list[float] = []
        reads_needed: list[int] = []
        first_consistent = 0
        first_visible = 0
        failures = 0
        cpu_from = 0.0
        for index, member in enumerate(members):
            if index == warmup:
                cpu_from = cpu_seconds(server_pid)
            sent = time.perf_counter()
            reply = await connection.request(
                "POST",
                f"/api/v1/organisations/{member.organisation_id}/dues/payments",
                token=token,
                body=PAYMENT_BODY,
            )
            answered = time.perf_counter()
            if reply.status != 201:
                raise RuntimeError(f"payment failed: {reply.status} {reply.body[:300]!r}")
            path = (
                f"/api/v1/directory?cpv={member.cpv_code}&per_page=1"
                f"&position={position_token(reply.json()['position'])}"
            )
            reads = 0
            seen = False
            first_read_at = 0.0
            first_consistent_read = False
            while time.perf_counter() - sent < GIVE_UP_SECONDS:
                read = await connection.request("GET", path)
                reads += 1
                body = read.json()
                seen = bool(body["consistent"]) and any(
                    item["id"] == str(member.organisation_id) for item in body["items"]
                )
                if reads == 1:
                    first_read_at = time.perf_counter() - answered
                    first_consistent_read = bool(body["consistent"])
                    first_visible_read = seen
                if seen:
                    break
            done = time.perf_counter()
            if index < warmup:
                continue
            if not seen:
                failures += 1
                continue
            visible.append(done - sent)
            commands.append(answered - sent)
            first_reads.append(first_read_at)
            reads_needed.append(reads)
            first_consistent += first_consistent_read
            first_visible += first_visible_read
        server_cpu = cpu_seconds(server_pid) - cpu_from
        # The same reads with nothing to wait for: what the read costs without the projector.
        plain: list[float] = []
        for member in members[warmup:]:
            begun = time.perf_counter()
            await connection.request("GET", f"/api/v1/directory?cpv={member.cpv_code}&per_page=1")
            plain.append(time.perf_counter() - begun)
        measured = len(members) - warmup
        return {
            "commands_measured": measured,
            "not_visible_within_s": {str(GIVE_UP_SECONDS): failures},
            "command_to_visible_ms": {
                "p50": ms(percentile(visible, 0.50)),
                "p95": ms(percentile(visible, 0.95)),
                "p99": ms(percentile(visible, 0.99)),
                "max": ms(max(visible)) if visible else None,
            },
            "command_ms": {
                "p50": ms(percentile(commands, 0.50)),
                "p95": ms(percentile(commands, 0.95)),
            },
            "first_read_ms": {
                "p50": ms(percentile(first_reads, 0.50)),
                "p95": ms(percentile(first_reads, 0.95)),
            },
            "read_without_position_ms": {
                "p50": ms(percentile(plain, 0.50)),
                "p95": ms(percentile(plain, 0.95)),
            },
            # The server's CPU (API, projector, every thread) per measured payment and its
            # reads: less sensitive to a busy machine than the times.
            "server_cpu_ms_per_payment": round(1000 * server_cpu / measured, 2),
            "share_first_read_consistent": round(first_consistent / measured, 4),
            "share_first_read_shows_it": round(first_visible / measured, 4),
            "max_reads_needed": max(reads_needed) if reads_needed else None,
            "target_p95_ms": 20,
            "p95_met": bool(visible) and percentile(visible, 0.95) <= 0.020,
        }
    finally:
        await connection.close()


def run_store(kind: str, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    password_hash = Passwords().hash(BENCH_PASSWORD)
    count = args.orgs + args.warmup
    codes = leaf_cpv_codes(count)

    def measure_on(
        store: Store, env: dict[str, str], url: str | None, data_dir: Path | None
    ) -> dict[str, Any]:
        run_migrate(env)
        app = MembershipApp(env=store.application_env("membership", pool_size=2))
        try:
            members = register_members(
                app,
                count=count,
                password_hash=password_hash,
                label=kind,
                cpv_codes=codes,
                admit=True,
            )
            head = app.recorder.max_notification_id() or 0
        finally:
            app.close()
        staff = create_staff(url, data_dir, password_hash)
        with ServedApp(env, workdir / f"server-{kind}.log") as server:
            result: dict[str, Any] = run_async(
                measure(server.port, staff, members, args.warmup, head, server.pid)
            )
            result["server_rss_mib"] = round(server.rss_kib() / 1024, 1)
        return result

    if kind == "postgresql":
        with bench_database(args.admin_url, keep=args.keep_db) as url:
            env = server_env(database_url=url, data_dir=None, pool_size=args.pool_size, extra={})
            return measure_on(PostgresStore(url), env, url, None)
    data_dir = workdir / "sqlite-data"
    env = server_env(database_url=None, data_dir=data_dir, pool_size=args.pool_size, extra={})
    return measure_on(SQLiteStore(data_dir), env, None, data_dir)


def run(args: argparse.Namespace) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="tradehall-bench-ryw-"))
    result: dict[str, Any] = {
        "benchmark": "read_your_writes",
        "machine": machine(),
        "options": vars(args),
    }
    for kind in args.stores:
        result[kind] = run_store(kind, args, workdir)
        print(f"{kind}: {result[kind]['command_to_visible_ms']}", flush=True)
    result["server_logs"] = str(workdir)
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.read_your_writes",
        description="Command -> visible in the directory, over HTTP, on PostgreSQL and SQLite.",
    )
    parser.add_argument("--orgs", type=int, default=500, help="measured payments (500)")
    parser.add_argument("--warmup", type=int, default=20, help="payments not measured (20)")
    parser.add_argument(
        "--stores",
        nargs="+",
        choices=["postgresql", "sqlite"],
        default=["postgresql", "sqlite"],
        help="which stores (both)",
    )
    parser.add_argument(
        "--pool-size", type=int, default=8, help="TRADEHALL_DB_POOL_SIZE (8, the default)"
    )
    parser.add_argument("--admin-url", default=admin_url_default(), help="where to create the db")
    parser.add_argument("--keep-db", action="store_true", help="do not drop the database")
    parser.add_argument("--json", help="also write the result to this file")
    args = parser.parse_args(argv)
    emit(run(args), args.json)


if __name__ == "__main__":
    main()
