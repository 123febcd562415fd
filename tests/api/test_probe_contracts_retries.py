"""A delivery report retried, probed on both stores (the "probe" helper): a client that sends
its report again while the first is still being saved, naming the version it first named in
If-Match, is answered the first report's success, as a retry after the first has been saved is
(ADR 43); the report is recorded once. Four copies at once, each naming the version before
the report: every one 201, one report, one new version. Without If-Match likewise."""

from __future__ import annotations

import asyncio

from tests.api.test_contracts import report, view
from tests.api.test_probe_contracts import signed_sixty_days_ago
from tests.conftest import AppClient
from tradehall.clock import ManualClock

Client = AppClient
Headers = dict[str, str]
COPIES = 4


async def test_a_report_retried_while_the_first_is_saved_answers_the_first(
    client: Client, staff_headers: Headers, clock: ManualClock
) -> None:
    signed, on = await signed_sixty_days_ago(client, staff_headers, clock)
    url = f"{signed.url}/delivery-reports"

    for n, if_match in enumerate((True, True, False)):
        before = await view(client, signed, signed.a_headers)
        tag = {"If-Match": f'"{before["version"]}"'} if if_match else {}
        body = report(on(10 * n), on(10 * n + 5))
        sent = await asyncio.gather(
            *(client.post(url, json=body, headers=signed.a_headers | tag) for _ in range(COPIES))
        )
        assert [r.status_code for r in sent] == [201] * COPIES, [r.text for r in sent]
        assert {r.json()["version"] for r in sent} == {before["version"] + 1}
        after = await view(client, signed, signed.a_headers)
        assert after["version"] == before["version"] + 1
        assert [r["id"] for r in after["delivery_reports"]].count(body["report_id"]) == 1
