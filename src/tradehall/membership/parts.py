"""What membership's adapters use (the members import, the Stripe webhook handlers), and
nothing more.

`MembershipParts` is the shape they ask for; the webhook handlers are given a `CardPayments`
(card_payments.py) and the clock a `ClockJobParts` (clock_jobs.py), both `HeldParts`; the
command line passes the container, which has the same parts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine

from membership.application import MembershipApp
from tradehall.clock import Clock
from tradehall.services import Threads

T = TypeVar("T")


class MembershipParts(Protocol):
    """The membership Application, the database, the clock, and threads for the synchronous
    Application."""

    @property
    def membership(self) -> MembershipApp: ...
    @property
    def engine(self) -> AsyncEngine: ...
    @property
    def clock(self) -> Clock: ...

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T: ...


@dataclass(frozen=True)
class HeldParts:
    """`MembershipParts` held as values, picked from the container once."""

    membership: MembershipApp
    engine: AsyncEngine
    clock: Clock
    threads: Threads

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await self.threads.run(fn, *args, **kwargs)
