"""Sealed notices: an outbox row that names neither its addressee nor what it says.

Before a tender's opening a notice about a bid (a receipt, a partner's invitation) would tell
a reader of the outbox who is bidding. Its row says only "sealed"; the organisation, template,
subject and body are sealed under the outbox key, bound to the message id. The sender opens it
just before sending (tradehall.mail.sender), and the row stays sealed once sent.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from typing import Any
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from tradehall.marketplace.sealing.keys import NONCE_BYTES, SealingError, SealingKeys

SEALED_TEMPLATE = "sealed"
SEALED_SUBJECT = "Tradehall notice"


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
    """A sealed row's (organisation id, template, subject, body); `row` a mapping or a Row."""
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
    opened = json.loads(contents)
    return (
        UUID(opened["organisation_id"]),
        opened["template"],
        opened["subject"],
        opened["body"],
    )


def _get(row: Any, name: str) -> Any:
    return row[name] if isinstance(row, dict) else getattr(row, name)
