"""A contract signed for one awarded lot of a tender (Procurement Act 2023), and the delivery of
the winning bid's social-value commitments against it. Pure domain code.

active -> completed | terminated, each with its reason. While active the buyer amends the value
or the period, each amendment with why; the currency never changes.

Delivery: a party of the contract (the supplier, or any partner of a consortium) reports per
period what it delivered against each commitment; the buyer confirms or rejects each report.
Only confirmed figures count as delivered; a supplier never confirms its own delivery. Reports'
periods do not overlap, except a rejected report's, whose period is free for a corrected one.
A report is made while the contract is active or completed (a last report after completion),
and after termination only for a period ending by the termination's effective time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar
from uuid import NAMESPACE_URL, UUID, uuid5

from marketplace.bids.content import MAX_PARTNERS, MAX_QUANTITY, Commitment, is_whole_number
from marketplace.tender_terms import MAX_VALUE_MINOR, Period
from sharedkernel.errors import Conflict, InvalidValue, NotFound
from sharedkernel.events import Context, TradehallAggregate
from sharedkernel.money import Money
from sharedkernel.text import domain_text

_NAMESPACE = uuid5(NAMESPACE_URL, "https://tradehall.invalid/contract")
MAX_PARTIES = MAX_PARTNERS + 1  # a consortium's lead and its partners
MAX_REASON = 4000  # as the API's `Reason`
MAX_NOTE = 4000
MAX_REPORTS = 500  # rejected ones included: an aggregate stays a bounded size
# An aggregate, and the OCDS record that lists them, stay a bounded size.
MAX_AMENDMENTS = 50

REPORTED = "reported"
CONFIRMED = "confirmed"
REJECTED = "rejected"


def contract_id_for(tender_id: UUID, lot_id: str) -> UUID:
    """One contract per lot of a tender: signing twice names the same contract."""
    return uuid5(_NAMESPACE, f"{tender_id}:{lot_id}")


class ContractStatus(StrEnum):
    ACTIVE = "active"
    COMPLETED = "completed"
    TERMINATED = "terminated"


@dataclass(frozen=True)
class Party:
    """A supplier party to the contract and its whole-percentage share (a single supplier: 100)."""

    organisation_id: UUID
    share_percent: int

    def as_data(self) -> dict[str, Any]:
        return {"organisation_id": str(self.organisation_id), "share_percent": self.share_percent}

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Party:
        return cls(UUID(str(data["organisation_id"])), int(data["share_percent"]))


@dataclass(frozen=True)
class Delivered:
    """How much of one committed measure was delivered in a report's period (the measure's
    unit is the commitment's)."""

    measure: str
    quantity: int

    def as_data(self) -> dict[str, Any]:
        return {"measure": self.measure, "quantity": self.quantity}

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Delivered:
        return cls(str(data["measure"]), int(data["quantity"]))


@dataclass(frozen=True)
class DeliveryReport:
    id: UUID
    reporter_id: UUID  # the party organisation that reported
    period: Period
    delivered: tuple[Delivered, ...]
    note: str
    status: str  # "reported" | "confirmed" | "rejected"
    decision_reason: str | None  # a rejection's reason


@dataclass(frozen=True)
class Amendment:
    """One amendment: when, what changed (the new value and/or period), and why."""

    at: datetime
    changed: tuple[str, ...]  # "value", "period"
    value: Money | None
    period: Period | None
    reason: str


class _Ended(TradehallAggregate.Event):
    """How a contract ends (`Contract.Completed`, `Contract.Terminated`): alike but for the
    status it ends in. Not an event itself: each ending keeps its own topic."""

    reason: str
    ends_as: ClassVar[ContractStatus]

    def apply(self, aggregate: Contract) -> None:
        aggregate.status = self.ends_as
        aggregate.ended_at = self.effective_at
        aggregate.end_reason = self.reason


