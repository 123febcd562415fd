"""Probes of the quality mark's life through the API, on both stores (helper marks-probe)."""

from __future__ import annotations

import io
import uuid
from datetime import datetime, timedelta
from typing import Any

from pypdf import PdfWriter
from sqlalchemy import select

from membership.marks.assessment import MAX_EVIDENCE_PER_CRITERION
from membership.marks.mark import mark_id_for
from sharedkernel.events import CLOCK, Context
from tests.api.helpers import services_of
from tests.api.test_quality_mark import (
    CRITERIA,
    DECLARATIONS,
    mark_events,
    settle,
    signed_in,
    started,
    stored_files,
    upload,
)
from tests.conftest import AppClient
from tests.evidence_files import pdf
from tradehall.clock import ManualClock
from tradehall.identity.users import Role
from tradehall.mail.tables import outbox_messages
from tradehall.membership.marks.workers import MarkIndex
from tradehall.store.base import Store

Client = AppClient


async def assigned(
    client: Client, staff_headers: dict[str, str], store: Store, clock: ManualClock
) -> tuple[Any, dict[str, str], str, Any]:
    """An application with its evidence and declarations, submitted and given to an assessor."""
    org, member, application = await started(client, staff_headers)
    url = f"/api/v1/mark-applications/{application}"
    for criterion in CRITERIA:
        assert (await upload(client, member, application, criterion, pdf())).status_code == 201
    assert (
        await client.put(f"{url}/declarations", json=DECLARATIONS, headers=member)
    ).status_code == 200
    assert (await client.post(f"{url}/submission", headers=member)).status_code == 200
    assessor = await signed_in(client, store, clock, Role.ASSESSOR)
    assigned = await client.post(
        f"{url}/assessor", json={"assessor_id": str(assessor.user_id)}, headers=staff_headers
    )
    assert assigned.status_code == 200, assigned.text
    return org, member, application, assessor


async def referred(
    client: Client, staff_headers: dict[str, str], store: Store, clock: ManualClock
) -> tuple[Any, dict[str, str], str, Any]:
    """An application referred to the panel, every criterion met."""
    org, member, application, assessor = await assigned(client, staff_headers, store, clock)
    findings = {code: {"met": True, "note": "seen"} for code in CRITERIA}
    done = await client.post(
        f"/api/v1/mark-applications/{application}/referral",
        json={"findings": findings},
        headers=assessor.headers,
    )
    assert done.status_code == 200, done.text
    return org, member, application, assessor


async def awarded(
    client: Client, staff_headers: dict[str, str], store: Store, clock: ManualClock
) -> tuple[Any, dict[str, str], str]:
    org, member, application, _ = await referred(client, staff_headers, store, clock)
    decided = await client.post(
        f"/api/v1/mark-applications/{application}/decision",
        json={"award": True},
        headers=staff_headers,
    )
    assert decided.status_code == 200, decided.text
    mark = await client.get(f"/api/v1/organisations/{org['id']}/mark", headers=member)
    await settle(client)
    return org, member, mark.json()["certificate_number"]


async def notices_to(client: Client, organisation_id: str) -> list[tuple[str, str]]:
    """The templates and bodies of the messages queued for an organisation's users, in order."""
    table = outbox_messages
    query = (
        select(table.c.template, table.c.body)
        .where(table.c.organisation_id == uuid.UUID(organisation_id))
        .order_by(table.c.created_at, table.c.template)
    )
    async with services_of(client).engine.connect() as connection:
        return [(r.template, r.body) for r in await connection.execute(query)]


