"""A lot's evaluation, from its opened bids to the contract: the buyer's moderated scores,
abnormally low prices (flag, notice, explanation, decision), the award or the decision not to
award, each bidder's assessment summary, the award notice and its standstill. Pure domain code.

One aggregate per lot (`evaluation_id_for`), started when the bids are opened; the arithmetic
is in `scoring`, the working days in `marketplace.working_days`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from marketplace.bids.content import Commitment, Share, SupplierFacts, ineligibility
from marketplace.contracts import Contract, Party
from marketplace.evaluation.scoring import (
    Candidate,
    Result,
    abnormally_low,
    criterion_named,
    results,
    scored_criteria,
    unscored,
)
from marketplace.tender_terms import Evaluation, Period, TenderTerms
from marketplace.working_days import LONDON, WorkingCalendar, standstill_end
from sharedkernel.errors import Conflict, InvalidValue, NotFound
from sharedkernel.events import Context, TradehallAggregate
from sharedkernel.money import Money
from sharedkernel.text import domain_text

_NAMESPACE = uuid5(NAMESPACE_URL, "https://tradehall.invalid/lot-evaluation")
MAX_JUSTIFICATION = 4000
MAX_REASON = 4000
EMPTY = "it is empty"


def evaluation_id_for(tender_id: UUID, lot_id: str) -> UUID:
    return uuid5(_NAMESPACE, f"{tender_id}:{lot_id}")


class LotStatus(StrEnum):
    EVALUATING = "evaluating"
    AWARDED = "awarded"  # decided; the summaries go out, then the award notice
    NOT_AWARDED = "not_awarded"
    UNSUCCESSFUL = "unsuccessful"  # no valid bid
    CONTRACTED = "contracted"


@dataclass(frozen=True)
class BidAtOpening:
    """What the opening recorded of every bid, valid or not: its id and its bidders' shares,
    the lead's first."""

    bid_id: UUID
    shares: tuple[Share, ...]

    @property
    def members(self) -> tuple[UUID, ...]:
        return tuple(s.organisation_id for s in self.shares)

    def _bidders_data(self) -> dict[str, Any]:
        return {"bid_id": str(self.bid_id), "shares": [s.as_data() for s in self.shares]}


def _shares_at_opening(record: Mapping[str, Any]) -> tuple[Share, ...]:
    """A bid's shares as `BidOpening.bids` holds them; a bid alone has none: the lead holds it
    all."""
    shares = tuple(Share.from_data(s) for s in record["shares"])
    return shares or (Share(UUID(str(record["lead_id"])), 100),)


@dataclass(frozen=True)
class OpenedBid(BidAtOpening):
    """A valid bid as the opening recorded it: who, at what price, committing to what."""

    price: Money
    commitments: tuple[Commitment, ...]
    submitted_at: datetime

    @property
    def lead_id(self) -> UUID:
        return self.shares[0].organisation_id

    def as_data(self) -> dict[str, Any]:
        return {
            **self._bidders_data(),
            "price_minor": self.price.minor,
            "currency": self.price.currency,
            "commitments": [c.as_data() for c in self.commitments],
            "submitted_at": self.submitted_at.isoformat(),
        }

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> OpenedBid:
        return cls(
            bid_id=UUID(str(data["bid_id"])),
            shares=tuple(Share.from_data(s) for s in data["shares"]),
            price=Money(str(data["currency"]), int(data["price_minor"])),
            commitments=tuple(Commitment.from_data(c) for c in data["commitments"]),
            submitted_at=datetime.fromisoformat(str(data["submitted_at"])),
        )

    @classmethod
    def from_opening(cls, record: Mapping[str, Any]) -> OpenedBid:
        """From a valid bid in `BidOpening.bids` (`bids.opening.as_opened`)."""
        content = record["content"]
        return cls.from_data(
            {
                "bid_id": record["bid_id"],
                "shares": [s.as_data() for s in _shares_at_opening(record)],
                "price_minor": content["price_minor"],
                "currency": content["currency"],
                "commitments": content["commitments"],
                "submitted_at": record["submitted_at"],
            }
        )


