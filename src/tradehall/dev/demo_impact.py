"""The demo's impact (issue 17): the contracts and confirmed deliveries of the awarded tenders
(demo_awards) fill the impact ledger by themselves; here staff add a proxy-value version, so the
reports show values from two versions, and the lines say what to try."""

from __future__ import annotations

from datetime import date, timedelta
from uuid import UUID

from marketplace.application import MarketplaceApp
from marketplace.impact.proxies import parse_table, table_on
from marketplace.working_days import london_date
from sharedkernel.events import Context

# A made-up revaluation for the demo: a local job worth more from this many days before the
# demo ran; every other figure as the shipped table's.
REVALUED_AGO = timedelta(days=45)
DEMO_JOB_PENCE = "2500000"


def seed_impact(marketplace: MarketplaceApp, staff: Context) -> date:
    """Staff's proxy-value version (the job revalued); its effective day."""
    day = london_date(staff.at) - REVALUED_AGO
    current = table_on(marketplace.proxy_tables(), day)
    rows = [
        (
            v.measure,
            DEMO_JOB_PENCE if v.measure == "local_jobs" else str(v.pence_per_unit),
            "Demo: a figure staff entered to show a second version" if v.measure == "local_jobs"
            else v.source,
        )
        for v in current.values.values()
    ]  # fmt: skip
    table = parse_table(day, rows, "Demo: a local job revalued at £25,000")
    marketplace.add_proxy_table(staff, table)
    return day


def impact_lines(member_name: str, lead: UUID | None) -> list[tuple[str, str]]:
    whose = str(lead) if lead is not None else "{its organisation id}"
    return [
        (
            "impact",
            "the awarded tenders' contracts and confirmed deliveries in the impact ledger; a "
            "second proxy-value version (a local job at £25,000) added by staff "
            f"{REVALUED_AGO.days} days before the demo ran",
        ),
        ("try", "GET /api/v1/impact (the association's totals, all time and by year)"),
        ("try", "GET /api/v1/impact/chart.svg?figure=social_value (open it in a browser)"),
        ("try", "GET /api/v1/impact/proxy-values (both versions, each figure's source)"),
        (
            "try",
            "sign in as staff, then GET /api/v1/impact/report?by=member (or by=buyer, "
            "by=quarter; /api/v1/impact/report.csv for a spreadsheet)",
        ),
        (
            "try",
            f"sign in as {member_name}'s user, then GET /api/v1/organisations/{whose}/impact "
            "(its 60% of the consortium's contract)",
        ),
    ]
