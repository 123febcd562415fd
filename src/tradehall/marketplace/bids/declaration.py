"""The bids, declared once: a sealed log of their own (nothing follows it), an Application whose
events are encrypted under each tender's key, the bid routes and the opening clock (ADR 27); and
the requests for quote's routes, whose quotes are sealed in the same log (issue 18)."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from datetime import timedelta
from typing import Any, cast

from marketplace.application import MarketplaceApp
from marketplace.bids.application import BidsApp
from membership.application import MembershipApp
from membership.marks.application import MarksApp
from tradehall.api.marketplace import bids, quotes
from tradehall.context import ContextDeclaration
from tradehall.marketplace.bids import LOG
from tradehall.marketplace.bids.opening import OpeningParts, open_due_bids, run_opening_clock
from tradehall.marketplace.sealing.files import SealedFileStore
from tradehall.marketplace.sealing.ids import KeyedBidIds
from tradehall.marketplace.sealing.keys import SealingKeys
from tradehall.marketplace.sealing.mapper import sealed_mapper_factory
from tradehall.marketplace.sealing.master import MasterKeys
from tradehall.services import Services
from tradehall.settings import Settings
from tradehall.store.base import Store


class SealedBidsApp(BidsApp):
    """The bids' Application with the sealing keys it reads through: closed with it."""

    name = LOG.name  # the library would name a subclass after itself

    def __init__(self, env: dict[str, str], keys: SealingKeys) -> None:
        self.keys = keys
        super().__init__(env, ids=KeyedBidIds(keys), mapper_factory=sealed_mapper_factory(keys))

    def close(self) -> None:
        super().close()
        self.keys.engine.dispose()


def _application(env: dict[str, str], settings: Settings, store: Store) -> SealedBidsApp:
    keys = SealingKeys(store.sync_engine(), MasterKeys.from_settings(settings))
    return SealedBidsApp(env, keys)


def _opening_parts(services: Services) -> OpeningParts:
    apps = services.applications
    return OpeningParts(
        bids=cast(BidsApp, apps[LOG.name]),
        marketplace=cast(MarketplaceApp, apps["marketplace"]),
        membership=cast(MembershipApp, apps["membership"]),
        marks=cast(MarksApp, apps["marks"]),
        keys=services.sealing,
        clock=services.clock,
        margin=timedelta(seconds=services.settings.bid_opening_margin_seconds),
        public_url=services.settings.public_url,
    )


def _clock(services: Services, interval: float, stop: asyncio.Event) -> Coroutine[Any, Any, None]:
    return run_opening_clock(_opening_parts(services), services.run, interval, stop)


async def _tick(services: Services) -> str:
    opened, discarded = await services.run(open_due_bids, _opening_parts(services))
    return f"tenders and requests for quote opened {opened}, discarded {discarded}"


def _bid_files(services: Services) -> SealedFileStore:
    return SealedFileStore(services.settings.evidence_path / "bids", services.sealing)


def _sealing(services: Services) -> SealingKeys:
    return services.sealing


BIDS = ContextDeclaration(
    name="bids",
    log=LOG,
    application=_application,
    # Requests for quote with their quotes: the quotes are sealed here (issue 18).
    controllers=(*bids.CONTROLLERS, *quotes.CONTROLLERS),
    clock_jobs=(_clock,),
    clock_ticks=(_tick,),
    dependencies={"bid_files": _bid_files, "sealing": _sealing},
)
