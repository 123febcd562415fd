"""A context is one declaration: declared here (a noticeboard, and sealed bids) and nowhere
else, it is served over HTTP, followed by the projector, listed by `projections status` and
checked by `/ready`; a sealed one is in none of those, and its commands carry no position."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

import pytest
from click.testing import CliRunner
from eventsourcing.application import Application
from litestar import Controller, Response, post
from litestar.di import NamedDependency
from litestar.params import JSONBody
from sqlalchemy import Column, Connection, MetaData, String, Table, Uuid, delete, insert, select

from projections.base import Projection
from projections.events import RecordedEvent
from projections.tables import projection_positions
from sharedkernel.events import Context, TradehallAggregate
from tests.api.helpers import register, token
from tests.conftest import FAST_PASSWORDS, AppClient, running
from tradehall.api.access import SIGNED_IN, rule
from tradehall.api.app import create_app
from tradehall.api.commands import Commands, command_response
from tradehall.api.schemas.common import CommandResult
from tradehall.cli import cli_for
from tradehall.clock import ManualClock
from tradehall.context import ContextDeclaration, EventLog, event_logs
from tradehall.contexts import CONTEXTS
from tradehall.settings import Settings
from tradehall.store.base import Store
from tradehall.store.postgres import PostgresStore
from tradehall.store.sqlite import SQLiteStore

# --- a tiny context: a noticeboard of posts, and its read model ---------------------------------


class Post(TradehallAggregate):
    class Pinned(TradehallAggregate.Created):
        text: str


@dataclass(frozen=True)
class Saved:
    aggregate_id: UUID
    version: int
    position: int | None


class NoticeboardApp(Application[UUID]):
    name = "noticeboard"

    def pin(self, context: Context, text: str) -> Saved:
        post = Post._create(Post.Pinned, id=uuid.uuid4(), text=text, **context.event_kwargs())
        recordings = self.save(post)
        return Saved(post.id, post.version, recordings[-1].notification.id)


POSTS = Table(
    "test_noticeboard_posts",
    MetaData(),
    Column("id", Uuid, primary_key=True),
    Column("text", String(200), nullable=False),
)


class PostsProjection(Projection):
    name = "test_noticeboard_posts"
    logs = ("noticeboard",)
    tables = (POSTS,)

    def apply(self, connection: Connection, events: Sequence[RecordedEvent]) -> None:
        for event in events:
            if event.name == "Post.Pinned":
                connection.execute(
                    insert(POSTS).values(id=event.originator_id, text=event.data["text"])
                )


@dataclass(frozen=True)
class Pin:
    text: str


NOTICEBOARD_LOG = EventLog("noticeboard")


class NoticeboardController(Controller):
    path = "/api/v1/noticeboard"

    @post("/", opt=rule(SIGNED_IN), status_code=201)
    async def pin(
        self,
        commands: NamedDependency[Commands],
        noticeboard: NamedDependency[NoticeboardApp],
        data: JSONBody[Pin],
    ) -> Response[CommandResult]:
        saved = await commands.record(noticeboard.pin, data.text)
        return command_response(saved, NOTICEBOARD_LOG, status_code=201)


# --- a sealed context: bids nothing may follow ---------------------------------------------------


class Bid(TradehallAggregate):
    class Placed(TradehallAggregate.Created):
        amount_minor: int


class BidsApp(Application[UUID]):
    name = "sealedbids"

    def place(self, context: Context, amount_minor: int) -> Saved:
        bid = Bid._create(
            Bid.Placed, id=uuid.uuid4(), amount_minor=amount_minor, **context.event_kwargs()
        )
        recordings = self.save(bid)
        return Saved(bid.id, bid.version, recordings[-1].notification.id)


SEALED_LOG = EventLog("sealedbids", sealed=True)


@dataclass(frozen=True)
class Place:
    amount_minor: int


class BidsController(Controller):
    path = "/api/v1/sealed-bids"

    @post("/", opt=rule(SIGNED_IN), status_code=201)
    async def place(
        self,
        commands: NamedDependency[Commands],
        bids: NamedDependency[BidsApp],
        data: JSONBody[Place],
    ) -> Response[CommandResult]:
        saved = await commands.record(bids.place, data.amount_minor)
        return command_response(saved, SEALED_LOG, status_code=201)


# --- the one place they are declared -------------------------------------------------------------

NOTICEBOARD = ContextDeclaration(
    name="noticeboard",
    log=NOTICEBOARD_LOG,
    application=lambda env, settings, store: NoticeboardApp(env=env),
    controllers=(NoticeboardController,),
    projections=lambda settings: [PostsProjection()],
)
SEALED_BIDS = ContextDeclaration(
    name="bids",
    log=SEALED_LOG,
    application=lambda env, settings, store: BidsApp(env=env),
    controllers=(BidsController,),
)
DECLARED = (*CONTEXTS, NOTICEBOARD, SEALED_BIDS)


def cli_env(store: Store) -> dict[str, str]:
    if isinstance(store, PostgresStore):
        return {"TRADEHALL_DATABASE_URL": store.url.render_as_string(hide_password=False)}
    assert isinstance(store, SQLiteStore)
    return {"TRADEHALL_DATABASE_URL": "", "TRADEHALL_DATA_DIR": str(store.data_dir)}


@pytest.fixture
def migrated(store: Store) -> Iterator[Store]:
    """The store with every declared log's event tables, and the test's read-model table.
    The PostgreSQL database is shared by the run: the test's rows go when it ends."""
    store.migrate(event_logs(DECLARED))
    engine = store.sync_engine()
    POSTS.create(engine, checkfirst=True)
    yield store
    with engine.begin() as connection:
        connection.execute(
            delete(projection_positions).where(
                projection_positions.c.projection == PostsProjection.name
            )
        )
    POSTS.drop(engine)
    engine.dispose()


