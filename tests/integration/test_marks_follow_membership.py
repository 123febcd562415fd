"""The quality mark follows its holder's membership (ADR 23), on both stores: suspended once
when the membership lapses, is suspended or ends, whichever path recorded it; reinstated when
good standing returns and that was the only cause; nothing twice on a replay or with a second
follower."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from membership.application import MembershipApp
from membership.domain import RegistrationDetails
from membership.marks.application import MarksApp, MembershipStanding
from membership.marks.assessment import EvidenceFile
from membership.marks.criteria import CRITERIA_2026, Declarations, Finding
from membership.marks.mark import MarkStatus, QualityMark
from membership.standing import GOOD_STANDING, MembershipStatus
from sharedkernel.errors import Conflict
from sharedkernel.events import Context
from sharedkernel.money import Money
from tradehall.membership.marks.workers import follow_membership
from tradehall.store.base import Store

T0 = datetime(2026, 2, 2, 9, tzinfo=UTC)
GOOD = MembershipStanding(MembershipStatus.CURRENT)
DECLARED = Declarations(
    objects_clause="Objects",
    independent=True,
    trading_income_minor=80,
    grant_income_minor=20,
    donation_income_minor=0,
    other_income_minor=0,
    profit_minor=10,
    distributed_minor=0,
    asset_lock=True,
    impact_statement="Impact",
)


def at(minutes: int, actor: str = "user:staff", *, days: int = 0) -> Context:
    return Context(actor, f"r{minutes}", T0 + timedelta(days=days, minutes=minutes))


def apps(store: Store) -> tuple[MembershipApp, MarksApp]:
    store.migrate()
    membership = MembershipApp(env=store.application_env("membership", pool_size=2))
    marks = MarksApp(env=store.application_env("marks", pool_size=2))
    marks.follow("membership", membership.notification_log)
    return membership, marks


def paid_member(membership: MembershipApp) -> uuid.UUID:
    membership.ensure_dues_schedule(at(0))
    org = uuid.uuid4()
    details = RegistrationDetails.parse(
        name="Tees Valley Bakers",
        kind="social_enterprise",
        legal_form="cic",
        registry_scheme="GB-COH",
        registry_id=str(uuid.uuid4().int % 10**8).zfill(8),
        social_purpose="Bread and jobs",
        regions=["TLC4"],
        cpv_codes=["15810000"],
    )
    membership.register_organisation(at(1), org, details, uuid.uuid4())
    membership.apply_for_membership(at(2), org, Money("GBP", 5_000_000))
    membership.admit(at(3), org)
    tier = membership.get_organisation(org).tier
    assert tier is not None
    membership.record_payment(at(4), org, tier.annual_due, "bank_transfer", "first")
    return org


def referred(marks: MarksApp, org: uuid.UUID, *, days: int = 0) -> uuid.UUID:
    """An application started `days` after T0 and referred to the panel: its id."""
    member = "user:member"
    application = marks.start_application(at(10, member, days=days), org, GOOD).aggregate_id
    for n, code in enumerate(CRITERIA_2026.codes):
        file = EvidenceFile(code, f"{n:064x}", "application/pdf", 1, "a.pdf")
        marks.attach_evidence(at(11, member, days=days), application, file)
    marks.update_declarations(at(12, member, days=days), application, DECLARED)
    marks.submit(at(13, member, days=days), application)
    assessor = uuid.uuid4()
    marks.assign_assessor(at(14, days=days), application, assessor, None)
    findings = {code: Finding(True, "seen") for code in CRITERIA_2026.codes}
    marks.refer_to_panel(at(15, days=days), application, assessor, findings)
    return application


def award(marks: MarksApp, org: uuid.UUID) -> None:
    application = referred(marks, org)
    marks.decide(at(16), application, uuid.uuid4(), True, {}, GOOD)


def lapse(membership: MembershipApp, org: uuid.UUID) -> datetime:
    """The clock finds the organisation 40 days past its paid-up date (grace, then lapsed); when."""
    paid_until = membership.get_organisation(org).paid_up_until
    assert paid_until is not None
    lapse_at = paid_until + timedelta(days=40)
    membership.observe_time(Context("clock", "tick", lapse_at), org)
    assert membership.get_organisation(org).membership_status is MembershipStatus.LAPSED
    return lapse_at


def pay(membership: MembershipApp, org: uuid.UUID, when: datetime) -> None:
    tier = membership.get_organisation(org).tier
    assert tier is not None
    pay = Context("user:staff", "pay", when)
    membership.record_payment(pay, org, tier.annual_due, "bank_transfer", "late")
    assert membership.get_organisation(org).membership_status in GOOD_STANDING


def standing_now(membership: MembershipApp, org: uuid.UUID) -> MembershipStanding:
    """What the panel's request reads before it decides (at the panel's time, `at(16)`)."""
    return MembershipStanding.of(membership.get_organisation(org), at(16).at)


def mark_events(marks: MarksApp, org: uuid.UUID) -> list[str]:
    mark = marks.get_mark(org)
    return [type(e).__qualname__ for e in marks.repository.event_store.get(mark.id)]


def test_a_lapse_suspends_the_mark_once_and_payment_reinstates_it(store: Store) -> None:
    membership, marks = apps(store)
    org = paid_member(membership)
    award(marks, org)
    marks.catch_up()
    assert marks.get_mark(org).status is MarkStatus.VALID

    lapse_at = lapse(membership, org)
    marks.catch_up()
    marks.catch_up()  # nothing new to process: nothing more recorded
    assert marks.get_mark(org).status is MarkStatus.SUSPENDED

    pay(membership, org, lapse_at + timedelta(days=1))
    marks.catch_up()
    assert marks.get_mark(org).status is MarkStatus.VALID
    names = mark_events(marks, org)
    assert names.count("QualityMark.Suspended") == 1
    assert names.count("QualityMark.SuspensionLifted") == 1


# The award races the follower (ADR 23): the panel's request reads the membership's standing,
# then the membership changes and the follower processes the change, then the award is saved.
# Each step is driven in turn; the mark ends as the membership now stands.


def test_a_lapse_the_follower_took_before_the_award_was_saved_suspends_the_new_mark(
    store: Store,
) -> None:
    membership, marks = apps(store)
    org = paid_member(membership)
    application = referred(marks, org)
    standing = standing_now(membership, org)  # current
    lapse_at = lapse(membership, org)
    marks.catch_up()  # no mark to suspend yet
    marks.decide(at(16), application, uuid.uuid4(), True, {}, standing)
    assert marks.get_mark(org).status is MarkStatus.SUSPENDED
    assert marks.get_mark(org).suspensions == {"membership": "the holder's membership is lapsed"}

    pay(membership, org, lapse_at + timedelta(days=1))  # and it follows on from there
    marks.catch_up()
    assert marks.get_mark(org).status is MarkStatus.VALID


def test_a_payment_the_follower_took_before_the_award_was_saved_leaves_the_new_mark_valid(
    store: Store,
) -> None:
    membership, marks = apps(store)
    org = paid_member(membership)
    application = referred(marks, org)
    lapse_at = lapse(membership, org)
    marks.catch_up()
    standing = standing_now(membership, org)  # lapsed
    pay(membership, org, lapse_at + timedelta(days=1))
    marks.catch_up()
    marks.decide(at(16), application, uuid.uuid4(), True, {}, standing)
    assert marks.get_mark(org).status is MarkStatus.VALID


def test_a_payment_the_follower_took_before_a_renewal_was_saved_leaves_the_mark_valid(
    store: Store,
) -> None:
    membership, marks = apps(store)
    org = paid_member(membership)
    award(marks, org)
    renewal = referred(marks, org, days=300)  # renewal opens 90 days before expiry
    lapse_at = lapse(membership, org)
    marks.catch_up()  # the mark is suspended for the lapse
    standing = standing_now(membership, org)  # lapsed
    pay(membership, org, lapse_at + timedelta(days=1))
    marks.catch_up()  # and valid again
    marks.decide(at(16, days=300), renewal, uuid.uuid4(), True, {}, standing)
    assert marks.get_mark(org).status is MarkStatus.VALID
    assert mark_events(marks, org)[-1] == "QualityMark.Renewed"


def test_a_lapse_the_follower_records_between_the_awards_load_and_save_suspends_the_mark(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    membership, marks = apps(store)
    org = paid_member(membership)
    application = referred(marks, org)
    standing = standing_now(membership, org)  # current
    mark_of, meanwhile = marks.mark_of, []

    def lapse_meanwhile(organisation_id: uuid.UUID) -> QualityMark | None:
        found = mark_of(organisation_id)
        if not meanwhile:  # the award has loaded what it decides on: now the lapse
            meanwhile.append(lapse(membership, org))
            marks.catch_up()
        return found

    monkeypatch.setattr(marks, "mark_of", lapse_meanwhile)
    marks.decide(at(16), application, uuid.uuid4(), True, {}, standing)
    assert meanwhile
    assert marks.get_mark(org).status is MarkStatus.SUSPENDED


def test_a_lapse_the_follower_loaded_for_before_the_award_was_saved_suspends_the_mark(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    membership, marks = apps(store)
    org = paid_member(membership)
    application = referred(marks, org)
    standing = standing_now(membership, org)  # current
    lapse(membership, org)
    lapsed = membership.recorder.max_notification_id()
    assert lapsed is not None
    marks.pull_and_process("membership", stop=lapsed - 1)  # all but the lapse itself
    mark_of, meanwhile = marks.mark_of, []

    def award_meanwhile(organisation_id: uuid.UUID) -> QualityMark | None:
        found = mark_of(organisation_id)
        if not meanwhile:  # the follower has loaded what it decides on: now the award
            meanwhile.append(organisation_id)
            marks.decide(at(16), application, uuid.uuid4(), True, {}, standing)
        return found

    monkeypatch.setattr(marks, "mark_of", award_meanwhile)
    marks.catch_up()  # its step, decided without the mark, clashes with the award: not recorded
    assert meanwhile
    assert marks.get_mark(org).status is MarkStatus.VALID
    marks.catch_up()  # the lapse again, with the mark
    assert marks.get_mark(org).status is MarkStatus.SUSPENDED


def test_a_second_follower_and_a_replay_record_nothing_more(store: Store) -> None:
    membership, marks = apps(store)
    org = paid_member(membership)
    award(marks, org)
    membership.suspend(at(30), org, "complaint")
    second = MarksApp(env=store.application_env("marks", pool_size=2))
    second.follow("membership", membership.notification_log)
    marks.catch_up()
    second.catch_up()  # the same membership events: their positions are recorded already
    assert mark_events(marks, org).count("QualityMark.Suspended") == 1
    assert marks.get_mark(org).status is MarkStatus.SUSPENDED


def test_the_mark_is_not_reinstated_while_staff_suspension_holds(store: Store) -> None:
    membership, marks = apps(store)
    org = paid_member(membership)
    award(marks, org)
    marks.suspend_mark(at(20), org, "misleading claims")
    membership.suspend(at(21), org, "unpaid levy")
    membership.reinstate(at(22), org)
    marks.catch_up()
    mark = marks.get_mark(org)
    assert mark.status is MarkStatus.SUSPENDED
    assert list(mark.suspensions) == ["staff"]


def test_an_ended_membership_withdraws_the_mark(store: Store) -> None:
    membership, marks = apps(store)
    org = paid_member(membership)
    award(marks, org)
    membership.expel(at(40), org, "fraud")
    marks.catch_up()
    assert marks.get_mark(org).status is MarkStatus.WITHDRAWN


def test_an_award_while_not_in_good_standing_starts_suspended(store: Store) -> None:
    membership, marks = apps(store)
    org = paid_member(membership)
    application = marks.start_application(at(10, "user:member"), org, GOOD).aggregate_id
    marks.update_declarations(at(11, "user:member"), application, DECLARED)
    for n, code in enumerate(CRITERIA_2026.codes):
        file = EvidenceFile(code, f"{n:064x}", "application/pdf", 1, "a.pdf")
        marks.attach_evidence(at(11, "user:member"), application, file)
    marks.submit(at(12, "user:member"), application)
    assessor = uuid.uuid4()
    marks.assign_assessor(at(13), application, assessor, None)
    findings = {code: Finding(True, "seen") for code in CRITERIA_2026.codes}
    marks.refer_to_panel(at(14), application, assessor, findings)
    lapsed = MembershipStanding(MembershipStatus.LAPSED)
    marks.decide(at(15), application, uuid.uuid4(), True, {}, lapsed)
    assert marks.get_mark(org).status is MarkStatus.SUSPENDED
    assert isinstance(marks.get_mark(org), QualityMark)


def test_one_open_application_at_a_time_and_only_in_good_standing(store: Store) -> None:
    membership, marks = apps(store)
    org = paid_member(membership)
    marks.start_application(at(10, "user:member"), org, GOOD)
    with pytest.raises(Conflict):
        marks.start_application(at(11, "user:member"), org, GOOD)
    with pytest.raises(Conflict):
        marks.start_application(
            at(12, "user:member"), uuid.uuid4(), MembershipStanding(MembershipStatus.LAPSED)
        )


async def test_the_follower_worker_acts_without_being_asked_and_outlives_a_failure(
    store: Store,
) -> None:
    membership, marks = apps(store)
    org = paid_member(membership)
    award(marks, org)
    membership.suspend(at(30), org, "complaint")
    stop = asyncio.Event()
    rounds: list[str] = []

    async def run(fn: Any, *args: Any) -> Any:
        rounds.append(fn.__name__)
        if len(rounds) == 1:
            raise RuntimeError("the database went away for a moment")
        result = await asyncio.to_thread(fn, *args)
        stop.set()  # the second round did its work: the worker stops after it
        return result

    await follow_membership(marks, run, 0.001, stop)

    assert rounds == ["catch_up", "catch_up"]
    assert marks.get_mark(org).status is MarkStatus.SUSPENDED
