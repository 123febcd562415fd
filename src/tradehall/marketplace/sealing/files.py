"""Sealed files: a bid's documents, encrypted under their tender's key, under random names.

Unlike the evidence store (ADR 24) nothing is content-addressed or shared: equal documents in
two bids are two files with unrelated names, so the store tells nobody that two bidders sent
the same bytes, nor lets anyone test a guess of a document's content.
"""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from tradehall.marketplace.sealing.keys import NONCE_BYTES, SealingError, SealingKeys

_NAME = re.compile(r"[0-9a-f]{32}")


class SealedFileStore:
    def __init__(self, root: Path, keys: SealingKeys) -> None:
        self.root = root
        self.keys = keys

    def put(self, tender_id: UUID, data: bytes) -> str:
        """Store the bytes sealed under the tender's key; the new file's random name."""
        name = secrets.token_hex(16)
        nonce = os.urandom(NONCE_BYTES)
        sealed = nonce + AESGCM(self.keys.tender_key(tender_id)).encrypt(
            nonce, data, name.encode("ascii")
        )
        self.root.mkdir(parents=True, exist_ok=True)
        temporary = self.root / f".{name}.{secrets.token_hex(8)}.tmp"
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "wb") as file:
                file.write(sealed)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, self._path(name))
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        return name

    def get(self, tender_id: UUID, name: str) -> bytes:
        """The file's bytes; FileNotFoundError for a name that is not one of ours."""
        sealed = self._path(name).read_bytes()
        key = self.keys.existing_tender_key(tender_id)
        if key is None:
            raise SealingError("the data key of a sealed file is not stored")
        try:
            return AESGCM(key).decrypt(
                sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], name.encode("ascii")
            )
        except InvalidTag:
            message = "a sealed file does not open: another tender's, or altered"
            raise SealingError(message) from None

    def delete(self, name: str) -> None:
        """Remove the file (nothing if it is gone already)."""
        self._path(name).unlink(missing_ok=True)

    def _path(self, name: str) -> Path:
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise FileNotFoundError("no such sealed file")
        return self.root / name
