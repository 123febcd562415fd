"""OCDS 1.1 release sections (with the lots and bids extensions) from what the OCDS projection
keeps of a tender: pure code, no I/O.

What a tender's process keeps (`Process`, JSON in `ocds_processes.state`) is Tradehall's own
model; this module is the one place that says how it reads in OCDS, and the mapping table in
docs/ocds.md is its prose. Amounts are JSON numbers in major units (pence / 100); dates are
ISO 8601 with their offset; organisations are referred to by their id (their names and
identifiers are added when a release is served, from the membership log's organisations).
"""

from __future__ import annotations

from typing import Any

from sharedkernel.reference import cpv_codes

# Tender statuses as the domain writes them, to OCDS tenderStatus (closed): the same words.
TENDER_STATUS = {
    "planned": "planned",
    "active": "active",
    "cancelled": "cancelled",
    "unsuccessful": "unsuccessful",
    "complete": "complete",
    "withdrawn": "withdrawn",
}
# A decided lot's outcome, to its OCDS lot status (tenderStatus, closed).
LOT_STATUS = {"awarded": "complete", "not_awarded": "unsuccessful", "unsuccessful": "unsuccessful"}
# Contract statuses, to OCDS contractStatus (closed): completed and terminated both end it.
CONTRACT_STATUS = {"active": "active", "completed": "terminated", "terminated": "terminated"}
_TIE_BREAK = {
    "highest_quality": "the higher quality score",
    "highest_social_value": "the higher social value score",
    "lowest_price": "the lower price",
}

Process = dict[str, Any]


def money(minor: int, currency: str) -> dict[str, Any]:
    """A Value: a JSON number of major units (an exact float for every whole number of pence
    below 2**53)."""
    whole, pence = divmod(minor, 100)
    return {"amount": whole if pence == 0 else minor / 100, "currency": currency}


def period(start: str | None, end: str | None) -> dict[str, Any]:
    found = {"startDate": start, "endDate": end}
    return {name: value for name, value in found.items() if value is not None}


