"""`tradehall serve` and `tradehall migrate`."""

from __future__ import annotations

import click
import structlog

from tradehall.cli.common import _contexts, _settings, _store
from tradehall.cli.demo import _seed_demo
from tradehall.context import event_logs
from tradehall.logging import configure_logging


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--demo", "with_demo", is_flag=True, help="seed demo data first (`tradehall demo`)")
def serve(host: str, port: int, with_demo: bool) -> None:
    """Serve the API (embedded SQLite in TRADEHALL_DATA_DIR unless TRADEHALL_DATABASE_URL)."""
    import uvicorn

    from tradehall.api.app import create_app

    settings = _settings()
    configure_logging(settings.log_level)
    if with_demo:
        _seed_demo(settings)
        if not settings.stripe_secret_key:
            from tradehall.dev.stripe_demo import with_stripe_standin

            settings = with_stripe_standin(settings, host, port)
    app = create_app(settings, contexts=_contexts())
    structlog.get_logger("tradehall").info(
        "serving", url=f"http://{host}:{port}", api_docs=f"http://{host}:{port}/schema/swagger"
    )
    uvicorn.run(app, host=host, port=port, access_log=False, log_config=None)


@click.command()
def migrate() -> None:
    """Create the event stores' tables and run the Alembic migrations."""
    settings = _settings()
    store = _store(settings)
    store.migrate(event_logs(_contexts()))  # each context's event tables, then Alembic
    click.echo(f"{store.name}: schema current")
