"""Reference code lists: CPV 2008 and UK ITL 2025 (attribution in NOTICE)."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

from sharedkernel.errors import InvalidValue


@dataclass(frozen=True)
class Region:
    code: str
    name: str
    level: str
    parent: str | None


@cache
def cpv_codes() -> dict[str, str]:
    """CPV 2008 codes with check digit (`77314000-4`) to their English label."""
    text = files(__package__).joinpath("cpv-2008-en.json").read_text(encoding="utf-8")
    data: dict[str, str] = json.loads(text)
    return data


@cache
def _cpv_by_stem() -> dict[str, str]:
    return {code.split("-")[0]: code for code in cpv_codes()}


@cache
def itl_regions() -> dict[str, Region]:
    """ITL 2025 regions (ITL1, ITL2, ITL3) by code."""
    text = files(__package__).joinpath("itl-2025.csv").read_text(encoding="utf-8")
    rows = csv.DictReader(text.splitlines())
    return {
        row["code"]: Region(row["code"], row["name"], row["level"], row["parent"] or None)
        for row in rows
    }


def canonical_cpv(code: str, *, field: str = "cpv_codes") -> str:
    """The official form of a CPV code, given with or without its check digit.

    Codes are looked up, not checked arithmetically: some official check digits do not follow
    the usual weighting.
    """
    stem, _, check = code.strip().partition("-")
    official = _cpv_by_stem().get(stem)
    if official is None or (check and official != f"{stem}-{check}"):
        raise InvalidValue(field, f"{code!r} is not a CPV 2008 code")
    return official


def canonical_region(code: str, *, field: str = "regions") -> str:
    normalised = code.strip().upper()
    if normalised not in itl_regions():
        raise InvalidValue(field, f"{code!r} is not an ITL 2025 region code")
    return normalised


def canonical_cpv_codes(codes: Iterable[str], *, field: str = "cpv_codes") -> tuple[str, ...]:
    """Each code in its official form, once, in the order first given; an unknown one is an
    InvalidValue naming its place (`cpv_codes[2]`)."""
    return tuple(
        dict.fromkeys(canonical_cpv(code, field=f"{field}[{i}]") for i, code in enumerate(codes))
    )


def canonical_regions(codes: Iterable[str], *, field: str = "regions") -> tuple[str, ...]:
    """Each ITL code upper-cased, once, in the order first given; an unknown one is an
    InvalidValue naming its place (`regions[0]`)."""
    return tuple(
        dict.fromkeys(canonical_region(code, field=f"{field}[{i}]") for i, code in enumerate(codes))
    )
