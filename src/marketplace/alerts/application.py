"""Saved searches' commands, mixed into `MarketplaceApp`: save, change, delete. A search is found
only by its own organisation (another's is the 404 of one that does not exist)."""

from __future__ import annotations

from uuid import UUID, uuid4

from marketplace.alerts.criteria import Criteria, Delivery
from marketplace.alerts.search import SavedSearch
from sharedkernel.errors import NotFound
from sharedkernel.events import Context
from sharedkernel.writing import Saved, Writes, saved


class SavedSearchCommands(Writes):
    def save_search(
        self,
        context: Context,
        organisation_id: UUID,
        user_id: UUID,
        name: str,
        criteria: Criteria,
        delivery: Delivery,
    ) -> Saved:
        search = SavedSearch.save(
            context, uuid4(), organisation_id, user_id, name, criteria, delivery
        )
        return saved(search, self.save(search))  # type: ignore[attr-defined]

    def change_search(
        self,
        context: Context,
        organisation_id: UUID,
        search_id: UUID,
        name: str,
        criteria: Criteria,
        delivery: Delivery,
        expected_version: int | None = None,
    ) -> Saved:
        return self._change_alone(
            search_id,
            expected_version,
            lambda: self.saved_search(organisation_id, search_id),
            lambda s: s.change(context, name, criteria, delivery),
            "the saved search kept changing; try again",
        )

    def delete_search(
        self,
        context: Context,
        organisation_id: UUID,
        search_id: UUID,
        expected_version: int | None = None,
    ) -> Saved:
        return self._change_alone(
            search_id,
            expected_version,
            lambda: self.saved_search(organisation_id, search_id),
            lambda s: s.delete(context),
            "the saved search kept changing; try again",
        )

    def saved_search(self, organisation_id: UUID, search_id: UUID) -> SavedSearch:
        """The organisation's search, not deleted; anything else is NotFound."""
        search = self._find(search_id, SavedSearch)
        if search is None or search.organisation_id != organisation_id or search.deleted:
            raise NotFound(f"no saved search {search_id}")
        return search
