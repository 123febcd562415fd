"""Where an outside opportunity is delivered, as ITL 2025 regions where that can be done
reliably; everything else is "unresolved", kept as given. Pure code.

Reliable: an ITL code; a NUTS code (UK...), whose first level maps one to one onto ITL 1 (UKC
is TLC, ...) while deeper levels were renumbered, so UKL18 is read as its ITL 1 region, TLL; a
region's exact ITL name ("East of England"); England (its nine ITL 1 regions); the United
Kingdom as a whole (no restriction). Not: postcodes (no postcode table here), other countries,
anything else.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from sharedkernel.reference import itl_regions

_NUTS = re.compile(r"UK([C-N])[0-9A-Z]{0,3}")
_ENGLAND = ("TLC", "TLD", "TLE", "TLF", "TLG", "TLH", "TLI", "TLJ", "TLK")
_UNITED_KINGDOM = frozenset({"united kingdom", "uk", "gb", "great britain"})


@dataclass(frozen=True)
class Regions:
    # ITL codes; none and nothing unresolved: anywhere (or not said).
    codes: tuple[str, ...]
    # What was given that could not be read reliably, as given.
    unresolved: tuple[str, ...]


def _key(name: str) -> str:
    return re.sub(r"\s+", " ", name.replace("&", "and")).strip().casefold()


@cache
def _by_name() -> dict[str, str]:
    names: dict[str, list[str]] = {}
    for code, region in itl_regions().items():
        names.setdefault(_key(region.name), []).append(code)
    # A name two regions share (a county and its ITL 2 area) is read as the larger.
    return {name: min(codes, key=len) for name, codes in names.items()}


def resolve(value: str) -> tuple[str, ...] | None:
    """The ITL codes one place given as text means, () for the whole United Kingdom, None if it
    cannot be read reliably."""
    text = value.strip()
    upper = text.upper().replace(" ", "")
    if upper in itl_regions():
        return (upper,)
    nuts = _NUTS.fullmatch(upper)
    if nuts is not None:
        return (f"TL{nuts.group(1)}",)
    key = _key(text)
    if key in _UNITED_KINGDOM:
        return ()
    if key == "england":
        return _ENGLAND
    code = _by_name().get(key)
    return (code,) if code is not None else None


def delivery_regions(tender: Mapping[str, Any]) -> Regions:
    """The regions of a tender's items' delivery addresses (`deliveryAddress`, or the
    `deliveryAddresses` real feeds send): an address's region, else its postcode, else its
    country."""
    codes: list[str] = []
    unresolved: list[str] = []
    for place in _places(tender):
        found = resolve(place)
        if found is None:
            unresolved.append(place)
        else:
            codes.extend(found)
    return Regions(tuple(dict.fromkeys(codes)), tuple(dict.fromkeys(unresolved)))


def _places(tender: Mapping[str, Any]) -> Iterable[str]:
    items = tender.get("items")
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, Mapping):
            continue
        addresses = item.get("deliveryAddresses")
        listed = addresses if isinstance(addresses, list) else []
        single = item.get("deliveryAddress")
        for address in [*listed, single]:
            if isinstance(address, Mapping):
                yield from _address(address)


def _address(address: Mapping[str, Any]) -> Iterable[str]:
    region, country = address.get("region"), address.get("countryName")
    postcode = address.get("postalCode")
    if isinstance(region, str) and region.strip():
        yield region.strip()[:100]
    elif isinstance(postcode, str) and postcode.strip():
        yield postcode.strip()[:20]
    elif isinstance(country, str) and country.strip():
        yield country.strip()[:100]
