"""OLE compound files embedded in a document (word/embeddings/oleObject1.bin, ODF's Object
1, a legacy document's ObjectPool): no OLE package (Ole10Native), Equation Editor 3.0 object,
linked object, macros or encryption; and the OOXML documents they hold as packages.
"""

from __future__ import annotations

import io
import struct
from typing import Any

import olefile  # type: ignore[import-untyped]

from tradehall.membership.evidence.inspection.zip_packages import _zip_in

_OLE_MAGIC = bytes.fromhex("d0cf11e0a1b11ae1")
# Objects whose server is a known way in, by class: the Packager (ProgID "Package": it carries
# any file, an executable or a script, and runs it on a double-click; the Windows 7+ Packager
# Shell Object likewise) and Equation Editor 3.0 (CVE-2017-11882, CVE-2018-0802: removed from
# Office in 2018 for them). An embedded workbook, chart, document or drawing is taken.
_OLE_PACKAGE = "an embedded file (an OLE package: it runs what it holds)"
_OLE_REFUSED_CLASSES = {
    "0003000C-0000-0000-C000-000000000046": _OLE_PACKAGE,
    "F20DA720-C02F-11CE-927B-0800095AE340": _OLE_PACKAGE,
    "0002CE02-0000-0000-C000-000000000046": "an Equation Editor 3.0 object",
    "0002CE03-0000-0000-C000-000000000046": "an Equation Editor 3.0 object",
}
_OLE_REFUSED_PROGIDS = {
    "package": _OLE_PACKAGE,
    "equation.3": "an Equation Editor 3.0 object",
}


def _embedded_object_refusal(data: bytes, packages: list[tuple[str, bytes]]) -> str | None:
    """What makes the embedded OLE object refused, or None; the OOXML or ODF documents it
    holds are added to `packages` (`_ole_packages`), to be checked as documents."""
    try:
        with olefile.OleFileIO(io.BytesIO(data)) as ole:
            packages.extend(_ole_packages(ole))
            for entry in ole.listdir(streams=True, storages=True):
                lowered = {part.lower() for part in entry}
                if "\x01ole10native" in lowered:
                    return _OLE_PACKAGE
                if lowered & _OLE_ACTIVE:
                    return "an embedded object with macros"
                if lowered & _OLE_ENCRYPTED:
                    return "an encrypted embedded object"
            for direntry in ole.direntries:
                clsid = str(getattr(direntry, "clsid", "") or "").upper()
                if clsid in _OLE_REFUSED_CLASSES:
                    return _OLE_REFUSED_CLASSES[clsid]
            if ole.exists("\x01CompObj"):
                with ole.openstream("\x01CompObj") as stream:
                    prog_id = _compobj_prog_id(stream.read(4096))
                if prog_id is not None and prog_id.lower() in _OLE_REFUSED_PROGIDS:
                    return _OLE_REFUSED_PROGIDS[prog_id.lower()]
            if ole.exists("\x01Ole"):
                with ole.openstream("\x01Ole") as stream:
                    header = stream.read(8)
                if len(header) == 8 and struct.unpack_from("<I", header, 4)[0] & 0x1:
                    return "a linked object (its source is fetched when it is updated)"
    except Exception:
        return "an embedded object that cannot be read"
    return None


def _ole_packages(ole: Any) -> list[tuple[str, bytes]]:
    """The documents an OLE compound file holds as zip packages in `Package` streams: how
    Office embeds an OOXML document (a workbook, a presentation) in a legacy document's
    ObjectPool or in an OLE object (a zip as `_zip_in` finds one). Other `Package` streams are
    left alone."""
    found = []
    for entry in ole.listdir(streams=True, storages=False):
        if entry[-1].lower() == "package":
            with ole.openstream(entry) as stream:
                data = stream.read()
            if _zip_in(data):
                found.append(("/".join(entry), data))
    return found


def _compobj_prog_id(stream: bytes) -> str | None:
    """The ProgID in a CompObj stream ([MS-OLEDS] 2.3.8): after a 28-byte header, the user
    type (a length-prefixed string), the clipboard format (none, a number, or a string), then
    the ProgID (a length-prefixed string). None if the stream ends before it."""

    def string(offset: int) -> tuple[str, int] | None:
        if offset + 4 > len(stream):
            return None
        (length,) = struct.unpack_from("<I", stream, offset)
        end = offset + 4 + length
        if end > len(stream):
            return None
        return stream[offset + 4 : end].split(b"\0", 1)[0].decode("latin-1"), end

    user_type = string(28)
    if user_type is None or user_type[1] + 4 > len(stream):
        return None
    offset = user_type[1]
    (marker,) = struct.unpack_from("<I", stream, offset)
    if marker in (0xFFFFFFFF, 0xFFFFFFFE):
        offset += 8
    elif marker == 0:
        offset += 4
    else:
        clipboard = string(offset)
        if clipboard is None:
            return None
        offset = clipboard[1]
    prog_id = string(offset)
    return prog_id[0] if prog_id is not None else None


_OLE_ACTIVE = {"macros", "vba", "_vba_project_cur", "_vba_project", "\x01ole10native"}
_OLE_ENCRYPTED = {"encryptedpackage", "encryptioninfo"}
