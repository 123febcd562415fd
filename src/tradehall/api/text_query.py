"""The `q` parameter of the searchable boards (the directory search, the tender board): the same
rules everywhere, and the one way user text reaches a store (projections.text_search)."""

from __future__ import annotations

from typing import Annotated

from litestar.params import QueryParameter

from projections.text_search import MAX_TERMS, search_terms

MAX_QUERY_LENGTH = 200

TextQueryParam = Annotated[
    str | None,
    QueryParameter(
        name="q",
        max_length=MAX_QUERY_LENGTH,
        description=(
            "Words to find (at most 200 characters). Only its words count (runs of letters and "
            f"digits, the first {MAX_TERMS}); every word must be found; English stemming on "
            "PostgreSQL, Porter stemming on SQLite. Quotes, operators and other punctuation are "
            "text, never query syntax. A `q` with no word finds nothing."
        ),
    ),
]


def query_terms(q: str | None) -> list[str] | None:
    """The words to search for; None when there is no text query."""
    return None if q is None else search_terms(q)
