"""What an outside opportunity shows, read from its compiled release (the standard's merge of
every release of its ocid). Whatever is missing or odd is left out, never guessed: no deadline,
no value, the VCSE flag unknown. Pure code."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from marketplace.outside.regions import delivery_regions
from marketplace.outside.releases import parse_moment
from sharedkernel.errors import InvalidValue
from sharedkernel.reference import canonical_cpv
from sharedkernel.reference.ocds import currencies

MAX_TITLE = 300
MAX_TEXT = 8000
MAX_NAME = 300
MAX_URL = 2000
_STATUSES = frozenset(
    {"planning", "planned", "active", "cancelled", "unsuccessful", "complete", "withdrawn"}
)
# A value beyond this many major units is not a believable tender value (ten billion).
_MAX_AMOUNT = Decimal(10) ** 10


@dataclass(frozen=True)
class Summary:
    title: str
    description: str
    buyer_name: str | None
    status: str | None  # OCDS tender.status, when it is one
    deadline: datetime | None
    amount: Decimal | None  # major units, as published
    currency: str | None
    cpv_codes: tuple[str, ...]
    regions: tuple[str, ...]
    unresolved_regions: tuple[str, ...]
    vcse: bool | None  # tender.suitability.vcse; None: the publisher did not say
    url: str | None  # the notice on the portal

    def is_open(self, now: datetime) -> bool:
        return self.status == "active" and self.deadline is not None and self.deadline > now

    def as_data(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "description": self.description,
            "buyer_name": self.buyer_name,
            "status": self.status,
            "deadline": self.deadline.isoformat() if self.deadline else None,
            "amount": str(self.amount) if self.amount is not None else None,
            "currency": self.currency,
            "cpv_codes": list(self.cpv_codes),
            "regions": list(self.regions),
            "unresolved_regions": list(self.unresolved_regions),
            "vcse": self.vcse,
            "url": self.url,
        }

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Summary:
        deadline, amount = data.get("deadline"), data.get("amount")
        return cls(
            title=str(data["title"]),
            description=str(data.get("description") or ""),
            buyer_name=data.get("buyer_name"),
            status=data.get("status"),
            deadline=datetime.fromisoformat(deadline) if deadline else None,
            amount=Decimal(amount) if amount is not None else None,
            currency=data.get("currency"),
            cpv_codes=tuple(data.get("cpv_codes") or ()),
            regions=tuple(data.get("regions") or ()),
            unresolved_regions=tuple(data.get("unresolved_regions") or ()),
            vcse=data.get("vcse"),
            url=data.get("url"),
        )


def summarise(compiled: Mapping[str, Any]) -> Summary:
    tender = _mapping(compiled.get("tender"))
    amount, currency = _value(_mapping(tender.get("value")))
    regions = delivery_regions(tender)
    status = tender.get("status")
    suitability = _mapping(tender.get("suitability"))
    vcse = suitability.get("vcse")
    return Summary(
        title=_text(tender.get("title"), MAX_TITLE)
        or _text(compiled.get("title"), MAX_TITLE)
        or str(compiled.get("ocid")),
        description=_text(tender.get("description"), MAX_TEXT)
        or _text(compiled.get("description"), MAX_TEXT),
        buyer_name=_text(_mapping(compiled.get("buyer")).get("name"), MAX_NAME)
        or _buyer_party(compiled),
        status=status if status in _STATUSES else None,
        deadline=parse_moment(_mapping(tender.get("tenderPeriod")).get("endDate")),
        amount=amount,
        currency=currency,
        cpv_codes=_cpv_codes(tender),
        regions=regions.codes,
        unresolved_regions=regions.unresolved,
        vcse=vcse if isinstance(vcse, bool) else None,
        url=_notice_url(tender),
    )


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _text(value: Any, limit: int) -> str:
    return value.strip()[:limit] if isinstance(value, str) else ""


def _value(value: Mapping[str, Any]) -> tuple[Decimal | None, str | None]:
    """The amount as published (a Decimal, never a float) and its ISO 4217 currency, or
    neither."""
    amount, currency = value.get("amount"), value.get("currency")
    if isinstance(amount, bool) or not isinstance(amount, Decimal | int | str):
        return None, None
    try:
        parsed = Decimal(amount)
    except (InvalidOperation, ValueError):
        return None, None
    if not parsed.is_finite() or not 0 <= parsed <= _MAX_AMOUNT:
        return None, None
    if not isinstance(currency, str) or currency.upper() not in currencies():
        return None, None
    return parsed, currency.upper()


def _cpv_codes(tender: Mapping[str, Any]) -> tuple[str, ...]:
    """The CPV codes of the tender's classification, additional classifications and items'
    classifications; codes not in CPV 2008 are left out."""
    found: list[Any] = [tender.get("classification")]
    extra = tender.get("additionalClassifications")
    found += extra if isinstance(extra, list) else []
    items = tender.get("items")
    for item in items if isinstance(items, list) else []:
        item = _mapping(item)
        found.append(item.get("classification"))
        more = item.get("additionalClassifications")
        found += more if isinstance(more, list) else []
    codes = []
    for classification in found:
        classification = _mapping(classification)
        code = classification.get("id")
        if str(classification.get("scheme", "")).upper() != "CPV" or not isinstance(code, str):
            continue
        try:
            codes.append(canonical_cpv(code))
        except InvalidValue:
            continue
    return tuple(dict.fromkeys(codes))


def _buyer_party(compiled: Mapping[str, Any]) -> str | None:
    parties = compiled.get("parties")
    for party in parties if isinstance(parties, list) else []:
        party = _mapping(party)
        roles = party.get("roles")
        if isinstance(roles, list) and "buyer" in roles:
            return _text(party.get("name"), MAX_NAME) or None
    return None


def _notice_url(tender: Mapping[str, Any]) -> str | None:
    documents = tender.get("documents")
    for document in documents if isinstance(documents, list) else []:
        document = _mapping(document)
        url = document.get("url")
        if (
            document.get("documentType") == "tenderNotice"
            and isinstance(url, str)
            and url.startswith(("https://", "http://"))
            and len(url) <= MAX_URL
        ):
            return url
    return None