async def test_the_holder_is_told_when_its_mark_is_revoked_or_withdrawn(
    client: Client, staff_headers: dict[str, str], store: Store, clock: ManualClock
) -> None:
    """Found: a revocation (and a withdrawal, the membership ended) queued no message, so a
    holder went on showing a badge it may no longer display, unaware."""
    org, _, number = await awarded(client, staff_headers, store, clock)
    revoked = await client.post(
        f"/api/v1/organisations/{org['id']}/mark/revocation",
        json={"reason": "the badge was shown on goods not made by the holder"},
        headers=staff_headers,
    )
    assert revoked.status_code == 200, revoked.text
    await settle(client)
    sent = await notices_to(client, org["id"])
    assert [t for t, _ in sent if t.startswith("mark_")] == ["mark_awarded", "mark_revoked"]
    body = dict(sent)["mark_revoked"]
    assert number in body
    assert "the badge was shown on goods not made by the holder" in body
    assert "may no longer be displayed" in body

    # A mark withdrawn because the membership ended (expelled: at once).
    other, _, other_number = await awarded(client, staff_headers, store, clock)
    name = (await client.get(f"/api/v1/marks/{other_number}")).json()["holder_name"]
    assert name != "A member of the association"  # named while a member
    expelled = await client.post(
        f"/api/v1/organisations/{other['id']}/membership/expulsion",
        json={"reason": "repeated breaches of the code of conduct"},
        headers=staff_headers,
    )
    assert expelled.status_code == 200, expelled.text
    await settle(client)
    await settle(client)  # the follower's withdrawal, then the notice writer
    public = (await client.get(f"/api/v1/marks/{other_number}")).json()
    assert public["status"] == "withdrawn"
    # The register no longer names a former member (its page and badge neither).
    assert public["holder_name"] == "A former member of the association"
    for page in (f"/api/v1/marks/{other_number}/badge.svg", f"/api/v1/marks/{other_number}"):
        shown = await client.get(page, headers={"Accept": "text/html"})
        assert name not in shown.text, page
    sent = await notices_to(client, other["id"])
    assert [t for t, _ in sent if t.startswith("mark_")] == ["mark_awarded", "mark_withdrawn"]
    assert other_number in dict(sent)["mark_withdrawn"]


async def test_a_mark_past_its_validity_is_never_answered_valid_before_the_clock_ticks(
    client: Client, staff_headers: dict[str, str], store: Store, clock: ManualClock
) -> None:
    """Found: between a mark's `valid_until` and the clock's next tick (hourly by default) the
    public verification (JSON, page, badge) and the holder's own view answered `valid`. The
    answer now says `expired` from that moment; the tick records it (and tells the holder)."""
    org, member, number = await awarded(client, staff_headers, store, clock)
    mark_url = f"/api/v1/organisations/{org['id']}/mark"
    valid_until = (await client.get(mark_url, headers=member)).json()["valid_until"]
    clock.advance(timedelta(days=366))
    assert clock.now().isoformat() > valid_until

    public = await client.get(f"/api/v1/marks/{number}")
    assert public.status_code == 200, public.text
    assert public.json()["status"] == "expired"
    page = await client.get(f"/api/v1/marks/{number}", headers={"Accept": "text/html"})
    assert "This mark has expired" in page.text
    assert "Valid</dd>" not in page.text
    badge = await client.get(f"/api/v1/marks/{number}/badge.svg")
    assert ">expired<" in badge.text
    assert ">valid<" not in badge.text
    own = await client.get(mark_url, headers=member)
    assert own.json()["status"] == "expired"
    # Nothing was written by reading: the mark's log holds no Expired before the tick.
    assert own.json()["version"] == 1


