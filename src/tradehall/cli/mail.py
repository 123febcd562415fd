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
    """Send what waits in the outbox, once (by TRADEHALL_SMTP_HOST, or into the mail
    directory)."""
    from tradehall.mail.sender import send_pending

    settings = _settings()
    transport = settings.mail_transport
    if transport is None:
        raise click.ClickException(
            "neither TRADEHALL_SMTP_HOST nor TRADEHALL_MAIL_DIR is set: mail stays in the outbox"
        )

    async def work(services: Any) -> int:
        return await send_pending(services, transport)

    click.echo(f"sent {_with_services(settings, work)} messages")
