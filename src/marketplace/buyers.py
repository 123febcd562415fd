"""A buyer organisation's standing with the marketplace: staff verify a public body (naming the
evidence they checked) before it may publish a public tender; verification can be withdrawn
and given again. Pure domain code."""

from __future__ import annotations

from uuid import NAMESPACE_URL, UUID, uuid5

from sharedkernel.errors import Conflict
from sharedkernel.events import Context, TradehallAggregate

_BUYER_NAMESPACE = uuid5(NAMESPACE_URL, "https://tradehall.invalid/buyer")

# Organisation kinds (membership.details.OrganisationKind) that buy in the marketplace.
BUYER_KINDS = frozenset({"public_body", "business"})
VERIFIED_KINDS = frozenset({"public_body"})


def buyer_id_for(organisation_id: UUID) -> UUID:
    return uuid5(_BUYER_NAMESPACE, str(organisation_id))


class BuyerVerification(TradehallAggregate):
    """Made by staff's first verification of the organisation."""

    class Verified(TradehallAggregate.Created):
        organisation_id: UUID
        evidence: str

    class Withdrawn(TradehallAggregate.Event):
        reason: str

        def apply(self, aggregate: BuyerVerification) -> None:
            aggregate.verified = False
            aggregate.withdrawal_reason = self.reason

    class Reverified(TradehallAggregate.Event):
        evidence: str

        def apply(self, aggregate: BuyerVerification) -> None:
            aggregate.verified = True
            aggregate.evidence = self.evidence
            aggregate.withdrawal_reason = None

    def __init__(self, organisation_id: UUID, evidence: str) -> None:
        self.organisation_id = organisation_id
        self.evidence = evidence
        self.verified = True
        self.withdrawal_reason: str | None = None

    @classmethod
    def verify(
        cls, context: Context, organisation_id: UUID, kind: str, evidence: str
    ) -> BuyerVerification:
        _require_verifiable(kind)
        return cls._create(
            cls.Verified,
            id=buyer_id_for(organisation_id),
            organisation_id=organisation_id,
            evidence=evidence,
            **context.event_kwargs(),
        )

    def reverify(self, context: Context, kind: str, evidence: str) -> None:
        _require_verifiable(kind)
        if self.verified:
            raise Conflict("the buyer is already verified")
        self.trigger_event(self.Reverified, evidence=evidence, **context.event_kwargs())

    def withdraw(self, context: Context, reason: str) -> None:
        if not self.verified:
            raise Conflict("the buyer is not verified")
        self.trigger_event(self.Withdrawn, reason=reason, **context.event_kwargs())


def _require_verifiable(kind: str) -> None:
    if kind not in VERIFIED_KINDS:
        raise Conflict(f"only a public body is verified as a public buyer (this is a {kind})")