@dataclass(frozen=True)
class InvalidBid(BidAtOpening):
    """A bid found invalid at opening: not evaluated, but its bidders are told the outcome."""

    reason: str

    def as_data(self) -> dict[str, Any]:
        return {**self._bidders_data(), "reason": self.reason}

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> InvalidBid:
        return cls(
            UUID(str(data["bid_id"])),
            tuple(Share.from_data(s) for s in data["shares"]),
            str(data["reason"]),
        )

    @classmethod
    def from_opening(cls, record: Mapping[str, Any]) -> InvalidBid:
        """From an invalid bid in `BidOpening.bids`."""
        reason = str(record.get("reason") or "invalid")
        return cls(UUID(str(record["bid_id"])), _shares_at_opening(record), reason)


@dataclass
class LowPrice:
    """The abnormally low price procedure of one bid."""

    queried_at: datetime | None = None
    explanation: str | None = None
    accepted: bool | None = None  # None: not decided
    reason: str | None = None


@dataclass(frozen=True)
class Scored:
    score: int
    justification: str


@dataclass
class _Decision:
    winner: UUID | None
    reason: str | None
    results: list[dict[str, Any]] = field(default_factory=list)
    passed_over: list[dict[str, Any]] = field(default_factory=list)
    version: int = 0  # the deciding event's version: the summaries' messages are keyed by it


