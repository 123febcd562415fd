"""Membership after admission: turnover, resignation, suspension, expulsion, history."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Annotated
from uuid import UUID

import msgspec
from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.exceptions import ValidationException
from litestar.params import FromPath, JSONBody, QueryParameter

from membership.application import MembershipApp
from sharedkernel.moments import plausible_moment
from tradehall.api.access import own_organisation, own_organisation_or_staff, rule, staff_only
from tradehall.api.membership.organisation_commands import ORGANISATION, OrganisationCommands
from tradehall.api.membership.schemas.membership import (
    DeclareTurnover,
    History,
    HistoryEntry,
    Resignation,
    StandingAt,
    WithReason,
    money_of,
)
from tradehall.api.schemas.common import CommandResult
from tradehall.services import Threads

AsAtParam = Annotated[
    str | None,
    QueryParameter(
        name="as_at",
        max_length=40,
        description="an ISO date (its end) or date-time (UTC if no offset): the membership then",
    ),
]


def parse_as_at(value: str) -> datetime:
    try:
        if len(value) == 10:  # a date: as it stood at the end of that day
            moment = datetime.combine(date.fromisoformat(value), time.max, tzinfo=UTC)
        else:
            moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValidationException(
            "as_at must be an ISO date or date-time",
            extra=[{"key": "as_at", "message": "not an ISO date or date-time", "source": "query"}],
        ) from None
    return plausible_moment("as_at", moment)


class MembershipController(Controller):
    path = "/api/v1/organisations/{organisation_id:uuid}/membership"
    tags = ["membership"]
    dependencies = ORGANISATION

    @post(
        "/turnover",
        opt=rule(own_organisation()),
        status_code=200,
        summary="Declare annual turnover for the next period (in the renewal window)",
    )
    async def declare_turnover(
        self, organisation: NamedDependency[OrganisationCommands], data: JSONBody[DeclareTurnover]
    ) -> Response[CommandResult]:
        turnover = money_of(data.annual_turnover, "annual_turnover.amount_minor")
        return await organisation.execute(organisation.membership.declare_turnover, turnover)

    @post(
        "/resignation",
        opt=rule(own_organisation()),
        status_code=200,
        summary="Resign, at the end of the paid period (default) or now",
    )
    async def resign(
        self, organisation: NamedDependency[OrganisationCommands], data: JSONBody[Resignation]
    ) -> Response[CommandResult]:
        at_period_end = data.effective == "period_end"
        return await organisation.execute(
            organisation.membership.resign, at_period_end=at_period_end
        )

    @post("/suspension", opt=rule(staff_only()), status_code=200, summary="Suspend (staff)")
    async def suspend(
        self, organisation: NamedDependency[OrganisationCommands], data: JSONBody[WithReason]
    ) -> Response[CommandResult]:
        return await organisation.execute(organisation.membership.suspend, data.reason)

    @post("/reinstatement", opt=rule(staff_only()), status_code=200, summary="Reinstate (staff)")
    async def reinstate(
        self, organisation: NamedDependency[OrganisationCommands]
    ) -> Response[CommandResult]:
        return await organisation.execute(organisation.membership.reinstate)

    @post("/expulsion", opt=rule(staff_only()), status_code=200, summary="Expel (staff)")
    async def expel(
        self, organisation: NamedDependency[OrganisationCommands], data: JSONBody[WithReason]
    ) -> Response[CommandResult]:
        return await organisation.execute(organisation.membership.expel, data.reason)

    @get(
        "/history",
        opt=rule(own_organisation_or_staff()),
        summary="Every membership event with its actor and effective time; ?as_at= for then",
    )
    async def history(
        self,
        membership: NamedDependency[MembershipApp],
        threads: NamedDependency[Threads],
        organisation_id: FromPath[UUID],
        as_at: AsAtParam = None,
    ) -> History:
        moment = parse_as_at(as_at) if as_at is not None else None
        entries = await threads.run(membership.history, organisation_id)
        standing = None
        if moment is not None:
            standing = await threads.run(membership.standing_at, organisation_id, moment)
        return History(
            organisation_id=str(organisation_id),
            events=[
                msgspec.convert(entry, HistoryEntry, from_attributes=True) for entry in entries
            ],
            standing=msgspec.convert(standing, StandingAt, from_attributes=True)
            if standing
            else None,
        )
