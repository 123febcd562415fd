"""Closure days over HTTP (issue 13): staff close a weekday from today on (an office move, a strike)
and reopen it; anyone reads the closure days from today on. A closure day is not a working day,
so it lengthens every standstill that crosses it; only the future changes (the domain's rule).
"""

from __future__ import annotations

import re
from datetime import date

from litestar import Controller, Response, delete, get, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from marketplace.application import MarketplaceApp
from marketplace.working_days import london_date
from sharedkernel.errors import InvalidValue
from tradehall.api.access import PUBLIC, rule, staff_only
from tradehall.api.commands import Commands, command_response
from tradehall.api.marketplace.schemas.contracts import (
    ClosureDayBody,
    ClosureDaysView,
    ClosureDayView,
)
from tradehall.api.schemas.common import CommandResult
from tradehall.marketplace import LOG

_ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
DAY = "/closure-days/{day:str}"


def _day(text: str) -> date:
    """The path's day: an ISO date (YYYY-MM-DD), or a problem naming `day`."""
    try:
        if _ISO_DATE.match(text):
            return date.fromisoformat(text)
    except ValueError:
        pass
    raise InvalidValue("day", "a calendar date as YYYY-MM-DD")


def _rule(working_days: int) -> str:
    return (
        "A working day is Monday to Friday, and neither a bank holiday in any part of the UK "
        "(England and Wales, Scotland, Northern Ireland) nor a closure day; a standstill lasts "
        f"{working_days} working days beginning with the day the award notice is published."
    )


class ClosureDaysController(Controller):
    path = "/api/v1"
    tags = ["closure days"]

    @get(
        "/closure-days",
        opt=rule(PUBLIC),
        summary="The closure days from today (London) on, and how working days are counted",
    )
    async def listed(
        self,
        commands: NamedDependency[Commands],
        marketplace: NamedDependency[MarketplaceApp],
    ) -> ClosureDaysView:
        closures = await commands.run(marketplace.closure_days)
        today = london_date(commands.clock.now())
        reasons = closures.reasons if closures is not None else {}
        days = [
            ClosureDayView(day=day, reason=reason)
            for day, reason in sorted(reasons.items())
            if day >= today
        ]
        return ClosureDaysView(rule=_rule(marketplace.standstill.working_days), days=days)

    @put(
        DAY,
        opt=rule(staff_only()),
        status_code=200,
        summary="Close a weekday from today on, with why (staff)",
        description=(
            "The day is an ISO date (YYYY-MM-DD) from today (London) on and not a weekend, else "
            "a 422 naming `day`; a day closed already is a 409."
        ),
    )
    async def close(
        self,
        commands: NamedDependency[Commands],
        marketplace: NamedDependency[MarketplaceApp],
        day: FromPath[str],
        data: JSONBody[ClosureDayBody],
    ) -> Response[CommandResult]:
        saved = await commands.record(marketplace.close_day, _day(day), data.reason)
        return command_response(saved, LOG)

    @delete(
        DAY,
        opt=rule(staff_only()),
        status_code=200,
        summary="Reopen a closed day after today (staff)",
        description="A day that is not closed is a 404; today or a past day is a 422 naming `day`.",
    )
    async def reopen(
        self,
        commands: NamedDependency[Commands],
        marketplace: NamedDependency[MarketplaceApp],
        day: FromPath[str],
    ) -> Response[CommandResult]:
        saved = await commands.record(marketplace.reopen_day, _day(day))
        return command_response(saved, LOG)


# The controllers the marketplace declaration serves.
CONTROLLERS: tuple[type[Controller], ...] = (ClosureDaysController,)
