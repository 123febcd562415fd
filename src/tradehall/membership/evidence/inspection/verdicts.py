"""What inspecting an upload says: the file's type (`Inspected`), or why it is not kept
(`EvidenceRefused`, with its HTTP status).
"""

from __future__ import annotations

from dataclasses import dataclass

UNSUPPORTED = 415
REFUSED = 422
TOO_LARGE = 413


class EvidenceRefused(Exception):
    """The upload is not kept: `reason` is for the client, `status` the HTTP status."""

    def __init__(self, reason: str, status: int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


@dataclass(frozen=True)
class Inspected:
    content_type: str
    extension: str
