"""What an uploaded file is, decided from its bytes; and whether we keep it.

libmagic names the type (never the file's name or the client's Content-Type). We take PDF,
PNG, JPEG, GIF, WebP, OOXML (DOCX, XLSX, PPTX), ODF (ODT, ODS, ODP) and legacy Word and Excel
(OLE). Anything else is a 415. Then each kind is opened and checked for what makes a document
act rather than be read, and for not being what libmagic took it for (422). Images are kept as
they are.

Each module says what it checks and why:
- `detection`: the entry point (`inspect`): the type libmagic names, and each kind's check.
- `verdicts`: `Inspected`, `EvidenceRefused` and the HTTP statuses of a refusal.
- `pdf`: actions, JavaScript, embedded files and forms in a PDF.
- `zip_packages`: a package's central directory, checked before anything is extracted (zip
  bombs); reading its parts within bounds; finding a zip where readers find one.
- `budget`: what one document, with those embedded in it, may cost to check.
- `xml_parts`: XML parts read by a parser that expands nothing (defusedxml's expat), and the
  SAX handlers' base classes.
- `ooxml`: an OOXML package's declared type, macros, binary parts and connections.
- `relationships`: an OOXML package's relationships fetched from outside as it opens.
- `ooxml_parts`: every XML part of an OOXML package, read for DDE and what fetches from
  elsewhere.
- `word_fields`: Word's field codes, also as its tracked changes accepted or rejected leave them.
- `formulas`: spreadsheet formulas that fetch or refer to another file; data connections.
- `odf`: an ODF package's declared type, macros, scripts, DDE, formulas and links.
- `embedded`: objects and documents embedded in a package, checked within its bounds.
- `ole_objects`: OLE objects embedded in a document.
- `legacy_office`: legacy Word and Excel (.doc, .xls).
"""

from tradehall.membership.evidence.inspection.budget import (
    MAX_ELEMENT_ATTRIBUTES,
    MAX_XML_ATTRIBUTES,
    MAX_XML_BYTES,
    MAX_XML_ELEMENTS,
    MAX_XML_PART_BYTES,
)
from tradehall.membership.evidence.inspection.detection import (
    ACCEPTED,
    DOC,
    DOCX,
    IMAGES,
    ODF,
    ODP,
    ODS,
    ODT,
    OLE_MAIN,
    OOXML_MAIN,
    PDF,
    PPTX,
    XLS,
    XLSX,
    PackageCheck,
    inspect,
)
from tradehall.membership.evidence.inspection.embedded import MAX_NESTED_DEPTH
from tradehall.membership.evidence.inspection.formulas import MAX_FORMULA_CHARACTERS
from tradehall.membership.evidence.inspection.pdf import MAX_PDF_OBJECTS, PDF_ACTIVE
from tradehall.membership.evidence.inspection.verdicts import (
    REFUSED,
    TOO_LARGE,
    UNSUPPORTED,
    EvidenceRefused,
    Inspected,
)
from tradehall.membership.evidence.inspection.xml_parts import (
    MAX_LONG_RUN_ATTRIBUTES,
    MAX_XML_RUN_BYTES,
)
from tradehall.membership.evidence.inspection.zip_packages import (
    MAX_MANIFEST_BYTES,
    MAX_ZIP_ENTRIES,
    MAX_ZIP_EXPANDED,
    MAX_ZIP_RATIO,
    ZIP_RATIO_FLOOR,
    MiB,
)

__all__ = [
    "ACCEPTED",
    "DOC",
    "DOCX",
    "IMAGES",
    "MAX_ELEMENT_ATTRIBUTES",
    "MAX_FORMULA_CHARACTERS",
    "MAX_LONG_RUN_ATTRIBUTES",
    "MAX_MANIFEST_BYTES",
    "MAX_NESTED_DEPTH",
    "MAX_PDF_OBJECTS",
    "MAX_XML_ATTRIBUTES",
    "MAX_XML_BYTES",
    "MAX_XML_ELEMENTS",
    "MAX_XML_PART_BYTES",
    "MAX_XML_RUN_BYTES",
    "MAX_ZIP_ENTRIES",
    "MAX_ZIP_EXPANDED",
    "MAX_ZIP_RATIO",
    "ODF",
    "ODP",
    "ODS",
    "ODT",
    "OLE_MAIN",
    "OOXML_MAIN",
    "PDF",
    "PDF_ACTIVE",
    "PPTX",
    "REFUSED",
    "TOO_LARGE",
    "UNSUPPORTED",
    "XLS",
    "XLSX",
    "ZIP_RATIO_FLOOR",
    "EvidenceRefused",
    "Inspected",
    "MiB",
    "PackageCheck",
    "inspect",
]
