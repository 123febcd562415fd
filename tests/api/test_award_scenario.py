"""Issue 13's scenario, end to end over HTTP on both stores: a verified council publishes a
two-lot tender for members; a member asks a question and the buyer answers it; three bids
for lot 1 (A alone, B alone, C leading a consortium with D at 60/40), none for lot 2; G's bid is
refused at the deadline. The clock opens the bids: lot 2 is unsuccessful at once. The buyer
scores every bid; B's price is abnormally low (20% below the others' mean): B is told, its
explanation recorded, and it is excluded, so it neither ranks nor sets the lowest price. The
award goes to the consortium; every bidder's summary reaches its users by e-mail (A sees its
own scores and the winner's, never B's); only then is the award notice published. The
standstill crosses Easter 2026 (Good Friday and Easter Monday are not working days): the
contract is refused a second before it ends and signed at its end. C reports delivery for
two periods; the buyer confirms one; D cannot confirm its own consortium's report; the
contract shows committed against delivered."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.api.conftest import Mailbox
from tests.api.test_accounts import mail_to
from tests.api.test_bid_scenario import (
    at,
    drafted_bid,
    member,
    published_tender,
    submitted,
    tick,
)
from tests.api.test_clarifications import council
from tests.api.test_tender_scenario import settle
from tests.api.test_tenders import DEADLINE
from tests.conftest import AppClient
from tradehall.clock import ManualClock

Client = AppClient
Headers = dict[str, str]
LOT = "/api/v1/tenders/{tender}/lots/lot-1"
# Scores given: (Method statement of 5, Experience of 5, Social value of 10).
SCORES = {"A": (4, 3, 8), "B": (3, 3, 5), "C": (5, 4, 6)}
SUMMARY = "Your bid's scores:"  # in every assessment summary e-mail


def score_body(method: int, experience: int, social: int, who: str) -> dict[str, Any]:
    return {
        "scores": [
            {"criterion": "Method statement", "score": method, "justification": f"{who}: plan"},
            {"criterion": "Experience", "score": experience, "justification": f"{who}: years"},
            {"criterion": "Social value", "score": social, "justification": f"{who}: local"},
        ]
    }


async def ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_from_publication_to_a_confirmed_delivery_report(
    mail_client: Client,
    staff_headers: Headers,
    mailbox: tuple[Mailbox, int],
    clock: ManualClock,
) -> None:
    client = mail_client
    box, _ = mailbox
    buyer, buyer_headers = await council(client, staff_headers)
    tender = await published_tender(client, buyer, buyer_headers)
    lot = LOT.format(tender=tender)
    _, a_email, a_headers = await member(client, staff_headers, "Alder Grounds CIC")
    _, b_email, b_headers = await member(client, staff_headers, "Beech Budget Mowing CIC")
    c, c_email, c_headers = await member(client, staff_headers, "Cedar Landscapes CIC")
    d, d_email, d_headers = await member(client, staff_headers, "Damson Training Trust")
    _, _, g_headers = await member(client, staff_headers, "Gorse Gardening CIC")
    _, other_buyer_headers = await council(client, staff_headers)

    # A question in the enquiry period (from 2 March, 10:00), answered for everyone.
    clock.set(datetime(2026, 3, 3, 9, tzinfo=UTC))
    asked = await ok(
        await client.post(
            f"/api/v1/tenders/{tender}/questions",
            json={"question": "Is TUPE expected to apply?"},
            headers=a_headers,
        ),
        201,
    )
    await ok(
        await client.post(
            f"/api/v1/questions/{asked['id']}/answer",
            json={"answer": "No staff transfer."},
            headers=buyer_headers,
        )
    )

    # Three bids for lot 1: A alone, B alone (far cheaper), C with D (60/40).
    bid_a = await drafted_bid(client, a_headers, tender, "lot-1", 10_000_000)
    bid_b = await drafted_bid(client, b_headers, tender, "lot-1", 6_000_000)
    bid_c = await drafted_bid(client, c_headers, tender, "lot-1", 9_500_000)
    await ok(
        await client.put(
            f"/api/v1/bids/{bid_c}/consortium",
            json={"lead_share": 60, "partners": [{"organisation_id": d, "share": 40}]},
            headers=c_headers,
        )
    )
    await ok(
        await client.post(
            f"/api/v1/bids/{bid_c}/acceptance", json={"consortium_round": 1}, headers=d_headers
        )
    )
    for headers, bid in ((a_headers, bid_a), (b_headers, bid_b), (c_headers, bid_c)):
        await submitted(client, headers, bid)
    bid_g = await drafted_bid(client, g_headers, tender, "lot-1", 9_000_000)

    # Before opening there is nothing to evaluate, for anyone.
    assert (await client.get(f"{lot}/evaluation", headers=buyer_headers)).status_code == 404

    deadline = at(DEADLINE)
    clock.set(deadline)
    late = await client.post(f"/api/v1/bids/{bid_g}/submission", headers=g_headers)
    assert late.status_code == 409, late.text

    margin = timedelta(seconds=300)
    clock.set(deadline + margin)
    await tick(client)
    await settle(client)
    evaluation = await ok(await client.get(f"{lot}/evaluation", headers=buyer_headers))
    assert {b["bid_id"] for b in evaluation["bids"]} == {bid_a, bid_b, bid_c}
    assert evaluation["status"] == "evaluating"
    # B: 60,000 against the others' mean 97,500 less 20% (78,000): abnormally low.
    assert evaluation["flagged"] == [bid_b]
    lot_2 = await ok(
        await client.get(f"/api/v1/tenders/{tender}/lots/lot-2/evaluation", headers=buyer_headers)
    )
    assert lot_2["status"] == "unsuccessful"
    # Another buyer, a bidder, nobody signed in: as if there were no evaluation.
    for who in (other_buyer_headers, a_headers, {}):
        assert (await client.get(f"{lot}/evaluation", headers=who)).status_code in (401, 404)

    # The buyer scores the three bids; a score off the scale changes nothing.
    off_scale = await client.put(
        f"{lot}/bids/{bid_a}/scores", json=score_body(6, 3, 8, "A"), headers=buyer_headers
    )
    assert off_scale.status_code in (400, 422), off_scale.text
    assert "score" in off_scale.text
    for who, bid in (("A", bid_a), ("B", bid_b), ("C", bid_c)):
        await ok(
            await client.put(
                f"{lot}/bids/{bid}/scores",
                json=score_body(*SCORES[who], who),
                headers=buyer_headers,
            )
        )

    # The award waits for a decision on B's price; B cannot be excluded before it is told.
    early = await client.post(f"{lot}/award", json={}, headers=buyer_headers)
    assert early.status_code == 409, early.text
    unheard = await client.post(
        f"{lot}/bids/{bid_b}/low-price-decision",
        json={"accept": False, "reason": "Not sustainable"},
        headers=buyer_headers,
    )
    assert unheard.status_code == 409, unheard.text
    by_bidder = await client.post(f"{lot}/bids/{bid_b}/low-price-query", json={}, headers=b_headers)
    assert by_bidder.status_code == 404, by_bidder.text
    await ok(
        await client.post(f"{lot}/bids/{bid_b}/low-price-query", json={}, headers=buyer_headers)
    )
    await settle(client)
    asked_b = [body for body in await mail_to(client, box, b_email) if "abnormally low" in body]
    assert len(asked_b) == 1, asked_b
    await ok(
        await client.post(
            f"{lot}/bids/{bid_b}/low-price-explanation",
            json={"explanation": "Volunteers do the mowing"},
            headers=buyer_headers,
        )
    )
    await ok(
        await client.post(
            f"{lot}/bids/{bid_b}/low-price-decision",
            json={"accept": False, "reason": "Relies on unpaid labour for a paid service"},
            headers=buyer_headers,
        )
    )

    # Without B the lowest price is C's 95,000. Worked by hand (price 50, method 25 of 5,
    # experience 15 of 5, social value 10 of 10):
    # A: 95/100*50 = 47.5 + 4/5*25 = 20 + 3/5*15 = 9 + 8/10*10 = 8 -> 84.50
    # C: 50 + 25 + 4/5*15 = 12 + 6/10*10 = 6 -> 93.00
    evaluation = await ok(await client.get(f"{lot}/evaluation", headers=buyer_headers))
    ranking = [(r["bid_id"], r["total"], r["rank"]) for r in evaluation["ranking"]]
    assert ranking == [(bid_c, "93.00", 1), (bid_a, "84.50", 2)]
    assert evaluation["excluded"] == [bid_b]

    awarded = await client.post(f"{lot}/award", json={}, headers=buyer_headers)
    await ok(awarded)
    await settle(client)
    board = await ok(await client.get(f"/api/v1/tenders/{tender}"))
    # The public learns of the award from its notice, not before: lot 1 shows no outcome yet.
    assert board["status"] == "active"
    assert [lot["outcome"] for lot in board["lots"]] == [None, "unsuccessful"]

    # The award notice waits for every summary to be sent.
    waiting = await client.post(f"{lot}/award-notice", json={}, headers=buyer_headers)
    assert waiting.status_code == 409, waiting.text
    assert (await client.get(f"{lot}/award")).status_code == 404
    to_a = [body for body in await mail_to(client, box, a_email) if SUMMARY in body]
    assert len(to_a) == 1, to_a
    for shown in ("A: plan", "84.50", "93.00"):  # its own justification, its total, the winner's
        assert shown in to_a[0], shown
    for hidden in ("B: plan", "C: plan"):  # no other bid's justification
        assert hidden not in to_a[0], hidden
    for email in (b_email, c_email, d_email):
        assert any(SUMMARY in body for body in await mail_to(client, box, email))
    summary_a = await ok(await client.get(f"{lot}/assessment-summary", headers=a_headers))
    assert summary_a["outcome"] == "unsuccessful"
    assert "B: plan" not in str(summary_a)
    summary_b = await ok(await client.get(f"{lot}/assessment-summary", headers=b_headers))
    assert summary_b["outcome"] == "excluded"
    assert (await client.get(f"{lot}/assessment-summary", headers=g_headers)).status_code == 404

    # Published on Wednesday 1 April 2026. Working days: 1, 2 April (3 Good Friday, 6 Easter
    # Monday are not), 7, 8, 9, 10, 13, 14 April: the standstill ends at midnight London
    # (BST) at the end of 14 April, 23:00 UTC.
    clock.advance(timedelta(minutes=10))
    await ok(await client.post(f"{lot}/award-notice", json={}, headers=buyer_headers))
    ends = datetime(2026, 4, 14, 23, tzinfo=UTC)
    notice = await ok(await client.get(f"{lot}/award"))
    assert at(notice["standstill_ends"]) == ends
    await settle(client)
    board = await ok(await client.get(f"/api/v1/tenders/{tender}"))
    assert board["status"] == "complete"  # lot 1 awarded, lot 2 unsuccessful

    contract_body = {
        "value_minor": 9_500_000,
        "currency": "GBP",
        "period": {"start": "2026-05-01T00:00:00Z", "end": "2027-04-30T23:59:59Z"},
    }
    clock.set(ends - timedelta(seconds=1))
    too_soon = await client.post(f"{lot}/contract", json=contract_body, headers=buyer_headers)
    assert too_soon.status_code == 409, too_soon.text
    clock.set(ends)
    signed = await ok(
        await client.post(f"{lot}/contract", json=contract_body, headers=buyer_headers), 201
    )
    contract = f"/api/v1/contracts/{signed['id']}"
    view = await ok(await client.get(contract, headers=d_headers))
    assert [(p["organisation_id"], p["share_percent"]) for p in view["parties"]] == [
        (c, 60),
        (d, 40),
    ]

    # Two delivery reports by the consortium; the buyer confirms the first only.
    clock.set(datetime(2026, 11, 2, 9, tzinfo=UTC))
    first = await ok(
        await client.post(
            f"{contract}/delivery-reports",
            json={
                "report_id": "00000000-0000-4000-8000-000000000601",
                "period": {"start": "2026-05-01T00:00:00Z", "end": "2026-08-01T00:00:00Z"},
                "delivered": [
                    {"measure": "local_jobs", "quantity": 2},
                    {"measure": "apprenticeships", "quantity": 1},
                ],
                "note": "Two local hires, one apprentice",
            },
            headers=c_headers,
        ),
        201,
    )
    assert first
    await ok(
        await client.post(
            f"{contract}/delivery-reports",
            json={
                "report_id": "00000000-0000-4000-8000-000000000602",
                "period": {"start": "2026-08-01T00:00:00Z", "end": "2026-11-01T00:00:00Z"},
                "delivered": [{"measure": "local_jobs", "quantity": 1}],
                "note": "One more local hire",
            },
            headers=d_headers,
        ),
        201,
    )
    own = await client.post(
        f"{contract}/delivery-reports/00000000-0000-4000-8000-000000000601/confirmation",
        json={},
        headers=d_headers,
    )
    assert own.status_code in (403, 409), own.text
    await ok(
        await client.post(
            f"{contract}/delivery-reports/00000000-0000-4000-8000-000000000601/confirmation",
            json={},
            headers=buyer_headers,
        )
    )
    view = await ok(await client.get(contract, headers=buyer_headers))
    figures = {m["measure"]: m for m in view["commitments"]}
    assert {k: (v["committed"], v["delivered"], v["pending"]) for k, v in figures.items()} == {
        "local_jobs": (3, 2, 1),
        "apprenticeships": (2, 1, 0),
    }
