"""`tradehall serve` and `tradehall migrate`."""

from __future__ import annotations

import os

import click
import structlog

from tradehall.cli.common import _contexts, _settings, _store
from tradehall.cli.demo import _seed_demo
from tradehall.context import event_logs
from tradehall.logging import configure_logging
from tradehall.settings import MAX_WORKERS, Settings

# What each worker process serves when there are several (uvicorn imports it in each).
APP_FACTORY = "tradehall.api.app:create_app_from_env"


def refuse_workers_on_sqlite(settings: Settings, workers: int) -> None:
    """The embedded store has one writer and wakes its projector within the process: it is
    served by one process only."""
    if workers > 1 and not settings.database_url:
        raise click.UsageError(
            f"--workers {workers} (TRADEHALL_WORKERS) needs PostgreSQL (TRADEHALL_DATABASE_URL): "
            "the embedded SQLite store is served by one worker"
        )


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option(
    "--workers",
    type=click.IntRange(1, MAX_WORKERS),
    default=None,
    help="API processes on the port (default TRADEHALL_WORKERS, else 1; more than 1 needs "
    "PostgreSQL). The projector, clocks and senders run once across them (ADR 37).",
)
@click.option("--demo", "with_demo", is_flag=True, help="seed demo data first (`tradehall demo`)")
def serve(host: str, port: int, workers: int | None, with_demo: bool) -> None:
    """Serve the API (embedded SQLite in TRADEHALL_DATA_DIR unless TRADEHALL_DATABASE_URL)."""
    import uvicorn

    from tradehall.api.app import create_app

    settings = _settings()
    count = settings.workers if workers is None else workers
    refuse_workers_on_sqlite(settings, count)
    configure_logging(settings.log_level)
    if with_demo:
        _seed_demo(settings)
        if not settings.stripe_secret_key:
            from tradehall.dev.stripe_demo import with_stripe_standin

            settings = with_stripe_standin(settings, host, port)
    structlog.get_logger("tradehall").info(
        "serving",
        url=f"http://{host}:{port}",
        api_docs=f"http://{host}:{port}/schema/swagger",
        workers=count,
    )
    if count == 1:
        app = create_app(settings, contexts=_contexts())
        uvicorn.run(app, host=host, port=port, access_log=False, log_config=None)
        return
    # Each worker process builds its app from the environment: what the demo changed in the
    # settings (the Stripe stand-in, served by this process) goes there for them.
    if with_demo and settings.stripe_secret_key:
        os.environ["TRADEHALL_STRIPE_SECRET_KEY"] = settings.stripe_secret_key
        os.environ["TRADEHALL_STRIPE_WEBHOOK_SECRET"] = settings.stripe_webhook_secret or ""
        os.environ["TRADEHALL_STRIPE_API_BASE"] = settings.stripe_api_base or ""
    uvicorn.run(
        APP_FACTORY,
        factory=True,
        workers=count,
        host=host,
        port=port,
        access_log=False,
        log_config=None,
    )


@click.command()
def migrate() -> None:
    """Create the event stores' tables and run the Alembic migrations."""
    settings = _settings()
    store = _store(settings)
    store.migrate(event_logs(_contexts()))  # each context's event tables, then Alembic
    click.echo(f"{store.name}: schema current")
