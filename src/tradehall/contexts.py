"""The bounded contexts the service runs: the one list the composition root iterates.

Adding a context is adding its declaration here (see `tradehall.context.ContextDeclaration`).
"""

from __future__ import annotations

from tradehall.context import ContextDeclaration
from tradehall.marketplace.bids.declaration import BIDS
from tradehall.marketplace.declaration import MARKETPLACE
from tradehall.membership.declaration import MEMBERSHIP
from tradehall.membership.marks.declaration import MARKS

CONTEXTS: tuple[ContextDeclaration, ...] = (MEMBERSHIP, MARKS, MARKETPLACE, BIDS)
