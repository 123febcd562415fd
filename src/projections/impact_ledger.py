"""The impact ledger's arithmetic (issue 17), pure: contracts and confirmed deliveries in,
totals by a grouping out. Every figure is checked by hand in tests/unit/test_impact_ledger.py.

- A contract counts once in the association's, a buyer's and a period's totals (its signing
  date's year or quarter). A consortium's contract counts once for each party, with its value,
  its estimate and its commitments split by the parties' shares: whole pence and whole units, by
  largest remainder, so the parties' parts add up to the whole exactly.
- Delivered means confirmed by the buyer. A confirmed report counts for the party that reported
  it, in full, in the period its reporting period ends in.
- Money is kept per currency, never converted. The estimate is compared with the value the
  contract was awarded (signed) at, not the value amendments brought it to.
- Social value in pounds: a measure's quantity times the proxy value per unit in effect on the
  day (`rate`): the signing day for commitments, the reporting period's end for deliveries.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Context, Decimal
from enum import StrEnum
from typing import NamedTuple
from uuid import UUID

# Pence per unit of a measure on a day (the proxy-value table in effect then).
Rate = Callable[[str, date], Decimal]


class Grouping(StrEnum):
    ASSOCIATION = "association"
    MEMBER = "member"
    BUYER = "buyer"
    YEAR = "year"
    QUARTER = "quarter"


# Named tuples, not dataclasses: a read makes one a row (tens of thousands at scale).
class LedgerContract(NamedTuple):
    contract_id: UUID
    buyer_id: UUID
    currency: str
    awarded_minor: int  # as signed
    value_minor: int  # as it stands (amendments applied)
    estimated_minor: int | None  # its lot's estimate, in its currency
    signed_on: date
    parties: tuple[tuple[UUID, int], ...]  # (organisation, share percent)
    committed: Mapping[str, int]  # measure -> quantity


class LedgerDelivery(NamedTuple):
    """One measure of one confirmed delivery report."""

    contract_id: UUID
    reporter_id: UUID
    on: date  # the end of the report's period
    measure: str
    quantity: int


@dataclass
class MoneyTotals:
    currency: str
    value_won_minor: int = 0
    # Contracts with an estimate: their estimates, and the values they were awarded at.
    estimated_minor: int = 0
    awarded_minor: int = 0

    @property
    def estimate_less_awarded_minor(self) -> int:
        return self.estimated_minor - self.awarded_minor


@dataclass
class MeasureTotals:
    measure: str
    committed: int = 0
    delivered: int = 0
    committed_value: Decimal = Decimal(0)  # pence, unrounded
    delivered_value: Decimal = Decimal(0)


@dataclass
class Totals:
    key: str
    contracts: int = 0
    money: dict[str, MoneyTotals] = field(default_factory=dict)
    measures: dict[str, MeasureTotals] = field(default_factory=dict)

    # Looked up before made: a read calls these once a row.
    def money_in(self, currency: str) -> MoneyTotals:
        found = self.money.get(currency)
        if found is None:
            found = self.money[currency] = MoneyTotals(currency)
        return found

    def measure(self, name: str) -> MeasureTotals:
        found = self.measures.get(name)
        if found is None:
            found = self.measures[name] = MeasureTotals(name)
        return found

    @property
    def social_value_committed_minor(self) -> int:
        return pence(sum((m.committed_value for m in self.measures.values()), Decimal(0)))

    @property
    def social_value_delivered_minor(self) -> int:
        return pence(sum((m.delivered_value for m in self.measures.values()), Decimal(0)))


def pence(value: Decimal) -> int:
    """Whole pence, halves away from zero, at any size (figures another writer stored may sum
    past the default context's 28 digits, where quantize would raise InvalidOperation)."""
    wide = Context(prec=max(28, value.adjusted() + 2))
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP, context=wide))


