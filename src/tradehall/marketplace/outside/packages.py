"""Reading an OCDS release package: its bytes -> the publisher's name, the releases, the next
page's address. JSON numbers are read as Decimals (never floats, which would change amounts).
Anything that is not a release package is refused, saying what it is instead."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import msgspec

# The most a file given to `tradehall import ocds` may hold (a feed has its own setting).
MAX_FILE_BYTES = 100 * 1024 * 1024
# How deep a release may nest; the standard's deepest paths are far shallower, and the merge
# and the personal-data filter walk a release recursively.
MAX_RELEASE_DEPTH = 32
MAX_PUBLISHER = 200
_BOM = b"\xef\xbb\xbf"
_decoder = msgspec.json.Decoder(float_hook=Decimal)


class NotAPackage(Exception):
    """The bytes are not an OCDS release package (or not JSON, or too large): says why."""


@dataclass(frozen=True)
class ReleasePackage:
    publisher: str  # the publisher's name, "" when the package names none
    releases: list[Any]  # as given: each is checked when it is imported
    next_url: str | None  # `links.next`, when given


def read_package(data: bytes, *, max_bytes: int) -> ReleasePackage:
    if len(data) > max_bytes:
        raise NotAPackage(f"larger than {max_bytes} bytes")
    data = data.removeprefix(_BOM)
    try:
        decoded = _decoder.decode(data)
    except msgspec.DecodeError as error:
        # msgspec refuses an escaped lone surrogate ("\ud800"), which JSON's grammar allows:
        # the standard library reads it, and the release it is in is dealt with on its own.
        decoded = _general(data, error)
    except RecursionError:
        raise NotAPackage("not JSON this program reads (nested too deep)") from None
    except ArithmeticError:
        raise NotAPackage(_PAST_DECIMALS) from None
    return package_of(decoded)


# A number whose exponent no Decimal holds (past 10**18, libmpdec's limit): refused whole, as
# an integer past msgspec's range is.
_PAST_DECIMALS = "not JSON this program reads (a number past any decimal's exponent)"


def _general(data: bytes, refused: msgspec.DecodeError) -> Any:
    try:
        return json.loads(data.decode("utf-8"), parse_float=Decimal, parse_constant=_no_constant)
    except (ValueError, RecursionError):
        raise NotAPackage(f"not JSON ({refused})") from None
    except ArithmeticError:
        raise NotAPackage(_PAST_DECIMALS) from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def package_of(decoded: Any) -> ReleasePackage:
    if not isinstance(decoded, Mapping):
        kind = "a list" if isinstance(decoded, list) else "a single value"
        raise NotAPackage(f"not an OCDS release package: the JSON is {kind}, not an object")
    releases = decoded.get("releases")
    if not isinstance(releases, list):
        if isinstance(decoded.get("records"), list):
            raise NotAPackage(
                "an OCDS record package, not a release package: import the release packages "
                "its records were compiled from"
            )
        if "ocid" in decoded:
            raise NotAPackage("a single OCDS release, not a release package")
        raise NotAPackage("not an OCDS release package: it has no list of releases")
    return ReleasePackage(_publisher(decoded), releases, _next_url(decoded))


def _publisher(package: Mapping[str, Any]) -> str:
    publisher = package.get("publisher")
    name = publisher.get("name") if isinstance(publisher, Mapping) else None
    if not isinstance(name, str):
        return ""
    return " ".join(name.split())[:MAX_PUBLISHER]


def _next_url(package: Mapping[str, Any]) -> str | None:
    links = package.get("links")
    link = links.get("next") if isinstance(links, Mapping) else None
    if not isinstance(link, str) or not link.strip():
        return None
    return link.strip()


def depth_of(value: Any) -> int:
    """How deep a JSON value nests (a scalar: 0), walked without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if isinstance(item, Mapping):
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
    return deepest
