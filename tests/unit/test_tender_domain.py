"""Tenders: terms and their rules (weights, scales, social value policy, periods), every status
transition, amendments (never a shorter deadline; evaluation frozen without a longer one),
clarifications in the enquiry period, interest."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from marketplace.tender_terms import (
    CriterionInput,
    LotInput,
    SocialValuePolicy,
    TenderTerms,
    parse_evaluation,
    parse_terms,
)
from marketplace.tenders import (
    MAX_AMENDMENTS,
    Clarification,
    Interest,
    Tender,
    TenderDocument,
    TenderStatus,
)
from sharedkernel.errors import Conflict, InvalidValue
from sharedkernel.events import Context

NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)
BUYER = uuid.uuid4()
SUPPLIER = uuid.uuid4()
POLICY = SocialValuePolicy()


def ctx(at: datetime = NOW) -> Context:
    return Context("user:buyer", "r", at)


def evaluation(social: int = 10, price: int = 40, tie_break: str = "highest_quality") -> Any:
    return parse_evaluation(
        CriterionInput("price", price, 10),
        [
            CriterionInput("method statement", 30, 5),
            CriterionInput("experience", 100 - price - social - 30, 5),
        ],
        CriterionInput("social value", social, 10),
        tie_break,
        20,
    )


def terms(deadline_days: int = 30, **overrides: Any) -> TenderTerms:
    given: dict[str, Any] = {
        "title": "Grounds maintenance",
        "description": "Parks and verges across the borough",
        "method": "open",
        "category": "services",
        "lots": [
            LotInput("North", "North parks", ["77310000"], 40_000_000),
            LotInput("South", "South verges", ["77310000-6", "77300000"], 25_000_000),
        ],
        "enquiry_period": (NOW, NOW + timedelta(days=deadline_days - 10)),
        "tender_period": (NOW, NOW + timedelta(days=deadline_days)),
        "contract_period": (
            NOW + timedelta(days=deadline_days + 30),
            NOW + timedelta(days=deadline_days + 400),
        ),
        "members_only": True,
        "quality_mark_required": False,
        "regions": ["tlc4"],
        "evaluation": evaluation(),
    } | overrides
    return parse_terms(**given)


def drafted(t: TenderTerms | None = None) -> Tender:
    return Tender.draft(ctx(), uuid.uuid4(), BUYER, "ocds-th01", t or terms())


def published(t: TenderTerms | None = None) -> Tender:
    tender = drafted(t)
    tender.publish(ctx(), verified_buyer=True, buyer_kind="public_body", policy=POLICY)
    return tender


# Terms --------------------------------------------------------------------------------------


def test_terms_are_normalised_and_lots_numbered() -> None:
    parsed = terms()
    assert [lot.id for lot in parsed.lots] == ["lot-1", "lot-2"]
    assert parsed.lots[0].cpv_codes == ("77310000-6",)
    assert parsed.eligibility.regions == ("TLC4",)
    assert parsed.cpv_codes == ("77310000-6", "77300000-3")
    assert TenderTerms.from_data(parsed.as_data()) == parsed


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (
            lambda: parse_evaluation(
                CriterionInput("price", 60, 10),
                [CriterionInput("q", 40, 5)],
                CriterionInput("sv", 10, 5),
                "lowest_price",
                20,
            ),
            "evaluation",  # sums to 110
        ),
        (
            lambda: parse_evaluation(
                CriterionInput("price", 50, 7),
                [CriterionInput("q", 40, 5)],
                CriterionInput("sv", 10, 5),
                "lowest_price",
                20,
            ),
            "evaluation.price.scale",
        ),
        (
            lambda: parse_evaluation(
                CriterionInput("price", 50, 5),
                [CriterionInput("q", 20, 5), CriterionInput("Q", 20, 5)],
                CriterionInput("sv", 10, 5),
                "lowest_price",
                20,
            ),
            "evaluation.quality",
        ),
        (
            lambda: parse_evaluation(
                CriterionInput("price", 50, 5),
                [CriterionInput("Social value", 40, 5)],
                CriterionInput("social value", 10, 5),
                "lowest_price",
                20,
            ),
            "evaluation.social_value.name",  # bids are scored per criterion name
        ),
        (lambda: evaluation(tie_break="coin toss"), "evaluation.tie_break"),
        (lambda: terms(method="auction"), "method"),
        (lambda: terms(lots=[]), "lots"),
        (
            lambda: terms(lots=[LotInput("x", "", ["99999999"], 1)]),
            "lots[0].cpv_codes[0]",
        ),
        (lambda: terms(lots=[LotInput("x", "", ["77310000"], 0)]), "lots[0].value_minor"),
        (lambda: terms(regions=["nowhere"]), "regions[0]"),
        (
            lambda: terms(enquiry_period=(NOW, NOW + timedelta(days=31))),
            "enquiry_period.end",
        ),
        (lambda: terms(tender_period=(NOW, NOW)), "tender_period.end"),
    ],
)
def test_bad_terms_name_their_field(build: Any, field: str) -> None:
    with pytest.raises(InvalidValue) as error:
        build()
    assert error.value.field == field


def test_the_social_value_policy_refuses_a_public_body_below_ten_percent() -> None:
    low = drafted(terms(evaluation=evaluation(social=5, price=45)))
    with pytest.raises(InvalidValue) as error:
        low.publish(ctx(), verified_buyer=True, buyer_kind="public_body", policy=POLICY)
    assert error.value.field == "evaluation.social_value.weight"
    assert "PPN 06/20" in error.value.message
    assert low.status is TenderStatus.DRAFT
    # A business has no minimum by default; the policy is configurable.
    low.publish(ctx(), verified_buyer=False, buyer_kind="business", policy=POLICY)
    strict = SocialValuePolicy({"public_body": 10, "business": 20})
    with pytest.raises(InvalidValue):
        drafted().publish(ctx(), verified_buyer=False, buyer_kind="business", policy=strict)


# Transitions --------------------------------------------------------------------------------


def test_an_unverified_public_body_cannot_publish() -> None:
    tender = drafted()
    with pytest.raises(Conflict):
        tender.publish(ctx(), verified_buyer=False, buyer_kind="public_body", policy=POLICY)


def test_a_draft_is_revised_published_once_and_then_only_amended() -> None:
    tender = drafted()
    assert tender.ocid == f"ocds-th01-{tender.id}"
    tender.revise_draft(ctx(), terms(title="Grounds maintenance 2027"))
    tender.publish(ctx(), verified_buyer=True, buyer_kind="public_body", policy=POLICY)
    assert tender.status is TenderStatus.ACTIVE
    with pytest.raises(Conflict):
        tender.publish(ctx(), verified_buyer=True, buyer_kind="public_body", policy=POLICY)
    with pytest.raises(Conflict):
        tender.revise_draft(ctx(), terms(title="Other"))


def test_planned_opens_or_is_withdrawn() -> None:
    tender = drafted()
    tender.publish(
        ctx(), verified_buyer=True, buyer_kind="public_body", policy=POLICY, planned=True
    )
    assert tender.status is TenderStatus.PLANNED
    with pytest.raises(Conflict):
        tender.cancel(ctx(), "no")
    tender.activate(ctx())
    assert tender.status is TenderStatus.ACTIVE
    other = drafted()
    other.publish(ctx(), verified_buyer=True, buyer_kind="public_body", policy=POLICY, planned=True)
    other.withdraw(ctx(), "budget cut")
    assert (other.status, other.end_reason) == (TenderStatus.WITHDRAWN, "budget cut")


def test_cancellation_says_why_and_is_final() -> None:
    tender = published()
    with pytest.raises(InvalidValue):
        tender.cancel(ctx(), "  ")
    tender.cancel(ctx(), "the need has gone")
    assert tender.status is TenderStatus.CANCELLED
    with pytest.raises(Conflict):
        tender.amend(ctx(), terms(title="x"), "why", buyer_kind="public_body", policy=POLICY)


def test_unsuccessful_only_after_the_deadline() -> None:
    tender = published()
    with pytest.raises(Conflict):
        tender.close_unsuccessful(ctx(), "no bids")
    tender.close_unsuccessful(ctx(tender.terms.deadline), "no bids")
    assert tender.status is TenderStatus.UNSUCCESSFUL


# Amendments ---------------------------------------------------------------------------------


def test_an_amendment_says_what_changed_and_why() -> None:
    tender = published()
    tender.amend(
        ctx(), terms(deadline_days=40), "more time", buyer_kind="public_body", policy=POLICY
    )
    event = tender.collect_events()[-1]
    assert isinstance(event, Tender.Amended)
    assert event.changed == ["enquiry_period", "tender_period", "contract_period"]
    assert event.rationale == "more time"
    with pytest.raises(InvalidValue):
        tender.amend(ctx(), tender.terms, "nothing", buyer_kind="public_body", policy=POLICY)
    with pytest.raises(InvalidValue):
        tender.amend(ctx(), terms(title="y"), " ", buyer_kind="public_body", policy=POLICY)


def test_an_amendment_never_removes_a_lot_and_adds_lots_after_the_last() -> None:
    """Bids, evaluations and OCDS releases name lots by place: removing lot-1 would make the
    South lot lot-1 under bids made for North."""
    tender = published()
    south = [LotInput("South", "South verges", ["77310000"], 25_000_000)]
    with pytest.raises(InvalidValue) as refused:
        tender.amend(ctx(), terms(lots=south), "one lot", buyer_kind="public_body", policy=POLICY)
    assert refused.value.field == "lots"
    more = [
        LotInput("North", "North parks", ["77310000"], 40_000_000),
        LotInput("South", "South verges", ["77310000-6", "77300000"], 25_000_000),
        LotInput("East", "East parks", ["77310000"], 5_000_000),
    ]
    tender.amend(ctx(), terms(lots=more), "a third lot", buyer_kind="public_body", policy=POLICY)
    assert [lot.id for lot in tender.terms.lots] == ["lot-1", "lot-2", "lot-3"]


def test_a_tender_is_amended_a_bounded_number_of_times() -> None:
    tender = published()
    for n in range(MAX_AMENDMENTS):
        changed = terms(title=f"Grounds maintenance, take {n}")
        tender.amend(ctx(), changed, f"take {n}", buyer_kind="public_body", policy=POLICY)
    with pytest.raises(Conflict):
        tender.amend(
            ctx(), terms(title="one more"), "more", buyer_kind="public_body", policy=POLICY
        )


@pytest.mark.parametrize(
    ("currency", "allowed"),
    [
        ("GBP", True),
        ("EUR", True),
        ("XCD", True),
        ("JPY", False),
        ("BHD", False),
        ("XAU", False),
        ("XTS", False),
        ("ADP", False),
        ("ZZZ", False),
    ],
)
def test_a_lot_is_in_a_currency_in_use_counted_in_hundredths(currency: str, allowed: bool) -> None:
    lots = [LotInput("North", "North parks", ["77310000"], 40_000_000, currency)]
    if allowed:
        assert terms(lots=lots).lots[0].value.currency == currency
    else:
        with pytest.raises(InvalidValue) as refused:
            terms(lots=lots)
        assert refused.value.field == "lots[0].currency"


def test_a_published_deadline_is_never_shortened() -> None:
    tender = published()
    with pytest.raises(InvalidValue) as error:
        tender.amend(
            ctx(), terms(deadline_days=20), "sooner", buyer_kind="public_body", policy=POLICY
        )
    assert error.value.field == "tender_period.end"


def test_the_evaluation_rules_change_only_with_a_later_deadline() -> None:
    tender = published()
    reweighted = replace(terms(), evaluation=evaluation(social=20, price=30))
    with pytest.raises(InvalidValue) as error:
        tender.amend(ctx(), reweighted, "more SV", buyer_kind="public_body", policy=POLICY)
    assert error.value.field == "evaluation"
    later = replace(terms(deadline_days=45), evaluation=evaluation(social=20, price=30))
    tender.amend(ctx(), later, "more SV", buyer_kind="public_body", policy=POLICY)
    assert tender.terms.evaluation.social_value.weight == 20


def test_an_amendment_keeps_to_the_social_value_policy() -> None:
    tender = published()
    below = replace(terms(deadline_days=45), evaluation=evaluation(social=5, price=45))
    with pytest.raises(InvalidValue):
        tender.amend(ctx(), below, "less SV", buyer_kind="public_body", policy=POLICY)


def test_documents_are_added_once_and_only_while_open() -> None:
    tender = drafted()
    document = TenderDocument(
        "a" * 64, "application/pdf", 10, "spec.pdf", "technicalSpecifications"
    )
    tender.add_document(ctx(), document)
    tender.add_document(ctx(), document)
    assert len(tender.documents) == 1
    with pytest.raises(InvalidValue):
        tender.add_document(ctx(), replace(document, sha256="b" * 64, kind="memes"))
    tender.publish(ctx(), verified_buyer=True, buyer_kind="public_body", policy=POLICY)
    tender.cancel(ctx(), "gone")
    with pytest.raises(Conflict):
        tender.add_document(ctx(), replace(document, sha256="c" * 64))


# Clarifications and interest ----------------------------------------------------------------


def test_questions_are_taken_only_in_the_enquiry_period_of_an_active_tender() -> None:
    draft = drafted()
    with pytest.raises(Conflict):
        Clarification.ask(ctx(), uuid.uuid4(), draft, SUPPLIER, "When?")
    tender = published()
    question = Clarification.ask(ctx(), uuid.uuid4(), tender, SUPPLIER, " Is TUPE expected? ")
    assert question.question == "Is TUPE expected?"
    closes = tender.terms.enquiry_period.end
    with pytest.raises(Conflict):
        Clarification.ask(ctx(closes), uuid.uuid4(), tender, SUPPLIER, "Late?")
    with pytest.raises(Conflict):
        Clarification.ask(ctx(), uuid.uuid4(), tender, BUYER, "Own question?")
    with pytest.raises(InvalidValue):
        Clarification.ask(ctx(), uuid.uuid4(), tender, SUPPLIER, "   ")


def test_a_question_is_answered_once() -> None:
    question = Clarification.ask(ctx(), uuid.uuid4(), published(), SUPPLIER, "TUPE?")
    question.answer_with(ctx(), "No.")
    with pytest.raises(Conflict):
        question.answer_with(ctx(), "Yes.")


def test_interest_is_in_an_open_tender_by_someone_other_than_the_buyer() -> None:
    with pytest.raises(Conflict):
        Interest.register(ctx(), drafted(), SUPPLIER)
    tender = published()
    with pytest.raises(Conflict):
        Interest.register(ctx(), tender, BUYER)
    first = Interest.register(ctx(), tender, SUPPLIER)
    assert Interest.register(ctx(), tender, SUPPLIER).id == first.id  # one per supplier
