"""The member list as CSV, for staff."""

from __future__ import annotations

from litestar import Controller, Response, get
from litestar.di import NamedDependency

from tradehall.api.access import rule, staff_only
from tradehall.membership.members_export import members_csv
from tradehall.services import Services


class MembersExportController(Controller):
    path = "/api/v1"
    tags = ["membership"]

    @get(
        "/members.csv",
        opt=rule(staff_only()),
        summary="Every organisation with its membership: standing, tier, paid-up-until (staff)",
        media_type="text/csv",
    )
    async def export(self, services: NamedDependency[Services]) -> Response[str]:
        text = await services.run(members_csv, services.membership)
        return Response(
            text,
            media_type="text/csv",
            headers={"Content-Disposition": 'attachment; filename="members.csv"'},
        )