class LotEvaluation(TradehallAggregate):
    class Started(TradehallAggregate.Created):
        tender_id: UUID
        lot_id: str
        buyer_id: UUID
        rules: dict[str, Any]
        bids: list[dict[str, Any]]
        invalid: list[dict[str, Any]]

    class BidScored(TradehallAggregate.Event):
        bid_id: UUID
        criterion: str
        score: int
        justification: str

        def apply(self, aggregate: LotEvaluation) -> None:
            aggregate.scores[self.bid_id][self.criterion] = Scored(self.score, self.justification)

    class LowPriceQueried(TradehallAggregate.Event):
        """The bidder is told its price looks abnormally low and asked to explain it."""

        bid_id: UUID

        def apply(self, aggregate: LotEvaluation) -> None:
            aggregate.low_prices[self.bid_id] = LowPrice(queried_at=self.timestamp)

    class LowPriceExplained(TradehallAggregate.Event):
        bid_id: UUID
        explanation: str

        def apply(self, aggregate: LotEvaluation) -> None:
            aggregate.low_prices[self.bid_id].explanation = self.explanation

    class LowPriceDecided(TradehallAggregate.Event):
        bid_id: UUID
        accepted: bool
        reason: str

        def apply(self, aggregate: LotEvaluation) -> None:
            low = aggregate.low_prices.setdefault(self.bid_id, LowPrice())
            low.accepted = self.accepted
            low.reason = self.reason

    class Awarded(TradehallAggregate.Event):
        """The award and every bidder's assessment summary, as they stood at the decision."""

        bid_id: UUID
        results: list[dict[str, Any]]
        passed_over: list[dict[str, Any]]
        summaries: list[dict[str, Any]]

        def apply(self, aggregate: LotEvaluation) -> None:
            aggregate.status = LotStatus.AWARDED
            aggregate.decision = _Decision(
                self.bid_id, None, self.results, self.passed_over, self.originator_version
            )

    class NotAwarded(TradehallAggregate.Event):
        reason: str
        results: list[dict[str, Any]]
        summaries: list[dict[str, Any]]

        def apply(self, aggregate: LotEvaluation) -> None:
            aggregate.status = LotStatus.NOT_AWARDED
            aggregate.decision = _Decision(
                None, self.reason, self.results, [], self.originator_version
            )

    class Unsuccessful(TradehallAggregate.Event):
        reason: str

        def apply(self, aggregate: LotEvaluation) -> None:
            aggregate.status = LotStatus.UNSUCCESSFUL

    class AwardNoticePublished(TradehallAggregate.Event):
        standstill_ends: datetime
        working_days: int

        def apply(self, aggregate: LotEvaluation) -> None:
            aggregate.notice_published_at = self.timestamp
            aggregate.standstill_ends = self.standstill_ends
            aggregate.standstill_days = self.working_days

    class ContractSigned(TradehallAggregate.Event):
        contract_id: UUID

        def apply(self, aggregate: LotEvaluation) -> None:
            aggregate.status = LotStatus.CONTRACTED
            aggregate.contract_id = self.contract_id

    def __init__(
        self,
        tender_id: UUID,
        lot_id: str,
        buyer_id: UUID,
        rules: dict[str, Any],
        bids: list[dict[str, Any]],
        invalid: list[dict[str, Any]],
    ) -> None:
        self.tender_id = tender_id
        self.lot_id = lot_id
        self.buyer_id = buyer_id
        self.rules = Evaluation.from_data(rules)
        self.bids = {b.bid_id: b for b in (OpenedBid.from_data(d) for d in bids)}
        self.invalid = {b.bid_id: b for b in (InvalidBid.from_data(d) for d in invalid)}
        self.scores: dict[UUID, dict[str, Scored]] = {bid_id: {} for bid_id in self.bids}
        self.low_prices: dict[UUID, LowPrice] = {}
        self.status = LotStatus.EVALUATING
        self.decision: _Decision | None = None
        self.notice_published_at: datetime | None = None
        self.standstill_ends: datetime | None = None
        self.standstill_days: int | None = None
        self.contract_id: UUID | None = None

    @classmethod
    def start(
        cls,
        context: Context,
        tender_id: UUID,
        lot_id: str,
        buyer_id: UUID,
        rules: Evaluation,
        bids: Sequence[OpenedBid],
        invalid: Sequence[InvalidBid] = (),
    ) -> LotEvaluation:
        """A lot with no valid bid is unsuccessful from the start."""
        evaluation = cls._create(
            cls.Started,
            id=evaluation_id_for(tender_id, lot_id),
            tender_id=tender_id,
            lot_id=lot_id,
            buyer_id=buyer_id,
            rules=rules.as_data(),
            bids=[b.as_data() for b in bids],
            invalid=[b.as_data() for b in invalid],
            **context.event_kwargs(),
        )
        if not bids:
            evaluation.trigger_event(
                cls.Unsuccessful, reason="no valid bid", **context.event_kwargs()
            )
        return evaluation

    # Reads -----------------------------------------------------------------------------------

    @property
    def excluded(self) -> frozenset[UUID]:
        return frozenset(b for b, low in self.low_prices.items() if low.accepted is False)

    @property
    def in_contention(self) -> list[OpenedBid]:
        """The bids that rank and set the lowest price: every valid bid not excluded."""
        return self._contending(frozenset())

    @property
    def flagged(self) -> frozenset[UUID]:
        """Abnormally low by the tender's rule, among the bids still in contention."""
        return self._flagged(frozenset())

    def unscored(self) -> dict[UUID, list[str]]:
        """What each bid in contention still lacks a score for."""
        lacking = {}
        for bid in self.in_contention:
            missing = unscored(self.rules, {n: s.score for n, s in self.scores[bid.bid_id].items()})
            if missing:
                lacking[bid.bid_id] = missing
        return lacking

    def ranking(self, leaving_out: frozenset[UUID] = frozenset()) -> list[Result]:
        """The bids in contention (but those left out) that are fully scored, best first: the
        totals are computed, never typed in, and a bid left out sets no lowest price."""
        lacking = self.unscored()
        candidates = [
            Candidate(
                b.bid_id,
                b.price.minor,
                b.submitted_at,
                {n: s.score for n, s in self.scores[b.bid_id].items()},
            )
            for b in self._contending(leaving_out)
            if b.bid_id not in lacking
        ]
        return results(self.rules, candidates)

    def _contending(self, leaving_out: frozenset[UUID]) -> list[OpenedBid]:
        out = self.excluded | leaving_out
        return [b for b in self.bids.values() if b.bid_id not in out]

    def _flagged(self, leaving_out: frozenset[UUID]) -> frozenset[UUID]:
        prices = {b.bid_id: b.price.minor for b in self._contending(leaving_out)}
        return abnormally_low(prices, self.rules.abnormally_low_percent)

    def _undecided_flags(self, leaving_out: frozenset[UUID]) -> list[str]:
        """Flagged bids whose abnormally low price the buyer has not accepted yet."""
        return sorted(
            str(b)
            for b in self._flagged(leaving_out)
            if self.low_prices.get(b, LowPrice()).accepted is None
        )

    def bid(self, bid_id: UUID) -> OpenedBid:
        found = self.bids.get(bid_id)
        if found is None:
            raise NotFound(f"no valid bid {bid_id} in this lot")
        return found

    def bid_of(self, organisation_id: UUID) -> OpenedBid | None:
        """The bid this organisation is in (one per lot: the opening made sure)."""
        return next((b for b in self.bids.values() if organisation_id in b.members), None)

    @property
    def summary_recipients(self) -> list[UUID]:
        """Every organisation in a bid, valid or not: each is sent its assessment summary."""
        valid = [member for bid in self.bids.values() for member in bid.members]
        invalid = [member for bid in self.invalid.values() for member in bid.members]
        return list(dict.fromkeys(valid + invalid))

    def summary_for(self, organisation_id: UUID) -> dict[str, Any] | None:
        """What this bidder may know once the lot is decided: its own scores and justifications,
        its result, and the winning bid's scores and result; never another losing bid's."""
        decision = self.decision
        if decision is None:
            return None
        bid = self.bid_of(organisation_id)
        if bid is not None:
            passed_over = {UUID(p["bid_id"]): str(p["reason"]) for p in decision.passed_over}
            return self._summary(
                bid, decision.winner, decision.results, decision.reason, passed_over
            )
        invalid = next((b for b in self.invalid.values() if organisation_id in b.members), None)
        if invalid is None:
            return None
        return self._invalid_summary(invalid, decision.winner, decision.results)

    # The buyer -------------------------------------------------------------------------------

    def score(
        self, context: Context, bid_id: UUID, criterion: str, score: int, justification: str
    ) -> None:
        """One moderated score per criterion: scoring again replaces it, until the decision."""
        self._evaluating()
        self._in_contention(bid_id)
        rule = criterion_named(self.rules, criterion)
        if rule is None:
            named = ", ".join(c.name for c in scored_criteria(self.rules))
            raise InvalidValue("criterion", f"one of the tender's scored criteria: {named}")
        if isinstance(score, bool) or not isinstance(score, int) or not 0 <= score <= rule.scale:
            raise InvalidValue("score", f"a whole number from 0 to {rule.scale}")
        text = domain_text(justification, "justification", MAX_JUSTIFICATION, required=EMPTY)
        self.trigger_event(
            self.BidScored,
            bid_id=bid_id,
            criterion=rule.name,
            score=score,
            justification=text,
            **context.event_kwargs(),
        )

    def query_low_price(self, context: Context, bid_id: UUID) -> None:
        """Tell the bidder its price looks abnormally low and ask why (before any exclusion)."""
        self._evaluating()
        self._in_contention(bid_id)
        if bid_id not in self.flagged:
            raise Conflict(f"bid {bid_id}'s price is not abnormally low by the tender's rule")
        asked = self.low_prices.get(bid_id)
        if asked is not None and asked.accepted is not None:
            raise Conflict(f"bid {bid_id}'s price has been decided on already")
        if asked is not None:
            raise Conflict(f"bid {bid_id} has been asked already")
        self.trigger_event(self.LowPriceQueried, bid_id=bid_id, **context.event_kwargs())

    def record_explanation(self, context: Context, bid_id: UUID, explanation: str) -> None:
        self._evaluating()
        low = self.low_prices.get(bid_id)
        if low is None or low.queried_at is None:
            raise Conflict(f"bid {bid_id} has not been asked to explain its price")
        if low.accepted is not None:
            raise Conflict(f"bid {bid_id}'s price has been decided on already")
        text = domain_text(explanation, "explanation", MAX_REASON, required=EMPTY)
        self.trigger_event(
            self.LowPriceExplained, bid_id=bid_id, explanation=text, **context.event_kwargs()
        )

    def decide_low_price(self, context: Context, bid_id: UUID, accept: bool, reason: str) -> None:
        """Accept a flagged price, or exclude the bid: an exclusion only after the bidder was
        told and its explanation recorded."""
        self._evaluating()
        self._in_contention(bid_id)
        low = self.low_prices.get(bid_id)
        if bid_id not in self.flagged and low is None:
            raise Conflict(f"bid {bid_id}'s price is not abnormally low by the tender's rule")
        if low is not None and low.accepted is not None:
            raise Conflict(f"bid {bid_id}'s price has been decided on already")
        if not accept and (low is None or low.explanation is None):
            raise Conflict(
                "a bid is excluded for an abnormally low price only after its bidder was told "
                "and its explanation recorded"
            )
        text = domain_text(reason, "reason", MAX_REASON, required=EMPTY)
        self.trigger_event(
            self.LowPriceDecided,
            bid_id=bid_id,
            accepted=accept,
            reason=text,
            **context.event_kwargs(),
        )

    def award(
        self, context: Context, terms: TenderTerms, facts: Mapping[UUID, SupplierFacts]
    ) -> None:
        """To the highest total whose members are still eligible (standing, mark, regions:
        checked again now); a bid that is not is passed over, with why."""
        self._evaluating()
        lacking = self.unscored()
        if lacking:
            first = next(iter(lacking))
            raise Conflict(f"bid {first} is not scored on: {', '.join(lacking[first])}")
        passed_over: dict[UUID, str] = {}
        while True:
            # A bid passed over leaves contention: the ranking, the lowest price and the
            # abnormally low prices are those of the bids still in it.
            out = frozenset(passed_over)
            undecided = self._undecided_flags(out)
            if undecided:
                raise Conflict(
                    f"decide first on the abnormally low price of bid {', '.join(undecided)}"
                )
            ranking = self.ranking(out)
            if not ranking:
                raise Conflict(
                    "no bid is eligible at award; the lot may be closed without an award"
                )
            top = ranking[0].bid_id
            why = _ineligible(terms, self.buyer_id, self.bids[top], facts)
            if why is None:
                break
            passed_over[top] = why
        shown = [r.as_data() for r in ranking]
        self.trigger_event(
            self.Awarded,
            bid_id=top,
            results=shown,
            passed_over=[{"bid_id": str(b), "reason": why} for b, why in passed_over.items()],
            summaries=self._summaries(top, shown, None, passed_over),
            **context.event_kwargs(),
        )

    def decline_to_award(self, context: Context, reason: str) -> None:
        self._evaluating()
        text = domain_text(reason, "reason", MAX_REASON, required=EMPTY)
        shown = [r.as_data() for r in self.ranking()]
        self.trigger_event(
            self.NotAwarded,
            reason=text,
            results=shown,
            summaries=self._summaries(None, shown, text, {}),
            **context.event_kwargs(),
        )

    def publish_award_notice(
        self,
        context: Context,
        summaries_sent: bool,
        working_days: int,
        calendar: WorkingCalendar,
    ) -> None:
        """Only once every bidder's summary has been sent; the standstill begins with the day
        of publication."""
        if self.status is not LotStatus.AWARDED:
            raise Conflict(f"only an awarded lot's notice is published (this one is {self.status})")
        if self.notice_published_at is not None:
            raise Conflict("the award notice is published already")
        if not summaries_sent:
            raise Conflict("the award notice waits until every assessment summary has been sent")
        ends = standstill_end(context.at, working_days, calendar)
        self.trigger_event(
            self.AwardNoticePublished,
            standstill_ends=ends,
            working_days=working_days,
            **context.event_kwargs(),
        )

    def standstill_end(self, calendar: WorkingCalendar) -> datetime | None:
        """When the standstill ends by the calendar as it is now: a closure day entered since
        publication lengthens it; nothing shortens it. None before the notice."""
        if self.notice_published_at is None or self.standstill_ends is None:
            return None
        days = self.standstill_days or 0
        return max(self.standstill_ends, standstill_end(self.notice_published_at, days, calendar))

    def standstill_over(self, at: datetime, calendar: WorkingCalendar) -> bool:
        ends = self.standstill_end(calendar)
        return ends is not None and at >= ends

    def sign_contract(
        self, context: Context, value: Money, period: Period, calendar: WorkingCalendar
    ) -> Contract:
        """The contract with the winning bid's members, each with its share, and its
        social-value commitments; never before the standstill ends."""
        if self.status is not LotStatus.AWARDED or self.decision is None:
            raise Conflict(f"only an awarded lot is contracted (this one is {self.status})")
        if self.notice_published_at is None:
            raise Conflict("the award notice is not published yet")
        ends = self.standstill_end(calendar)
        assert ends is not None  # the notice is published
        if context.at < ends:
            last_day = (ends - timedelta(days=1)).astimezone(LONDON).date()
            raise Conflict(f"the standstill runs to the end of {last_day:%A %d %B %Y} (London)")
        assert self.decision.winner is not None
        bid = self.bids[self.decision.winner]
        if value.currency != bid.price.currency:
            raise InvalidValue("currency", f"the contract is in {bid.price.currency}")
        contract = Contract.sign(
            context,
            tender_id=self.tender_id,
            lot_id=self.lot_id,
            bid_id=bid.bid_id,
            buyer_id=self.buyer_id,
            value=value,
            period=period,
            parties=[Party(s.organisation_id, s.percent) for s in bid.shares],
            commitments=bid.commitments,
        )
        self.trigger_event(self.ContractSigned, contract_id=contract.id, **context.event_kwargs())
        return contract

    # Helpers ---------------------------------------------------------------------------------

    def _evaluating(self) -> None:
        if self.status is not LotStatus.EVALUATING:
            raise Conflict(f"the lot's evaluation has ended ({self.status})")

    def _in_contention(self, bid_id: UUID) -> None:
        self.bid(bid_id)
        if bid_id in self.excluded:
            raise Conflict(f"bid {bid_id} is excluded")

    def _summaries(
        self,
        winner: UUID | None,
        shown: list[dict[str, Any]],
        reason: str | None,
        passed_over: Mapping[UUID, str],
    ) -> list[dict[str, Any]]:
        valid = [
            self._summary(bid, winner, shown, reason, passed_over) for bid in self.bids.values()
        ]
        everyone = valid + [self._invalid_summary(b, winner, shown) for b in self.invalid.values()]
        # One summary per organisation (one message each): an organisation in a valid bid and
        # named in an invalid one, or in two invalid ones, is sent the first.
        told: set[str] = set()
        for summary in everyone:
            summary["recipients"] = [r for r in summary["recipients"] if r not in told]
            told.update(summary["recipients"])
        return everyone

    def _invalid_summary(
        self, bid: InvalidBid, winner: UUID | None, shown: list[dict[str, Any]]
    ) -> dict[str, Any]:
        """Not evaluated: why, and the winning bid's scores."""
        summary = self._outline(bid.bid_id, bid.members, "invalid", winner, shown)
        return summary | {"invalid_reason": bid.reason}

    def _summary(
        self,
        bid: OpenedBid,
        winner: UUID | None,
        shown: list[dict[str, Any]],
        reason: str | None,
        passed_over: Mapping[UUID, str],
    ) -> dict[str, Any]:
        """Its points, not its rank: a rank would tell a losing bidder where other losing
        bids stand."""
        by_bid = {r["bid_id"]: _unranked(r) for r in shown}
        low = self.low_prices.get(bid.bid_id)
        if winner == bid.bid_id:
            outcome = "successful"
        elif low is not None and low.accepted is False:
            outcome = "excluded"
        elif bid.bid_id in passed_over:
            outcome = "passed_over"
        else:
            outcome = "unsuccessful"
        summary = self._outline(bid.bid_id, bid.members, outcome, winner, shown)
        return summary | {
            "excluded_reason": low.reason if outcome == "excluded" and low else None,
            "passed_over_reason": passed_over.get(bid.bid_id),
            "decision_reason": reason,
            "result": by_bid.get(str(bid.bid_id)),
            "scores": self._scores_of(bid.bid_id, with_justifications=True),
        }

    def _outline(
        self,
        bid_id: UUID,
        members: tuple[UUID, ...],
        outcome: str,
        winner: UUID | None,
        shown: list[dict[str, Any]],
    ) -> dict[str, Any]:
        """What every summary says: whose, the outcome, the winning bid's scores and points."""
        by_bid = {r["bid_id"]: _unranked(r) for r in shown}
        won = None
        if winner is not None:
            won = {
                "bid_id": str(winner),
                "result": by_bid.get(str(winner)),
                "scores": self._scores_of(winner, with_justifications=False),
            }
        return {
            "tender_id": str(self.tender_id),
            "lot_id": self.lot_id,
            "bid_id": str(bid_id),
            "recipients": [str(m) for m in members],
            "outcome": outcome,
            "excluded_reason": None,
            "passed_over_reason": None,
            "invalid_reason": None,
            "decision_reason": None,
            "result": None,
            "scores": [],
            "winner": won,
        }

    def _scores_of(self, bid_id: UUID, *, with_justifications: bool) -> list[dict[str, Any]]:
        shown = []
        for rule in scored_criteria(self.rules):
            given = self.scores[bid_id].get(rule.name)
            if given is None:
                continue
            entry: dict[str, Any] = {
                "criterion": rule.name,
                "score": given.score,
                "scale": rule.scale,
                "weight": rule.weight,
            }
            if with_justifications:
                entry["justification"] = given.justification
            shown.append(entry)
        return shown


def _unranked(result: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in result.items() if k != "rank"}


def _ineligible(
    terms: TenderTerms, buyer_id: UUID, bid: OpenedBid, facts: Mapping[UUID, SupplierFacts]
) -> str | None:
    for member in bid.members:
        supplier = facts.get(member)
        if supplier is None:
            return f"organisation {member} is not registered"
        why = ineligibility(terms, buyer_id, supplier)
        if why is not None:
            return why
    return None
