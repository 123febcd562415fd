"""The member list as CSV, for staff."""

from __future__ import annotations

from litestar import Controller, Response, get
from litestar.di import NamedDependency

from membership.application import MembershipApp
from tradehall.api.access import rule, staff_only
from tradehall.api.downloads import CSV, csv_attachment
from tradehall.clock import Clock
from tradehall.membership.members_export import members_csv
from tradehall.services import Threads


class MembersExportController(Controller):
    path = "/api/v1"
    tags = ["membership"]

    @get(
        "/members.csv",
        opt=rule(staff_only()),
        summary="Every organisation with its membership: standing, tier, paid-up-until (staff)",
        media_type=CSV,
    )
    async def export(
        self,
        membership: NamedDependency[MembershipApp],
        threads: NamedDependency[Threads],
        clock: NamedDependency[Clock],
    ) -> Response[str]:
        text = await threads.run(members_csv, membership, clock.now())
        return csv_attachment(text, "members.csv")
