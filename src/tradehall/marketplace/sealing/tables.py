"""The sealing keys table: every data key, wrapped by a master key that is never stored here."""

from __future__ import annotations

from sqlalchemy import Column, LargeBinary, MetaData, String, Table, Uuid

from sharedkernel.sqltypes import NAMING_CONVENTION, UtcDateTime

metadata = MetaData(naming_convention=NAMING_CONVENTION)

# One row per data key: a tender's (its id is the tender's, purpose "tender"), and the three
# service keys under reserved ids (purposes "index", "header", "outbox"). `wrapped` is
# nonce || AES-GCM(master, key, aad = key id + purpose), `master_fingerprint` names the master
# key that wrapped it. A tender's row is written at its publication; `settled_at` is set once
# its bids are opened (the opening clock finds the others).
sealing_keys = Table(
    "sealing_keys",
    metadata,
    Column("key_id", Uuid, primary_key=True),
    Column("purpose", String(10), nullable=False),
    Column("wrapped", LargeBinary, nullable=False),
    Column("master_fingerprint", String(16), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("settled_at", UtcDateTime, nullable=True),
)
