"""`tradehall demo`: believable data, once."""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from click.testing import CliRunner
from sqlalchemy import select

from marketplace.contracts import CONFIRMED, REPORTED, ContractStatus
from marketplace.evaluation.lot import LotStatus
from marketplace.outside.opportunity import opportunity_id_for
from marketplace.quotes.request import RequestStatus
from membership.marks.assessment import Stage
from membership.marks.mark import MarkStatus
from tests.conftest import AppClient, running
from tests.ocds_review import (
    codelist_violations,
    compile_like_review_tool,
    review,
    review_counts,
    schema_errors,
    versioned_like_review_tool,
)
from tradehall.api.app import create_app
from tradehall.cli import main
from tradehall.dev.demo import (
    ACTIVE_TENDER,
    AMENDMENT_RATIONALE,
    ANSWER,
    BUYER_PASSWORD,
    BUYERS,
    CONSORTIUM_LEAD,
    CONSORTIUM_PARTNER,
    MEMBER_PASSWORD,
    OPENED_TENDER,
    QUESTION,
    STAFF_EMAIL,
    STAFF_PASSWORD,
    TENDERS,
    TRY_CPV,
    TRY_TENDER_CPV,
)
from tradehall.dev.demo_alerts import SEARCHES as DEMO_SEARCHES
from tradehall.dev.demo_awards import (
    AMENDMENT_REASON,
    AWARD_TENDERS,
    AWARDED_TENDER,
    COMPLETION_REASON,
    CRITERIA,
    CUT_SHORT_TO,
    CUT_SHORT_VALUE,
    LOW_PRICE_EXPLANATION,
    LOW_PRICE_REASON,
    LOW_PRICED,
    LUNCH_LEAD,
    LUNCH_PARTNER,
    NATIONAL_OCID,
    STANDSTILL_TENDER,
    contract_of,
    report_id,
)
from tradehall.dev.demo_outside import BREAD_OCID, EXTENDED_OCID, TYPESETTING_OCID
from tradehall.dev.demo_quotes import (
    ACCEPTED,
    CLOSED,
    CLOSED_REQUESTS,
    INVITED,
    OPEN_REQUESTS,
    OPEN_TO_ALL,
)
from tradehall.mail.tables import outbox_messages
from tradehall.marketplace.alerts.follower import IMMEDIATE_TEMPLATE
from tradehall.marketplace.award_notices import all_sent, summary_message_ids
from tradehall.settings import Settings

# The demo member's sign-in (the first enterprise's, the Tees Valley bakery), as printed.
MEMBER_EMAIL = "member@demo.tradehall.example"
# The release tags of the OCDS mapping table (projections.ocds): the demo emits each of them.
OCDS_TAGS = {
    "planning",
    "planningUpdate",
    "tender",
    "tenderAmendment",
    "tenderUpdate",
    "tenderCancellation",
    "award",
    "awardUpdate",
    "contract",
    "contractAmendment",
    "contractTermination",
}


