"""Staff's view of the outbox's failed messages, and putting one back in the queue (ADR 12):
never a body, and never a sealed notice, not even as a number (ADR 27): the sender tries those
until they are sent."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, select, update

from tests.api.helpers import SignedIn, register, services_of, token
from tests.conftest import AppClient
from tradehall.clock import ManualClock
from tradehall.mail.sender import MAX_ATTEMPTS, pending
from tradehall.mail.tables import outbox_messages
from tradehall.marketplace.sealing.outbox import SEALED_SUBJECT, SEALED_TEMPLATE

FAILED = "/api/v1/operations/mail/failed"
QUEUED = datetime(1971, 5, 4, 8, 0, tzinfo=UTC)  # before what other tests leave: listed first


def bare(message_id: str) -> str:
    return message_id.strip("<>")


def outbox_row(**values: Any) -> dict[str, Any]:
    return {
        "message_id": f"<{uuid.uuid4()}@tradehall.invalid>",
        "template": "tender_amended",
        "organisation_id": uuid.uuid4(),
        "recipient": None,
        "subject": "Tender amended: Riverside school meals",
        "body": f"secret-body-{uuid.uuid4()}",
        "created_at": QUEUED,
        "sent_at": None,
        "attempts": 0,
        "last_error": None,
        "next_attempt_at": None,
        "sealed": None,
    } | values


async def queue(client: AppClient, *rows: dict[str, Any]) -> None:
    async with services_of(client).engine.begin() as connection:
        await connection.execute(insert(outbox_messages), list(rows))


async def listed(client: AppClient, headers: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Every failed message staff see, page by page, by message id."""
    found: dict[str, dict[str, Any]] = {}
    page = 1
    while True:
        response = await client.get(FAILED, params={"page": page, "per_page": 100}, headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        assert "secret-body-" not in response.text  # never a body
        found |= {item["message_id"]: item for item in body["items"]}
        if page * 100 >= body["total"]:
            return found
        page += 1


async def test_staff_see_failed_messages_without_bodies_and_no_sealed_notice(
    client: AppClient, staff: SignedIn, clock: ManualClock
) -> None:
    retried_at = clock.now() + timedelta(minutes=2)
    failing = outbox_row(
        attempts=3, last_error="SMTPServerDisconnected", next_attempt_at=retried_at
    )
    given_up = outbox_row(
        template="account_reset",
        organisation_id=None,
        recipient="jo@member.example",
        attempts=MAX_ATTEMPTS,
        last_error="SMTPRecipientsRefused: 1 recipient(s) refused (550)",
    )
    sealed = outbox_row(
        template=SEALED_TEMPLATE,
        organisation_id=None,
        subject=SEALED_SUBJECT,
        body="",
        sealed=b"sealed-contents",
        attempts=1,
        last_error="SMTPDataError: the server answered 451",
        next_attempt_at=retried_at,
    )
    waiting = outbox_row()  # never tried: not a failure
    sent = outbox_row(attempts=2, last_error="x", sent_at=clock.now())
    await queue(client, failing, given_up, waiting, sent)
    before = await client.get(FAILED, headers=staff.headers)
    await queue(client, sealed)

    found = await listed(client, staff.headers)
    after = await client.get(FAILED, headers=staff.headers)

    assert waiting["message_id"] not in found
    assert sent["message_id"] not in found
    assert found[failing["message_id"]] == {
        "message_id": failing["message_id"],
        "template": "tender_amended",
        "organisation_id": str(failing["organisation_id"]),
        "recipient": None,
        "subject": failing["subject"],
        "created_at": "1971-05-04T08:00:00Z",
        "attempts": 3,
        "last_error": "SMTPServerDisconnected",
        "next_attempt_at": retried_at.isoformat().replace("+00:00", "Z"),
        "waiting_for_staff": False,
    }
    assert found[given_up["message_id"]]["recipient"] == "jo@member.example"
    assert found[given_up["message_id"]]["waiting_for_staff"] is True
    async with services_of(client).engine.begin() as connection:  # no sender elsewhere tries it
        await connection.execute(
            delete(outbox_messages).where(outbox_messages.c.message_id == sealed["message_id"])
        )
    # A sealed notice is neither listed nor counted: the total would say how many bid.
    assert sealed["message_id"] not in found
    assert after.json()["total"] == before.json()["total"]
    order = [(datetime.fromisoformat(item["created_at"]), key) for key, item in found.items()]
    assert order == sorted(order)  # the oldest first


async def test_a_sealed_notice_is_not_staff_s_to_retry_and_is_never_given_up(
    client: AppClient, staff: SignedIn, clock: ManualClock
) -> None:
    sealed = outbox_row(
        template=SEALED_TEMPLATE,
        organisation_id=None,
        subject=SEALED_SUBJECT,
        body="",
        sealed=b"sealed-contents",
        attempts=MAX_ATTEMPTS + 3,
        last_error="SealingError",
    )
    await queue(client, sealed)

    retried = await client.post(
        f"/api/v1/operations/mail/{bare(sealed['message_id'])}/retry", headers=staff.headers
    )

    assert retried.status_code == 404
    assert "sealed" not in retried.text.lower()
    # Past its attempts, it is still due: the sender tries it until it is sent.
    due = await pending(services_of(client), limit=10_000)
    assert sealed["message_id"] in {row.message_id for row in due}
    async with services_of(client).engine.connect() as connection:
        row = (
            await connection.execute(
                select(outbox_messages).where(outbox_messages.c.message_id == sealed["message_id"])
            )
        ).one()
    assert row.attempts == MAX_ATTEMPTS + 3  # the 404 changed nothing
    async with services_of(client).engine.begin() as connection:  # no sender elsewhere tries it
        await connection.execute(
            delete(outbox_messages).where(outbox_messages.c.message_id == sealed["message_id"])
        )


async def test_staff_put_a_failed_message_back_in_the_queue(
    client: AppClient, staff: SignedIn, clock: ManualClock
) -> None:
    given_up = outbox_row(attempts=MAX_ATTEMPTS, last_error="SMTPServerDisconnected")
    await queue(client, given_up)
    services = services_of(client)
    key = given_up["message_id"]
    assert key not in {row.message_id for row in await pending(services, limit=100_000)}
    url = f"/api/v1/operations/mail/{bare(key)}/retry"

    first = await client.post(url, headers=staff.headers)
    again = await client.post(f"/api/v1/operations/mail/{key}/retry", headers=staff.headers)

    assert first.status_code == 200, first.text
    assert first.json()["attempts"] == 0
    assert first.json()["next_attempt_at"] is None
    assert first.json()["last_error"] == "SMTPServerDisconnected"  # kept until it is sent
    assert again.status_code == 200, again.text
    assert again.json() == first.json()
    assert key in {row.message_id for row in await pending(services, limit=100_000)}
    assert key not in await listed(client, staff.headers)  # queued, not failed

    # Put back while waiting out a backoff: due at once.
    async with services.engine.begin() as connection:
        await connection.execute(
            update(outbox_messages)
            .where(outbox_messages.c.message_id == key)
            .values(attempts=2, next_attempt_at=clock.now() + timedelta(minutes=5))
        )
    assert (await client.post(url, headers=staff.headers)).status_code == 200
    async with services.engine.connect() as connection:
        row = (
            await connection.execute(
                select(outbox_messages).where(outbox_messages.c.message_id == key)
            )
        ).one()
    assert (row.attempts, row.next_attempt_at, row.sent_at) == (0, None, None)


async def test_putting_back_a_sent_or_unknown_or_malformed_id_is_a_problem(
    client: AppClient, staff: SignedIn, clock: ManualClock
) -> None:
    sent = outbox_row(attempts=2, last_error="x", sent_at=clock.now())
    await queue(client, sent)

    already = await client.post(
        f"/api/v1/operations/mail/{bare(sent['message_id'])}/retry", headers=staff.headers
    )
    unknown = await client.post(
        f"/api/v1/operations/mail/{uuid.uuid4()}@tradehall.invalid/retry", headers=staff.headers
    )
    malformed = await client.post(
        "/api/v1/operations/mail/not a message id/retry", headers=staff.headers
    )

    assert already.status_code == 409
    assert unknown.status_code == 404
    assert malformed.status_code == 422
    for response in (already, unknown, malformed):
        assert response.headers["content-type"].startswith("application/problem+json")
    assert malformed.json()["errors"][0]["field"] == "message_id"
    async with services_of(client).engine.connect() as connection:
        row = (
            await connection.execute(
                select(outbox_messages).where(outbox_messages.c.message_id == sent["message_id"])
            )
        ).one()
    assert (row.attempts, row.sent_at is not None) == (2, True)


async def test_staff_put_every_message_waiting_for_them_back_at_once(
    client: AppClient, staff: SignedIn, clock: ManualClock
) -> None:
    waiting = [outbox_row(attempts=MAX_ATTEMPTS, last_error="SMTPServerDisconnected") for _ in "ab"]
    backing_off = outbox_row(attempts=2, next_attempt_at=clock.now() + timedelta(minutes=1))
    sent = outbox_row(attempts=MAX_ATTEMPTS, sent_at=clock.now())
    sealed = outbox_row(
        template=SEALED_TEMPLATE, subject=SEALED_SUBJECT, body="", attempts=MAX_ATTEMPTS
    )
    mine = [*waiting, backing_off, sent, sealed]
    await queue(client, *mine)

    first = await client.post(f"{FAILED}/retry", headers=staff.headers)
    again = await client.post(f"{FAILED}/retry", headers=staff.headers)

    assert first.status_code == 200, first.text
    assert first.json()["put_back"] >= 2  # others' rows may wait in this database too
    assert again.json() == {"put_back": 0}
    async with services_of(client).engine.begin() as connection:
        rows = {
            row.message_id: (row.attempts, row.next_attempt_at)
            for row in await connection.execute(
                select(outbox_messages).where(
                    outbox_messages.c.message_id.in_([row["message_id"] for row in mine])
                )
            )
        }
        await connection.execute(  # no sender elsewhere tries the sealed one
            delete(outbox_messages).where(outbox_messages.c.message_id == sealed["message_id"])
        )
    assert [rows[row["message_id"]] for row in waiting] == [(0, None), (0, None)]
    assert rows[backing_off["message_id"]][0] == 2  # keeps its wait
    assert rows[sent["message_id"]][0] == MAX_ATTEMPTS
    assert rows[sealed["message_id"]][0] == MAX_ATTEMPTS  # never staff's (the sender's)


async def test_members_may_neither_see_nor_retry_failed_mail(client: AppClient) -> None:
    org = await register(client)
    member = await token(client, org["email"])
    given_up = outbox_row(attempts=MAX_ATTEMPTS, last_error="SMTPServerDisconnected")
    await queue(client, given_up)
    url = f"/api/v1/operations/mail/{bare(given_up['message_id'])}/retry"

    assert (await client.get(FAILED, headers=member)).status_code == 403
    assert (await client.get(FAILED)).status_code == 401
    assert (await client.post(url, headers=member)).status_code == 403
    assert (await client.post(url)).status_code == 401
    assert (await client.post(f"{FAILED}/retry", headers=member)).status_code == 403
    assert (await client.post(f"{FAILED}/retry")).status_code == 401
    async with services_of(client).engine.connect() as connection:
        attempts = (
            await connection.execute(
                select(outbox_messages.c.attempts).where(
                    outbox_messages.c.message_id == given_up["message_id"]
                )
            )
        ).scalar_one()
    assert attempts == MAX_ATTEMPTS
