"""Outside opportunities' domain (issue 16): what an incoming release must say, what is dropped
before recording, how regions, values and flags are read, how a later release merges."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from marketplace.outside.opportunity import Opportunity, opportunity_id_for
from marketplace.outside.regions import delivery_regions, resolve
from marketplace.outside.releases import REMOVED, as_text, from_text, parse_release
from marketplace.outside.summary import summarise
from sharedkernel.errors import InvalidValue
from sharedkernel.events import Context

OURS = "ocds-thdemo"
CONTEXT = Context("system:test", "test", datetime(2026, 3, 2, tzinfo=UTC))


def release(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "ocid": "ocds-b5fd17-1",
        "id": "r1",
        "date": "2026-03-01T09:00:00Z",
        "tag": ["tender"],
        "tender": {"title": "Grounds", "status": "active"},
    }
    return body | changes


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"ocid": None}, "ocid"),
        ({"ocid": "  "}, "ocid"),
        ({"ocid": "x" * 201}, "ocid"),
        ({"ocid": f"{OURS}-123"}, "ocid"),
        ({"date": None}, "date"),
        ({"date": "last Tuesday"}, "date"),
        ({"date": "0001-01-01T00:00:00Z"}, "date"),
        ({"tag": []}, "tag"),
        ({"tag": "tender"}, "tag"),
        ({"tag": [1]}, "tag"),
    ],
)
def test_a_release_that_does_not_identify_itself_is_refused_naming_why(
    changes: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidValue) as refused:
        parse_release(release(**changes), own_prefix=OURS)
    assert refused.value.field == field


def test_a_release_with_no_id_is_told_apart_by_its_content() -> None:
    one = parse_release(release(id=None), own_prefix=OURS)
    same = parse_release(release(id=None), own_prefix=OURS)
    other = parse_release(release(id=None, tag=["tenderUpdate"]), own_prefix=OURS)
    assert one.key == same.key
    assert one.key.startswith("sha256:")
    assert other.key != one.key
    assert parse_release(release(id=7), own_prefix=OURS).key == "id:7"


def test_people_s_data_is_dropped_wherever_it_is_and_wherever_it_is_repeated() -> None:
    given = release(
        parties=[
            {
                "name": "Martock Parish Council",
                "contactPoint": {
                    "name": "Jo Bloggs",
                    "email": "jo.bloggs@martock.example",
                    "telephone": "01935 822891",
                    "faxNumber": "01935 000000",
                    "url": "https://martock.example/contact",
                },
                "additionalContactPoints": [{"name": "Sam Smith", "email": "sam@x.example"}],
            }
        ],
        description="Ask Jo Bloggs on 01935 822891 or write to clerk@martock.example.",
    )
    text = parse_release(given, own_prefix=OURS).text
    for personal in (
        "Jo Bloggs",
        "jo.bloggs@martock.example",
        "01935 822891",
        "01935 000000",
        "Sam Smith",
        "sam@x.example",
        "clerk@martock.example",
    ):
        assert personal not in text
    assert "https://martock.example/contact" in text  # not a person's
    assert "Martock Parish Council" in text
    assert f"Ask {REMOVED} on {REMOVED} or write to {REMOVED}." in text


def test_amounts_stay_decimals_through_the_canonical_text() -> None:
    value = {"amount": Decimal("0.1"), "currency": "GBP"}
    text = as_text(release(tender={"value": value}))
    assert '"amount":0.1' in text
    assert from_text(text)["tender"]["value"]["amount"] == Decimal("0.1")


@pytest.mark.parametrize(
    ("given", "codes"),
    [
        ("TLL", ("TLL",)),
        ("UKL", ("TLL",)),
        ("UKL18", ("TLL",)),  # renumbered since NUTS: read as its ITL 1 region
        ("East of England", ("TLH",)),
        ("east  of ENGLAND", ("TLH",)),
        ("Yorkshire & The Humber", ("TLE",)),
        ("United Kingdom", ()),
        ("England", ("TLC", "TLD", "TLE", "TLF", "TLG", "TLH", "TLI", "TLJ", "TLK")),
        ("TA12 6JL", None),
        ("Europe", None),
        ("UKZ1", None),
    ],
)
def test_regions_are_read_as_itl_only_where_it_is_reliable(
    given: str, codes: tuple[str, ...] | None
) -> None:
    assert resolve(given) == codes


def test_delivery_addresses_of_either_shape_give_regions_and_the_rest_unresolved() -> None:
    tender = {
        "items": [
            {"deliveryAddresses": [{"region": "UKL18"}, {"postalCode": "TA12 6JL"}]},
            {"deliveryAddress": {"countryName": "Channel Islands"}},
            {"deliveryAddresses": "junk"},
            "junk",
        ]
    }
    found = delivery_regions(tender)
    assert found.codes == ("TLL",)
    assert found.unresolved == ("TA12 6JL", "Channel Islands")


def test_a_summary_leaves_out_what_is_missing_or_odd() -> None:
    compiled = {
        "ocid": "ocds-b5fd17-1",
        "buyer": {"name": "Leeds City Council"},
        "tender": {
            "title": "Meals",
            "status": "made-up",
            "tenderPeriod": {"endDate": "soon"},
            "value": {"amount": Decimal("1234.565"), "currency": "XYZ"},
            "classification": {"scheme": "CPV", "id": "55320000"},
            "additionalClassifications": [
                {"scheme": "CPV", "id": "99999999"},
                {"scheme": "UNSPSC", "id": "123"},
            ],
            "suitability": {"sme": True},
        },
    }
    summary = summarise(compiled)
    assert summary.title == "Meals"
    assert summary.buyer_name == "Leeds City Council"
    assert summary.status is None
    assert summary.deadline is None
    assert (summary.amount, summary.currency) == (None, None)  # no such currency
    assert summary.cpv_codes == ("55320000-9",)
    assert summary.vcse is None  # not said: unknown, never "no"
    assert summary.url is None
    priced = summarise(
        compiled | {"tender": {"value": {"amount": Decimal("10.5"), "currency": "gbp"}}}
    )
    assert (priced.amount, priced.currency) == (Decimal("10.5"), "GBP")
    assert priced.title == "ocds-b5fd17-1"  # no title anywhere: the ocid


def test_a_later_release_merges_and_a_seen_one_changes_nothing() -> None:
    first = parse_release(
        release(tender={"title": "Grounds", "tenderPeriod": {"endDate": "2026-04-01T12:00:00Z"}}),
        own_prefix=OURS,
    )
    opportunity = Opportunity.bring_in(CONTEXT, "Contracts Finder", first)
    assert opportunity.id == opportunity_id_for("ocds-b5fd17-1")
    later = parse_release(
        release(
            id="r2",
            date="2026-03-05T09:00:00Z",
            tender={"tenderPeriod": {"endDate": "2026-04-15T12:00:00Z"}},
        ),
        own_prefix=OURS,
    )
    earlier = parse_release(
        release(id="r0", date="2026-02-01T09:00:00Z", tender={"title": "Old title"}),
        own_prefix=OURS,
    )
    assert opportunity.merge(CONTEXT, later)
    assert not opportunity.merge(CONTEXT, later)
    assert opportunity.merge(CONTEXT, earlier)  # older: merged under the later ones
    assert opportunity.summary.title == "Grounds"
    assert opportunity.summary.deadline == datetime(2026, 4, 15, 12, tzinfo=UTC)
    assert opportunity.version == 3