async def test_demo_seeds_an_association_once_and_prints_how_to_sign_in(tmp_path: Path) -> None:
    env = {"TRADEHALL_DATA_DIR": str(tmp_path / "data"), "TRADEHALL_DATABASE_URL": ""}
    runner = CliRunner()

    # In a thread: the command runs its own event loop.
    first = await asyncio.to_thread(runner.invoke, main, ["demo"], env=env)
    second = await asyncio.to_thread(runner.invoke, main, ["demo"], env=env)

    assert first.exit_code == 0, first.output
    # The 48 enterprises and the 5 buyers.
    assert "seeded 53 organisations" in first.output
    assert STAFF_EMAIL in first.output
    assert STAFF_PASSWORD in first.output
    assert second.exit_code == 0, second.output
    assert "Demo data present" in second.output
    for output in (first.output, second.output):  # the buyers' sign-ins, each run
        for n, buyer in enumerate(BUYERS):
            assert f"{buyer.email(n)} / {BUYER_PASSWORD} ({buyer.name}" in output
        assert "GET /api/v1/buyers" in output
        assert f"GET /api/v1/listings?cpv={TRY_CPV}" in output
        for tender in (*TENDERS, *AWARD_TENDERS):  # each tender, by its fixed id, each run
            assert f"tender: {tender.id} {tender.title}" in output
        assert f"GET /api/v1/tenders?cpv={TRY_TENDER_CPV}" in output
        assert f"GET /api/v1/tenders/{ACTIVE_TENDER.id}" in output
        assert f"sign in as {BUYERS[0].email(0)} / {BUYER_PASSWORD}" in output
        for n in (1, 8, 18, 25, 32, 42):  # the bidders' sign-ins, each run
            assert f"bidder: {_email(n)} / {MEMBER_PASSWORD} (" in output
        assert "then GET /api/v1/bids" in output
        assert f"GET /api/v1/tenders/{OPENED_TENDER.id}/bids" in output
        # The evaluated tenders: what was awarded, the contracts, what to try.
        assert f"award:  {AWARDED_TENDER.id} lot-1: three valid bids scored" in output
        assert f"award:  {STANDSTILL_TENDER.id} lot-1: " in output
        assert f"GET /api/v1/tenders/{AWARDED_TENDER.id}/lots/lot-1/evaluation" in output
        assert f"GET /api/v1/contracts/{contract_of('lot-1')}" in output
        assert f"/delivery-reports/{report_id('lot-1', 2)}/confirmation" in output
        assert "note:" not in output  # the award notices were published (the summaries sent)
    assert "in standstill until " in first.output  # its end, known on the run that seeded it
    assert "unsuccessful (its deadline is soon after the demo ran" in first.output
    # The first run names the bidders' organisations (the consortium is formed with ids).
    bidder_ids = dict(re.findall(r"bidder: (\S+) / .*, organisation (\S+)\):", first.output))
    assert len(bidder_ids) == 6

    settings = Settings.from_env(env)
    app = create_app(settings)
    async with running(app), AppClient(app) as client:
        services = client.app.state.services
        await services.run(services.readside.projector.catch_up)
        directory = (await client.get("/api/v1/directory", params={"per_page": 100})).json()
        signed_in = await client.post(
            "/api/v1/auth/token", json={"email": STAFF_EMAIL, "password": STAFF_PASSWORD}
        )
        staff = {"Authorization": f"Bearer {signed_in.json()['access_token']}"}
        queue = (await client.get("/api/v1/membership/applications", headers=staff)).json()
        london = await client.get("/api/v1/directory", params={"region": "TLI"})
        buyers = (await client.get("/api/v1/buyers", params={"per_page": 100})).json()
        listings = (await client.get("/api/v1/listings", params={"per_page": 100})).json()
        catering = (await client.get("/api/v1/listings", params={"cpv": TRY_CPV})).json()
        board = (await client.get("/api/v1/tenders", params={"per_page": 100})).json()
        catering_tenders = (
            await client.get("/api/v1/tenders", params={"cpv": TRY_TENDER_CPV})
        ).json()
        active = await client.get(f"/api/v1/tenders/{ACTIVE_TENDER.id}")
        draft_id = next(t.id for t in TENDERS if t.key == "draft")
        draft = await client.get(f"/api/v1/tenders/{draft_id}")
        signed_in = await client.post(
            "/api/v1/auth/token",
            json={"email": BUYERS[0].email(0), "password": BUYER_PASSWORD},
        )
        assert signed_in.status_code in (200, 201), signed_in.text
        bakery = next(i for i in directory["items"] if i["name"].startswith("Tees Valley Bakery"))
        bakery_id = uuid.UUID(bakery["id"])
        website = services.applications["membership"].get_organisation(bakery_id).website
        # Outside opportunities: the board, the merged one, the bakery's recommendations.
        outside = (await client.get("/api/v1/opportunities", params={"per_page": 100})).json()
        open_vcse = (
            await client.get("/api/v1/opportunities", params={"open": "true", "vcse": "yes"})
        ).json()
        # A design and marketing member: the food magazine's typesetting (open anywhere) fits.
        designer = next(
            i for i in directory["items"] if any(c.startswith("79") for c in i["cpv_codes"])
        )
        recommended = (
            await client.get(
                f"/api/v1/organisations/{designer['id']}/recommended-tenders", headers=staff
            )
        ).json()
        contacts = await client.get(
            f"/api/v1/organisations/{bakery_id}/contact-points", headers=staff
        )
        # Impact: the awarded tenders' contracts and deliveries, and staff's second version.
        impact = (await client.get("/api/v1/impact")).json()
        proxy_versions = (await client.get("/api/v1/impact/proxy-values")).json()["versions"]
        chart = await client.get("/api/v1/impact/chart.svg", params={"figure": "jobs"})
        by_member = (
            await client.get("/api/v1/impact/report", params={"by": "member"}, headers=staff)
        ).json()
        # Saved searches: the demo member's (the bakery's) alerts, and its immediate messages.
        member_in = await client.post(
            "/api/v1/auth/token", json={"email": MEMBER_EMAIL, "password": MEMBER_PASSWORD}
        )
        assert member_in.status_code in (200, 201), member_in.text
        member = {"Authorization": f"Bearer {member_in.json()['access_token']}"}
        alert_feed = (
            await client.get(f"/api/v1/organisations/{bakery_id}/alerts", headers=member)
        ).json()
        searches = (
            await client.get(f"/api/v1/organisations/{bakery_id}/saved-searches", headers=member)
        ).json()
        async with services.engine.connect() as connection:
            alert_mail = list(
                await connection.scalars(
                    select(outbox_messages.c.message_id).where(
                        outbox_messages.c.organisation_id == bakery_id,
                        outbox_messages.c.template == IMMEDIATE_TEMPLATE,
                    )
                )
            )
        requests = {
            r.id: services.applications["marketplace"].request_for_quote(r.id)
            for r in (*CLOSED_REQUESTS, *OPEN_REQUESTS)
        }
        marks = services.applications["marks"]
        found = re.findall(
            r"quality mark (?:application )?(\S+) \(.*, organisation (\S+)\): (\w+)", first.output
        )
        states = {state: (number, uuid.UUID(org)) for number, org, state in found}
        for state, status in (
            ("valid", MarkStatus.VALID),
            ("suspended", MarkStatus.SUSPENDED),
            ("expired", MarkStatus.EXPIRED),
        ):
            number, org = states[state]
            mark = marks.mark_of(org)
            assert mark.status is status
            assert mark.certificate_number == number
        asking, org = states["under"]
        application = marks.get_application(uuid.UUID(asking))
        assert application.stage is Stage.INFORMATION_REQUESTED
        assert marks.mark_of(org) is None
        # Sealed bids: the opened tender's, to its buyer and staff; the active tender's to
        # nobody but each bid's own members until its opening.
        council = {"Authorization": f"Bearer {signed_in.json()['access_token']}"}
        opened = await client.get(f"/api/v1/tenders/{OPENED_TENDER.id}/bids", headers=council)
        opened_to_staff = await client.get(
            f"/api/v1/tenders/{OPENED_TENDER.id}/bids", headers=staff
        )
        sealed = await client.get(f"/api/v1/tenders/{ACTIVE_TENDER.id}/bids", headers=council)
        bids_of = {}
        for n in (CONSORTIUM_LEAD, CONSORTIUM_PARTNER, 32, 18):
            bidder = await client.post(
                "/api/v1/auth/token", json={"email": _email(n), "password": MEMBER_PASSWORD}
            )
            assert bidder.status_code in (200, 201), bidder.text
            headers = {"Authorization": f"Bearer {bidder.json()['access_token']}"}
            mine = await client.get("/api/v1/bids", headers=headers)
            assert mine.status_code == 200, mine.text
            bids_of[n] = mine.json()["items"]
        # The evaluated tenders: through the Application, and as the API shows them.
        marketplace = services.applications["marketplace"]
        lunches = marketplace.lot_evaluation(AWARDED_TENDER.id, "lot-1")
        cleaning = marketplace.lot_evaluation(AWARDED_TENDER.id, "lot-2")
        repairs = marketplace.lot_evaluation(STANDSTILL_TENDER.id, "lot-1")
        contracts = {lot: marketplace.contract(contract_of(lot)) for lot in ("lot-1", "lot-2")}
        summaries_sent = [
            await all_sent(services.engine, summary_message_ids(lot))
            for lot in (lunches, cleaning, repairs)
        ]
        low_priced = await client.post(
            "/api/v1/auth/token",
            json={"email": _email(LOW_PRICED), "password": MEMBER_PASSWORD},
        )
        low_headers = {"Authorization": f"Bearer {low_priced.json()['access_token']}"}
        excluded_summary = await client.get(
            f"/api/v1/tenders/{AWARDED_TENDER.id}/lots/lot-1/assessment-summary",
            headers=low_headers,
        )
        lunches_view = await client.get(
            f"/api/v1/tenders/{AWARDED_TENDER.id}/lots/lot-1/evaluation", headers=council
        )
        standstill_notice = await client.get(
            f"/api/v1/tenders/{STANDSTILL_TENDER.id}/lots/lot-1/award"
        )
        unscored = marketplace.lot_evaluation(OPENED_TENDER.id, "lot-1")
        # OCDS: every public release, page by page (small pages, so links.next is followed),
        # and the awarded tender's record.
        pages = await _release_pages(client, per_page=10)
        awarded_ocid = marketplace.tender(AWARDED_TENDER.id).ocid
        record = await client.get(f"/api/v1/ocds/records/{awarded_ocid}")
        # The demo's whole output, for the review tool: one package of every release, and
        # every process's record.
        whole = (await client.get("/api/v1/ocds/releases", params={"per_page": 250})).json()
        ocids = sorted({release["ocid"] for release in whole["releases"]})
        records = [(await client.get(f"/api/v1/ocds/records/{o}")).json() for o in ocids]

    # The impact ledger is populated: contracts won, deliveries confirmed, valued by two
    # proxy-value versions (the shipped one and staff's demo one).
    assert impact["totals"]["contracts"] >= 1
    assert [m["value_won_minor"] > 0 for m in impact["totals"]["money"]] == [True]
    assert impact["totals"]["social_value_delivered_minor"] > 0
    assert impact["years"]
    assert [v["shipped"] for v in proxy_versions] == [True, False]
    assert chart.status_code == 200
    assert chart.headers["content-type"].startswith("image/svg+xml")
    consortium = [g for g in by_member["groups"] if g["contracts"] > 0]
    assert len(consortium) >= 2  # the lead and its partner, each with its share
    assert "GET /api/v1/impact" in first.output
    # Admitted and paid up: four in every eight of the 48, less the one the demo lapses.
    assert directory["total"] == 23
    regions = {code[:3] for item in directory["items"] for code in item["regions"]}
    assert len(regions) >= 7
    divisions = {code[:2] for item in directory["items"] for code in item["cpv_codes"]}
    assert len(divisions) >= 8
    assert queue["total"] == 6
    assert london.json()["total"] >= 1
    # Five buyers; verified: the two councils and the housing association (a public body), not
    # the business (never verifiable) nor the public body still awaiting staff.
    assert buyers["total"] == 5
    assert {item["name"] for item in buyers["items"]} == {buyer.name for buyer in BUYERS}
    assert {item["name"] for item in buyers["items"] if item["verified"]} == {
        "Leeds City Council",
        "Bristol City Council",
        "Tyneside Homes Housing Association",
    }
    # Twelve listings, all of members in good standing when published and still (the demo
    # lapses a member before publishing and gives it none), less the one withdrawn.
    assert listings["total"] == 11
    assert {item["price_basis"] for item in listings["items"]} == {
        "fixed",
        "day_rate",
        "on_quotation",
    }
    assert catering["total"] == 3  # the bakery's, the canteen and the event catering
    assert website == "https://tees-valley-bakery.example.org/"
    assert contacts.status_code == 200, contacts.text
    assert [point["name"] for point in contacts.json()["contact_points"]] == [
        "Jo Example",
        "Sam Example",
    ]
    # The councils' tenders on the board, each in its state; never the draft.
    statuses = {item["id"]: item["status"] for item in board["items"]}
    assert statuses == {
        **{str(t.id): t.key.split(",")[0] for t in TENDERS if t.key != "draft"},
        **{str(t.id): "complete" for t in AWARD_TENDERS},  # every lot decided, one awarded
    }
    assert board["total"] == 9
    assert draft.status_code == 404
    assert [item["id"] for item in catering_tenders["items"]] == [str(ACTIVE_TENDER.id)]
    # The active tender: two lots, 10% social value, its question answered (not who asked),
    # and the amendment that moved its deadline two weeks later.
    assert active.status_code == 200, active.text
    view = active.json()
    assert view["buyer_name"] == "Leeds City Council"
    assert len(view["lots"]) == 2
    assert view["evaluation"]["social_value"]["weight"] == 10
    assert set(view["regions"]) == {"TLE", "TLE4"}
    assert [(c["question"], c["answer"]) for c in view["clarifications"]] == [(QUESTION, ANSWER)]
    assert set(view["clarifications"][0]) == {"question", "answer", "answered_at"}
    assert "asker" not in active.text
    assert [(a["changed"], a["rationale"]) for a in view["amendments"]] == [
        (["tender_period"], AMENDMENT_RATIONALE)
    ]
    enquiries = {k: datetime.fromisoformat(v) for k, v in view["enquiry_period"].items()}
    assert enquiries["start"] <= datetime.now(UTC) < enquiries["end"]  # questions open now
    # The opened tender: its deadline passed, its bids opened by the clock after it: two valid
    # (content whole), one invalid with why (its consortium partner never accepted); the draft
    # never submitted is not among them.
    assert opened.status_code == 200, opened.text
    assert opened_to_staff.status_code == 200, opened_to_staff.text
    opening = opened.json()
    assert datetime.fromisoformat(opening["opened_at"]) < datetime.now(UTC)
    leads = {v: k for k, v in bidder_ids.items()}
    found_bids = {(b["lot_id"], leads[b["lead_id"]]): b for b in opening["bids"]}
    assert set(found_bids) == {
        ("lot-1", _email(18)),
        ("lot-2", _email(42)),
        ("lot-2", _email(25)),
    }
    valid = [b for b in opening["bids"] if b["valid"]]
    assert {b["content"]["price_minor"] for b in valid} == {5_400_000, 2_750_000}
    invalid = found_bids[("lot-2", _email(25))]
    assert not invalid["valid"]
    assert "the consortium is incomplete" in invalid["reason"]
    assert invalid.get("content") is None
    # The active tender's bids are sealed: the buyer gets the same 404 as for no bids.
    assert sealed.status_code == 404
    # Each bidder reads its own bids, and those it is a partner in.
    bidding = str(ACTIVE_TENDER.id)
    # Their bids in the evaluated tenders aside (checked below).
    evaluated = {str(t.id) for t in AWARD_TENDERS}
    bids_of = {
        n: [b for b in bids if b["tender_id"] not in evaluated] for n, bids in bids_of.items()
    }
    lead_bids = {(b["tender_id"], b["lot_id"]): b for b in bids_of[CONSORTIUM_LEAD]}
    assert {k: b["status"] for k, b in lead_bids.items()} == {
        (bidding, "lot-1"): "submitted",
        (bidding, "lot-2"): "draft",
    }
    consortium = lead_bids[(bidding, "lot-1")]
    assert [(s["share"], s["lead"], s["accepted"]) for s in consortium["consortium"]] == [
        (70, True, True),
        (30, False, True),
    ]
    assert consortium["consortium_complete"]
    assert consortium["digest"].startswith("sha256:")
    partner_bids = {(b["tender_id"], b["lot_id"], b["status"]) for b in bids_of[8]}
    assert partner_bids == {
        (bidding, "lot-1", "submitted"),  # the consortium it accepted
        (str(OPENED_TENDER.id), "lot-2", "invalid"),  # the one it never accepted
        (str(OPENED_TENDER.id), "lot-1", "closed"),  # its own draft, never submitted
    }
    assert {(b["lot_id"], b["status"]) for b in bids_of[32]} == {
        ("lot-1", "draft"),
        ("lot-2", "submitted"),
    }
    assert [(b["lot_id"], b["status"]) for b in bids_of[18]] == [("lot-1", "opened")]

    # Evaluated, awarded and contracted: lot 1's three valid bids (one a consortium's), each
    # scored on every criterion with a justification; the abnormally low one queried,
    # explained and excluded with a reason; the consortium awarded; its contract signed after
    # the standstill, committed against delivered: one report confirmed, one waiting.
    organisation_of = {v: k for k, v in bidder_ids.items()}
    assert len(lunches.bids) == 3
    assert all(
        set(lunches.scores[bid]) == set(CRITERIA)
        and all(given.justification for given in lunches.scores[bid].values())
        for bid in lunches.bids
    )
    (excluded,) = lunches.excluded
    assert organisation_of[str(lunches.bids[excluded].lead_id)] == _email(LOW_PRICED)
    procedure = lunches.low_prices[excluded]
    assert procedure.queried_at is not None
    assert (procedure.explanation, procedure.accepted, procedure.reason) == (
        LOW_PRICE_EXPLANATION,
        False,
        LOW_PRICE_REASON,
    )
    assert lunches.decision is not None
    assert lunches.decision.winner is not None
    winner = lunches.bids[lunches.decision.winner]
    assert [organisation_of[str(member)] for member in winner.members] == [
        _email(LUNCH_LEAD),
        _email(LUNCH_PARTNER),
    ]
    assert lunches.status is LotStatus.CONTRACTED
    assert lunches.standstill_ends is not None
    assert lunches.standstill_ends < datetime.now(UTC)
    contract = contracts["lot-1"]
    assert lunches.contract_id == contract.id
    assert contract.signed_at >= lunches.standstill_ends
    assert contract.committed() == {"apprenticeships": 4, "local_jobs": 6}
    assert contract.delivered() == {"apprenticeships": 1, "local_jobs": 3}  # confirmed only
    assert contract.pending() == {"apprenticeships": 1, "local_jobs": 2}  # awaiting the council
    assert [report.status for report in contract.reports] == [CONFIRMED, REPORTED]
    assert all(
        contract.period.start <= r.period.start and r.period.end < datetime.now(UTC)
        for r in contract.reports
    )
    assert contract.status is ContractStatus.ACTIVE
    # The second lot, contracted too; cut short by an amendment (the day centres moved), then
    # completed; its last report made after the completion (the contract allows one) and
    # confirmed: the commitments met in full.
    assert cleaning.status is LotStatus.CONTRACTED
    cleaned = contracts["lot-2"]
    assert cleaned.status is ContractStatus.COMPLETED
    assert cleaned.end_reason == COMPLETION_REASON
    (amendment,) = cleaned.amendments
    assert amendment.changed == ("value", "period")
    assert amendment.reason == AMENDMENT_REASON
    assert cleaned.value.minor == CUT_SHORT_VALUE
    assert cleaned.period.end == cleaned.period.start + CUT_SHORT_TO
    assert cleaned.signed_at < amendment.at < cleaned.period.end
    assert cleaned.ended_at is not None
    assert cleaned.period.end <= cleaned.ended_at < datetime.now(UTC)
    assert [report.status for report in cleaned.reports] == [CONFIRMED, CONFIRMED]
    assert max(report.period.end for report in cleaned.reports) == cleaned.period.end
    assert cleaned.delivered() == cleaned.committed() == {"local_jobs": 3, "volunteering_hours": 80}
    # In standstill: awarded, the notice published the day before, the standstill running.
    assert repairs.status is LotStatus.AWARDED
    assert repairs.notice_published_at is not None
    assert repairs.notice_published_at < datetime.now(UTC)
    assert repairs.standstill_ends is not None
    assert repairs.standstill_ends > datetime.now(UTC)
    assert repairs.contract_id is None
    # Every lot's summaries sent (the outbox says, as the award notice needed).
    assert summaries_sent == [True, True, True]
    assert excluded_summary.status_code == 200, excluded_summary.text
    assert excluded_summary.json()["outcome"] == "excluded"
    assert excluded_summary.json()["excluded_reason"] == LOW_PRICE_REASON
    assert lunches_view.status_code == 200, lunches_view.text
    assert standstill_notice.status_code == 200, standstill_notice.text
    notice = standstill_notice.json()
    assert datetime.fromisoformat(notice["standstill_ends"]) > datetime.now(UTC)
    assert not notice["contracted"]
    # The opened tender is left for a newcomer to score.
    assert unscored.status is LotStatus.EVALUATING
    assert not any(unscored.scores.values())
    # The summaries' mail, written to the data directory's mail/ (the embedded default).
    mail = [path.read_text() for path in (tmp_path / "data" / "mail").glob("*.eml")]
    assert sum("Subject: Assessment summary:" in message for message in mail) == 8

    # Outside opportunities: eight imported, seven open; the grounds maintenance one merged from
    # two releases; a design member is recommended the food magazine's typesetting, with its
    # source and link.
    assert outside["total"] == 8
    assert sum(item["open"] for item in outside["items"]) == 7
    assert [i["vcse"] for i in outside["items"]].count(None) == 4
    assert open_vcse["total"] == 2
    merged = next(i for i in outside["items"] if i["ocid"] == EXTENDED_OCID)
    assert merged["releases"] == 2
    typesetting = str(opportunity_id_for(TYPESETTING_OCID))
    suggested = {item["tender_id"]: item for item in recommended["items"]}
    assert typesetting in suggested, recommended
    assert suggested[typesetting]["source"] == "Crown Commercial Service (Contracts Finder)"
    assert suggested[typesetting]["url"].startswith("https://")

    # Saved searches: the bakery's two, saved before the tenders and opportunities were
    # published, have alerts waiting unread: food and catering at once (each a message in the
    # outbox), grounds and cleaning for the daily digest (not yet queued); none for a tender
    # published before them, nor for a draft.
    assert {s["id"] for s in searches["items"]} == {str(s.id) for s in DEMO_SEARCHES}
    alerted = {i["item_id"]: i for i in alert_feed["items"]}
    assert alert_feed["unread"] == len(alerted) >= 4
    parks = next(t.id for t in TENDERS if t.key == "active, second")
    draft_tender = next(t.id for t in TENDERS if t.key == "draft")
    food, grounds = (str(s.id) for s in DEMO_SEARCHES)
    assert alerted[str(ACTIVE_TENDER.id)]["search_id"] == food
    assert alerted[str(opportunity_id_for(BREAD_OCID))]["search_id"] == food
    assert alerted[str(parks)]["search_id"] == grounds
    assert str(OPENED_TENDER.id) not in alerted
    assert str(draft_tender) not in alerted
    at_once = [i for i in alerted.values() if i["delivery"] == "immediate"]
    assert all(i["sent"] for i in at_once)
    assert not any(i["sent"] for i in alerted.values() if i["delivery"] == "daily")
    assert len(alert_mail) == len(at_once) >= 2
    for output in (first.output, second.output):
        assert f'the demo member saved "{DEMO_SEARCHES[0].name}"' in output

    # Requests for quote: the open one open to every member alerted the bakery's catering
    # search; the invited one nobody; the closed ones were opened by the clock, one accepted
    # into a contract with the cheaper quote (revised), the other closed with its reason.
    assert alerted[str(OPEN_TO_ALL.id)]["search_id"] == food
    assert str(INVITED.id) not in alerted
    assert requests[ACCEPTED.id].status is RequestStatus.ACCEPTED
    accepted = requests[ACCEPTED.id].accepted
    assert accepted is not None
    assert accepted.price_minor == min(min(q.prices) for q in ACCEPTED.quotes if q.prices)
    assert requests[CLOSED.id].status is RequestStatus.CLOSED
    assert {requests[r.id].status for r in OPEN_REQUESTS} == {RequestStatus.OPEN}
    assert requests[OPEN_TO_ALL.id].opened_quotes is None  # sealed until its deadline
    for output in (first.output, second.output):
        assert f"/api/v1/requests-for-quote/{ACCEPTED.id}/quotes" in output

    # OCDS: the pages hold each release once, and every tag of the mapping table (none beyond).
    assert len(pages) > 1
    releases = [release for page in pages for release in page["releases"]]
    assert len({release["id"] for release in releases}) == len(releases)
    assert {tag for release in releases for tag in release["tag"]} == OCDS_TAGS
    # The awarded tender's record: the cleaning contract's amendment and end, the other
    # contract active, and the national portal's ocid as a related process.
    assert record.status_code == 200, record.text
    (process,) = record.json()["records"]
    assert {tag for release in process["releases"] for tag in release["tag"]} >= {
        "contractAmendment",
        "contractTermination",
    }
    compiled = process["compiledRelease"]
    ocds_contracts = {c["id"]: c for c in compiled["contracts"]}
    assert ocds_contracts[str(contract_of("lot-1"))]["status"] == "active"
    ended = ocds_contracts[str(contract_of("lot-2"))]
    assert ended["status"] == "terminated"  # OCDS's closed codelist: completed or terminated
    assert ended["value"] == {"amount": CUT_SHORT_VALUE / 100, "currency": "GBP"}
    assert datetime.fromisoformat(ended["period"]["endDate"]) == cleaned.period.end
    assert [(a["rationale"], a["description"]) for a in ended["amendments"]] == [
        (AMENDMENT_REASON, "Changed: value, period.")
    ]
    assert [(r["scheme"], r["identifier"]) for r in compiled["relatedProcesses"]] == [
        ("ocid", NATIONAL_OCID)
    ]
    # The whole output passes the schemas, the closed codelists and the standard's review tool
    # (offline), and each record compiles as the standard's tools compile it.
    assert "links" not in whole
    assert len(whole["releases"]) == len(releases)
    for package in (*pages, whole, *records):
        assert schema_errors(package) == []
        assert codelist_violations(package) == []
    assert review_counts(review(whole)) == (0, 0)
    assert len(records) == len(ocids) >= 7
    for package in records:
        assert review_counts(review(package)) == (0, 0)
        (each,) = package["records"]
        assert each["compiledRelease"] == compile_like_review_tool(each["releases"])
        assert each["versionedRelease"] == versioned_like_review_tool(each["releases"])
    # Each run prints where to read them.
    for output in (first.output, second.output):
        assert "GET /api/v1/ocds/releases" in output
        assert f"GET /api/v1/ocds/records/{awarded_ocid}" in output


