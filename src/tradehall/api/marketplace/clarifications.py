"""Tenders' clarifications and suppliers' interest over HTTP (issue 11).

During a tender's enquiry period a supplier (a user of an organisation other than the buyer)
asks a question; the buyer's users see the open questions and answer; every answer is
published to all. The asker is never revealed but to staff: no public or buyer response has a
field for it, the question's id is random (nothing in it names the asker), and the read model
behind the public and buyer views does not hold it (`projections.clarifications`).

A supplier registers interest in an open tender (once; again changes nothing) and is told of
every amendment and published answer (`tradehall.marketplace.notices`). Nobody but the
supplier itself learns that it registered: the answer says only `registered`, and only for the
caller's own organisation.

A draft tender is the buyer's private business: every route here answers 404 for it, as for a
tender that does not exist, and so does a route of the buyer's for anyone else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError
from litestar import Controller, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import FromPath, JSONBody

from marketplace.application import MarketplaceApp
from marketplace.tenders import Clarification, Interest, Tender, interest_id_for
from membership.application import MembershipApp
from projections.clarifications import open_questions, published_clarifications
from sharedkernel.errors import NotFound
from tradehall.api.access import PUBLIC, Access, rule, staff_only
from tradehall.api.commands import Commands, command_response, etag, idempotency_key
from tradehall.api.marketplace.schemas.clarifications import (
    AnswerQuestion,
    AskQuestion,
    InterestView,
    OpenQuestion,
    OpenQuestions,
    PublishedQuestion,
    PublishedQuestions,
    StaffQuestionView,
)
from tradehall.api.marketplace.tenders import buyer_of
from tradehall.api.ownership import caller_organisation, load_or_404, owned_by_caller
from tradehall.api.read_models import ReadModel, list_response, read_model
from tradehall.api.reads import PositionParam
from tradehall.api.schemas.common import CommandResult
from tradehall.identity.users import Role
from tradehall.marketplace import LOG
from tradehall.marketplace.sealing.ids import keyed_uuid
from tradehall.marketplace.sealing.keys import SealingKeys

# The projection whose table the reads use (read-your-writes waits on it).
PROJECTION = "clarifications"
# Checked in the handler against the tender itself.
SUPPLIER = Access("users of an organisation other than the tender's buyer", roles=frozenset(Role))
TENDER_BUYER = Access(
    "users of the tender's buyer organisation (others: 404)", roles=frozenset(Role)
)


def _no_tender(tender_id: UUID) -> NotFoundException:
    return NotFoundException(f"no tender {tender_id}")


def _no_question(clarification_id: UUID) -> NotFoundException:
    return NotFoundException(f"no question {clarification_id}")


def _published(tender: Tender) -> Tender:
    """The tender, once published; a draft (private) is a 404."""
    if not tender.published:
        raise _no_tender(tender.id)
    return tender


@dataclass(frozen=True)
class _TenderAt:
    """The tender a route names, as the `tender` dependency: the marketplace and the tender's
    id, only bundled (no I/O). Each handler checks, in its body, that the tender is published
    and what the caller may do with it."""

    marketplace: MarketplaceApp
    tender_id: UUID


def _tender_at(
    marketplace: NamedDependency[MarketplaceApp], tender_id: FromPath[UUID]
) -> _TenderAt:
    return _TenderAt(marketplace, tender_id)


async def _published_tender(commands: Commands, at: _TenderAt) -> Tender:
    """The tender, once published; a draft (private) or an unknown one is a 404."""
    tender = await load_or_404(commands, at.marketplace.tender, at.tender_id, _no_tender)
    return _published(tender)


async def _own_tender(commands: Commands, at: _TenderAt) -> Tender:
    """The published tender, if the caller is one of its buyer's users; else 404."""
    tender = await owned_by_caller(
        commands, at.marketplace.tender, at.tender_id, buyer_of, _no_tender
    )
    return _published(tender)


