"""What an organisation declares when it registers: `RegistrationDetails.parse`."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from membership.details import (
    MAX_NAME,
    MAX_TEXT,
    LegalForm,
    OrganisationKind,
    RegistrationDetails,
)
from membership.registry import RegistryIdentifier
from sharedkernel.errors import InvalidValue


def parse(**overrides: Any) -> RegistrationDetails:
    """Parse a valid social enterprise's details, with some fields replaced."""
    fields: dict[str, Any] = {
        "name": "Green Fields Community Interest Company",
        "kind": "social_enterprise",
        "legal_form": "cic",
        "registry_scheme": "GB-COH",
        "registry_id": "01234567",
        "social_purpose": "Grounds maintenance that employs people leaving prison.",
        "regions": ["TLC"],
        "cpv_codes": ["77314000-4"],
    }
    fields.update(overrides)
    return RegistrationDetails.parse(**fields)


def invalid_field(**overrides: Any) -> str:
    """Parse with the overrides, expecting InvalidValue; return the field it names."""
    with pytest.raises(InvalidValue) as caught:
        parse(**overrides)
    return caught.value.field


# A valid registration


def test_a_valid_social_enterprise_is_parsed_into_typed_normalised_details() -> None:
    details = parse(
        name="  Green   Fields CIC ",
        registry_scheme="gb-coh",
        registry_id="123 4567",
        social_purpose="  Jobs for people leaving prison.  ",
        regions=["tlc", "TLD"],
        cpv_codes=["77314000", "03000000-1"],
    )

    assert details == RegistrationDetails(
        name="Green Fields CIC",
        kind=OrganisationKind.SOCIAL_ENTERPRISE,
        legal_form=LegalForm.CIC,
        registry_identifier=RegistryIdentifier("GB-COH", "01234567"),
        social_purpose="Jobs for people leaving prison.",
        regions=("TLC", "TLD"),
        cpv_codes=("77314000-4", "03000000-1"),
    )


def test_parsed_details_are_immutable() -> None:
    details = parse()

    with pytest.raises(dataclasses.FrozenInstanceError):
        details.name = "Something else"  # type: ignore[misc]


# Name


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("Acme", "Acme"),
        ("  Acme  ", "Acme"),
        ("Acme   Trading \t Co-op", "Acme Trading Co-op"),
        ("Acme\nTrading\r\nCo-op", "Acme Trading Co-op"),
        ("\u00a0Acme\u2003Ltd", "Acme Ltd"),
    ],
)
def test_the_name_has_its_whitespace_folded(given: str, expected: str) -> None:
    assert parse(name=given).name == expected


@pytest.mark.parametrize("name", ["", " ", "\t\n  "])
def test_an_empty_or_blank_name_is_invalid(name: str) -> None:
    assert invalid_field(name=name) == "name"


def test_a_name_of_exactly_the_maximum_length_is_accepted() -> None:
    name = "x" * MAX_NAME

    assert parse(name=name).name == name


def test_a_name_one_character_over_the_maximum_is_invalid() -> None:
    assert MAX_NAME == 200
    assert invalid_field(name="x" * (MAX_NAME + 1)) == "name"


def test_the_name_length_is_measured_after_whitespace_is_folded() -> None:
    name = "   " + "a" * (MAX_NAME - 2) + "     b   "

    assert len(parse(name=name).name) == MAX_NAME


# Kind and legal form


@pytest.mark.parametrize("kind", ["charity", "", "Social_Enterprise", "SOCIAL_ENTERPRISE"])
def test_an_unknown_kind_is_invalid(kind: str) -> None:
    assert invalid_field(kind=kind) == "kind"


def test_the_unknown_kind_message_lists_the_kinds_allowed() -> None:
    with pytest.raises(InvalidValue) as caught:
        parse(kind="charity")

    for kind in OrganisationKind:
        assert kind.value in caught.value.message


@pytest.mark.parametrize("legal_form", ["plc", "", "CIC", "sole trader"])
def test_an_unknown_legal_form_is_invalid(legal_form: str) -> None:
    assert invalid_field(legal_form=legal_form) == "legal_form"


@pytest.mark.parametrize("legal_form", list(LegalForm))
def test_every_legal_form_is_accepted(legal_form: LegalForm) -> None:
    assert parse(legal_form=legal_form.value).legal_form is legal_form


@pytest.mark.parametrize("kind", list(OrganisationKind))
def test_every_kind_is_accepted(kind: OrganisationKind) -> None:
    assert parse(kind=kind.value).kind is kind


# Registry identifier


@pytest.mark.parametrize(
    "legal_form",
    [form for form in LegalForm if form is not LegalForm.SOLE_TRADER_OR_PARTNERSHIP],
)
def test_a_registry_identifier_is_required_for_a_registered_legal_form(
    legal_form: LegalForm,
) -> None:
    field = invalid_field(legal_form=legal_form.value, registry_scheme=None, registry_id=None)

    assert field == "registry_identifier"


def test_a_sole_trader_or_partnership_may_omit_the_registry_identifier() -> None:
    details = parse(legal_form="sole_trader_or_partnership", registry_scheme=None, registry_id=None)

    assert details.registry_identifier is None


def test_a_sole_trader_or_partnership_that_gives_an_identifier_has_it_normalised() -> None:
    details = parse(
        legal_form="sole_trader_or_partnership", registry_scheme="gb-coh", registry_id="1234567"
    )

    assert details.registry_identifier == RegistryIdentifier("GB-COH", "01234567")


