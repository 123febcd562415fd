"""The quality mark's domain: criteria, an application's every stage, the mark's status."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from membership.marks.assessment import (
    EvidenceFile,
    MarkApplication,
    Review,
    Stage,
)
from membership.marks.criteria import (
    CRITERIA_2026,
    TRADING_INCOME,
    CriteriaSet,
    Declarations,
    Finding,
    criteria_in_force,
    evaluate,
)
from membership.marks.mark import MarkStatus, QualityMark, mark_id_for
from sharedkernel.errors import Conflict, InvalidValue, NotFound
from sharedkernel.events import Context

T0 = datetime(2026, 3, 1, 9, tzinfo=UTC)
ORG = uuid.uuid4()
ASSESSOR = uuid.uuid4()
ASSESSOR_ORG = uuid.uuid4()
PANEL = uuid.uuid4()

GOOD = Declarations(
    objects_clause="To relieve poverty in the Tees valley",
    independent=True,
    trading_income_minor=60_000_00,
    grant_income_minor=30_000_00,
    donation_income_minor=5_000_00,
    other_income_minor=5_000_00,
    profit_minor=10_000_00,
    distributed_minor=0,
    asset_lock=True,
    impact_statement="We employ 12 people furthest from work",
)


def ctx(at: datetime = T0, actor: str = "user:x") -> Context:
    return Context(actor=actor, request_id="r", at=at)


def all_met(note: str = "seen") -> dict[str, Finding]:
    return {code: Finding(True, note) for code in CRITERIA_2026.codes}


def draft(review: Review = Review.FULL) -> MarkApplication:
    return MarkApplication.start(ctx(), uuid.uuid4(), ORG, mark_id_for(ORG), review)


def with_evidence(application: MarkApplication) -> MarkApplication:
    for number, code in enumerate(CRITERIA_2026.codes):
        file = EvidenceFile(code, f"{number:064x}", "application/pdf", 100, f"{code}.pdf")
        application.attach_evidence(ctx(), CRITERIA_2026, file)
    return application


def at_panel() -> MarkApplication:
    application = with_evidence(draft())
    application.update_declarations(ctx(), GOOD)
    application.submit(ctx(), CRITERIA_2026)
    application.assign_assessor(ctx(), ASSESSOR, ASSESSOR_ORG)
    application.refer_to_panel(ctx(), ASSESSOR, all_met())
    return application


# Criteria -------------------------------------------------------------------------------------


def test_the_version_in_force_is_the_latest_whose_date_has_come() -> None:
    later = CriteriaSet("2027.1", date(2027, 1, 1), CRITERIA_2026.criteria)
    sets = (CRITERIA_2026, later)
    assert criteria_in_force(date(2026, 12, 31), sets).version == "2026.1"
    assert criteria_in_force(date(2027, 1, 1), sets).version == "2027.1"
    with pytest.raises(NotFound):
        criteria_in_force(date(2025, 12, 31), sets)


def test_trading_income_is_computed_from_the_breakdown() -> None:
    findings = evaluate(CRITERIA_2026, GOOD)
    assert findings[TRADING_INCOME].met is True
    assert "60.0%" in findings[TRADING_INCOME].note
    exactly_half = Declarations(
        trading_income_minor=50,
        grant_income_minor=50,
        donation_income_minor=0,
        other_income_minor=0,
    )
    assert evaluate(CRITERIA_2026, exactly_half)[TRADING_INCOME].met is True
    under = Declarations(
        trading_income_minor=49,
        grant_income_minor=51,
        donation_income_minor=0,
        other_income_minor=0,
    )
    assert evaluate(CRITERIA_2026, under)[TRADING_INCOME].met is False


def test_profits_to_purpose_is_computed_from_profit_and_distribution() -> None:
    def finding(profit: int, distributed: int) -> bool | None:
        d = Declarations(profit_minor=profit, distributed_minor=distributed)
        return evaluate(CRITERIA_2026, d)["profits_to_purpose"].met

    assert finding(100, 49) is True  # 51% retained
    assert finding(100, 50) is False
    assert finding(0, 0) is True  # no profit, nothing paid out
    assert finding(-100, 5) is False  # a loss, yet paid out


def test_declared_criteria_are_left_to_the_assessor_unless_declared_false() -> None:
    findings = evaluate(CRITERIA_2026, GOOD)
    assert findings["asset_lock"].met is None
    no_lock = evaluate(CRITERIA_2026, Declarations(asset_lock=False))
    assert no_lock["asset_lock"].met is False


def test_amounts_are_bounded_and_never_negative() -> None:
    with pytest.raises(InvalidValue) as error:
        Declarations(grant_income_minor=-1)
    assert error.value.field == "grant_income_minor"
    with pytest.raises(InvalidValue):
        Declarations(trading_income_minor=10**15)


# The application --------------------------------------------------------------------------


def test_a_full_application_needs_every_declaration_and_evidence_for_every_criterion() -> None:
    application = draft()
    with pytest.raises(InvalidValue) as error:
        application.submit(ctx(), CRITERIA_2026)
    assert error.value.field == "objects_clause"
    application.update_declarations(ctx(), GOOD)
    with pytest.raises(InvalidValue) as error:
        application.submit(ctx(), CRITERIA_2026)
    assert error.value.field == "evidence"
    with_evidence(application).submit(ctx(), CRITERIA_2026)
    assert application.stage is Stage.SUBMITTED
    assert application.criteria_version == "2026.1"


def test_a_renewal_needs_declarations_but_no_evidence() -> None:
    application = draft(Review.RENEWAL)
    application.update_declarations(ctx(), GOOD)
    application.submit(ctx(), CRITERIA_2026)
    assert application.stage is Stage.SUBMITTED


def test_the_same_document_twice_is_attached_once_and_criteria_must_exist() -> None:
    application = draft()
    file = EvidenceFile("asset_lock", "a" * 64, "application/pdf", 10, "lock.pdf")
    application.attach_evidence(ctx(), CRITERIA_2026, file)
    application.attach_evidence(ctx(), CRITERIA_2026, file)
    assert len(application.evidence) == 1
    bogus = EvidenceFile("charm", "b" * 64, "application/pdf", 10, "x.pdf")
    with pytest.raises(InvalidValue):
        application.attach_evidence(ctx(), CRITERIA_2026, bogus)


def test_an_assessor_never_assesses_their_own_organisation() -> None:
    application = with_evidence(draft())
    application.update_declarations(ctx(), GOOD)
    application.submit(ctx(), CRITERIA_2026)
    with pytest.raises(Conflict):
        application.assign_assessor(ctx(), ASSESSOR, ORG)
    application.assign_assessor(ctx(), ASSESSOR, ASSESSOR_ORG)
    assert application.stage is Stage.UNDER_ASSESSMENT


def test_information_rounds_go_back_and_forth_with_deadlines() -> None:
    application = with_evidence(draft())
    application.update_declarations(ctx(), GOOD)
    application.submit(ctx(), CRITERIA_2026)
    application.assign_assessor(ctx(), ASSESSOR, ASSESSOR_ORG)
    with pytest.raises(Conflict):  # not the assessor
        application.request_information(ctx(), PANEL, "?", T0 + timedelta(days=14))
    with pytest.raises(InvalidValue) as error:
        application.request_information(ctx(), ASSESSOR, "?", T0)
    assert error.value.field == "reply_by"
    for number in (1, 2):
        application.request_information(
            ctx(), ASSESSOR, f"question {number}", T0 + timedelta(days=14)
        )
        assert application.stage is Stage.INFORMATION_REQUESTED
        with pytest.raises(Conflict):
            application.refer_to_panel(ctx(), ASSESSOR, all_met())
        application.provide_information(ctx(), f"answer {number}")
        assert application.stage is Stage.UNDER_ASSESSMENT
    assert [r.reply for r in application.rounds] == ["answer 1", "answer 2"]
    with pytest.raises(Conflict):
        application.provide_information(ctx(), "unasked")


def test_declarations_change_only_in_a_draft_or_when_asked() -> None:
    application = with_evidence(draft())
    application.update_declarations(ctx(), GOOD)
    application.submit(ctx(), CRITERIA_2026)
    with pytest.raises(Conflict):
        application.update_declarations(ctx(), Declarations())


def test_a_computed_criterion_cannot_be_found_met_against_the_figures() -> None:
    application = with_evidence(draft())
    poor = Declarations(**(GOOD.as_data() | {"trading_income_minor": 1}))
    application.update_declarations(ctx(), poor)
    application.submit(ctx(), CRITERIA_2026)
    application.assign_assessor(ctx(), ASSESSOR, ASSESSOR_ORG)
    with pytest.raises(InvalidValue):
        application.refer_to_panel(ctx(), ASSESSOR, all_met())
    findings = all_met() | {TRADING_INCOME: Finding(False, "mostly grants")}
    application.refer_to_panel(ctx(), ASSESSOR, findings)
    with pytest.raises(Conflict):  # cannot award with a failed criterion
        application.decide(ctx(), PANEL, True, {})
    with pytest.raises(InvalidValue):  # a rejection gives a reason per failed criterion
        application.decide(ctx(), PANEL, False, {})
    application.decide(ctx(), PANEL, False, {TRADING_INCOME: "1% of income from trading"})
    assert application.stage is Stage.REJECTED
    assert application.rejection_reasons == {TRADING_INCOME: "1% of income from trading"}


def test_the_panel_is_someone_other_than_the_assessor() -> None:
    application = at_panel()
    with pytest.raises(Conflict):
        application.decide(ctx(), ASSESSOR, True, {})
    application.decide(ctx(), PANEL, True, {})
    assert application.stage is Stage.AWARDED
    with pytest.raises(Conflict):
        application.decide(ctx(), PANEL, True, {})
    with pytest.raises(Conflict):
        application.withdraw(ctx())


def test_the_applicants_own_users_never_decide() -> None:
    application = at_panel()
    with pytest.raises(Conflict):
        application.decide(ctx(), PANEL, True, {}, panel_organisation_id=ORG)
    application.decide(ctx(), PANEL, True, {}, panel_organisation_id=ASSESSOR_ORG)
    assert application.stage is Stage.AWARDED


def test_every_findings_set_names_every_criterion_and_nothing_else() -> None:
    application = with_evidence(draft())
    application.update_declarations(ctx(), GOOD)
    application.submit(ctx(), CRITERIA_2026)
    application.assign_assessor(ctx(), ASSESSOR, ASSESSOR_ORG)
    partial = dict(list(all_met().items())[:2])
    with pytest.raises(InvalidValue):
        application.refer_to_panel(ctx(), ASSESSOR, partial)
    with pytest.raises(InvalidValue):
        application.refer_to_panel(ctx(), ASSESSOR, all_met() | {"charm": Finding(True, "")})


# The mark ----------------------------------------------------------------------------------


def awarded(at: datetime = T0) -> QualityMark:
    return QualityMark.award(ctx(at), ORG, uuid.uuid4())


def test_an_award_is_valid_twelve_months_under_a_stable_number() -> None:
    mark = awarded()
    assert mark.status is MarkStatus.VALID
    assert mark.valid_until == datetime(2027, 3, 1, 9, tzinfo=UTC)
    number = mark.certificate_number
    mark.renew(ctx(datetime(2027, 1, 15, tzinfo=UTC)), uuid.uuid4(), Review.RENEWAL)
    assert mark.certificate_number == number
    assert mark.valid_from == datetime(2027, 3, 1, 9, tzinfo=UTC)  # from expiry, renewed early
    assert mark.valid_until == datetime(2028, 3, 1, 9, tzinfo=UTC)


def test_every_third_year_is_a_full_reassessment() -> None:
    mark = awarded()
    reviews = []
    for _year in range(1, 7):
        review = mark.next_review()
        reviews.append(review)
        mark.renew(ctx(mark.valid_until - timedelta(days=10)), uuid.uuid4(), review)
    assert reviews == [
        Review.RENEWAL,
        Review.RENEWAL,
        Review.FULL,
        Review.RENEWAL,
        Review.RENEWAL,
        Review.FULL,
    ]


def test_the_clock_gives_notices_at_60_and_30_days_then_expires_once() -> None:
    mark = awarded()
    until = mark.valid_until
    mark.observe_time(ctx(until - timedelta(days=61)))
    assert not mark.pending_events[1:]
    mark.observe_time(ctx(until - timedelta(days=60)))
    mark.observe_time(ctx(until - timedelta(days=45)))  # nothing new
    mark.observe_time(ctx(until - timedelta(days=30)))
    mark.observe_time(ctx(until))
    mark.observe_time(ctx(until + timedelta(days=1)))  # nothing new
    names = [type(e).__name__ for e in mark.collect_events()]
    assert names == ["Awarded", "RenewalDue", "RenewalDue", "Expired"]
    assert mark.status is MarkStatus.EXPIRED
    assert mark.next_review() is Review.FULL


def test_a_mark_found_late_gets_only_the_nearest_notice() -> None:
    mark = awarded()
    mark.observe_time(ctx(mark.valid_until - timedelta(days=20)))
    events = mark.collect_events()
    assert [getattr(e, "days_before", None) for e in events[1:]] == [30]


def test_staff_and_membership_suspensions_are_lifted_each_on_its_own() -> None:
    mark = awarded()
    mark.membership_not_in_good_standing(ctx(), "lapsed", "org:7")
    mark.membership_not_in_good_standing(ctx(), "lapsed", "org:8")  # already: nothing
    mark.suspend(ctx(), "complaint upheld")
    mark.membership_in_good_standing(ctx(), "org:9")
    assert mark.status is MarkStatus.SUSPENDED  # staff's cause still holds
    mark.reinstate(ctx())
    assert mark.status is MarkStatus.VALID
    lifted = [e for e in mark.collect_events() if isinstance(e, QualityMark.SuspensionLifted)]
    assert [e.valid_again for e in lifted] == [False, True]
    with pytest.raises(Conflict):
        mark.reinstate(ctx())


def test_good_standing_without_a_membership_suspension_changes_nothing() -> None:
    mark = awarded()
    mark.suspend(ctx(), "complaint")
    mark.collect_events()
    mark.membership_in_good_standing(ctx(), "org:1")
    assert mark.collect_events() == []
    assert mark.status is MarkStatus.SUSPENDED


def test_an_ended_membership_withdraws_the_mark_for_good() -> None:
    mark = awarded()
    mark.membership_ended(ctx(), "resigned", "org:3")
    mark.membership_ended(ctx(), "resigned", "org:3")
    assert mark.status is MarkStatus.WITHDRAWN
    assert len([e for e in mark.collect_events() if isinstance(e, QualityMark.Withdrawn)]) == 1
    with pytest.raises(Conflict):
        mark.suspend(ctx(), "x")
    with pytest.raises(Conflict):
        mark.renew(ctx(), uuid.uuid4(), Review.FULL)


def test_revocation_is_final_and_shows_before_everything() -> None:
    mark = awarded()
    mark.suspend(ctx(), "fraud suspected")
    mark.revoke(ctx(), "fraud")
    assert mark.status is MarkStatus.REVOKED
    mark.membership_in_good_standing(ctx(), "org:1")
    assert mark.status is MarkStatus.REVOKED


def test_an_expired_mark_never_shows_valid_when_its_suspension_lifts() -> None:
    mark = awarded()
    mark.membership_not_in_good_standing(ctx(), "lapsed", "org:1")
    mark.observe_time(ctx(mark.valid_until))
    mark.membership_in_good_standing(ctx(), "org:2")
    lifted = [e for e in mark.collect_events() if isinstance(e, QualityMark.SuspensionLifted)]
    assert lifted[0].valid_again is False
    assert mark.status is MarkStatus.EXPIRED
