"""Sealed notices: an outbox row that names neither its addressee nor what it says.

Before a tender's opening a notice about a bid (a receipt, a partner's invitation) would tell
a reader of the outbox who is bidding. Its row says only "sealed"; the organisation, template,
subject and body are sealed under the outbox key, bound to the message id. The sender opens it
just before sending (tradehall.mail.sender), and the row stays sealed once sent.

A sealed batch tells several organisations in one row whose size is the same however many it
tells (zero included): what is said to all (public words: an amendment's) and, padded to room
for `BATCH_RECIPIENTS` of them, each addressee with the line said to it alone (its own bid).
More addressees than that fill further rows of the same size. A reader of the outbox counts
rows and their sizes, so a batch's row tells nothing of how many it names, up to the bound.

A batch may name, sealed with what it says to all, the public notice of the same event (an
amendment's to interested suppliers: its originator, version and template): the sender then
passes over an addressee that notice already addresses, so a member is told once.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from tradehall.marketplace.sealing.keys import NONCE_BYTES, SealingError, SealingKeys

SEALED_TEMPLATE = "sealed"
SEALED_SUBJECT = "Tradehall notice"
# A batch row's addressee as `open_sealed` reads it: nobody (its addressees are inside).
BATCH_ADDRESSEE = UUID(int=0)
# The addressees one batch row has room for, and the room each takes at most as JSON (an
# organisation id and its line: a bid's id and lot id take about 100).
BATCH_RECIPIENTS = 250
BATCH_ENTRY_BYTES = 200
_RECIPIENT_BYTES = BATCH_RECIPIENTS * BATCH_ENTRY_BYTES


def sealed_outbox_row(
    keys: SealingKeys,
    *,
    message_id: str,
    organisation_id: UUID,
    template: str,
    subject: str,
    body: str,
    created_at: datetime,
) -> dict[str, Any]:
    """The `outbox_messages` row telling an organisation's users, sealed."""
    contents = json.dumps(
        {
            "organisation_id": str(organisation_id),
            "template": template,
            "subject": subject,
            "body": body,
        }
    ).encode("utf-8")
    return _row(keys, message_id, contents, created_at)


def sealed_batch_rows(
    keys: SealingKeys,
    *,
    message_id: str,
    template: str,
    subject: str,
    body: str,
    recipients: Sequence[tuple[UUID, str]],
    created_at: datetime,
    public_notice: PublicNotice | None = None,
) -> list[dict[str, Any]]:
    """The `outbox_messages` rows telling each (organisation, line) of `recipients` `body`
    followed by its own line, sealed: one row of one size for up to `BATCH_RECIPIENTS` (none
    included), then a row more of the same size for each `BATCH_RECIPIENTS` more, its message
    id `message_id` with ":2", ":3"... before its closing ">". The size varies with `subject`
    and `body` (said to all) and `public_notice` (public, as the event is) only."""
    for org, line in recipients:
        if len(json.dumps([str(org), line])) + 2 > BATCH_ENTRY_BYTES:
            raise ValueError(f"a batch's addressee takes at most {BATCH_ENTRY_BYTES} bytes")
    chunks = [
        list(recipients[start : start + BATCH_RECIPIENTS])
        for start in range(0, max(len(recipients), 1), BATCH_RECIPIENTS)
    ]
    rows = []
    for number, chunk in enumerate(chunks, start=1):
        part_id = message_id if number == 1 else f"{message_id[:-1]}:{number}>"
        notice: dict[str, Any] = {
            "organisation_id": str(BATCH_ADDRESSEE),
            "template": template,
            "subject": subject,
            "body": body,
        }
        if public_notice is not None:
            notice["public_notice"] = [
                str(public_notice.originator_id),
                public_notice.version,
                public_notice.template,
            ]
        said = json.dumps(notice).encode("utf-8")
        named = json.dumps([[str(org), line] for org, line in chunk]).encode("ascii")
        contents = said + b"\n" + named.ljust(_RECIPIENT_BYTES, b" ")
        rows.append(_row(keys, part_id, contents, created_at))
    return rows


