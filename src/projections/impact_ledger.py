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
from uuid import UUID

# Pence per unit of a measure on a day (the proxy-value table in effect then).
Rate = Callable[[str, date], Decimal]


class Grouping(StrEnum):
    ASSOCIATION = "association"
    MEMBER = "member"
    BUYER = "buyer"
    YEAR = "year"
    QUARTER = "quarter"


@dataclass(frozen=True)
class LedgerContract:
    contract_id: UUID
    buyer_id: UUID
    currency: str
    awarded_minor: int  # as signed
    value_minor: int  # as it stands (amendments applied)
    estimated_minor: int | None  # its lot's estimate, in its currency
    signed_on: date
    parties: tuple[tuple[UUID, int], ...]  # (organisation, share percent)
    committed: Mapping[str, int]  # measure -> quantity


@dataclass(frozen=True)
class LedgerDelivery:
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

    def money_in(self, currency: str) -> MoneyTotals:
        return self.money.setdefault(currency, MoneyTotals(currency))

    def measure(self, name: str) -> MeasureTotals:
        return self.measures.setdefault(name, MeasureTotals(name))

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
    found: dict[str, Totals] = {}

    def within(day: date) -> bool:
        return (since is None or day >= since) and (until is None or day < until)

    def totals(key: str) -> Totals:
        return found.setdefault(key, Totals(key))

    by_id: dict[UUID, LedgerContract] = {}
    for contract in contracts:
        by_id[contract.contract_id] = contract
        if within(contract.signed_on):
            for key, share in _contract_keys(contract, grouping):
                _add_contract(totals(key), contract, share, rate)
    for delivery in deliveries:
        owner = by_id.get(delivery.contract_id)
        if owner is None or not within(delivery.on):
            continue
        item = totals(_delivery_key(delivery, owner, grouping)).measure(delivery.measure)
        item.delivered += delivery.quantity
        item.delivered_value += delivery.quantity * rate(delivery.measure, delivery.on)
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

    def within(day: date) -> bool:
        return (since is None or day >= since) and (until is None or day < until)

    by_id: dict[UUID, LedgerContract] = {}
    for contract in contracts:
        by_id[contract.contract_id] = contract
        if not within(contract.signed_on):
            continue
        for party, share in _contract_keys(contract, Grouping.MEMBER):
            if party == key:
                year = years.setdefault(contract.signed_on.year, Totals(key))
                for totals in (whole, year):
                    _add_contract(totals, contract, share, rate)
    for delivery in deliveries:
        if delivery.contract_id not in by_id or not within(delivery.on):
            continue
        if str(delivery.reporter_id) == key:
            year = years.setdefault(delivery.on.year, Totals(key))
            value = delivery.quantity * rate(delivery.measure, delivery.on)
            for totals in (whole, year):
                item = totals.measure(delivery.measure)
                item.delivered += delivery.quantity
                item.delivered_value += value
    return whole, years


_Share = tuple[int, tuple[int, ...]] | None  # (this party's place, every share), None: whole


def _contract_keys(contract: LedgerContract, grouping: Grouping) -> list[tuple[str, _Share]]:
    if grouping is Grouping.MEMBER:
        shares = tuple(share for _, share in contract.parties)
        return [(str(o), (i, shares)) for i, (o, _) in enumerate(contract.parties)]
    if grouping is Grouping.BUYER:
        return [(str(contract.buyer_id), None)]
    if grouping is Grouping.YEAR:
        return [(str(contract.signed_on.year), None)]
    if grouping is Grouping.QUARTER:
        return [(quarter_of(contract.signed_on), None)]
    return [("all", None)]


def _part(total: int, share: _Share) -> int:
    if share is None:
        return total
    place, shares = share
    return split(total, shares)[place]


def _add_contract(totals: Totals, contract: LedgerContract, share: _Share, rate: Rate) -> None:
    totals.contracts += 1
    money = totals.money_in(contract.currency)
    money.value_won_minor += _part(contract.value_minor, share)
    if contract.estimated_minor is not None:
        money.estimated_minor += _part(contract.estimated_minor, share)
        money.awarded_minor += _part(contract.awarded_minor, share)
    for measure, quantity in contract.committed.items():
        item = totals.measure(measure)
        part = _part(quantity, share)
        item.committed += part
        item.committed_value += part * rate(measure, contract.signed_on)


def _delivery_key(delivery: LedgerDelivery, contract: LedgerContract, grouping: Grouping) -> str:
    if grouping is Grouping.MEMBER:
        return str(delivery.reporter_id)
    if grouping is Grouping.BUYER:
        return str(contract.buyer_id)
    if grouping is Grouping.YEAR:
        return str(delivery.on.year)
    if grouping is Grouping.QUARTER:
        return quarter_of(delivery.on)
    return "all"
