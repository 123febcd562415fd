"""A saved search: an organisation's, saved by one of its users (an id: ADR 4), its criteria and
how its alerts are delivered (at once or in a daily digest). Saved, changed, deleted. Pure."""

from __future__ import annotations

from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from marketplace.alerts.criteria import Criteria, Delivery, search_name
from sharedkernel.errors import NotFound
from sharedkernel.events import Context, TradehallAggregate

_KEY_NAMESPACE = uuid5(NAMESPACE_URL, "https://tradehall.invalid/saved-search-key")


class SavedSearch(TradehallAggregate):
    class Saved(TradehallAggregate.Created):
        organisation_id: UUID
        user_id: UUID
        name: str
        criteria: dict[str, Any]
        delivery: str

    class Changed(TradehallAggregate.Event):
        name: str
        criteria: dict[str, Any]
        delivery: str

        def apply(self, aggregate: SavedSearch) -> None:
            aggregate.name = self.name
            aggregate.criteria = Criteria.from_data(self.criteria)
            aggregate.delivery = Delivery(self.delivery)

    class Deleted(TradehallAggregate.Event):
        def apply(self, aggregate: SavedSearch) -> None:
            aggregate.deleted = True

    def __init__(
        self,
        organisation_id: UUID,
        user_id: UUID,
        name: str,
        criteria: dict[str, Any],
        delivery: str,
    ) -> None:
        self.organisation_id = organisation_id
        self.user_id = user_id
        self.name = name
        self.criteria = Criteria.from_data(criteria)
        self.delivery = Delivery(delivery)
        self.deleted = False

    @staticmethod
    def id_for(organisation_id: UUID, idempotency_key: str) -> UUID:
        """The id of the organisation's search saved with this Idempotency-Key."""
        return uuid5(_KEY_NAMESPACE, f"{organisation_id}:{idempotency_key}")

    @staticmethod
    def as_asked(
        name: str, criteria: Criteria, delivery: Delivery
    ) -> tuple[str, Criteria, Delivery]:
        """What a save asks for, as a saved search holds it (to compare a replayed save)."""
        return search_name(name), criteria, delivery

    @classmethod
    def save(
        cls,
        context: Context,
        search_id: UUID,
        organisation_id: UUID,
        user_id: UUID,
        name: str,
        criteria: Criteria,
        delivery: Delivery,
    ) -> SavedSearch:
        return cls._create(
            cls.Saved,
            id=search_id,
            organisation_id=organisation_id,
            user_id=user_id,
            name=search_name(name),
            criteria=criteria.as_data(),
            delivery=delivery.value,
            **context.event_kwargs(),
        )

    def change(self, context: Context, name: str, criteria: Criteria, delivery: Delivery) -> None:
        self._not_deleted()
        self.trigger_event(
            self.Changed,
            name=search_name(name),
            criteria=criteria.as_data(),
            delivery=delivery.value,
            **context.event_kwargs(),
        )

    def delete(self, context: Context) -> None:
        self._not_deleted()
        self.trigger_event(self.Deleted, **context.event_kwargs())

    def _not_deleted(self) -> None:
        if self.deleted:
            raise NotFound(f"no saved search {self.id}")
