"""OCDS publication (issue 15, ADR 31): every public event of a tender, as an OCDS 1.1 release.

One projection follows two logs. From the marketplace log it keeps each tender's process (its
terms, status, documents, amendments, lots' outcomes, the bid counts once opened, awards once
their notice is published, contracts) and, for each event that changes what is public, writes a
release: its id is the ocid and the version of what changed, so a rebuild writes the same ids.
From the membership log it keeps every organisation's name, kind and org-id.guide identifier:
when releases are served (projections.ocds_query), only a public body's are, with its parties.

Nothing of a bid is here before opening: the bids' own log is sealed (no projection reads it),
and the opening's record (`BidOpening.Recorded`) gives only counts to a release. A draft makes
no release; an event whose payload is not what the domain writes is left out with a log line,
the process as it was (ADR 16).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec
from sqlalchemy import Connection, select

from projections import ocds_sections as sections
from projections.base import BesideOrganisations
from projections.contracts import StoredPeriod
from projections.events import RecordedEvent, leave_out
from projections.folding import Row, insert_rows, load_rows, save_rows, upsert_rows
from projections.ocds_tables import ocds_links, ocds_organisations, ocds_processes, ocds_releases
from projections.tenders import StoredTerms
from sharedkernel.moments import EARLIEST, LATEST
from sharedkernel.reference.ocds import currencies

_MAX_ID = 40
# The ocid column's size, less room for what a release id adds.
_MAX_OCID = 120
_METHODS = frozenset({"open", "selective", "limited", "direct"})
_CATEGORIES = frozenset({"goods", "works", "services"})
_SHA256 = re.compile("[0-9a-f]{64}")


class _Skip(Exception):
    """The event is not what the domain writes: left out, the process as it was."""


@dataclass
class _Release:
    kind: str  # what changed, in the release id: tender, opening, award-lot-1, ...
    tags: list[str]
    body: dict[str, Any]
    organisations: list[str] = field(default_factory=list)


class _Organisations:
    """The membership log's part: each organisation's name, kind and identifier, a row from
    each event that changes them (its registration, a new name, its identifier released)."""

    REGISTERED = "Organisation.Registered"
    RENAMED = "Organisation.ProfileUpdated"
    RELEASED = "Organisation.RegistryIdentifierReleased"

    def apply(self, connection: Connection, events: Sequence[RecordedEvent]) -> None:
        mine = [e for e in events if e.name in (self.REGISTERED, self.RENAMED, self.RELEASED)]
        if not mine:
            return
        latest = self._latest(connection, {e.originator_id for e in mine})
        rows: list[Row] = []
        for event in mine:
            data, at = event.data, event.data.get("timestamp")
            if not isinstance(at, datetime) or at.tzinfo is None:
                leave_out("ocds", event, "it has no time with an offset")
                continue
            before = latest.get(event.originator_id)
            if event.name == self.REGISTERED:
                row = _registered(event.originator_id, data)
            elif before is None:  # registered before the log began, or left out
                continue
            elif event.name == self.RENAMED:
                name = data.get("name")
                if not isinstance(name, str) or not name or name == before["name"]:
                    continue
                row = before | {"name": name}
            else:
                row = before | {"scheme": None, "identifier": None}
            row = row | {"version": event.originator_version, "since": at}
            latest[event.originator_id] = row
            rows.append(row)
        insert_rows(connection, ocds_organisations, rows)

    @staticmethod
    def _latest(connection: Connection, ids: set[UUID]) -> dict[UUID, Row]:
        table = ocds_organisations
        found: dict[UUID, Row] = {}
        query = select(table).where(table.c.organisation_id.in_(ids)).order_by(table.c.version)
        for row in connection.execute(query):
            found[row.organisation_id] = dict(row._mapping)
        return found


def _registered(organisation_id: UUID, data: dict[str, Any]) -> Row:
    scheme, identifier = data.get("registry_scheme"), data.get("registry_id")
    known = isinstance(scheme, str) and isinstance(identifier, str) and scheme and identifier
    return {
        "organisation_id": organisation_id,
        "name": str(data.get("name") or ""),
        "kind": str(data.get("kind") or "")[:40],
        "scheme": str(scheme)[:20] if known else None,
        "identifier": str(identifier)[:40] if known else None,
    }


class OcdsProjection(BesideOrganisations):
    """Releases of public tenders (see the module's doc)."""

    name = "ocds"
    tables = (ocds_releases, ocds_links, ocds_processes, ocds_organisations)

    def __init__(self, public_url: str) -> None:
        self._public_url = public_url.rstrip("/")
        self.organisations = _Organisations()
        self._currencies = currencies()
        self._handlers: dict[str, Callable[[dict[str, Any], RecordedEvent, str], Any]] = {
            "Tender.Drafted": self._drafted,
            "Tender.DraftRevised": self._revised,
            "Tender.Published": self._published,
            "Tender.Activated": self._activated,
            "Tender.Amended": self._amended,
            "Tender.DocumentAdded": self._document,
            "Tender.Ended": self._ended,
            "Tender.LotDecided": self._lot_decided,
            "Tender.NationalOcidLinked": self._national_ocid,
            "BidOpening.Recorded": self._opened,
            "LotEvaluation.Started": self._evaluation_started,
            "LotEvaluation.Awarded": self._awarded,
            "LotEvaluation.AwardNoticePublished": self._award_notice,
            "LotEvaluation.ContractSigned": self._award_contracted,
            "Contract.Signed": self._contract_signed,
            "Contract.Amended": self._contract_amended,
            "Contract.Completed": self._contract_ended,
            "Contract.Terminated": self._contract_ended,
        }
        self.marketplace_events = self._handlers.keys()

    # The batch ---------------------------------------------------------------------------

    def apply_marketplace(self, connection: Connection, events: list[RecordedEvent]) -> None:
        links = self._links(connection, events)
        tender_ids = {t for e in events if (t := self._tender_of(e, links)) is not None}
        processes = load_rows(connection, ocds_processes, "tender_id", tender_ids)
        states = {t: json.loads(row["state"]) for t, row in processes.items()}
        created: set[UUID] = set()
        releases: dict[str, Row] = {}
        for event in events:
            tender_id = self._tender_of(event, links)
            if tender_id is None:
                continue
            at = event.data.get("timestamp")
            if not isinstance(at, datetime) or at.tzinfo is None:
                leave_out("ocds", event, "it has no time with an offset")
                continue
            if not EARLIEST <= at < LATEST:
                # A release's date is where a page ends (`links.next`), and a cursor outside
                # these years is refused as any moment a client sends is: never a release's.
                leave_out("ocds", event, f"its time is outside {EARLIEST.year}-{LATEST.year - 1}")
                continue
            process = states.get(tender_id)
            if process is None and event.name != "Tender.Drafted":
                continue  # its draft was left out, or came before the log began
            before = copy.deepcopy(process) if process is not None else None
            try:
                if process is None:
                    process = states[tender_id] = self._new_process(event, at.isoformat())
                    created.add(tender_id)
                    continue
                release = self._handlers[event.name](process, event, at.isoformat())
            except (
                _Skip,
                KeyError,
                TypeError,
                ValueError,
                OverflowError,
                msgspec.ValidationError,
            ) as error:
                leave_out("ocds", event, error, text="%(reader)s: %(event)r left out (%(why)s)")
                if before is None:
                    states.pop(tender_id, None)
                else:
                    states[tender_id] = before
                continue
            if isinstance(release, _Release) and process["status"] != "draft":
                row = self._release_row(process, release, event, at)
                releases[row["release_id"]] = row
        rows = {
            t: {
                "tender_id": t,
                "ocid": state["ocid"],
                "buyer_id": UUID(state["buyer_id"]),
                "state": json.dumps(state, ensure_ascii=False),
            }
            for t, state in states.items()
        }
        save_rows(connection, ocds_processes, "tender_id", rows, created=created & set(rows))
        upsert_rows(connection, ocds_links, "aggregate_id", list(links.new.values()))
        upsert_rows(connection, ocds_releases, "release_id", list(releases.values()))

    def _links(self, connection: Connection, events: list[RecordedEvent]) -> _Links:
        """Which tender and lot each evaluation and contract belongs to: from its first event
        in this batch, else as stored."""
        links = _Links()
        for event in events:
            if event.name in ("LotEvaluation.Started", "Contract.Signed"):
                tender_id, lot_id = event.data.get("tender_id"), event.data.get("lot_id")
                if isinstance(tender_id, UUID) and _is_id(lot_id):
                    links.new[event.originator_id] = {
                        "aggregate_id": event.originator_id,
                        "tender_id": tender_id,
                        "lot_id": lot_id,
                    }
        wanted = {
            e.originator_id
            for e in events
            if e.name.startswith(("LotEvaluation.", "Contract."))
            and e.originator_id not in links.new
        }
        if wanted:
            query = select(ocds_links).where(ocds_links.c.aggregate_id.in_(wanted))
            for found in connection.execute(query):
                links.stored[found.aggregate_id] = (found.tender_id, found.lot_id)
        return links

    @staticmethod
    def _tender_of(event: RecordedEvent, links: _Links) -> UUID | None:
        if event.name.startswith("Tender."):
            return event.originator_id
        if event.name == "BidOpening.Recorded":
            tender_id = event.data.get("tender_id")
            return tender_id if isinstance(tender_id, UUID) else None
        link = links.of(event.originator_id)
        return link[0] if link is not None else None

    def _release_row(
        self, process: dict[str, Any], release: _Release, event: RecordedEvent, at: datetime
    ) -> Row:
        release_id = _next_release_id(process, release.kind)
        body = {
            "ocid": process["ocid"],
            "id": release_id,
            "date": at.isoformat(),
            "tag": release.tags,
            "initiationType": "tender",
            "language": "en",
            **release.body,
        }
        if process.get("national_ocid"):
            body["relatedProcesses"] = [_national(process["national_ocid"])]
        organisations = [process["buyer_id"], *release.organisations]
        return {
            "release_id": release_id,
            "ocid": process["ocid"],
            "buyer_id": UUID(process["buyer_id"]),
            "date": at,
            "position": event.position,
            "organisations": json.dumps(list(dict.fromkeys(organisations))),
            "body": json.dumps(body, ensure_ascii=False),
        }

    # Tender events -----------------------------------------------------------------------

    def _new_process(self, event: RecordedEvent, at: str) -> dict[str, Any]:
        buyer, ocid = event.data.get("buyer_id"), event.data.get("ocid")
        if not isinstance(buyer, UUID) or not isinstance(ocid, str) or not ocid:
            raise _Skip("it names no buyer or ocid")
        if len(ocid) > _MAX_OCID or not ocid.isprintable():
            raise _Skip("its ocid is not one (too long, or not printable)")
        return {
            "tender_id": str(event.originator_id),
            "ocid": ocid,
            "buyer_id": str(buyer),
            "terms": self._terms(event),
            "status": "draft",
            "documents": [],
            "amendments": [],
            "lot_outcomes": {},
            "lots": {},
            "contracts": {},
        }

    def _terms(self, event: RecordedEvent) -> dict[str, Any]:
        terms = msgspec.convert(event.data["terms"], StoredTerms)
        if terms.method not in _METHODS or terms.category not in _CATEGORIES:
            raise _Skip(f"method {terms.method!r}, category {terms.category!r}")
        for lot in terms.lots:
            if lot.currency not in self._currencies or not _is_id(lot.id):
                raise _Skip(f"lot {lot.id!r} in {lot.currency!r}")
        built: dict[str, Any] = msgspec.to_builtins(terms)
        return built

    def _tender_release(
        self,
        process: dict[str, Any],
        event: RecordedEvent,
        *tags: str,
        amendment: dict[str, Any] | None = None,
    ) -> _Release:
        """The tender section whole, but for its amendments: only the one this event made (the
        record keeps them all, merged by id; each release repeating them all would grow the
        record with the square of their number)."""
        body = {"tender": sections.tender(process, self._public_url, amendment)}
        return _Release("tender", list(tags), body)

    @staticmethod
    def _drafted(process: dict[str, Any], event: RecordedEvent, at: str) -> None:
        raise _Skip("the tender is drafted already")

    def _revised(self, process: dict[str, Any], event: RecordedEvent, at: str) -> None:
        process["terms"] = self._terms(event)

    def _published(self, process: dict[str, Any], event: RecordedEvent, at: str) -> _Release:
        status = event.data.get("status")
        if status not in ("planned", "active") or process["status"] != "draft":
            raise _Skip(f"published as {status!r} from {process['status']!r}")
        process["status"] = status
        for document in process["documents"]:
            document["date"] = at  # a draft's documents are public from now
        return self._tender_release(process, event, "planning" if status == "planned" else "tender")

    def _activated(self, process: dict[str, Any], event: RecordedEvent, at: str) -> _Release:
        process["status"] = "active"
        return self._tender_release(process, event, "tender")

    def _amended(self, process: dict[str, Any], event: RecordedEvent, at: str) -> _Release:
        terms = self._terms(event)
        changed = event.data.get("changed")
        names = [str(c) for c in changed] if isinstance(changed, list) else []
        process["terms"] = terms
        process["amendments"].append(
            {
                "id": len(process["amendments"]) + 1,
                "date": at,
                "rationale": str(event.data.get("rationale") or ""),
                "description": f"Changed: {', '.join(names)}." if names else "Changed.",
                "release_id": _peek_release_id(process, "tender"),
            }
        )
        tag = "planningUpdate" if process["status"] == "planned" else "tenderAmendment"
        return self._tender_release(process, event, tag, amendment=process["amendments"][-1])

    def _document(self, process: dict[str, Any], event: RecordedEvent, at: str) -> _Release:
        data = event.data
        sha256 = data.get("sha256")
        # The document's id and the last part of its address: the digest the domain writes.
        if not isinstance(sha256, str) or not _SHA256.fullmatch(sha256):
            raise _Skip("not a document's digest")
        if any(d["sha256"] == sha256 for d in process["documents"]):
            return self._tender_release(process, event, "tenderUpdate")
        process["documents"].append(
            {
                "sha256": sha256,
                "kind": str(data.get("kind") or "other"),
                "filename": str(data.get("filename") or sha256),
                "content_type": str(data.get("content_type") or "application/octet-stream"),
                "date": at,
            }
        )
        tag = "planningUpdate" if process["status"] == "planned" else "tenderUpdate"
        return self._tender_release(process, event, tag)

    def _ended(self, process: dict[str, Any], event: RecordedEvent, at: str) -> _Release:
        status = event.data.get("status")
        tags = {
            "cancelled": "tenderCancellation",
            "withdrawn": "planningUpdate",
            "unsuccessful": "tenderUpdate",
        }
        if status not in tags:
            raise _Skip(f"ended as {status!r}")
        process["status"] = status
        return self._tender_release(process, event, tags[status])

    def _lot_decided(self, process: dict[str, Any], event: RecordedEvent, at: str) -> _Release:
        lot_id, outcome = event.data.get("lot_id"), event.data.get("outcome")
        if not _is_id(lot_id) or outcome not in sections.LOT_STATUS:
            raise _Skip(f"lot {lot_id!r} decided {outcome!r}")
        process["lot_outcomes"][lot_id] = outcome
        if outcome != "awarded" and lot_id in process["lots"]:
            process["lots"][lot_id]["bids"] = {}  # never published: not kept
        lots = {lot["id"] for lot in process["terms"]["lots"]}
        if lots.issubset(process["lot_outcomes"]):
            awarded = "awarded" in process["lot_outcomes"].values()
            process["status"] = "complete" if awarded else "unsuccessful"
        return self._tender_release(process, event, "tenderUpdate")

    def _national_ocid(self, process: dict[str, Any], event: RecordedEvent, at: str) -> _Release:
        ocid = event.data.get("ocid")
        if not isinstance(ocid, str) or not ocid:
            raise _Skip("it names no ocid")
        process["national_ocid"] = ocid
        tag = "planningUpdate" if process["status"] == "planned" else "tenderUpdate"
        return self._tender_release(process, event, tag)

    # After the deadline ------------------------------------------------------------------

    def _opened(self, process: dict[str, Any], event: RecordedEvent, at: str) -> _Release:
        """The bids as opened: counted per lot, never shown."""
        bids = event.data.get("bids")
        if not isinstance(bids, list):
            raise _Skip("no bids")
        lots = {lot["id"]: {"bids": 0, "validBids": 0} for lot in process["terms"]["lots"]}
        tenderers = set()
        for bid in bids:
            counts = lots.get(bid.get("lot_id")) if isinstance(bid, dict) else None
            if counts is None:
                continue
            counts["bids"] += 1
            counts["validBids"] += bid.get("valid") is True
            tenderers.add(str(bid.get("lead_id")))
        process["opening"] = {"date": at, "lots": lots, "tenderers": len(tenderers)}
        body = {
            "tender": sections.tender(process, self._public_url),
            "bids": sections.bid_statistics(process),
        }
        return _Release("opening", ["tenderUpdate"], body)

    def _evaluation_started(self, process: dict[str, Any], event: RecordedEvent, at: str) -> None:
        """The lot's valid bids' prices and suppliers, kept for its award (never published
        unless it is awarded)."""
        bids = {}
        for bid in event.data["bids"]:
            suppliers = [str(UUID(str(share["organisation_id"]))) for share in bid["shares"]]
            bids[str(bid["bid_id"])] = {
                "minor": _minor(bid["price_minor"]),
                "currency": str(bid["currency"]),
                "suppliers": suppliers,
            }
        lot_id = str(event.data["lot_id"])
        if lot_id not in {lot["id"] for lot in process["terms"]["lots"]}:
            raise _Skip(f"the tender has no {lot_id!r}")
        process["lots"][lot_id] = {"bids": bids, "award": None}
        process.setdefault("evaluations", {})[str(event.originator_id)] = lot_id

    def _awarded(self, process: dict[str, Any], event: RecordedEvent, at: str) -> None:
        lot_id = self._lot_by_link(process, event)
        lot = process["lots"][lot_id]
        winner = lot["bids"][str(event.data["bid_id"])]
        if winner["currency"] not in self._currencies:
            raise _Skip(f"a price in {winner['currency']!r}")
        lot["winner"] = winner
        lot["bids"] = {}  # the others' prices and bidders are never published: not kept

    def _award_notice(self, process: dict[str, Any], event: RecordedEvent, at: str) -> _Release:
        lot_id = self._lot_by_link(process, event)
        lot = process["lots"][lot_id]
        winner = lot.get("winner")
        if winner is None:
            raise _Skip("no award to publish")
        lot["award"] = winner | {"status": "pending", "date": at}
        return self._award_release(process, lot_id, event, "award")

    def _award_contracted(self, process: dict[str, Any], event: RecordedEvent, at: str) -> _Release:
        lot_id = self._lot_by_link(process, event)
        award = process["lots"][lot_id].get("award")
        if award is None:
            raise _Skip("a contract signed for an award never published")
        award["status"] = "active"
        return self._award_release(process, lot_id, event, "awardUpdate")

    def _award_release(
        self, process: dict[str, Any], lot_id: str, event: RecordedEvent, tag: str
    ) -> _Release:
        award = sections.award(process, lot_id)
        kind = f"award-{lot_id}"
        suppliers = process["lots"][lot_id]["award"]["suppliers"]
        return _Release(kind, [tag], {"awards": [award]}, suppliers)

    # Contracts ---------------------------------------------------------------------------

    def _contract_signed(self, process: dict[str, Any], event: RecordedEvent, at: str) -> _Release:
        data = event.data
        currency = str(data["currency"])
        if currency not in self._currencies:
            raise _Skip(f"a value in {currency!r}")
        lot_id = str(data["lot_id"])
        process["contracts"][str(event.originator_id)] = {
            "lot_id": lot_id,
            "status": "active",
            "minor": _minor(data["value_minor"]),
            "currency": currency,
            "period": _contract_period(data["period"]),
            "signed_at": at,
            "amendments": [],
        }
        return self._contract_release(process, event, "contract")

    def _contract_amended(self, process: dict[str, Any], event: RecordedEvent, at: str) -> _Release:
        held = self._contract(process, event)
        data = event.data
        changed = []
        if data.get("value_minor") is not None:
            held["minor"] = _minor(data["value_minor"])
            changed.append("value")
        if data.get("period") is not None:
            held["period"] = _contract_period(data["period"])
            changed.append("period")
        kind = f"contract-{held['lot_id']}"
        held["amendments"].append(
            {
                "id": len(held["amendments"]) + 1,
                "date": at,
                "rationale": str(data.get("reason") or ""),
                "description": f"Changed: {', '.join(changed)}." if changed else "Changed.",
                "release_id": _peek_release_id(process, kind),
            }
        )
        return self._contract_release(
            process, event, "contractAmendment", amendment=held["amendments"][-1]
        )

    def _contract_ended(self, process: dict[str, Any], event: RecordedEvent, at: str) -> _Release:
        held = self._contract(process, event)
        held["status"] = "completed" if event.name == "Contract.Completed" else "terminated"
        return self._contract_release(process, event, "contractTermination")

    @staticmethod
    def _contract(process: dict[str, Any], event: RecordedEvent) -> dict[str, Any]:
        held = process["contracts"].get(str(event.originator_id))
        if held is None:
            raise _Skip("a contract never signed")
        contract: dict[str, Any] = held
        return contract

    @staticmethod
    def _contract_release(
        process: dict[str, Any],
        event: RecordedEvent,
        tag: str,
        amendment: dict[str, Any] | None = None,
    ) -> _Release:
        contract_id = str(event.originator_id)
        lot_id = process["contracts"][contract_id]["lot_id"]
        body = {"contracts": [sections.contract(process, contract_id, amendment)]}
        return _Release(f"contract-{lot_id}", [tag], body)

    @staticmethod
    def _lot_by_link(process: dict[str, Any], event: RecordedEvent) -> str:
        evaluation = process.get("evaluations", {}).get(str(event.originator_id))
        if evaluation is None or evaluation not in process["lots"]:
            raise _Skip("no evaluation of this lot")
        lot_id: str = evaluation
        return lot_id


@dataclass
class _Links:
    new: dict[UUID, Row] = field(default_factory=dict)
    stored: dict[UUID, tuple[UUID, str]] = field(default_factory=dict)

    def of(self, aggregate_id: UUID) -> tuple[UUID, str] | None:
        row = self.new.get(aggregate_id)
        if row is not None:
            return row["tender_id"], row["lot_id"]
        return self.stored.get(aggregate_id)


def _peek_release_id(process: dict[str, Any], kind: str) -> str:
    """The id the next release of this kind will have."""
    return f"{process['ocid']}-{kind}-{process.get('released', {}).get(kind, 0) + 1}"


def _next_release_id(process: dict[str, Any], kind: str) -> str:
    """Releases are numbered per kind in the order the log makes them: the same after a
    rebuild, and counting nothing that is not published (an aggregate's version would count
    scores, queries and reports)."""
    release_id = _peek_release_id(process, kind)
    released = process.setdefault("released", {})
    released[kind] = released.get(kind, 0) + 1
    return release_id


def _contract_period(stored: object) -> dict[str, str]:
    """A contract's period as OCDS dates: two times with an offset, as the domain writes them.
    Anything else (a word, a date alone, a time without its zone) is no date an OCDS reader
    takes: msgspec.ValidationError, and the event is left out."""
    period = msgspec.convert(stored, StoredPeriod)
    return {"start": period.start.isoformat(), "end": period.end.isoformat()}


def _is_id(value: object) -> bool:
    return isinstance(value, str) and 0 < len(value) <= _MAX_ID


def _minor(value: object) -> int:
    if type(value) is not int or not 0 <= value <= 2**53:
        raise _Skip(f"an amount of {value!r}")
    return value


def _national(ocid: str) -> dict[str, Any]:
    """The same process as a national portal published it (ADR 31: no relationship code of the
    standard's says "the same process", so none is given)."""
    return {
        "id": "national-notice",
        "title": "This contracting process as published on a national portal",
        "scheme": "ocid",
        "identifier": ocid,
    }
