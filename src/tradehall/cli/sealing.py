"""`tradehall sealing new-key | rotate`: the master key of sealed bids (ADR 27)."""

from __future__ import annotations

import click

from tradehall.cli.common import _contexts, _settings, _store
from tradehall.context import event_logs
from tradehall.settings import SettingsError


@click.group()
def sealing() -> None:
    """The master key that wraps sealed bids' data keys."""


@sealing.command("new-key")
def sealing_new_key() -> None:
    """Print a fresh master key (for TRADEHALL_SEALING_KEY or its file): keep it safe."""
    from tradehall.marketplace.sealing.master import new_key_text

    click.echo(new_key_text())


@sealing.command("rotate")
def sealing_rotate() -> None:
    """Wrap every data key under the current master key (TRADEHALL_SEALING_KEY), opening them
    with the old ones (TRADEHALL_SEALING_OLD_KEYS); then the old keys may be dropped."""
    from tradehall.marketplace.sealing.keys import SealingError, SealingKeys
    from tradehall.marketplace.sealing.master import MasterKeys

    settings = _settings()
    try:
        master = MasterKeys.from_settings(settings)
    except SettingsError as error:
        raise click.ClickException(str(error)) from None
    store = _store(settings)
    store.prepare_for_serving(event_logs(_contexts()))
    engine = store.sync_engine()
    try:
        changed = SealingKeys(engine, master).rewrap()
    except SealingError as error:
        raise click.ClickException(f"nothing changed: {error}") from None
    finally:
        engine.dispose()
    click.echo(
        f"re-wrapped {changed} keys under the master key {master.current_fingerprint}; "
        "every key is now wrapped by it"
    )
