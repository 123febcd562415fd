"""Consortium invitations, throttled on the database throttles (identity.throttle, ADR 14).

Naming partners tells each of them by mail, and any eligible supplier may draft a bid on any
open tender and name any other as its partner, again and again: without a limit one member
could send another an unbounded stream of invitations. Each partner told counts twice, before
the command runs (as an account mail does):

- under the pair (inviting organisation, invited organisation): `ROUNDS` times the account-mail
  allowance (`ACCOUNT_MAIL_FREE_PER_ADDRESS`: 9 by default, as a consortium's shares may go
  back and forth while it is formed), then a wait from 60 s doubling up to
  `ACCOUNT_MAIL_MAX_DELAY_SECONDS`, as invitations to one e-mail address wait;
- under the inviting organisation: the account-mail allowance for each partner of a whole
  consortium (`MAX_PARTNERS`: 27 by default), with the same wait, so one lead cannot spread
  a stream over many partners.

One count is forgotten per `THROTTLE_DECAY_SECONDS` without one. Over either limit the request
is answered 429 with `Retry-After` and nothing is recorded or sent; a request that tells nobody
(refused, or changing nothing) gives its counts back.

The count is *not* kept per invited organisation across every inviter: its 429 would tell one
lead that others are inviting that organisation, before the deadline (who bids, and how
often, is sealed). Keys are keyed hashes (the sealing index key), so the `throttles` table
does not say who leads a consortium or whom it invited.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncEngine

from marketplace.bids.content import MAX_PARTNERS
from tradehall.identity import throttle
from tradehall.marketplace.sealing.ids import keyed_uuid
from tradehall.settings import Settings

# How many times a pair's allowance is an e-mail address's: a few rounds of shares.
ROUNDS = 3


def invitation_policies(settings: Settings) -> tuple[throttle.Policy, throttle.Policy]:
    """(per pair, per inviting organisation)."""
    pair = throttle.Policy(
        free=settings.account_mail_free_per_address * ROUNDS,
        base_seconds=60,
        max_seconds=settings.account_mail_max_delay_seconds,
        decay_seconds=settings.throttle_decay_seconds,
    )
    inviter = throttle.Policy(
        free=settings.account_mail_free_per_address * MAX_PARTNERS,
        base_seconds=60,
        max_seconds=settings.account_mail_max_delay_seconds,
        decay_seconds=settings.throttle_decay_seconds,
    )
    return pair, inviter


def pair_key(index_key: bytes, inviter: UUID, invited: UUID) -> str:
    return f"consortium:pair:{keyed_uuid(index_key, f'invite:{inviter}:{invited}')}"


def inviter_key(index_key: bytes, inviter: UUID) -> str:
    return f"consortium:lead:{keyed_uuid(index_key, f'inviter:{inviter}')}"


@dataclass(frozen=True)
class CountedInvitations:
    """The attempts counted for one request, to give back if it tells nobody."""

    engine: AsyncEngine
    attempts: tuple[throttle.Attempt, ...]

    async def give_back(self) -> None:
        for attempt in reversed(self.attempts):
            await throttle.refund(self.engine, attempt)


async def count_invitations(
    engine: AsyncEngine,
    index_key: bytes,
    settings: Settings,
    now: datetime,
    inviter: UUID,
    invited: Sequence[UUID],
) -> CountedInvitations:
    """Count each invitation under its pair and its inviter; raises throttle.Throttled (with
    whatever this request had counted given back) when one must wait."""
    pair_policy, inviter_policy = invitation_policies(settings)
    counted: list[throttle.Attempt] = []
    try:
        for partner in invited:
            key = pair_key(index_key, inviter, partner)
            counted.append(await throttle.count_attempt(engine, key, pair_policy, now))
            key = inviter_key(index_key, inviter)
            counted.append(await throttle.count_attempt(engine, key, inviter_policy, now))
    except throttle.Throttled:
        await CountedInvitations(engine, tuple(counted)).give_back()
        raise
    return CountedInvitations(engine, tuple(counted))
