"""The membership Application: one method per command, load -> decide -> save.

Synchronous (the eventsourcing library is); the web layer calls it from worker threads.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import IntegrityError
from eventsourcing.utils import EnvType, get_topic

from membership.card_subscription import CardSubscription, CardSubscriptionStatus
from membership.domain import (
    DUES_SCHEDULE_ID,
    SINCE_EVER,
    DuesSchedule,
    ExternalEventClaim,
    Organisation,
    ProcessorPaymentClaim,
    Profile,
    RegistrationDetails,
    RegistryClaim,
)
from membership.dues import DuesBand, band_for, default_bands
from membership.history import HistoryEntry, StandingAt, history_entries, standing_at
from membership.registry import RegistryIdentifier
from sharedkernel.errors import Conflict, NotFound
from sharedkernel.events import Context
from sharedkernel.money import Money
from sharedkernel.writing import CLASH_ATTEMPTS, ConcurrentChange, Saved, Writes, saved

__all__ = [
    "CLASH_ATTEMPTS",
    "ConcurrentChange",
    "ExternalMessage",
    "MembershipApp",
    "PaymentCreditedElsewhere",
    "RegistryIdentifierClaimed",
    "Saved",
    "new_ledger_id",
]


@dataclass(frozen=True)
class ExternalMessage:
    """A message from an outside system (a payment processor's event): applied once."""

    source: str  # the system, e.g. "stripe"; also the processor's name in the events
    message_id: str
    organisation_id: UUID


# A refund's claim is a ProcessorPaymentClaim under this prefix (no Stripe invoice id has it).
REFUND_CLAIM_PREFIX = "refund:"


class PaymentCreditedElsewhere(Conflict):
    def __init__(self, processor: str, payment_id: str, organisation_id: UUID) -> None:
        super().__init__(
            f"{processor} payment {payment_id} is credited to organisation {organisation_id}"
        )
        self.organisation_id = organisation_id


class RegistryIdentifierClaimed(Conflict):
    def __init__(self, identifier: RegistryIdentifier) -> None:
        super().__init__(f"the registry identifier {identifier} is already registered")
        self.identifier = identifier


class MembershipApp(Writes, Application[UUID]):
    """Commands of the membership context.

    `side_writes` on registration is passed through to the recorder, which runs it in the
    transaction that records the events (the composition root uses it for the user row).
    """

    name = "membership"

    def __init__(self, env: EnvType | None = None) -> None:
        super().__init__(env)
        self._init_writes()

    def register_organisation(
        self,
        context: Context,
        organisation_id: UUID,
        details: RegistrationDetails,
        first_user_id: UUID,
        side_writes: Sequence[Any] = (),
    ) -> Saved:
        organisation = Organisation.register(context, organisation_id, details, first_user_id)
        identifier = details.registry_identifier
        to_save = self._registering(context, organisation, identifier)
        try:
            recordings = self.save(*to_save, side_writes=side_writes)
        except IntegrityError as error:
            if identifier is not None and self._claim_holder(identifier) not in {
                None,
                organisation_id,
            }:
                raise RegistryIdentifierClaimed(identifier) from error
            raise Conflict("the registration clashed with a concurrent write") from error
        return saved(organisation, recordings)

    def import_member(
        self,
        context: Context,
        organisation_id: UUID,
        details: RegistrationDetails,
        first_user_id: UUID,
        *,
        joined_at: datetime,
        paid_up_until: datetime,
        band: DuesBand,
        turnover: Money | None,
        resigns_at: datetime | None = None,
        suspension_reason: str | None = None,
        side_writes: Sequence[Any] = (),
    ) -> Saved | None:
        """Register a member brought over from another system, with its membership, registry
        claim and first user row in one save. None if it is here already (imported before)."""
        if self.is_registered(organisation_id):
            return None
        organisation = Organisation.register(
            replace(context, effective_at=joined_at), organisation_id, details, first_user_id
        )
        organisation.import_membership(
            context,
            joined_at=joined_at,
            band=band,
            turnover=turnover,
            paid_up_until=paid_up_until,
            resigns_at=resigns_at,
        )
        if suspension_reason is not None:
            organisation.suspend(context, suspension_reason)
        identifier = details.registry_identifier
        to_save = self._registering(context, organisation, identifier)
        try:
            recordings = self.save(*to_save, side_writes=side_writes)
        except IntegrityError as error:
            if self.is_registered(organisation_id):
                return None  # the same member imported concurrently
            if identifier is not None and self._claim_holder(identifier) is not None:
                raise RegistryIdentifierClaimed(identifier) from error
            raise Conflict("the import clashed with a concurrent write") from error
        return saved(organisation, recordings)

    def is_registered(self, organisation_id: UUID) -> bool:
        try:
            self.get_organisation(organisation_id)
        except NotFound:
            return False
        return True

    def registry_claim_holder(self, identifier: RegistryIdentifier) -> UUID | None:
        """The organisation holding a registry identifier, if any."""
        return self._claim_holder(identifier)

    def get_organisation(self, organisation_id: UUID) -> Organisation:
        return self._get(organisation_id, Organisation, "organisation")

    def update_profile(
        self,
        context: Context,
        organisation_id: UUID,
        profile: Profile,
        expected_version: int | None = None,
    ) -> Saved:
        """Keep the profile current; when nothing changed, nothing is recorded (the version
        stays, and there is no position to read after)."""
        return self._change(
            organisation_id, expected_version, lambda org: org.update_profile(context, profile)
        )

    def apply_for_membership(
        self,
        context: Context,
        organisation_id: UUID,
        annual_turnover: Money,
        expected_version: int | None = None,
    ) -> Saved:
        return self._change(
            organisation_id,
            expected_version,
            lambda org: org.apply_for_membership(context, annual_turnover),
        )

    def admit(
        self, context: Context, organisation_id: UUID, expected_version: int | None = None
    ) -> Saved:
        bands = self.dues_schedule().bands_at(context.at)
        invoice_id = new_ledger_id("inv")
        return self._change(
            organisation_id, expected_version, lambda org: org.admit(context, bands, invoice_id)
        )

    # Dues and standing ----------------------------------------------------------------------

    def ensure_dues_schedule(self, context: Context) -> None:
        """Publish the default schedule if the association has none yet (first start)."""
        if self._find(DUES_SCHEDULE_ID, DuesSchedule) is not None:
            return
        schedule = DuesSchedule.start(context)
        schedule.publish(context, SINCE_EVER, default_bands())
        try:
            self.save(schedule)
        except IntegrityError:
            return  # another process published it first

    def dues_schedule(self) -> DuesSchedule:
        schedule = self._find(DUES_SCHEDULE_ID, DuesSchedule)
        if schedule is None:
            raise Conflict("no dues schedule is published yet")
        return schedule

    def publish_dues_schedule(
        self, context: Context, effective_from: datetime, bands: Sequence[DuesBand]
    ) -> Saved:

        def attempt() -> Saved:
            schedule = self.dues_schedule()
            schedule.publish(context, effective_from, bands)
            return saved(schedule, self.save(schedule))

        return self._retrying(DUES_SCHEDULE_ID, attempt, "the schedule kept changing; try again")

    def declare_turnover(
        self,
        context: Context,
        organisation_id: UUID,
        annual_turnover: Money,
        expected_version: int | None = None,
    ) -> Saved:
        return self._change(
            organisation_id,
            expected_version,
            lambda org: org.declare_turnover(context, annual_turnover),
        )

    def record_payment(
        self,
        context: Context,
        organisation_id: UUID,
        amount: Money,
        method: str,
        reference: str,
        *,
        payment_id: str | None = None,
        covers_until: datetime | None = None,
        expected_version: int | None = None,
    ) -> Saved:
        chosen_id = payment_id or new_ledger_id("pay")
        return self._change(
            organisation_id,
            expected_version,
            lambda org: org.record_payment(
                context, chosen_id, amount, method, reference, covers_until
            ),
        )

    def record_refund(
        self,
        context: Context,
        organisation_id: UUID,
        amount: Money,
        reference: str,
        expected_version: int | None = None,
        refund_id: str | None = None,
    ) -> Saved:
        refund_id = refund_id or new_ledger_id("ref")
        return self._change(
            organisation_id,
            expected_version,
            lambda org: org.record_refund(context, refund_id, amount, reference),
        )

    def issue_credit_note(
        self,
        context: Context,
        organisation_id: UUID,
        amount: Money,
        reason: str,
        expected_version: int | None = None,
        credit_id: str | None = None,
    ) -> Saved:
        credit_id = credit_id or new_ledger_id("crn")
        return self._change(
            organisation_id,
            expected_version,
            lambda org: org.issue_credit_note(context, credit_id, amount, reason),
        )

    def renewal_band(self, organisation_id: UUID) -> DuesBand | None:
        """The band the next period will be charged at, from the latest declared turnover."""
        organisation = self.get_organisation(organisation_id)
        if organisation.paid_up_until is None or organisation.declared_turnover is None:
            return None
        bands = self.dues_schedule().bands_at(organisation.paid_up_until)
        return band_for(bands, organisation.declared_turnover)

    def observe_time(self, context: Context, organisation_id: UUID) -> Saved | None:
        """The clock's command for one organisation; None when nothing was due."""
        invoice_id = new_ledger_id("inv")

        def attempt() -> Saved | None:
            organisation = self.get_organisation(organisation_id)
            renewal_band = None
            if organisation.paid_up_until is not None:
                turnover = organisation.declared_turnover
                if turnover is not None:
                    bands = self.dues_schedule().bands_at(organisation.paid_up_until)
                    renewal_band = band_for(bands, turnover)
            organisation.observe_time(context, renewal_band, invoice_id)
            if not organisation.pending_events:
                return None
            return saved(organisation, self.save(organisation))

        return self._retrying(
            organisation_id, attempt, "the organisation kept changing; tick again"
        )

    def suspend(
        self,
        context: Context,
        organisation_id: UUID,
        reason: str,
        expected_version: int | None = None,
    ) -> Saved:
        return self._change(
            organisation_id, expected_version, lambda org: org.suspend(context, reason)
        )

    def reinstate(
        self, context: Context, organisation_id: UUID, expected_version: int | None = None
    ) -> Saved:
        return self._change(organisation_id, expected_version, lambda org: org.reinstate(context))

    def resign(
        self,
        context: Context,
        organisation_id: UUID,
        *,
        at_period_end: bool,
        expected_version: int | None = None,
    ) -> Saved:
        return self._change(
            organisation_id,
            expected_version,
            lambda org: org.resign(context, at_period_end=at_period_end),
        )

    def expel(
        self,
        context: Context,
        organisation_id: UUID,
        reason: str,
        expected_version: int | None = None,
    ) -> Saved:
        return self._change(
            organisation_id, expected_version, lambda org: org.expel(context, reason)
        )

    def handle_external_event(
        self,
        context: Context,
        source: str,
        external_id: str,
        organisation_id: UUID,
        decide: Callable[[Organisation], None],
        *,
        credits_payment: str | None = None,
    ) -> Saved | None:
        """Apply a message from an outside system once: None if it was applied before.

        `credits_payment` names the processor's payment the message credits (a Stripe invoice):
        it is claimed with the change, so it is credited once whichever message tells of it.
        None as well when that payment was credited to this organisation already; refused
        when it was credited to another.
        """
        claim_id = ExternalEventClaim.id_for(source, external_id)

        def attempt() -> Saved | None:
            if self._find(claim_id, ExternalEventClaim) is not None:
                return None
            if credits_payment is not None:
                holder = self._payment_holder(source, credits_payment)
                if holder == organisation_id:
                    return None  # told again under another event id: credited already
                if holder is not None:
                    raise PaymentCreditedElsewhere(source, credits_payment, holder)
            organisation = self.get_organisation(organisation_id)
            decide(organisation)
            to_save: list[TradehallLike] = [
                organisation,
                ExternalEventClaim.claim(context, source, external_id, organisation_id),
            ]
            if credits_payment is not None:
                to_save.append(
                    ProcessorPaymentClaim.claim(context, source, credits_payment, organisation_id)
                )
            return saved(organisation, self.save(*to_save))

        # A clash is the organisation changing meanwhile, or a twin delivery winning: again.
        return self._retrying(
            organisation_id, attempt, "the organisation kept changing; the sender should retry"
        )

    # Card payments: what the processor tells us, each message applied once ------------------

    def link_card_subscription(
        self,
        context: Context,
        message: ExternalMessage,
        customer_id: str,
        subscription_id: str | None,
    ) -> Saved | None:
        """The member finished the processor's checkout: its customer and subscription."""
        return self._external(
            context,
            message,
            lambda org, ctx: org.link_payment_processor(
                ctx, message.source, customer_id, subscription_id
            ),
        )

    def record_card_payment(
        self,
        context: Context,
        message: ExternalMessage,
        payment_id: str,
        amount: Money,
        reference: str,
        covers_until: datetime | None,
    ) -> Saved | None:
        """The processor collected a payment (once, whichever message tells of it)."""
        return self._external(
            context,
            message,
            lambda org, ctx: org.record_payment(
                ctx, payment_id, amount, message.source, reference, covers_until
            ),
            credits_payment=payment_id,
        )

    def record_card_refund(
        self,
        context: Context,
        message: ExternalMessage,
        refund_id: str,
        payment_id: str | None,
        amount: Money,
        reference: str,
    ) -> Saved | None:
        """The processor returned money from a payment (once, whichever message tells of it,
        and not again if staff recorded it by hand under its id). The refund is claimed like a
        payment, so it is in one organisation's ledger only, even where staff apply the
        messages telling of it to two."""
        return self._external(
            context,
            message,
            lambda org, ctx: org.record_card_refund(ctx, refund_id, payment_id, amount, reference),
            credits_payment=f"{REFUND_CLAIM_PREFIX}{refund_id}",
        )

    def reverse_card_refund(
        self,
        context: Context,
        message: ExternalMessage,
        refund_id: str,
        amount: Money,
        status: str,
    ) -> Saved | None:
        """The processor says a refund failed or was cancelled (once per refund id)."""
        return self._external(
            context,
            message,
            lambda org, ctx: org.reverse_card_refund(ctx, refund_id, amount, status),
        )

    def card_payment_holder(self, processor: str, payment_id: str) -> UUID | None:
        """The organisation a processor's payment was credited to, if it was."""
        return self._payment_holder(processor, payment_id)

    def record_card_payment_failure(
        self, context: Context, message: ExternalMessage, reference: str
    ) -> Saved | None:
        return self._external(
            context, message, lambda org, ctx: org.record_payment_failure(ctx, reference)
        )

    def record_card_subscription_change(
        self,
        context: Context,
        message: ExternalMessage,
        subscription_id: str,
        status: CardSubscriptionStatus,
        cancel_at_period_end: bool,
    ) -> Saved | None:
        return self._external(
            context,
            message,
            lambda org, ctx: org.record_subscription_change(
                ctx, subscription_id, status, cancel_at_period_end
            ),
        )

    def card_subscription(self, organisation_id: UUID) -> CardSubscription | None:
        """The card subscription the organisation pays its dues by, if any."""
        return self.get_organisation(organisation_id).card_subscription

    def _external(
        self,
        context: Context,
        message: ExternalMessage,
        decide: Callable[[Organisation, Context], None],
        *,
        credits_payment: str | None = None,
    ) -> Saved | None:
        def apply(organisation: Organisation) -> None:
            # A time before the organisation registered (a clock running wrong) cannot be when
            # it happened: it counts from the registration (ADR 17).
            effective_at = max(context.effective_at or context.at, organisation.exists_from)
            decide(organisation, replace(context, effective_at=effective_at))

        return self.handle_external_event(
            context,
            message.source,
            message.message_id,
            message.organisation_id,
            apply,
            credits_payment=credits_payment,
        )

    def _payment_holder(self, processor: str, payment_id: str) -> UUID | None:
        claim_id = ProcessorPaymentClaim.id_for(processor, payment_id)
        claim = self._find(claim_id, ProcessorPaymentClaim)
        return claim.organisation_id if claim is not None else None

    def is_in_good_standing(self, organisation_id: UUID, at: datetime) -> bool:
        """The one question other contexts ask: may this organisation act as a member `at`
        (the command's time)? Judged from the recorded facts at that moment, so a member whose
        grace ran out is not in good standing though the clock has not recorded the lapse yet."""
        try:
            organisation = self.get_organisation(organisation_id)
        except NotFound:
            return False
        return organisation.in_good_standing_at(at)

    def organisation_ids(self) -> list[UUID]:
        """Every registered organisation, in order of registration (from the event log)."""
        topic = get_topic(Organisation.Registered)
        ids: list[UUID] = []
        start = 1
        while True:
            batch = self.recorder.select_notifications(start=start, limit=1000, topics=[topic])
            ids.extend(
                n.originator_id if isinstance(n.originator_id, UUID) else UUID(str(n.originator_id))
                for n in batch
            )
            if len(batch) < 1000:
                return ids
            start = batch[-1].id + 1

    def organisations_with_ledgers(self) -> list[Organisation]:
        found = (
            self.get_organisation(organisation_id) for organisation_id in self.organisation_ids()
        )
        return [organisation for organisation in found if organisation.ledger]

    def organisation_events(self, organisation_id: UUID) -> list[Any]:
        """Every event of an organisation, oldest first (its history)."""
        self.get_organisation(organisation_id)  # NotFound for unknown ids
        return list(self.events.get(organisation_id))

    def history(self, organisation_id: UUID) -> list[HistoryEntry]:
        """Every event of an organisation, oldest first, as entries of its history."""
        return history_entries(self.organisation_events(organisation_id))

    def standing_at(self, organisation_id: UUID, as_at: datetime) -> StandingAt | None:
        """The membership as it stood at `as_at`, as we know it now (ADR 17)."""
        return standing_at(self.organisation_events(organisation_id), as_at)

    def reject(
        self,
        context: Context,
        organisation_id: UUID,
        reason: str,
        expected_version: int | None = None,
    ) -> Saved:
        return self._change(
            organisation_id, expected_version, lambda org: org.reject(context, reason)
        )

    def withdraw_application(
        self, context: Context, organisation_id: UUID, expected_version: int | None = None
    ) -> Saved:
        return self._change(
            organisation_id, expected_version, lambda org: org.withdraw_application(context)
        )

    def release_registry_claim(
        self, context: Context, identifier: RegistryIdentifier, reason: str
    ) -> Saved:

        def attempt() -> Saved:
            claim = self._get_claim(identifier)
            if claim is None or claim.organisation_id is None:
                raise NotFound(f"the registry identifier {identifier} is not claimed")
            # The holder stops showing the identifier in the same save that frees it.
            holder = self.get_organisation(claim.organisation_id)
            claim.release(context, reason)
            to_save: list[TradehallLike] = [claim]
            if holder.registry_identifier == identifier:
                holder.release_registry_identifier(context, reason)
                to_save.append(holder)
            return saved(claim, self.save(*to_save))

        return self._retrying(identifier.claim_id, attempt, "the claim kept changing; try again")

    def _registering(
        self, context: Context, organisation: Organisation, identifier: RegistryIdentifier | None
    ) -> list[TradehallLike]:
        """A new organisation and, if it declares a registry identifier, its claim on it (a held
        one is refused): saved together, so racing claims on one identifier clash."""
        if identifier is None:
            return [organisation]
        return [organisation, self._claim(context, identifier, organisation.id)]

    def _claim(
        self, context: Context, identifier: RegistryIdentifier, organisation_id: UUID
    ) -> RegistryClaim:
        claim = self._get_claim(identifier)
        if claim is None:
            return RegistryClaim.claim(context, identifier, organisation_id)
        if claim.held:
            raise RegistryIdentifierClaimed(identifier)
        claim.reclaim(context, organisation_id)
        return claim

    def _get_claim(self, identifier: RegistryIdentifier) -> RegistryClaim | None:
        return self._find(identifier.claim_id, RegistryClaim)

    def _claim_holder(self, identifier: RegistryIdentifier) -> UUID | None:
        claim = self._get_claim(identifier)
        return claim.organisation_id if claim else None

    def _change(
        self,
        organisation_id: UUID,
        expected_version: int | None,
        decide: Callable[[Organisation], None],
    ) -> Saved:
        """Load, decide, save (`Writes._change_one`: If-Match honoured, clashes retried)."""
        return self._change_alone(
            organisation_id,
            expected_version,
            lambda: self.get_organisation(organisation_id),
            decide,
            "the organisation kept changing; try again",
        )


TradehallLike = Organisation | RegistryClaim | ExternalEventClaim | ProcessorPaymentClaim


def new_ledger_id(kind: str) -> str:
    """A ledger entry's id: a prefix saying what it is, and a random part."""
    return f"{kind}_{uuid.uuid4().hex[:20]}"
