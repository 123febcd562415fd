"""An organisation keeps its profile current (`Profile.parse`, `Organisation.update_profile`),
and its contact points meet their rules (`membership.contacts`)."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import pytest

from membership.contacts import (
    MAX_CONTACT_POINTS,
    ContactPoint,
    check_contact_points,
)
from membership.details import MAX_NAME, MAX_TEXT, Profile
from membership.domain import MembershipStatus, Organisation
from membership.history import BASE_FIELDS
from sharedkernel.errors import InvalidValue
from sharedkernel.web import MAX_WEB_ADDRESS
from tests.unit.membership_builders import (
    STAFF,
    assert_carries,
    assert_forbidden,
    collected,
    context,
    details,
    names,
    organisation_in,
    register,
    replay,
)


def profile(**overrides: Any) -> Profile:
    fields: dict[str, Any] = {
        "name": "Green Fields Growers CIC",
        "social_purpose": "Grounds maintenance that employs people leaving prison.",
        "regions": ["TLC", "tlk"],
        "cpv_codes": ["77314000", "03000000-1"],
        "website": "https://Green-Fields.example.org/about",
    }
    fields.update(overrides)
    return Profile.parse(**fields)


def invalid_field(**overrides: Any) -> str:
    with pytest.raises(InvalidValue) as caught:
        profile(**overrides)
    return caught.value.field


# Parsing: the registration's rules, and the website's


def test_a_profile_is_parsed_by_the_registration_rules_and_its_website_normalised() -> None:
    parsed = profile(name="  Green   Fields Growers  CIC ", social_purpose="  Jobs.  ")

    assert parsed == Profile(
        name="Green Fields Growers CIC",
        social_purpose="Jobs.",
        regions=("TLC", "TLK"),
        cpv_codes=("77314000-4", "03000000-1"),
        website="https://green-fields.example.org/about",
    )


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"name": "   "}, "name"),
        ({"name": "x" * (MAX_NAME + 1)}, "name"),
        ({"social_purpose": "x" * (MAX_TEXT + 1)}, "social_purpose"),
        ({"regions": ["TLC", "ZZ9"]}, "regions[1]"),
        ({"cpv_codes": ["99999999"]}, "cpv_codes[0]"),
        ({"cpv_codes": ["77314000-5"]}, "cpv_codes[0]"),
        ({"website": "green-fields.example.org"}, "website"),
        ({"website": "ftp://green-fields.example.org/"}, "website"),
        ({"website": "javascript:alert(1)"}, "website"),
        ({"website": "https://exa mple.org/"}, "website"),
        ({"website": "https://user:secret@example.org/"}, "website"),
        ({"website": "https://example.org:99999/"}, "website"),
        ({"website": "https://example.org/" + "a" * MAX_WEB_ADDRESS}, "website"),
    ],
)
def test_a_profile_breaking_a_rule_names_the_field(overrides: dict[str, Any], field: str) -> None:
    assert invalid_field(**overrides) == field


@pytest.mark.parametrize("website", [None, "", "   "])
def test_no_website_is_none(website: str | None) -> None:
    assert profile(website=website).website is None


def test_an_international_domain_name_is_kept_as_a_browser_would_send_it() -> None:
    assert profile(website="https://bücher.example/").website == "https://xn--bcher-kva.example/"


# The command


def test_a_changed_profile_is_one_event_carrying_the_whole_profile_and_its_actor() -> None:
    org = register()
    org.collect_events()
    ctx = context(STAFF)
    new = profile()

    org.update_profile(ctx, new)

    (event,) = collected(org)
    assert names([event]) == ["ProfileUpdated"]
    assert_carries(event, ctx)
    assert (event.name, event.social_purpose, event.website) == (
        new.name,
        new.social_purpose,
        new.website,
    )
    assert (event.regions, event.cpv_codes) == (list(new.regions), list(new.cpv_codes))
    assert org.profile == new


def test_the_profile_survives_a_replay_from_the_events() -> None:
    org = register()
    org.update_profile(context(), profile())
    events = collected(org)

    replayed = replay(events)

    assert isinstance(replayed, Organisation)
    assert replayed.profile == profile()
    assert replayed.name == "Green Fields Growers CIC"


def test_the_same_profile_again_records_nothing() -> None:
    org = register()
    org.update_profile(context(), profile())
    org.collect_events()

    org.update_profile(
        context(), profile(regions=["tlk", "TLC"], cpv_codes=["03000000", "77314000"])
    )

    assert collected(org) == []


def test_the_registered_profile_unchanged_records_nothing() -> None:
    registered = details()
    org = register()
    org.collect_events()

    org.update_profile(
        context(),
        Profile.parse(
            name=registered.name,
            social_purpose=registered.social_purpose,
            regions=list(registered.regions),
            cpv_codes=list(registered.cpv_codes),
        ),
    )

    assert collected(org) == []


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"social_purpose": ""}, "social_purpose"),
        ({"regions": []}, "regions"),
        ({"cpv_codes": []}, "cpv_codes"),
    ],
)
def test_a_social_enterprise_keeps_what_registration_requires(
    overrides: dict[str, Any], field: str
) -> None:
    org = organisation_in(MembershipStatus.CURRENT)

    error = assert_forbidden(
        org, lambda: org.update_profile(context(), profile(**overrides)), InvalidValue
    )

    assert error.field == field


def test_a_public_body_may_name_no_regions_codes_or_purpose() -> None:
    org = Organisation.register(
        context(),
        uuid4(),
        details("public_body", legal_form="other", social_purpose="", regions=[], cpv_codes=[]),
        uuid4(),
    )
    org.collect_events()

    org.update_profile(
        context(),
        profile(name="Northshire County Council", social_purpose="", regions=[], cpv_codes=[]),
    )

    assert names(collected(org)) == ["ProfileUpdated"]
    assert org.name == "Northshire County Council"


def test_the_kind_legal_form_and_registry_identifier_stay_as_registered() -> None:
    org = register()
    before = (org.kind, org.legal_form, org.registry_identifier)

    org.update_profile(context(), profile())

    assert (org.kind, org.legal_form, org.registry_identifier) == before


def test_a_profile_holds_no_field_for_people() -> None:
    """ADR 4: contact points never reach an event."""
    org = register()
    org.collect_events()
    org.update_profile(context(), profile())

    (event,) = collected(org)

    own = set(vars(event)) - BASE_FIELDS
    assert own == {"name", "social_purpose", "regions", "cpv_codes", "website"}


# Contact points


def test_a_contact_point_is_normalised() -> None:
    point = ContactPoint.parse(
        label="  Tenders ",
        name=" Ada  Lovelace ",
        email="tenders@example.org",
        phone="+44 20 7946 0000",
    )

    assert point == ContactPoint(
        label="Tenders", name="Ada Lovelace", email="tenders@example.org", phone="+44 20 7946 0000"
    )


def test_a_role_mailbox_needs_no_person() -> None:
    point = ContactPoint.parse(label="Accounts", email="accounts@example.org", name="  ")
    assert (point.name, point.phone) == (None, None)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"label": " ", "email": "a@example.org"}, "contact_points[2].label"),
        ({"label": "x" * 61, "email": "a@example.org"}, "contact_points[2].label"),
        ({"label": "Tenders"}, "contact_points[2]"),
        ({"label": "Tenders", "email": "not an address"}, "contact_points[2].email"),
        ({"label": "Tenders", "phone": "call us"}, "contact_points[2].phone"),
        ({"label": "Tenders", "phone": "123"}, "contact_points[2].phone"),
        ({"label": "Tenders", "phone": "1" * 41}, "contact_points[2].phone"),
        ({"label": "Tenders", "name": "x" * 201, "phone": "0123 456789"}, "contact_points[2].name"),
    ],
)
def test_a_contact_point_breaking_a_rule_names_its_field(
    fields: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidValue) as caught:
        ContactPoint.parse(**fields, field="contact_points[2]")
    assert caught.value.field == field


def test_a_list_of_contact_points_is_bounded_and_names_each_label_once() -> None:
    tenders = ContactPoint.parse(label="Tenders", email="t@example.org")
    too_many = [ContactPoint.parse(label=f"L{i}", email="t@example.org") for i in range(21)]

    assert check_contact_points([tenders]) == (tenders,)
    with pytest.raises(InvalidValue) as caught:
        check_contact_points(too_many)
    assert caught.value.field == "contact_points"
    assert len(too_many) > MAX_CONTACT_POINTS
    with pytest.raises(InvalidValue) as twice:
        check_contact_points([tenders, ContactPoint.parse(label="tenders", phone="01234 567890")])
    assert twice.value.field == "contact_points[1].label"
