"""Legacy Word and Excel (.doc, .xls), OLE compound files: no VBA storages, no embedded
packages (Ole10Native), no Excel 4 macro sheets, not encrypted, and the main stream is there;
an OOXML document in its ObjectPool is checked as an embedded one.
"""

from __future__ import annotations

import struct
from pathlib import Path

import olefile  # type: ignore[import-untyped]

from tradehall.membership.evidence.inspection.budget import _XmlBudget
from tradehall.membership.evidence.inspection.embedded import _check_nested
from tradehall.membership.evidence.inspection.ole_objects import (
    _OLE_ACTIVE,
    _OLE_ENCRYPTED,
    _OLE_REFUSED_CLASSES,
    _ole_packages,
)
from tradehall.membership.evidence.inspection.verdicts import REFUSED, EvidenceRefused
from tradehall.membership.evidence.inspection.zip_packages import MAX_MANIFEST_BYTES

_BIFF_BOUNDSHEET, _BIFF_FILEPASS, _BIFF_EOF = 0x0085, 0x002F, 0x000A
_WORD_IDENT, _WORD_ENCRYPTED = 0xA5EC, 0x0100


def _check_ole(path: Path, main_streams: tuple[str, ...]) -> None:
    try:
        if not olefile.isOleFile(str(path)):
            raise EvidenceRefused("this file is not the office document it appears to be", REFUSED)
        with olefile.OleFileIO(str(path)) as ole:
            entries = ole.listdir(streams=True, storages=True)
            for entry in entries:
                lowered = {part.lower() for part in entry}
                if lowered & _OLE_ACTIVE:
                    raise EvidenceRefused(
                        "this document holds macros or embedded programs", REFUSED
                    )
                if lowered & _OLE_ENCRYPTED:
                    raise EvidenceRefused(
                        "this document is encrypted: send it without a password", REFUSED
                    )
            for direntry in ole.direntries:  # objects in it (ObjectPool/_1234567890)
                clsid = str(getattr(direntry, "clsid", "") or "").upper()
                if clsid in _OLE_REFUSED_CLASSES:
                    raise EvidenceRefused(
                        f"this document holds {_OLE_REFUSED_CLASSES[clsid]}", REFUSED
                    )
            main = next((name for name in main_streams if ole.exists(name)), None)
            if main is None:
                raise EvidenceRefused(
                    "this file is not the office document it appears to be", REFUSED
                )
            with ole.openstream(main) as stream:
                head = stream.read(64 * 1024 if main == "WordDocument" else MAX_MANIFEST_BYTES)
            packages = _ole_packages(ole)
    except EvidenceRefused:
        raise
    except Exception:
        raise EvidenceRefused("this office document cannot be read", REFUSED) from None
    budget = _XmlBudget()
    for stream, document in packages:  # an OOXML document in its ObjectPool
        _check_nested(document, stream, budget, 1)
    if main == "WordDocument":
        _check_word_header(head)
    else:
        _check_workbook_globals(head)


def _check_word_header(fib: bytes) -> None:
    if len(fib) < 12 or struct.unpack_from("<H", fib, 0)[0] != _WORD_IDENT:
        raise EvidenceRefused("this file is not the office document it appears to be", REFUSED)
    if struct.unpack_from("<H", fib, 0x0A)[0] & _WORD_ENCRYPTED:
        raise EvidenceRefused("this document is encrypted: send it without a password", REFUSED)


def _check_workbook_globals(stream: bytes) -> None:
    """The workbook's global records (BIFF8), up to their EOF: no password, no macro sheet."""
    offset = 0
    while offset + 4 <= len(stream):
        record, length = struct.unpack_from("<HH", stream, offset)
        data = stream[offset + 4 : offset + 4 + length]
        if record == _BIFF_FILEPASS:
            raise EvidenceRefused("this workbook is encrypted: send it without a password", REFUSED)
        # BOUNDSHEET: the sheet's type is its sixth byte; 1 is an Excel 4 macro sheet, 6 VBA.
        if record == _BIFF_BOUNDSHEET and len(data) >= 6 and data[5] in (0x01, 0x06):
            raise EvidenceRefused("this workbook holds macro sheets", REFUSED)
        if record == _BIFF_EOF:
            return
        offset += 4 + length
