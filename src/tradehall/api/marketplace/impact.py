"""The association's impact over HTTP (issue 17), read from the impact ledger: what members won
and delivered. Anyone reads the association's totals and a quarterly SVG chart; staff read the
reports by member, buyer, year or quarter, and download them as CSV; a member's users read their
own organisation's. Social value is valued by the proxy-value table (its versions by date,
/api/v1/impact/proxy-values)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, TypeVar
from uuid import UUID

from litestar import Controller, Response, get
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.exceptions import ValidationException
from litestar.params import FromPath, QueryParameter
from litestar.serialization import encode_json
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from marketplace.application import MarketplaceApp
from marketplace.working_days import london_date
from projections.impact_ledger import (
    PERIODS,
    LedgerContract,
    LedgerDelivery,
    Rate,
    Totals,
    ledger,
    ledgers,
    member_years,
    period_ledgers,
)
from projections.impact_ledger import Grouping as LedgerGrouping
from projections.impact_query import ledger_contracts, ledger_deliveries, names_of, period_rows
from projections.impact_tables import impact_changes
from projections.tables import projection_positions
from tradehall.api.access import PUBLIC, own_organisation_or_staff, rule, staff_only
from tradehall.api.commands import Commands
from tradehall.api.downloads import CSV, csv_attachment
from tradehall.api.marketplace.impact_cache import LedgerState, answers_of
from tradehall.api.marketplace.schemas.impact import (
    Figure,
    Grouping,
    ImpactGroupView,
    ImpactReportView,
    ImpactSummaryView,
    MemberImpactView,
)
from tradehall.api.read_models import ReadModel, read_model
from tradehall.api.reads import PositionParam, with_consistency
from tradehall.marketplace.impact.chart import quarterly_chart
from tradehall.marketplace.impact.report import group_view, named_groups, rate_of, report_csv
from tradehall.store.snapshots import one_snapshot

# The projection whose tables these reads use (read-your-writes waits on it).
PROJECTION = "impact"
# The organisations' names (tender_buyers): the tenders projection's, from the membership log.
NAMES_PROJECTION, MEMBERSHIP = "tenders", "membership"
SVG = "image/svg+xml"
# A drawing, never a page: nothing in it runs, nothing is fetched.
_SVG_HEADERS = {"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"}
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_FIRST_YEAR, _LAST_YEAR = 2000, 2100
_Answer = TypeVar("_Answer", bytes, str)
_LEDGER_TERMS = (
    "A contract counts once in the association's, a buyer's and a period's totals (by its "
    "signing day); a consortium's counts for each partner with its value, estimate and "
    "commitments split by share (whole pence and units, largest remainder). Delivered means "
    "confirmed by the buyer, counted for the party that reported it, on its period's last day. "
    "Money is per currency, never converted; the estimate is compared with the value awarded "
    "(as signed). Social value in GBP pence: each quantity times the proxy value per unit in "
    "effect on the day (/api/v1/impact/proxy-values), rounded to whole pence per group (a "
    "rate in fractions of a penny can leave partners' pence a penny off the whole). Days are "
    "London's."
)
# What the public figures leave out, and why (impact_query's `public_only`).
_PUBLIC_TERMS = (
    "Only contracts whose award is public count here: a tender's (its award notice), not a "
    "request for quote's, whose accepted price only its requester and staff see (staff's "
    "reports and a member's own figures count it)."
)

DayParam = Annotated[str | None, QueryParameter(max_length=10, description="YYYY-MM-DD")]
GroupingParam = Annotated[
    Grouping, QueryParameter(name="by", description="member, buyer, year or quarter")
]
FigureParam = Annotated[
    Figure,
    QueryParameter(
        name="figure",
        description="social_value (default), contract_value, jobs or savings (GBP only)",
    ),
]
YearParam = Annotated[
    int | None,
    QueryParameter(
        name="year", ge=_FIRST_YEAR, le=_LAST_YEAR, description="the year (default: this one)"
    ),
]


def _refused(name: str, message: str) -> ValidationException:
    return ValidationException(
        f"{name}: {message}", extra=[{"key": name, "message": message, "source": "query"}]
    )


def _day(name: str, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        if not _DAY.fullmatch(value):
            raise ValueError
        day = date.fromisoformat(value)
    except ValueError:
        raise _refused(name, "a date, YYYY-MM-DD") from None
    if not _FIRST_YEAR <= day.year <= _LAST_YEAR:
        raise _refused(name, f"a date from {_FIRST_YEAR} to {_LAST_YEAR}")
    return day


def _window(since: str | None, until: str | None) -> tuple[date | None, date | None]:
    start, end = _day("since", since), _day("until", until)
    if start is not None and end is not None and end <= start:
        raise _refused("until", "after since")
    return start, end


class _Ledger:
    """One read of the ledger and the proxy-value table, for one answer."""

    def __init__(
        self, contracts: list[LedgerContract], deliveries: list[LedgerDelivery], rate: Rate
    ) -> None:
        self.contracts, self.deliveries, self.rate = contracts, deliveries, rate

    def by(self, grouping: LedgerGrouping, **window: date | None) -> dict[str, Totals]:
        return ledger(self.contracts, self.deliveries, self.rate, grouping, **window)


async def _ledger_state(
    engine: AsyncEngine, commands: Commands, marketplace: MarketplaceApp, names: bool = False
) -> LedgerState:
    """What an answer read now is read from (impact_cache): the ledger's last change and (for
    `names`) the names' position, read before the ledger and the names, so neither is behind
    them; the proxy values' version before their tables, likewise."""
    async with engine.connect() as connection:
        changed = await connection.scalar(select(func.max(impact_changes.c.position)))
        named: int | None = None
        if names:
            found = await connection.scalar(
                select(projection_positions.c.position).where(
                    projection_positions.c.projection == NAMES_PROJECTION,
                    projection_positions.c.log == MEMBERSHIP,
                )
            )
            named = found or 0
    version = await commands.run(marketplace.proxy_values_version)
    return LedgerState(changed or 0, version, named)


