"""Where uploads are kept under the evidence folder: the content-addressed files (the quality
mark's evidence and tender documents alike, ADR 24) and the staging folder beside them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tradehall.membership.evidence.files import DirectoryFileStore, FileStore
from tradehall.membership.evidence.intake import EvidenceIntake

if TYPE_CHECKING:
    from tradehall.settings import Settings


def evidence_files(settings: Settings) -> DirectoryFileStore:
    return DirectoryFileStore(settings.evidence_path / "files")


def staged_intake(settings: Settings, store: FileStore) -> EvidenceIntake:
    """Uploads into `store`, staged beside the files: on the same filesystem, a stored file is
    renamed into place."""
    return EvidenceIntake(store, settings.evidence_path / "staging", settings.evidence_max_bytes)