async def test_a_declared_context_is_served_followed_listed_and_checked(
    migrated: Store, settings: Settings, clock: ManualClock, tmp_path: Path
) -> None:
    app = create_app(
        settings, clock=clock, store=migrated, passwords=FAST_PASSWORDS, contexts=DECLARED
    )
    async with running(app), AppClient(app) as client:
        member = await register(client)
        headers = await token(client, member["email"])

        pinned = await client.post(
            "/api/v1/noticeboard", json={"text": "AGM on Friday"}, headers=headers
        )
        assert pinned.status_code == 201, pinned.text
        position = pinned.json()["position"]
        assert set(position) == {"noticeboard"}

        # The projector follows the new log: the read model has the post once it catches up.
        board = app.state.services.readside.board
        assert await board.wait_for(PostsProjection.name, position, within=10)
        engine = app.state.services.engine
        async with engine.connect() as connection:
            texts = (
                (
                    await connection.execute(
                        select(POSTS.c.text).where(POSTS.c.id == UUID(pinned.json()["id"]))
                    )
                )
                .scalars()
                .all()
            )
        assert texts == ["AGM on Friday"]

        # Read-your-writes knows the log; /ready checks it beside membership's.
        ready = await client.get("/ready")
        assert ready.status_code == 200
        logs = {"membership", "marks", "marketplace", "noticeboard"}
        assert set(ready.json()["event_logs"]) == logs
        assert ready.json()["event_logs"]["noticeboard"] >= position["noticeboard"]

        # The sealed log: served, but no position, no /ready figure, no projection.
        placed = await client.post(
            "/api/v1/sealed-bids", json={"amount_minor": 1250}, headers=headers
        )
        assert placed.status_code == 201, placed.text
        assert placed.json()["position"] == {}
        assert "sealedbids" not in (await client.get("/ready")).json()["event_logs"]
        projector = app.state.services.readside.projector
        assert set(projector.sources) == {"membership", "marks", "marketplace", "noticeboard"}
        assert all("sealedbids" not in p.logs for p in projector.projections)

    # `tradehall projections status` lists the new log's projection, and nothing of the sealed.
    runner = CliRunner()
    status = await asyncio.to_thread(
        runner.invoke,
        cli_for(DECLARED),
        ["projections", "status"],
        env=cli_env(migrated) | {"COLUMNS": "200"},
    )
    assert status.exit_code == 0, status.output
    lines = status.output.splitlines()
    assert any(PostsProjection.name in line and "noticeboard" in line for line in lines)
    assert not any("sealedbids" in line for line in lines)


def test_a_sealed_log_may_not_be_followed(settings: Settings) -> None:
    followed = ContextDeclaration(
        name="bids",
        log=SEALED_LOG,
        application=lambda env, settings, store: BidsApp(env=env),
        projections=lambda settings: [PostsProjection()],
    )
    with pytest.raises(ValueError, match="sealed"):
        followed.read_side(settings)
