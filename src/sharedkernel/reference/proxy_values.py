"""The shipped default social-value proxy values (proxy-values-default.csv): one row a measure,
with its unit, its value in pence per unit and the public source of the figure. Reference data,
not an event: the marketplace's impact table reads it as its first version."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

COLUMNS = ("measure", "unit", "pence_per_unit", "source")


@dataclass(frozen=True)
class ProxyRow:
    measure: str
    unit: str
    pence_per_unit: str  # a decimal, as written in the file
    source: str


@cache
def default_proxy_rows() -> tuple[ProxyRow, ...]:
    """The rows of proxy-values-default.csv, as written (the marketplace checks them)."""
    text = files(__package__).joinpath("proxy-values-default.csv").read_text(encoding="utf-8")
    reader = csv.DictReader(text.splitlines())
    if tuple(reader.fieldnames or ()) != COLUMNS:
        raise ValueError(f"proxy-values-default.csv: columns must be {', '.join(COLUMNS)}")
    return tuple(
        ProxyRow(row["measure"], row["unit"], row["pence_per_unit"], row["source"])
        for row in reader
    )
