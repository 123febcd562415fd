"""Importing a release package through the MarketplaceApp, release by release: each is
imported, updates its opportunity, changes nothing (seen before), or is skipped with the reason
(which release, its ocid if it has one, the field, why) while the rest are imported."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from marketplace.application import MarketplaceApp
from sharedkernel.errors import InvalidValue
from sharedkernel.events import Context
from tradehall.marketplace.outside.packages import MAX_RELEASE_DEPTH, ReleasePackage, depth_of

log = logging.getLogger("tradehall.ocds_import")
OUTCOMES = ("imported", "updated", "unchanged")
# How much of a skipped release's ocid a report repeats (the domain refuses longer ones).
MAX_SHOWN_OCID = 200
# How much of a reason a report repeats: a merge's message may quote a whole list.
MAX_SHOWN_REASON = 500


@dataclass(frozen=True)
class Skipped:
    index: int  # the release's place in the package's `releases`, from 0
    ocid: str | None  # as given, when it is text
    field: str  # what was wrong: `ocid`, `date`, `tag`, `release`
    reason: str

    def __str__(self) -> str:
        ocid = f" ({self.ocid})" if self.ocid else " (no ocid)"
        return f"release {self.index}{ocid}: {self.field}: {self.reason}"


@dataclass
class ImportReport:
    source: str
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    # The marketplace log's last position written (read-your-writes), None if nothing was.
    position: int | None = None

    def add(self, other: ImportReport) -> None:
        self.source = self.source or other.source
        self.imported += other.imported
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.skipped.extend(other.skipped)
        if other.position is not None:
            self.position = max(self.position or 0, other.position)

    def counts(self) -> str:
        return (
            f"imported {self.imported}, updated {self.updated}, unchanged {self.unchanged}, "
            f"skipped {len(self.skipped)}"
        )


def import_package(
    marketplace: MarketplaceApp, context: Context, package: ReleasePackage
) -> ImportReport:
    """Import every release of the package (synchronous: run it in a worker thread). A release
    the domain refuses is skipped and reported; a failure of the store is raised (what was
    imported before it stays, and importing the package again adds nothing twice)."""
    report = ImportReport(package.publisher or "unknown")
    for index, raw in enumerate(package.releases):
        try:
            if depth_of(raw) > MAX_RELEASE_DEPTH:
                raise InvalidValue("release", f"nested more than {MAX_RELEASE_DEPTH} deep")
            imported = marketplace.import_outside_release(context, package.publisher, raw)
        except InvalidValue as error:
            reason = _shown(error.message, MAX_SHOWN_REASON)
            report.skipped.append(Skipped(index, _ocid_of(raw), error.field, reason))
            continue
        except (RecursionError, ValueError, TypeError) as error:
            # A release shaped so oddly that reading it failed: skipped like an invalid one,
            # logged in full, so one bad release never stops a feed.
            log.warning("an OCDS release could not be read", exc_info=True)
            reason = f"could not be read ({type(error).__name__})"
            report.skipped.append(Skipped(index, _ocid_of(raw), "release", reason))
            continue
        outcome = imported.outcome
        assert outcome in OUTCOMES, outcome
        setattr(report, outcome, getattr(report, outcome) + 1)
        position = imported.saved.position
        if position is not None:
            report.position = max(report.position or 0, position)
    return report


def _ocid_of(raw: Any) -> str | None:
    ocid = raw.get("ocid") if isinstance(raw, Mapping) else None
    if not isinstance(ocid, str) or not ocid.strip():
        return None
    return _shown(ocid.strip(), MAX_SHOWN_OCID)


def _shown(text: str, limit: int) -> str:
    """Shown on a terminal and in logs: bounded, and no control characters."""
    shown = text[:limit]
    return shown if shown.isprintable() else repr(shown)
