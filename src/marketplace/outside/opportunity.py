"""An outside opportunity: one per ocid, made by its first imported release and changed by each
later one, merged by the standard's rules. Each event holds the release (without people's data,
as canonical JSON) and what the opportunity shows after it. Pure domain code."""

from __future__ import annotations

from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from marketplace.outside.releases import IncomingRelease, from_text, without_email
from marketplace.outside.summary import Summary, summarise
from sharedkernel.errors import InvalidValue
from sharedkernel.events import Context, TradehallAggregate
from sharedkernel.reference.ocds import compiled_release

_NAMESPACE = uuid5(NAMESPACE_URL, "https://tradehall.invalid/outside-opportunity")
# A bound on one aggregate's size: a process with more releases than this is not a tender.
MAX_RELEASES = 200
MAX_SOURCE = 200


def opportunity_id_for(ocid: str) -> UUID:
    return uuid5(_NAMESPACE, ocid)


class Opportunity(TradehallAggregate):
    class Imported(TradehallAggregate.Created):
        ocid: str
        source: str  # the publisher the release came from (a package's publisher's name)
        release_key: str
        release: str
        summary: dict[str, Any]

    class ReleaseMerged(TradehallAggregate.Event):
        release_key: str
        release: str
        summary: dict[str, Any]

        def apply(self, aggregate: Opportunity) -> None:
            aggregate.releases.append(self.release)
            aggregate.keys.add(self.release_key)
            aggregate.summary = Summary.from_data(self.summary)

    def __init__(
        self, ocid: str, source: str, release_key: str, release: str, summary: dict[str, Any]
    ) -> None:
        self.ocid = ocid
        self.source = source
        self.releases = [release]
        self.keys = {release_key}
        self.summary = Summary.from_data(summary)

    @classmethod
    def bring_in(cls, context: Context, source: str, incoming: IncomingRelease) -> Opportunity:
        compiled = compiled_release([incoming.release])
        return cls._create(
            cls.Imported,
            id=opportunity_id_for(incoming.ocid),
            ocid=incoming.ocid,
            source=without_email(source).strip()[:MAX_SOURCE] or "unknown",
            release_key=incoming.key,
            release=incoming.text,
            summary=summarise(compiled).as_data(),
            **context.event_kwargs(),
        )

    def knows(self, incoming: IncomingRelease) -> bool:
        return incoming.key in self.keys

    def merge(self, context: Context, incoming: IncomingRelease) -> bool:
        """Merge a release not seen before: the opportunity becomes what the standard's merge
        of every release makes it. False if it was seen (nothing recorded)."""
        if self.knows(incoming):
            return False
        if len(self.releases) >= MAX_RELEASES:
            raise InvalidValue(
                "ocid", f"{self.ocid} has {MAX_RELEASES} releases already: no more are taken"
            )
        releases = [from_text(text) for text in self.releases] + [incoming.release]
        compiled = compiled_release(releases)
        self.trigger_event(
            self.ReleaseMerged,
            release_key=incoming.key,
            release=incoming.text,
            summary=summarise(compiled).as_data(),
            **context.event_kwargs(),
        )
        return True