async def test_an_unanswered_request_past_its_deadline_may_go_to_the_panel(
    client: Client, staff_headers: dict[str, str], store: Store, clock: ManualClock
) -> None:
    """Found: once the assessor asked for information, only the applicant's reply moved the
    application on. Left unanswered past its reply deadline, the assessor could neither refer
    it nor ask again and the panel could not reject it: it waited in the queue for ever. Past
    the deadline the assessor may now refer it with their findings (before, still a 409)."""
    _, member, application, assessor = await assigned(client, staff_headers, store, clock)
    url = f"/api/v1/mark-applications/{application}"
    reply_by = clock.now() + timedelta(days=14)
    asked = await client.post(
        f"{url}/information-requests",
        json={"question": "Please send the signed accounts", "reply_by": reply_by.isoformat()},
        headers=assessor.headers,
    )
    assert asked.status_code == 200, asked.text
    findings = {code: {"met": True, "note": "seen"} for code in CRITERIA}
    findings["asset_lock"] = {"met": False, "note": "no signed accounts: not answered"}

    clock.advance(timedelta(days=13))  # still within the deadline: the applicant may answer
    early = await client.post(
        f"{url}/referral", json={"findings": findings}, headers=assessor.headers
    )
    assert early.status_code == 409, early.text

    clock.advance(timedelta(days=2))
    referred = await client.post(
        f"{url}/referral", json={"findings": findings}, headers=assessor.headers
    )
    assert referred.status_code == 200, referred.text
    view = (await client.get(url, headers=member)).json()
    assert view["stage"] == "panel_review"
    assert view["rounds"][0]["reply"] is None
    # Too late to answer now; the panel decides.
    late = await client.post(f"{url}/information-reply", json={"reply": "here"}, headers=member)
    assert late.status_code == 409, late.text
    rejected = await client.post(
        f"{url}/decision",
        json={"award": False, "reasons": {"asset_lock": "no accounts were sent"}},
        headers=staff_headers,
    )
    assert rejected.status_code == 200, rejected.text
    await settle(client)
    queue = await client.get(
        "/api/v1/mark-applications", params={"stage": "rejected"}, headers=staff_headers
    )
    assert application in [e["application_id"] for e in queue.json()["items"]]


async def test_an_award_giving_reasons_is_a_problem_naming_reasons_and_records_nothing(
    client: Client, staff_headers: dict[str, str], store: Store, clock: ManualClock
) -> None:
    """Found: an award sent with reasons (a rejection's field) was a 409 saying the criteria
    it named were 'not met', though every one was met: bad input, now the 422 naming
    `reasons`. The application waits for the panel as before."""
    _, member, application, _ = await referred(client, staff_headers, store, clock)
    url = f"/api/v1/mark-applications/{application}"
    version = (await client.get(url, headers=member)).json()["version"]
    refused = await client.post(
        f"{url}/decision",
        json={"award": True, "reasons": {"asset_lock": "fine"}},
        headers=staff_headers,
    )
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in refused.json()["errors"]] == ["reasons"]
    view = (await client.get(url, headers=member)).json()
    assert (view["stage"], view["version"]) == ("panel_review", version)
    awarded_now = await client.post(f"{url}/decision", json={"award": True}, headers=staff_headers)
    assert awarded_now.status_code == 200, awarded_now.text


async def test_the_clock_no_longer_loads_a_revoked_or_withdrawn_mark(
    client: Client, staff_headers: dict[str, str], store: Store, clock: ManualClock
) -> None:
    """Found: the clock's index of marks only grew, so every tick loaded (replayed) every mark
    ever awarded, a revoked or withdrawn one too, though such a mark never changes again (no
    renewal, notice or expiry). The index now drops a mark once its Revoked or Withdrawn
    event is read."""
    revoked_org, _, _ = await awarded(client, staff_headers, store, clock)
    withdrawn_org, withdrawn_member, _ = await awarded(client, staff_headers, store, clock)
    live_org, _, _ = await awarded(client, staff_headers, store, clock)
    marks = services_of(client).applications["marks"]
    index = MarkIndex()
    ids = {
        name: mark_id_for(uuid.UUID(org["id"]))
        for name, org in (
            ("revoked", revoked_org),
            ("withdrawn", withdrawn_org),
            ("live", live_org),
        )
    }
    assert set(ids.values()) <= set(index.marks(marks.recorder))  # read up to here

    revoked = await client.post(
        f"/api/v1/organisations/{revoked_org['id']}/mark/revocation",
        json={"reason": "misuse"},
        headers=staff_headers,
    )
    assert revoked.status_code == 200, revoked.text
    resigned = await client.post(
        f"/api/v1/organisations/{withdrawn_org['id']}/membership/resignation",
        json={"effective": "now"},
        headers=withdrawn_member,
    )
    assert resigned.status_code == 200, resigned.text
    await settle(client)

    listed = index.marks(marks.recorder)  # read on from where it was
    assert ids["live"] in listed
    assert ids["revoked"] not in listed
    assert ids["withdrawn"] not in listed
    assert listed == MarkIndex().marks(marks.recorder)  # as one read from the start


def pdf_of_width(width: int) -> bytes:
    """A blank one-page PDF, its bytes differing by the page's width."""
    writer = PdfWriter()
    writer.add_blank_page(width, 200)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


