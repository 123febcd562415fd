"""XML parts, read by an XML parser that expands nothing (defusedxml's expat: a DTD or an
entity is refused, a part that is not well-formed is refused), never by patterns over the
bytes; and the SAX handlers' base classes, which count each element and attribute against the
document's budget.
"""

from __future__ import annotations

import codecs
import io
import re
from typing import Any
from xml.sax import InputSource, SAXException
from xml.sax.handler import ContentHandler

from defusedxml import (  # type: ignore[import-untyped]
    DTDForbidden,
    EntitiesForbidden,
    ExternalReferenceForbidden,
)
from defusedxml.expatreader import DefusedExpatParser  # type: ignore[import-untyped]

from tradehall.membership.evidence.inspection.budget import _XmlBudget
from tradehall.membership.evidence.inspection.verdicts import REFUSED, EvidenceRefused
from tradehall.membership.evidence.inspection.zip_packages import MiB

# One start tag of millions of attributes costs expat itself seconds before any handler sees
# it, more than linearly (400,000: 0.4 s; 1.6 million: 2.4 s; 3.4 million: 8.5 s). A tag under
# 1 MiB holds at most some 130,000 (0.15 s); a longer run without a `<` (a tag, or a text
# without markup) may hold at most 10,000 `=`: a long value (VML's base64 o:gfxdata, a long
# text) passes, a tag of a million attributes does not. Real tags hold tens of attributes.
MAX_XML_RUN_BYTES = 1 * MiB
MAX_LONG_RUN_ATTRIBUTES = 10_000

_LONG_RUN = re.compile(b"<[^<]{%d,}" % MAX_XML_RUN_BYTES)


class _Part(ContentHandler):
    """A part read by the XML parser (defusedxml's expat: no DTD, no entity, nothing fetched).
    Elements are seen by their local name under any prefix, as before (a renamed prefix must
    not hide one), and attributes as (local name, value) pairs, all of them: a prefixed twin of
    an attribute is not dropped in favour of the other. Text comes as the parser gives it:
    character references resolved, a CDATA section as text, comments and processing
    instructions dropped. A handler refuses by raising `EvidenceRefused`, which stops the
    parse. Each element, attribute and processing instruction is counted against the
    document's budget, before any of them is looked at."""

    budget: _XmlBudget | None = None

    def element(self, prefix: str, local: str, attributes: list[tuple[str, str]]) -> None:
        """An element opens."""

    def closed(self, local: str) -> None:
        """An element closes."""

    def text(self, content: str) -> None:
        """Some of an element's text."""

    def startElement(self, name: str, attrs: Any) -> None:
        items: list[tuple[str, str]] = attrs.items()  # a new list (AttributesImpl's items)
        if self.budget is not None:
            self.budget.element(len(items))
        prefix, _, local = name.rpartition(":")
        if items:  # most elements have none: no list built, no namespace looked for
            attributes = [
                (str(key).rpartition(":")[2], str(value))
                for key, value in items
                if key != "xmlns" and not str(key).startswith("xmlns:")
            ]
        else:
            attributes = items
        self.declared(items)
        self.element(prefix, local, attributes)

    def declared(self, items: list[tuple[str, str]]) -> None:
        """The element's attributes, for a handler that needs its namespace declarations."""

    def endElement(self, name: str) -> None:
        self.closed(name.rpartition(":")[2])

    def characters(self, content: str) -> None:
        self.text(content)

    def processingInstruction(self, target: str, data: str) -> None:
        if self.budget is not None:
            self.budget.element(0)


class _ScopedPart(_Part):
    """A part whose handler asks which namespace an element's prefix is declared for. Each
    prefix keeps the namespaces it is bound to, innermost last, so a look-up costs the same at
    any depth (walking the open elements made a part of a million nested ones take an hour).
    `scopes` holds, for each open element, the prefixes it declares (None: none)."""

    def __init__(self) -> None:
        super().__init__()
        self.scopes: list[list[str] | None] = []
        self.bound: dict[str, list[str]] = {}

    def declared(self, items: list[tuple[str, str]]) -> None:
        declared = None
        for key, value in items:
            if key == "xmlns" or str(key).startswith("xmlns:"):
                prefix = str(key).partition(":")[2]
                if declared is None:
                    declared = []
                declared.append(prefix)  # popped as often as it is pushed
                self.bound.setdefault(prefix, []).append(str(value))
        self.scopes.append(declared)

    def namespace(self, prefix: str) -> str:
        namespaces = self.bound.get(prefix)
        return namespaces[-1] if namespaces else f"undeclared:{prefix}"

    def endElement(self, name: str) -> None:
        super().endElement(name)
        declared = self.scopes.pop()
        if declared is not None:
            for prefix in declared:
                self.bound[prefix].pop()