@pytest.mark.parametrize("scheme", [None, ""])
def test_an_identifier_without_a_scheme_names_the_scheme_as_missing(scheme: str | None) -> None:
    assert invalid_field(registry_scheme=scheme, registry_id="01234567") == (
        "registry_identifier.scheme"
    )


@pytest.mark.parametrize("identifier", [None, ""])
def test_a_scheme_without_an_identifier_names_the_identifier_as_missing(
    identifier: str | None,
) -> None:
    assert invalid_field(registry_scheme="GB-COH", registry_id=identifier) == (
        "registry_identifier.identifier"
    )


def test_a_blank_identifier_names_the_identifier() -> None:
    assert invalid_field(registry_scheme="GB-COH", registry_id="   ") == (
        "registry_identifier.identifier"
    )


def test_a_sole_trader_giving_only_half_an_identifier_is_still_invalid() -> None:
    field = invalid_field(
        legal_form="sole_trader_or_partnership", registry_scheme="GB-COH", registry_id=None
    )

    assert field == "registry_identifier.identifier"


def test_an_unknown_registry_scheme_is_invalid() -> None:
    assert invalid_field(registry_scheme="GB-XYZ") == "registry_identifier.scheme"


def test_a_malformed_company_number_is_invalid() -> None:
    assert invalid_field(registry_scheme="GB-COH", registry_id="12AB3456") == (
        "registry_identifier.identifier"
    )


# Social purpose, regions and CPV codes


@pytest.mark.parametrize("purpose", ["", "   ", "\n\t"])
def test_a_social_enterprise_must_state_its_purpose(purpose: str) -> None:
    assert invalid_field(social_purpose=purpose) == "social_purpose"


def test_a_social_enterprise_must_name_at_least_one_region() -> None:
    assert invalid_field(regions=[]) == "regions"


def test_a_social_enterprise_must_name_at_least_one_cpv_code() -> None:
    assert invalid_field(cpv_codes=[]) == "cpv_codes"


@pytest.mark.parametrize("kind", ["public_body", "business"])
def test_a_public_body_or_business_may_omit_purpose_regions_and_cpv_codes(kind: str) -> None:
    details = parse(kind=kind, social_purpose="   ", regions=[], cpv_codes=[])

    assert details.social_purpose == ""
    assert details.regions == ()
    assert details.cpv_codes == ()


@pytest.mark.parametrize("kind", ["public_body", "business"])
def test_a_public_body_or_business_that_names_regions_has_them_validated(kind: str) -> None:
    assert invalid_field(kind=kind, regions=["TLC", "XX9"]) == "regions[1]"


def test_the_social_purpose_is_stripped() -> None:
    assert parse(social_purpose="\n  Good work.  \n").social_purpose == "Good work."


def test_a_social_purpose_of_exactly_the_maximum_length_is_accepted() -> None:
    purpose = "p" * MAX_TEXT

    assert parse(social_purpose=purpose).social_purpose == purpose


@pytest.mark.parametrize("kind", list(OrganisationKind))
def test_a_social_purpose_over_the_maximum_length_is_invalid_for_any_kind(
    kind: OrganisationKind,
) -> None:
    assert MAX_TEXT == 4000
    assert invalid_field(kind=kind.value, social_purpose="p" * (MAX_TEXT + 1)) == ("social_purpose")


@pytest.mark.parametrize(
    ("regions", "field"),
    [
        (["XX"], "regions[0]"),
        (["TLC", "TLZ"], "regions[1]"),
        (["TLC", "TLC", ""], "regions[2]"),
        (["TLC", "TLD", "TLE", "UKC"], "regions[3]"),
    ],
)
def test_an_unknown_region_names_its_index(regions: list[str], field: str) -> None:
    assert invalid_field(regions=regions) == field


@pytest.mark.parametrize(
    ("cpv_codes", "field"),
    [
        (["99999999"], "cpv_codes[0]"),
        (["77314000-4", "77314000-5"], "cpv_codes[1]"),
        (["77314000", "03000000-1", "not-a-code"], "cpv_codes[2]"),
        (["7731400"], "cpv_codes[0]"),
    ],
)
def test_an_unknown_cpv_code_names_its_index(cpv_codes: list[str], field: str) -> None:
    assert invalid_field(cpv_codes=cpv_codes) == field


def test_regions_are_upper_cased() -> None:
    assert parse(regions=["tlc", " tld ", "TLC3"]).regions == ("TLC", "TLD", "TLC3")


@pytest.mark.parametrize("code", ["77314000", "77314000-4", " 77314000-4 ", " 77314000 "])
def test_a_cpv_code_with_or_without_its_check_digit_is_returned_in_official_form(
    code: str,
) -> None:
    assert parse(cpv_codes=[code]).cpv_codes == ("77314000-4",)


def test_duplicate_regions_are_removed_keeping_first_appearance_order() -> None:
    details = parse(regions=["TLD", "tlc", "TLD", " tlc ", "TLE"])

    assert details.regions == ("TLD", "TLC", "TLE")


def test_duplicate_cpv_codes_are_removed_keeping_first_appearance_order() -> None:
    details = parse(cpv_codes=["77314000", "03000000-1", "77314000-4", "03000000"])

    assert details.cpv_codes == ("77314000-4", "03000000-1")