async def test_clock_tick_from_the_command_line_is_idempotent(tmp_path: Path) -> None:
    env = {"TRADEHALL_DATA_DIR": str(tmp_path / "data"), "TRADEHALL_DATABASE_URL": ""}
    runner = CliRunner()
    seeded = await asyncio.to_thread(runner.invoke, main, ["demo"], env=env)
    assert seeded.exit_code == 0, seeded.output

    first = await asyncio.to_thread(runner.invoke, main, ["clock", "tick"], env=env)
    second = await asyncio.to_thread(runner.invoke, main, ["clock", "tick"], env=env)

    assert first.exit_code == 0, first.output
    # 24 paid-up members and 6 awaiting their first payment are the clock's candidates.
    assert "examined 30 members" in first.output
    assert "quality marks changed" in first.output  # every context's clock ticks
    # The demo's published tenders have sealing keys; none is due. The opened ones were settled
    # by the demo; the cancelled, the withdrawn and the one closed unsuccessful before opening
    # have their (empty) boxes discarded at each one's deadline plus the margin, as opening
    # would have been, not at the next tick (ADR 27).
    assert "tenders and requests for quote opened 0, discarded 0" in first.output
    assert second.exit_code == 0, second.output
    assert "examined 30 members, changed 0" in second.output
    assert "quality marks changed 0" in second.output
    assert "tenders and requests for quote opened 0, discarded 0" in second.output


async def _release_pages(client: AppClient, per_page: int) -> list[dict[str, Any]]:
    """Every page of the public OCDS releases, following each page's links.next."""
    pages: list[dict[str, Any]] = []
    params = {"per_page": str(per_page)}
    while True:
        response = await client.get("/api/v1/ocds/releases", params=params)
        assert response.status_code == 200, response.text
        pages.append(response.json())
        following = pages[-1].get("links", {}).get("next")
        if following is None:
            return pages
        link = urlsplit(following)
        assert link.path == "/api/v1/ocds/releases"
        params = dict(parse_qsl(link.query))


def _email(n: int) -> str:
    return f"enterprise{n:02d}@demo.tradehall.example"
