"""The alert follower (issue 17): follows the marketplace log and records one alert per saved
search per tender, outside opportunity or open-audience request for quote (issue 18) that
matches it, queueing the mail of an immediate
search's alert in the same transaction (the projector's: each event applied exactly once, so a
crash between recording and queueing loses both or neither; the sender sends by a stable
Message-ID, ADR 12). Never rebuilt: its `clear` refuses (an alert's read flag and digest are
records, not a view).

It reads no read model (ADR 18): it keeps the searches from their own events and the public
facts of tenders (from their terms, drafts included: a Published event carries none), outside
opportunities and open-audience requests for quote in its own tables. A request posted to an
invited audience is never kept nor alerted: its invited members are told directly
(tradehall.marketplace.quote_notices), and nobody else may quote.

When an alert is due, judged by event time, so that the order the log is processed in does not
matter:
- a tender: published (its Published event's time) after the search was saved, still open,
  and matching when it is published or amended;
- an outside opportunity: open at the import that brings it in or changes it, and first
  released (its earliest release's own date, not the import's: a feed's backlog must not flood
  members; a date after the import counts as the import's) after the search was saved;
- a request for quote: open-audience, posted (its Posted event's time) after the search was
  saved, and still open (before its deadline, not cancelled);
- a search saved or changed looks back over what is stored and was published after it was
  saved (events of a later time may come earlier in the log), open at the search's event.

An event never stops the follower (ADR 16): one lacking what it needs is skipped, logged.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from sqlalchemy import Connection, select, update

from marketplace.alerts.criteria import (
    OPPORTUNITY,
    REQUEST,
    TENDER,
    Criteria,
    Delivery,
    Facts,
    matches,
    opportunity_facts,
    request_facts,
    tender_facts,
)
from projections.events import RecordedEvent, payload_uuid
from projections.folding import insert_rows, upsert_rows
from tradehall.mail.outbox import Notice, NoticeFollower, message_id_for
from tradehall.mail.tables import outbox_messages
from tradehall.marketplace.alerts.tables import alert_items, alert_searches, alerts

_log = logging.getLogger("tradehall.mail")
_ALERT_NAMESPACE = uuid5(NAMESPACE_URL, "https://tradehall.invalid/alert")
IMMEDIATE_TEMPLATE = "saved_search_alert"

SAVED = "SavedSearch.Saved"
CHANGED = "SavedSearch.Changed"
DELETED = "SavedSearch.Deleted"
DRAFTED = "Tender.Drafted"
REVISED = "Tender.DraftRevised"
PUBLISHED = "Tender.Published"
AMENDED = "Tender.Amended"
ENDED = "Tender.Ended"
IMPORTED = "Opportunity.Imported"
MERGED = "Opportunity.ReleaseMerged"
REQUEST_POSTED = "RequestForQuote.Posted"
# A request no longer open to quotes: nothing more alerts of it.
REQUEST_ENDED = frozenset({"RequestForQuote.Cancelled", "RequestForQuote.QuotesOpened"})
OPEN_AUDIENCE = "open"
_HANDLED = frozenset(
    {
        SAVED,
        CHANGED,
        DELETED,
        DRAFTED,
        REVISED,
        PUBLISHED,
        AMENDED,
        ENDED,
        IMPORTED,
        MERGED,
        REQUEST_POSTED,
        *REQUEST_ENDED,
    }
)
# Per kind of item: its path under /api/v1, the words naming it in a message's subject, and
# in its body.
ITEM_WORDS = {
    TENDER: ("tenders", "tender", "tender"),
    OPPORTUNITY: ("opportunities", "opportunity", "opportunity (from a national portal)"),
    REQUEST: ("requests-for-quote", "request for quote", "request for quote"),
}


def alert_id_for(search_id: UUID, item_id: UUID) -> UUID:
    return uuid5(_ALERT_NAMESPACE, f"{search_id}:{item_id}")


@dataclass
class _Search:
    search_id: UUID
    organisation_id: UUID
    name: str
    criteria: Criteria
    delivery: Delivery
    saved_at: datetime
    deleted: bool


@dataclass
class _Item:
    item_id: UUID
    facts: Facts
    published_at: datetime | None
    open_until: datetime | None
    imported_at: datetime | None

    def open_at(self, moment: datetime) -> bool:
        if self.open_until is None or self.open_until <= moment:
            return False
        # An outside opportunity: open at its latest import too.
        return self.imported_at is None or self.open_until > self.imported_at

    def row(self) -> dict[str, Any]:
        return {
            "item_id": self.item_id,
            "kind": self.facts.kind,
            "facts": json.dumps(self.facts.as_data(), sort_keys=True),
            "published_at": self.published_at,
            "open_until": self.open_until,
            "imported_at": self.imported_at,
        }


def _mapping(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data[key]
    if not isinstance(value, dict):
        raise ValueError(f"its {key} is not an object")
    return value


def _search_of(row: Any) -> _Search:
    return _Search(
        row.search_id,
        row.organisation_id,
        row.name,
        Criteria.from_data(json.loads(row.criteria)),
        Delivery(row.delivery),
        row.saved_at,
        row.deleted,
    )


def _item_of(row: Any) -> _Item:
    return _Item(
        row.item_id,
        Facts.from_data(json.loads(row.facts)),
        row.published_at,
        row.open_until,
        row.imported_at,
    )


def _deadline(terms: dict[str, Any]) -> datetime | None:
    try:
        end = datetime.fromisoformat(str(terms["tender_period"]["end"]))
    except (KeyError, TypeError, ValueError):
        return None
    return end if end.tzinfo is not None else None


def _release_date(release: Any) -> datetime | None:
    """A release's own `date` (aware), or None: then it never counts as new."""
    try:
        date = datetime.fromisoformat(str(json.loads(str(release))["date"]))
    except (KeyError, TypeError, ValueError):
        return None
    return date if date.tzinfo is not None and date.utcoffset() is not None else None


