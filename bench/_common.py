"""What the benchmarks share: a throwaway database, a served app, a lean HTTP client, members.

Nothing here is imported by the service or the tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
from sqlalchemy import make_url

from membership.application import MembershipApp
from membership.domain import RegistrationDetails
from sharedkernel.events import SYSTEM, Context, user_actor
from sharedkernel.money import Money
from tradehall.identity.users import Role, insert_user

DEFAULT_ADMIN_URL = "postgresql://root@127.0.0.1:5432/test"
BENCH_PASSWORD = "bench-password-not-secret"
JWT_SECRET = "bench-jwt-secret-" + "b" * 40
STARTUP_LINE = b"Application startup complete"
# uvicorn logs start-up complete after the lifespan and before it listens; this comes after.
LISTENING_LINE = b"Uvicorn running on"
# Every benchmark applicant declares £250,000 a year: the "small" dues band.
BENCH_TURNOVER = Money("GBP", 25_000_000)
APPLICATION_BODY = {
    "annual_turnover": {"amount_minor": BENCH_TURNOVER.minor, "currency": BENCH_TURNOVER.currency}
}


# --- figures -----------------------------------------------------------------------------------


def percentile(values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile (0 < fraction <= 1) of `values`; NaN when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(fraction * len(ordered) + 0.5)))
    return ordered[rank - 1]


def ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    import tradehall

    free = subprocess.run(["free", "-h"], capture_output=True, text=True, check=False).stdout
    return {
        "tradehall_source": str(Path(tradehall.__file__).parent),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "nproc": os.cpu_count(),
        "loadavg_at_start": os.getloadavg(),
        "python": platform.python_version(),
        "free_h": free.strip(),
    }


def emit(result: Mapping[str, Any], json_path: str | None) -> None:
    """Print the result as JSON and keep a copy where asked."""
    text = json.dumps(result, indent=2, default=str)
    print(text)
    if json_path:
        Path(json_path).write_text(text + "\n")


# --- PostgreSQL --------------------------------------------------------------------------------


def admin_url_default() -> str:
    return os.environ.get("TRADEHALL_BENCH_ADMIN_URL", DEFAULT_ADMIN_URL)


@contextlib.contextmanager
def bench_database(admin_url: str, *, keep: bool = False) -> Iterator[str]:
    """A fresh database `tradehall_bench_<random>`, dropped afterwards unless `keep`."""
    admin = make_url(admin_url).set(drivername="postgresql")
    name = f"tradehall_bench_{uuid.uuid4().hex[:10]}"
    admin_dsn = admin.render_as_string(hide_password=False)
    with psycopg.connect(admin_dsn, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        if keep:
            print(f"kept database {name}", file=sys.stderr)
        else:
            with psycopg.connect(admin_dsn, autocommit=True) as connection:
                connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def postgres_settings(url: str) -> dict[str, str]:
    """The server settings that bear on write figures."""
    names = (
        "fsync",
        "synchronous_commit",
        "shared_buffers",
        "max_connections",
        "autovacuum",
        "server_version",
    )
    with psycopg.connect(url, autocommit=True) as connection:
        return {n: str(connection.execute(f"SHOW {n}").fetchone()[0]) for n in names}  # type: ignore[index]


def wait_for_projections(url: str, timeout: float = 120.0) -> None:
    """Block until every projection has applied the whole membership log.

    Wakes on the projector's NOTIFY after each commit rather than sleeping.
    """
    from tradehall.store.wakeups import PROJECTIONS_CHANNEL

    deadline = time.monotonic() + timeout
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(f"LISTEN {PROJECTIONS_CHANNEL}")
        while True:
            head = connection.execute(
                "SELECT coalesce(max(notification_id), 0) FROM events.membership_events"
            ).fetchone()[0]  # type: ignore[index]
            rows = connection.execute(
                "SELECT position FROM projection_positions WHERE log = 'membership'"
            ).fetchall()
            if rows and all(row[0] >= head for row in rows):
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("the projections did not catch up")
            for _ in connection.notifies(timeout=min(remaining, 1.0), stop_after=1):
                pass


# --- the served app ----------------------------------------------------------------------------


def tradehall_command() -> list[str]:
    """The `tradehall` console script of this interpreter's environment."""
    script = Path(sys.executable).parent / "tradehall"
    if script.exists():
        return [str(script)]
    found = shutil.which("tradehall")
    return [found] if found else [sys.executable, "-m", "tradehall.cli"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def server_env(
    *, database_url: str | None, data_dir: Path | None, pool_size: int, extra: Mapping[str, str]
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADEHALL_")}
    env.update(
        {
            "TRADEHALL_JWT_SECRET": JWT_SECRET,
            "TRADEHALL_JWT_LIFETIME_SECONDS": "3600",
            "TRADEHALL_DB_POOL_SIZE": str(pool_size),
        }
    )
    if database_url:
        env["TRADEHALL_DATABASE_URL"] = database_url
    if data_dir is not None:
        env["TRADEHALL_DATA_DIR"] = str(data_dir)
    env.update(extra)
    return env


def run_migrate(env: Mapping[str, str]) -> None:
    subprocess.run([*tradehall_command(), "migrate"], env=dict(env), check=True, text=True)


class ServedApp:
    """`tradehall serve` in a subprocess; ready once it logs start-up complete and listening.

    Its stdout (JSON logs, one request a line) is copied to `log_path` by a thread.
    """

    def __init__(self, env: Mapping[str, str], log_path: Path, port: int | None = None) -> None:
        self.env = dict(env)
        self.log_path = log_path
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self._drain: threading.Thread | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def __enter__(self) -> ServedApp:
        self.process = subprocess.Popen(
            [*tradehall_command(), "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        assert self.process.stdout is not None
        log = self.log_path.open("wb")
        seen: list[bytes] = []
        started = False
        for line in self.process.stdout:  # blocks on each line: no sleeping
            log.write(line)
            seen.append(line)
            started = started or STARTUP_LINE in line
            if started and LISTENING_LINE in line:
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
        """VmRSS of the server process, from /proc/<pid>/status."""
        text = Path(f"/proc/{self.pid}/status").read_text()
        match = re.search(r"^VmRSS:\s+(\d+)\s+kB", text, re.MULTILINE)
        assert match is not None
        return int(match.group(1))

    def __exit__(self, *exc: object) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._drain is not None:
            self._drain.join(timeout=10)


# --- a lean HTTP/1.1 client ---------------------------------------------------------------------


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class HttpConnection:
    """One keep-alive HTTP/1.1 connection on asyncio streams.

    Kept deliberately small so the client takes little of the CPU it shares with the server.
    """

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def connect(self) -> None:
        self._reader, self._writer = await asyncio.open_connection(self.host, self.port)

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(Exception):
                await self._writer.wait_closed()

    async def request(
        self, method: str, path: str, *, token: str | None = None, body: Any = None
    ) -> Reply:
        if self._writer is None:
            await self.connect()
        assert self._reader is not None
        assert self._writer is not None
        payload = b"" if body is None else json.dumps(body).encode()
        lines = [
            f"{method} {path} HTTP/1.1",
            f"Host: {self.host}:{self.port}",
            f"Content-Length: {len(payload)}",
        ]
        if body is not None:
            lines.append("Content-Type: application/json")
        if token is not None:
            lines.append(f"Authorization: Bearer {token}")
        self._writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + payload)
        head = await self._reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        headers: dict[str, str] = {}
        for line in header_lines:
            if line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        if "content-length" not in headers:
            raise RuntimeError(f"no Content-Length in the reply to {method} {path}")
        data = await self._reader.readexactly(int(headers["content-length"]))
        if headers.get("connection", "").lower() == "close":
            await self.close()
            self._writer = None
        return Reply(int(status_line.split(" ", 2)[1]), headers, data)


def run_async(coroutine: Any) -> Any:
    """asyncio.run, on uvloop where it is installed (less client CPU per request)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


async def fetch_token(connection: HttpConnection, email: str, password: str) -> str:
    reply = await connection.request(
        "POST", "/api/v1/auth/token", body={"email": email, "password": password}
    )
    if reply.status != 200:
        raise RuntimeError(f"sign-in failed for {email}: {reply.status} {reply.body[:200]!r}")
    token: str = reply.json()["access_token"]
    return token


# --- members, registered through the Application --------------------------------------------


@dataclass(frozen=True)
class Member:
    organisation_id: UUID
    user_id: UUID
    email: str
    cpv_code: str


def leaf_cpv_codes(count: int) -> list[str]:
    """CPV codes none of which is an ancestor of another (a directory filter matches one)."""
    from projections.codes import cpv_stem
    from sharedkernel.reference import cpv_codes

    codes = sorted(cpv_codes())
    stems = [cpv_stem(code) for code in codes]
    leaves = [
        code
        for i, code in enumerate(codes)
        if i + 1 == len(codes) or not stems[i + 1].startswith(stems[i])
    ]
    if len(leaves) < count:
        raise ValueError(f"only {len(leaves)} leaf CPV codes, {count} wanted")
    return leaves[:count]


def details_for(name: str, cpv_code: str) -> RegistrationDetails:
    """A social enterprise that is a sole trader: no registry identifier, so no claim."""
    return RegistrationDetails.parse(
        name=name,
        kind="social_enterprise",
        legal_form="sole_trader_or_partnership",
        registry_scheme=None,
        registry_id=None,
        social_purpose="Employs and trains people furthest from the labour market.",
        regions=["TLE"],
        cpv_codes=[cpv_code],
    )


def register_members(
    app: MembershipApp,
    *,
    count: int,
    password_hash: str,
    label: str,
    cpv_codes: Sequence[str] | None = None,
    roles: frozenset[Role] = frozenset({Role.MEMBER}),
    apply: bool = False,
    admit: bool = False,
) -> list[Member]:
    """Register organisations with a member user each (one save each, the user row beside it).

    `apply` also applies for membership with `BENCH_TURNOVER`; `admit` then admits (publishing
    the default dues schedule first, as the served app does on start), leaving each awaiting its
    first payment: not yet in the directory.
    """
    if admit:
        app.ensure_dues_schedule(Context(SYSTEM, f"bench-{label}-schedule", datetime.now(UTC)))
    members = []
    codes = list(cpv_codes) if cpv_codes is not None else ["45000000-7"] * count
    run = uuid.uuid4().hex[:6]
    for i in range(count):
        organisation_id, user_id = uuid.uuid4(), uuid.uuid4()
        email = f"{label}-{run}-{i}@bench.example.org"
        now = datetime.now(UTC)
        context = Context(user_actor(user_id), f"bench-{label}-{i}", now)
        app.register_organisation(
            context,
            organisation_id,
            details_for(f"Bench {label} {run} {i:05d}", codes[i]),
            user_id,
            side_writes=[
                insert_user(
                    user_id=user_id,
                    email=email,
                    password_hash=password_hash,
                    organisation_id=organisation_id,
                    roles=roles,
                    now=now,
                )
            ],
        )
        if apply or admit:
            app.apply_for_membership(context, organisation_id, BENCH_TURNOVER)
        if admit:
            app.admit(context, organisation_id)
        members.append(Member(organisation_id, user_id, email, codes[i]))
    return members


def create_staff(database_url: str | None, data_dir: Path | None, password_hash: str) -> str:
    """A staff user written straight to the users table; returns its e-mail."""
    from tradehall.identity.users import create_user
    from tradehall.store import store_from_settings

    store = store_from_settings(database_url, data_dir or Path("data"))
    email = f"staff-{uuid.uuid4().hex[:6]}@bench.example.org"
    engine = store.sync_engine()
    try:
        with engine.begin() as connection:
            create_user(
                connection,
                insert_user(
                    user_id=uuid.uuid4(),
                    email=email,
                    password_hash=password_hash,
                    organisation_id=None,
                    roles=frozenset({Role.STAFF}),
                    now=datetime.now(UTC),
                ),
            )
    finally:
        engine.dispose()
    return email
