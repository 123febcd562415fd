"""`tradehall serve --workers N` (ADR 37): refused on the embedded SQLite store; on PostgreSQL
N processes answer on one port, the projector runs in one of them, and read-your-writes works
through a worker that does not run it."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from sqlalchemy import make_url

from tests.api.helpers import (
    APPLICATION,
    CONFIRMATIONS,
    PASSWORD,
    registration,
    registration_secret_at,
)
from tests.conftest import JWT_SECRET, TEST_SEALING_KEY
from tradehall.cli import main

STARTED = "Application startup complete"
WORKER_STARTED = re.compile(r"Started server process \[(\d+)\]")
# The lease holder names itself by process id (store/leases.py `_owner`).
PROJECTOR_HERE = re.compile(r"single-instance job projector runs here \(tradehall-leases-(\d+)-")


def test_more_than_one_worker_on_sqlite_is_refused_before_starting(tmp_path: Path) -> None:
    env = {"TRADEHALL_DATA_DIR": str(tmp_path / "data"), "TRADEHALL_DATABASE_URL": ""}
    runner = CliRunner()

    by_option = runner.invoke(main, ["serve", "--workers", "2"], env=env)
    by_variable = runner.invoke(main, ["serve"], env=env | {"TRADEHALL_WORKERS": "3"})

    assert by_option.exit_code == 2, by_option.output
    assert "--workers 2 (TRADEHALL_WORKERS) needs PostgreSQL" in by_option.output
    assert "the embedded SQLite store is served by one worker" in by_option.output
    assert by_variable.exit_code == 2, by_variable.output
    assert "--workers 3" in by_variable.output
    assert not (tmp_path / "data" / "tradehall.sqlite3").exists()


def test_a_worker_count_out_of_range_is_refused(tmp_path: Path) -> None:
    env = {"TRADEHALL_DATA_DIR": str(tmp_path / "data"), "TRADEHALL_DATABASE_URL": ""}
    runner = CliRunner()

    zero = runner.invoke(main, ["serve", "--workers", "0"], env=env)
    bad = runner.invoke(main, ["serve"], env=env | {"TRADEHALL_WORKERS": "many"})

    assert zero.exit_code == 2
    assert "--workers" in zero.output
    assert bad.exit_code == 1
    assert "TRADEHALL_WORKERS must be a whole number" in bad.output


# --- two workers on PostgreSQL -----------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Server:
    """`tradehall serve --workers 2` in a process of its own; its log lines as they come."""

    def __init__(self, process: subprocess.Popen[bytes], port: int) -> None:
        self.process = process
        self.base = f"http://127.0.0.1:{port}"
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for raw in iter(self.process.stdout.readline, b""):
            with self._changed:
                self.lines.append(raw.decode(errors="replace"))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def wait_for(self, condition: Callable[[list[str]], bool], within: float = 120) -> None:
        """Until the lines logged so far meet `condition` (bounded); fails if the server ends."""
        with self._changed:
            met = self._changed.wait_for(
                lambda: condition(self.lines) or self.process.poll() is not None, within
            )
            if not met or not condition(self.lines):
                pytest.fail("the server did not get there:\n" + "".join(self.lines))

    def events(self) -> list[str]:
        found = []
        for line in list(self.lines):
            try:
                found.append(str(json.loads(line).get("event", "")))
            except ValueError:
                found.append(line)
        return found

    def worker_pids(self) -> set[int]:
        """uvicorn's workers, as each says when it starts (the server's children, but for
        multiprocessing's own helper)."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        started = {int(m.group(1)) for e in self.events() if (m := WORKER_STARTED.search(e))}
        return started & {int(pid) for pid in children.read_text().split()}

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._reader.join(timeout=10)


def _inodes_of(pid: int) -> set[str]:
    inodes = set()
    fds = Path(f"/proc/{pid}/fd")
    for fd in fds.iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    return inodes


def serving_pid(server: Server, client_port: int, port: int) -> int:
    """The worker holding the server's end of the connection from `client_port`."""
    wanted = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for row in Path(table).read_text().splitlines()[1:]:
            fields = row.split()
            local, remote, inode = fields[1], fields[2], fields[9]
            if int(local.rsplit(":", 1)[1], 16) == port and (
                int(remote.rsplit(":", 1)[1], 16) == client_port
            ):
                wanted.add(inode)
    for pid in server.worker_pids():
        if wanted & _inodes_of(pid):
            return pid
    raise AssertionError(f"no worker holds the connection from port {client_port}")


