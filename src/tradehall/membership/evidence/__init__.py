"""Evidence files for the quality mark: taken from an upload stream, inspected from their
bytes, kept once by SHA-256 (ADR 24).

A handler marked `UPLOAD_BODY` (tradehall.api.request_policy) calls
`await intake.take(request.stream())` and records the returned hash in its event.
"""

from tradehall.membership.evidence.files import DirectoryFileStore, FileStore, UnknownFile
from tradehall.membership.evidence.inspection import EvidenceRefused, Inspected, inspect
from tradehall.membership.evidence.intake import EvidenceIntake, StoredEvidence

__all__ = [
    "DirectoryFileStore",
    "EvidenceIntake",
    "EvidenceRefused",
    "FileStore",
    "Inspected",
    "StoredEvidence",
    "UnknownFile",
    "inspect",
]
