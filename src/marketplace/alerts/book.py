"""An organisation's book of saved searches: which of its searches are not deleted, so that a
cap holds exactly. Saving a search adds it to the book in the same atomic write, deleting one
takes it out; two saves at once clash on the book's version and the later one decides again
against the count the earlier left (optimistic concurrency: never past the cap). Pure."""

from __future__ import annotations

from uuid import NAMESPACE_URL, UUID, uuid5

from sharedkernel.errors import Conflict
from sharedkernel.events import Context, TradehallAggregate

# The most saved searches an organisation keeps at once.
MAX_SEARCHES = 25
_BOOK_NAMESPACE = uuid5(NAMESPACE_URL, "https://tradehall.invalid/saved-search-book")


class SearchBook(TradehallAggregate):
    class Opened(TradehallAggregate.Created):
        organisation_id: UUID

    class Added(TradehallAggregate.Event):
        search_id: UUID

        def apply(self, aggregate: SearchBook) -> None:
            aggregate.search_ids.add(self.search_id)

    class Removed(TradehallAggregate.Event):
        search_id: UUID

        def apply(self, aggregate: SearchBook) -> None:
            aggregate.search_ids.discard(self.search_id)

    def __init__(self, organisation_id: UUID) -> None:
        self.organisation_id = organisation_id
        self.search_ids: set[UUID] = set()

    @staticmethod
    def id_for(organisation_id: UUID) -> UUID:
        return uuid5(_BOOK_NAMESPACE, str(organisation_id))

    @classmethod
    def open(cls, context: Context, organisation_id: UUID) -> SearchBook:
        return cls._create(
            cls.Opened,
            id=cls.id_for(organisation_id),
            organisation_id=organisation_id,
            **context.event_kwargs(),
        )

    def add(self, context: Context, search_id: UUID) -> None:
        if search_id in self.search_ids:
            return
        if len(self.search_ids) >= MAX_SEARCHES:
            raise Conflict(
                f"an organisation keeps at most {MAX_SEARCHES} saved searches: delete one first"
            )
        self.trigger_event(self.Added, search_id=search_id, **context.event_kwargs())

    def remove(self, context: Context, search_id: UUID) -> None:
        if search_id in self.search_ids:
            self.trigger_event(self.Removed, search_id=search_id, **context.event_kwargs())
