"""Saved searches and their alerts over HTTP (issue 17): an organisation's users save, read,
change and delete its searches, read its alerts feed (unread first, or by time) and mark an
alert read. The searches and alerts are read from the alert follower's records
(tradehall.marketplace.alerts); another organisation's search or alert is a 404."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal
from uuid import UUID

from litestar import Controller, Response, delete, get, post, put
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, JSONBody, QueryParameter
from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from marketplace.alerts.book import MAX_SEARCHES
from marketplace.alerts.criteria import Criteria
from marketplace.alerts.criteria import Delivery as DeliveryKind
from marketplace.alerts.search import SavedSearch
from marketplace.application import MarketplaceApp
from membership.application import MembershipApp
from sharedkernel.errors import Conflict
from sharedkernel.writing import Saved
from tradehall.api.access import own_organisation, rule
from tradehall.api.commands import (
    Commands,
    command_response,
    current_user,
    etag,
    idempotency_key,
)
from tradehall.api.marketplace.schemas.alerts import (
    AlertsView,
    AlertView,
    SavedSearchBody,
    SavedSearchesView,
    SavedSearchView,
)
from tradehall.api.read_models import ReadModel, list_response, read_model
from tradehall.api.reads import PositionParam, with_consistency
from tradehall.api.schemas.common import CommandResult
from tradehall.marketplace import LOG
from tradehall.marketplace.alerts.follower import mark_read
from tradehall.marketplace.alerts.tables import alert_searches, alerts

# The follower whose records these reads use (read-your-writes waits on it).
PROJECTION = "alerts"
SEARCHES = "/organisations/{organisation_id:uuid}/saved-searches"
SEARCH = SEARCHES + "/{search_id:uuid}"
ALERTS = "/organisations/{organisation_id:uuid}/alerts"

OrderParam = Annotated[
    Literal["unread", "time"],
    QueryParameter(name="order", description="unread first (then newest), or newest first"),
]
LimitParam = Annotated[int, QueryParameter(name="limit", ge=1, le=200)]


def _criteria(data: SavedSearchBody) -> Criteria:
    return Criteria.parse(
        cpv_prefixes=data.cpv_prefixes,
        regions=data.regions,
        min_value_minor=data.min_value_minor,
        max_value_minor=data.max_value_minor,
        keywords=data.keywords,
        vcse_only=data.vcse_only,
        include_outside=data.include_outside,
    )


def _search_view(row: Any) -> SavedSearchView:
    criteria = Criteria.from_data(json.loads(row.criteria))
    return SavedSearchView(
        id=row.search_id,
        organisation_id=row.organisation_id,
        user_id=row.user_id,
        name=row.name,
        cpv_prefixes=list(criteria.cpv_prefixes),
        regions=list(criteria.regions),
        min_value_minor=criteria.min_value_minor,
        max_value_minor=criteria.max_value_minor,
        keywords=list(criteria.keywords),
        vcse_only=criteria.vcse_only,
        include_outside=criteria.include_outside,
        delivery=row.delivery,
        saved_at=row.saved_at,
        changed_at=row.changed_at,
        version=row.version,
    )


def _no_search(search_id: UUID) -> NotFoundException:
    return NotFoundException(f"no saved search {search_id}")


# The follower's records ------------------------------------------------------------------------


async def _searches(connection: AsyncConnection, organisation_id: UUID) -> list[SavedSearchView]:
    """The organisation's saved searches, oldest first."""
    s = alert_searches
    rows = await connection.execute(
        select(s)
        .where(s.c.organisation_id == organisation_id, s.c.deleted.is_(False))
        .order_by(s.c.saved_at, s.c.search_id)
    )
    return [_search_view(row) for row in rows]


async def _search(connection: AsyncConnection, organisation_id: UUID, search_id: UUID) -> Any:
    """The saved search's row, if it is the organisation's (and not deleted); else None."""
    s = alert_searches
    found = await connection.execute(
        select(s).where(
            s.c.search_id == search_id,
            s.c.organisation_id == organisation_id,
            s.c.deleted.is_(False),
        )
    )
    return found.one_or_none()


