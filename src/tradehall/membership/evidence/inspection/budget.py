"""What one document may cost to check, together with the documents embedded in it: the
zip's bounds over all its packages, and the bytes, elements and attributes of the XML parts
that are parsed (`_XmlBudget`).
"""

from __future__ import annotations

import zipfile

from tradehall.membership.evidence.inspection.verdicts import REFUSED, EvidenceRefused
from tradehall.membership.evidence.inspection.zip_packages import (
    _ZIP_DIRECTORY_ENTRY,
    MAX_ZIP_ENTRIES,
    MAX_ZIP_EXPANDED,
    MiB,
    _read_part,
)

# An XML part read whole to be checked as its parser reads it (an ODF document's content.xml,
# a Word document's body, a worksheet): thousands of pages (pictures are parts of their own).
MAX_XML_PART_BYTES = 32 * MiB
# All the XML parts of one document that are parsed, together: parsing runs in Python (a SAX
# callback an element), and 85 MiB of tiny elements under the zip's bounds took 30 s of CPU,
# holding the interpreter's lock, off the event loop but slowing every request meanwhile.
MAX_XML_BYTES = 32 * MiB
# Within those bytes, tiny elements (`<a/>`: 8 million of them) still cost about 15 s; each
# element and attribute is a Python callback. A real document is far below these: a workbook of
# 50,000 rows by 12 columns as Excel writes it (25 MiB) holds 1.3 million elements and 1.35
# million attributes, a Word document of 700 pages 110,000 elements. An element holds at most
# about 1.5 attributes in the densest real part (a worksheet's cells: r, s, t).
MAX_XML_ELEMENTS = 2_000_000  # processing instructions included
MAX_XML_ATTRIBUTES = 3_000_000  # namespace declarations included

# And no element of more than 10,000 attributes, however short: refused at the first such tag,
# not after 3 million attributes in tags of 100,000 (4 s).
MAX_ELEMENT_ATTRIBUTES = 10_000

_TOO_MANY_PARTS = (
    f"this document and those embedded in it have more than {MAX_ZIP_ENTRIES} parts; send it "
    "in parts"
)


class _XmlBudget:
    """What one document's XML parts may hold, together, to be parsed: bytes (`MAX_XML_BYTES`)
    and, counted as they are parsed, elements and attributes (`MAX_XML_ELEMENTS`,
    `MAX_XML_ATTRIBUTES`)."""

    def __init__(self) -> None:
        self.left = MAX_XML_BYTES
        self.elements_left = MAX_XML_ELEMENTS
        self.attributes_left = MAX_XML_ATTRIBUTES
        self.entries_left = MAX_ZIP_ENTRIES
        self.expanded_left = MAX_ZIP_EXPANDED

    def package(self, entries: int, expanded: int) -> None:
        """One more zip package (the document, or one embedded in it) of `entries` parts
        expanding to `expanded` bytes: all of them together within the zip's bounds."""
        self.entries_left -= entries
        self.expanded_left -= expanded
        if self.entries_left < 0:
            raise EvidenceRefused(_TOO_MANY_PARTS, REFUSED)
        if self.expanded_left < 0:
            raise EvidenceRefused(
                f"this document and those embedded in it expand to more than "
                f"{MAX_ZIP_EXPANDED // MiB} MiB; send it in parts",
                REFUSED,
            )

    def directory(self, data: bytes) -> None:
        """Before a zip embedded in the document is opened: Python reads a zip's whole
        central directory before its entries can be counted, and a directory deflates well (100
        MiB of it in a 7 MiB upload held 700 MiB for 9 s of CPU). Each of its entries starts
        with a signature, so their count bounds the entries: more than are left, refused
        unread."""
        if data.count(_ZIP_DIRECTORY_ENTRY) > self.entries_left:
            raise EvidenceRefused(_TOO_MANY_PARTS, REFUSED)

    def element(self, attributes: int) -> None:
        """One more element (or processing instruction) of `attributes` attributes."""
        self.elements_left -= 1
        self.attributes_left -= attributes
        if attributes > MAX_ELEMENT_ATTRIBUTES:
            raise EvidenceRefused(
                f"this document holds an element of more than {MAX_ELEMENT_ATTRIBUTES:,} "
                "attributes; send one without it",
                REFUSED,
            )
        if self.elements_left < 0 or self.attributes_left < 0:
            raise EvidenceRefused(
                f"this document holds more than {MAX_XML_ELEMENTS:,} elements or "
                f"{MAX_XML_ATTRIBUTES:,} attributes to check: send it in parts",
                REFUSED,
            )

    def read(self, package: zipfile.ZipFile, name: str, limit: int = MAX_XML_PART_BYTES) -> bytes:
        data = _read_part(package, name, limit)
        self.left -= len(data)
        if self.left < 0:
            raise EvidenceRefused(
                f"this document holds more than {MAX_XML_BYTES // MiB} MiB of text and markup "
                "to check: send it in parts",
                REFUSED,
            )
        return data