def client_port_of(response: httpx.Response) -> int:
    stream: Any = response.extensions["network_stream"]
    port: int = stream.get_extra_info("socket").getsockname()[1]
    return port


@pytest.fixture
def two_workers(tmp_path: Path, postgres_url: str) -> Iterator[tuple[Server, int]]:
    port = free_port()
    env = os.environ | {
        "TRADEHALL_DATABASE_URL": postgres_url,
        "TRADEHALL_DATA_DIR": str(tmp_path / "data"),
        "TRADEHALL_JWT_SECRET": JWT_SECRET,
        "TRADEHALL_SEALING_KEY": TEST_SEALING_KEY,
        # Small pools (the test database's connections are shared); the projector is the only
        # single-instance job here (the clock would tick every test's organisations).
        "TRADEHALL_DB_POOL_SIZE": "2",
        "TRADEHALL_CLOCK_INTERVAL_SECONDS": "0",
        "TRADEHALL_MAIL_INTERVAL_SECONDS": "0",
        "TRADEHALL_FOLLOW_INTERVAL_SECONDS": "0",
        "TRADEHALL_CARD_COMMANDS_INTERVAL_SECONDS": "0",
        "TRADEHALL_LEASE_RETRY_SECONDS": "0.2",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "tradehall.cli", "serve", "--workers", "2", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    server = Server(process, port)
    try:
        server.wait_for(lambda lines: sum(STARTED in line for line in lines) == 2)
        yield server, port
    finally:
        server.stop()


def test_two_workers_on_postgresql_both_answer_and_one_runs_the_projector(
    two_workers: tuple[Server, int], postgres_url: str
) -> None:
    server, port = two_workers
    workers = server.worker_pids()
    assert len(workers) == 2

    # The projector runs in exactly one of them (each tried for its lease at start-up).
    holders = [int(m.group(1)) for e in server.events() if (m := PROJECTOR_HERE.search(e))]
    assert len(holders) == 1, server.events()
    assert holders[0] in workers

    # Both answer on the port: new connections land on one or the other (the kernel's choice).
    served_by: dict[int, httpx.Client] = {}
    for _ in range(200):
        client = httpx.Client(base_url=server.base, timeout=10)
        response = client.get("/ready")
        assert response.status_code == 200, response.text
        pid = serving_pid(server, client_port_of(response), port)
        if pid in served_by:
            client.close()
        else:
            served_by[pid] = client
        if set(served_by) == workers:
            break
    try:
        assert set(served_by) == workers

        # Read-your-writes through the worker without the projector, on one connection (so one
        # worker): the write is visible to the read that names its position.
        (elsewhere,) = workers - {holders[0]}
        client = served_by[elsewhere]
        body = registration()
        asked = client.post("/api/v1/organisations", json=body)
        assert asked.status_code == 202, asked.text
        url = make_url(postgres_url).set(drivername="postgresql+psycopg")
        secret = registration_secret_at(url.render_as_string(False), body["user"]["email"])
        created = client.post(CONFIRMATIONS, json={"token": secret, "password": PASSWORD})
        assert created.status_code == 201, created.text
        signed_in = client.post(
            "/api/v1/auth/token", json={"email": body["user"]["email"], "password": PASSWORD}
        )
        assert signed_in.status_code == 200, signed_in.text
        headers = {"Authorization": f"Bearer {signed_in.json()['access_token']}"}
        organisation = created.json()["id"]
        applied = client.post(
            f"/api/v1/organisations/{organisation}/membership/application",
            json=APPLICATION,
            headers=headers,
        )
        assert applied.status_code in (200, 201), applied.text
        position = ",".join(f"{log}:{at}" for log, at in applied.json()["position"].items())
        read = client.get(
            f"/api/v1/organisations/{organisation}/membership/application",
            params={"position": position},
            headers=headers,
        )
        assert serving_pid(server, client_port_of(read), port) == elsewhere
        assert read.status_code == 200, read.text
        assert read.json()["consistent"] is True
        assert read.json()["application"]["status"] == "pending"
    finally:
        for client in served_by.values():
            client.close()
