"""Requests for quote and quotes, as pure domain code: posting (who may, the terms, each bad
field named), cancelling, quoting until the deadline to the second (who may, at what price),
revising, declining and quoting again, opening, and accepting (a contract) or closing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from marketplace.contracts import Contract, Party, contract_id_for
from marketplace.quotes.quote import DECLINED_AT_OPENING, Quote, QuoteStatus
from marketplace.quotes.request import (
    LONGEST_WAIT,
    QUOTE_LOT,
    OpenedQuote,
    RequesterFacts,
    RequestForQuote,
    RequestStatus,
)
from marketplace.quotes.sealed import as_opened, declined_by
from marketplace.quotes.terms import Audience, Budget
from marketplace.tender_terms import MAX_VALUE_MINOR, Period
from sharedkernel.errors import Conflict, InvalidValue
from sharedkernel.money import Money
from tests.unit.quote_builders import (
    CPV,
    DEADLINE,
    NOW,
    ONE_SECOND,
    OTHER,
    OUTSIDER,
    REQUESTER,
    SOON,
    SUPPLIER,
    THIRD,
    WORK,
    at,
    gbp,
    invited_terms,
    posted,
    requester,
    supplier,
    terms,
)

AFTER = DEADLINE + timedelta(minutes=10)


def quoted(
    request: RequestForQuote, who: UUID = SUPPLIER, price: int = 100_000, note: str = "Two coats"
) -> Quote:
    return Quote.quote(at(SOON), uuid4(), request, supplier(who), gbp(price), note)


def opened(request: RequestForQuote, *quotes: Quote) -> RequestForQuote:
    """The request with these quotes opened at AFTER."""
    for quote in quotes:
        quote.open(at(AFTER))
    request.record_quotes_opened(at(AFTER), [as_opened(q) for q in quotes], [])
    return request


def events_of(aggregate: Any) -> list[str]:
    return [type(e).__qualname__ for e in aggregate.collect_events()]


# Posting ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "facts",
    [
        requester(kind="charity", in_good_standing=True),  # a member in good standing
        requester(kind="business", in_good_standing=False),  # any registered business
        requester(kind="public_body", in_good_standing=False, verified_buyer=True),
    ],
)
def test_who_may_post_a_request(facts: RequesterFacts) -> None:
    request = RequestForQuote.post(at(NOW), uuid4(), facts, terms())
    assert request.status is RequestStatus.OPEN
    assert request.requester_id == REQUESTER


@pytest.mark.parametrize(
    ("facts", "why"),
    [
        (requester(registered=False), "not registered"),
        (requester(kind="public_body", in_good_standing=False), "verified public-body buyer"),
        (requester(kind="charity", in_good_standing=False), "member in good standing"),
    ],
)
def test_who_may_not_post_a_request(facts: RequesterFacts, why: str) -> None:
    with pytest.raises(Conflict, match=why):
        RequestForQuote.post(at(NOW), uuid4(), facts, terms())


def test_the_posted_event_carries_the_terms_as_the_read_side_reads_them() -> None:
    request_id = uuid4()
    request = RequestForQuote.post(at(NOW), request_id, requester(), invited_terms(SUPPLIER, OTHER))
    (event,) = request.collect_events()
    assert type(event).__qualname__ == "RequestForQuote.Posted"
    assert isinstance(event, RequestForQuote.Posted)
    assert event.originator_id == request_id
    assert event.requester_id == REQUESTER
    assert (event.title, event.cpv_codes, event.regions) == (
        "Repaint the community hall",
        [CPV],
        ["TLC4"],
    )
    assert event.budget == {"currency": "GBP", "min_minor": 50_000, "max_minor": 200_000}
    assert event.currency == "GBP"
    assert event.deadline == DEADLINE
    assert event.deadline.utcoffset() == timedelta(0)
    assert event.period == WORK.as_data()
    assert (event.audience, event.invited) == ("invited", [str(SUPPLIER), str(OTHER)])
    assert request.terms.audience is Audience.INVITED
    assert request.terms.invited == (SUPPLIER, OTHER)


def test_terms_are_cleaned_and_canonical() -> None:
    parsed = terms(
        title="  Repaint  ",
        cpv_codes=["45442110", "45442110-1"],
        regions=["tlc4"],
        budget={"currency": "gbp", "min_minor": None, "max_minor": 9_000},
    )
    assert parsed.title == "Repaint"
    assert parsed.cpv_codes == (CPV,)
    assert parsed.regions == ("TLC4",)
    assert parsed.budget == Budget("GBP", None, 9_000)
    assert terms(budget=None, regions=[]).budget is None


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"title": "  "}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"description": ""}, "description"),
        ({"description": "x" * 4001}, "description"),
        ({"cpv_codes": []}, "cpv_codes"),
        ({"cpv_codes": [CPV] * 21}, "cpv_codes"),
        ({"cpv_codes": [CPV, "99999999"]}, "cpv_codes[1]"),
        ({"regions": ["TLZ9"]}, "regions[0]"),
        ({"regions": ["TLC4"] * 21}, "regions"),
        ({"budget": {"currency": "XYZ", "max_minor": 10}}, "budget.currency"),
        ({"budget": {"currency": "XAU", "max_minor": 10}}, "budget.currency"),
        ({"budget": {"currency": "GBP", "min_minor": 0}}, "budget.min_minor"),
        ({"budget": {"currency": "GBP", "min_minor": 1.5}}, "budget.min_minor"),
        ({"budget": {"currency": "GBP", "max_minor": MAX_VALUE_MINOR + 1}}, "budget.max_minor"),
        ({"budget": {"currency": "GBP", "min_minor": 10, "max_minor": 9}}, "budget.max_minor"),
        ({"deadline": DEADLINE.replace(tzinfo=None)}, "deadline"),
        ({"period": Period(DEADLINE - timedelta(days=2), DEADLINE - ONE_SECOND)}, "period.end"),
        ({"audience": "friends"}, "audience"),
        ({"audience": "invited", "invited": []}, "invited"),
        ({"audience": "open", "invited": [SUPPLIER]}, "invited"),
        ({"audience": "invited", "invited": [SUPPLIER, SUPPLIER]}, "invited"),
        ({"audience": "invited", "invited": [uuid4() for _ in range(51)]}, "invited"),
        ({"audience": "invited", "invited": ["not-an-id"]}, "invited[0]"),
    ],
)
def test_bad_terms_are_refused_naming_the_field(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidValue) as refused:
        terms(**overrides)
    assert refused.value.field == field


def test_the_work_may_start_at_the_deadline_and_fifty_are_invited() -> None:
    at_the_deadline = Period(DEADLINE, DEADLINE + timedelta(days=1))
    assert terms(period=at_the_deadline).period == at_the_deadline
    assert len(invited_terms(*(uuid4() for _ in range(50))).invited) == 50


@pytest.mark.parametrize(
    "start",
    [DEADLINE - ONE_SECOND, NOW, NOW.replace(year=1900)],
)
def test_the_work_starts_no_earlier_than_the_deadline(start: Any) -> None:
    """As a tender's contract starts after its deadline: the supplier is chosen from the quotes
    opened at the deadline, so work before it would be work nobody was chosen for."""
    with pytest.raises(InvalidValue) as refused:
        terms(period=Period(start, DEADLINE + timedelta(days=30)))
    assert refused.value.field == "period.start"


def test_a_request_states_its_currency_the_budget_s_or_gbp() -> None:
    assert terms().currency == "GBP"
    assert terms(budget={"currency": "EUR", "max_minor": 9_000}).currency == "EUR"
    assert terms(budget={"currency": "EUR", "max_minor": 9_000}, currency="eur").currency == "EUR"
    assert terms(budget=None).currency == "GBP"
    assert terms(budget=None, currency="EUR").currency == "EUR"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"currency": "EUR"}, "currency"),  # the budget is in GBP
        ({"budget": None, "currency": "XAU"}, "currency"),
        ({"budget": None, "currency": "JPY"}, "currency"),
        ({"budget": None, "currency": ""}, "currency"),
    ],
)
def test_a_currency_other_than_the_budget_s_or_not_in_hundredths_is_refused(
    overrides: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidValue) as refused:
        terms(**overrides)
    assert refused.value.field == field


@pytest.mark.parametrize(
    "deadline",
    [NOW, NOW - ONE_SECOND, NOW + LONGEST_WAIT + ONE_SECOND],
)
def test_a_deadline_now_past_or_over_ninety_days_ahead_is_refused(deadline: Any) -> None:
    given = terms(deadline=deadline, period=Period(deadline, deadline + timedelta(days=1)))
    with pytest.raises(InvalidValue) as refused:
        RequestForQuote.post(at(NOW), uuid4(), requester(), given)
    assert refused.value.field == "deadline"


def test_a_deadline_a_second_ahead_or_ninety_days_ahead_is_taken() -> None:
    for deadline in (NOW + ONE_SECOND, NOW + LONGEST_WAIT):
        given = terms(deadline=deadline, period=Period(deadline, deadline + timedelta(days=1)))
        assert RequestForQuote.post(at(NOW), uuid4(), requester(), given).terms.deadline == deadline


def test_the_requester_does_not_invite_itself() -> None:
    with pytest.raises(InvalidValue) as refused:
        RequestForQuote.post(at(NOW), uuid4(), requester(), invited_terms(SUPPLIER, REQUESTER))
    assert refused.value.field == "invited"


def test_a_retried_post_has_the_same_id_from_requester_and_key() -> None:
    assert RequestForQuote.id_for(REQUESTER, "k1") == RequestForQuote.id_for(REQUESTER, "k1")
    assert RequestForQuote.id_for(REQUESTER, "k1") != RequestForQuote.id_for(REQUESTER, "k2")
    assert RequestForQuote.id_for(REQUESTER, "k1") != RequestForQuote.id_for(OTHER, "k1")


# Cancelling ------------------------------------------------------------------------------------


def test_cancelled_before_the_deadline_with_a_reason() -> None:
    request = posted()
    request.cancel(at(DEADLINE - ONE_SECOND), "  the hall is to be sold  ")
    assert (request.status, request.reason) == (RequestStatus.CANCELLED, "the hall is to be sold")
    assert events_of(request)[-1] == "RequestForQuote.Cancelled"
    with pytest.raises(Conflict, match="only an open request"):
        request.cancel(at(SOON), "again")
    with pytest.raises(Conflict, match="cancelled"):
        quoted(request)


def test_not_cancelled_without_a_reason_or_from_the_deadline_on() -> None:
    request = posted()
    with pytest.raises(InvalidValue) as refused:
        request.cancel(at(SOON), "   ")
    assert refused.value.field == "reason"
    with pytest.raises(Conflict, match="deadline has passed"):
        request.cancel(at(DEADLINE), "too late")
    assert request.status is RequestStatus.OPEN


def test_not_cancelled_once_its_quotes_are_opened() -> None:
    request = posted()
    opened(request, quoted(request))
    with pytest.raises(Conflict, match="only an open request"):
        request.cancel(at(AFTER), "changed our mind")


# Quoting ---------------------------------------------------------------------------------------


def test_a_member_quotes_and_every_event_names_the_request_as_its_tender() -> None:
    request = posted()
    quote_id = uuid4()
    quote = Quote.quote(at(SOON), quote_id, request, supplier(), gbp(120_000), "  Two coats  ")
    assert (quote.id, quote.request_id, quote.supplier_id) == (quote_id, request.id, SUPPLIER)
    assert (quote.status, quote.price, quote.note) == (
        QuoteStatus.QUOTED,
        gbp(120_000),
        "Two coats",
    )
    assert quote.quoted_at == SOON
    quote.revise(at(SOON + ONE_SECOND), request, supplier(), gbp(110_000), "Two coats")
    quote.decline(at(SOON + 2 * ONE_SECOND), request, supplier(), None)
    events = quote.collect_events()
    assert [type(e).__qualname__ for e in events] == [
        "Quote.Quoted",
        "Quote.Revised",
        "Quote.Declined",
    ]
    assert all(getattr(e, "tender_id", None) == request.id for e in events)


def test_quoted_a_second_before_the_deadline_and_refused_at_it_and_after() -> None:
    request = posted()
    quote = Quote.quote(at(DEADLINE - ONE_SECOND), uuid4(), request, supplier(), gbp(1), "")
    assert quote.quoted_at == DEADLINE - ONE_SECOND
    for moment in (DEADLINE, AFTER):
        with pytest.raises(Conflict, match="deadline has passed: quotes are no longer accepted"):
            Quote.quote(at(moment), uuid4(), request, supplier(OTHER), gbp(1), "")
        with pytest.raises(Conflict, match="deadline has passed"):
            quote.revise(at(moment), request, supplier(), gbp(2), "")
        with pytest.raises(Conflict, match="deadline has passed"):
            quote.decline(at(moment), request, supplier(), "late")
        with pytest.raises(Conflict, match="deadline has passed"):
            Quote.decline_unquoted(at(moment), uuid4(), request, supplier(OTHER), None)
    assert quote.price == gbp(1)


@pytest.mark.parametrize(
    ("request_terms", "facts", "why"),
    [
        (terms(), supplier(REQUESTER), "requester's own organisation"),
        (terms(), supplier(registered=False), "not registered"),
        (terms(), supplier(in_good_standing=False), "not a member in good standing"),
        (invited_terms(OTHER), supplier(), "only the invited members"),
    ],
)
def test_who_may_not_quote(request_terms: Any, facts: Any, why: str) -> None:
    request = posted(request_terms)
    with pytest.raises(Conflict, match=why):
        Quote.quote(at(SOON), uuid4(), request, facts, gbp(100), "")


def test_an_invited_member_quotes_on_an_invited_request() -> None:
    request = posted(invited_terms(SUPPLIER, OTHER))
    assert quoted(request, OTHER).supplier_id == OTHER


@pytest.mark.parametrize(
    ("price", "budget", "field"),
    [
        (Money("GBP", 0), {"currency": "GBP"}, "price_minor"),
        (Money("GBP", -5), {"currency": "GBP"}, "price_minor"),
        (Money("GBP", MAX_VALUE_MINOR + 1), {"currency": "GBP"}, "price_minor"),
        (Money("EUR", 100), {"currency": "GBP", "max_minor": 500}, "currency"),
        (Money("XAU", 100), None, "currency"),
        (Money("JPY", 100), None, "currency"),
    ],
)
def test_a_price_out_of_bounds_or_not_in_the_budgets_currency_is_refused(
    price: Money, budget: Any, field: str
) -> None:
    request = posted(terms(budget=budget))
    with pytest.raises(InvalidValue) as refused:
        Quote.quote(at(SOON), uuid4(), request, supplier(), price, "")
    assert refused.value.field == field


def test_without_a_budget_quotes_are_in_the_request_s_currency_and_the_bounds_inclusive() -> None:
    """Quotes in several currencies could not be compared, cheapest first: the request says
    its currency (GBP unless it says another), whatever anyone quoted before."""
    request = posted(terms(budget=None))
    assert quoted(request).price == gbp(100_000)
    with pytest.raises(InvalidValue) as refused:
        Quote.quote(at(SOON), uuid4(), request, supplier(OTHER), Money("EUR", 1), "")
    assert refused.value.field == "currency"
    most = Quote.quote(at(SOON), uuid4(), request, supplier(THIRD), gbp(MAX_VALUE_MINOR), "")
    assert most.price_minor == MAX_VALUE_MINOR
    in_euros = posted(terms(budget=None, currency="EUR"))
    euros = Quote.quote(at(SOON), uuid4(), in_euros, supplier(OTHER), Money("EUR", 1), "")
    assert euros.price == Money("EUR", 1)
    with pytest.raises(InvalidValue) as refused:
        quoted(in_euros)
    assert refused.value.field == "currency"


def test_a_note_over_four_thousand_characters_is_refused_naming_note() -> None:
    request = posted()
    assert len(quoted(request, note="x" * 4000).note) == 4000
    with pytest.raises(InvalidValue) as refused:
        quoted(request, OTHER, note="x" * 4001)
    assert refused.value.field == "note"


# Revising and declining ------------------------------------------------------------------------


def test_revised_until_the_deadline_and_the_same_again_is_nothing() -> None:
    request = posted()
    quote = quoted(request, price=100_000)
    quote.collect_events()
    quote.revise(at(SOON + ONE_SECOND), request, supplier(), gbp(100_000), "Two coats")
    assert quote.collect_events() == []
    later = DEADLINE - ONE_SECOND
    quote.revise(at(later), request, supplier(), gbp(90_000), "Two coats, primer included")
    assert events_of(quote) == ["Quote.Revised"]
    assert (quote.price, quote.note, quote.quoted_at) == (
        gbp(90_000),
        "Two coats, primer included",
        later,
    )


def test_a_revision_is_checked_as_a_quote_is() -> None:
    request = posted()
    quote = quoted(request)
    with pytest.raises(InvalidValue) as refused:
        quote.revise(at(SOON), request, supplier(), Money("EUR", 100), "")
    assert refused.value.field == "currency"
    with pytest.raises(Conflict, match="good standing"):
        quote.revise(at(SOON), request, supplier(in_good_standing=False), gbp(5), "")
    with pytest.raises(Conflict, match="only the quoting organisation"):
        quote.revise(at(SOON), request, supplier(OTHER), gbp(5), "")
    assert quote.price == gbp(100_000)


def test_declined_then_quoted_again() -> None:
    request = posted()
    quote = quoted(request)
    quote.decline(at(SOON), request, supplier(), "  fully booked  ")
    assert (quote.status, quote.decline_reason) == (QuoteStatus.DECLINED, "fully booked")
    quote.decline(at(SOON), request, supplier(), "fully booked")  # the same again: nothing
    quote.revise(at(SOON + ONE_SECOND), request, supplier(), gbp(100_000), "Two coats")
    assert events_of(quote) == ["Quote.Quoted", "Quote.Declined", "Quote.Revised"]
    assert (quote.status, quote.decline_reason, quote.quoted_at) == (
        QuoteStatus.QUOTED,
        None,
        SOON + ONE_SECOND,
    )


def test_a_member_declines_without_quoting_and_may_quote_later() -> None:
    request = posted(invited_terms(SUPPLIER))
    quote = Quote.decline_unquoted(at(SOON), uuid4(), request, supplier(), "")
    assert (quote.status, quote.decline_reason, quote.price) == (QuoteStatus.DECLINED, None, None)
    assert quote.tender_id == request.id
    quote.revise(at(SOON), request, supplier(), gbp(7_000), "after all")
    assert (quote.status, quote.price) == (QuoteStatus.QUOTED, gbp(7_000))


def test_a_lapsed_member_still_withdraws_its_quote_but_an_outsider_does_not_decline() -> None:
    request = posted(invited_terms(SUPPLIER))
    quote = quoted(request)
    quote.decline(at(SOON), request, supplier(in_good_standing=False), "lapsed")
    assert quote.status is QuoteStatus.DECLINED
    with pytest.raises(Conflict, match="only the invited members"):
        Quote.decline_unquoted(at(SOON), uuid4(), request, supplier(OUTSIDER), None)
    with pytest.raises(Conflict, match="requester's own"):
        Quote.decline_unquoted(at(SOON), uuid4(), request, supplier(REQUESTER), None)


@pytest.mark.parametrize("audience", ["open", "invited"])
def test_only_one_who_may_quote_declines_unquoted(audience: str) -> None:
    """Declining unquoted puts the decliner in the requester's declined list: a registered
    organisation out of good standing (a non-member, a lapsed member) never could quote, so
    is refused; withdrawing a quote it has is the only decline standing does not bar."""
    request = posted(terms() if audience == "open" else invited_terms(SUPPLIER))
    with pytest.raises(Conflict, match=r"not allowed to decline: .*not a member in good standing"):
        Quote.decline_unquoted(at(SOON), uuid4(), request, supplier(in_good_standing=False), "")
    declined = Quote.decline_unquoted(at(SOON), uuid4(), request, supplier(), "busy")
    assert declined.status is QuoteStatus.DECLINED


def test_after_the_deadline_an_opened_quote_answers_the_deadline_not_that_it_is_settled() -> None:
    request = posted()
    quote = quoted(request)
    quote.open(at(AFTER))
    with pytest.raises(Conflict, match="deadline has passed: quotes are no longer accepted"):
        quote.revise(at(AFTER), request, supplier(), gbp(2), "")
    with pytest.raises(Conflict, match="deadline has passed: quotes are no longer accepted"):
        quote.decline(at(AFTER), request, supplier(), "late")


# Opening ---------------------------------------------------------------------------------------


def test_opening_opens_a_quoted_quote_once_and_a_declined_one_stays_declined() -> None:
    request = posted()
    standing = quoted(request)
    withdrawn = quoted(request, OTHER)
    withdrawn.decline(at(SOON), request, supplier(OTHER), "busy")
    standing.open(at(AFTER))
    withdrawn.close(at(AFTER), DECLINED_AT_OPENING)
    assert standing.status is QuoteStatus.OPENED
    assert (withdrawn.status, withdrawn.closed_reason) == (
        QuoteStatus.DECLINED,
        DECLINED_AT_OPENING,
    )
    assert declined_by([standing, withdrawn]) == [OTHER]
    with pytest.raises(Conflict, match="not opened"):
        standing.open(at(AFTER))
    with pytest.raises(Conflict, match="not opened"):
        withdrawn.open(at(AFTER))
    standing.close(at(AFTER), "settled already: nothing")
    assert standing.status is QuoteStatus.OPENED
    with pytest.raises(Conflict, match="settled"):
        withdrawn.revise(at(SOON), request, supplier(OTHER), gbp(1), "dated before, too late")
    assert as_opened(standing) == OpenedQuote(
        standing.id, SUPPLIER, gbp(100_000), "Two coats", SOON
    )
    with pytest.raises(ValueError, match="not opened"):
        as_opened(withdrawn)


def test_a_cancelled_requests_quotes_close_unopened() -> None:
    request = posted()
    quote = quoted(request)
    quote.close(at(SOON), "the request was cancelled")
    assert (quote.status, quote.closed_reason) == (QuoteStatus.CLOSED, "the request was cancelled")
    with pytest.raises(Conflict, match="not opened"):
        quote.open(at(AFTER))


def test_the_request_records_its_opened_quotes_only_after_the_deadline_and_once() -> None:
    request = posted()
    quote = quoted(request)
    assert request.opened_quotes is None
    with pytest.raises(Conflict, match="only after the request's deadline"):
        request.record_quotes_opened(at(DEADLINE - ONE_SECOND), [], [])
    quote.open(at(DEADLINE))
    request.record_quotes_opened(at(DEADLINE), [as_opened(quote)], [OTHER])
    assert request.status is RequestStatus.QUOTES_OPENED
    assert request.opened_quotes == [as_opened(quote)]
    assert request.declined == [OTHER]
    (event,) = [e for e in request.collect_events() if isinstance(e, RequestForQuote.QuotesOpened)]
    assert event.quotes == [
        {
            "quote_id": str(quote.id),
            "supplier_id": str(SUPPLIER),
            "price_minor": 100_000,
            "currency": "GBP",
            "note": "Two coats",
            "quoted_at": SOON.isoformat(),
        }
    ]
    assert event.declined == [str(OTHER)]
    with pytest.raises(Conflict, match="quotes_opened"):
        request.record_quotes_opened(at(AFTER), [], [])


def test_a_cancelled_requests_quotes_are_never_recorded_opened() -> None:
    request = posted()
    request.cancel(at(SOON), "sold")
    with pytest.raises(Conflict, match="cancelled"):
        request.record_quotes_opened(at(AFTER), [], [])


# Accepting and closing -------------------------------------------------------------------------


def test_accepting_an_opened_quote_signs_its_contract() -> None:
    request = posted()
    winner, loser = quoted(request), quoted(request, OTHER, price=90_000)
    opened(request, winner, loser)
    request.collect_events()
    contract = request.accept(at(AFTER + ONE_SECOND), winner.id)
    assert isinstance(contract, Contract)
    assert contract.id == contract_id_for(request.id, QUOTE_LOT)
    assert (contract.tender_id, contract.lot_id, contract.bid_id) == (
        request.id,
        "quote",
        winner.id,
    )
    assert contract.buyer_id == REQUESTER
    assert contract.value == gbp(100_000)
    assert contract.period == WORK
    assert contract.parties == (Party(SUPPLIER, 100),)
    assert contract.commitments == ()
    assert contract.signed_at == AFTER + ONE_SECOND
    assert request.status is RequestStatus.ACCEPTED
    (event,) = request.collect_events()
    assert isinstance(event, RequestForQuote.Accepted)
    assert (event.quote_id, event.supplier_id, event.price_minor, event.currency) == (
        winner.id,
        SUPPLIER,
        100_000,
        "GBP",
    )
    assert event.contract_id == contract.id
    accepted = request.accepted
    assert accepted is not None
    assert accepted.contract_id == contract.id
    with pytest.raises(Conflict, match="decided already"):
        request.accept(at(AFTER), loser.id)
    with pytest.raises(Conflict, match="decided already"):
        request.close(at(AFTER), "no")


def test_only_an_opened_quote_of_the_request_is_accepted() -> None:
    request = posted()
    opened(request, quoted(request))
    with pytest.raises(InvalidValue) as refused:
        request.accept(at(AFTER), uuid4())
    assert refused.value.field == "quote_id"
    assert request.status is RequestStatus.QUOTES_OPENED


def test_closed_with_a_reason_after_opening_and_then_nothing_is_accepted() -> None:
    request = posted()
    quote = quoted(request)
    opened(request, quote)
    with pytest.raises(InvalidValue) as refused:
        request.close(at(AFTER), " ")
    assert refused.value.field == "reason"
    request.close(at(AFTER), "all over budget")
    assert (request.status, request.reason) == (RequestStatus.CLOSED, "all over budget")
    with pytest.raises(Conflict, match="decided already"):
        request.accept(at(AFTER), quote.id)


@pytest.mark.parametrize("moment", [SOON, AFTER])
def test_nothing_is_accepted_or_closed_before_opening(moment: Any) -> None:
    request = posted()
    quote = quoted(request)
    with pytest.raises(Conflict, match="sealed until the deadline"):
        request.accept(at(moment), quote.id)
    with pytest.raises(Conflict, match="sealed until the deadline"):
        request.close(at(moment), "none good")
    assert request.status is RequestStatus.OPEN


def test_a_cancelled_request_is_neither_accepted_nor_closed() -> None:
    request = posted()
    request.cancel(at(SOON), "sold")
    with pytest.raises(Conflict, match="cancelled"):
        request.accept(at(AFTER), uuid4())
    with pytest.raises(Conflict, match="cancelled"):
        request.close(at(AFTER), "x")
