"""Requests for quote's commands, mixed into `MarketplaceApp`: post, cancel, record the opened
quotes (the clock), accept one (the request and its contract in one transaction) or close.

Only the requester's organisation cancels, accepts or closes: to anyone else the request is the
404 of one that does not exist. The quotes themselves are the bids Application's
(`marketplace.quotes.sealed`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import IntegrityError

from marketplace.contracts import Contract
from marketplace.quotes.request import (
    OpenedQuote,
    RequesterFacts,
    RequestForQuote,
)
from marketplace.quotes.terms import RequestTerms
from sharedkernel.errors import Conflict, NotFound, StaleVersion
from sharedkernel.events import Context
from sharedkernel.writing import Saved, Writes, saved

__all__ = ["OpenedQuote", "QuoteRequestCommands", "RequesterFacts"]


class QuoteRequestCommands(Writes):
    """The requester's commands and the clock's record of the opened quotes."""

    def post_request(
        self,
        context: Context,
        request_id: UUID,
        requester: RequesterFacts,
        terms: RequestTerms,
    ) -> Saved:
        """Posted once: the same id posted again with the same terms answers the same request
        and records nothing; with other terms (or by another organisation) it is refused."""
        app = self._app()
        if self._find(request_id, RequestForQuote) is not None:
            return self._replayed(request_id, requester, terms)
        request = RequestForQuote.post(context, request_id, requester, terms)
        try:
            return saved(request, app.save(request))
        except IntegrityError:  # posted at the same moment (a retried request), or not a request
            if self._find(request_id, RequestForQuote) is None:
                raise Conflict(f"{request_id} exists already") from None
            return self._replayed(request_id, requester, terms)

    def cancel_request(
        self,
        context: Context,
        request_id: UUID,
        requester_id: UUID,
        reason: str,
        expected_version: int | None = None,
    ) -> Saved:
        return self._as_requester(
            request_id, requester_id, expected_version, lambda r: r.cancel(context, reason)
        )

    def record_quotes_opened(
        self,
        context: Context,
        request_id: UUID,
        quotes: Sequence[OpenedQuote],
        declined: Sequence[UUID],
    ) -> Saved:
        """The clock records what it opened, once: again, it answers the first record."""
        app = self._app()

        def attempt() -> Saved:
            request = self.request_for_quote(request_id)
            if request.opened_quotes is not None:
                return Saved(request.id, request.version, None)
            request.record_quotes_opened(context, quotes, declined)
            return saved(request, app.save(request))

        return self._retrying(request_id, attempt, "the request kept changing; try again")

    def accept_quote(
        self,
        context: Context,
        request_id: UUID,
        requester_id: UUID,
        quote_id: UUID,
        expected_version: int | None = None,
    ) -> Saved:
        """The opened quote accepted and its contract signed, in one transaction; answers the
        contract (its id and version, the log position of the save)."""
        signed: list[Contract] = []

        def decide(request: RequestForQuote) -> Sequence[Any]:
            signed[:] = [request.accept(context, quote_id)]
            return signed

        try:
            request_saved = self._change_one(
                request_id,
                expected_version,
                lambda: self._requested_by(request_id, requester_id),
                decide,
                "the request kept changing; try again",
            )
        except StaleVersion:
            # The same acceptance retried once its answer was lost, naming the If-Match the
            # first named, answers the contract as it stands and records nothing (ADR 43; RFC
            # 9110 §13.1.1 lets a change already made answer 2xx). Checked once the version is
            # found stale, not before: a retry sent while the first was still being saved
            # finds it saved only then. Another quote, or another version, stays a 409.
            request = self._requested_by(request_id, requester_id)
            if request.accepted is None or not request.repeats_acceptance(
                quote_id, expected_version
            ):
                raise
            contract = self._get(request.accepted.contract_id, Contract, "contract")
            return Saved(contract.id, contract.version, None)
        contract = signed[0]
        return Saved(contract.id, contract.version, request_saved.position)

    def close_request(
        self,
        context: Context,
        request_id: UUID,
        requester_id: UUID,
        reason: str,
        expected_version: int | None = None,
    ) -> Saved:
        return self._as_requester(
            request_id, requester_id, expected_version, lambda r: r.close(context, reason)
        )

    def request_for_quote(self, request_id: UUID) -> RequestForQuote:
        return self._get(request_id, RequestForQuote, "request for quote")

    # Plumbing --------------------------------------------------------------------------------

    def _app(self) -> Application[UUID]:
        assert isinstance(self, Application)
        return self

    def _replayed(self, request_id: UUID, requester: RequesterFacts, terms: RequestTerms) -> Saved:
        """A post of an existing request: the same as first posted answers the request as it
        is now (as a replayed tender draft does); anything else is refused."""
        posted: object = self._app().repository.get(request_id, version=1)
        if (
            not isinstance(posted, RequestForQuote)
            or posted.requester_id != requester.organisation_id
            or posted.terms != terms
        ):
            raise Conflict(f"request for quote {request_id} exists already, with other terms")
        current = self.request_for_quote(request_id)
        return Saved(current.id, current.version, None)

    def _requested_by(self, request_id: UUID, requester_id: UUID) -> RequestForQuote:
        request = self.request_for_quote(request_id)
        if request.requester_id != requester_id:
            raise NotFound(f"no request for quote {request_id}")
        return request

    def _as_requester(
        self,
        request_id: UUID,
        requester_id: UUID,
        expected_version: int | None,
        decide: Callable[[RequestForQuote], None],
    ) -> Saved:
        return self._change_alone(
            request_id,
            expected_version,
            lambda: self._requested_by(request_id, requester_id),
            decide,
            "the request kept changing; try again",
        )
