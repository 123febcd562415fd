"""A lot's evaluation and award over HTTP (issue 13): after opening, the tender's buyer's users
score each valid bid of a lot, handle abnormally low prices, award the lot (or decline to),
publish the award notice once every bidder's summary has been sent, and sign the contract when
the standstill is over. Each bidder reads its own assessment summary; anyone reads a published
award notice.

The evaluation is the buyer's: anyone else (staff may read it) gets the same 404 as for a lot
that has none, as before opening. The domain decides every rule (`marketplace.evaluation`);
these handlers find who the caller is and what it acts on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec
from litestar import Controller, Response, get, post, put
from litestar.datastructures import ResponseHeader
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, JSONBody
from sqlalchemy.ext.asyncio import AsyncEngine

from marketplace.application import MarketplaceApp
from marketplace.evaluation.application import Score
from marketplace.evaluation.lot import LotEvaluation, LowPrice, OpenedBid, Scored
from marketplace.evaluation.scoring import scored_criteria
from marketplace.tender_terms import Period
from sharedkernel.errors import NotFound
from sharedkernel.moments import plausible_moment
from sharedkernel.money import Money
from tradehall.api.access import PUBLIC, SIGNED_IN, Access, rule
from tradehall.api.commands import Commands, current_user, etag
from tradehall.api.marketplace.contracts import contract_signed
from tradehall.api.marketplace.schemas.bids import CommitmentView
from tradehall.api.marketplace.schemas.evaluation import (
    AssessmentSummaryView,
    AwardNoticeView,
    ContractBody,
    DecisionView,
    EvaluatedBidView,
    EvaluationView,
    ExplanationBody,
    LowPriceDecisionBody,
    LowPriceView,
    MemberView,
    NoAwardBody,
    PassedOverView,
    ResultView,
    ScoresBody,
    ScoreView,
    UnscoredView,
)
from tradehall.api.marketplace.suppliers import SUPPLIERS, Suppliers
from tradehall.api.ownership import caller_organisation
from tradehall.api.schemas.common import CommandResult
from tradehall.identity.users import Role
from tradehall.marketplace import LOG
from tradehall.marketplace.award_notices import summaries_sent

LOT = "/tenders/{tender_id:uuid}/lots/{lot_id:str}"
BID = LOT + "/bids/{bid_id:uuid}"
# Checked in the handler against the evaluation itself.
LOT_BUYER = Access(
    "users of the tender's buyer organisation, after opening (others: 404)",
    roles=frozenset(Role),
)
LOT_BUYER_OR_STAFF = Access(
    "users of the tender's buyer organisation, or staff, after opening (others: 404)",
    roles=frozenset(Role),
)
NO_CACHE = "private, no-store"
ETAG_HEADER = [
    ResponseHeader(name="ETag", description="the evaluation's version", documentation_only=True)
]


# Who acts, on what ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Lot:
    """The lot a route names, as the `lot` dependency: its path's ids and the marketplace. Built
    from the path alone (no I/O, cannot fail), so a bad body is still a 400 before the handler
    looks the evaluation up and checks the caller."""

    marketplace: MarketplaceApp
    tender_id: UUID
    lot_id: str

    @property
    def ids(self) -> tuple[UUID, str]:
        """What every lot command takes first: the tender's id and the lot's."""
        return self.tender_id, self.lot_id


def _lot(
    marketplace: NamedDependency[MarketplaceApp],
    tender_id: FromPath[UUID],
    lot_id: FromPath[str],
) -> Lot:
    return Lot(marketplace, tender_id, lot_id)


def _no_evaluation(lot: Lot) -> NotFoundException:
    return NotFoundException(f"no evaluation of lot {lot.lot_id} of tender {lot.tender_id}")


async def _found(commands: Commands, lot: Lot) -> LotEvaluation | None:
    """The lot's evaluation, if its bids are opened."""
    try:
        return await commands.run(lot.marketplace.lot_evaluation, *lot.ids)
    except NotFound:
        return None


async def _evaluation(commands: Commands, lot: Lot) -> LotEvaluation:
    """The lot's evaluation (none before opening: 404)."""
    found = await _found(commands, lot)
    if found is None:
        raise _no_evaluation(lot)
    return found


async def _buyers_evaluation(commands: Commands, lot: Lot) -> LotEvaluation:
    """The evaluation, if the caller is one of the buyer organisation's users; else the 404 of
    a lot with none."""
    evaluation = await _evaluation(commands, lot)
    if caller_organisation(commands) != evaluation.buyer_id:
        raise _no_evaluation(lot)
    return evaluation


