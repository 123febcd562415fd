"""How long a password-reset request takes for an address with an account and for one without.

Both paths should take the same time (the reset route runs the same statements either way; see
docs/adr/0014). This measures it in-process over the ASGI interface on an embedded (SQLite) or
PostgreSQL store, alternating the two kinds of request so drift affects both alike, and prints
the medians and 90th percentiles. Timing lives here, never in a test.

Run: `.venv/bin/python -m bench.reset_timing --requests 400 [--database-url postgresql://...]`.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import httpx
from argon2 import PasswordHasher

from bench._common import JWT_SECRET, percentile
from tradehall.api.app import create_app
from tradehall.identity.users import Passwords, Role, create_user, insert_user
from tradehall.settings import Settings
from tradehall.store.base import Store
from tradehall.store.postgres import PostgresStore
from tradehall.store.sqlite import SQLiteStore


async def measure(store: Store, data_dir: Path, requests: int) -> dict[str, list[float]]:
    settings = Settings(
        environment="embedded",
        database_url=None,
        data_dir=data_dir,
        jwt_secret=JWT_SECRET,
        jwt_lifetime_seconds=900,
        db_pool_size=8,
        max_body_bytes=65536,
        log_level="WARNING",
        run_projections=False,
        clock_interval_seconds=0,
        mail_interval_seconds=0,
    )
    # Every request goes to an address of its own: the per-address mail throttle never answers.
    settings = replace(settings, account_mail_free_per_address=10)
    passwords = Passwords(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    await asyncio.to_thread(store.prepare_for_serving)
    known = [f"bench-reset-{uuid.uuid4().hex[:12]}@example.org" for _ in range(requests)]
    engine = store.sync_engine()
    try:
        with engine.begin() as connection:
            for email in known:
                create_user(
                    connection,
                    insert_user(
                        user_id=uuid.uuid4(),
                        email=email,
                        password_hash=passwords.hash("bench password"),
                        organisation_id=None,
                        roles=frozenset({Role.MEMBER}),
                        now=datetime.now(UTC),
                    ),
                )
    finally:
        engine.dispose()
    app = create_app(settings, store=store, passwords=passwords)
    times: dict[str, list[float]] = {"known": [], "unknown": []}
    async with app.lifespan():
        transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            for index in range(requests):
                for kind in ("known", "unknown"):
                    email = (
                        known[index]
                        if kind == "known"
                        else f"bench-nobody-{uuid.uuid4().hex[:12]}@example.org"
                    )
                    started = time.perf_counter()
                    response = await client.post(
                        "/api/v1/auth/password-reset", json={"email": email}
                    )
                    times[kind].append((time.perf_counter() - started) * 1000)
                    assert response.status_code == 202, response.text
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--database-url", default=None, help="PostgreSQL (migrated); else SQLite")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        data_dir = Path(directory) / "data"
        store: Store = (
            PostgresStore(args.database_url) if args.database_url else SQLiteStore(data_dir)
        )
        times = asyncio.run(measure(store, data_dir, args.requests))
    print(f"store: {store.name}, {args.requests} requests of each kind (ms)")
    for kind, values in times.items():
        warm = values[len(values) // 10 :]  # leave out the first tenth (warm-up)
        print(f"  {kind:8} median {percentile(warm, 0.5):6.2f}  p90 {percentile(warm, 0.9):6.2f}")


if __name__ == "__main__":
    main()
