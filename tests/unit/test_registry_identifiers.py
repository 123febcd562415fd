"""Registry identifiers: org-id.guide schemes and how each normalises its identifiers."""

from __future__ import annotations

import pytest

from membership.registry import SCHEMES, RegistryIdentifier, normalise_identifier
from sharedkernel.errors import InvalidValue


def rejected_field(scheme: str, identifier: str) -> str:
    with pytest.raises(InvalidValue) as caught:
        normalise_identifier(scheme, identifier)
    return caught.value.field


# Companies House (GB-COH)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("01234567", "01234567"),
        ("1234567", "01234567"),
        ("1", "00000001"),
        (" 0123 4567 ", "01234567"),
        ("12\t34\n567", "01234567"),
        ("SC123456", "SC123456"),
        ("sc123456", "SC123456"),
        ("SC12345", "SC012345"),
        ("Sc 1", "SC000001"),
        ("NI012345", "NI012345"),
        ("oc301234", "OC301234"),
        ("IP28327", "IP028327"),
    ],
)
def test_company_numbers_are_padded_to_eight_characters(given: str, expected: str) -> None:
    assert normalise_identifier("GB-COH", given) == RegistryIdentifier("GB-COH", expected)


@pytest.mark.parametrize(
    "given",
    [
        "12AB3456",
        "1234567A",
        "S1234567",
        "SCO12345",
        "ABC12345",
        "123456789",
        "SC1234567",
        "SC",
        "12-34567",
    ],
)
def test_malformed_company_numbers_are_rejected(given: str) -> None:
    assert rejected_field("GB-COH", given) == "registry_identifier.identifier"


# Charity Commission for England and Wales (GB-CHC)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("1234567", "1234567"),
        ("01234567", "1234567"),
        ("0001234567", "1234567"),
        ("1234567-1", "1234567-1"),
        ("01234567-1", "1234567-1"),
        (" 1234567 - 2 ", "1234567-2"),
        ("0", "0"),
        ("000", "0"),
    ],
)
def test_charity_numbers_lose_leading_zeros_and_keep_a_subsidiary_suffix(
    given: str, expected: str
) -> None:
    assert normalise_identifier("GB-CHC", given) == RegistryIdentifier("GB-CHC", expected)


@pytest.mark.parametrize("given", ["1234567-", "-1", "1234567-1-1", "CHC1234567", "1234567A"])
def test_malformed_charity_numbers_are_rejected(given: str) -> None:
    assert rejected_field("GB-CHC", given) == "registry_identifier.identifier"


# Scottish Charity Register (GB-SC)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("SC012345", "SC012345"),
        ("sc012345", "SC012345"),
        ("012345", "SC012345"),
        ("12345", "SC012345"),
        ("SC12345", "SC012345"),
        ("SC 012 345", "SC012345"),
    ],
)
def test_scottish_charity_numbers_get_the_sc_prefix_and_six_digits(
    given: str, expected: str
) -> None:
    assert normalise_identifier("GB-SC", given) == RegistryIdentifier("GB-SC", expected)


@pytest.mark.parametrize("given", ["SC", "SC12A45", "XY012345", "SCSC012345", "SC-012345"])
def test_malformed_scottish_charity_numbers_are_rejected(given: str) -> None:
    assert rejected_field("GB-SC", given) == "registry_identifier.identifier"


def test_a_scottish_charity_number_with_an_extra_leading_zero_is_not_a_second_identifier() -> None:
    """Regression: SC0012345 once escaped the duplicate claim on SC012345."""
    padded = normalise_identifier("GB-SC", "SC0012345")
    assert padded.identifier == "SC012345"
    assert padded.claim_id == normalise_identifier("GB-SC", "SC012345").claim_id


# FCA Mutuals Public Register (GB-MPR) and Charity Commission for Northern Ireland (GB-NIC)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("28327R", "28327R"),
        ("28327r", "28327R"),
        ("0028327R", "28327R"),
        ("0028327", "28327"),
        ("28327", "28327"),
    ],
)
def test_mutual_society_numbers_keep_an_r_suffix_and_lose_leading_zeros(
    given: str, expected: str
) -> None:
    assert normalise_identifier("GB-MPR", given) == RegistryIdentifier("GB-MPR", expected)


