"""The sealing keys table: every data key, wrapped by a master key that is never stored here."""

from __future__ import annotations

from sqlalchemy import Column, Index, LargeBinary, MetaData, String, Table, Uuid

from sharedkernel.sqltypes import NAMING_CONVENTION, UtcDateTime

metadata = MetaData(naming_convention=NAMING_CONVENTION)

# One row per data key: a tender's (its id is the tender's, purpose "tender"), and the three
# service keys under reserved ids (purposes "index", "header", "outbox"). `wrapped` is
# nonce || AES-GCM(master, key, aad = key id + purpose), `master_fingerprint` names the master
# key that wrapped it. A tender's row is written at its publication; `settled_at` is set once
# its bids are opened (the opening clock finds the others). `deadline_seen` is the deadline the
# opening clock last read for a tender (or request for quote) not yet due: the clock loads it
# again only once that deadline plus its margin has passed (a published deadline is never
# shortened), or once whatever ends it before its deadline sets it back to null (ADR 27).
sealing_keys = Table(
    "sealing_keys",
    metadata,
    Column("key_id", Uuid, primary_key=True),
    Column("purpose", String(10), nullable=False),
    Column("wrapped", LargeBinary, nullable=False),
    Column("master_fingerprint", String(16), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("settled_at", UtcDateTime, nullable=True),
    Column("deadline_seen", UtcDateTime, nullable=True),
)
# The opening clock's rows, in its order: only the unsettled ones.
Index(
    "ix_sealing_keys_unsettled",
    sealing_keys.c.created_at,
    sealing_keys.c.key_id,
    postgresql_where=sealing_keys.c.settled_at.is_(None),
    sqlite_where=sealing_keys.c.settled_at.is_(None),
)
