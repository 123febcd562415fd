"""The demo's saved searches (issue 17): the demo member (the Tees Valley bakery) saved two
searches before the demo's tenders were published and its outside opportunities first
released, so its alerts feed lists them unread, and the outbox holds the immediate search's
messages. Event time decides (ADR 33): the searches are dated `SAVED_BEFORE` the demo runs,
before the outside opportunities' first releases (two to nine days before) and after the
tenders published long ago (33 days and more: closed by now, they alert nobody)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from uuid import NAMESPACE_URL, UUID, uuid5

from marketplace.alerts.criteria import Criteria, Delivery
from marketplace.application import MarketplaceApp
from sharedkernel.events import Context, user_actor
from tradehall.membership.registration import Registrar

SAVED_BEFORE = timedelta(days=20)
_SEARCH_IDS = uuid5(NAMESPACE_URL, "https://tradehall.invalid/demo-saved-search")


@dataclass(frozen=True)
class DemoSearch:
    name: str
    cpv_prefixes: tuple[str, ...]
    delivery: Delivery

    @property
    def id(self) -> UUID:
        return uuid5(_SEARCH_IDS, self.name)


# Food and catering at once (the civic buildings' catering and platters; bread, milk and
# dairy in Wales); grounds, forestry and cleaning in a daily digest (the parks, the council's
# office cleaning, a forestry framework, a window cleaning programme).
SEARCHES = (
    DemoSearch("Food and catering", ("15", "5552"), Delivery.IMMEDIATE),
    DemoSearch("Grounds, trees and cleaning", ("77", "909"), Delivery.DAILY),
)


async def seed_alerts(
    registrar: Registrar, marketplace: MarketplaceApp, member: tuple[UUID, UUID, str]
) -> None:
    """The member's searches (organisation, first user, name), saved `SAVED_BEFORE` now."""
    organisation_id, user_id, _ = member
    saved_at = registrar.clock.now().replace(second=0, microsecond=0) - SAVED_BEFORE
    context = Context(user_actor(user_id), "demo-saved-searches", saved_at)
    standing = await registrar.run(
        registrar.membership.is_in_good_standing, organisation_id, saved_at
    )
    for search in SEARCHES:
        await registrar.run(
            marketplace.save_search,
            context,
            organisation_id,
            user_id,
            search.name,
            Criteria.parse(cpv_prefixes=search.cpv_prefixes),
            search.delivery,
            standing,
            search.id,
        )


def alert_lines(email: str, password: str) -> list[tuple[str, str]]:
    at_once, daily = SEARCHES
    return [
        (
            "alerts",
            f'the demo member saved "{at_once.name}" (a message an alert: in the outbox) and '
            f'"{daily.name}" (a daily digest) before the tenders were published: its alerts '
            "wait unread",
        ),
        (
            "try",
            f"sign in as {email} / {password}, then GET /api/v1/organisations/{{its id}}"
            "/alerts (unread first) and /saved-searches",
        ),
        ("try", "tradehall clock tick (queues today's digest of the daily search's alerts)"),
    ]