async def test_a_criterion_with_its_ten_documents_refuses_more_before_storing_any(
    client: Client, staff_headers: dict[str, str]
) -> None:
    """Found: the tenth document's limit was checked only after the upload was stored, so an
    applicant could store any number of files (each up to the upload limit) by sending more to
    a criterion that held ten, each refused with a 409 but kept on disk. Now the 409 comes
    before a byte is stored."""
    _, member, application = await started(client, staff_headers)
    for n in range(MAX_EVIDENCE_PER_CRITERION):
        sent = await upload(client, member, application, "asset_lock", pdf_of_width(200 + n))
        assert sent.status_code == 201, sent.text
    files = set(stored_files(client))
    events = len(mark_events(client, application))
    for n in range(3):
        refused = await upload(client, member, application, "asset_lock", pdf_of_width(300 + n))
        assert refused.status_code == 409, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
    assert set(stored_files(client)) == files
    assert len(mark_events(client, application)) == events
    # Another criterion still takes its documents.
    other = await upload(client, member, application, "independence", pdf_of_width(400))
    assert other.status_code == 201, other.text


async def test_a_stale_if_match_on_evidence_stores_nothing(
    client: Client, staff_headers: dict[str, str]
) -> None:
    """Found (review): the version an upload named was checked only as the evidence was
    recorded, after the file was stored, so uploads with a stale If-Match each left a file on
    disk that nothing refers to. Now the 409 comes before a byte is stored; the current
    version is taken."""
    _, member, application = await started(client, staff_headers)
    files = set(stored_files(client))
    events = len(mark_events(client, application))
    stale = member | {"If-Match": '"999"'}
    for n in range(3):
        refused = await upload(client, stale, application, "asset_lock", pdf_of_width(500 + n))
        assert refused.status_code == 409, refused.text
        assert "999" in refused.json()["detail"]
    assert set(stored_files(client)) == files
    assert len(mark_events(client, application)) == events
    current = member | {"If-Match": f'"{events}"'}
    taken = await upload(client, current, application, "asset_lock", pdf_of_width(600))
    assert taken.status_code == 201, taken.text


async def test_no_renewal_reminder_while_a_renewal_is_under_way(
    client: Client, staff_headers: dict[str, str], store: Store, clock: ManualClock
) -> None:
    """Found: the clock's 60- and 30-day notices ('Apply to renew it before then') went to a
    holder whose renewal application was already open. While one is open no reminder is
    recorded; withdrawn, the reminder due comes at the next tick."""
    org, member, _ = await awarded(client, staff_headers, store, clock)
    mark_url = f"/api/v1/organisations/{org['id']}/mark"
    valid_until = datetime.fromisoformat(
        (await client.get(mark_url, headers=member)).json()["valid_until"]
    )
    marks = services_of(client).applications["marks"]
    mark_id = mark_id_for(uuid.UUID(org["id"]))

    async def tick_this_mark() -> None:
        # The clock's command for this mark alone (the shared database holds others' marks).
        now = clock.now()
        await services_of(client).run(
            marks.observe_time, Context(CLOCK, f"clock:{now.isoformat()}", now), mark_id
        )
        await settle(client)

    clock.advance(valid_until - clock.now() - timedelta(days=80))
    started_renewal = await client.post(
        f"/api/v1/organisations/{org['id']}/mark-applications", headers=member
    )
    assert started_renewal.status_code == 201, started_renewal.text
    renewal = started_renewal.json()["id"]
    clock.advance(timedelta(days=21))  # 59 days left
    await tick_this_mark()
    clock.advance(timedelta(days=30))  # 29 days left
    await tick_this_mark()
    reminders = [t for t, _ in await notices_to(client, org["id"]) if "renewal_due" in t]
    assert reminders == []

    withdrawn = await client.post(f"/api/v1/mark-applications/{renewal}/withdrawal", headers=member)
    assert withdrawn.status_code == 200, withdrawn.text
    await tick_this_mark()
    reminders = [t for t, _ in await notices_to(client, org["id"]) if "renewal_due" in t]
    assert reminders == ["mark_renewal_due_30"]
