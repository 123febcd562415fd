"""The sealed log's mapper, through a real eventsourcing Application on both stores: events come
back as written (upcasting too), and what the events table holds names no tender, no event
class and no content; the library's plain mapper, given the same events, shows all three (so
the check can fail). Altered bytes are refused without naming the tender."""

from __future__ import annotations

import contextlib
import json
import uuid
import zlib
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import Mapper, MapperDeserialisationError, StoredEvent
from sqlalchemy import Engine, create_engine, delete, text

from tests.integration.test_sealing_keys import (  # noqa: F401
    TEST_LOG,
    engine,
    fresh_store,
    master,
)
from tradehall.marketplace.sealing.keys import SealingKeyMissing, SealingKeys
from tradehall.marketplace.sealing.mapper import (
    SEALED_TOPIC,
    MapperFactory,
    SealedMapper,
    plain_mapper_factory,
    sealed_mapper_factory,
)
from tradehall.marketplace.sealing.tables import sealing_keys
from tradehall.store.base import Store
from tradehall.store.postgres import EVENTS_SCHEMA, PostgresStore
from tradehall.store.sqlite import SQLiteStore

PAYLOAD = "ZQX-an-offer-of-seven-volunteer-days"
REVISED = "ZQX-revised-to-nine-volunteer-days"


class Offer(Aggregate):
    """A bid-like aggregate: every event names its tender."""

    class Made(Aggregate.Created):
        tender_id: UUID
        text: str

    class Revised(Aggregate.Event):
        # Version 1 called the field `wording`.
        class_version = 2
        tender_id: UUID
        text: str

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["text"] = state.pop("wording")

        def apply(self, aggregate: Any) -> None:
            aggregate.text = self.text

    def __init__(self, tender_id: UUID, text: str) -> None:
        self.tender_id = tender_id
        self.text = text

    @classmethod
    def make(cls, tender_id: UUID, text: str) -> Offer:
        return cls._create(cls.Made, id=uuid.uuid4(), tender_id=tender_id, text=text)

    def revise(self, text: str) -> None:
        self.trigger_event(self.Revised, tender_id=self.tender_id, text=text)


class Untendered(Aggregate):
    """An aggregate whose events name no tender: not for a sealed log."""


class SealedTestApp(Application[UUID]):
    """A tiny Application whose mapper comes from a factory, as the bids Application's does."""

    name = TEST_LOG

    def __init__(self, env: dict[str, str], mapper_factory: MapperFactory) -> None:
        self.mapper_factory = mapper_factory
        super().__init__(env=env)

    def construct_mapper(self) -> Mapper[UUID]:
        return self.mapper_factory(self.construct_transcoder())


@pytest.fixture
def keys(engine: Engine) -> SealingKeys:  # noqa: F811
    return SealingKeys(engine, master())


def open_app(store: Store, factory: MapperFactory) -> SealedTestApp:
    return SealedTestApp(store.application_env(TEST_LOG, pool_size=2), factory)


@pytest.fixture
def app(fresh_store: Store, keys: SealingKeys) -> Iterator[SealedTestApp]:  # noqa: F811
    application = open_app(fresh_store, sealed_mapper_factory(keys))
    yield application
    application.close()


def events_table(store: Store) -> tuple[Engine, str]:
    """An engine on the test log's events, and the table's name."""
    if isinstance(store, SQLiteStore):
        return create_engine(f"sqlite:///{store.database_file(TEST_LOG)}"), "stored_events"
    assert isinstance(store, PostgresStore)
    return store.sync_engine(), f"{EVENTS_SCHEMA}.{TEST_LOG}_events"


def raw_events(store: Store) -> list[tuple[UUID, int, str, bytes]]:
    """What a reader of the database sees in the events table."""
    events, table = events_table(store)
    try:
        with events.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT originator_id, originator_version, topic, state "  # noqa: S608
                    f"FROM {table} ORDER BY originator_version"
                )
            )
            return [(UUID(str(row[0])), int(row[1]), str(row[2]), bytes(row[3])) for row in rows]
    finally:
        events.dispose()