class Contract(TradehallAggregate):
    class Signed(TradehallAggregate.Created):
        tender_id: UUID
        lot_id: str
        bid_id: UUID
        buyer_id: UUID  # the buyer organisation
        value_minor: int
        currency: str
        period: dict[str, Any]
        parties: list[dict[str, Any]]
        commitments: list[dict[str, Any]]

    class Amended(TradehallAggregate.Event):
        value_minor: int | None  # None: unchanged
        period: dict[str, Any] | None  # None: unchanged
        reason: str

        def apply(self, aggregate: Contract) -> None:
            value = None
            if self.value_minor is not None:
                value = Money(aggregate.value.currency, self.value_minor)
                aggregate.value = value
            period = None
            if self.period is not None:
                period = Period.from_data(self.period)
                aggregate.period = period
            changed = tuple(
                name for name, new in (("value", value), ("period", period)) if new is not None
            )
            aggregate._amendments.append(
                Amendment(self.timestamp, changed, value, period, self.reason)
            )

    class Completed(_Ended):
        ends_as = ContractStatus.COMPLETED

    class Terminated(_Ended):
        ends_as = ContractStatus.TERMINATED

    class DeliveryReported(TradehallAggregate.Event):
        report_id: UUID
        reporter_id: UUID
        period: dict[str, Any]
        delivered: list[dict[str, Any]]
        note: str

        def apply(self, aggregate: Contract) -> None:
            aggregate._reports[self.report_id] = DeliveryReport(
                id=self.report_id,
                reporter_id=self.reporter_id,
                period=Period.from_data(self.period),
                delivered=tuple(Delivered.from_data(d) for d in self.delivered),
                note=self.note,
                status=REPORTED,
                decision_reason=None,
            )

    class DeliveryConfirmed(TradehallAggregate.Event):
        report_id: UUID

        def apply(self, aggregate: Contract) -> None:
            report = aggregate._reports[self.report_id]
            aggregate._reports[self.report_id] = replace(report, status=CONFIRMED)

    class DeliveryRejected(TradehallAggregate.Event):
        report_id: UUID
        reason: str

        def apply(self, aggregate: Contract) -> None:
            report = aggregate._reports[self.report_id]
            aggregate._reports[self.report_id] = replace(
                report, status=REJECTED, decision_reason=self.reason
            )

    def __init__(
        self,
        tender_id: UUID,
        lot_id: str,
        bid_id: UUID,
        buyer_id: UUID,
        value_minor: int,
        currency: str,
        period: dict[str, Any],
        parties: list[dict[str, Any]],
        commitments: list[dict[str, Any]],
    ) -> None:
        self.tender_id = tender_id
        self.lot_id = lot_id
        self.bid_id = bid_id
        self.buyer_id = buyer_id
        self.value = Money(currency, value_minor)
        self.period = Period.from_data(period)
        self.parties = tuple(Party.from_data(p) for p in parties)
        self.commitments = tuple(Commitment.from_data(c) for c in commitments)
        self.status = ContractStatus.ACTIVE
        self.ended_at: datetime | None = None  # the completion's or termination's effective time
        self.end_reason: str | None = None
        self._amendments: list[Amendment] = []
        self._reports: dict[UUID, DeliveryReport] = {}

    @classmethod
    def sign(
        cls,
        context: Context,
        *,
        tender_id: UUID,
        lot_id: str,
        bid_id: UUID,
        buyer_id: UUID,
        value: Money,
        period: Period,
        parties: Sequence[Party],
        commitments: Sequence[Commitment],
    ) -> Contract:
        """The contract for an awarded lot, with the winning bid's supplier (or consortium, each
        partner with its share) and its social-value commitments. Whether the lot is awarded
        and its standstill over is the caller's to check."""
        _check_value(value)
        _check_period(period, "period")
        checked = _check_parties(parties, buyer_id)
        measures = [c.measure for c in commitments]
        if len(set(measures)) != len(measures):
            raise InvalidValue("commitments", "each measure once")
        return cls._create(
            cls.Signed,
            id=contract_id_for(tender_id, lot_id),
            tender_id=tender_id,
            lot_id=lot_id,
            bid_id=bid_id,
            buyer_id=buyer_id,
            value_minor=value.minor,
            currency=value.currency,
            period=period.as_data(),
            parties=[p.as_data() for p in checked],
            commitments=[c.as_data() for c in commitments],
            **context.event_kwargs(),
        )

    # Reads -----------------------------------------------------------------------------------

    @property
    def signed_at(self) -> datetime:
        return self.created_on

    @property
    def amendments(self) -> tuple[Amendment, ...]:
        return tuple(self._amendments)

    @property
    def reports(self) -> tuple[DeliveryReport, ...]:
        """Every delivery report, in the order reported (rejected ones too)."""
        return tuple(self._reports.values())

    def report(self, report_id: UUID) -> DeliveryReport:
        found = self._reports.get(report_id)
        if found is None:
            raise NotFound(f"no delivery report {report_id} on this contract")
        return found

    def is_party(self, organisation_id: UUID) -> bool:
        return any(p.organisation_id == organisation_id for p in self.parties)

    def committed(self) -> dict[str, int]:
        """Measure -> quantity committed by the winning bid."""
        return {c.measure: c.quantity for c in self.commitments}

    def delivered(self) -> dict[str, int]:
        """Measure -> quantity delivered: confirmed reports only. Every committed measure is a
        key (0 when nothing is confirmed yet)."""
        return self._summed(CONFIRMED)

    def pending(self) -> dict[str, int]:
        """Measure -> quantity reported and awaiting the buyer's confirmation. Every committed
        measure is a key."""
        return self._summed(REPORTED)

    def _summed(self, status: str) -> dict[str, int]:
        totals = dict.fromkeys(self.committed(), 0)
        for report in self._reports.values():
            if report.status == status:
                for item in report.delivered:
                    totals[item.measure] = totals.get(item.measure, 0) + item.quantity
        return totals

    # The buyer: the contract's terms ----------------------------------------------------------

    def amend(
        self, context: Context, *, value: Money | None, period: Period | None, reason: str
    ) -> None:
        """A new value and/or period, with why. What is given equal to the current terms is
        not recorded as changed; if nothing changes the amendment is refused."""
        self._require_active("amended")
        if len(self._amendments) >= MAX_AMENDMENTS:
            raise Conflict(f"a contract is amended at most {MAX_AMENDMENTS} times")
        why = domain_text(reason, "reason", MAX_REASON, required="say why the contract changes")
        new_value = None
        if value is not None:
            if value.currency != self.value.currency:
                raise InvalidValue("value", f"the contract stays in {self.value.currency}")
            _check_value(value)
            if value != self.value:
                new_value = value
        new_period = None
        if period is not None:
            _check_period(period, "period")
            if period != self.period:
                new_period = period
        if new_value is None and new_period is None:
            raise InvalidValue("amendment", "the amendment changes nothing")
        if new_period is not None:
            # Delivery is reported within the period (report_delivery): a report that stands
            # keeps the period from moving off it, at either end.
            standing = self._standing_reports()
            if any(r.period.start < new_period.start for r in standing):
                raise InvalidValue(
                    "period.start", "delivery is already reported from before the new start"
                )
            if any(r.period.end > new_period.end for r in standing):
                raise InvalidValue(
                    "period.end", "delivery is already reported up to after the new end"
                )
        self.trigger_event(
            self.Amended,
            value_minor=None if new_value is None else new_value.minor,
            period=None if new_period is None else new_period.as_data(),
            reason=why,
            **context.event_kwargs(),
        )

    def complete(self, context: Context, reason: str) -> None:
        self._end(context, self.Completed, reason, "say why (e.g. delivered in full)")

    def terminate(self, context: Context, reason: str) -> None:
        self._end(context, self.Terminated, reason, "say why the contract ends")

    def _end(self, context: Context, ending: type[_Ended], reason: str, required: str) -> None:
        self._require_active(ending.ends_as.value)
        why = domain_text(reason, "reason", MAX_REASON, required=required)
        self.trigger_event(ending, reason=why, **context.event_kwargs())

    def _require_active(self, action: str) -> None:
        if self.status is not ContractStatus.ACTIVE:
            raise Conflict(f"a {self.status} contract is not {action}")

    # Delivery --------------------------------------------------------------------------------

    def report_delivery(
        self,
        context: Context,
        *,
        report_id: UUID,
        by_organisation: UUID,
        period: Period,
        delivered: Sequence[Delivered],
        note: str,
    ) -> None:
        """A party's report of what it delivered against the commitments in a past period."""
        if not self.is_party(by_organisation):
            raise Conflict("only the supplier (a party to the contract) reports delivery")
        if report_id in self._reports:
            raise Conflict(f"delivery report {report_id} is already made")
        if len(self._reports) >= MAX_REPORTS:
            raise Conflict(f"a contract holds at most {MAX_REPORTS} delivery reports")
        _check_period(period, "period")
        if period.start < self.period.start:
            raise InvalidValue("period.start", "delivery is reported from the contract's start")
        if period.end > context.at:
            raise InvalidValue("period.end", "delivery is reported for a period already ended")
        if period.end > self.period.end:
            raise InvalidValue("period.end", "delivery is reported within the contract's period")
        if self.ended_at is not None and period.end > self.ended_at:
            raise Conflict(
                f"the contract is {self.status}: delivery is reported only up to its end"
            )
        items = self._check_delivered(delivered)
        clash = next((r for r in self._standing_reports() if _overlap(r.period, period)), None)
        if clash is not None:
            raise Conflict(f"the period overlaps that of delivery report {clash.id}")
        text = domain_text(note, "note", MAX_NOTE, required=None)
        self.trigger_event(
            self.DeliveryReported,
            report_id=report_id,
            reporter_id=by_organisation,
            period=period.as_data(),
            delivered=[d.as_data() for d in items],
            note=text,
            **context.event_kwargs(),
        )

    def repeats(
        self,
        report_id: UUID,
        *,
        by_organisation: UUID,
        period: Period,
        delivered: Sequence[Delivered],
        note: str,
    ) -> bool:
        """Whether this is the report already made under this id, as it was recorded (a
        retried request): the same reporter, period, figures and note."""
        made = self._reports.get(report_id)
        if made is None:
            return False
        try:
            text = domain_text(note, "note", MAX_NOTE, required=None)
        except InvalidValue:
            return False
        given = (by_organisation, period, tuple(delivered), text)
        return (made.reporter_id, made.period, made.delivered, made.note) == given

    def confirm_delivery(self, context: Context, *, report_id: UUID, by_organisation: UUID) -> None:
        """The buyer confirms a report: its figures count as delivered."""
        self._require_buyer(by_organisation, "confirms")
        self._require_reported(report_id)
        self.trigger_event(self.DeliveryConfirmed, report_id=report_id, **context.event_kwargs())

    def reject_delivery(
        self, context: Context, *, report_id: UUID, by_organisation: UUID, reason: str
    ) -> None:
        """The buyer rejects a report, with why; its period is free for a corrected report."""
        self._require_buyer(by_organisation, "rejects")
        self._require_reported(report_id)
        why = domain_text(reason, "reason", MAX_REASON, required="say why the report is rejected")
        self.trigger_event(
            self.DeliveryRejected, report_id=report_id, reason=why, **context.event_kwargs()
        )

    def _require_buyer(self, organisation_id: UUID, action: str) -> None:
        if self.is_party(organisation_id):
            raise Conflict(f"a supplier never {action} its own delivery: the buyer does")
        if organisation_id != self.buyer_id:
            raise Conflict(f"only the contract's buyer {action} delivery")

    def _require_reported(self, report_id: UUID) -> None:
        found = self.report(report_id)
        if found.status != REPORTED:
            raise Conflict(f"delivery report {report_id} is already {found.status}")

    def _standing_reports(self) -> list[DeliveryReport]:
        """The reports whose periods are taken: all but the rejected."""
        return [r for r in self._reports.values() if r.status != REJECTED]

    def _check_delivered(self, delivered: Sequence[Delivered]) -> tuple[Delivered, ...]:
        if not delivered:
            raise InvalidValue("delivered", "report at least one committed measure")
        committed = self.committed()
        seen: set[str] = set()
        for i, item in enumerate(delivered):
            at = f"delivered[{i}]"
            if item.measure not in committed:
                known = ", ".join(sorted(committed)) or "none"
                raise InvalidValue(f"{at}.measure", f"one of the contract's commitments: {known}")
            if item.measure in seen:
                raise InvalidValue(f"{at}.measure", "each measure once a report")
            seen.add(item.measure)
            if not is_whole_number(item.quantity) or not 0 <= item.quantity <= MAX_QUANTITY:
                raise InvalidValue(f"{at}.quantity", f"a whole number from 0 to {MAX_QUANTITY}")
        return tuple(delivered)


