"""What identity's adapters (sessions, accounts) use, and nothing more.

`IdentityParts` is the shape they ask for; the app gives its controllers an `Identity` (the
`identity` dependency), and the command line and the clock may pass the container, which has
the same parts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine

from tradehall.clock import Clock
from tradehall.identity.users import Passwords, UserDirectory
from tradehall.services import Threads
from tradehall.settings import Settings

T = TypeVar("T")


class IdentityParts(Protocol):
    """The database, the clock, the password hasher, the users, the settings (lifetimes,
    throttles, the public address mail links to), and threads for hashing."""

    @property
    def engine(self) -> AsyncEngine: ...
    @property
    def clock(self) -> Clock: ...
    @property
    def passwords(self) -> Passwords: ...
    @property
    def users(self) -> UserDirectory: ...
    @property
    def settings(self) -> Settings: ...

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T: ...


@dataclass(frozen=True)
class Identity:
    engine: AsyncEngine
    clock: Clock
    passwords: Passwords
    users: UserDirectory
    settings: Settings
    threads: Threads

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await self.threads.run(fn, *args, **kwargs)