def readable(topic: str, state: bytes) -> bytes:
    """Everything a reader can make of a stored event without a key: the bytes as stored, and
    decompressed if they are zlib's."""
    seen = topic.encode() + b"\n" + state
    with contextlib.suppress(zlib.error):
        seen += b"\n" + zlib.decompress(state)
    return seen


def secrets_in(seen: bytes, tender_id: UUID) -> list[str]:
    """Which of the things a sealed event must hide a reader could find."""
    found = []
    if tender_id.bytes in seen:
        found.append("tender id (bytes)")
    if str(tender_id).encode() in seen or tender_id.hex.encode() in seen:
        found.append("tender id (text)")
    if b"Offer" in seen or b"test_sealed_mapper" in seen:
        found.append("event topic")
    if PAYLOAD.encode() in seen or REVISED.encode() in seen:
        found.append("content")
    return found


def write_offer(app: Application[UUID], tender_id: UUID) -> Offer:
    offer = Offer.make(tender_id, PAYLOAD)
    offer.revise(REVISED)
    app.save(offer)
    return offer


def test_events_round_trip_and_are_sealed_in_the_store(
    fresh_store: Store,  # noqa: F811
    app: SealedTestApp,
    keys: SealingKeys,
) -> None:
    tender_id = uuid.uuid4()
    offer = write_offer(app, tender_id)

    loaded = app.repository.get(offer.id)
    assert isinstance(loaded, Offer)
    assert (loaded.tender_id, loaded.text, loaded.version) == (tender_id, REVISED, 2)
    # Another process (an Application of its own, keys from the rows) reads them too.
    again = open_app(fresh_store, sealed_mapper_factory(SealingKeys(keys.engine, keys.master)))
    try:
        assert again.repository.get(offer.id).text == REVISED
    finally:
        again.close()

    rows = raw_events(fresh_store)
    assert [(row[0], row[1]) for row in rows] == [(offer.id, 1), (offer.id, 2)]
    for _, _, topic, state in rows:
        assert topic == SEALED_TOPIC
        assert state[:1] == b"\x01"
        assert secrets_in(readable(topic, state), tender_id) == []
    # Two events of one tender share no visible bytes that would link them to it.
    assert rows[0][3][1:45] != rows[1][3][1:45]


def test_the_plain_mapper_shows_what_the_sealed_one_hides(fresh_store: Store) -> None:  # noqa: F811
    """The check above can fail: with the library's own mapper (zlib, no cipher) the same
    events show the tender, the topic and the content to anyone who reads the table."""
    plain = open_app(fresh_store, plain_mapper_factory())
    try:
        tender_id = uuid.uuid4()
        offer = write_offer(plain, tender_id)
        assert plain.repository.get(offer.id).text == REVISED
    finally:
        plain.close()
    [first, second] = raw_events(fresh_store)
    assert secrets_in(readable(first[2], first[3]), tender_id) == [
        "tender id (text)",
        "event topic",
        "content",
    ]
    assert "content" in secrets_in(readable(second[2], second[3]), tender_id)


def test_events_stored_in_an_old_shape_are_upcast(app: SealedTestApp, keys: SealingKeys) -> None:
    """A version 1 event (no class_version, the old field name), sealed as stored then, loads in
    the new shape: the library's upcasting runs inside the sealed mapper."""
    mapper = app.mapper
    assert isinstance(mapper, SealedMapper)
    tender_id = uuid.uuid4()
    offer = Offer.make(tender_id, PAYLOAD)
    offer.revise(REVISED)
    made, revised = offer.collect_events()
    plain = Mapper[UUID](mapper.transcoder, compressor=mapper.compressor).to_stored_event(revised)
    state = json.loads(zlib.decompress(plain.state))
    assert state.pop("class_version") == 2
    state["wording"] = state.pop("text")
    version_1 = StoredEvent(
        plain.originator_id,
        plain.originator_version,
        plain.topic,
        zlib.compress(json.dumps(state).encode()),
    )
    app.recorder.insert_events([mapper.to_stored_event(made), mapper.seal(version_1, tender_id)])

    loaded = app.repository.get(offer.id)
    assert isinstance(loaded, Offer)
    assert loaded.text == REVISED
    [_, stored] = app.recorder.select_events(offer.id)
    assert b"wording" in zlib.decompress(mapper.unseal(stored).state)  # the store kept v1


