"""The public impact figures count only contracts whose award is public (the probe's F5), on both
stores. A tender's award is published (its award notice); a request for quote's acceptance is
not: its price is its requester's and staff's (README). So `GET /api/v1/impact` and the
quarterly chart do not move when a quote is accepted (the quoters that lost would otherwise read
the winning price as the difference), while staff's reports and the supplier's own page count
the contract; and a rebuild of the ledger from the log answers the same."""

from __future__ import annotations

import uuid
from typing import Any

from marketplace.working_days import london_date
from projections.impact_query import ledger_contracts
from tests.api.helpers import services_of
from tests.api.test_impact import money
from tests.api.test_quote_scenario import REQUESTS, ok
from tests.api.test_quotes_probe import opened_request
from tests.conftest import AppClient
from tradehall.api.marketplace.impact_cache import answers_of
from tradehall.clock import ManualClock

Client = AppClient
Headers = dict[str, str]
IMPACT = "/api/v1/impact"
PRICE = 45_000  # alder's quote (opened_request)


async def head(client: Client) -> str:
    logs = ok(await client.get("/ready"))["event_logs"]
    return f"marketplace:{logs['marketplace']}"


async def figures(
    client: Client, staff: Headers, member: str, member_headers: Headers, year: int
) -> dict[str, Any]:
    """Every impact answer, read once the ledger has applied the marketplace log's head."""
    at = {"position": await head(client)}
    public = ok(await client.get(IMPACT, params=at))
    assert public.pop("consistent") is True
    chart = await client.get(
        f"{IMPACT}/chart.svg", params={"figure": "contract_value", "year": year}
    )
    assert chart.status_code == 200, chart.text
    by_year = ok(await client.get(f"{IMPACT}/report", params={"by": "year"} | at, headers=staff))
    by_quarter = ok(
        await client.get(f"{IMPACT}/report", params={"by": "quarter"} | at, headers=staff)
    )
    own = ok(
        await client.get(
            f"/api/v1/organisations/{member}/impact", params=at, headers=member_headers
        )
    )
    return {
        "public": public,
        "chart": chart.text,
        "staff_year": {g["key"]: g for g in by_year["groups"]},
        "staff_quarter": {g["key"]: g for g in by_quarter["groups"]},
        "own": own["totals"],
    }


def won(group: dict[str, Any] | None) -> tuple[int, int]:
    """A group's contracts and GBP value won (none: nothing)."""
    if group is None or not any(m["currency"] == "GBP" for m in group["money"]):
        return (0, 0)
    return (group["contracts"], money(group)[0])


async def test_an_accepted_quote_moves_staff_s_figures_and_the_supplier_s_never_the_public_s(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    request_id, r_headers, quoters, opened = await opened_request(client, staff_headers, clock)
    alder, a_headers = quoters["alder"]
    year = clock.now().year
    quarter = f"{year}-Q{(clock.now().month - 1) // 3 + 1}"
    before = await figures(client, staff_headers, alder, a_headers, year)

    [cheapest] = [q for q in opened["quotes"] if q["supplier_id"] == alder]
    accepted = await client.post(
        f"{REQUESTS}/{request_id}/acceptance",
        json={"quote_id": cheapest["quote_id"]},
        headers=r_headers,
    )
    ok(accepted, 201)
    after = await figures(client, staff_headers, alder, a_headers, year)

    # Staff's figures and the supplier's own count the contract at its price.
    for grouping, key in (("staff_year", str(year)), ("staff_quarter", quarter)):
        was, now = won(before[grouping].get(key)), won(after[grouping].get(key))
        assert (now[0] - was[0], now[1] - was[1]) == (1, PRICE), grouping
    assert won(after["own"]) == (1, PRICE)
    assert won(before["own"]) == (0, 0)
    # The public's do not move: not the totals, the years, nor the chart.
    assert after["public"] == before["public"]
    assert after["chart"] == before["chart"]
    # Nor where the public's are read row by row (figures past what the sums by day hold).
    contract_id = uuid.UUID(accepted.json()["id"])
    services = services_of(client)
    async with services.engine.connect() as connection:
        every = await ledger_contracts(connection, london_date, with_parties=False)
        public = await ledger_contracts(
            connection, london_date, with_parties=False, public_only=True
        )
    assert contract_id in {c.contract_id for c in every}
    assert contract_id not in {c.contract_id for c in public}

    # The ledger rebuilt from the log (every answer read again) agrees.
    await services.run(lambda: services.readside.projector.rebuild(["impact"], leaving_out=True))
    answers_of(client.app.state).clear()
    assert await figures(client, staff_headers, alder, a_headers, year) == after
