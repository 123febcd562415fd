"""Registry identifiers: org-id.guide schemes and how each scheme's identifiers are normalised.

Pure functions; no I/O. A registry identifier is unique across organisations once normalised,
so `GB-COH 1234567`, `gb-coh 01234567` and `GB-COH 0123 4567` are one company.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from uuid import UUID, uuid5

from sharedkernel.errors import InvalidValue

# org-id.guide list codes we accept, with what they register.
SCHEMES: dict[str, str] = {
    "GB-COH": "Companies House",
    "GB-CHC": "Charity Commission for England and Wales",
    "GB-SC": "Scottish Charity Register (OSCR)",
    "GB-NIC": "Charity Commission for Northern Ireland",
    "GB-MPR": "FCA Mutuals Public Register",
    "GB-GOR": "UK government organisation register",
    "GB-LAE": "Local authorities in England",
    "GB-LAS": "Local authorities in Scotland",
    "GB-LAW": "Local authorities in Wales",
    "GB-PLA": "Principal local authorities in Wales",
    "GB-LANI": "Local authorities in Northern Ireland",
    "GB-NHS": "NHS organisations",
    "GB-EDU": "Education establishments (England and Wales)",
    "GB-UKPRN": "UK Register of Learning Providers",
}

# uuid5 namespace for registry claims: the claim id is derived from the normalised key.
REGISTRY_CLAIM_NAMESPACE = UUID("6f0f4b1e-5c0a-4a7e-9a55-3a4f3d2b9c10")

_COMPANY_NUMBER = re.compile(r"^(?:\d{1,8}|[A-Z]{2}\d{1,6})$")
_SCHEME_NUMBER = {
    # Charity numbers, with an optional subsidiary number ("1234567-1").
    "GB-CHC": re.compile(r"^(\d+)((?:-\d+)?)$"),
    # FCA society numbers often end in R.
    "GB-MPR": re.compile(r"^(\d+)(R?)$"),
    "GB-NIC": re.compile(r"^(?:NIC)?(\d+)()$"),
}


@dataclass(frozen=True)
class RegistryIdentifier:
    scheme: str
    identifier: str

    def __str__(self) -> str:
        return f"{self.scheme}-{self.identifier}"

    @property
    def claim_id(self) -> UUID:
        return uuid5(REGISTRY_CLAIM_NAMESPACE, f"{self.scheme}:{self.identifier}")


def normalise_identifier(scheme: str, identifier: str) -> RegistryIdentifier:
    """Normalise case, spaces and, where the scheme has them, leading zeros."""
    scheme_code = scheme.strip().upper()
    if scheme_code not in SCHEMES:
        raise InvalidValue(
            "registry_identifier.scheme",
            f"{scheme!r} is not a supported org-id.guide scheme (one of {', '.join(SCHEMES)})",
        )
    compact = re.sub(r"\s", "", identifier).upper()
    if not compact:
        raise InvalidValue("registry_identifier.identifier", "the identifier is empty")
    if not re.fullmatch(r"[A-Z0-9][A-Z0-9-]{0,19}", compact):
        raise InvalidValue(
            "registry_identifier.identifier", f"{identifier!r} is not a registry identifier"
        )
    return RegistryIdentifier(scheme_code, _normalise_for_scheme(scheme_code, compact))


def _normalise_for_scheme(scheme: str, compact: str) -> str:
    if scheme == "GB-COH":
        # Company numbers are 8 characters: digits padded with zeros, or a 2-letter prefix
        # (SC, NI, OC, RS, IP, ...) followed by 6 digits.
        if not _COMPANY_NUMBER.match(compact):
            raise InvalidValue(
                "registry_identifier.identifier", f"{compact!r} is not a Companies House number"
            )
        if compact.isdigit():
            return compact.zfill(8)
        return compact[:2] + compact[2:].zfill(6)
    if scheme == "GB-SC":
        # SC and six digits; extra leading zeros name the same charity.
        number = compact.removeprefix("SC")
        digits = number.lstrip("0") or "0"
        if not number.isdigit() or len(digits) > 6:
            raise InvalidValue(
                "registry_identifier.identifier", f"{compact!r} is not a Scottish charity number"
            )
        return "SC" + digits.zfill(6)
    if scheme in _SCHEME_NUMBER:
        # These registers do not use leading zeros, so people who add them mean the same number.
        match = _SCHEME_NUMBER[scheme].match(compact)
        if match is None:
            raise InvalidValue(
                "registry_identifier.identifier", f"{compact!r} is not a {scheme} number"
            )
        digits, suffix = match.groups()
        return (digits.lstrip("0") or "0") + suffix
    return compact
