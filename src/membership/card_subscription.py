"""A member paying its dues by card subscription: the subscription's states, in our words.

The payments adapter translates the processor's vocabulary (Stripe's "canceled", "trialing")
into these at the boundary. Events recorded before this vocabulary hold the processor's words:
they are read as they are (`CardSubscriptionStatus.read`), never rewritten.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class CardSubscriptionStatus(StrEnum):
    ACTIVE = "active"  # collecting (a trial counts: it will collect)
    PAST_DUE = "past_due"  # a payment failed; the processor retries
    UNPAID = "unpaid"  # the processor stopped retrying; the subscription stays
    PAUSED = "paused"
    INCOMPLETE = "incomplete"  # the first payment is not through yet
    CANCELLED = "cancelled"  # ended: nothing more is collected
    OTHER = "other"  # a state we do not act on

    @classmethod
    def read(cls, stored: str) -> CardSubscriptionStatus:
        """A status as an event stored it, whichever vocabulary it was recorded in."""
        try:
            return cls(stored)
        except ValueError:
            return _EARLIER_WORDS.get(stored, cls.OTHER)


# What events recorded before this vocabulary hold: Stripe's words.
_EARLIER_WORDS = {
    "canceled": CardSubscriptionStatus.CANCELLED,
    "incomplete_expired": CardSubscriptionStatus.CANCELLED,
    "trialing": CardSubscriptionStatus.ACTIVE,
}


@dataclass(frozen=True)
class CardSubscription:
    """The member's card subscription with the processor: its id there, and its state."""

    subscription_id: str
    status: CardSubscriptionStatus | None  # None until the processor first tells its state

    @property
    def ended(self) -> bool:
        return self.status is CardSubscriptionStatus.CANCELLED
