"""The marketplace's commands after opening: each lot's evaluation and award, the award notice,
the closure days that lengthen a standstill, and the contracts with their delivery reports.
Mixed into `MarketplaceApp`; load -> decide -> save like its other commands.

A lot's outcome and the tender's status are saved in one transaction (a decision not to award
at once; an award with its notice), as are the lot's signing and its contract.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import Application

from marketplace.bids.content import SupplierFacts
from marketplace.closures import CLOSURE_DAYS_ID, ClosureDays
from marketplace.contracts import Contract, Delivered
from marketplace.evaluation.lot import (
    InvalidBid,
    LotEvaluation,
    OpenedBid,
    evaluation_id_for,
)
from marketplace.tender_terms import Period
from marketplace.tenders import (
    LOT_AWARDED,
    LOT_NOT_AWARDED,
    LOT_UNSUCCESSFUL,
    Tender,
)
from marketplace.working_days import MIN_STANDSTILL_WORKING_DAYS, WorkingCalendar
from sharedkernel.errors import InvalidValue, NotFound, StaleVersion
from sharedkernel.events import Context
from sharedkernel.money import Money
from sharedkernel.writing import Saved, Writes, saved


@dataclass(frozen=True)
class StandstillPolicy:
    """The standstill's length (never under the Act's 8 working days) and the working calendar:
    given the closure days and a moment, the calendar around it with every UK part's bank
    holidays (the composition root's, from a holidays library). None: weekends and closure
    days only."""

    working_days: int = MIN_STANDSTILL_WORKING_DAYS
    calendar: Callable[[Iterable[date], datetime], WorkingCalendar] | None = None


@dataclass(frozen=True)
class Score:
    criterion: str
    score: int
    justification: str


class AwardCommands(Writes):
    """Evaluation, award, standstill and contract commands of the marketplace Application."""

    standstill: StandstillPolicy

    # Starting: at opening --------------------------------------------------------------------

    def _evaluations_at_opening(
        self, context: Context, tender: Tender, bids: list[dict[str, Any]]
    ) -> list[LotEvaluation]:
        """One evaluation per lot, of its valid bids; a lot with none is decided unsuccessful
        on the tender at once."""
        started = []
        for lot in tender.terms.lots:
            of_lot = [record for record in bids if record.get("lot_id") == lot.id]
            valid = [OpenedBid.from_opening(r) for r in of_lot if r.get("valid")]
            invalid = [InvalidBid.from_opening(r) for r in of_lot if not r.get("valid")]
            rules = tender.terms.evaluation
            evaluation = LotEvaluation.start(
                context, tender.id, lot.id, tender.buyer_id, rules, valid, invalid
            )
            if not valid:
                tender.decide_lot(context, lot.id, LOT_UNSUCCESSFUL)
            started.append(evaluation)
        return started

    # Reads -----------------------------------------------------------------------------------

    def lot_evaluation(self, tender_id: UUID, lot_id: str) -> LotEvaluation:
        found = self._find(evaluation_id_for(tender_id, lot_id), LotEvaluation)
        if found is None:
            raise NotFound(f"no evaluation of {lot_id} of tender {tender_id} (not opened yet?)")
        return found

    def contract(self, contract_id: UUID) -> Contract:
        return self._get(contract_id, Contract, "contract")

    def closure_days(self) -> ClosureDays | None:
        return self._find(CLOSURE_DAYS_ID, ClosureDays)

    def working_calendar(self, around: datetime) -> WorkingCalendar:
        """Weekends aside, the days around `around` that are not working days: every UK part's
        bank holidays and the closure days staff entered."""
        closures = self.closure_days()
        closed = closures.days if closures else frozenset()
        make = self.standstill.calendar
        return make(closed, around) if make else WorkingCalendar(closed)

    def standstill_end_of(self, evaluation: LotEvaluation) -> datetime | None:
        """When the lot's standstill ends by today's calendar (a closure day entered since the
        notice lengthens it); None before the notice."""
        published = evaluation.notice_published_at
        if published is None:
            return None
        return evaluation.standstill_end(self.working_calendar(published))

    # The buyer: evaluating a lot -------------------------------------------------------------

    def score_bid(
        self,
        context: Context,
        tender_id: UUID,
        lot_id: str,
        bid_id: UUID,
        scores: Sequence[Score],
        expected_version: int | None = None,
    ) -> Saved:
        """The bid's moderated scores, one per criterion named (others stay as they were); a
        refusal names its entry (`scores[1].score`)."""

        def decide(evaluation: LotEvaluation) -> None:
            for i, given in enumerate(scores):
                try:
                    evaluation.score(
                        context, bid_id, given.criterion, given.score, given.justification
                    )
                except InvalidValue as refused:
                    raise InvalidValue(f"scores[{i}].{refused.field}", refused.message) from None

        return self._on_lot(tender_id, lot_id, expected_version, decide)

    def query_low_price(
        self,
        context: Context,
        tender_id: UUID,
        lot_id: str,
        bid_id: UUID,
        expected_version: int | None = None,
    ) -> Saved:
        return self._on_lot(
            tender_id, lot_id, expected_version, lambda e: e.query_low_price(context, bid_id)
        )

    def record_low_price_explanation(
        self,
        context: Context,
        tender_id: UUID,
        lot_id: str,
        bid_id: UUID,
        explanation: str,
        expected_version: int | None = None,
    ) -> Saved:
        return self._on_lot(
            tender_id,
            lot_id,
            expected_version,
            lambda e: e.record_explanation(context, bid_id, explanation),
        )

    def decide_low_price(
        self,
        context: Context,
        tender_id: UUID,
        lot_id: str,
        bid_id: UUID,
        accept: bool,
        reason: str,
        expected_version: int | None = None,
    ) -> Saved:
        return self._on_lot(
            tender_id,
            lot_id,
            expected_version,
            lambda e: e.decide_low_price(context, bid_id, accept, reason),
        )

    def award_lot(
        self,
        context: Context,
        tender_id: UUID,
        lot_id: str,
        facts: Mapping[UUID, SupplierFacts],
        expected_version: int | None = None,
    ) -> Saved:
        """The award, told to the bidders by their summaries; the public learns of it from the
        award notice (which records the lot's outcome on the tender)."""

        def decide(evaluation: LotEvaluation) -> None:
            evaluation.award(context, self._tender_of(evaluation).terms, facts)

        return self._on_lot(tender_id, lot_id, expected_version, decide)

    def decline_to_award(
        self,
        context: Context,
        tender_id: UUID,
        lot_id: str,
        reason: str,
        expected_version: int | None = None,
    ) -> Saved:
        return self._deciding_lot(
            context,
            tender_id,
            lot_id,
            LOT_NOT_AWARDED,
            expected_version,
            lambda evaluation: evaluation.decline_to_award(context, reason),
        )

    def publish_award_notice(
        self,
        context: Context,
        tender_id: UUID,
        lot_id: str,
        summaries_sent: Callable[[LotEvaluation], bool],
        expected_version: int | None = None,
    ) -> Saved:
        """`summaries_sent` tells whether every bidder's assessment summary has gone (the
        outbox's to say). The lot's award is recorded on the tender with the notice, in one
        transaction: until then the tender's public status says nothing of it."""
        calendar = self.working_calendar(context.at)
        days = self.standstill.working_days

        def decide(evaluation: LotEvaluation) -> None:
            evaluation.publish_award_notice(context, summaries_sent(evaluation), days, calendar)

        return self._deciding_lot(context, tender_id, lot_id, LOT_AWARDED, expected_version, decide)

    def sign_contract(
        self,
        context: Context,
        tender_id: UUID,
        lot_id: str,
        value: Money,
        period: Period,
        expected_version: int | None = None,
    ) -> Saved:
        """The contract, and the lot contracted, in one transaction; answers the contract."""

        def decide(evaluation: LotEvaluation) -> Sequence[Any]:
            published = evaluation.notice_published_at or context.at
            calendar = self.working_calendar(published)
            return [evaluation.sign_contract(context, value, period, calendar)]

        evaluation_saved = self._on_lot_with(tender_id, lot_id, expected_version, decide)
        contract_id = self.lot_evaluation(tender_id, lot_id).contract_id
        assert contract_id is not None
        contract = self.contract(contract_id)
        return Saved(contract.id, contract.version, evaluation_saved.position)

    # Closure days (staff) --------------------------------------------------------------------

    def close_day(self, context: Context, day: date, reason: str) -> Saved:
        def attempt() -> Saved:
            closures = self.closure_days() or ClosureDays.start(context)
            closures.close(context, day, reason)
            assert isinstance(self, Application)
            return saved(closures, self.save(closures))

        return self._retrying(CLOSURE_DAYS_ID, attempt, "closure days kept changing; try again")

    def reopen_day(self, context: Context, day: date) -> Saved:
        def load() -> ClosureDays:
            found = self.closure_days()
            if found is None:
                raise NotFound(f"{day.isoformat()} is not closed")
            return found

        return self._change_alone(
            CLOSURE_DAYS_ID,
            None,
            load,
            lambda c: c.reopen(context, day),
            "closure days kept changing; try again",
        )

    # Contracts -------------------------------------------------------------------------------

    def amend_contract(
        self,
        context: Context,
        contract_id: UUID,
        value: Money | None,
        period: Period | None,
        reason: str,
        expected_version: int | None = None,
    ) -> Saved:
        return self._on_contract(
            contract_id,
            expected_version,
            lambda c: c.amend(context, value=value, period=period, reason=reason),
        )

    def complete_contract(
        self, context: Context, contract_id: UUID, reason: str, expected_version: int | None = None
    ) -> Saved:
        return self._on_contract(
            contract_id, expected_version, lambda c: c.complete(context, reason)
        )

    def terminate_contract(
        self, context: Context, contract_id: UUID, reason: str, expected_version: int | None = None
    ) -> Saved:
        return self._on_contract(
            contract_id, expected_version, lambda c: c.terminate(context, reason)
        )

    def report_delivery(
        self,
        context: Context,
        contract_id: UUID,
        report_id: UUID,
        by_organisation: UUID,
        period: Period,
        delivered: Sequence[Delivered],
        note: str,
        expected_version: int | None = None,
    ) -> Saved:
        """Once per report id: the same report again (a retried request) answers the first;
        another report under that id is refused. `expected_version`: the contract's."""

        def retried(contract: Contract) -> bool:
            return contract.repeats(
                report_id,
                by_organisation=by_organisation,
                period=period,
                delivered=delivered,
                note=note,
            )

        def decide(contract: Contract) -> None:
            if retried(contract):
                return
            contract.report_delivery(
                context,
                report_id=report_id,
                by_organisation=by_organisation,
                period=period,
                delivered=delivered,
                note=note,
            )

        try:
            return self._on_contract(contract_id, expected_version, decide)
        except StaleVersion:
            # A retry of a report already recorded answers the first, whatever version it names:
            # the version it named was the one before its own report (RFC 9110 §13.1.1 lets a
            # change already made answer 2xx). A report stands once recorded, so this holds.
            # Checked once the version is found stale, not before: a retry sent while the first
            # was still being saved finds it saved only then.
            if not retried(self.contract(contract_id)):
                raise
            return self._on_contract(contract_id, None, decide)

    def confirm_delivery(
        self,
        context: Context,
        contract_id: UUID,
        report_id: UUID,
        by_organisation: UUID,
        expected_version: int | None = None,
    ) -> Saved:
        return self._on_contract(
            contract_id,
            expected_version,
            lambda c: c.confirm_delivery(
                context, report_id=report_id, by_organisation=by_organisation
            ),
        )

    def reject_delivery(
        self,
        context: Context,
        contract_id: UUID,
        report_id: UUID,
        by_organisation: UUID,
        reason: str,
        expected_version: int | None = None,
    ) -> Saved:
        return self._on_contract(
            contract_id,
            expected_version,
            lambda c: c.reject_delivery(
                context, report_id=report_id, by_organisation=by_organisation, reason=reason
            ),
        )

    # Plumbing --------------------------------------------------------------------------------

    def _tender_of(self, evaluation: LotEvaluation) -> Tender:
        return self._get(evaluation.tender_id, Tender, "tender")

    def _on_lot(
        self,
        tender_id: UUID,
        lot_id: str,
        expected_version: int | None,
        decide: Callable[[LotEvaluation], None],
    ) -> Saved:
        def alone(evaluation: LotEvaluation) -> Sequence[Any]:
            decide(evaluation)
            return ()

        return self._on_lot_with(tender_id, lot_id, expected_version, alone)

    def _deciding_lot(
        self,
        context: Context,
        tender_id: UUID,
        lot_id: str,
        outcome: str,
        expected_version: int | None,
        decide: Callable[[LotEvaluation], None],
    ) -> Saved:
        """`_on_lot` for a decision the tender records as the lot's `outcome`, saved with the
        evaluation in one transaction."""

        def on_both(evaluation: LotEvaluation) -> Sequence[Any]:
            tender = self._tender_of(evaluation)
            decide(evaluation)
            tender.decide_lot(context, lot_id, outcome)
            return [tender]

        return self._on_lot_with(tender_id, lot_id, expected_version, on_both)

    def _on_lot_with(
        self,
        tender_id: UUID,
        lot_id: str,
        expected_version: int | None,
        decide: Callable[[LotEvaluation], Sequence[Any]],
    ) -> Saved:
        """`_on_lot` for a command that saves others with the evaluation (the tender, a
        contract): `decide` returns them."""
        return self._change_one(
            evaluation_id_for(tender_id, lot_id),
            expected_version,
            lambda: self.lot_evaluation(tender_id, lot_id),
            decide,
            "the evaluation kept changing; try again",
        )

    def _on_contract(
        self,
        contract_id: UUID,
        expected_version: int | None,
        decide: Callable[[Contract], None],
    ) -> Saved:
        return self._change_alone(
            contract_id,
            expected_version,
            lambda: self.contract(contract_id),
            decide,
            "the contract kept changing; try again",
        )