@dataclass(frozen=True)
class _Impact:
    """What every impact answer is read from, as the `impact` dependency: the ledger's tables
    (engine), the proxy values (marketplace), the worker threads (commands) and the answers
    kept (the app's state). Only bundled (no I/O): each handler reads when it needs to."""

    state: State
    engine: AsyncEngine
    commands: Commands
    marketplace: MarketplaceApp

    async def read(
        self, party: UUID | None = None, *, with_parties: bool = True, public_only: bool = False
    ) -> _Ledger:
        """The ledger's rows; `with_parties` False for the answers no consortium's split
        changes (the association's, a buyer's, a period's); `public_only`, of the contracts
        whose award is public (impact_query)."""
        tables = await self.commands.run(self.marketplace.proxy_tables)
        async with self.engine.connect() as connection:
            contracts = await ledger_contracts(
                connection, london_date, party, with_parties=with_parties, public_only=public_only
            )
            ids = None if party is None else [c.contract_id for c in contracts]
            deliveries = await ledger_deliveries(connection, london_date, ids)
        return _Ledger(contracts, deliveries, rate_of(tables))

    async def by_period(
        self,
        groupings: tuple[LedgerGrouping, ...],
        since: date | None = None,
        until: date | None = None,
        *,
        public_only: bool = False,
    ) -> dict[LedgerGrouping, dict[str, Totals]]:
        """The association's, the years' or the quarters' totals, from the ledger summed by day
        (no consortium is split in them); row by row only where those sums could differ
        (forged figures past exact Decimals). `public_only`: the public's, of the contracts
        whose award is public (a tender's; not an accepted quote's, whose price is private)."""
        tables = await self.commands.run(self.marketplace.proxy_tables)
        async with self.engine.connect() as connection:
            # Its three statements at one moment: a contract signed between two of them is in
            # all of the sums or in none.
            at_once = await one_snapshot(connection)
            rows = await period_rows(
                at_once, london_date, since=since, until=until, public_only=public_only
            )
        window = {"since": since, "until": until}
        found = await self.commands.run(period_ledgers, *rows, rate_of(tables), groupings, **window)
        if found is not None:
            return found
        read = await self.read(with_parties=False, public_only=public_only)
        totals: dict[LedgerGrouping, dict[str, Totals]] = await self.commands.run(
            ledgers, read.contracts, read.deliveries, read.rate, groupings, **window
        )
        return totals

    async def cached(
        self, key: Hashable, read: Callable[[], Awaitable[_Answer]], names: bool = False
    ) -> _Answer:
        """The answer under `key` as the ledger stands now, read by `read` only if not kept."""
        at = await _ledger_state(self.engine, self.commands, self.marketplace, names)
        return await answers_of(self.state).answer(key, at, read)

    async def report(self, asked: _Asked) -> list[Any]:
        """A staff report's groups, named where they are organisations."""
        grouping = LedgerGrouping(asked.by)
        if grouping in PERIODS:
            by = await self.by_period((grouping,), asked.since, asked.until)
            groups = by[grouping]
        else:
            read = await self.read(with_parties=asked.by == "member")
            groups = await self.commands.run(
                read.by, grouping, since=asked.since, until=asked.until
            )
        if asked.by in _NAMED:
            async with self.engine.connect() as connection:
                names = await names_of(connection, [UUID(key) for key in groups])
            return await self.commands.run(named_groups, groups, names)
        return [group_view(groups[key]) for key in sorted(groups)]


