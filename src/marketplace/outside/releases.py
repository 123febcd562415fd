"""An incoming OCDS release, as real feeds send them: what identifies it is required (ocid, date,
tag), the rest is taken as it comes. People's data is dropped before anything is recorded
(ADR 4); a release without an `id` is told apart from others by its content. Amounts arrive as
Decimals (the reader parses JSON numbers so) and stay so. Pure code."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import msgspec

from sharedkernel.errors import InvalidValue

MAX_OCID = 200
# What a contact point says of a person: dropped wherever a contact point is.
PERSONAL = frozenset({"name", "email", "telephone", "faxNumber"})
_CONTACT_KEYS = frozenset({"contactPoint", "additionalContactPoints"})
_EMAIL = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
REMOVED = "[removed]"
# Canonical JSON: keys sorted, Decimals as JSON numbers (never floats).
_canonical = msgspec.json.Encoder(order="sorted", decimal_format="number")
_decoder = msgspec.json.Decoder(float_hook=Decimal)


@dataclass(frozen=True)
class IncomingRelease:
    ocid: str
    date: datetime
    # The release's id, or a digest of its content when it has none.
    key: str
    # The release without people's data.
    release: dict[str, Any]

    @property
    def text(self) -> str:
        return as_text(self.release)


def as_text(release: Mapping[str, Any]) -> str:
    return _canonical.encode(release).decode()


def from_text(text: str) -> dict[str, Any]:
    release: dict[str, Any] = _decoder.decode(text)
    return release


def parse_release(raw: Any, *, own_prefix: str) -> IncomingRelease:
    """The release if it identifies itself (ocid, date, tag), else InvalidValue naming what is
    missing. An ocid under our own prefix is ours, never imported."""
    if not isinstance(raw, Mapping):
        raise InvalidValue("release", "not a JSON object")
    ocid = raw.get("ocid")
    if not isinstance(ocid, str) or not ocid.strip():
        raise InvalidValue("ocid", "missing")
    ocid = ocid.strip()
    if len(ocid) > MAX_OCID or not ocid.isprintable():
        raise InvalidValue("ocid", "not an ocid")
    if ocid.startswith(f"{own_prefix}-"):
        raise InvalidValue("ocid", f"{ocid} is under our own prefix: it is ours")
    date = parse_moment(raw.get("date"))
    if date is None:
        raise InvalidValue("date", "missing or not an ISO 8601 date-time")
    tag = raw.get("tag")
    if not isinstance(tag, list) or not tag or not all(isinstance(t, str) for t in tag):
        raise InvalidValue("tag", "missing or not a list of release tags")
    release = without_personal_data(raw)
    release["ocid"] = ocid
    given = raw.get("id")
    if isinstance(given, str | int) and not isinstance(given, bool) and str(given).strip():
        key = f"id:{str(given).strip()}"
    else:
        key = "sha256:" + hashlib.sha256(as_text(release).encode()).hexdigest()
    return IncomingRelease(ocid, date, key, release)


def without_personal_data(release: Any) -> Any:
    """A copy without the names, e-mails, telephone and fax numbers of every contact point;
    and, in any text, without those same values (a description that repeats them) nor any
    e-mail address."""
    found: set[str] = set()
    _personal_values(release, found)
    # Longest first: a name inside an e-mail address goes with the address.
    said = sorted((v for v in found if len(v) >= 3), key=len, reverse=True)
    return _copy(release, said)


def _copy(value: Any, said: list[str]) -> Any:
    if isinstance(value, Mapping):
        copied: dict[str, Any] = {}
        for key, item in value.items():
            if key in _CONTACT_KEYS:
                item = _contact(item)
            copied[str(key)] = _copy(item, said)
        return copied
    if isinstance(value, list):
        return [_copy(item, said) for item in value]
    if isinstance(value, str):
        for personal in said:
            value = value.replace(personal, REMOVED)
        return _EMAIL.sub(REMOVED, value)
    return value


def _personal_values(value: Any, found: set[str], under_contact: bool = False) -> None:
    if isinstance(value, Mapping):
        for key, item in value.items():
            if under_contact and key in PERSONAL and isinstance(item, str):
                found.add(item.strip())
            else:
                _personal_values(item, found, key in _CONTACT_KEYS)
    elif isinstance(value, list):
        for item in value:
            _personal_values(item, found, under_contact)


def _contact(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: v for k, v in value.items() if k not in PERSONAL}
    if isinstance(value, list):
        return [_contact(item) for item in value]
    return value


def parse_moment(value: Any) -> datetime | None:
    """An ISO 8601 date-time (UTC if it gives no offset), or None."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if not 1900 <= moment.year <= 2099:
        return None
    return moment.astimezone(UTC)
