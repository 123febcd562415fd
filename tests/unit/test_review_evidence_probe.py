"""Review probe: a field code whose tracked changes, decided one way for insertions and the
other for deletions, leave a fetching field (none of the three readings sees it)."""

from __future__ import annotations

from pathlib import Path

from tests import evidence_files as files
from tests.unit.test_evidence_hidden_sources import UNC, _char, _code, _deleted, _inserted


def test_a_field_name_made_by_rejecting_an_insertion_and_accepting_a_deletion_is_refused(
    tmp_path: Path,
) -> None:
    body = (
        _char("begin")
        + _code("INCLUDE")
        + _inserted(_code("X"))
        + _deleted(_code("Z", "delInstrText"))
        + _code(f'PICTURE "{UNC}\\x.png"')
        + _char("separate")
        + _char("end")
    )
    reason = files.refusal(tmp_path, files.word(body)).reason
    assert "field" in reason


def test_field_marks_joined_by_mixed_decisions_are_refused(tmp_path: Path) -> None:
    body = (
        _char("begin")
        + _code("IN")
        + _inserted(_code("X"))
        + _deleted(_char("separate") + _char("end") + _char("begin"))
        + _code(f'CLUDEPICTURE "{UNC}\\x.png"')
        + _char("separate")
        + _char("end")
    )
    reason = files.refusal(tmp_path, files.word(body)).reason
    assert "field" in reason


def test_a_field_inserted_then_deleted_by_another_reviewer_is_refused(tmp_path: Path) -> None:
    # Reviewer B deleted what A had inserted: rejecting B's deletion (and keeping A's
    # insertion) restores the field; all accepted or all rejected, it is gone.
    inserted = '<w:ins w:id="7" w:author="A" w:date="2026-11-02T10:00:00Z">{}</w:ins>'
    deleted = '<w:del w:id="8" w:author="B" w:date="2026-11-03T10:00:00Z">{}</w:del>'
    field = (
        _char("begin")
        + _code(f'INCLUDEPICTURE "{UNC}\\x.png" \\d', "delInstrText")
        + _char("separate")
        + "<w:r><w:delText>1</w:delText></w:r>"
        + _char("end")
    )
    reason = files.refusal(tmp_path, files.word(inserted.format(deleted.format(field)))).reason
    assert "INCLUDEPICTURE" in reason


def _by(author: str, kind: str, inner: str) -> str:
    at = 'w:date="2026-11-02T10:00:00Z"'
    return f'<w:{kind} w:id="{author}" w:author="{author}" {at}>{inner}</w:{kind}>'


def test_a_field_name_made_by_rejecting_one_reviewer_s_insertion_is_refused(
    tmp_path: Path,
) -> None:
    # INCLUD, +X by A, +EPICTURE by B: all kept INCLUDXEPICTURE, all rejected INCLUD; with A's
    # insertion alone rejected, INCLUDEPICTURE.
    body = (
        _char("begin")
        + _code("INCLUD")
        + _by("A", "ins", _code("X"))
        + _by("B", "ins", _code(f'EPICTURE "{UNC}\\x.png"'))
        + _char("separate")
        + _char("end")
    )
    reason = files.refusal(tmp_path, files.word(body)).reason
    assert "name is written across tracked changes" in reason


def test_changes_to_a_field_after_its_name_and_a_field_inserted_whole_are_taken(
    tmp_path: Path,
) -> None:
    body = (
        _char("begin")
        + _code("HYPERLINK ")
        + _by("A", "ins", _code('"https://example.org/a"'))
        + _by("B", "del", _code('"https://example.org/b"', "delInstrText"))
        + _char("separate")
        + _char("end")
        + _by("C", "ins", _char("begin") + _code(" PAGE ") + _char("separate") + _char("end"))
    )
    assert files.inspected(tmp_path, files.word(body)) == "docx"


def test_a_field_one_reviewer_inserted_run_by_run_is_taken(tmp_path: Path) -> None:
    # Each of its runs in a w:ins of its own, one author: read with them all kept or all
    # rejected, as Word's Accept All and Reject All (and that reviewer's) leave it.
    body = "".join(
        _by("A", "ins", run)
        for run in (
            _char("begin"),
            _code(" DA"),
            _code('TE \\@ "d MMMM yyyy" '),
            _char("separate"),
            "<w:r><w:t>2 November 2026</w:t></w:r>",
            _char("end"),
        )
    )
    assert files.inspected(tmp_path, files.word(body)) == "docx"
