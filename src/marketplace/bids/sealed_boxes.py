"""The ballot box and index work that bids and quotes share on the sealed log, mixed into the
bids' Application (`BidsApp`) and the quotes' commands: a box is a tender's or a request's (its
owner), what it holds is bids or quotes, and closing it settles them all in one transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import Application

from marketplace.bids.boxes import BidBox, BidderIndex
from marketplace.bids.ports import BidIds
from sharedkernel.errors import Conflict
from sharedkernel.events import Context, TradehallAggregate
from sharedkernel.writing import Writes

Lodged = TypeVar("Lodged", bound=TradehallAggregate)


class SealedBoxes(Writes):
    ids: BidIds

    def _box_to_lodge(self, context: Context, owner_id: UUID) -> BidBox:
        box_id = self.ids.box_id(owner_id)
        box = self._find(box_id, BidBox)
        return box if box is not None else BidBox.start(context, box_id, owner_id)

    def _index_listing(
        self, context: Context, organisation_id: UUID, owner_id: UUID, lodged_id: UUID
    ) -> BidderIndex:
        index_id = self.ids.index_id(organisation_id)
        index = self._find(index_id, BidderIndex)
        if index is None:
            return BidderIndex.start(context, index_id, owner_id, lodged_id)
        index.list(context, owner_id, lodged_id)
        return index

    def _lodged_in(self, box: BidBox, kind: type[Lodged]) -> list[Lodged]:
        found = (self._find(lodged_id, kind) for lodged_id in box.bid_ids)
        return [item for item in found if item is not None]

    def _close_box(
        self,
        context: Context,
        owner_id: UUID,
        kind: type[Lodged],
        outcome: str,
        settle: Callable[[list[Lodged]], Sequence[Any]],
        whose: str,  # what the box holds, for the refusals: "the tender's bids"
        over: str | None = None,
    ) -> list[Lodged]:
        """Settle everything of this kind in the owner's box (returning side writes) and close
        the box, in one transaction; anything written meanwhile makes the attempt clash and
        start again. A box closed with this outcome already answers what it holds as it was;
        one closed with another is refused, but for `over` (closed again over it)."""
        box_id = self.ids.box_id(owner_id)

        def attempt() -> list[Lodged]:
            assert isinstance(self, Application)
            box = self._find(box_id, BidBox)
            if box is None:
                box = BidBox.start(context, box_id, owner_id)
            elif box.closed:
                if box.outcome == outcome:
                    return self._lodged_in(box, kind)
                if over is None or box.outcome != over:
                    raise Conflict(f"{whose} were {box.outcome}")
            lodged = self._lodged_in(box, kind)
            side_writes = settle(lodged)
            box.close(context, outcome, over=over)
            extra = {"side_writes": side_writes} if side_writes else {}
            self.save(box, *lodged, **extra)
            return lodged

        return self._retrying(box_id, attempt, f"{whose} kept arriving; try again")
