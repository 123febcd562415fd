"""The OCDS harness itself (tests/ocds_review.py): it passes what is valid, and both of its checks
(jsonschema with closed codelists, and libcoveocds offline) catch what is not."""

from __future__ import annotations

import copy
import json
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from ocdsextensionregistry import ProfileBuilder

from sharedkernel.reference import ocds as runtime_ocds
from tests.ocds_review import (
    DATA,
    EXTENSIONS,
    STANDARD_ZIP,
    TAG,
    NetworkAttempted,
    codelist_violations,
    compile_like_review_tool,
    offline,
    release_schema,
    review,
    review_counts,
    schema_errors,
    versioned_like_review_tool,
)

OCID = "ocds-th0001-T1"
BUYER = {"id": "GB-COH-01234567", "name": "Northshire Council"}
SUPPLIER = {"id": "GB-COH-07654321", "name": "Green Routes CIC"}
CONTRACTS_FINDER = DATA / "samples" / "contracts-finder-2025-sample.json"


def tender_release() -> dict[str, Any]:
    return {
        "ocid": OCID,
        "id": f"{OCID}-tender-1",
        "date": "2025-02-03T10:00:00Z",
        "tag": ["tender"],
        "initiationType": "tender",
        "parties": [
            {
                **BUYER,
                "identifier": {"scheme": "GB-COH", "id": "01234567"},
                "roles": ["buyer"],
            }
        ],
        "buyer": BUYER,
        "tender": {
            "id": "T1",
            "title": "Community transport",
            "status": "active",
            "procurementMethod": "open",
            "mainProcurementCategory": "services",
            "value": {"amount": 120000, "currency": "GBP"},
            "tenderPeriod": {
                "startDate": "2025-02-03T10:00:00Z",
                "endDate": "2025-03-03T12:00:00Z",
            },
            "items": [
                {
                    "id": "1",
                    "relatedLot": "lot-1",
                    "classification": {"scheme": "CPV", "id": "60130000"},
                }
            ],
            "documents": [{"id": "d1", "documentType": "tenderNotice", "title": "Notice"}],
            "lots": [
                {
                    "id": "lot-1",
                    "title": "North",
                    "status": "active",
                    "value": {"amount": 60000, "currency": "GBP"},
                }
            ],
        },
    }


def award_release() -> dict[str, Any]:
    return {
        "ocid": OCID,
        "id": f"{OCID}-award-1",
        "date": "2025-04-01T09:00:00Z",
        "tag": ["award"],
        "initiationType": "tender",
        "parties": [{**SUPPLIER, "roles": ["supplier", "tenderer"]}],
        "tender": {
            "id": "T1",
            "status": "complete",
            "lots": [{"id": "lot-1", "status": "complete"}],
        },
        "bids": {
            "statistics": [{"id": "s1", "measure": "bids", "value": 3, "relatedLot": "lot-1"}]
        },
        "awards": [
            {
                "id": "A1",
                "status": "active",
                "date": "2025-04-01T09:00:00Z",
                "relatedLots": ["lot-1"],
                "value": {"amount": 58000.5, "currency": "GBP"},
                "suppliers": [SUPPLIER],
            }
        ],
    }


def package(*releases: dict[str, Any]) -> dict[str, Any]:
    return {
        "uri": "https://tradehall.example/api/v1/ocds/releases",
        "version": "1.1",
        "publishedDate": "2025-04-01T09:00:00Z",
        "publisher": {"name": "Tradehall"},
        "extensions": list(EXTENSIONS),
        "releases": list(releases),
    }


def valid_package() -> dict[str, Any]:
    return package(tender_release(), award_release())


def record_package(releases: list[dict[str, Any]]) -> dict[str, Any]:
    records = {k: v for k, v in package().items() if k != "releases"}
    records["uri"] = f"https://tradehall.example/api/v1/ocds/records/{OCID}"
    records["records"] = [
        {
            "ocid": OCID,
            "releases": releases,
            "compiledRelease": compile_like_review_tool(releases),
            "versionedRelease": versioned_like_review_tool(releases),
        }
    ]
    return records