def _request_deadline(data: dict[str, Any]) -> datetime:
    deadline = data["deadline"]
    if not isinstance(deadline, datetime) or deadline.utcoffset() is None:
        raise ValueError("its deadline is not a time with an offset")
    return deadline


def item_link(kind: str, item_id: UUID, public_url: str) -> str:
    """Where an alerted item is read (a request for quote, by members signed in)."""
    return f"{public_url}/api/v1/{ITEM_WORDS.get(kind, ITEM_WORDS[OPPORTUNITY])[0]}/{item_id}"


def _summary_open_until(summary: dict[str, Any]) -> datetime | None:
    if summary.get("status") != "active" or not summary.get("deadline"):
        return None
    try:
        deadline = datetime.fromisoformat(str(summary["deadline"]))
    except ValueError:
        return None
    return deadline if deadline.tzinfo is not None else None


def alert_notice(
    search_name: str, facts: Facts, item_id: UUID, public_url: str, organisation_id: UUID
) -> Notice:
    where = item_link(facts.kind, item_id, public_url)
    _, named, what = ITEM_WORDS.get(facts.kind, ITEM_WORDS[OPPORTUNITY])
    return Notice(
        IMMEDIATE_TEMPLATE,
        f"New {named}: {facts.title}"[:300],
        f'A new {what} matches your saved search "{search_name}".\n\n'
        f"{facts.title}\n{where}\n\n"
        f"Every alert: {public_url}/api/v1/organisations/{organisation_id}/alerts",
    )


class AlertFollower(NoticeFollower):
    """Records saved searches' alerts and queues immediate ones' mail (see the module)."""

    name = "alerts"
    logs = ("marketplace",)
    tables = (alert_searches, alert_items, alerts, outbox_messages)

    def apply(self, connection: Connection, events: Sequence[RecordedEvent]) -> None:
        relevant = [e for e in events if e.name in _HANDLED]
        if not relevant:
            return
        batch = _Batch(connection, self.public_url)
        for event in relevant:
            at = event.data.get("timestamp")
            if not isinstance(at, datetime) or at.utcoffset() is None:
                # Event time decides every alert: one with no time, or a naive one (no store
                # column takes it, and it compares with no other), is left out.
                _log.warning("alerts: %r skipped: it has no time with an offset", event)
                continue
            try:
                batch.apply(event, at)
            except (LookupError, TypeError, ValueError, AttributeError, ArithmeticError) as error:
                # An event the domain would not write is left out; it never stops the follower.
                _log.warning("alerts: %r skipped: %s", event, error)
        batch.write()