def _impact(
    state: State,
    engine: NamedDependency[AsyncEngine],
    commands: NamedDependency[Commands],
    marketplace: NamedDependency[MarketplaceApp],
) -> _Impact:
    return _Impact(state, engine, commands, marketplace)


_DEPENDENCIES = {
    "impact": Provide(_impact, sync_to_thread=False),
    "read_model": read_model(PROJECTION),
}


# The arithmetic, off the event loop (it reads every contract the request covers).


_SUMMARY = (LedgerGrouping.ASSOCIATION, LedgerGrouping.YEAR)


def _summary_totals(
    found: dict[LedgerGrouping, dict[str, Totals]],
) -> tuple[ImpactGroupView, list[ImpactGroupView]]:
    whole = found[LedgerGrouping.ASSOCIATION].get("all") or Totals("all")
    years = [group_view(t) for _, t in sorted(found[LedgerGrouping.YEAR].items())]
    return group_view(whole), years


def _member_totals(
    read: _Ledger, member: UUID, start: date | None, end: date | None
) -> tuple[ImpactGroupView, list[ImpactGroupView]]:
    """The member's part all time (or in the window), and year by year within it: every year
    its contracts were signed or delivered in, within the window, zeros too. One pass."""
    whole, by_year = member_years(
        read.contracts, read.deliveries, read.rate, member, since=start, until=end
    )
    years = []
    for year in sorted(
        {c.signed_on.year for c in read.contracts} | {d.on.year for d in read.deliveries}
    ):
        # The last year a date holds has no next (a stored time at its edge: another writer's).
        first, last = date(year, 1, 1), date(min(year + 1, date.max.year), 1, 1)
        if (start is not None and last <= start) or (end is not None and first >= end):
            continue
        view = group_view(by_year.get(year) or Totals(str(member)))
        view.key = str(year)
        years.append(view)
    return group_view(whole), years


@dataclass(frozen=True)
class _Asked:
    """A staff report's parameters, the JSON's and the CSV's alike."""

    by: Grouping
    since: date | None
    until: date | None


def _report_asked(
    by: GroupingParam = "member", since: DayParam = None, until: DayParam = None
) -> _Asked:
    start, end = _window(since, until)
    return _Asked(by, start, end)


_NAMED = ("member", "buyer")  # the groupings that show organisations' names
_REPORT_ASKED = {"asked": Provide(_report_asked, sync_to_thread=False)}


