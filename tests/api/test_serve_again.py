"""An app's routes serve one run after another (`serve_again`), each run starting clean.

The test suite builds one app a process and serves each test's store with it; these tests hold
what that relies on: a run's state goes with it, the next run sees only its own store, and the
settings the routes were built with cannot be changed underneath them.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from uuid import UUID

import pytest
from eventsourcing.application import Application
from litestar import Litestar

from tests.api.helpers import PASSWORD, register
from tests.conftest import FAST_PASSWORDS, AppClient, running, settings_for
from tradehall.api.app import SERVING, create_app, serve_again
from tradehall.api.marketplace.impact_cache import answers_of
from tradehall.clock import ManualClock
from tradehall.context import ContextDeclaration, EventLog
from tradehall.contexts import CONTEXTS
from tradehall.store.sqlite import SQLiteStore


@pytest.fixture
def app(tmp_path: Path) -> Litestar:
    data_dir = tmp_path / "first"
    return create_app(settings_for(data_dir), store=SQLiteStore(data_dir), passwords=FAST_PASSWORDS)


async def sign_in(client: AppClient, email: str) -> int:
    response = await client.post("/api/v1/auth/token", json={"email": email, "password": PASSWORD})
    return response.status_code


async def test_a_second_run_serves_its_own_store_and_keeps_nothing_of_the_first(
    app: Litestar, tmp_path: Path, clock: ManualClock
) -> None:
    before = set(app.state)
    async with running(app), AppClient(app) as client:
        founder = (await register(client))["email"]
        assert await sign_in(client, founder) == 200
        answers_of(app.state)  # a run's own cache, kept in the app's state
        first_services = app.state.services
        assert set(app.state) > before
    assert set(app.state) == before

    second_dir = tmp_path / "second"
    serve_again(
        app,
        settings_for(second_dir),
        clock=clock,
        store=SQLiteStore(second_dir),
        passwords=FAST_PASSWORDS,
    )
    async with running(app), AppClient(app) as client:
        assert app.state.services is not first_services
        assert app.state.services.clock is clock
        assert (second_dir / "tradehall.sqlite3").exists()
        assert await sign_in(client, founder) == 401  # the first run's user is not here
        founder = (await register(client))["email"]
        assert await sign_in(client, founder) == 200


async def test_a_running_app_cannot_be_pointed_elsewhere(app: Litestar, tmp_path: Path) -> None:
    async with running(app):
        with pytest.raises(RuntimeError, match="running"):
            serve_again(app, settings_for(tmp_path / "other"))
    serving = app.state[SERVING]
    assert serving.store.data_dir == tmp_path / "first"


@pytest.mark.parametrize(
    "change",
    [
        {"jwt_secret": "another-secret-" + "y" * 40},
        {"max_body_bytes": 1024},
        {"evidence_max_bytes": 1024},
    ],
)
def test_settings_built_into_the_routes_cannot_change(
    app: Litestar, tmp_path: Path, change: dict[str, object]
) -> None:
    changed = dataclasses.replace(settings_for(tmp_path / "other"), **change)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="build anew"):
        serve_again(app, changed)
    assert app.state[SERVING].store.data_dir == tmp_path / "first"


class ClosesBadly(Application[UUID]):
    """A context's Application whose closing fails, as a dropped connection's might."""

    name = "closesbadly"
    failed = False

    def close(self) -> None:
        super().close()
        if not self.failed:  # once: the library closes it again when it is collected
            self.failed = True
            raise RuntimeError("closing failed")


CLOSES_BADLY = ContextDeclaration(
    name="closesbadly",
    log=EventLog("closesbadly"),
    application=lambda env, settings, store: ClosesBadly(env=env),
)


async def test_a_run_whose_shutdown_fails_still_leaves_the_app_clean(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    app = create_app(
        settings_for(data_dir),
        store=SQLiteStore(data_dir),
        passwords=FAST_PASSWORDS,
        contexts=(*CONTEXTS, CLOSES_BADLY),
    )
    before = set(app.state)
    with pytest.raises(BaseException) as raised:  # noqa: PT011 (Litestar may wrap it in a group)
        async with running(app):
            assert "services" in app.state
    assert "closing failed" in repr(raised.value) or any(
        "closing failed" in repr(e) for e in getattr(raised.value, "exceptions", ())
    )
    assert set(app.state) == before
    other = tmp_path / "other"
    serve_again(app, settings_for(other), store=SQLiteStore(other))  # not "running"
