"""Directory and tender board full-text search (projections.search, issue 14): a row an
organisation with its searchable text, its CPV codes (profile and published listings) and
regions, the listings' text and codes; a text row a tender. Each searchable table gets its text
index: PostgreSQL a GIN index on its weighted tsvector (declared on the table in
projections.search_tables too, so a rebuild keeps it); SQLite an external-content FTS5 table
kept in step by triggers (ADR 30).

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-09
"""

from __future__ import annotations

import msgspec
import sqlalchemy as sa
from alembic import op

from projections.folding import storable
from projections.tenders import search_text, stored_terms
from sharedkernel.sqltypes import UtcDateTime

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

_TITLE_LENGTH, _NO_LIMIT = 200, 10**9  # tender_search_text.title's length; the others' none

# Table, its text columns (weight A, B, C), its GIN index, its FTS5 table.
_TEXT = (
    ("directory_search", ("name", "social_purpose", "listings_text"), "ix_directory_search_document",
     "directory_search_fts"),
    ("tender_search_text", ("title", "description", "lots_text"), "ix_tender_search_text_document",
     "tender_search_fts"),
)  # fmt: skip


def upgrade() -> None:
    op.create_table(
        "directory_search",
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("legal_form", sa.String(60), nullable=False),
        sa.Column("social_purpose", sa.Text(), nullable=False),
        sa.Column("listed", sa.Boolean(), nullable=False),
        sa.Column("admitted_at", UtcDateTime(), nullable=True),
        sa.Column("listings_text", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("organisation_id", name="pk_directory_search"),
    )
    op.create_index("ix_directory_search_listed_name", "directory_search", ["listed", "name"])
    op.create_table(
        "directory_search_cpv",
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("cpv_code", sa.String(12), nullable=False),
        sa.Column("source", sa.String(10), nullable=False),
        sa.Column("cpv_stem", sa.String(8), nullable=False),
        sa.PrimaryKeyConstraint(
            "organisation_id", "cpv_code", "source", name="pk_directory_search_cpv"
        ),
    )
    op.create_index("ix_directory_search_cpv_cpv_stem", "directory_search_cpv", ["cpv_stem"])
    op.create_table(
        "directory_search_regions",
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("region", sa.String(10), nullable=False),
        sa.PrimaryKeyConstraint("organisation_id", "region", name="pk_directory_search_regions"),
    )
    op.create_index("ix_directory_search_regions_region", "directory_search_regions", ["region"])
    op.create_table(
        "directory_search_listings",
        sa.Column("listing_id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("published", sa.Boolean(), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("cpv_codes", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("listing_id", name="pk_directory_search_listings"),
    )
    op.create_index(
        "ix_directory_search_listings_organisation_id",
        "directory_search_listings",
        ["organisation_id"],
    )
    op.create_table(
        "tender_search_text",
        sa.Column("tender_id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("lots_text", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("tender_id", name="pk_tender_search_text"),
    )
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table, columns, index, fts in _TEXT:
        if postgresql:
            op.execute(_gin_index(table, columns, index))
        else:
            for statement in _fts5(table, columns, fts):
                op.execute(statement)
    _fill_tender_texts()


def _fill_tender_texts() -> None:
    """The text rows of the tenders already on the board, from their stored terms, as the
    tenders projection writes them: its position stays where it is, so without these the
    tenders read before this revision would never be found by words (short of a rebuild)."""
    bind = op.get_bind()
    tenders = sa.table("tenders", sa.column("tender_id", sa.Uuid()), sa.column("terms", sa.Text()))
    texts = sa.table(
        "tender_search_text",
        sa.column("tender_id", sa.Uuid()),
        sa.column("title", sa.String()),
        sa.column("description", sa.Text()),
        sa.column("lots_text", sa.Text()),
    )
    rows = []
    for tender_id, terms in bind.execute(sa.select(tenders.c.tender_id, tenders.c.terms)):
        try:
            text = search_text(stored_terms(terms))
        except (msgspec.DecodeError, msgspec.ValidationError):
            continue  # not terms the projection wrote: a rebuild gives its row
        limits = {"title": _TITLE_LENGTH}
        stored = {
            name: storable(bind, value, limits.get(name, _NO_LIMIT)) for name, value in text.items()
        }
        rows.append({"tender_id": tender_id, **stored})
    if rows:
        bind.execute(sa.insert(texts), rows)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        for _, _, _, fts in _TEXT:
            for kind in ("ai", "ad", "au"):
                op.execute(f"DROP TRIGGER IF EXISTS {fts}_{kind}")
            op.execute(f"DROP TABLE IF EXISTS {fts}")
    for table in (
        "tender_search_text",
        "directory_search_listings",
        "directory_search_regions",
        "directory_search_cpv",
        "directory_search",
    ):
        op.drop_table(table)  # its indexes with it


def _gin_index(table: str, columns: tuple[str, ...], index: str) -> str:
    """The GIN index on the weighted tsvector, as projections.text_search declares it."""
    weighted = " || ".join(
        f"setweight(to_tsvector('english'::regconfig, {column}), '{weight}')"
        for column, weight in zip(columns, "ABC", strict=True)
    )
    return f"CREATE INDEX {index} ON {table} USING gin (({weighted}))"


def _fts5(table: str, columns: tuple[str, ...], fts: str) -> list[str]:
    """The external-content FTS5 table over the columns and the triggers keeping it in step
    (every insert, delete and update of the table, the rebuild's swap's too)."""
    names = ", ".join(columns)
    new = ", ".join(f"new.{column}" for column in columns)
    old = ", ".join(f"old.{column}" for column in columns)
    # Names of our own tables and columns, never user text.
    remove = f"INSERT INTO {fts}({fts}, rowid, {names}) VALUES ('delete', old.rowid, {old});"  # noqa: S608
    add = f"INSERT INTO {fts}(rowid, {names}) VALUES (new.rowid, {new});"  # noqa: S608
    return [
        f"CREATE VIRTUAL TABLE {fts} USING fts5({names}, content='{table}', "
        "content_rowid='rowid', tokenize='porter unicode61')",
        f"CREATE TRIGGER {fts}_ai AFTER INSERT ON {table} BEGIN {add} END",
        f"CREATE TRIGGER {fts}_ad AFTER DELETE ON {table} BEGIN {remove} END",
        f"CREATE TRIGGER {fts}_au AFTER UPDATE ON {table} BEGIN {remove} {add} END",
    ]
