"""CPU to check worst-case office documents within the evidence intake's XML budget (ADR 24).

Each payload is one XML part of ~31 MiB (a Word header, an ODF content.xml) beside 512 KiB of
random bytes, so that the package is not refused as a zip bomb; first, a realistic workbook
(50,000 rows x 12 cells as Excel writes it), which must be taken. CPU is the process's
(`time.process_time`), so other work on the machine moves it less than wall time.

Run: `.venv/bin/python -m bench.evidence_cost [--inspection FILE]`; FILE is an inspection
module to load instead of the installed one (the code before a change, e.g.
`git show REV:src/tradehall/membership/evidence/inspection.py > /tmp/before.py`), for a REV
before ba8c841. Since then inspection is a package: measure the code before a change in a
worktree of its own (`git worktree add /tmp/before REV && cd /tmp/before && PYTHONPATH=src
/work/main/.venv/bin/python -m bench.evidence_cost`).
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests import evidence_files as files

SIZE = 31 * 1024 * 1024
W = files.WORD


def fill(unit: bytes, size: int = SIZE) -> bytes:
    return unit * (size // len(unit))


def attributes(size: int = SIZE) -> bytes:
    out = io.BytesIO()
    n = 0
    while out.tell() < size:
        out.write(b" a%x=''" % n)
        n += 1
    return out.getvalue()


def wide_tags(size: int = SIZE, per_tag: int = 95_000) -> bytes:
    """Tags just under 1 MiB each, of ~95,000 attributes."""
    out = io.BytesIO()
    while out.tell() < size:
        out.write(b"<a" + b"".join(b" a%x=''" % n for n in range(per_tag)) + b"/>")
    return out.getvalue()


PAYLOADS = {
    "tags of 95,000 attributes": wide_tags,
    "elements <a b='' c=''/>": lambda: fill(b"<a b='' c=''/>"),
    "elements and text <a/>x": lambda: fill(b"<a/>x"),
    "elements <a/>": lambda: fill(b"<a/>"),
    "attributes a1='' (one element)": lambda: b"<a" + attributes() + b"/>",
    "elements with 1 attr <a b=''/>": lambda: fill(b"<a b=''/>"),
    "newlines in text": lambda: b"<a>" + fill(b"\n") + b"</a>",
    "char refs &#10;": lambda: b"<a>" + fill(b"&#10;") + b"</a>",
    "processing instructions <?a?>": lambda: fill(b"<?a?>"),
}


# Word only: what the field readings and namespace look-ups cost at their worst. A field open
# over the whole part with tracked changes in it (three readings of it: as written, changes
# accepted, changes rejected), and elements whose namespace is looked up nested as deep as the
# element cap lets them (each look-up once walked every open element).
_OPEN_FIELD = (
    b'<w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText> PAGE </w:instrText></w:r>'
    b'<w:r><w:fldChar w:fldCharType="separate"/></w:r>'
)
WORD_PAYLOADS = {
    "open field over <w:del/><w:ins/>": lambda: _OPEN_FIELD + fill(b"<w:del/><w:ins/>"),
    "nested <w:connection> (depth)": lambda: (
        b"<w:connection>" * (SIZE // 31) + b"</w:connection>" * (SIZE // 31)
    ),
    "<w:del/> under 100,000 open elements": lambda: (
        b"<a>" * 100_000 + fill(b"<w:del/>", SIZE - 700_000) + b"</a>" * 100_000
    ),
}


def docx(body: bytes) -> bytes:
    header = f"<w:hdr {W}>".encode() + body + b"</w:hdr>"
    return files.docx(
        ("word/header1.xml", header), ("word/media/noise.bin", os.urandom(512 * 1024))
    )


def odt(body: bytes) -> bytes:
    content = (
        b'<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0">'
    )
    content += body + b"</office:document-content>"
    return files.odt(("Pictures/noise.bin", os.urandom(512 * 1024)), content=content)


def realistic_xlsx(rows: int = 50_000, cols: int = 12) -> bytes:
    """A workbook as Excel writes it: 600,000 cells, 25 MiB of sheet XML, 1.3 million elements."""
    rng = random.Random(1)

    def col(i: int) -> str:
        name, i = "", i + 1
        while i:
            i, r = divmod(i - 1, 26)
            name = chr(65 + r) + name
        return name

    out = [
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
    ]
    for r in range(1, rows + 1):
        out.append(f'<row r="{r}" spans="1:{cols}">')
        for c in range(cols):
            ref = f"{col(c)}{r}"
            if c < 2:
                out.append(f'<c r="{ref}" t="s"><v>{rng.randrange(5000)}</v></c>')
            elif c == cols - 1:
                out.append(
                    f'<c r="{ref}" s="3"><f>SUM(C{r}:{col(cols - 2)}{r})</f>'
                    f"<v>{rng.random() * 1e5:.2f}</v></c>"
                )
            else:
                out.append(f'<c r="{ref}" s="2"><v>{rng.random() * 1e4:.2f}</v></c>')
        out.append("</row>")
    out.append("</sheetData></worksheet>")
    return files.zip_of(
        [
            ("[Content_Types].xml", files.content_types(("/xl/workbook.xml", files.XLSX_MAIN))),
            ("_rels/.rels", files.RELS),
            ("xl/workbook.xml", b"<workbook/>"),
            ("xl/worksheets/sheet1.xml", "".join(out).encode()),
        ]
    )


def _inspector(path: str | None) -> tuple[type[Exception], Callable[[Path], Any]]:
    if path is None:
        from tradehall.membership.evidence import EvidenceRefused, inspect

        return EvidenceRefused, inspect
    spec = importlib.util.spec_from_file_location("inspection_under_test", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module.EvidenceRefused, module.inspect


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inspection", help="an inspection module's file to load instead")
    EvidenceRefused, inspect = _inspector(parser.parse_args().inspection)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "real.xlsx"
        path.write_bytes(realistic_xlsx())
        started = time.process_time()
        try:
            outcome = "taken " + inspect(path).extension
        except EvidenceRefused as refused:
            outcome = f"refused: {refused.reason[:60]}"
        print(
            f"xlsx realistic 50,000 x 12 cells          {path.stat().st_size / 2**20:5.1f} MiB  "
            f"{time.process_time() - started:6.2f} s CPU  {outcome}",
            flush=True,
        )
        payloads = [(label, make, ("docx", "odt")) for label, make in PAYLOADS.items()]
        payloads += [(label, make, ("docx",)) for label, make in WORD_PAYLOADS.items()]
        for label, make, kinds in payloads:
            body = make()
            for kind, build in (("docx", docx), ("odt", odt)):
                if kind not in kinds:
                    continue
                path = Path(tmp) / f"x.{kind}"
                path.write_bytes(build(body))
                started = time.process_time()
                try:
                    outcome = "taken " + inspect(path).extension
                except EvidenceRefused as refused:
                    outcome = f"refused: {refused.reason[:60]}"
                spent = time.process_time() - started
                print(
                    f"{kind:4} {label:34} {path.stat().st_size / 2**20:5.1f} MiB  "
                    f"{spent:6.2f} s CPU  {outcome}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
