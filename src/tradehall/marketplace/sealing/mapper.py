"""The sealed log's mapper: every stored event's whole state, and its real topic, sealed.

A domain event becomes the library's own stored event first (its transcoder and compressor, no
cipher); then what is stored is

    topic  "tradehall.marketplace.sealing:Sealed" (the same for every event)
    state  b"\\x01" + header + body
    header nonce(12) + AES-GCM(header key, tender id, aad = originator id)
    body   nonce(12) + AES-GCM(tender key, len(topic) (2 bytes) + topic + compressed state,
                               aad = originator id + originator version (8 bytes, big endian))

Reading reverses it: the header gives the tender, the tender's key opens the body, and the
library's Mapper decodes the real topic and state as ever (upcasting included). The aad binds
each body to its place in the log: a body copied to another event does not open.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eventsourcing.compressor import ZlibCompressor
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import (
    Compressor,
    Mapper,
    MapperDeserialisationError,
    StoredEvent,
    Transcoder,
)

from tradehall.marketplace.sealing.keys import NONCE_BYTES, SealingKeys

SEALED_TOPIC = "tradehall.marketplace.sealing:Sealed"
FORMAT_1 = b"\x01"
# nonce + the sealed 16-byte tender id + the 16-byte tag
HEADER_BYTES = NONCE_BYTES + 16 + 16
TOPIC_LENGTH_BYTES = 2

MapperFactory = Callable[[Transcoder], Mapper[UUID]]


class SealedMapper(Mapper[UUID]):
    """The library's Mapper, its output sealed under the event's tender's key."""

    def __init__(self, transcoder: Transcoder, compressor: Compressor, keys: SealingKeys) -> None:
        super().__init__(transcoder, compressor=compressor, cipher=None)
        self.keys = keys

    def to_stored_event(self, domain_event: DomainEventProtocol[UUID]) -> StoredEvent:
        tender_id = getattr(domain_event, "tender_id", None)
        if not isinstance(tender_id, UUID):
            raise ValueError(
                f"{type(domain_event).__qualname__} has no tender_id: a sealed log's events "
                "each name their tender"
            )
        return self.seal(super().to_stored_event(domain_event), tender_id)

    def seal(self, plain: StoredEvent, tender_id: UUID) -> StoredEvent:
        """The library's stored event (compressed state, real topic), sealed for its tender."""
        originator_id = plain.originator_id
        if not isinstance(originator_id, UUID):
            raise ValueError("a sealed log's aggregates have UUIDs")
        topic = plain.topic.encode("utf-8")
        if len(topic) >= 1 << (8 * TOPIC_LENGTH_BYTES):
            raise ValueError("an event topic too long to seal")
        header = _seal(self.keys.header_key(), tender_id.bytes, originator_id.bytes)
        body = _seal(
            self.keys.tender_key(tender_id),
            len(topic).to_bytes(TOPIC_LENGTH_BYTES, "big") + topic + plain.state,
            _body_aad(originator_id, plain.originator_version),
        )
        return StoredEvent(
            originator_id=originator_id,
            originator_version=plain.originator_version,
            topic=SEALED_TOPIC,
            state=FORMAT_1 + header + body,
        )

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        return super().to_domain_event(self.unseal(stored_event))

    def unseal(self, stored_event: StoredEvent) -> StoredEvent:
        """The stored event as the library's Mapper would have stored it (compressed state)."""
        originator_id = stored_event.originator_id
        where = f"sealed event {originator_id} version {stored_event.originator_version}"
        if (
            stored_event.topic != SEALED_TOPIC
            or not isinstance(originator_id, UUID)
            or stored_event.state[:1] != FORMAT_1
            or len(stored_event.state) < 1 + HEADER_BYTES + NONCE_BYTES
        ):
            raise MapperDeserialisationError(f"the {where} is not in the sealed format")
        state = stored_event.state
        header, body = state[1 : 1 + HEADER_BYTES], state[1 + HEADER_BYTES :]
        try:
            tender_id = UUID(bytes=_open(self.keys.header_key(), header, originator_id.bytes))
        except (InvalidTag, ValueError):
            raise MapperDeserialisationError(f"the header of the {where} does not open") from None
        tender_key = self.keys.existing_tender_key(tender_id)
        if tender_key is None:
            raise MapperDeserialisationError(f"the data key of the {where} is not stored")
        try:
            opened = _open(
                tender_key, body, _body_aad(originator_id, stored_event.originator_version)
            )
        except InvalidTag:
            raise MapperDeserialisationError(f"the body of the {where} does not open") from None
        length = int.from_bytes(opened[:TOPIC_LENGTH_BYTES], "big")
        topic_end = TOPIC_LENGTH_BYTES + length
        try:
            topic = opened[TOPIC_LENGTH_BYTES:topic_end].decode("utf-8")
        except UnicodeDecodeError:
            raise MapperDeserialisationError(f"the topic of the {where} is unreadable") from None
        return StoredEvent(
            originator_id=originator_id,
            originator_version=stored_event.originator_version,
            topic=topic,
            state=opened[topic_end:],
        )


def _body_aad(originator_id: UUID, originator_version: int) -> bytes:
    return originator_id.bytes + originator_version.to_bytes(8, "big")


def _seal(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def _open(key: bytes, sealed: bytes, aad: bytes) -> bytes:
    return AESGCM(key).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], aad)


def sealed_mapper_factory(keys: SealingKeys) -> MapperFactory:
    """What the bids Application's `construct_mapper` calls with its transcoder."""

    def make(transcoder: Transcoder) -> Mapper[UUID]:
        return SealedMapper(transcoder, ZlibCompressor(), keys)

    return make


def plain_mapper_factory() -> MapperFactory:
    """The library's Mapper with zlib and no encryption: only for tests that show the sealing
    test can fail."""

    def make(transcoder: Transcoder) -> Mapper[UUID]:
        return Mapper[UUID](transcoder, compressor=ZlibCompressor())

    return make