async def _supplier(commands: Commands, at: _TenderAt) -> UUID:
    """The caller's organisation, as a supplier to the published tender (the buyer's own users
    are refused by the domain: 409)."""
    await _published_tender(commands, at)
    # The asker's and the interest's events carry it: a plain UUID.
    organisation_id = caller_organisation(commands)
    if organisation_id is None:
        raise PermissionDeniedException("only users of an organisation ask or register interest")
    return organisation_id


def _question_id(sealing: SealingKeys, tender_id: UUID, asker_id: UUID, key: str) -> UUID:
    """A question's id from the client's key: the same retried is the same question. Keyed
    by the tender's data key (made at its publication; ADR 27), as a bid's id is, so the
    buyer, who sees the id, cannot recompute it from a supplier's id and a guessed key; a
    tender with no key (none is made here) gives a fresh id, as a question with no key."""
    tender_key = sealing.existing_tender_key(tender_id)
    if tender_key is None:
        return uuid4()
    return keyed_uuid(tender_key, f"question:{tender_id}:{asker_id}:{key}")


def _registered(marketplace: MarketplaceApp, tender_id: UUID, supplier_id: UUID) -> bool:
    try:
        found: object = marketplace.repository.get(interest_id_for(tender_id, supplier_id))
    except AggregateNotFoundError:  # never registered
        return False
    return isinstance(found, Interest)


class TenderQuestionsController(Controller):
    path = "/api/v1/tenders/{tender_id:uuid}"
    tags = ["tenders"]
    dependencies = {
        "tender": Provide(_tender_at, sync_to_thread=False),
        "read_model": read_model(PROJECTION),
    }

    @post(
        "/questions",
        opt=rule(SUPPLIER),
        status_code=201,
        summary="Ask a question about a tender, during its enquiry period (suppliers)",
        description=(
            "Asked for the caller's organisation; who asked is never shown to the buyer or the "
            "public (staff only). After the enquiry period, or by the buyer's own users: 409. A "
            "draft or unknown tender: 404. With an `Idempotency-Key`, a retried question "
            "answers the same question and records nothing more (even past the enquiry "
            "period); the same key with another question is a 409. The question's id is then a "
            "keyed hash of the tender, the organisation and the key: nobody without the "
            "tender's key can test whose question it is."
        ),
    )
    async def ask(
        self,
        commands: NamedDependency[Commands],
        sealing: NamedDependency[SealingKeys],
        tender: NamedDependency[_TenderAt],
        data: JSONBody[AskQuestion],
    ) -> Response[CommandResult]:
        asker_id = await _supplier(commands, tender)
        key = idempotency_key(commands.request)
        question_id = (
            uuid4()
            if key is None
            else await commands.run(_question_id, sealing, tender.tender_id, asker_id, key)
        )
        saved = await commands.record(
            tender.marketplace.ask_question, question_id, tender.tender_id, asker_id, data.question
        )
        return command_response(saved, LOG, status_code=201)

    @get(
        "/questions",
        opt=rule(PUBLIC),
        summary="A tender's published questions and answers, oldest first (never who asked)",
    )
    async def published(
        self,
        commands: NamedDependency[Commands],
        tender: NamedDependency[_TenderAt],
        read_model: NamedDependency[ReadModel],
        position: PositionParam = None,
    ) -> Response[PublishedQuestions]:
        await _published_tender(commands, tender)
        found, consistent = await read_model.query(
            position, published_clarifications, tender.tender_id
        )
        items = [
            PublishedQuestion(question=q.question, answer=q.answer, answered_at=q.answered_at)
            for q in found
        ]
        return list_response(PublishedQuestions, items, consistent)

    @get(
        "/questions/unanswered",
        opt=rule(TENDER_BUYER),
        summary="A tender's questions waiting for an answer (the buyer's users; never who asked)",
    )
    async def unanswered(
        self,
        commands: NamedDependency[Commands],
        tender: NamedDependency[_TenderAt],
        read_model: NamedDependency[ReadModel],
        position: PositionParam = None,
    ) -> Response[OpenQuestions]:
        await _own_tender(commands, tender)
        found, consistent = await read_model.query(position, open_questions, tender.tender_id)
        items = [
            OpenQuestion(id=q.clarification_id, question=q.question, asked_at=q.asked_at)
            for q in found
        ]
        return list_response(OpenQuestions, items, consistent)

    @post(
        "/interest",
        opt=rule(SUPPLIER),
        status_code=200,
        summary="Register the caller's organisation's interest in an open tender (once)",
        description=(
            "Interested suppliers are told of every amendment and published answer. Registering "
            "again changes nothing. No buyer ever sees who registered. The buyer's own users: "
            "409. A draft or unknown tender: 404."
        ),
    )
    async def register_interest(
        self,
        commands: NamedDependency[Commands],
        tender: NamedDependency[_TenderAt],
    ) -> InterestView:
        supplier_id = await _supplier(commands, tender)
        await commands.record(tender.marketplace.register_interest, tender.tender_id, supplier_id)
        return InterestView(registered=True)

    @get(
        "/interest",
        opt=rule(SUPPLIER),
        summary="Whether the caller's own organisation registered interest in the tender",
    )
    async def interest(
        self,
        commands: NamedDependency[Commands],
        tender: NamedDependency[_TenderAt],
    ) -> InterestView:
        supplier_id = await _supplier(commands, tender)
        registered = await commands.run(
            _registered, tender.marketplace, tender.tender_id, supplier_id
        )
        return InterestView(registered=registered)


