"""The `tradehall` command line: migrate, staff create, and serve on a real port."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from tests.api.helpers import CONFIRMATIONS, PASSWORD, registration, registration_secret_at
from tradehall.cli import main


def env_for(data_dir: Path) -> dict[str, str]:
    return {"TRADEHALL_DATA_DIR": str(data_dir), "TRADEHALL_DATABASE_URL": ""}


def test_migrate_then_create_a_staff_user_once(tmp_path: Path) -> None:
    runner = CliRunner()
    env = env_for(tmp_path / "data")

    migrated = runner.invoke(main, ["migrate"], env=env)
    created = runner.invoke(
        main,
        ["staff", "create", "Officer@Association.example"],
        env=env | {"TRADEHALL_STAFF_PASSWORD": PASSWORD},
    )
    again = runner.invoke(
        main,
        ["staff", "create", "officer@association.example"],
        env=env | {"TRADEHALL_STAFF_PASSWORD": PASSWORD},
    )
    bad = runner.invoke(
        main,
        ["staff", "create", "not-an-address"],
        env=env | {"TRADEHALL_STAFF_PASSWORD": PASSWORD},
    )

    assert migrated.exit_code == 0, migrated.output
    assert created.exit_code == 0, created.output
    assert "officer@association.example" in created.output
    assert again.exit_code == 1
    assert "exists already" in again.output
    assert bad.exit_code == 2
    assert PASSWORD not in created.output


def test_production_mode_with_a_default_secret_refuses_to_start(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        ["serve"],
        env=env_for(tmp_path)
        | {
            "TRADEHALL_ENV": "production",
            "TRADEHALL_DATABASE_URL": "postgresql://root@127.0.0.1:5432/test",
            "TRADEHALL_JWT_SECRET": "",
        },
    )
    assert result.exit_code == 1
    assert "JWT_SECRET" in result.output


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Served:
    base: str
    process: subprocess.Popen[bytes]
    lines: list[str]
    data_dir: Path

    def register(self, body: dict[str, Any]) -> httpx.Response:
        """Ask to register, then confirm with the link mailed (read from the outbox)."""
        asked = httpx.post(f"{self.base}/api/v1/organisations", json=body, timeout=10)
        assert asked.status_code == 202, asked.text
        database = f"sqlite:///{self.data_dir / 'tradehall.sqlite3'}"
        secret = registration_secret_at(database, body["user"]["email"])
        return httpx.post(
            f"{self.base}{CONFIRMATIONS}",
            json={"token": secret, "password": body["user"]["password"]},
            timeout=10,
        )

    def stop(self) -> list[str]:
        """Stop the server and return every line it wrote."""
        if self.process.poll() is None:
            self.process.terminate()
            rest, _ = self.process.communicate(timeout=10)
            self.lines.extend(rest.decode(errors="replace").splitlines(keepends=True))
        return self.lines


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    """`tradehall serve` in its own process on the embedded default, ready to answer."""
    port = free_port()
    # No sender: the registration link waits in the outbox, where the tests read it.
    env = os.environ | env_for(tmp_path / "data") | {"TRADEHALL_MAIL_INTERVAL_SECONDS": "0"}
    process = subprocess.Popen(
        [sys.executable, "-m", "tradehall.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    server = Served(f"http://127.0.0.1:{port}", process, [], tmp_path / "data")
    try:
        # Wait for uvicorn's own word that it listens: it says so after the application's
        # start-up (migrations included) completes, once its socket is bound ("Application
        # startup complete" comes before the bind, so a request then may find nobody there).
        assert process.stdout is not None
        for raw in iter(process.stdout.readline, b""):
            server.lines.append(raw.decode(errors="replace"))
            if "Uvicorn running on" in server.lines[-1]:
                break
        else:
            pytest.fail("the server exited before it was ready:\n" + "".join(server.lines))
        assert httpx.get(f"{server.base}/ready", timeout=5).status_code == 200
        yield server
    finally:
        server.stop()


def test_serve_answers_over_real_http_and_keeps_data_across_requests(served: Served) -> None:
    body = registration()
    created = served.register(body)
    assert created.status_code == 201, created.text
    signed_in = httpx.post(
        f"{served.base}/api/v1/auth/token",
        json={"email": body["user"]["email"], "password": PASSWORD},
        timeout=10,
    )
    headers = {"Authorization": f"Bearer {signed_in.json()['access_token']}"}
    shown = httpx.get(f"{served.base}/api/v1/organisations/{created.json()['id']}", headers=headers)
    assert shown.status_code == 200
    assert shown.json()["name"] == body["name"]


def test_every_line_the_server_logs_is_json_without_secrets(served: Served) -> None:
    body = registration()
    assert served.register(body).status_code == 201
    signed_in = httpx.post(
        f"{served.base}/api/v1/auth/token",
        json={"email": body["user"]["email"], "password": PASSWORD},
        timeout=10,
    )
    access_token = signed_in.json()["access_token"]
    httpx.get(f"{served.base}/health", headers={"Authorization": f"Bearer {access_token}"})

    lines = served.stop()

    assert any('"path": "/api/v1/auth/token"' in line for line in lines), lines
    for line in lines:
        record = json.loads(line)
        assert "event" in record
        assert PASSWORD not in line
        assert access_token not in line
