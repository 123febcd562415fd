"""A member's life after admission: tier, dues ledger, paid-up-until, standing.

A mixin of the `Organisation` aggregate (its events are the organisation's), kept apart so the
aggregate module stays readable. Pure Python: every time comes from the command's Context.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from membership.card_subscription import CardSubscription, CardSubscriptionStatus
from membership.dues import DUES_CURRENCY, DuesBand, upcast_band_v1_v2
from membership.standing import (
    ENDED,
    GOOD_STANDING,
    MEMBER,
    POLICY,
    MembershipStatus,
    add_months,
    due_transitions,
    paid_standing,
    renewal_opens,
    status_at,
)
from sharedkernel.errors import Conflict, InvalidValue
from sharedkernel.events import Context, TradehallAggregate
from sharedkernel.moments import plausible_moment
from sharedkernel.money import Money

if TYPE_CHECKING:
    from collections.abc import Callable

PAYMENT_METHODS = frozenset({"stripe", "bank_transfer", "cheque", "cash", "other"})


# A refund the processor later said failed or was cancelled stays in the ledger, and this line
# beside it says the money stayed with us (ADR 11): the two net to nothing.
REFUND_REVERSAL = "refund_reversal"

# What each kind of entry does to what the member owes: an invoice and a refund add to it; a
# payment, a credit note and a refund's reversal take from it.
_OWED_SIGN = {"invoice": 1, "refund": 1, "payment": -1, "credit_note": -1, REFUND_REVERSAL: -1}


@dataclass(frozen=True)
class LedgerEntry:
    kind: str  # invoice, payment, refund, refund_reversal, credit_note
    entry_id: str
    at: datetime
    amount: Money  # always positive: the kind says which way it moves the balance
    reference: str
    period_start: datetime | None = None
    period_end: datetime | None = None
    # A refund_reversal: the entry id of the refund it reverses.
    reverses: str | None = None

    @property
    def owed_minor(self) -> int:
        """What the entry adds to what the member owes (negative: what it takes off)."""
        return _OWED_SIGN[self.kind] * self.amount.minor


# The most a turnover may be, in minor units: what the API takes (its schema's bound), and so
# what an import or the command line may record.
MAX_TURNOVER_MINOR = 10**13


def check_turnover(turnover: Money) -> None:
    if turnover.currency != DUES_CURRENCY:
        raise InvalidValue("annual_turnover.currency", f"declare turnover in {DUES_CURRENCY}")
    if turnover.minor < 0:
        raise InvalidValue("annual_turnover.amount_minor", "turnover cannot be negative")
    if turnover.minor > MAX_TURNOVER_MINOR:
        raise InvalidValue(
            "annual_turnover.amount_minor", f"turnover is at most {MAX_TURNOVER_MINOR} pence"
        )


def _same_band(band: DuesBand, tier: DuesBand | None) -> bool:
    return tier is not None and (band.code, band.annual_due) == (tier.code, tier.annual_due)


def _money(event: Any) -> Money:
    return Money(event.currency, event.amount_minor)


class MembershipLifecycle:
    """State and commands of an admitted member. Mixed into `Organisation`."""

    membership_status: MembershipStatus
    # When the organisation registered (its registration's effective time).
    exists_from: datetime
    trigger_event: Callable[..., None]
    # The organisation's admission event (the aggregate in domain.py defines it).
    MembershipAdmitted: type[TradehallAggregate.Event]

    class TurnoverDeclared(TradehallAggregate.Event):
        turnover_minor: int
        currency: str

        def apply(self, aggregate: MembershipLifecycle) -> None:
            aggregate.declared_turnover = Money(self.currency, self.turnover_minor)

    class TierAssigned(TradehallAggregate.Event):
        # Version 2 names the band's price reference in the domain's words (see dues.py).
        class_version = 2
        upcast_v1_v2 = staticmethod(upcast_band_v1_v2)

        code: str
        name: str
        annual_due_minor: int
        currency: str
        price_reference: str
        applies_from: datetime

        def apply(self, aggregate: MembershipLifecycle) -> None:
            aggregate.tier = DuesBand(
                self.code,
                self.name,
                None,
                Money(self.currency, self.annual_due_minor),
                self.price_reference,
            )

    class DuesInvoiced(TradehallAggregate.Event):
        invoice_id: str
        amount_minor: int
        currency: str
        period_start: datetime
        period_end: datetime
        tier: str

        def apply(self, aggregate: MembershipLifecycle) -> None:
            aggregate.ledger.append(
                LedgerEntry(
                    "invoice",
                    self.invoice_id,
                    self.effective_at,
                    _money(self),
                    f"dues {self.tier}",
                    self.period_start,
                    self.period_end,
                )
            )

    class PaymentRecorded(TradehallAggregate.Event):
        payment_id: str
        amount_minor: int
        currency: str
        method: str
        reference: str
        # A processor that knows the period paid for (Stripe's invoice) says so.
        covers_until: datetime | None

        def apply(self, aggregate: MembershipLifecycle) -> None:
            aggregate.ledger.append(
                LedgerEntry(
                    "payment", self.payment_id, self.effective_at, _money(self), self.reference
                )
            )
            if self.covers_until is not None:
                aggregate.covered_until = max(
                    filter(None, [aggregate.covered_until, self.covers_until])
                )

    class PaymentProcessorLinked(TradehallAggregate.Event):
        """The member pays by subscription with a processor (Stripe): its customer and
        subscription ids, so later events about them find this organisation."""

        processor: str
        customer_id: str
        subscription_id: str | None

        def apply(self, aggregate: MembershipLifecycle) -> None:
            aggregate.processor_customer_id = self.customer_id
            aggregate.processor_subscription_id = self.subscription_id

    class SubscriptionChanged(TradehallAggregate.Event):
        """The card subscription changed state (renewed, past due, cancelled, ended)."""

        subscription_id: str
        # A CardSubscriptionStatus; events recorded before it hold Stripe's words ("canceled").
        status: str
        cancel_at_period_end: bool

        def apply(self, aggregate: MembershipLifecycle) -> None:
            # Kept per subscription: a late word about an earlier (or a stray) subscription
            # says nothing of the one the member pays by now.
            aggregate.card_subscription_statuses[self.subscription_id] = (
                CardSubscriptionStatus.read(self.status)
            )

    class PaymentFailed(TradehallAggregate.Event):
        """A collection failed. A notice goes out; standing does not change (it is retried)."""

        reference: str

    class RefundRecorded(TradehallAggregate.Event):
        refund_id: str
        amount_minor: int
        currency: str
        reference: str

        def apply(self, aggregate: MembershipLifecycle) -> None:
            aggregate.ledger.append(
                LedgerEntry(
                    "refund", self.refund_id, self.effective_at, _money(self), self.reference
                )
            )

    class CardRefundRecorded(RefundRecorded):
        """A processor (Stripe) returned money the member paid by card: the processor's refund
        id is the ledger entry's id, and `payment_id` the payment it returns money from (None
        when staff named only the organisation)."""

        payment_id: str | None

        def apply(self, aggregate: MembershipLifecycle) -> None:
            super().apply(aggregate)
            aggregate.card_refunds[self.refund_id] = self.payment_id

    class CardRefundReversed(TradehallAggregate.Event):
        """The processor says a refund failed or was cancelled (after it had succeeded, or
        before its success reached us): no money went back. The refund's ledger entry
        (`entry_id`, None when it was never recorded) stays, and a `refund_reversal` line of
        the same amount is added beside it (the accounts may have taken the refund already);
        the two net to nothing. The refund is never recorded afterwards (a late word that it
        succeeded is older news). Events stored before the line existed replay to it too."""

        refund_id: str
        entry_id: str | None
        amount_minor: int
        currency: str
        status: str  # the processor's word: failed, canceled

        def apply(self, aggregate: MembershipLifecycle) -> None:
            if self.entry_id is not None:
                aggregate.ledger.append(
                    LedgerEntry(
                        REFUND_REVERSAL,
                        f"rev_{self.entry_id}",
                        self.effective_at,
                        _money(self),
                        f"refund {self.entry_id} {self.status}",
                        reverses=self.entry_id,
                    )
                )
            aggregate.reversed_card_refunds.add(self.refund_id)

    class CreditNoteIssued(TradehallAggregate.Event):
        credit_id: str
        amount_minor: int
        currency: str
        reason: str

        def apply(self, aggregate: MembershipLifecycle) -> None:
            aggregate.ledger.append(
                LedgerEntry(
                    "credit_note", self.credit_id, self.effective_at, _money(self), self.reason
                )
            )

    class PaidUpUntilMoved(TradehallAggregate.Event):
        paid_up_until: datetime

        def apply(self, aggregate: MembershipLifecycle) -> None:
            if aggregate.first_paid_at is None:
                aggregate.first_paid_at = self.effective_at
            aggregate.paid_up_until = self.paid_up_until

    class RenewalDue(TradehallAggregate.Event):
        """The renewal window opened: notice, and the turnover declaration for the next period."""

        period_end: datetime

        def apply(self, aggregate: MembershipLifecycle) -> None:
            aggregate.renewal_noticed_for = self.period_end

    class StandingChanged(TradehallAggregate.Event):
        status: str
        cause: str

        def apply(self, aggregate: MembershipLifecycle) -> None:
            aggregate._stand(MembershipStatus(self.status), self.effective_at)

    class Suspended(TradehallAggregate.Event):
        reason: str

        def apply(self, aggregate: MembershipLifecycle) -> None:
            aggregate._stand(MembershipStatus.SUSPENDED, self.effective_at)
            aggregate.suspension_reason = self.reason

    class Reinstated(TradehallAggregate.Event):
        status: str

        def apply(self, aggregate: MembershipLifecycle) -> None:
            aggregate._stand(MembershipStatus(self.status), self.effective_at)
            aggregate.suspension_reason = None

    class ResignationGiven(TradehallAggregate.Event):
        resigns_at: datetime

        def apply(self, aggregate: MembershipLifecycle) -> None:
            aggregate.resignation_at = self.resigns_at

    class Expelled(TradehallAggregate.Event):
        reason: str

        def apply(self, aggregate: MembershipLifecycle) -> None:
            aggregate._stand(MembershipStatus.EXPELLED, self.effective_at)
            aggregate.expulsion_reason = self.reason

    def _init_lifecycle(self) -> None:
        self.declared_turnover: Money | None = None
        self.tier: DuesBand | None = None
        self.ledger: list[LedgerEntry] = []
        self.paid_up_until: datetime | None = None
        self.covered_until: datetime | None = None
        self.first_paid_at: datetime | None = None
        self.renewal_noticed_for: datetime | None = None
        self.standing_since: datetime | None = None
        self.suspension_reason: str | None = None
        self.expulsion_reason: str | None = None
        self.resignation_at: datetime | None = None
        self.processor_customer_id: str | None = None
        self.processor_subscription_id: str | None = None
        # Each subscription's last told state, by its id (events may come in any order).
        self.card_subscription_statuses: dict[str, CardSubscriptionStatus] = {}
        # The processor's refunds recorded, by refund id: the payment each returns money from.
        self.card_refunds: dict[str, str | None] = {}
        # The processor's refunds that failed or were cancelled (recorded or not): never recorded.
        self.reversed_card_refunds: set[str] = set()

    def _stand(self, status: MembershipStatus, since: datetime) -> None:
        """The membership's status moves, and from when the new one holds (the event's
        effective time)."""
        self.membership_status = status
        self.standing_since = since

    # Reads -----------------------------------------------------------------------------------

    @property
    def card_subscription(self) -> CardSubscription | None:
        """The subscription the member pays its dues by, if it pays by card."""
        if self.processor_subscription_id is None:
            return None
        subscription_id = self.processor_subscription_id
        status = self.card_subscription_statuses.get(subscription_id)
        return CardSubscription(subscription_id, status)

    @property
    def balance(self) -> Money:
        """What the member owes (positive) or holds in credit (negative)."""
        total = Money("GBP", 0)
        for entry in self.ledger:
            total = total + Money(entry.amount.currency, entry.owed_minor)
        return total

    def _invoices(self) -> list[LedgerEntry]:
        return [entry for entry in self.ledger if entry.kind == "invoice"]

    def _refunds_kept(self) -> list[LedgerEntry]:
        """The refunds that returned money: not those the processor reversed (they stay in the
        ledger, beside their reversal line)."""
        reversed_ids = {e.reverses for e in self.ledger if e.kind == REFUND_REVERSAL}
        return [e for e in self.ledger if e.kind == "refund" and e.entry_id not in reversed_ids]

    # Commands --------------------------------------------------------------------------------

    def _start_membership(self, context: Context, band: DuesBand, invoice_id: str) -> None:
        """Admission: the tier from the declared turnover, and the first year's invoice."""
        self._assign_tier_at(context, band, context.at)
        self._invoice_at(context, invoice_id, context.at)

    def declare_turnover(self, context: Context, turnover: Money) -> None:
        if self.membership_status not in MEMBER - {MembershipStatus.SUSPENDED}:
            raise Conflict(f"cannot declare turnover: the membership is {self.membership_status}")
        if self.paid_up_until is not None and context.at < renewal_opens(self.paid_up_until):
            raise Conflict(
                "turnover for the next period is declared in the renewal window, from "
                f"{renewal_opens(self.paid_up_until).date()}"
            )
        self._declare_turnover(context, turnover)

    def _declare_turnover(self, context: Context, turnover: Money) -> None:
        check_turnover(turnover)
        self.trigger_event(
            self.TurnoverDeclared,
            turnover_minor=turnover.minor,
            currency=turnover.currency,
            **context.event_kwargs(),
        )

    def record_payment(
        self,
        context: Context,
        payment_id: str,
        amount: Money,
        method: str,
        reference: str,
        covers_until: datetime | None = None,
    ) -> None:
        if self.membership_status not in MEMBER | ENDED:
            raise Conflict(f"no dues are owed: the membership is {self.membership_status}")
        if amount.minor <= 0:
            raise InvalidValue("amount", "a payment is a positive amount")
        self._require_dues_currency(amount)
        if method not in PAYMENT_METHODS:
            raise InvalidValue("method", f"one of {', '.join(sorted(PAYMENT_METHODS))}")
        if covers_until is not None:
            # A period no one could mean (a processor's 9999-12-31) overflows the standing's
            # arithmetic: refused as any such date is (ADR 17).
            covers_until = plausible_moment("covers_until", covers_until)
        if self._told_before(payment_id, amount, reference, "payment"):
            return  # the same payment told twice (a processor retrying): nothing more
        context = self._dated(context, "effective_date")
        self._invoice_processor_period(context, payment_id, amount, covers_until)
        self.trigger_event(
            self.PaymentRecorded,
            payment_id=payment_id,
            amount_minor=amount.minor,
            currency=amount.currency,
            method=method,
            reference=reference.strip(),
            covers_until=covers_until,
            **context.event_kwargs(),
        )
        self._settle(context)

    def _invoice_processor_period(
        self, context: Context, payment_id: str, amount: Money, covers_until: datetime | None
    ) -> None:
        """A processor charged for a period we have not invoiced yet (its renewal came before
        our clock did): invoice that period at what it charged, so the payment settles it
        rather than sitting as credit that would pay a later, unpaid year."""
        invoices = self._invoices()
        if covers_until is None or not invoices or self.tier is None:
            return
        invoiced_until = max(e.period_end for e in invoices if e.period_end)
        if covers_until <= invoiced_until:
            return
        self.trigger_event(
            self.DuesInvoiced,
            invoice_id=f"inv_{payment_id}",
            amount_minor=amount.minor,
            currency=amount.currency,
            period_start=invoiced_until,
            period_end=covers_until,
            tier=self.tier.code,
            **context.event_kwargs(),
        )

    def link_payment_processor(
        self, context: Context, processor: str, customer_id: str, subscription_id: str | None
    ) -> None:
        if (self.processor_customer_id, self.processor_subscription_id) == (
            customer_id,
            subscription_id,
        ):
            return
        running = self.card_subscription
        if running is not None and running.subscription_id != subscription_id and not running.ended:
            # Two checkouts finished (two tabs): both subscriptions collect; or a checkout
            # without one (a one-off payment). Replacing the running one here would leave it
            # collecting unseen (never cancelled when the member leaves); staff decide.
            raise Conflict(
                f"the member pays by subscription {running.subscription_id} already, which has "
                f"not ended: a checkout for {subscription_id or 'no subscription'} cannot "
                "replace it"
            )
        self.trigger_event(
            self.PaymentProcessorLinked,
            processor=processor,
            customer_id=customer_id,
            subscription_id=subscription_id,
            **context.event_kwargs(),
        )

    def record_subscription_change(
        self,
        context: Context,
        subscription_id: str,
        status: CardSubscriptionStatus,
        cancel_at_period_end: bool,
    ) -> None:
        if self.card_subscription_statuses.get(subscription_id) is CardSubscriptionStatus.CANCELLED:
            return  # a late update after the subscription ended changes nothing
        self.trigger_event(
            self.SubscriptionChanged,
            subscription_id=subscription_id,
            status=status.value,
            cancel_at_period_end=cancel_at_period_end,
            **context.event_kwargs(),
        )

    def record_payment_failure(self, context: Context, reference: str) -> None:
        self.trigger_event(self.PaymentFailed, reference=reference, **context.event_kwargs())

    def record_refund(
        self, context: Context, refund_id: str, amount: Money, reference: str
    ) -> None:
        if amount.minor <= 0:
            raise InvalidValue("amount", "a refund is a positive amount")
        self._require_dues_currency(amount)
        if self._told_before(refund_id, amount, reference, "refund"):
            return  # the same refund told twice (a retried request): nothing more
        context = self._dated(context, "effective_date")
        told = self._card_refund_named(refund_id, reference)
        if told is not None:
            if told.amount != amount:
                raise Conflict(
                    f"{told.entry_id} is recorded already from the processor as a refund of "
                    f"{told.amount}, not {amount}"
                )
            return  # the processor told us of this refund already: recorded once
        self._require_refundable(amount)
        self.trigger_event(
            self.RefundRecorded,
            refund_id=refund_id,
            amount_minor=amount.minor,
            currency=amount.currency,
            reference=reference.strip(),
            **context.event_kwargs(),
        )

    def record_card_refund(
        self,
        context: Context,
        refund_id: str,
        payment_id: str | None,
        amount: Money,
        reference: str,
    ) -> None:
        """A refund the processor made (in its own dashboard, or told back to us): recorded
        once by its id, and never again when staff recorded it already under that id (their
        Idempotency-Key, or its id in their reference). At most what the payment it returns
        money from brought in, less that payment's other refunds; at most what was paid."""
        if amount.minor <= 0:
            raise InvalidValue("amount", "a refund is a positive amount")
        self._require_dues_currency(amount)
        if refund_id in self.reversed_card_refunds:
            return  # the processor said it failed: a late word that it succeeded is older news
        told = next((e for e in self.ledger if e.entry_id == refund_id), None)
        if told is not None and refund_id in self.card_refunds:
            if told.amount != amount:
                raise Conflict(f"{refund_id} is recorded already as a refund of {told.amount}")
            return  # told again (another event about the same refund)
        recorded_by_staff = self._staff_refund_naming(refund_id)
        if recorded_by_staff is not None:
            if recorded_by_staff.amount != amount:
                raise Conflict(
                    f"staff recorded {refund_id} as {recorded_by_staff.entry_id} of "
                    f"{recorded_by_staff.amount}; the processor says {amount}"
                )
            return  # the refund staff recorded by hand, told back by the processor
        if told is not None:
            raise Conflict(f"{refund_id} is in the ledger already as a {told.kind}")
        if payment_id is not None:
            payment = next(
                (e for e in self.ledger if e.kind == "payment" and e.entry_id == payment_id),
                None,
            )
            if payment is None:
                raise Conflict(f"no payment {payment_id} is recorded for this organisation")
            if payment.amount.currency != amount.currency:
                raise InvalidValue(
                    "amount.currency", f"the payment was in {payment.amount.currency}"
                )
            returned = sum(
                e.amount.minor
                for e in self._refunds_kept()
                if self.card_refunds.get(e.entry_id) == payment_id
            )
            if returned + amount.minor > payment.amount.minor:
                raise Conflict(
                    f"cannot refund more than payment {payment_id} brought in "
                    f"({payment.amount}, {returned} returned already)"
                )
        self._require_refundable(amount)
        self.trigger_event(
            self.CardRefundRecorded,
            refund_id=refund_id,
            payment_id=payment_id,
            amount_minor=amount.minor,
            currency=amount.currency,
            reference=reference.strip(),
            **context.event_kwargs(),
        )

    def reverse_card_refund(
        self, context: Context, refund_id: str, amount: Money, status: str
    ) -> None:
        """The processor says a refund failed or was cancelled: no money went back. Its entry
        stays and a reversal line nets it out; the standing follows the money kept
        (paid-up-until moves on if it now covers a period). Once per refund id; a refund
        never recorded is marked too (no line), so a late word that it succeeded records
        nothing. A refund staff recorded by hand naming it is theirs to correct: refused."""
        if amount.minor <= 0:
            raise InvalidValue("amount", "a refund is a positive amount")
        if refund_id in self.reversed_card_refunds:
            return  # told again
        entry = next(
            (
                e
                for e in self.ledger
                if e.kind == "refund" and e.entry_id == refund_id and refund_id in self.card_refunds
            ),
            None,
        )
        if entry is None:
            by_staff = self._staff_refund_naming(refund_id)
            if by_staff is not None:
                raise Conflict(
                    f"staff recorded {refund_id} by hand as {by_staff.entry_id}; the processor "
                    f"says it {status}: staff correct it"
                )
        elif entry.amount != amount:
            raise Conflict(f"{refund_id} is recorded as a refund of {entry.amount}, not {amount}")
        self.trigger_event(
            self.CardRefundReversed,
            refund_id=refund_id,
            entry_id=entry.entry_id if entry is not None else None,
            amount_minor=amount.minor,
            currency=amount.currency,
            status=status,
            **context.event_kwargs(),
        )
        if entry is not None:
            self._settle(context)

    def _staff_refund_naming(self, refund_id: str) -> LedgerEntry | None:
        """A refund staff recorded that names a processor's refund: its Idempotency-Key (the
        entry's id `ref_<key>`) or a word of its reference is the processor's refund id."""
        for entry in self.ledger:
            if entry.kind != "refund" or entry.entry_id in self.card_refunds:
                continue
            if entry.entry_id == f"ref_{refund_id}" or refund_id in _words(entry.reference):
                return entry
        return None

    def _require_refundable(self, amount: Money) -> None:
        paid = sum(e.amount.minor for e in self.ledger if e.kind == "payment")
        refunded = sum(e.amount.minor for e in self._refunds_kept())
        if refunded + amount.minor > paid:
            raise Conflict("cannot refund more than has been paid")

    def issue_credit_note(
        self, context: Context, credit_id: str, amount: Money, reason: str
    ) -> None:
        if not self._invoices():
            raise Conflict("there is no invoice to credit")
        if amount.minor <= 0:
            raise InvalidValue("amount", "a credit note is a positive amount")
        self._require_dues_currency(amount)
        if not reason.strip():
            raise InvalidValue("reason", "a credit note gives its reason")
        if self._told_before(credit_id, amount, reason, "credit_note"):
            return  # the same credit note told twice (a retried request): nothing more
        invoiced = sum(e.amount.minor for e in self._invoices())
        credited = sum(e.amount.minor for e in self.ledger if e.kind == "credit_note")
        if credited + amount.minor > invoiced:
            raise Conflict("cannot credit more than has been invoiced")
        self.trigger_event(
            self.CreditNoteIssued,
            credit_id=credit_id,
            amount_minor=amount.minor,
            currency=amount.currency,
            reason=reason.strip(),
            **context.event_kwargs(),
        )
        self._settle(context)

    def membership_status_at(self, now: datetime) -> MembershipStatus:
        """The status at `now`: as recorded, moved on by what time has made due since and the
        clock has not recorded yet (grace, lapse, a resignation taking effect). Readers of
        standing ask this with their request's time; nothing is recorded."""
        return status_at(
            self.membership_status,
            self.paid_up_until,
            self.first_paid_at,
            self.resignation_at,
            now,
        )

    def in_good_standing_at(self, now: datetime) -> bool:
        return self.membership_status_at(now) in GOOD_STANDING

    def observe_time(
        self, context: Context, renewal_band: DuesBand | None, new_invoice_id: str
    ) -> None:
        """What the clock makes due: renewal notice, next period's invoice, standing changes.

        Records nothing when nothing is due, so a second tick at the same time adds nothing.
        """
        now = context.at
        active = MEMBER - {MembershipStatus.SUSPENDED, MembershipStatus.AWAITING_FIRST_PAYMENT}
        paid_up_until = self.paid_up_until
        if self.membership_status in active and paid_up_until is not None:
            noticed = self.renewal_noticed_for == paid_up_until
            leaving = self.resignation_at is not None
            if now >= renewal_opens(paid_up_until) and not noticed and not leaving:
                self.trigger_event(
                    self.RenewalDue,
                    period_end=paid_up_until,
                    **_at(context, renewal_opens(paid_up_until)),
                )
            # An imported member has no invoice yet: its next one starts at paid-up-until.
            invoiced_until = max(
                (e.period_end for e in self._invoices() if e.period_end), default=paid_up_until
            )
            if (
                now >= paid_up_until
                and invoiced_until <= paid_up_until
                and self.resignation_at is None
            ):
                renewal_context = _effective(context, paid_up_until)
                if renewal_band is not None and not _same_band(renewal_band, self.tier):
                    self._assign_tier_at(renewal_context, renewal_band, paid_up_until)
                self._invoice_at(renewal_context, new_invoice_id, paid_up_until)
                # Money paid ahead (in the renewal window) pays for the new period at once.
                self._settle(renewal_context)
        self._record_due_transitions(context, now)

    def suspend(self, context: Context, reason: str) -> None:
        self._require_member("suspend", exclude=frozenset({MembershipStatus.SUSPENDED}))
        if not reason.strip():
            raise InvalidValue("reason", "a suspension gives its reason")
        self.trigger_event(self.Suspended, reason=reason.strip(), **context.event_kwargs())

    def reinstate(self, context: Context) -> None:
        if self.membership_status is not MembershipStatus.SUSPENDED:
            raise Conflict(f"cannot reinstate: the membership is {self.membership_status}")
        status = paid_standing(self.paid_up_until, self.first_paid_at, context.at)
        self.trigger_event(self.Reinstated, status=status.value, **context.event_kwargs())

    def resign(self, context: Context, *, at_period_end: bool) -> None:
        self._require_member("resign")
        if self.resignation_at is not None:
            raise Conflict(f"a resignation is already given, from {self.resignation_at.date()}")
        end = self.paid_up_until
        effective = context.effective_at or context.at
        if at_period_end and end is not None and end > effective:
            self.trigger_event(self.ResignationGiven, resigns_at=end, **context.event_kwargs())
            return
        self.trigger_event(self.ResignationGiven, resigns_at=effective, **context.event_kwargs())
        self.trigger_event(
            self.StandingChanged,
            status=MembershipStatus.RESIGNED.value,
            cause="resignation",
            **context.event_kwargs(),
        )

    def expel(self, context: Context, reason: str) -> None:
        self._require_member("expel")
        if not reason.strip():
            raise InvalidValue("reason", "an expulsion gives its reason")
        self.trigger_event(self.Expelled, reason=reason.strip(), **context.event_kwargs())

    def import_membership(
        self,
        context: Context,
        *,
        joined_at: datetime,
        band: DuesBand,
        turnover: Money | None,
        paid_up_until: datetime,
        resigns_at: datetime | None = None,
    ) -> None:
        """A member brought over from another system (CiviCRM, Wild Apricot).

        Admitted when it joined and paid up until the date the old system gives, each fact with
        its own effective date; its standing since then is derived from those dates as the
        clock would have. The old system's dues history stays there: no invoice or payment is
        recorded, so the ledger starts with the next renewal's invoice.
        """
        if self.membership_status is not MembershipStatus.NONE:
            raise Conflict(f"cannot import: the membership is {self.membership_status}")
        # Dates no one could mean are refused here too (ADR 17), whoever imports.
        joined_at = plausible_moment("joined_at", joined_at)
        paid_up_until = plausible_moment("paid_up_until", paid_up_until)
        if resigns_at is not None:
            resigns_at = plausible_moment("resigns_at", resigns_at)
        if joined_at > context.at:
            raise InvalidValue("joined_at", "the join date is in the future")
        if paid_up_until < joined_at:
            raise InvalidValue("paid_up_until", "paid up until a date before the member joined")
        joined = _effective(context, joined_at)
        if turnover is not None:
            self._declare_turnover(joined, turnover)
        self.trigger_event(self.MembershipAdmitted, **joined.event_kwargs())
        self._assign_tier_at(joined, band, joined_at)
        self.trigger_event(
            self.PaidUpUntilMoved, paid_up_until=paid_up_until, **joined.event_kwargs()
        )
        self.trigger_event(
            self.StandingChanged,
            status=MembershipStatus.NEW.value,
            cause="imported",
            **joined.event_kwargs(),
        )
        if resigns_at is not None:
            self.trigger_event(
                self.ResignationGiven,
                resigns_at=resigns_at,
                **_at(context, min(resigns_at, context.at)),
            )
        self._record_due_transitions(context, context.at)

    # Internals -------------------------------------------------------------------------------

    def _record_due_transitions(self, context: Context, now: datetime) -> None:
        """The standing changes the dates make due by `now`, each at the moment it fell due."""
        for transition in due_transitions(
            self.membership_status,
            self.paid_up_until,
            self.first_paid_at,
            self.resignation_at,
            now,
        ):
            self.trigger_event(
                self.StandingChanged,
                status=transition.status.value,
                cause=transition.cause,
                **_at(context, transition.effective_at),
            )

    def _dated(self, context: Context, field: str) -> Context:
        """A money movement dated by the caller (a cheque banked last week): not after it is
        recorded, and not on a day before the organisation registered (ADR 17). Earlier on the
        day it registered counts from its registration."""
        effective = context.effective_at
        if effective is None:
            return context
        if effective > context.at:
            raise InvalidValue(field, f"{effective.date()} is later than today")
        if effective.date() < self.exists_from.date():
            raise InvalidValue(
                field,
                f"{effective.date()} is before the organisation registered "
                f"({self.exists_from.date()})",
            )
        return _effective(context, max(effective, self.exists_from))

    def _told_before(self, entry_id: str, amount: Money, reference: str, kind: str) -> bool:
        """Whether the ledger holds this entry already. Its id told again with another amount
        or reference is not a retry but another movement under a reused id: refused, rather
        than answered as recorded while nothing is."""
        for entry in self.ledger:
            if entry.entry_id != entry_id:
                continue
            if (entry.kind, entry.amount, entry.reference) != (kind, amount, reference.strip()):
                raise Conflict(
                    f"{entry_id} is recorded already as a {entry.kind} of {entry.amount} "
                    f"({entry.reference}): a new {kind} needs a new id"
                )
            return True
        return False

    def _card_refund_named(self, refund_id: str, reference: str) -> LedgerEntry | None:
        """The processor's refund a staff refund names (its Idempotency-Key `ref_<id>`, or its
        id as a word of the reference), if the processor told us of it already."""
        named = {refund_id.removeprefix("ref_")} | _words(reference)
        for entry in self._refunds_kept():
            if entry.entry_id in self.card_refunds.keys() & named:
                return entry
        return None

    def _require_dues_currency(self, amount: Money) -> None:
        if self.tier is not None and amount.currency != self.tier.annual_due.currency:
            raise InvalidValue("amount.currency", f"dues are in {self.tier.annual_due.currency}")

    def _require_member(
        self, action: str, exclude: frozenset[MembershipStatus] = frozenset()
    ) -> None:
        if self.membership_status not in MEMBER - exclude:
            raise Conflict(f"cannot {action}: the membership is {self.membership_status}")

    def _assign_tier_at(self, context: Context, band: DuesBand, applies_from: datetime) -> None:
        self.trigger_event(
            self.TierAssigned,
            code=band.code,
            name=band.name,
            annual_due_minor=band.annual_due.minor,
            currency=band.annual_due.currency,
            price_reference=band.price_reference,
            applies_from=applies_from,
            **context.event_kwargs(),
        )

    def _invoice_at(self, context: Context, invoice_id: str, period_start: datetime) -> None:
        assert self.tier is not None
        self.trigger_event(
            self.DuesInvoiced,
            invoice_id=invoice_id,
            amount_minor=self.tier.annual_due.minor,
            currency=self.tier.annual_due.currency,
            period_start=period_start,
            period_end=add_months(period_start, POLICY.period_months),
            tier=self.tier.code,
            **context.event_kwargs(),
        )

    def _settle(self, context: Context) -> None:
        """Move paid-up-until to the end of the last period the money covers, and standing."""
        credit = -sum(e.owed_minor for e in self.ledger if e.kind != "invoice")
        covered: datetime | None = self.covered_until
        owed = 0
        for invoice in self._invoices():
            owed += invoice.amount.minor
            if owed <= credit and invoice.period_end is not None:
                covered = max(filter(None, [covered, invoice.period_end]))
        if covered is None or (self.paid_up_until is not None and covered <= self.paid_up_until):
            return
        self.trigger_event(self.PaidUpUntilMoved, paid_up_until=covered, **context.event_kwargs())
        if self.membership_status in {
            MembershipStatus.AWAITING_FIRST_PAYMENT,
            MembershipStatus.GRACE,
            MembershipStatus.LAPSED,
        }:
            status = paid_standing(
                self.paid_up_until, self.first_paid_at, context.effective_at or context.at
            )
            if status is not self.membership_status:
                self.trigger_event(
                    self.StandingChanged,
                    status=status.value,
                    cause="dues paid",
                    **context.event_kwargs(),
                )


def _at(context: Context, effective_at: datetime) -> dict[str, Any]:
    """Event fields for a fact that took effect at `effective_at`, recorded now."""
    return _effective(context, effective_at).event_kwargs()


def _effective(context: Context, effective_at: datetime) -> Context:
    return replace(context, effective_at=effective_at)


def _words(text: str) -> set[str]:
    """The id-like words of a reference ("Stripe re_3Mt... by phone" names re_3Mt...)."""
    return set(re.findall(r"[A-Za-z0-9_]+", text))
