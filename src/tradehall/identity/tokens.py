"""One-use secrets (account e-mail links, refresh tokens): kept only as their hash, and used
once at most (the tables' shape is `tables._one_use_tokens`)."""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import Table, Update, update


def token_hash(secret: str) -> str:
    """What is kept of a secret: its SHA-256, in hex."""
    return hashlib.sha256(secret.encode()).hexdigest()


def use_once(table: Table, hashed: str, now: datetime) -> Update:
    """Mark the token used, unless it was already: a row count of 1 says this caller used it
    (of two concurrent uses, one wins)."""
    return (
        update(table)
        .where(table.c.token_hash == hashed, table.c.used_at.is_(None))
        .values(used_at=now)
    )