class ImpactController(Controller):
    path = "/api/v1/impact"
    tags = ["impact"]
    dependencies = _DEPENDENCIES

    @get(
        opt=rule(PUBLIC),
        summary="The association's impact: what its members won and delivered",
        description=(
            "Totals for the association, all time and year by year: contracts won, their value "
            "per currency, estimates against awarded values, and each social-value measure "
            f"committed against delivered, with its value in pence. {_PUBLIC_TERMS} "
            f"{_LEDGER_TERMS}"
        ),
    )
    async def summary(
        self,
        impact: NamedDependency[_Impact],
        read_model: NamedDependency[ReadModel],
        position: PositionParam = None,
    ) -> Response[ImpactSummaryView]:
        consistent = await read_model.consistent(position)

        async def read() -> bytes:
            found = await impact.by_period(_SUMMARY, public_only=True)
            whole, years = await impact.commands.run(_summary_totals, found)
            body = ImpactSummaryView(
                totals=whole,
                years=years,
                proxy_values="/api/v1/impact/proxy-values",
                consistent=consistent,
            )
            return encode_json(body)

        answer = await impact.cached(("summary", consistent), read)
        return with_consistency(answer, consistent)

    @get(
        "/report",
        opt=rule(staff_only()),
        dependencies=_REPORT_ASKED,
        summary="The impact report by member, buyer, year or quarter (staff)",
        description=(
            "`by`: member (a consortium's partners each with its share), buyer, year or "
            "quarter; `since` (inclusive) and `until` (exclusive), YYYY-MM-DD: contracts signed "
            "and deliveries whose period ended between them. The same as CSV at "
            f"/api/v1/impact/report.csv. {_LEDGER_TERMS}"
        ),
    )
    async def report(
        self,
        impact: NamedDependency[_Impact],
        asked: NamedDependency[_Asked],
        read_model: NamedDependency[ReadModel],
        position: PositionParam = None,
    ) -> Response[ImpactReportView]:
        consistent = await read_model.consistent(position)

        async def read() -> bytes:
            groups = await impact.report(asked)
            body = ImpactReportView(
                by=asked.by,
                since=asked.since,
                until=asked.until,
                groups=groups,
                consistent=consistent,
            )
            return await impact.commands.run(encode_json, body)

        named = asked.by in _NAMED
        answer = await impact.cached(("report", asked, consistent), read, named)
        return with_consistency(answer, consistent)

    @get(
        "/report.csv",
        opt=rule(staff_only()),
        dependencies=_REPORT_ASKED,
        media_type=CSV,
        summary="The impact report as CSV (staff)",
        description=(
            "The report's groups as rows for a spreadsheet: per group a `money` row a currency, "
            "a `measure` row a social-value measure (values in GBP pence) and a `social_value` "
            "row; filter by `kind` before summing a column. Parameters as the JSON report's."
        ),
    )
    async def report_csv(
        self, impact: NamedDependency[_Impact], asked: NamedDependency[_Asked]
    ) -> Response[str]:
        async def read() -> str:
            groups = await impact.report(asked)
            return await impact.commands.run(report_csv, groups)

        named = asked.by in _NAMED
        text = await impact.cached(("report.csv", asked), read, named)
        return csv_attachment(text, f"impact-by-{asked.by}.csv")

    @get(
        "/chart.svg",
        opt=rule(PUBLIC),
        media_type=SVG,
        summary="Impact per quarter of a year as an SVG bar chart",
        description=(
            "For an annual report: `figure` is social_value (committed and delivered, £ by the "
            "proxy values), contract_value (£ won), jobs (local jobs and apprenticeships "
            "delivered) or savings (£ estimated less awarded); money in GBP only. `year`: "
            f"default this year (London). {_PUBLIC_TERMS}"
        ),
    )
    async def chart(
        self,
        impact: NamedDependency[_Impact],
        figure: FigureParam = "social_value",
        year: YearParam = None,
    ) -> Response[str]:
        shown = year if year is not None else london_date(impact.commands.clock.now()).year

        async def read() -> str:
            first, last = date(shown, 1, 1), date(shown + 1, 1, 1)
            found = await impact.by_period((LedgerGrouping.QUARTER,), first, last, public_only=True)
            by_quarter = found[LedgerGrouping.QUARTER]
            return await impact.commands.run(quarterly_chart, figure, shown, by_quarter)

        svg = await impact.cached(("chart", figure, shown), read)
        return Response(svg, media_type=SVG, headers=_SVG_HEADERS)


class MemberImpactController(Controller):
    path = "/api/v1/organisations/{organisation_id:uuid}/impact"
    tags = ["impact"]
    dependencies = _DEPENDENCIES

    @get(
        opt=rule(own_organisation_or_staff()),
        summary="The organisation's own impact: what it won and delivered",
        description=(
            "Its part of the contracts it is a party to (a consortium's by its share) and what "
            "it reported and the buyer confirmed, all time (or from `since` to before `until`) "
            f"and year by year. {_LEDGER_TERMS}"
        ),
    )
    async def mine(
        self,
        impact: NamedDependency[_Impact],
        read_model: NamedDependency[ReadModel],
        organisation_id: FromPath[UUID],
        since: DayParam = None,
        until: DayParam = None,
        position: PositionParam = None,
    ) -> Response[MemberImpactView]:
        start, end = _window(since, until)
        consistent = await read_model.consistent(position)

        async def read() -> bytes:
            ledger = await impact.read(party=organisation_id)
            whole, years = await impact.commands.run(
                _member_totals, ledger, organisation_id, start, end
            )
            body = MemberImpactView(
                organisation_id=str(organisation_id),
                since=start,
                until=end,
                totals=whole,
                years=years,
                consistent=consistent,
            )
            return encode_json(body)

        key = ("member", organisation_id, start, end, consistent)
        answer = await impact.cached(key, read)
        return with_consistency(answer, consistent)


CONTROLLERS: tuple[type[Controller], ...] = (ImpactController, MemberImpactController)
