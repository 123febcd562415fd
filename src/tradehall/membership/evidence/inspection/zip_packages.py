"""Zip packages (OOXML and ODF): their central directory is checked before anything is
extracted (entries, total expanded size, expansion ratio: zip bombs; two parts of one name;
encrypted entries), and their parts are read within bounds. Also how a zip is found where a
reader would find one (`_zip_in`).
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tradehall.membership.evidence.inspection.verdicts import REFUSED, EvidenceRefused

if TYPE_CHECKING:
    from tradehall.membership.evidence.inspection.budget import _XmlBudget


MiB = 1 << 20
# Zip packages: refused before anything is extracted when their central directory says so.
MAX_ZIP_ENTRIES = 5_000
MAX_ZIP_EXPANDED = 100 * MiB
MAX_ZIP_RATIO = 100
ZIP_RATIO_FLOOR = 1 * MiB  # below this expanded size, a high ratio is harmless
MAX_MANIFEST_BYTES = 1 * MiB


def _open_zip(
    source: Path | io.BytesIO, size: int, budget: _XmlBudget | None = None
) -> zipfile.ZipFile:
    """The package, once its central directory shows it is no zip bomb (nothing extracted).
    A package embedded in the document (`budget`, the document's) shares the document's
    bounds: its parts and expanded bytes count with the document's own."""
    try:
        package = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError, ValueError):
        raise EvidenceRefused("this document is not a readable zip package", REFUSED) from None
    try:
        entries = package.infolist()
        expanded = sum(entry.file_size for entry in entries)
        if len(entries) > MAX_ZIP_ENTRIES:
            raise EvidenceRefused(f"this package has more than {MAX_ZIP_ENTRIES} parts", REFUSED)
        if len({entry.filename for entry in entries}) != len(entries):
            # We read the last entry of a name; a reader that keeps the first, or walks the
            # local headers (as one repairing a package does), would open the other.
            raise EvidenceRefused("this package holds two parts of one name", REFUSED)
        if expanded > MAX_ZIP_EXPANDED or (
            expanded > ZIP_RATIO_FLOOR and expanded > MAX_ZIP_RATIO * max(size, 1)
        ):
            raise EvidenceRefused("this package expands far beyond its size (a zip bomb)", REFUSED)
        if any(entry.flag_bits & 0x1 for entry in entries):
            raise EvidenceRefused("this package is encrypted: send it without a password", REFUSED)
        if budget is not None:
            budget.package(len(entries), expanded)
    except BaseException:
        package.close()
        raise
    return package


def _read_part(package: zipfile.ZipFile, name: str, limit: int = MAX_MANIFEST_BYTES) -> bytes:
    try:
        with package.open(name) as part:
            data = part.read(limit + 1)
    except KeyError:
        raise EvidenceRefused(f"this package has no {name}", REFUSED) from None
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError):
        raise EvidenceRefused("this office document is damaged", REFUSED) from None
    if len(data) > limit:
        raise EvidenceRefused(f"this package's {name} is too large", REFUSED)
    return data


_ZIP_MAGIC = b"PK\x03\x04"
# A reader opens a zip from its end-of-central-directory record, in its last 64 KiB + 22 bytes
# (the record, and a comment of at most 65,535), whatever comes first: a zip after a few bytes
# (a self-extractor's stub, or junk) is one too, its offsets counting them.
_ZIP_END = b"PK\x05\x06"
_ZIP_DIRECTORY_ENTRY = b"PK\x01\x02"
_ZIP_END_WITHIN = 22 + 65_535
_CHUNK = 1 << 20


def _zip_in(data: bytes) -> bool:
    """Whether `data` is a zip as readers find one: from its first bytes, or from an
    end-of-central-directory record that opens to at least one entry (four bytes of an image
    that happen to look like one open to nothing)."""
    if data.startswith(_ZIP_MAGIC):
        return True
    if _ZIP_END not in data[-_ZIP_END_WITHIN:]:
        return False
    if data.count(_ZIP_DIRECTORY_ENTRY) > MAX_ZIP_ENTRIES:
        return True  # refused unread by `_check_nested` (`_XmlBudget.directory`)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as found:
            return bool(found.infolist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError):
        return False


def _tail_holds_zip_end(part: Any) -> bool:
    """Whether what is left of an open part ends with a zip's end record within its reach
    (read in chunks, keeping only the tail)."""
    tail = b""
    while chunk := part.read(_CHUNK):
        tail = (tail + chunk)[-(_ZIP_END_WITHIN + len(_ZIP_END)) :]
    return _ZIP_END in tail
