"""docker/: the compose file runs commands the CLI has, in the order production needs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import yaml

from tradehall.cli import main

DOCKER = Path(__file__).resolve().parents[2] / "docker"


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DOCKER / "compose.yaml").read_text())
    return loaded


def test_each_service_runs_a_real_tradehall_command() -> None:
    services = compose()["services"]
    assert {"postgres", "migrate", "api", "worker", "clock"} <= set(services)
    for name in ("migrate", "api", "worker", "clock"):
        args = services[name]["command"]
        # Resolving the words to a sub-command proves it exists.
        command: click.Command | None = main
        for word in (w for w in args if not w.startswith("-")):
            if isinstance(command, click.Group) and word in command.commands:
                command = command.commands[word]
        assert command is not main, f"{name}: {args}"


def test_the_api_waits_for_migrations_and_leaves_projections_to_the_worker() -> None:
    services = compose()["services"]
    assert services["api"]["depends_on"]["migrate"]["condition"] == (
        "service_completed_successfully"
    )
    assert services["api"]["environment"]["TRADEHALL_RUN_PROJECTIONS"] == "false"
    assert services["worker"]["command"] == ["projections", "run"]
    assert services["api"]["environment"]["TRADEHALL_CLOCK_INTERVAL_SECONDS"] == "0"
    assert services["clock"]["command"][:2] == ["clock", "run"]
    assert services["api"]["environment"]["TRADEHALL_ENV"] == "production"


def test_the_image_runs_as_a_non_root_user() -> None:
    dockerfile = (DOCKER / "Dockerfile").read_text()
    assert "\nUSER tradehall\n" in dockerfile
    assert "FROM python:3.11-slim" in dockerfile
