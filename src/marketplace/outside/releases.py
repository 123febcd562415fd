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
# Any e-mail address, in any script (\w is Unicode): jane@例え.jp as much as jo@x.org.
_EMAIL = re.compile(r"[\w.%+'-]+@[\w-]+(?:\.[\w-]+)+")
REMOVED = "[removed]"
_SURROGATE = re.compile("[\ud800-\udfff]")
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
    if ocid.casefold().startswith(f"{own_prefix}-".casefold()):
        raise InvalidValue("ocid", f"{ocid} is under our own prefix: it is ours")
    date = parse_moment(raw.get("date"))
    if date is None:
        raise InvalidValue("date", "missing or not an ISO 8601 date-time")
    tag = raw.get("tag")
    if not isinstance(tag, list) or not tag or not all(isinstance(t, str) for t in tag):
        raise InvalidValue("tag", "missing or not a list of release tags")
    release = without_personal_data(raw)
    release["ocid"] = ocid
    # In UTC, as the standard's merge sorts releases by the text of their dates.
    release["date"] = date.isoformat().replace("+00:00", "Z")
    given = raw.get("id")
    if isinstance(given, str | int) and not isinstance(given, bool) and str(given).strip():
        key = f"id:{str(given).strip()}"
    else:
        key = "sha256:" + hashlib.sha256(as_text(release).encode()).hexdigest()
    return IncomingRelease(ocid, date, key, release)


def without_personal_data(release: Any) -> Any:
    """A copy without the names, e-mails, telephone and fax numbers of every contact point;
    and, in any text or key, without those same values (a description that repeats them, in
    any case or spacing) nor any e-mail address."""
    found: set[str] = set()
    _personal_values(release, found)
    return _copy(release, _pattern(found))


def without_email(text: str) -> str:
    """The text with every e-mail address replaced (a publisher's name, say)."""
    return _EMAIL.sub(REMOVED, text)


def _pattern(found: set[str]) -> re.Pattern[str] | None:
    """One pattern for the values said in contact points: longest first (a name inside an
    e-mail address goes with the address), case and runs of spaces folded."""
    said = sorted({" ".join(v.split()) for v in found if len(v.strip()) >= 3}, key=len)
    if not said:
        return None
    parts = [r"\s+".join(re.escape(word) for word in value.split()) for value in reversed(said)]
    return re.compile("|".join(parts), re.IGNORECASE)


def _scrub(text: str, said: re.Pattern[str] | None) -> str:
    # A lone surrogate (an escaped "\ud800" read by another parser) cannot be stored as UTF-8.
    text = _SURROGATE.sub("\ufffd", text)
    if said is not None:
        text = said.sub(REMOVED, text)
    return without_email(text)


def _copy(value: Any, said: re.Pattern[str] | None) -> Any:
    if isinstance(value, Mapping):
        copied: dict[str, Any] = {}
        for key, item in value.items():
            if key in _CONTACT_KEYS:
                item = _contact(item)
            copied[_scrub(str(key), said)] = _copy(item, said)
        return copied
    if isinstance(value, list):
        return [_copy(item, said) for item in value]
    if isinstance(value, str):
        return _scrub(value, said)
    return value


def _personal_values(value: Any, found: set[str], under_contact: bool = False) -> None:
    if isinstance(value, Mapping):
        for key, item in value.items():
            said = isinstance(item, str | int | Decimal) and not isinstance(item, bool)
            if under_contact and key in PERSONAL and said:
                found.add(str(item).strip())
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
