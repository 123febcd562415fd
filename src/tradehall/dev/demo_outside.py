"""The demo's outside opportunities (issue 16): eight real Contracts Finder releases (Open
Government Licence v3.0; attribution in NOTICE), imported as `tradehall import ocds` imports a
file, with their dates moved so that the tenders among them are open when the demo runs; then
a later release of one of them (its deadline extended), merged by the standard's rules."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta
from decimal import Decimal
from importlib.resources import files
from typing import Any

import msgspec

from marketplace.application import MarketplaceApp
from marketplace.outside.opportunity import opportunity_id_for
from sharedkernel.events import IMPORTER, Context
from tradehall.marketplace.outside.importing import ImportReport, import_package
from tradehall.marketplace.outside.packages import ReleasePackage, package_of
from tradehall.membership.registration import Registrar

DEMO_FILE = "demo-outside-opportunities.json"
# Contracts Finder's "Bread, Milk, Baked Goods & Dairy" (Wales): the bakeries' trade.
BREAD_OCID = "ocds-kuma6s-148114"
# A food magazine's typesetting and design, open anywhere: the design members' trade.
TYPESETTING_OCID = "ocds-b5fd17-f562e200-1f89-4bdb-9add-0b65f04401e9"
# The grounds maintenance one, whose deadline a later release extends.
EXTENDED_OCID = "ocds-b5fd17-160abf38-c8ab-4596-ba91-4388a3d1697a"
_decoder = msgspec.json.Decoder(float_hook=Decimal)


def demo_package(now: datetime) -> ReleasePackage:
    """The file's releases, dated as if published in the last few days: the open tenders'
    deadlines three to six weeks ahead (the award among them stays as it was)."""
    package: dict[str, Any] = _decoder.decode(files(__package__).joinpath(DEMO_FILE).read_bytes())
    for n, release in enumerate(package["releases"]):
        tender = release.get("tender", {})
        if tender.get("status") != "active":
            continue
        published = now - timedelta(days=2 + n)
        release["date"] = _iso(published)
        tender["datePublished"] = _iso(published)
        tender["tenderPeriod"] = {"endDate": _iso(now + timedelta(weeks=3 + n % 4))}
    return package_of(package)


def extension(now: datetime) -> ReleasePackage:
    """A later release of the grounds maintenance tender: two more weeks to bid."""
    package = demo_package(now)
    [release] = [r for r in package.releases if r["ocid"] == EXTENDED_OCID]
    later = copy.deepcopy(release)
    later["id"] = f"{release['id']}-extended"
    later["date"] = _iso(now - timedelta(hours=1))
    later["tag"] = ["tenderAmendment"]
    end = datetime.fromisoformat(release["tender"]["tenderPeriod"]["endDate"])
    later["tender"] = {"tenderPeriod": {"endDate": _iso(end + timedelta(weeks=2))}}
    return ReleasePackage(package.publisher, [later], None)


async def seed_outside(registrar: Registrar, marketplace: MarketplaceApp) -> ImportReport:
    now = registrar.clock.now().replace(second=0, microsecond=0)
    context = Context(IMPORTER, "demo-ocds-import", now)
    report: ImportReport = await registrar.run(
        import_package, marketplace, context, demo_package(now)
    )
    report.add(await registrar.run(import_package, marketplace, context, extension(now)))
    return report


def outside_lines() -> list[tuple[str, str]]:
    bread = opportunity_id_for(BREAD_OCID)
    return [
        (
            "outside",
            "8 Contracts Finder releases imported as outside opportunities (7 open, 1 awarded; "
            "3 flagged suitable for VCSEs, 1 not, 4 unsaid), and a later release of the "
            "grounds maintenance one merged (its deadline extended)",
        ),
        ("try", "GET /api/v1/opportunities?open=true&vcse=yes (open, suitable for VCSEs)"),
        ("try", f"GET /api/v1/opportunities/{bread} (bread and baked goods, in Wales)"),
        (
            "try",
            "sign in as staff, then GET /api/v1/organisations/{a design member's id}"
            "/recommended-tenders (our tenders and outside ones together: a food magazine's "
            "typesetting, with its source and link)",
        ),
        ("try", "tradehall import ocds FILE (a release package from Contracts Finder)"),
    ]


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")