def quarter_of(day: date) -> str:
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def split(total: int, shares: Sequence[int]) -> list[int]:
    """`total` split in proportion to `shares`, in whole units that add up to `total` (largest
    remainder; ties to the earlier share). Shares that add up to nothing split nothing."""
    whole = sum(shares)
    if whole <= 0:
        return [0] * len(shares)
    parts = [total * share // whole for share in shares]
    remainders = [total * share % whole for share in shares]
    left = total - sum(parts)
    for index in sorted(range(len(shares)), key=lambda i: -remainders[i])[:left]:
        parts[index] += 1
    return parts


def ledger(
    contracts: Iterable[LedgerContract],
    deliveries: Iterable[LedgerDelivery],
    rate: Rate,
    grouping: Grouping,
    *,
    since: date | None = None,
    until: date | None = None,
) -> dict[str, Totals]:
    """The totals of each group (its key: "all", an organisation's id, "2026", "2026-Q3") of
    what happened from `since` to before `until`: contracts signed, deliveries whose reporting
    period ended. `contracts` holds every contract a delivery names (a delivery of a contract
    it lacks is not counted)."""
    return ledgers(contracts, deliveries, rate, (grouping,), since=since, until=until)[grouping]


def ledgers(
    contracts: Iterable[LedgerContract],
    deliveries: Iterable[LedgerDelivery],
    rate: Rate,
    groupings: Iterable[Grouping],
    *,
    since: date | None = None,
    until: date | None = None,
) -> dict[Grouping, dict[str, Totals]]:
    """`ledger` by each of `groupings`, in one pass over the rows. Each group's figures are
    added in the rows' order, as `ledger` alone adds them, so its Decimal sums are the same."""
    chosen = tuple(dict.fromkeys(groupings))
    found: dict[Grouping, dict[str, Totals]] = {g: {} for g in chosen}
    valued = _Rates(rate)
    keys = _Keys()
    members = found.get(Grouping.MEMBER)
    whole_counted = [g for g in chosen if g is not Grouping.MEMBER]
    by_id: dict[UUID, LedgerContract] = {}
    for contract in contracts:
        by_id[contract.contract_id] = contract
        day = contract.signed_on
        if (since is not None and day < since) or (until is not None and day >= until):
            continue
        if whole_counted:
            whole = _whole(contract)
            for counted in whole_counted:
                key = keys.contract(contract, counted)
                _add_contract(_totals(found[counted], key), whole, day, valued)
        if members is not None:
            for party, part in _party_parts(contract):
                _add_contract(_totals(members, str(party)), part, day, valued)
    for delivery in deliveries:
        owner = by_id.get(delivery.contract_id)
        day = delivery.on
        if owner is None or (since is not None and day < since):
            continue
        if until is not None and day >= until:
            continue
        measure, quantity = delivery.measure, delivery.quantity
        value = quantity * valued.on(measure, day)
        for grouping in chosen:
            key = keys.delivery(delivery, owner, grouping)
            item = _totals(found[grouping], key).measure(measure)
            item.delivered += quantity
            item.delivered_value += value
    return found


def member_years(
    contracts: Iterable[LedgerContract],
    deliveries: Iterable[LedgerDelivery],
    rate: Rate,
    member: UUID,
    *,
    since: date | None = None,
    until: date | None = None,
) -> tuple[Totals, dict[int, Totals]]:
    """One member's totals from `since` to before `until`, and the same by year (of signing,
    of a delivery's day), in one pass: what `ledger` by member gives for it over the window,
    and over each year's part of it."""
    key = str(member)
    whole, years = Totals(key), dict[int, Totals]()
    valued = _Rates(rate)

    def within(day: date) -> bool:
        return (since is None or day >= since) and (until is None or day < until)

    by_id: dict[UUID, LedgerContract] = {}
    for contract in contracts:
        by_id[contract.contract_id] = contract
        if not within(contract.signed_on):
            continue
        for party, part in _party_parts(contract):
            if str(party) == key:
                year = years.setdefault(contract.signed_on.year, Totals(key))
                for totals in (whole, year):
                    _add_contract(totals, part, contract.signed_on, valued)
    for delivery in deliveries:
        if delivery.contract_id not in by_id or not within(delivery.on):
            continue
        if str(delivery.reporter_id) == key:
            year = years.setdefault(delivery.on.year, Totals(key))
            value = delivery.quantity * valued.on(delivery.measure, delivery.on)
            for totals in (whole, year):
                item = totals.measure(delivery.measure)
                item.delivered += delivery.quantity
                item.delivered_value += value
    return whole, years


class _Part(NamedTuple):
    """What of a contract one group counts: the whole, or a party's share of each figure."""

    currency: str
    value_minor: int
    estimated_minor: int | None
    awarded_minor: int
    committed: Sequence[tuple[str, int]]  # (measure, quantity)


def _whole(contract: LedgerContract) -> _Part:
    return _Part(
        contract.currency,
        contract.value_minor,
        contract.estimated_minor,
        contract.awarded_minor,
        tuple(contract.committed.items()),
    )


def _party_parts(contract: LedgerContract) -> list[tuple[UUID, _Part]]:
    """Each party's part of the contract, each figure split once for all the parties."""
    parties = contract.parties
    if len(parties) == 1 and parties[0][1] > 0:  # what split gives a sole party: the whole
        return [(parties[0][0], _whole(contract))]
    shares = [share for _, share in parties]
    values = split(contract.value_minor, shares)
    estimated: list[int | None]
    if contract.estimated_minor is None:
        estimated, awarded = [None] * len(shares), [0] * len(shares)
    else:
        estimated = list(split(contract.estimated_minor, shares))
        awarded = split(contract.awarded_minor, shares)
    committed = [(measure, split(q, shares)) for measure, q in contract.committed.items()]
    return [
        (
            organisation,
            _Part(
                contract.currency,
                values[i],
                estimated[i],
                awarded[i],
                tuple((measure, parts[i]) for measure, parts in committed),
            ),
        )
        for i, (organisation, _) in enumerate(parties)
    ]


def _totals(groups: dict[str, Totals], key: str) -> Totals:
    found = groups.get(key)
    if found is None:
        found = groups[key] = Totals(key)
    return found


class _Rates:
    """`rate`, asked once a measure and day."""

    def __init__(self, rate: Rate) -> None:
        self.rate = rate
        self.known: dict[tuple[str, date], Decimal] = {}

    def on(self, measure: str, day: date) -> Decimal:
        found = self.known.get((measure, day))
        if found is None:
            found = self.known[measure, day] = self.rate(measure, day)
        return found


class _Keys:
    """Groups' keys, each day's quarter written once."""

    def __init__(self) -> None:
        self.quarters: dict[date, str] = {}

    def period(self, day: date, grouping: Grouping) -> str:
        if grouping is Grouping.YEAR:
            return str(day.year)
        found = self.quarters.get(day)
        if found is None:
            found = self.quarters[day] = quarter_of(day)
        return found

    def contract(self, contract: LedgerContract, grouping: Grouping) -> str:
        if grouping is Grouping.BUYER:
            return str(contract.buyer_id)
        if grouping is Grouping.YEAR or grouping is Grouping.QUARTER:
            return self.period(contract.signed_on, grouping)
        return "all"

    def delivery(
        self, delivery: LedgerDelivery, contract: LedgerContract, grouping: Grouping
    ) -> str:
        if grouping is Grouping.MEMBER:
            return str(delivery.reporter_id)
        if grouping is Grouping.BUYER:
            return str(contract.buyer_id)
        if grouping is Grouping.YEAR or grouping is Grouping.QUARTER:
            return self.period(delivery.on, grouping)
        return "all"


def _add_contract(totals: Totals, part: _Part, day: date, valued: _Rates) -> None:
    totals.contracts += 1
    money = totals.money_in(part.currency)
    money.value_won_minor += part.value_minor
    if part.estimated_minor is not None:
        money.estimated_minor += part.estimated_minor
        money.awarded_minor += part.awarded_minor
    for measure, quantity in part.committed:
        item = totals.measure(measure)
        item.committed += quantity
        item.committed_value += quantity * valued.on(measure, day)


# --- By period, from sums -----------------------------------------------------------------------
# The association's, a year's and a quarter's totals split no consortium: they can be added up
# from the ledger summed by day (in SQL) rather than row by row. Social value is then a day's
# quantity times the day's rate, in whole ten-thousandths of a penny (a rate has at most four
# decimal places), exact.

PERIODS = frozenset({Grouping.ASSOCIATION, Grouping.YEAR, Grouping.QUARTER})
_PLACES = 4  # a rate's decimal places at most (marketplace.impact.proxies)
# The row-by-row ledger adds Decimals at 28 digits: below this its sums are exact, so equal to
# these; at or above it they round, and only that ledger gives its answer.
_EXACT_BELOW = 10**28


class SignedOn(NamedTuple):
    """The contracts signed on a day in a currency, summed."""

    on: date
    currency: str
    contracts: int
    value_minor: int
    estimated_minor: int  # of those with an estimate
    awarded_minor: int  # of those with an estimate


class MeasuredOn(NamedTuple):
    """A measure's quantity committed (by the contracts signed) or delivered on a day."""

    on: date
    measure: str
    quantity: int


def period_ledgers(
    signed: Iterable[SignedOn],
    committed: Iterable[MeasuredOn],
    delivered: Iterable[MeasuredOn],
    rate: Rate,
    groupings: Iterable[Grouping],
    *,
    since: date | None = None,
    until: date | None = None,
) -> dict[Grouping, dict[str, Totals]] | None:
    """What `ledgers` gives by these groupings (each of PERIODS) for the same ledger summed by
    day (a delivery's day is its period's last, as LedgerDelivery's); None where the
    row-by-row ledger's Decimal sums could round (past 10**28 ten-thousandths of a penny in a
    group: forged figures), or a rate has more than four decimal places."""
    chosen = tuple(dict.fromkeys(groupings))
    if not PERIODS.issuperset(chosen):
        raise ValueError(f"not a period: {set(chosen) - PERIODS}")
    found: dict[Grouping, dict[str, Totals]] = {g: {} for g in chosen}
    keys = _Keys()
    scaled_rates: dict[tuple[str, date], int] = {}
    # (grouping, key, measure) -> [committed, delivered] value, in 10**-4 pence
    values: dict[tuple[Grouping, str, str], list[int]] = {}

    def within(day: date) -> bool:
        return (since is None or day >= since) and (until is None or day < until)

    def key_of(grouping: Grouping, day: date) -> str:
        return "all" if grouping is Grouping.ASSOCIATION else keys.period(day, grouping)

    for row in signed:
        if not within(row.on):
            continue
        for grouping in chosen:
            totals = _totals(found[grouping], key_of(grouping, row.on))
            totals.contracts += row.contracts
            money = totals.money_in(row.currency)
            money.value_won_minor += row.value_minor
            money.estimated_minor += row.estimated_minor
            money.awarded_minor += row.awarded_minor
    for side, rows in enumerate((committed, delivered)):
        for measure, day, quantity in ((r.measure, r.on, r.quantity) for r in rows):
            if not within(day):
                continue
            scaled = scaled_rates.get((measure, day))
            if scaled is None:
                scaled = scaled_rates[measure, day] = _scaled(rate(measure, day))
                if scaled < 0:
                    return None
            for grouping in chosen:
                key = key_of(grouping, day)
                item = _totals(found[grouping], key).measure(measure)
                if side == 0:
                    item.committed += quantity
                else:
                    item.delivered += quantity
                values.setdefault((grouping, key, measure), [0, 0])[side] += quantity * scaled
    spent: dict[tuple[Grouping, str], list[int]] = {}
    for (grouping, key, measure), (committed_value, delivered_value) in values.items():
        whole = spent.setdefault((grouping, key), [0, 0])
        whole[0] += committed_value
        whole[1] += delivered_value
        if max(whole) >= _EXACT_BELOW:
            return None
        item = found[grouping][key].measures[measure]
        item.committed_value = Decimal(committed_value).scaleb(-_PLACES)
        item.delivered_value = Decimal(delivered_value).scaleb(-_PLACES)
    return found


def _scaled(rate: Decimal) -> int:
    """The rate in 10**-4 pence; -1 if it has more places (or is negative: never, by the
    proxy table's rules)."""
    scaled = rate.scaleb(_PLACES)
    if rate < 0 or scaled != scaled.to_integral_value():
        return -1
    return int(scaled)