async def _readable_evaluation(commands: Commands, lot: Lot) -> LotEvaluation:
    """As `_buyers_evaluation`, staff too (to read)."""
    if Role.STAFF in current_user(commands.request).roles:
        return await _evaluation(commands, lot)
    return await _buyers_evaluation(commands, lot)


# Views ------------------------------------------------------------------------------------------


def _members(bid: OpenedBid) -> list[MemberView]:
    return [MemberView(organisation_id=s.organisation_id, share=s.percent) for s in bid.shares]


def _low_price(low: LowPrice | None) -> LowPriceView | None:
    if low is None:
        return None
    return LowPriceView(
        queried_at=low.queried_at,
        explanation=low.explanation,
        decision=None if low.accepted is None else "accepted" if low.accepted else "excluded",
        reason=low.reason,
    )


def _in_criteria_order(evaluation: LotEvaluation, bid: OpenedBid) -> list[tuple[str, Scored]]:
    given = evaluation.scores[bid.bid_id]
    names = [c.name for c in scored_criteria(evaluation.rules)]
    return [(name, given[name]) for name in names if name in given]


def _bid_view(evaluation: LotEvaluation, bid: OpenedBid) -> EvaluatedBidView:
    return EvaluatedBidView(
        bid_id=bid.bid_id,
        members=_members(bid),
        price_minor=bid.price.minor,
        currency=bid.price.currency,
        commitments=[
            CommitmentView(measure=c.measure, quantity=c.quantity, unit=c.unit)
            for c in bid.commitments
        ],
        submitted_at=bid.submitted_at,
        scores=[
            ScoreView(criterion=name, score=given.score, justification=given.justification)
            for name, given in _in_criteria_order(evaluation, bid)
        ],
        low_price=_low_price(evaluation.low_prices.get(bid.bid_id)),
    )


def _decision_view(evaluation: LotEvaluation) -> DecisionView | None:
    decision = evaluation.decision
    if decision is None:
        return None
    return DecisionView(
        winner=decision.winner,
        passed_over=msgspec.convert(decision.passed_over, list[PassedOverView]),
        reason=decision.reason,
    )


def evaluation_view(evaluation: LotEvaluation, standstill_ends: datetime | None) -> EvaluationView:
    return EvaluationView(
        tender_id=evaluation.tender_id,
        lot_id=evaluation.lot_id,
        version=evaluation.version,
        status=evaluation.status.value,
        bids=[_bid_view(evaluation, bid) for bid in evaluation.bids.values()],
        flagged=sorted(evaluation.flagged, key=str),
        excluded=sorted(evaluation.excluded, key=str),
        unscored=[
            UnscoredView(bid_id=bid_id, criteria=criteria)
            for bid_id, criteria in evaluation.unscored().items()
        ],
        ranking=msgspec.convert([r.as_data() for r in evaluation.ranking()], list[ResultView]),
        decision=_decision_view(evaluation),
        notice_published_at=evaluation.notice_published_at,
        standstill_ends=standstill_ends,
        contract_id=evaluation.contract_id,
    )


def award_notice_view(
    evaluation: LotEvaluation, standstill_ends: datetime | None
) -> AwardNoticeView | None:
    """The published award notice, or None before it is published."""
    decision, published_at = evaluation.decision, evaluation.notice_published_at
    if decision is None or decision.winner is None or published_at is None:
        return None
    winner = evaluation.bid(decision.winner)
    return AwardNoticeView(
        tender_id=evaluation.tender_id,
        lot_id=evaluation.lot_id,
        winners=_members(winner),
        price_minor=winner.price.minor,
        currency=winner.price.currency,
        published_at=published_at,
        standstill_ends=standstill_ends,
        contracted=evaluation.contract_id is not None,
    )