async def _question(
    commands: Commands, marketplace: MarketplaceApp, clarification_id: UUID
) -> Clarification:
    return await load_or_404(commands, marketplace.clarification, clarification_id, _no_question)


class QuestionsController(Controller):
    path = "/api/v1/questions/{clarification_id:uuid}"
    tags = ["tenders"]

    @post(
        "/answer",
        opt=rule(TENDER_BUYER),
        status_code=200,
        summary="Answer a question (the tender's buyer's users); the answer is published to all",
    )
    async def answer(
        self,
        commands: NamedDependency[Commands],
        marketplace: NamedDependency[MarketplaceApp],
        clarification_id: FromPath[UUID],
        data: JSONBody[AnswerQuestion],
    ) -> Response[CommandResult]:
        question = await _question(commands, marketplace, clarification_id)
        try:
            await _own_tender(commands, _TenderAt(marketplace, question.tender_id))
        except NotFoundException as error:
            raise _no_question(clarification_id) from error
        return await commands.execute(
            LOG, marketplace.answer_question, clarification_id, data.answer
        )

    @get(
        "/",
        opt=rule(staff_only()),
        summary="A question with the organisation that asked it (staff only)",
    )
    async def question(
        self,
        commands: NamedDependency[Commands],
        marketplace: NamedDependency[MarketplaceApp],
        membership: NamedDependency[MembershipApp],
        clarification_id: FromPath[UUID],
    ) -> Response[StaffQuestionView]:
        question = await _question(commands, marketplace, clarification_id)
        try:
            asker = await commands.run(membership.get_organisation, question.asker_id)
            asker_name: str | None = asker.name
        except NotFound:
            asker_name = None
        view = StaffQuestionView(
            id=question.id,
            tender_id=question.tender_id,
            question=question.question,
            asked_at=question.created_on,
            asker_id=question.asker_id,
            asker_name=asker_name,
            answer=question.answer,
            answered_at=question.answered_at,
            version=question.version,
        )
        return Response(view, headers={"ETag": etag(question.version)})


# The controllers the marketplace declaration serves.
CONTROLLERS: tuple[Any, ...] = (TenderQuestionsController, QuestionsController)
