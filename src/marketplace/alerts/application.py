"""Saved searches' commands, mixed into `MarketplaceApp`: save, change, delete. A search is found
only by its own organisation (another's is the 404 of one that does not exist).

Only a member in good standing saves or changes a search (the caller asks membership, as for
listings); a lapsed member's searches are kept, listed and deletable, and go on alerting (ADR
33). An organisation keeps at most `MAX_SEARCHES` at once, exactly: each save and delete
writes the organisation's `SearchBook` in the same atomic save as the search."""

from __future__ import annotations

from uuid import UUID, uuid4

from marketplace.alerts.book import SearchBook
from marketplace.alerts.criteria import Criteria, Delivery
from marketplace.alerts.search import SavedSearch
from sharedkernel.errors import Conflict, NotFound
from sharedkernel.events import Context
from sharedkernel.writing import Saved, Writes, saved

_STANDING = "only a member in good standing saves or changes saved searches"


class SavedSearchCommands(Writes):
    def save_search(
        self,
        context: Context,
        organisation_id: UUID,
        user_id: UUID,
        name: str,
        criteria: Criteria,
        delivery: Delivery,
        in_good_standing: bool,
        search_id: UUID | None = None,
    ) -> Saved:
        if not in_good_standing:
            raise Conflict(_STANDING)
        new_id = search_id or uuid4()
        book_id = SearchBook.id_for(organisation_id)

        def attempt() -> Saved:
            if self._find(new_id, SavedSearch) is not None:
                raise Conflict(f"saved search {new_id} exists already")
            search = SavedSearch.save(
                context, new_id, organisation_id, user_id, name, criteria, delivery
            )
            book = self._find(book_id, SearchBook) or SearchBook.open(context, organisation_id)
            book.add(context, search.id)
            return saved(search, self.save(search, book))  # type: ignore[attr-defined]

        return self._retrying(book_id, attempt, "saved searches kept changing; try again")

    def change_search(
        self,
        context: Context,
        organisation_id: UUID,
        search_id: UUID,
        name: str,
        criteria: Criteria,
        delivery: Delivery,
        in_good_standing: bool,
        expected_version: int | None = None,
    ) -> Saved:
        def change(search: SavedSearch) -> None:
            if not in_good_standing:
                raise Conflict(_STANDING)
            search.change(context, name, criteria, delivery)

        return self._change_alone(
            search_id,
            expected_version,
            lambda: self.saved_search(organisation_id, search_id),
            change,
            "the saved search kept changing; try again",
        )

    def delete_search(
        self,
        context: Context,
        organisation_id: UUID,
        search_id: UUID,
        expected_version: int | None = None,
    ) -> Saved:
        book_id = SearchBook.id_for(organisation_id)

        def delete(search: SavedSearch) -> list[SearchBook]:
            search.delete(context)
            book = self._find(book_id, SearchBook)
            if book is None:
                return []
            book.remove(context, search.id)
            return [book]

        return self._change_one(
            search_id,
            expected_version,
            lambda: self.saved_search(organisation_id, search_id),
            delete,
            "the saved search kept changing; try again",
        )

    def saved_search_as_saved(self, search_id: UUID) -> tuple[SavedSearch, int] | None:
        """A search as its first event saved it (a replayed save compares with it) and its
        current version; None if there is no such search."""
        current = self._find(search_id, SavedSearch)
        if current is None:
            return None
        first: SavedSearch = self.repository.get(search_id, version=1)  # type: ignore[attr-defined]
        return first, current.version

    def saved_search(self, organisation_id: UUID, search_id: UUID) -> SavedSearch:
        """The organisation's search, not deleted; anything else is NotFound."""
        search = self._find(search_id, SavedSearch)
        if search is None or search.organisation_id != organisation_id or search.deleted:
            raise NotFound(f"no saved search {search_id}")
        return search