@dataclass(frozen=True)
class PublicNotice:
    """The public notice of the event a batch tells of (one outbox row per addressee, its
    message id from these and the addressee: `tradehall.mail.outbox.message_id_for`)."""

    originator_id: UUID
    version: int
    template: str


@dataclass(frozen=True)
class OpenedSealed:
    """A sealed row opened: whether it is a batch, each (organisation id, template, subject,
    body) it tells, and the public notice whose addressees a batch passes over (if it names
    one)."""

    batch: bool
    messages: list[tuple[UUID, str, str, str]]
    public_notice: PublicNotice | None = None


def open_sealed_row(keys: SealingKeys, row: Any) -> OpenedSealed:
    """A sealed row opened: one message, or a batch's addressees (none, perhaps), each the
    body and its own line."""
    said, named = _opened(keys, row)
    organisation_id, template, subject, body = _notice(said)
    if named is None:
        return OpenedSealed(False, [(organisation_id, template, subject, body)])
    entries = json.loads(named)
    public = json.loads(said).get("public_notice")
    return OpenedSealed(
        True,
        [(UUID(org), template, subject, f"{body}{line}") for org, line in entries],
        None if public is None else PublicNotice(UUID(public[0]), int(public[1]), public[2]),
    )


def open_sealed_messages(
    keys: SealingKeys, row: Any
) -> tuple[bool, list[tuple[UUID, str, str, str]]]:
    """Whether a sealed row is a batch, and each (organisation id, template, subject, body) it
    tells: one, or a batch's addressees (none, perhaps), each the body and its own line."""
    opened = open_sealed_row(keys, row)
    return opened.batch, opened.messages


def _row(
    keys: SealingKeys, message_id: str, contents: bytes, created_at: datetime
) -> dict[str, Any]:
    nonce = os.urandom(NONCE_BYTES)
    sealed = nonce + AESGCM(keys.outbox_key()).encrypt(nonce, contents, message_id.encode())
    return {
        "message_id": message_id,
        "template": SEALED_TEMPLATE,
        "organisation_id": None,
        "recipient": None,
        "subject": SEALED_SUBJECT,
        "body": "",
        "sealed": sealed,
        "created_at": created_at,
        "sent_at": None,
        "attempts": 0,
        "last_error": None,
    }


def open_sealed(keys: SealingKeys, row: Any) -> tuple[UUID, str, str, str]:
    """A sealed row's (organisation id, template, subject, body); `row` a mapping or a Row. A
    batch's: `BATCH_ADDRESSEE` and what it says to all (`open_sealed_messages` names each)."""
    return _notice(_opened(keys, row)[0])


def _notice(said: bytes) -> tuple[UUID, str, str, str]:
    opened = json.loads(said)
    return (
        UUID(opened["organisation_id"]),
        opened["template"],
        opened["subject"],
        opened["body"],
    )


def _opened(keys: SealingKeys, row: Any) -> tuple[bytes, bytes | None]:
    """A sealed row's contents: what it says, and a batch's addressees (else None)."""
    message_id, sealed = _get(row, "message_id"), _get(row, "sealed")
    if sealed is None:
        raise SealingError(f"outbox message {message_id} is not sealed")
    sealed = bytes(sealed)
    try:
        contents = AESGCM(keys.outbox_key()).decrypt(
            sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], str(message_id).encode()
        )
    except InvalidTag:
        raise SealingError(f"sealed outbox message {message_id} does not open") from None
    said, newline, named = contents.partition(b"\n")  # JSON's own text escapes a line break
    return said, (named if newline else None)


def _get(row: Any, name: str) -> Any:
    return row[name] if isinstance(row, dict) else getattr(row, name)