def test_a_valid_release_package_with_lots_and_bids_passes_every_check() -> None:
    data = valid_package()

    assert schema_errors(data) == []
    assert codelist_violations(data) == []
    result = review(data)
    assert review_counts(result) == (0, 0)
    # The review applied both extensions (the bad cases below show it checks their fields).
    assert result["extensions"]["is_extended_schema"] is True
    assert [e["url"] for e in result["extensions"]["extensions"]] == list(EXTENSIONS)
    assert result["extensions"]["invalid_extensions"] == []


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """Sets a value in the package at a path of keys and indexes ("releases.1.awards.0.status")."""

    def mutate(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = data
        for step in parents:
            target = target[int(step)] if step.isdigit() else target[step]
        target[int(last) if last.isdigit() else last] = value

    return mutate


def _delete(path: str) -> Callable[[dict[str, Any]], None]:
    def mutate(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = data
        for step in parents:
            target = target[int(step)] if step.isdigit() else target[step]
        del target[last]

    return mutate


BID_DETAILS = [{"id": "b1", "status": "opened", "tenderers": [SUPPLIER]}]


@pytest.mark.parametrize(
    ("mutate", "our_finding", "review_found"),
    [
        pytest.param(
            _set("releases.0.tender.status", "open"),
            "codelist:$.releases[0].tender.status: 'open' is not in the closed codelist "
            "tenderStatus.csv",
            (0, 1),
            id="tender status",
        ),
        pytest.param(
            _set("releases.1.awards.0.status", "won"),
            "codelist:$.releases[1].awards[0].status: 'won' is not in the closed codelist "
            "awardStatus.csv",
            (0, 1),
            id="award status",
        ),
        pytest.param(
            _set("releases.1.awards.0.value.amount", "58000.50"),
            "schema:$.releases[1].awards[0].value.amount: '58000.50' is not of type 'number', "
            "'null'",
            (1, 0),
            id="string amount",
        ),
        pytest.param(
            _delete("releases.0.id"),
            "schema:$.releases[0]: 'id' is a required property",
            (1, 0),
            id="missing release id",
        ),
        pytest.param(
            _set("releases.0.tag", ["tender", "published"]),
            "codelist:$.releases[0].tag[1]: 'published' is not in the closed codelist "
            "releaseTag.csv",
            (0, 1),
            id="release tag (a closed codelist)",
        ),
        pytest.param(
            _set("releases.0.tender.lots.0.status", "open"),
            "codelist:$.releases[0].tender.lots[0].status: 'open' is not in the closed codelist "
            "tenderStatus.csv",
            (0, 1),
            id="lot status (lots extension)",
        ),
        pytest.param(
            _set("releases.1.bids.details", BID_DETAILS),
            "codelist:$.releases[1].bids.details[0].status: 'opened' is not in the closed "
            "codelist bidStatus.csv",
            (0, 1),
            id="bid status (bids extension's own codelist)",
        ),
        pytest.param(
            _set("releases.1.bids.statistics.0.value", "three"),
            "schema:$.releases[1].bids.statistics[0].value: 'three' is not of type 'number'",
            (1, 0),
            id="bid statistic value (bids extension)",
        ),
        pytest.param(
            _set("releases.0.date", "3 February 2025"),
            "schema:$.releases[0].date: '3 February 2025' is not a 'date-time'",
            (1, 0),
            id="date-time format",
        ),
    ],
)
def test_each_fault_is_found_by_both_checks(
    mutate: Callable[[dict[str, Any]], None],
    our_finding: str,
    review_found: tuple[int, int],
) -> None:
    data = valid_package()
    mutate(data)

    findings = [f"schema:{e}" for e in schema_errors(data)]
    findings += [f"codelist:{v}" for v in codelist_violations(data)]
    assert our_finding in findings
    if our_finding.startswith("codelist:"):
        # A closed codelist is an enum in the schema too: both report it, the review separately.
        assert len(findings) == 2
        assert codelist_violations(data) == [our_finding.removeprefix("codelist:")]
    else:
        assert findings == [our_finding]
    assert review_counts(review(data)) == review_found


def test_new_values_of_open_codelists_are_not_violations() -> None:
    data = valid_package()
    data["releases"][0]["tender"]["documents"][0]["documentType"] = "socialValuePlan"
    data["releases"][1]["bids"]["statistics"][0]["measure"] = "vcseBids"

    assert schema_errors(data) == []
    assert codelist_violations(data) == []
    result = review(data)
    assert review_counts(result) == (0, 0)
    assert set(result["additional_open_codelist_values"]) == {
        "releases/tender/documents/documentType",
        "releases/bids/statistics/measure",
    }


def test_a_record_package_passes_and_its_compiled_release_is_checked() -> None:
    releases = [tender_release(), award_release()]
    data = record_package(releases)

    assert schema_errors(data) == []
    assert codelist_violations(data) == []
    assert review_counts(review(data)) == (0, 0)

    data["records"][0]["compiledRelease"]["awards"][0]["status"] = "won"
    assert codelist_violations(data) == [
        "$.records[0].compiledRelease.awards[0].status: 'won' is not in the closed codelist "
        "awardStatus.csv"
    ]
    assert schema_errors(data) == [
        "$.records[0].compiledRelease.awards[0].status: 'won' is not one of "
        "['pending', 'active', 'cancelled', 'unsuccessful', None]"
    ]
    assert review_counts(review(data)) == (0, 1)


def test_an_embedded_release_error_names_its_own_path_in_a_record() -> None:
    data = record_package([tender_release(), award_release()])
    data["records"][0]["releases"][1]["awards"][0]["value"]["amount"] = "1"

    assert schema_errors(data) == [
        "$.records[0].releases[1].awards[0].value.amount: '1' is not of type 'number', 'null'"
    ]


def test_the_contracts_finder_sample_reports_the_ids_it_lacks() -> None:
    sample = json.loads(CONTRACTS_FINDER.read_text("utf-8"))
    data = package(*sample["releases"])
    lacking = [i for i, release in enumerate(sample["releases"]) if "id" not in release]
    assert len(lacking) == 10

    assert schema_errors(data) == [f"$.releases[{i}]: 'id' is a required property" for i in lacking]
    assert codelist_violations(data) == []
    result = review(data)
    assert review_counts(result) == (10, 0)
    assert {(e["type"], e["path"]) for e in result["validation_errors"]} == {
        ("required", f"releases/{i}") for i in lacking
    }


def test_compiling_merges_the_releases_by_the_extended_schema() -> None:
    releases = [tender_release(), award_release()]

    compiled = compile_like_review_tool(releases)

    assert compiled["id"] == f"{OCID}-2025-04-01T09:00:00Z"
    assert compiled["tag"] == ["compiled"]
    assert compiled["tender"]["status"] == "complete"
    # Lots (an extension's array) merge by id: the title from the tender, the later status.
    assert compiled["tender"]["lots"] == [
        {
            "id": "lot-1",
            "title": "North",
            "status": "complete",
            "value": {"amount": 60000, "currency": "GBP"},
        }
    ]
    assert [p["id"] for p in compiled["parties"]] == [BUYER["id"], SUPPLIER["id"]]
    versioned = versioned_like_review_tool(releases)
    assert [v["value"] for v in versioned["tender"]["status"]] == ["active", "complete"]


def test_an_extension_it_cannot_serve_fails_loudly() -> None:
    data = valid_package()
    data["extensions"].append(
        "https://raw.githubusercontent.com/open-contracting-extensions/ocds_location_extension/"
        "v1.1.5/extension.json"
    )

    with pytest.raises(NetworkAttempted, match="ocds_location_extension"):
        review(data)


def _fetch_and_swallow_the_error(caught: list[Exception]) -> None:
    with offline():
        try:
            urllib.request.urlopen("https://example.org/", timeout=1)
        except NetworkAttempted as error:
            caught.append(error)


def test_any_other_network_use_while_reviewing_fails_loudly_even_if_caught() -> None:
    caught: list[Exception] = []

    # libcoveocds turns some fetch failures into data findings ("fetching failed"): the guard
    # raises again when the review ends.
    with pytest.raises(NetworkAttempted, match=r"example\.org"):
        _fetch_and_swallow_the_error(caught)

    assert len(caught) == 1


def test_the_harness_patches_the_schema_as_the_review_tool_does() -> None:
    builder = ProfileBuilder(TAG, list(EXTENSIONS), standard_base_url=STANDARD_ZIP.as_uri())
    with offline():
        tools = builder.patched_release_schema()

    # The tool substitutes the documentation's placeholders; nothing else differs.
    ours = json.dumps(release_schema()).replace("{{version}}", "1.1").replace("{{lang}}", "en")
    assert json.loads(ours) == tools
    assert "lots" in tools["definitions"]["Tender"]["properties"]
    assert "bids" in tools["properties"]


def test_the_runtime_copies_are_the_standards() -> None:
    runtime = Path(runtime_ocds.__file__).parent
    copies = {
        "release-schema.json": DATA / "1.1.5" / "release-schema.json",
        "lots-release-schema.json": DATA / "extensions/ocds_lots_extension/release-schema.json",
        "bids-release-schema.json": DATA / "extensions/ocds_bid_extension/release-schema.json",
    }
    for name, ours in copies.items():
        assert (runtime / name).read_bytes() == ours.read_bytes(), name
    assert runtime_ocds.EXTENSIONS == EXTENSIONS
    assert runtime_ocds.release_schema() == release_schema()


def test_the_harness_never_changes_what_it_is_given() -> None:
    data = valid_package()
    before = copy.deepcopy(data)

    schema_errors(data)
    codelist_violations(data)
    review(data)
    compile_like_review_tool(data["releases"])

    assert data == before