def flipped(data: bytes, index: int) -> bytes:
    return data[:index] + bytes([data[index] ^ 0x01]) + data[index + 1 :]


def test_altered_or_misplaced_bytes_are_refused_naming_no_tender(
    app: SealedTestApp, keys: SealingKeys
) -> None:
    mapper = app.mapper
    assert isinstance(mapper, SealedMapper)
    tender_id = uuid.uuid4()
    offer = Offer.make(tender_id, PAYLOAD)
    offer.revise(REVISED)
    first, second = (mapper.to_stored_event(event) for event in offer.collect_events())
    assert mapper.to_domain_event(first).originator_id == offer.id

    def refused(stored: StoredEvent) -> str:
        with pytest.raises(MapperDeserialisationError) as error:
            mapper.to_domain_event(stored)
        message = str(error.value)
        assert str(tender_id) not in message
        assert tender_id.hex not in message
        return message

    state = first.state
    assert "header" in refused(StoredEvent(first.originator_id, 1, SEALED_TOPIC, flipped(state, 5)))
    assert "body" in refused(StoredEvent(first.originator_id, 1, SEALED_TOPIC, flipped(state, -1)))
    assert "format" in refused(
        StoredEvent(first.originator_id, 1, SEALED_TOPIC, b"\x02" + state[1:])
    )
    assert "format" in refused(StoredEvent(first.originator_id, 1, SEALED_TOPIC, state[:20]))
    # A whole sealed state moved to another place in the log: its aad no longer matches.
    refused(StoredEvent(first.originator_id, 2, SEALED_TOPIC, state))
    refused(StoredEvent(uuid.uuid4(), 1, SEALED_TOPIC, state))
    # The header of one event with the body of another.
    refused(StoredEvent(first.originator_id, 1, SEALED_TOPIC, state[:45] + second.state[45:]))


def test_an_altered_row_in_the_store_is_refused(
    fresh_store: Store,  # noqa: F811
    app: SealedTestApp,
) -> None:
    offer = write_offer(app, uuid.uuid4())
    [stored, _] = app.recorder.select_events(offer.id)
    events, table = events_table(fresh_store)
    try:
        with events.begin() as connection:
            connection.execute(
                text(f"UPDATE {table} SET state = :state WHERE originator_version = 1"),  # noqa: S608
                {"state": flipped(stored.state, 60)},
            )
    finally:
        events.dispose()
    reopened = open_app(fresh_store, app.mapper_factory)
    try:
        with pytest.raises(MapperDeserialisationError):
            reopened.repository.get(offer.id)
    finally:
        reopened.close()


def test_without_the_tender_key_nothing_opens(
    fresh_store: Store,  # noqa: F811
    app: SealedTestApp,
    keys: SealingKeys,
) -> None:
    """A tender's key deleted (crypto-shredding), or another service's keys: no bid opens."""
    tender_id, other_tender = uuid.uuid4(), uuid.uuid4()
    shredded = write_offer(app, tender_id)
    kept = write_offer(app, other_tender)

    # Another master key: the header key does not unwrap, so nothing opens.
    elsewhere = open_app(fresh_store, sealed_mapper_factory(SealingKeys(keys.engine, master())))
    try:
        with pytest.raises(SealingKeyMissing):
            elsewhere.repository.get(kept.id)
    finally:
        elsewhere.close()

    with keys.engine.begin() as connection:
        connection.execute(delete(sealing_keys).where(sealing_keys.c.key_id == tender_id))
    fresh = open_app(fresh_store, sealed_mapper_factory(SealingKeys(keys.engine, keys.master)))
    try:
        with pytest.raises(MapperDeserialisationError, match="not stored"):
            fresh.repository.get(shredded.id)
        assert fresh.repository.get(kept.id).text == REVISED
    finally:
        fresh.close()


def test_an_event_without_a_tender_is_refused(app: SealedTestApp) -> None:
    stray = Untendered()
    with pytest.raises(ValueError, match="tender_id"):
        app.save(stray)
