"""The social-value proxy-value table over HTTP (issue 17): anyone reads every version (the
shipped default first) and which is in effect today; staff add a version taking effect on a
date. The impact ledger values social value with the version in effect on the relevant date."""

from __future__ import annotations

from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from marketplace.application import MarketplaceApp
from marketplace.impact.proxies import ProxyTable, parse_table, table_on
from marketplace.working_days import london_date
from tradehall.api.access import PUBLIC, rule, staff_only
from tradehall.api.commands import Commands, etag
from tradehall.api.marketplace.schemas.impact_proxies import (
    ProxyTableBody,
    ProxyTablesView,
    ProxyTableView,
    ProxyValueView,
)
from tradehall.api.schemas.common import CommandResult
from tradehall.marketplace import LOG

PROXY_VALUES = "/impact/proxy-values"


def _table(data: ProxyTableBody) -> ProxyTable:
    rows = [(v.measure, v.pence_per_unit, v.source) for v in data.values]
    return parse_table(data.effective_from, rows, data.note)


def _view(table: ProxyTable, shipped: bool, in_effect: bool) -> ProxyTableView:
    return ProxyTableView(
        effective_from=table.effective_from,
        note=table.note,
        shipped=shipped,
        in_effect=in_effect,
        values=[
            ProxyValueView(
                measure=v.measure,
                unit=v.unit,
                pence_per_unit=str(v.pence_per_unit),
                source=v.source,
            )
            for v in table.values.values()
        ],
    )


class ProxyValuesController(Controller):
    path = "/api/v1"
    tags = ["impact"]

    @get(
        PROXY_VALUES,
        opt=rule(PUBLIC),
        summary="The social-value proxy-value table: every version, and today's",
        description=(
            "What a unit of each social-value measure is worth in pence, version by version: the "
            "default shipped with Tradehall first (from 2000-01-01), then those staff added, by "
            "the date each takes effect. A version is in effect from its date until the next "
            "one's; each figure names its public source. The ETag (and `version`) is what "
            "If-Match names when adding a version."
        ),
    )
    async def listed(
        self,
        commands: NamedDependency[Commands],
        marketplace: NamedDependency[MarketplaceApp],
    ) -> Response[ProxyTablesView]:
        def read() -> tuple[tuple[ProxyTable, ...], int]:
            return marketplace.proxy_tables(), marketplace.proxy_values_version()

        tables, version = await commands.run(read)
        today = london_date(commands.clock.now())
        current = table_on(tables, today)
        versions = [
            _view(table, shipped=index == 0, in_effect=table is current)
            for index, table in enumerate(tables)
        ]
        body = ProxyTablesView(
            today=today, in_effect=current.effective_from, version=version, versions=versions
        )
        return Response(body, headers={"ETag": etag(version)})

    @post(
        PROXY_VALUES,
        opt=rule(staff_only()),
        status_code=201,
        summary="Add a version of the proxy-value table, taking effect on a date (staff)",
        description=(
            "Every measure exactly once, each with its pence per unit (a decimal string, at most "
            "4 places, 0 to 1000000000) and the public source of the figure (title and URL). The "
            "date may be past or future: reports apply each version by date. Another version "
            "on the same date (the shipped table's 2000-01-01 too) is a 409; a bad value is a "
            "400 or 422 naming the field (`values[2].pence_per_unit`). If-Match: the table's "
            'version as the list gave it ("0" before the first is added); another\'s addition '
            "in between is a 409."
        ),
    )
    async def add(
        self,
        commands: NamedDependency[Commands],
        marketplace: NamedDependency[MarketplaceApp],
        data: JSONBody[ProxyTableBody],
    ) -> Response[CommandResult]:
        return await commands.execute(
            LOG, marketplace.add_proxy_table, _table(data), status_code=201
        )


# The controllers the marketplace declaration serves.
CONTROLLERS: tuple[type[Controller], ...] = (ProxyValuesController,)
