"""An organisation's contact points ("Tenders", "Accounts"): who to reach, and how.

People's data (ADR 4): never in an event. These are the rules a list of contact points meets;
the adapter (`tradehall.membership.contacts`) keeps them in a table that can be replaced and
erased. Pure Python, no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sharedkernel.errors import InvalidValue
from sharedkernel.text import TextRejected, check_email

MAX_CONTACT_POINTS = 20
MAX_LABEL = 60
MAX_PERSON_NAME = 200
MAX_EMAIL = 320
MAX_PHONE = 40
# A telephone number as people write it: digits, spaces and + ( ) - . (no letters, no "ext").
_PHONE_CHARACTERS = frozenset("0123456789 +()-.")
_MIN_PHONE_DIGITS, _MAX_PHONE_DIGITS = 5, 20


@dataclass(frozen=True)
class ContactPoint:
    label: str
    name: str | None
    email: str | None
    phone: str | None

    @classmethod
    def parse(
        cls,
        *,
        label: str,
        name: str | None = None,
        email: str | None = None,
        phone: str | None = None,
        field: str = "contact_point",
    ) -> ContactPoint:
        clean_label = " ".join(label.split())
        if not clean_label:
            raise InvalidValue(f"{field}.label", "a contact point has a label, e.g. Tenders")
        if len(clean_label) > MAX_LABEL:
            raise InvalidValue(f"{field}.label", f"longer than {MAX_LABEL} characters")
        clean_name = " ".join(name.split()) if name else ""
        if len(clean_name) > MAX_PERSON_NAME:
            raise InvalidValue(f"{field}.name", f"longer than {MAX_PERSON_NAME} characters")
        clean_email = _email(email.strip(), f"{field}.email") if email and email.strip() else None
        clean_phone = _phone(phone, f"{field}.phone") if phone and phone.strip() else None
        if clean_email is None and clean_phone is None:
            raise InvalidValue(field, "a contact point gives an e-mail address or a phone number")
        return cls(label=clean_label, name=clean_name or None, email=clean_email, phone=clean_phone)


def check_contact_points(points: Sequence[ContactPoint]) -> tuple[ContactPoint, ...]:
    """A whole list, as it replaces the one before: bounded, and each label once."""
    if len(points) > MAX_CONTACT_POINTS:
        raise InvalidValue("contact_points", f"at most {MAX_CONTACT_POINTS}")
    seen: set[str] = set()
    for i, point in enumerate(points):
        key = point.label.casefold()
        if key in seen:
            raise InvalidValue(f"contact_points[{i}].label", f"{point.label!r} is given twice")
        seen.add(key)
    return tuple(points)


def _email(value: str, field: str) -> str:
    try:
        return check_email(value)
    except TextRejected as error:
        raise InvalidValue(field, error.reason) from None


def _phone(value: str, field: str) -> str:
    clean = " ".join(value.split())
    if len(clean) > MAX_PHONE:
        raise InvalidValue(field, f"longer than {MAX_PHONE} characters")
    if not set(clean) <= _PHONE_CHARACTERS:
        raise InvalidValue(field, "digits, spaces and + ( ) - . only")
    digits = sum(character.isdigit() for character in clean)
    if not _MIN_PHONE_DIGITS <= digits <= _MAX_PHONE_DIGITS:
        raise InvalidValue(
            field, f"a phone number has {_MIN_PHONE_DIGITS} to {_MAX_PHONE_DIGITS} digits"
        )
    return clean
