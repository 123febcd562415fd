"""Full-text search: the one place where the two stores' text SQL differs (ADR 30).

A searchable table names its text columns, each with a weight (`TextIndex`). User text never
reaches either store's query language as it was typed: `search_terms` keeps its words (runs of
letters and digits) and each store is asked for documents holding every word.

- PostgreSQL: the document is a weighted tsvector computed from the columns (`document`); a GIN
  index on that very expression (declared on the table, so a rebuild's copy keeps it) serves
  `@@ plainto_tsquery`. The rank is `ts_rank` (which reads only the document and the query),
  scaled to an integer so a keyset cursor compares it exactly.
- SQLite: an external-content FTS5 table over the columns, kept in step by triggers (both made
  by the migration). Each word is a quoted FTS5 string. The rank is the sum, over the words, of
  the weights of the columns the word is found in: it too reads only the document and the query
  (FTS5's bm25 reads the whole corpus, so a cursor on it would shift as rows arrive).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import reduce
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Dialect,
    Index,
    Table,
    bindparam,
    case,
    cast,
    false,
    func,
    literal,
    literal_column,
    select,
    text,
)
from sqlalchemy import table as table_clause

# A query's words are letters and digits; at most this many are searched for, each this long.
MAX_TERMS = 12
MAX_TERM_LENGTH = 60
_WORD = re.compile(r"[^\W_]+")
_CONFIG = "'english'::regconfig"
# ts_rank is a float; scaled and rounded to an integer it compares the same everywhere.
RANK_SCALE = 1_000_000
# The weight classes and SQLite points of a ranked index's fields, most telling first.
_RANKS = (("A", 4), ("B", 2), ("C", 1))


def search_terms(query: str) -> list[str]:
    """The distinct words of a user's query, lower-cased, in order (at most MAX_TERMS)."""
    words = (word.lower()[:MAX_TERM_LENGTH] for word in _WORD.findall(query))
    return list(dict.fromkeys(words))[:MAX_TERMS]


@dataclass(frozen=True)
class TextField:
    column: str
    # PostgreSQL's weight class (A highest) and the points a word found here adds on SQLite.
    weight: str
    points: int


@dataclass(frozen=True)
class TextIndex:
    """A table's searchable text columns and, on SQLite, the FTS5 table indexing them."""

    table: Table
    fields: tuple[TextField, ...]
    fts_table: str

    @classmethod
    def ranked(cls, table: Table, columns: tuple[str, str, str], fts_table: str) -> TextIndex:
        """The index of `columns`, the most telling first: a word in the first counts most."""
        fields = (TextField(column, *rank) for column, rank in zip(columns, _RANKS, strict=True))
        return cls(table, tuple(fields), fts_table)

    def document(self, table: Table | None = None) -> ColumnElement[Any]:
        """PostgreSQL: the weighted tsvector of a row (the GIN index's expression)."""
        source = self.table if table is None else table
        parts = [
            func.setweight(
                func.to_tsvector(text(_CONFIG), source.c[field.column]),
                text(f"'{field.weight}'"),
            )
            for field in self.fields
        ]
        return reduce(lambda left, right: left.op("||")(right), parts)

    def gin_index(self, name: str) -> Index:
        """The PostgreSQL-only GIN index over `document` (SQLite has its FTS5 table)."""
        index = Index(name, self.document(), postgresql_using="gin")
        index.ddl_if(dialect="postgresql")
        return index


def matches(dialect: Dialect, index: TextIndex, terms: Sequence[str]) -> ColumnElement[bool]:
    """The row holds every term (in any of the index's columns)."""
    if not terms:
        return false()
    if dialect.name == "postgresql":
        return index.document().op("@@")(_tsquery(terms))
    return _rowid(index).in_(_fts_rowids(index, " AND ".join(_quoted(t) for t in terms)))


def rank(dialect: Dialect, index: TextIndex, terms: Sequence[str]) -> ColumnElement[int]:
    """How well a matching row matches: higher first; it reads only the row and the terms."""
    if not terms:
        return literal(0, BigInteger)
    if dialect.name == "postgresql":
        scaled = func.round(func.ts_rank(index.document(), _tsquery(terms)) * RANK_SCALE)
        return cast(scaled, BigInteger)
    points: list[ColumnElement[int]] = [
        case(
            (
                _rowid(index).in_(_fts_rowids(index, f"{{{field.column}}} : {_quoted(term)}")),
                field.points,
            ),
            else_=0,
        )
        for term in terms
        for field in index.fields
    ]
    return cast(reduce(lambda left, right: left + right, points), BigInteger)


def _tsquery(terms: Sequence[str]) -> ColumnElement[Any]:
    # plainto_tsquery ANDs the words; they hold no operators, being letters and digits only.
    return func.plainto_tsquery(text(_CONFIG), bindparam(None, " ".join(terms)))


def _quoted(term: str) -> str:
    """An FTS5 string: the term taken as text, never as query syntax."""
    return '"' + term.replace('"', '""') + '"'


def _rowid(index: TextIndex) -> ColumnElement[Any]:
    return literal_column(f"{index.table.name}.rowid")


def _fts_rowids(index: TextIndex, expression: str) -> Any:
    fts = table_clause(index.fts_table)
    return (
        select(literal_column("rowid"))
        .select_from(fts)
        .where(literal_column(index.fts_table).op("MATCH")(bindparam(None, expression)))
    )