# Checks -------------------------------------------------------------------------------------


def _check_value(value: Money) -> None:
    if not is_whole_number(value.minor) or not 0 < value.minor <= MAX_VALUE_MINOR:
        raise InvalidValue("value", f"a whole number of minor units, 1 to {MAX_VALUE_MINOR}")


def _check_period(period: Period, field: str) -> None:
    if period.end <= period.start:
        raise InvalidValue(f"{field}.end", "a period ends after it starts")


def _check_parties(parties: Sequence[Party], buyer_id: UUID) -> tuple[Party, ...]:
    if not 1 <= len(parties) <= MAX_PARTIES:
        raise InvalidValue("parties", f"1 to {MAX_PARTIES} supplier organisations")
    ids = [p.organisation_id for p in parties]
    if len(set(ids)) != len(ids):
        raise InvalidValue("parties", "each organisation once")
    if buyer_id in ids:
        raise InvalidValue("parties", "the buyer is not a supplier party to its own contract")
    for i, party in enumerate(parties):
        if not is_whole_number(party.share_percent) or not 1 <= party.share_percent <= 100:
            raise InvalidValue(f"parties[{i}].share_percent", "a whole percentage from 1 to 100")
    total = sum(p.share_percent for p in parties)
    if total != 100:
        raise InvalidValue("parties", f"the shares sum to 100, not {total}")
    return tuple(parties)


def _overlap(a: Period, b: Period) -> bool:
    """Half-open periods: one ending as the next starts does not overlap it."""
    return a.start < b.end and b.start < a.end
