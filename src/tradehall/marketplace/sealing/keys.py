"""Data keys: one per tender and three for the service, random, stored wrapped by the master key.

A tender's key is made at its publication (or on first use) by an INSERT that does nothing on a
conflict, then read back: two processes racing end with the one key that was stored first. The
service keys (`index`, `header`, `outbox`) are random rows under reserved ids, never derived from
the master key, so a rotation of the master changes no id and leaves every ciphertext readable.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Connection, Engine, bindparam, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from tradehall.clock import Clock, SystemClock
from tradehall.marketplace.sealing.master import MasterKeys
from tradehall.marketplace.sealing.tables import sealing_keys

KEY_BYTES = 32
NONCE_BYTES = 12
TENDER = "tender"
INDEX = "index"
HEADER = "header"
OUTBOX = "outbox"
# The service keys' reserved ids: version 0 UUIDs, which no uuid4 tender id can ever be.
SERVICE_KEY_IDS = {
    INDEX: UUID(int=1),
    HEADER: UUID(int=2),
    OUTBOX: UUID(int=3),
}


class SealingError(Exception):
    """A data key cannot be had: its wrapping does not open, or it is not stored."""


class SealingKeyMissing(SealingError):
    """The master key that wrapped a data key is not configured."""


def _aad(key_id: UUID, purpose: str) -> bytes:
    return key_id.bytes + purpose.encode("ascii")


class SealingKeys:
    """The data keys, unwrapped on first use and kept in memory; safe to share between threads."""

    def __init__(self, engine: Engine, master: MasterKeys, clock: Clock | None = None) -> None:
        self.engine = engine
        self.master = master
        # Dates the keys made without a moment of their own (the service's keys).
        self.clock = clock or SystemClock()
        self._cache: dict[UUID, bytes] = {}
        self._lock = threading.Lock()

    # -- tenders -------------------------------------------------------------------------------

    def tender_key(self, tender_id: UUID, at: datetime | None = None) -> bytes:
        """The tender's data key, made (dated `at`) if it has none yet."""
        _check_tender_id(tender_id)
        return self._get_or_create(tender_id, TENDER, at)

    def ensure_tender_key(self, tender_id: UUID, at: datetime | None = None) -> None:
        """Make the tender's key at its publication (nothing if it exists)."""
        self.tender_key(tender_id, at)

    def existing_tender_key(self, tender_id: UUID) -> bytes | None:
        """The tender's data key if one is stored; never makes one (a reader of sealed data)."""
        _check_tender_id(tender_id)
        return self._stored(tender_id, TENDER)

    def unsettled_tenders(self, due_by: datetime | None = None) -> list[UUID]:
        """Tenders (and requests for quote) with a key whose bids are not yet settled (opened),
        oldest first. Given `due_by` (the clock's time less its margin), only those the opening
        clock may have to act on: never looked at, or whose deadline as last seen is not after
        `due_by` (an ending changes no deadline: its bids are discarded when it is due)."""
        unsettled = (
            select(sealing_keys.c.key_id)
            .where(sealing_keys.c.purpose == TENDER)
            .where(sealing_keys.c.settled_at.is_(None))
        )
        if due_by is not None:
            unsettled = unsettled.where(
                or_(
                    sealing_keys.c.deadline_seen.is_(None),
                    sealing_keys.c.deadline_seen <= due_by,
                )
            )
        with self.engine.connect() as connection:
            found = connection.execute(
                unsettled.order_by(sealing_keys.c.created_at, sealing_keys.c.key_id)
            )
            return list(found.scalars())

    def saw_deadlines(self, deadlines: Mapping[UUID, datetime]) -> None:
        """The opening clock read these deadlines for tenders (or requests for quote) not yet
        due: it need not load them again before each deadline plus its margin. One
        transaction; a settled key's is not written."""
        for tender_id in deadlines:
            _check_tender_id(tender_id)
        if not deadlines:
            return
        with self.engine.begin() as connection:
            connection.execute(
                update(sealing_keys)
                .where(sealing_keys.c.key_id == bindparam("seen_id"))
                .where(sealing_keys.c.purpose == TENDER)
                .where(sealing_keys.c.settled_at.is_(None))
                .values(deadline_seen=bindparam("seen_deadline")),
                [{"seen_id": k, "seen_deadline": d} for k, d in deadlines.items()],
            )

    def settle(self, tender_id: UUID, at: datetime) -> None:
        """Record that the tender's bids were opened (or discarded) at `at`; the first time
        only: a settled key is left as it is."""
        _check_tender_id(tender_id)
        with self.engine.begin() as connection:
            connection.execute(
                update(sealing_keys)
                .where(sealing_keys.c.key_id == tender_id)
                .where(sealing_keys.c.purpose == TENDER)
                .where(sealing_keys.c.settled_at.is_(None))
                .values(settled_at=at)
            )

    # -- the service's keys --------------------------------------------------------------------

    def index_key(self) -> bytes:
        """Keys the ids of organisations' bid indexes."""
        return self._get_or_create(SERVICE_KEY_IDS[INDEX], INDEX, None)

    def header_key(self) -> bytes:
        """Seals the tender id in each sealed event's header."""
        return self._get_or_create(SERVICE_KEY_IDS[HEADER], HEADER, None)

    def outbox_key(self) -> bytes:
        """Seals the addressee and contents of sealed notices in the outbox."""
        return self._get_or_create(SERVICE_KEY_IDS[OUTBOX], OUTBOX, None)

    # -- rotation ------------------------------------------------------------------------------

    def rewrap(self) -> int:
        """Wrap every key under the current master (a rotation); how many rows changed.

        One transaction: if any row's master is not configured, nothing changes."""
        current = self.master.current_fingerprint
        changed = 0
        with self.engine.begin() as connection:
            rows = connection.execute(
                select(sealing_keys).where(sealing_keys.c.master_fingerprint != current)
            ).all()
            for row in rows:
                key = self._unwrap(row, row.purpose)
                result = connection.execute(
                    update(sealing_keys)
                    .where(sealing_keys.c.key_id == row.key_id)
                    .where(sealing_keys.c.master_fingerprint == row.master_fingerprint)
                    .values(
                        wrapped=self._wrap(row.key_id, row.purpose, key), master_fingerprint=current
                    )
                )
                changed += result.rowcount
        return changed

    # -- the machinery -------------------------------------------------------------------------

    def _cached(self, key_id: UUID) -> bytes | None:
        with self._lock:
            return self._cache.get(key_id)

    def _remember(self, key_id: UUID, key: bytes) -> bytes:
        with self._lock:
            return self._cache.setdefault(key_id, key)

    def _stored(self, key_id: UUID, purpose: str) -> bytes | None:
        """The key in memory, else its stored row's (unwrapped, then kept); None if not stored."""
        cached = self._cached(key_id)
        if cached is not None:
            return cached
        with self.engine.connect() as connection:
            row = _row(connection, key_id)
        if row is None:
            return None
        return self._remember(key_id, self._unwrap(row, purpose))

    def _get_or_create(self, key_id: UUID, purpose: str, at: datetime | None) -> bytes:
        stored = self._stored(key_id, purpose)
        if stored is not None:
            return stored
        fresh = os.urandom(KEY_BYTES)
        with self.engine.begin() as connection:
            connection.execute(
                _insert_unless_present(connection).values(
                    key_id=key_id,
                    purpose=purpose,
                    wrapped=self._wrap(key_id, purpose, fresh),
                    master_fingerprint=self.master.current_fingerprint,
                    created_at=at or self.clock.now(),
                    settled_at=None,
                    deadline_seen=None,
                )
            )
            row = _row(connection, key_id)  # ours, or the one another process stored first
        assert row is not None
        return self._remember(key_id, self._unwrap(row, purpose))

    def _wrap(self, key_id: UUID, purpose: str, key: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + AESGCM(self.master.current).encrypt(nonce, key, _aad(key_id, purpose))

    def _unwrap(self, row: Any, purpose: str) -> bytes:
        if row.purpose != purpose:
            raise SealingError(f"{_named(purpose)} was asked for under {_named(row.purpose)}'s id")
        master = self.master.by_fingerprint(row.master_fingerprint)
        if master is None:
            raise SealingKeyMissing(
                f"the master key that wrapped {_named(purpose)} (fingerprint "
                f"{row.master_fingerprint}) is not configured (configured: "
                f"{', '.join(self.master.fingerprints)}); during a rotation give the old key in "
                "TRADEHALL_SEALING_OLD_KEYS and run `tradehall sealing rotate`. A lost master key "
                "means every data key it wrapped, and every unopened bid sealed under them, is "
                "unreadable for good (ADR 27)"
            )
        wrapped = bytes(row.wrapped)
        try:
            return AESGCM(master).decrypt(
                wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], _aad(row.key_id, purpose)
            )
        except InvalidTag:
            raise SealingError(
                f"{_named(purpose)} does not open under its master key (fingerprint "
                f"{row.master_fingerprint}): the row was altered"
            ) from None


def _named(purpose: str) -> str:
    return "a tender's data key" if purpose == TENDER else f"the {purpose} data key"


def _check_tender_id(tender_id: UUID) -> None:
    if tender_id in SERVICE_KEY_IDS.values():
        raise ValueError("a reserved key id is not a tender's")


def _row(connection: Connection, key_id: UUID) -> Any:
    return connection.execute(
        select(sealing_keys).where(sealing_keys.c.key_id == key_id)
    ).one_or_none()


def _insert_unless_present(connection: Connection) -> Any:
    """INSERT ... ON CONFLICT (key_id) DO NOTHING, in the connection's dialect."""
    name = connection.dialect.name
    dialects: dict[str, Any] = {"sqlite": sqlite, "postgresql": postgresql}
    if name not in dialects:
        raise NotImplementedError(f"sealing keys on {name}")
    return dialects[name].insert(sealing_keys).on_conflict_do_nothing(index_elements=["key_id"])
