# ruff: noqa: S310, S603 (a CI tool: it runs our own commands against our own local server)
"""Schema fuzzing for CI: serve the API with demo data and let schemathesis exercise every
operation of its OpenAPI document, as a staff user and as a member, on SQLite and PostgreSQL.

Each run gets the demo's real organisation ids (a member its own organisation; staff one of each
state: admitted and paid, awaiting payment, waiting, rejected, never applied, a public buyer), so
the operations reach the code behind the access rules and the 404s. Fails on a server error or a
response that does not match the documented schema. Bounded: FUZZ_SECONDS per run (4 runs).

Nothing is written into the work tree: the server's data, schemathesis's configuration, and its
cache all live in a temporary directory that is removed at the end, and the PostgreSQL database
made for the run is dropped.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
ADMIN_DATABASE_URL = os.environ.get(
    "TRADEHALL_TEST_DATABASE_URL", "postgresql://root@127.0.0.1:5432/test"
)
SEED = 20261122
CHECKS = "not_a_server_error,response_schema_conformance"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def call(base: str, method: str, path: str, token: str | None = None, body: Any = None) -> bytes:
    headers = {"content-type": "application/json"} if body is not None else {}
    if token:
        headers["authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data, headers, method=method)
    with urllib.request.urlopen(request, timeout=30) as response:
        payload: bytes = response.read()
        return payload


def sign_in(base: str, email: str, password: str) -> str:
    answer = json.loads(
        call(base, "POST", "/api/v1/auth/token", body={"email": email, "password": password})
    )
    token: str = answer["access_token"]
    return token


@contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh database beside the tests' one, migrated, dropped afterwards."""
    import psycopg
    from sqlalchemy import make_url

    admin = make_url(ADMIN_DATABASE_URL).set(drivername="postgresql")
    admin_dsn = admin.render_as_string(hide_password=False)
    name = f"tradehall_fuzz_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_dsn, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    url = admin.set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def served(work: Path, database_url: str) -> Iterator[str]:
    """`tradehall serve --demo` on a free port, until the block ends."""
    port = free_port()
    env = os.environ | {
        "TRADEHALL_ENV": "embedded",
        "TRADEHALL_DATA_DIR": str(work / "data"),
        "TRADEHALL_DATABASE_URL": database_url,
        # No mail and no clock ticking under the fuzzer's feet: only its requests change state.
        "TRADEHALL_CLOCK_INTERVAL_SECONDS": "0",
    }
    if database_url:
        subprocess.run([VENV_BIN / "tradehall", "migrate"], env=env, check=True, cwd=work)
    log = (work / "server.log").open("w")
    server = subprocess.Popen(
        [VENV_BIN / "tradehall", "serve", "--demo", "--port", str(port)],
        env=env,
        cwd=work,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if server.poll() is not None:
                raise RuntimeError("the server stopped:\n" + (work / "server.log").read_text())
            try:
                call(base, "GET", "/ready")
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("the server did not start") from None
                time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()
        errors = [
            line
            for line in (work / "server.log").read_text().splitlines()
            if '"level": "error"' in line or '"level":"error"' in line or "Traceback" in line
        ]
        if errors:
            print(f"server log: {len(errors)} error lines, the first ones:")
            for line in errors[:10]:
                print("  " + line[:2000])


def demo_ids(base: str, staff: str, member: str) -> tuple[str, list[str]]:
    """The member's organisation, and one organisation of each state for staff."""
    from tradehall.dev.demo import ORGANISATIONS

    me = json.loads(call(base, "GET", "/api/v1/auth/me", member))
    own = str(me["organisation_id"])
    rows = list(
        csv.DictReader(io.StringIO(call(base, "GET", "/api/v1/members.csv", staff).decode()))
    )
    assert len(rows) >= ORGANISATIONS, f"the demo has {len(rows)} organisations"
    by_state: dict[tuple[str, str], str] = {}
    for row in rows:
        by_state.setdefault((row["kind"], row["status"]), row["organisation_id"])
    return own, sorted(set(by_state.values()) | {own})


def documented(base: str) -> set[str]:
    """The operations the API's OpenAPI document describes, as schemathesis names them."""
    spec = json.loads(call(base, "GET", "/schema/openapi.json"))
    return {
        f"{method.upper()} {path}"
        for path, item in spec["paths"].items()
        for method in item
        if method in {"get", "put", "post", "delete", "patch"}
    }


def operations_for(role: str, own: str, in_document: set[str]) -> list[str]:
    """The documented operations (`METHOD /path`, as schemathesis names them) that a role may
    call, by the app's own access rules: staff get the public ones too, a member only what needs
    a member."""
    import re

    from litestar.routes import HTTPRoute

    from tradehall.api.access import declared_access
    from tradehall.api.app import create_app
    from tradehall.identity.users import Role, User
    from tradehall.settings import Settings

    with tempfile.TemporaryDirectory() as data:
        app = create_app(Settings.from_env({"TRADEHALL_DATA_DIR": data}))
    if role == "staff":
        user = User(uuid.uuid4(), "staff@example.org", None, frozenset({Role.STAFF}))
    else:
        roles = frozenset({Role.MEMBER, Role.ADMIN})
        user = User(uuid.uuid4(), "member@example.org", uuid.UUID(own), roles)
    names = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        path = re.sub(r"\{(\w+):[^}]+\}", r"{\1}", route.path)
        for handler in route.route_handlers:
            access = declared_access(handler)
            if access is None or (access.public and role != "staff"):
                continue
            if access.allows(user, {"organisation_id": own}):
                names += [
                    f"{method} {path}" for method in handler.http_methods - {"OPTIONS", "HEAD"}
                ]
    return sorted(set(names) & in_document)


def write_config(path: Path, token: str, organisations: list[str]) -> None:
    """A schemathesis.toml: who we are, the demo's ids, and no cache or example database."""
    quoted = ", ".join(json.dumps(o) for o in organisations)
    path.write_text(
        f"""\
[cache]
enabled = false

[generation]
database = "none"

[headers]
Authorization = "Bearer {token}"

[dictionaries.organisations]
values = [{quoted}]

[parameters]
"path.organisation_id" = {{ dictionary = "organisations", probability = 0.95 }}
"""
    )


def fuzz(label: str, base: str, config: Path, seconds: int, operations: list[str]) -> int:
    print(
        f"\n=== schema fuzzing: {label}, {len(operations)} operations ({seconds} s) ===", flush=True
    )
    command = [
        str(VENV_BIN / "schemathesis"),
        "--config-file",
        str(config),
        "run",
        f"{base}/schema/openapi.json",
        "--checks",
        CHECKS,
        "--max-time",
        str(seconds),
        "--max-examples",
        "50",
        "--seed",
        str(SEED),
        "--request-timeout",
        "10",
        # One worker: hypothesis parses lambdas' source with ast from every worker thread, and
        # CPython 3.11 before 3.11.8 can fail that with "AST constructor recursion depth
        # mismatch" (a SystemError in the fuzzer, not in the API) when two threads do it at once.
        "--workers",
        "1",
        "--suppress-health-check",
        "all",
        "--no-color",
        *(option for name in operations for option in ("--include-name", name)),
    ]
    return subprocess.run(command, cwd=config.parent, check=False).returncode


def run_store(store: str, seconds: int) -> list[tuple[str, int]]:
    from tradehall.dev.demo import MEMBER_PASSWORD, STAFF_EMAIL, STAFF_PASSWORD

    results = []
    work = Path(tempfile.mkdtemp(prefix=f"tradehall-fuzz-{store}-"))
    try:
        with (
            postgres_database() if store == "postgresql" else _no_database() as database_url,
            served(work, database_url) as base,
        ):
            staff = sign_in(base, STAFF_EMAIL, STAFF_PASSWORD)
            member = sign_in(base, "member@demo.tradehall.example", MEMBER_PASSWORD)
            own, organisations = demo_ids(base, staff, member)
            for role, token, ids in (("staff", staff, organisations), ("member", member, [own])):
                config = work / f"{role}.toml"
                write_config(config, token, ids)
                label = f"{store}, as {role}"
                operations = operations_for(role, own, documented(base))
                results.append((label, fuzz(label, base, config, seconds, operations)))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return results


@contextmanager
def _no_database() -> Iterator[str]:
    yield ""


def main() -> int:
    seconds = int(os.environ.get("FUZZ_SECONDS", "50"))
    stores = os.environ.get("FUZZ_STORES", "sqlite postgresql").split()
    started = time.monotonic()
    results = [result for store in stores for result in run_store(store, seconds)]
    print(f"\n=== schema fuzzing done in {time.monotonic() - started:.0f} s ===")
    for label, code in results:
        print(f"  {label}: {'ok' if code == 0 else f'FAILED (exit {code})'}")
    return 0 if all(code == 0 for _, code in results) else 1


if __name__ == "__main__":
    sys.exit(main())
