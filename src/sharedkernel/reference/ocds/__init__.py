"""The Open Contracting Data Standard 1.1.5 release schema, with the lots and bids extensions
(v1.1.5) applied as JSON merge patches (RFC 7396), as the standard says extensions are applied;
releases merged into compiled and versioned releases by the standard's merge library
(ocdsmerge) with that schema. Pure computation over package data. Attribution in NOTICE."""

from __future__ import annotations

import csv
import json
from functools import cache
from importlib.resources import files
from typing import Any

import json_merge_patch
import ocdsmerge
from ocdsmerge.exceptions import OCDSMergeError

from sharedkernel.errors import InvalidValue

VERSION = "1.1"
# The extensions the releases use, by the addresses the standard's tools read them from.
EXTENSIONS = (
    "https://raw.githubusercontent.com/open-contracting-extensions/ocds_lots_extension/v1.1.5/extension.json",
    "https://raw.githubusercontent.com/open-contracting-extensions/ocds_bid_extension/v1.1.5/extension.json",
)
_PATCHES = ("lots-release-schema.json", "bids-release-schema.json")


def _load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(files(__package__).joinpath(name).read_text("utf-8"))
    return data


@cache
def release_schema() -> dict[str, Any]:
    """The patched release schema (shared: read it, never change it)."""
    schema = _load("release-schema.json")
    for patch in _PATCHES:
        schema = json_merge_patch.merge(schema, _load(patch))
    return schema


@cache
def currencies() -> frozenset[str]:
    """ISO 4217 currency codes, current and historic, as the standard's closed codelist has
    them."""
    codes = release_schema()["definitions"]["Value"]["properties"]["currency"]["enum"]
    return frozenset(code for code in codes if code)


@cache
def current_currencies() -> frozenset[str]:
    """The codelist's currencies still in use (no "Valid Until" date)."""
    rows = csv.DictReader(
        files(__package__).joinpath("currency.csv").read_text("utf-8").splitlines()
    )
    return frozenset(row["Code"] for row in rows if not row["Valid Until"])


@cache
def _merger() -> ocdsmerge.Merger:
    return ocdsmerge.Merger(schema=release_schema())


def compiled_release(releases: list[dict[str, Any]]) -> dict[str, Any]:
    """The releases of one process merged by the standard's rules (ocdsmerge sorts them by
    date; releases of one date keep their order). InvalidValue if they cannot be merged (a
    field an object in one release and a list in another)."""
    try:
        compiled: dict[str, Any] = _merger().create_compiled_release(releases)
    # TypeError: an id ocdsmerge cannot key by (an object or a list).
    except (OCDSMergeError, TypeError) as error:
        # The library's message quotes the values: a list of thousands of items, say.
        said = str(error)[:300]
        raise InvalidValue("release", f"cannot be merged by the standard's rules: {said}") from None
    return compiled


def versioned_release(releases: list[dict[str, Any]]) -> dict[str, Any]:
    versioned: dict[str, Any] = _merger().create_versioned_release(releases)
    return versioned
