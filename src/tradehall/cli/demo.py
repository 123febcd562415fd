"""`tradehall demo`."""

from __future__ import annotations

import click

from tradehall.cli.common import _contexts, _settings, _store
from tradehall.context import event_logs
from tradehall.settings import Settings


def _seed_demo(settings: Settings) -> None:
    import asyncio

    from tradehall.dev.demo import seed_demo
    from tradehall.services import build_services

    if settings.is_production:
        raise click.ClickException("demo data is not for production")
    contexts = _contexts()
    store = _store(settings)
    store.prepare_for_serving(event_logs(contexts))

    async def seed() -> None:
        # Each context's reference data first (prepare_data), then the demo's organisations.
        services = build_services(settings, store=store, contexts=contexts)
        try:
            await services.prepare_data()
            report = await seed_demo(services)
        finally:
            await services.close()
        what = f"seeded {report.organisations} organisations" if report.created else "present"
        click.echo(f"Demo data {what}.")
        click.echo(f"  staff:  {report.staff_email} / {report.staff_password}")
        click.echo(f"  member: {report.member_email} / {report.member_password}")

    asyncio.run(seed())


@click.command()
def demo() -> None:
    """Seed demo data: dozens of organisations, applications and decisions, a staff user."""
    settings = _settings()
    _seed_demo(settings)