async def _feed(
    connection: AsyncConnection, organisation_id: UUID, order: str, limit: int
) -> tuple[list[AlertView], int]:
    """The organisation's alerts in the order asked (the first `limit`), and how many it has
    not read in all."""
    a = alerts
    newest = (a.c.created_at.desc(), a.c.alert_id)
    ordering = (case((a.c.read_at.is_(None), 0), else_=1), *newest) if order == "unread" else newest
    rows = await connection.execute(
        select(a).where(a.c.organisation_id == organisation_id).order_by(*ordering).limit(limit)
    )
    items = [
        AlertView(
            id=row.alert_id,
            search_id=row.search_id,
            kind=row.item_kind,
            item_id=row.item_id,
            title=row.title,
            delivery=row.delivery,
            created_at=row.created_at,
            sent=row.message_id is not None,
            read=row.read_at is not None,
            read_at=row.read_at,
        )
        for row in rows
    ]
    unread = await connection.scalar(
        select(func.count())
        .select_from(a)
        .where(a.c.organisation_id == organisation_id, a.c.read_at.is_(None))
    )
    return items, unread or 0


class AlertsController(Controller):
    path = "/api/v1"
    tags = ["saved searches"]
    dependencies = {"read_model": read_model(PROJECTION)}

    @post(
        SEARCHES,
        opt=rule(own_organisation()),
        status_code=201,
        summary="Save a search: alerts for what is published from now on",
        description=(
            "Every part given narrows the search: CPV prefixes (any), ITL regions (any; one "
            "open anywhere matches), a value band in pence (only a known GBP value falls in "
            "it), keywords (all, in the title or description), VCSE-suitable only, outside "
            "opportunities included or not. `delivery`: `immediate` (a message an alert) or "
            "`daily` (one digest a day). Only what is published after the search is saved "
            "alerts (tenders, outside opportunities and requests for quote open to all "
            "members; a request's value is its budget's upper bound); an outside opportunity "
            "must be open and first released after it. "
            "Only a member in good standing saves a search (else a 409); an organisation keeps "
            f"at most {MAX_SEARCHES} (the next is a 409 until one is deleted). With an "
            "`Idempotency-Key`, the search's id follows from the organisation and the key: a "
            "retried request answers the same search and records nothing more; the same key "
            "with another search is a 409; without one, each request is a new search."
        ),
    )
    async def save(
        self,
        commands: NamedDependency[Commands],
        marketplace: NamedDependency[MarketplaceApp],
        membership: NamedDependency[MembershipApp],
        organisation_id: FromPath[UUID],
        data: JSONBody[SavedSearchBody],
    ) -> Response[CommandResult]:
        key = idempotency_key(commands.request)
        user = current_user(commands.request)
        criteria = _criteria(data)
        delivery = DeliveryKind.parse(data.delivery)
        standing = await commands.run(
            membership.is_in_good_standing, organisation_id, commands.clock.now()
        )
        search_id = SavedSearch.id_for(organisation_id, key) if key is not None else None
        try:
            saved = await commands.record(
                marketplace.save_search,
                organisation_id,
                user.id,
                data.name,
                criteria,
                delivery,
                standing,
                search_id,
            )
        except Conflict:
            if search_id is None:
                raise
            found = await commands.run(marketplace.saved_search_as_saved, search_id)
            if found is None or found[0].organisation_id != organisation_id:
                raise
            first, version = found
            asked = SavedSearch.as_asked(data.name, criteria, delivery)
            if (first.name, first.criteria, first.delivery) != asked:
                raise Conflict(
                    "this Idempotency-Key was used for another saved search: "
                    "use a new key for a new search"
                ) from None
            saved = Saved(first.id, version, None)
        return command_response(saved, LOG, status_code=201)

    @get(SEARCHES, opt=rule(own_organisation()), summary="The organisation's saved searches")
    async def listed(
        self,
        read_model: NamedDependency[ReadModel],
        organisation_id: FromPath[UUID],
        position: PositionParam = None,
    ) -> Response[SavedSearchesView]:
        items, consistent = await read_model.query(position, _searches, organisation_id)
        return list_response(SavedSearchesView, items, consistent)

    @get(SEARCH, opt=rule(own_organisation()), summary="One of the organisation's saved searches")
    async def one(
        self,
        read_model: NamedDependency[ReadModel],
        organisation_id: FromPath[UUID],
        search_id: FromPath[UUID],
        position: PositionParam = None,
    ) -> Response[SavedSearchView]:
        row, consistent = await read_model.query(position, _search, organisation_id, search_id)
        if row is None:
            raise _no_search(search_id)
        response = with_consistency(_search_view(row), consistent)
        response.headers["ETag"] = etag(row.version)
        return response

    @put(
        SEARCH,
        opt=rule(own_organisation()),
        status_code=200,
        summary="Change a saved search (If-Match: its version; members in good standing)",
    )
    async def change(
        self,
        commands: NamedDependency[Commands],
        marketplace: NamedDependency[MarketplaceApp],
        membership: NamedDependency[MembershipApp],
        organisation_id: FromPath[UUID],
        search_id: FromPath[UUID],
        data: JSONBody[SavedSearchBody],
    ) -> Response[CommandResult]:
        criteria = _criteria(data)
        delivery = DeliveryKind.parse(data.delivery)
        standing = await commands.run(
            membership.is_in_good_standing, organisation_id, commands.clock.now()
        )
        return await commands.execute(
            LOG,
            marketplace.change_search,
            organisation_id,
            search_id,
            data.name,
            criteria,
            delivery,
            standing,
        )

    @delete(
        SEARCH,
        opt=rule(own_organisation()),
        status_code=200,
        summary="Delete a saved search: no more alerts from it (If-Match: its version)",
    )
    async def remove(
        self,
        commands: NamedDependency[Commands],
        marketplace: NamedDependency[MarketplaceApp],
        organisation_id: FromPath[UUID],
        search_id: FromPath[UUID],
    ) -> Response[CommandResult]:
        return await commands.execute(LOG, marketplace.delete_search, organisation_id, search_id)

    @get(
        ALERTS,
        opt=rule(own_organisation()),
        summary="The organisation's alerts: unread first (then newest), or newest first",
        description=(
            "Each alert's `kind` is what it tells of: `tender`, `opportunity` (an outside "
            "one) or `request` (a request for quote open to all members: read it at "
            "/api/v1/requests-for-quote/{item_id})."
        ),
    )
    async def feed(
        self,
        read_model: NamedDependency[ReadModel],
        organisation_id: FromPath[UUID],
        order: OrderParam = "unread",
        limit: LimitParam = 50,
        position: PositionParam = None,
    ) -> Response[AlertsView]:
        (items, unread), consistent = await read_model.query(
            position, _feed, organisation_id, order, limit
        )
        body = AlertsView(items=items, unread=unread, consistent=consistent)
        return with_consistency(body, consistent)

    @post(
        ALERTS + "/{alert_id:uuid}/read",
        opt=rule(own_organisation()),
        status_code=204,
        summary="Mark an alert read (again: nothing changes)",
    )
    async def read(
        self,
        engine: NamedDependency[AsyncEngine],
        commands: NamedDependency[Commands],
        organisation_id: FromPath[UUID],
        alert_id: FromPath[UUID],
    ) -> None:
        now = commands.clock.now()
        async with engine.begin() as connection:
            found = await connection.run_sync(mark_read, organisation_id, alert_id, now)
        if not found:
            raise NotFoundException(f"no alert {alert_id}")


# The controllers the marketplace declaration serves.
CONTROLLERS: tuple[type[Controller], ...] = (AlertsController,)