class _Batch:
    """One batch's work: the searches (all, loaded once), the items it touches, what it adds."""

    def __init__(self, connection: Connection, public_url: str) -> None:
        self.connection = connection
        self.public_url = public_url
        self.searches = {
            row.search_id: _search_of(row) for row in connection.execute(select(alert_searches))
        }
        self.search_rows: dict[UUID, dict[str, Any]] = {}
        self.items: dict[UUID, _Item | None] = {}
        self.changed_items: set[UUID] = set()
        self.new_alerts: dict[UUID, dict[str, Any]] = {}
        self.messages: dict[str, dict[str, Any]] = {}

    # Events ----------------------------------------------------------------------------------

    def apply(self, event: RecordedEvent, at: datetime) -> None:
        name, data, key = event.name, event.data, event.originator_id
        if name == SAVED:
            organisation_id = payload_uuid(data.get("organisation_id"))
            user_id = payload_uuid(data.get("user_id"))
            if organisation_id is None or user_id is None:
                raise ValueError("no organisation or user")
            search = _Search(
                key,
                organisation_id,
                str(data["name"]),
                Criteria.from_data(data["criteria"]),
                Delivery(data["delivery"]),
                at,
                False,
            )
            self.searches[key] = search
            self.search_rows[key] = {
                "search_id": key,
                "organisation_id": organisation_id,
                "user_id": user_id,
                "name": search.name,
                "criteria": json.dumps(search.criteria.as_data(), sort_keys=True),
                "delivery": search.delivery.value,
                "saved_at": at,
                "changed_at": at,
                "version": event.originator_version,
                "deleted": False,
            }
            self._look_back(search, at)
        elif name in (CHANGED, DELETED):
            known = self.searches.get(key)
            if known is None:
                raise ValueError("its search is not known")
            search = known
            row = self.search_rows.get(key) or self._stored_search_row(key)
            row.update(changed_at=at, version=event.originator_version)
            if name == DELETED:
                search.deleted = True
                row["deleted"] = True
            else:
                search.name = str(data["name"])
                search.criteria = Criteria.from_data(data["criteria"])
                search.delivery = Delivery(data["delivery"])
                row.update(
                    name=search.name,
                    criteria=json.dumps(search.criteria.as_data(), sort_keys=True),
                    delivery=search.delivery.value,
                )
                self._look_back(search, at)
            self.search_rows[key] = row
        elif name in (DRAFTED, REVISED, AMENDED):
            terms = _mapping(data, "terms")
            item = self._item(key)
            published_at = item.published_at if item is not None else None
            item = _Item(key, tender_facts(terms), published_at, _deadline(terms), None)
            self._put(item)
            if name == AMENDED and item.published_at is not None:
                self._alert_item(item, at)
        elif name == PUBLISHED:
            item = self._item(key)
            if item is None:
                raise ValueError("its terms are not known")
            if item.published_at is None:
                item.published_at = at
                self._put(item)
            self._alert_item(item, at)
        elif name == ENDED:
            item = self._item(key)
            if item is not None:
                item.open_until = None
                self._put(item)
        elif name == REQUEST_POSTED:
            if data["audience"] != OPEN_AUDIENCE:
                return  # invited: told directly, never alerted
            if self._item(key) is not None:
                raise ValueError("the request is posted already")
            item = _Item(key, request_facts(data), at, _request_deadline(data), None)
            self._put(item)
            self._alert_item(item, at)
        elif name in REQUEST_ENDED:
            item = self._item(key)
            if item is not None:
                item.open_until = None
                self._put(item)
        elif name in (IMPORTED, MERGED):
            summary = _mapping(data, "summary")
            released = _release_date(data.get("release"))
            if released is not None and released > at:
                # Dated after its own import: released, for us, when imported (else a release
                # dated years ahead would alert every search saved until then).
                released = at
            item = self._item(key)
            first = item.published_at if item is not None else None
            if released is not None and (first is None or released < first):
                first = released
            item = _Item(key, opportunity_facts(summary), first, _summary_open_until(summary), at)
            self._put(item)
            self._alert_item(item, at)

    # Alerting --------------------------------------------------------------------------------

    def _alert_item(self, item: _Item, at: datetime) -> None:
        """A tender or opportunity published or changed at `at`: each search it is new to."""
        if item.published_at is None or not item.open_at(at):
            return
        for search in self.searches.values():
            if not search.deleted and search.saved_at < item.published_at:
                self._alert(search, item, at)

    def _look_back(self, search: _Search, at: datetime) -> None:
        """A search saved or changed at `at`: what was published after it was saved, open now."""
        if search.deleted:
            return  # changed after its deletion: only another writer's log says so
        table = alert_items
        stored = self.connection.execute(
            select(table).where(
                table.c.published_at > search.saved_at,
                table.c.open_until > at,
            )
        )
        found = {row.item_id: _item_of(row) for row in stored}
        for item_id, item in self.items.items():
            if item is not None:
                found[item_id] = item
        for item in found.values():
            if (
                item.published_at is not None
                and item.published_at > search.saved_at
                and item.open_at(at)
            ):
                self._alert(search, item, at)

    def _alert(self, search: _Search, item: _Item, at: datetime) -> None:
        if not matches(search.criteria, item.facts):
            return
        alert_id = alert_id_for(search.search_id, item.item_id)
        if alert_id in self.new_alerts:
            return
        message_id = None
        if search.delivery is Delivery.IMMEDIATE:
            notice = alert_notice(
                search.name, item.facts, item.item_id, self.public_url, search.organisation_id
            )
            message_id = message_id_for(alert_id, 1, notice.template)
            self.messages[message_id] = {
                "message_id": message_id,
                "template": notice.template,
                "organisation_id": search.organisation_id,
                "recipient": None,
                "subject": notice.subject,
                "body": notice.body,
                "created_at": at,
                "sent_at": None,
                "attempts": 0,
                "last_error": None,
                "next_attempt_at": None,
                "sealed": None,
            }
        self.new_alerts[alert_id] = {
            "alert_id": alert_id,
            "search_id": search.search_id,
            "organisation_id": search.organisation_id,
            "item_kind": item.facts.kind,
            "item_id": item.item_id,
            "title": item.facts.title[:300] or "(untitled)",
            "delivery": search.delivery.value,
            "created_at": at,
            "message_id": message_id,
            "read_at": None,
        }

    # Storage ---------------------------------------------------------------------------------

    def _stored_search_row(self, search_id: UUID) -> dict[str, Any]:
        row = self.connection.execute(
            select(alert_searches).where(alert_searches.c.search_id == search_id)
        ).one()
        return dict(row._mapping)

    def _item(self, item_id: UUID) -> _Item | None:
        if item_id not in self.items:
            row = self.connection.execute(
                select(alert_items).where(alert_items.c.item_id == item_id)
            ).one_or_none()
            self.items[item_id] = _item_of(row) if row is not None else None
        return self.items[item_id]

    def _put(self, item: _Item) -> None:
        self.items[item.item_id] = item
        self.changed_items.add(item.item_id)

    def write(self) -> None:
        connection = self.connection
        upsert_rows(connection, alert_searches, "search_id", self.search_rows.values())
        changed = [i for k in self.changed_items if (i := self.items[k]) is not None]
        upsert_rows(connection, alert_items, "item_id", [i.row() for i in changed])
        new = _not_there(connection, alerts.c.alert_id, self.new_alerts)
        insert_rows(connection, alerts, new)
        # A message only for an alert recorded now (a replayed event queues nothing new).
        recorded = {row["message_id"] for row in new if row["message_id"] is not None}
        messages = {k: m for k, m in self.messages.items() if k in recorded}
        insert_rows(
            connection,
            outbox_messages,
            _not_there(connection, outbox_messages.c.message_id, messages),
        )


def _not_there(connection: Connection, column: Any, rows: dict[Any, dict[str, Any]]) -> list[Any]:
    if not rows:
        return []
    there = set(connection.scalars(select(column).where(column.in_(list(rows)))))
    return [row for key, row in rows.items() if key not in there]


def mark_read(connection: Connection, organisation_id: UUID, alert_id: UUID, at: datetime) -> bool:
    """An alert of the organisation's read (the first reading's time is kept); False if the
    organisation has no such alert."""
    mine = (alerts.c.alert_id == alert_id, alerts.c.organisation_id == organisation_id)
    connection.execute(update(alerts).where(*mine, alerts.c.read_at.is_(None)).values(read_at=at))
    return connection.execute(select(alerts.c.alert_id).where(*mine)).first() is not None
