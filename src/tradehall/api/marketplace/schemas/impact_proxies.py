"""Requests and responses of the social-value proxy-value table (issue 17)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import msgspec

from marketplace.bids.content import MEASURES
from marketplace.impact.proxies import MAX_NOTE, MAX_SOURCE
from tradehall.api.marketplace.schemas.bids import Measure
from tradehall.api.schemas.base import FREE_TEXT, RequestBody

PencePerUnit = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=20,
        description=(
            "pence per unit of the measure, as a decimal string (at most 4 places, from 0 to "
            '1000000000), such as "1221" or "0.25"'
        ),
    ),
]
Source = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=MAX_SOURCE,
        description="the public source of the figure: its title and URL",
    ),
]
Note = Annotated[
    str, msgspec.Meta(max_length=MAX_NOTE, extra=FREE_TEXT, description="why this version")
]


class ProxyValueBody(RequestBody):
    measure: Measure
    pence_per_unit: PencePerUnit
    source: Source


class ProxyTableBody(RequestBody):
    """A new version of the table: every measure exactly once."""

    effective_from: Annotated[
        date, msgspec.Meta(description="the day (YYYY-MM-DD) this version takes effect")
    ]
    values: Annotated[list[ProxyValueBody], msgspec.Meta(min_length=1, max_length=len(MEASURES))]
    note: Note = ""


# Responses -----------------------------------------------------------------------------------


class ProxyValueView(msgspec.Struct, kw_only=True):
    measure: str
    unit: str
    # Pence per unit, a decimal string.
    pence_per_unit: str
    source: str


class ProxyTableView(msgspec.Struct, kw_only=True):
    effective_from: date
    note: str
    # The default table shipped with Tradehall (reference data), not one staff added.
    shipped: bool
    # Whether this version is the one in effect today (London).
    in_effect: bool
    values: list[ProxyValueView]


class ProxyTablesView(msgspec.Struct, kw_only=True):
    # Today (London), and the effective date of the version in effect on it.
    today: date
    in_effect: date
    # The configured versions' version (0 before the first is added): If-Match for adding.
    version: int
    # Every version, the shipped default first, then by effective date.
    versions: list[ProxyTableView]
