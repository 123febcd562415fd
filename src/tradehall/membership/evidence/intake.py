"""Taking an upload: streamed to a staging file while hashed, inspected, then stored.

Nothing is stored unless everything passed: a refusal (or any error) deletes the staging file,
and the store receives only inspected files.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import secrets
from collections.abc import AsyncIterable
from dataclasses import dataclass
from pathlib import Path

from tradehall.membership.evidence.files import FileStore
from tradehall.membership.evidence.inspection import TOO_LARGE, EvidenceRefused, inspect


@dataclass(frozen=True)
class StoredEvidence:
    sha256: str
    content_type: str
    size: int


class EvidenceIntake:
    def __init__(self, store: FileStore, staging_dir: Path, max_bytes: int) -> None:
        self.store = store
        self.staging_dir = staging_dir
        self.max_bytes = max_bytes

    async def take(self, chunks: AsyncIterable[bytes]) -> StoredEvidence:
        """Stream the upload to disk, inspect it, store it; `EvidenceRefused` if refused
        (413 as soon as it passes `max_bytes`, without reading the rest)."""
        self.staging_dir.mkdir(parents=True, exist_ok=True)
        staged = self.staging_dir / f"upload.{secrets.token_hex(16)}"
        digest = hashlib.sha256()
        size = 0
        try:
            descriptor = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "wb") as file:
                async for chunk in chunks:
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise EvidenceRefused(
                            f"the file is larger than {self.max_bytes} bytes", TOO_LARGE
                        )
                    digest.update(chunk)
                    file.write(chunk)
            if size == 0:
                raise EvidenceRefused("the file is empty", 422)
            inspected = await asyncio.to_thread(inspect, staged)
            sha256 = digest.hexdigest()
            await asyncio.to_thread(self.store.put, staged, sha256)
        finally:
            staged.unlink(missing_ok=True)
        return StoredEvidence(sha256=sha256, content_type=inspected.content_type, size=size)
