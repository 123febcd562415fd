"""The matching score's rules (ADR 29), pure: no I/O.

The queries (projections.matching_query) compute the points in SQL, to rank in the database;
the same rules are written here once more for what SQL cannot say well: which regions score
what (given to SQL as a small table of constants), and the explanation of each part.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

FORMULA = (
    "score = cpv + region + mark + capacity + track_record + listings (at most 100). "
    "cpv (max 40): 8 x the deepest level at which one of the member's CPV prefixes (its profile's "
    "and its published listings' codes) equals one of the lot's codes' prefixes: division (2 "
    "digits) 1, group (3) 2, class (4) 3, category (5) 4, the same code (8 digits) 5; else 0. "
    "region (max 20): a tender open anywhere 20; else the best over its regions of: the member "
    "serves the region 20, its parent 16, a region further up 12, a region inside it 8; else 0. "
    "mark (max 15): a valid quality mark 15. "
    "capacity (max 10): c = the largest capacity of the member's published listings in the lot's "
    "CPV divisions, V the lot's estimated value: V = 0 -> 10 if c > 0 else 0; else "
    "floor(10 x min(c, V) / V). "
    "track_record (max 10): over the lot's divisions, the best min(10, 3 x contracts won + 2 x "
    "contracts completed). "
    "listings (max 5): over the lot's divisions, the best min(5, published listings). "
    "Ties: score, then cpv, then region, descending; then name, then organisation id. "
    "A member matches a lot when cpv > 0, or the tender names regions and region > 0; a matching "
    "member is excluded (never named) when not in good standing, without a valid mark where the "
    "tender requires one, or outside the tender's regions. "
    "Outside opportunities (national portals' notices, no buyer organisation here) are lots "
    "scored alike: one publishing no value counts as V = 0; one naming no place is open "
    "anywhere; one naming places is restricted to those read as ITL regions, or, when none "
    "was read, gets region 0 and excludes nobody for its region."
)

# The prefix lengths kept of a code, and the level each stands for.
PREFIX_LEVELS = {2: 1, 3: 2, 4: 3, 5: 4, 8: 5}
LEVEL_NAMES = {1: "division", 2: "group", 3: "class", 4: "category", 5: "code"}
CPV_POINTS_A_LEVEL = 8
MAX_POINTS = {
    "cpv": 40,
    "region": 20,
    "mark": 15,
    "capacity": 10,
    "track_record": 10,
    "listings": 5,
}
REGION_SAME, REGION_PARENT, REGION_ABOVE, REGION_INSIDE = 20, 16, 12, 8
MARK_POINTS = 15
# Amounts are capped here when stored: the score only compares them, and 10 x the cap still
# fits a signed 64-bit integer (no overflow in SQL).
AMOUNT_CAP = 10**17


def code_prefixes(code: str) -> list[str]:
    """The digit prefixes of a CPV code (`45214000-0`) of lengths 2, 3, 4, 5 and 8; none for a
    code whose first part is not 8 digits (another writer's: it matches nothing)."""
    digits = code.split("-")[0]
    if len(digits) != 8 or not digits.isascii() or not digits.isdigit():
        return []
    return [digits[:length] for length in PREFIX_LEVELS]


def prefixes_of(codes: Iterable[str]) -> set[str]:
    return {prefix for code in codes for prefix in code_prefixes(code)}


def divisions_of(codes: Iterable[str]) -> set[str]:
    return {prefix for prefix in prefixes_of(codes) if len(prefix) == 2}


def cpv_detail(member_prefixes: Iterable[str], lot_codes: Iterable[str]) -> tuple[int, str]:
    """The level of the deepest common prefix and its explanation."""
    mine = set(member_prefixes)
    best: tuple[int, str, str] | None = None
    for code in lot_codes:
        for prefix in code_prefixes(code):
            level = PREFIX_LEVELS[len(prefix)]
            if prefix in mine and (best is None or level > best[0]):
                best = (level, prefix, code)
    if best is None:
        return 0, "no CPV code in common"
    level, prefix, code = best
    if level == 5:
        return level, f"the same code as {code}"
    return level, f"same {LEVEL_NAMES[level]} ({prefix}) as {code}"


def _ancestors(region: str, parents: Mapping[str, str | None]) -> list[str]:
    found, parent = [], parents.get(region)
    while parent:
        found.append(parent)
        parent = parents.get(parent)
    return found


def region_fit(tender_region: str, member_region: str, parents: Mapping[str, str | None]) -> int:
    """What serving `member_region` is worth for a tender restricted to `tender_region`."""
    if member_region == tender_region:
        return REGION_SAME
    above = _ancestors(tender_region, parents)
    if above and member_region == above[0]:
        return REGION_PARENT
    if member_region in above:
        return REGION_ABOVE
    if tender_region in _ancestors(member_region, parents):
        return REGION_INSIDE
    return 0


def _related(regions: Iterable[str], parents: Mapping[str, str | None]) -> set[str]:
    """The regions, those above them and those inside them."""
    given = set(regions)
    related = set(given)
    for region in given:
        related.update(_ancestors(region, parents))
    for region in parents:
        if given.intersection(_ancestors(region, parents)):
            related.add(region)
    return related


def _scoring_regions(
    given: Iterable[str], parents: Mapping[str, str | None], fit: Callable[[str, str], int]
) -> dict[str, int]:
    """Each region related to the `given` ones that scores, and its points: the best
    `fit(region, one given)`."""
    regions = list(given)
    points: dict[str, int] = {}
    for region in _related(regions, parents):
        best = max((fit(region, one) for one in regions), default=0)
        if best:
            points[region] = best
    return points


def member_region_points(
    tender_regions: Iterable[str], parents: Mapping[str, str | None]
) -> dict[str, int]:
    """For a tender naming `tender_regions`: each region a member might serve that scores, and
    its points (the best over the tender's regions)."""
    return _scoring_regions(
        tender_regions, parents, lambda member, tender: region_fit(tender, member, parents)
    )


def tender_region_points(
    member_regions: Iterable[str], parents: Mapping[str, str | None]
) -> dict[str, int]:
    """For a member serving `member_regions`: each region a tender might name that scores, and
    its points (the best over the member's regions)."""
    return _scoring_regions(
        member_regions, parents, lambda tender, member: region_fit(tender, member, parents)
    )


def region_detail(
    tender_regions: Iterable[str], member_regions: Iterable[str], parents: Mapping[str, str | None]
) -> tuple[int, str]:
    """The region points and why."""
    wanted, served = sorted(tender_regions), sorted(member_regions)
    if not wanted:
        return REGION_SAME, "the tender is open to suppliers anywhere"
    best: tuple[int, str, str] | None = None
    for tender_region in wanted:
        for region in served:
            points = region_fit(tender_region, region, parents)
            if points and (best is None or points > best[0]):
                best = (points, tender_region, region)
    if best is None:
        return 0, f"serves none of {', '.join(wanted)}"
    points, tender_region, region = best
    how = {
        REGION_SAME: f"serves {region}",
        REGION_PARENT: f"serves {region}, the parent of {tender_region}",
        REGION_ABOVE: f"serves {region}, a region above {tender_region}",
        REGION_INSIDE: f"serves {region}, part of {tender_region}",
    }
    return points, how[points]


def capacity_points(capacity: int, value: int) -> int:
    if value == 0:
        return 10 if capacity > 0 else 0
    return 10 * min(capacity, value) // value


def track_points(won: int, delivered: int) -> int:
    return min(10, 3 * won + 2 * delivered)


def listing_points(listings: int) -> int:
    return min(5, listings)


def money(minor: int, currency: str) -> str:
    """An amount for people: `£50,000.00`, `EUR 1,000.00`."""
    sign = "£" if currency == "GBP" else f"{currency} "
    return f"{sign}{minor // 100:,}.{minor % 100:02d}"