class EvaluationController(Controller):
    path = "/api/v1"
    tags = ["evaluation"]
    dependencies = {"lot": Provide(_lot, sync_to_thread=False), "suppliers": SUPPLIERS}

    # The buyer (and staff, to read) ------------------------------------------------------

    @get(
        LOT + "/evaluation",
        opt=rule(LOT_BUYER_OR_STAFF),
        summary="A lot's evaluation: its valid bids, scores, low prices, ranking, decision",
        description=(
            "The buyer's users and staff (read only), once the bids are opened; anyone else, "
            "and before opening, 404. Points and totals are computed (decimal strings, rounded "
            "half up to two places), never typed in."
        ),
        response_headers=ETAG_HEADER,
    )
    async def evaluation(
        self,
        commands: NamedDependency[Commands],
        lot: NamedDependency[Lot],
    ) -> Response[EvaluationView]:
        evaluation = await _readable_evaluation(commands, lot)
        ends = await commands.run(lot.marketplace.standstill_end_of, evaluation)
        return Response(
            evaluation_view(evaluation, ends),
            headers={"ETag": etag(evaluation.version), "Cache-Control": NO_CACHE},
        )

    @put(
        BID + "/scores",
        opt=rule(LOT_BUYER),
        status_code=200,
        summary="Score a valid bid on one or more criteria, each with a justification",
        description=(
            "A whole number on each criterion's scale (quality and social value; price is "
            "computed). Scoring a criterion again replaces its score, until the decision; the "
            "criteria not named keep theirs."
        ),
    )
    async def score(
        self,
        commands: NamedDependency[Commands],
        lot: NamedDependency[Lot],
        bid_id: FromPath[UUID],
        data: JSONBody[ScoresBody],
    ) -> Response[CommandResult]:
        await _buyers_evaluation(commands, lot)
        scores = [Score(s.criterion, s.score, s.justification) for s in data.scores]
        return await commands.execute(LOG, lot.marketplace.score_bid, *lot.ids, bid_id, scores)

    @post(
        BID + "/low-price-query",
        opt=rule(LOT_BUYER),
        status_code=200,
        summary="Tell the bidder its price looks abnormally low and ask it to explain",
        description="Only a bid flagged by the tender's published rule, and only once.",
    )
    async def query_low_price(
        self,
        commands: NamedDependency[Commands],
        lot: NamedDependency[Lot],
        bid_id: FromPath[UUID],
    ) -> Response[CommandResult]:
        await _buyers_evaluation(commands, lot)
        return await commands.execute(LOG, lot.marketplace.query_low_price, *lot.ids, bid_id)

    @post(
        BID + "/low-price-explanation",
        opt=rule(LOT_BUYER),
        status_code=200,
        summary="Record the bidder's explanation of its abnormally low price",
    )
    async def record_explanation(
        self,
        commands: NamedDependency[Commands],
        lot: NamedDependency[Lot],
        bid_id: FromPath[UUID],
        data: JSONBody[ExplanationBody],
    ) -> Response[CommandResult]:
        await _buyers_evaluation(commands, lot)
        return await commands.execute(
            LOG, lot.marketplace.record_low_price_explanation, *lot.ids, bid_id, data.explanation
        )

    @post(
        BID + "/low-price-decision",
        opt=rule(LOT_BUYER),
        status_code=200,
        summary="Accept an abnormally low price, or exclude the bid, with a reason",
        description=(
            "An exclusion only after the bidder was asked and its explanation recorded (409). "
            "An excluded bid no longer ranks, nor sets the lowest price."
        ),
    )
    async def decide_low_price(
        self,
        commands: NamedDependency[Commands],
        lot: NamedDependency[Lot],
        bid_id: FromPath[UUID],
        data: JSONBody[LowPriceDecisionBody],
    ) -> Response[CommandResult]:
        await _buyers_evaluation(commands, lot)
        return await commands.execute(
            LOG, lot.marketplace.decide_low_price, *lot.ids, bid_id, data.accept, data.reason
        )

    @post(
        LOT + "/award",
        opt=rule(LOT_BUYER),
        status_code=200,
        summary="Award the lot to the highest total whose members are still eligible",
        description=(
            "Every bid in contention scored and every abnormally low price decided (else 409). "
            "Each member's eligibility (standing, quality mark, regions) is checked again now; "
            "a bid that fails is passed over, with why. Every bidder is sent its assessment "
            "summary."
        ),
    )
    async def award(
        self,
        commands: NamedDependency[Commands],
        suppliers: NamedDependency[Suppliers],
        lot: NamedDependency[Lot],
    ) -> Response[CommandResult]:
        evaluation = await _buyers_evaluation(commands, lot)
        members = {m for bid in evaluation.bids.values() for m in bid.members}
        facts = await suppliers.facts_of(commands, sorted(members, key=str))
        return await commands.execute(LOG, lot.marketplace.award_lot, *lot.ids, facts)

    @post(
        LOT + "/no-award",
        opt=rule(LOT_BUYER),
        status_code=200,
        summary="Decide not to award the lot, with a reason",
        description="Every bidder is sent its assessment summary.",
    )
    async def decline(
        self,
        commands: NamedDependency[Commands],
        lot: NamedDependency[Lot],
        data: JSONBody[NoAwardBody],
    ) -> Response[CommandResult]:
        await _buyers_evaluation(commands, lot)
        return await commands.execute(LOG, lot.marketplace.decline_to_award, *lot.ids, data.reason)

    @post(
        LOT + "/award-notice",
        opt=rule(LOT_BUYER),
        status_code=200,
        summary="Publish the award notice; the standstill begins",
        description=(
            "Only once every bidder's assessment summary has been sent (409 until then). The "
            "standstill runs for the configured working days (at least 8), closure days and "
            "UK bank holidays excluded."
        ),
    )
    async def publish_award_notice(
        self,
        commands: NamedDependency[Commands],
        engine: NamedDependency[AsyncEngine],
        lot: NamedDependency[Lot],
    ) -> Response[CommandResult]:
        evaluation = await _buyers_evaluation(commands, lot)
        sent = await summaries_sent(engine, evaluation)
        return await commands.execute(LOG, lot.marketplace.publish_award_notice, *lot.ids, sent)

    @post(
        LOT + "/contract",
        opt=rule(LOT_BUYER),
        status_code=201,
        summary="Sign the contract with the winning bid's members, after the standstill",
        description=(
            "In the winning bid's currency; its parties and shares and its social-value "
            "commitments are the winning bid's. Answers the contract's id and version."
        ),
        response_headers=[
            ResponseHeader(
                name="ETag", description="the contract's version", documentation_only=True
            ),
            ResponseHeader(name="Location", description="the contract", documentation_only=True),
        ],
    )
    async def sign_contract(
        self,
        commands: NamedDependency[Commands],
        lot: NamedDependency[Lot],
        data: JSONBody[ContractBody],
    ) -> Response[CommandResult]:
        await _buyers_evaluation(commands, lot)
        value = Money(data.currency, data.value_minor)
        period = Period.parse(
            plausible_moment("period.start", data.period.start),
            plausible_moment("period.end", data.period.end),
            "period",
        )
        saved = await commands.save(lot.marketplace.sign_contract, *lot.ids, value, period)
        return contract_signed(saved)

    # Bidders -----------------------------------------------------------------------------

    @get(
        LOT + "/assessment-summary",
        opt=rule(SIGNED_IN),
        summary="Your organisation's assessment summary of the lot, once it is decided",
        description=(
            "Your bid's scores and justifications, its result, and the winning bid's scores; "
            "never another bid's. 404 to anyone not in a bid of the lot, and before the "
            "decision."
        ),
    )
    async def assessment_summary(
        self,
        commands: NamedDependency[Commands],
        lot: NamedDependency[Lot],
    ) -> Response[AssessmentSummaryView]:
        organisation_id = caller_organisation(commands)
        summary: dict[str, Any] | None = None
        if organisation_id is not None:
            # Not opened, not a bidder, not decided: the same 404.
            evaluation = await _found(commands, lot)
            summary = None if evaluation is None else evaluation.summary_for(organisation_id)
        if summary is None:
            raise NotFoundException(
                f"no assessment summary of lot {lot.lot_id} of tender {lot.tender_id}"
            )
        return Response(
            msgspec.convert(summary, AssessmentSummaryView),
            headers={"Cache-Control": NO_CACHE},
        )

    # The public --------------------------------------------------------------------------

    @get(
        LOT + "/award",
        opt=rule(PUBLIC),
        summary="The lot's published award notice: the winning members, price, standstill",
        description="404 until the award notice is published.",
    )
    async def award_notice(
        self,
        commands: NamedDependency[Commands],
        lot: NamedDependency[Lot],
    ) -> Response[AwardNoticeView]:
        evaluation = await _found(commands, lot)
        notice = None
        if evaluation is not None:
            ends = await commands.run(lot.marketplace.standstill_end_of, evaluation)
            notice = award_notice_view(evaluation, ends)
        if notice is None:
            raise NotFoundException(
                f"no award notice of lot {lot.lot_id} of tender {lot.tender_id}"
            )
        return Response(notice, headers={"Cache-Control": "no-cache"})


CONTROLLERS: tuple[type[Controller], ...] = (EvaluationController,)
