"""`tradehall mail send`."""

from __future__ import annotations

from typing import Any

import click

from tradehall.cli.common import _settings, _with_services


@click.group()
def mail() -> None:
    """The outbox of notices to members."""


@mail.command("send")
def mail_send() -> None:
    """Send what waits in the outbox, once (TRADEHALL_SMTP_HOST must be set)."""
    from tradehall.mail.sender import send_pending

    settings = _settings()
    smtp = settings.smtp
    if smtp is None:
        raise click.ClickException("TRADEHALL_SMTP_HOST is not set: mail stays in the outbox")

    async def work(services: Any) -> int:
        return await send_pending(services, smtp)

    click.echo(f"sent {_with_services(settings, work)} messages")