def _values(attributes: list[tuple[str, str]], local: str) -> list[str]:
    """Every value of the attributes of this local name (under any prefix)."""
    return [value for name, value in attributes if name == local]


def _one(attributes: list[tuple[str, str]], local: str) -> str | None:
    """The attribute of this local name; two of them that disagree are refused (a reader
    that takes one and a check that takes the other would see different documents)."""
    values = set(_values(attributes, local))
    if len(values) > 1:
        raise EvidenceRefused(
            f"this office document is damaged (its {local} is given twice)", REFUSED
        )
    return values.pop() if values else None


class _Parser(DefusedExpatParser):  # type: ignore[misc]
    """defusedxml's expat reader, giving an element's text in one piece rather than a callback
    a line (32 MiB of newlines were 32 million Python calls). `_parse` feeds it a part in one
    piece: fed in 64 KiB pieces, expat 2.5 rescans an unfinished token from its start each
    time (one 30 MiB attribute value: 9 s, against 1 s in one piece)."""

    def reset(self) -> None:
        super().reset()
        self._parser.buffer_text = True


def _parse(data: bytes, handler: _Part, name: str, budget: _XmlBudget | None = None) -> None:
    """Parse a part with no DTD and no entities (defusedxml refuses either). A part whose
    first bytes make expat read it as UTF-16 (or UTF-8 with a byte order mark) is re-encoded to
    UTF-8 first (`_two_byte_encoding`), whatever its declaration claims, so that the long-run
    check and expat read the same bytes; any other part is read in the encoding its declaration
    names (UTF-8 without one). A part that is not well-formed is refused (422), as is one the
    parser cannot decode. Its elements and attributes count against `budget`, the
    document's."""
    source = InputSource()
    handler.budget = budget
    try:
        codec = _two_byte_encoding(data)
        if codec is not None:
            data = data.decode(codec).encode("utf-8")
            source.setEncoding("utf-8")  # expat then ignores the declaration's encoding
            if b"\0" in data:
                # Never a character of XML; and expat, even told UTF-8, would read a part
                # starting with one as UTF-16, not the bytes checked here.
                raise ValueError("a NUL character")
        for run in _LONG_RUN.finditer(data):
            if data.count(b"=", run.start(), run.end()) > MAX_LONG_RUN_ATTRIBUTES:
                raise EvidenceRefused(
                    f"this document's {name} holds a tag of more than "
                    f"{MAX_LONG_RUN_ATTRIBUTES:,} attributes; send it in parts",
                    REFUSED,
                )
        parser = _Parser(
            forbid_dtd=True, forbid_entities=True, forbid_external=True, bufsize=len(data) + 1
        )
        parser.setContentHandler(handler)
        source.setByteStream(io.BytesIO(data))
        parser.parse(source)
    except EvidenceRefused:
        raise
    except (DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden):
        raise EvidenceRefused(
            f"this document's {name} declares a DTD, whose entities could stand for anything "
            "(macros or scripts, links); send one without it",
            REFUSED,
        ) from None
    except (SAXException, ValueError, LookupError, UnicodeError, RecursionError):
        raise EvidenceRefused(
            f"this office document is damaged ({name} is not well-formed XML)", REFUSED
        ) from None


def _two_byte_encoding(data: bytes) -> str | None:
    """The codec to re-encode a part to UTF-8 with before it is checked, decided from its
    first bytes as expat decides (xmltok.c, initScan): a byte order mark; else a first byte
    NUL is UTF-16BE and a second byte NUL UTF-16LE (`' <'` in UTF-16LE is `20 00 3C 00`). None
    for a part expat reads byte by byte: UTF-8, or an 8-bit encoding its declaration names,
    which expat takes only if `<`, `=` and the other markup are the ASCII bytes (pyexpat
    refuses multi-byte ones). So the long-run check reads the bytes expat parses."""
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if data[:1] == b"\0":
        return "utf-16-be"
    if data[1:2] == b"\0":
        return "utf-16-le"
    return None