@pytest.mark.parametrize("given", ["R", "28327X", "R28327", "28327RR"])
def test_malformed_mutual_society_numbers_are_rejected(given: str) -> None:
    assert rejected_field("GB-MPR", given) == "registry_identifier.identifier"


@pytest.mark.parametrize(
    ("given", "expected"),
    [("100123", "100123"), ("NIC100123", "100123"), ("nic 0100123", "100123")],
)
def test_northern_ireland_charity_numbers_lose_the_nic_prefix_and_leading_zeros(
    given: str, expected: str
) -> None:
    assert normalise_identifier("GB-NIC", given) == RegistryIdentifier("GB-NIC", expected)


# Other schemes, and what every scheme shares


def test_identifiers_of_other_schemes_are_only_compacted_and_upper_cased() -> None:
    assert normalise_identifier("GB-GOR", " ea 123 ") == RegistryIdentifier("GB-GOR", "EA123")
    assert normalise_identifier("GB-EDU", "0100001") == RegistryIdentifier("GB-EDU", "0100001")


@pytest.mark.parametrize("scheme", ["GB-COH", "gb-coh", "Gb-CoH", "  gb-coh  "])
def test_the_scheme_is_case_insensitive(scheme: str) -> None:
    assert normalise_identifier(scheme, "1234567").scheme == "GB-COH"


@pytest.mark.parametrize("scheme", ["GB-XYZ", "", "COH", "GB COH", "US-EIN"])
def test_an_unknown_scheme_is_invalid(scheme: str) -> None:
    assert rejected_field(scheme, "1234567") == "registry_identifier.scheme"


def test_every_listed_scheme_is_accepted() -> None:
    for scheme in SCHEMES:
        assert normalise_identifier(scheme.lower(), "123456").scheme == scheme


@pytest.mark.parametrize("scheme", ["GB-COH", "GB-CHC", "GB-SC", "GB-GOR"])
@pytest.mark.parametrize("identifier", ["", " ", "\t\n"])
def test_an_empty_identifier_is_invalid(scheme: str, identifier: str) -> None:
    assert rejected_field(scheme, identifier) == "registry_identifier.identifier"


@pytest.mark.parametrize("identifier", ["-123", "12_34", "12/34", "12.34", "A" * 21])
def test_characters_outside_letters_digits_and_hyphens_are_invalid(identifier: str) -> None:
    assert rejected_field("GB-GOR", identifier) == "registry_identifier.identifier"


def test_an_identifier_reads_as_scheme_then_number() -> None:
    assert str(normalise_identifier("gb-coh", "1234567")) == "GB-COH-01234567"


# Claim ids


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (("GB-COH", "1234567"), ("gb-coh", "01234567")),
        (("GB-COH", "1234567"), ("GB-COH", " 0123 4567 ")),
        (("GB-COH", "SC12345"), ("gb-coh", "sc012345")),
        (("GB-CHC", "01234567-1"), ("GB-CHC", "1234567-1")),
        (("GB-SC", "12345"), ("GB-SC", "SC012345")),
        (("GB-MPR", "028327r"), ("GB-MPR", "28327R")),
    ],
)
def test_the_claim_id_is_equal_for_identifiers_that_normalise_alike(
    first: tuple[str, str], second: tuple[str, str]
) -> None:
    assert normalise_identifier(*first).claim_id == normalise_identifier(*second).claim_id


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (("GB-COH", "01234567"), ("GB-COH", "01234568")),
        (("GB-COH", "SC012345"), ("GB-COH", "NI012345")),
        (("GB-CHC", "1234567"), ("GB-CHC", "1234567-1")),
        (("GB-CHC", "1234567"), ("GB-NIC", "1234567")),
        (("GB-MPR", "28327"), ("GB-MPR", "28327R")),
    ],
)
def test_the_claim_id_differs_for_different_identifiers(
    first: tuple[str, str], second: tuple[str, str]
) -> None:
    assert normalise_identifier(*first).claim_id != normalise_identifier(*second).claim_id


def test_the_claim_id_is_a_name_based_uuid_and_stable() -> None:
    claim_id = RegistryIdentifier("GB-COH", "01234567").claim_id

    assert claim_id.version == 5
    assert claim_id == RegistryIdentifier("GB-COH", "01234567").claim_id