def tender(
    process: Process, public_url: str, amendment: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The tender section as it stands; of its amendments, only `amendment` (the one a release
    makes: the record merges them all by id)."""
    terms = process["terms"]
    lots = terms["lots"]
    total = sum(int(lot["value_minor"]) for lot in lots)
    section: dict[str, Any] = {
        "id": process["tender_id"],
        "title": terms["title"],
        "description": terms["description"],
        "status": TENDER_STATUS[process["status"]],
        "procurementMethod": terms["method"],
        "mainProcurementCategory": terms["category"],
        "value": money(total, lots[0]["currency"]),
        "items": [item for lot in lots for item in _items(lot)],
        "lots": [_lot(process, lot, terms) for lot in lots],
        "enquiryPeriod": _period(terms["enquiry_period"]),
        "tenderPeriod": _period(terms["tender_period"]),
        "contractPeriod": _period(terms["contract_period"]),
        "awardCriteria": "ratedCriteria",
        "awardCriteriaDetails": award_criteria(terms["evaluation"]),
        "submissionMethod": ["electronicSubmission"],
        "submissionMethodDetails": "Sealed bids through Tradehall, opened after the deadline.",
        "eligibilityCriteria": eligibility(terms["eligibility"]),
    }
    documents = [_document(process, d, public_url) for d in process["documents"]]
    if documents:
        section["documents"] = documents
    if amendment is not None:
        section["amendments"] = [_amendment(amendment)]
    opening = process.get("opening")
    if opening is not None:  # never before the bids are opened
        section["numberOfTenderers"] = opening["tenderers"]
    return section


def bid_statistics(process: Process) -> dict[str, Any]:
    """The bids extension's statistics, per lot, once opened: counts only, never a bid."""
    opening = process["opening"]
    statistics = []
    for lot_id, counts in sorted(opening["lots"].items()):
        for measure in ("bids", "validBids"):
            statistics.append(
                {
                    "id": f"{lot_id}-{measure}",
                    "measure": measure,
                    "value": counts[measure],
                    "date": opening["date"],
                    "relatedLot": lot_id,
                }
            )
    return {"statistics": statistics}


def award(process: Process, lot_id: str) -> dict[str, Any]:
    """The award of a lot, once its notice is published (pending in the standstill, active
    once the contract is signed)."""
    lot = process["lots"][lot_id]
    winner = lot["award"]
    title = next(t["title"] for t in process["terms"]["lots"] if t["id"] == lot_id)
    return {
        "id": award_id(lot_id),
        "title": title,
        "status": winner["status"],
        "date": winner["date"],
        "value": money(winner["minor"], winner["currency"]),
        "suppliers": [{"id": supplier} for supplier in winner["suppliers"]],
        "relatedLots": [lot_id],
    }


def award_id(lot_id: str) -> str:
    return f"award-{lot_id}"


def contract(
    process: Process, contract_id: str, amendment: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A contract as it stands; of its amendments, only `amendment` (as for the tender)."""
    held = process["contracts"][contract_id]
    section: dict[str, Any] = {
        "id": contract_id,
        "awardID": award_id(held["lot_id"]),
        "status": CONTRACT_STATUS[held["status"]],
        "value": money(held["minor"], held["currency"]),
        "period": _period(held["period"]),
        "dateSigned": held["signed_at"],
    }
    if amendment is not None:
        section["amendments"] = [_amendment(amendment)]
    return section


def award_criteria(evaluation: dict[str, Any]) -> str:
    quality = ", ".join(f"{c['name']} {c['weight']}%" for c in evaluation["quality"])
    price, social = evaluation["price"], evaluation["social_value"]
    return (
        f"Price {price['weight']}%; quality: {quality}; social value ({social['name']}) "
        f"{social['weight']}%. A tie goes to {_TIE_BREAK.get(evaluation['tie_break'], 'a draw')}."
        f" A price more than {evaluation['abnormally_low_percent']}% below the mean of the "
        "others is abnormally low and is explained before any award."
    )


def eligibility(eligibility: dict[str, Any]) -> str:
    parts = []
    if eligibility["members_only"]:
        parts.append("Open to the association's members in good standing.")
    else:
        parts.append("Open to any supplier.")
    if eligibility["quality_mark_required"]:
        parts.append("Bidders hold the association's quality mark.")
    if eligibility["regions"]:
        parts.append(f"Bidders serve the ITL regions {', '.join(eligibility['regions'])}.")
    return " ".join(parts)


def _items(lot: dict[str, Any]) -> list[dict[str, Any]]:
    labels = cpv_codes()
    return [
        {
            "id": f"{lot['id']}-{n}",
            "description": lot["title"],
            "classification": {
                "scheme": "CPV",
                "id": code.split("-")[0],
                "description": labels.get(code, code),
            },
            "relatedLot": lot["id"],
        }
        for n, code in enumerate(lot["cpv_codes"], start=1)
    ]


def _lot(process: Process, lot: dict[str, Any], terms: dict[str, Any]) -> dict[str, Any]:
    outcome = process["lot_outcomes"].get(lot["id"])
    status = LOT_STATUS.get(outcome or "", TENDER_STATUS[process["status"]])
    found: dict[str, Any] = {
        "id": lot["id"],
        "title": lot["title"],
        "status": status,
        "value": money(int(lot["value_minor"]), lot["currency"]),
        "contractPeriod": _period(terms["contract_period"]),
    }
    if lot["description"]:
        found["description"] = lot["description"]
    return found


def _period(stored: dict[str, Any]) -> dict[str, Any]:
    return period(stored.get("start"), stored.get("end"))


def _document(process: Process, document: dict[str, Any], public_url: str) -> dict[str, Any]:
    url = f"{public_url}/api/v1/tenders/{process['tender_id']}/documents/{document['sha256']}"
    return {
        "id": document["sha256"],
        "documentType": document["kind"],
        "title": document["filename"],
        "format": document["content_type"],
        "url": url,
        "datePublished": document["date"],
    }


def _amendment(amendment: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(amendment["id"]),
        "date": amendment["date"],
        "rationale": amendment["rationale"],
        "description": amendment["description"],
        "releaseID": amendment["release_id"],
    }
