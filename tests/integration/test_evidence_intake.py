"""Evidence intake: streamed, hashed, inspected, stored once by hash; a refusal stores nothing."""

from __future__ import annotations

import hashlib
import stat
from collections.abc import AsyncIterator, Iterable
from pathlib import Path

import pytest

from tests import evidence_files as files
from tradehall.membership.evidence import (
    DirectoryFileStore,
    EvidenceIntake,
    EvidenceRefused,
    FileStore,
    StoredEvidence,
    UnknownFile,
)

MAX = 1024 * 1024


async def stream(data: bytes, chunk: int = 64 * 1024) -> AsyncIterator[bytes]:
    for start in range(0, len(data), chunk):
        yield data[start : start + chunk]


def everything_under(*roots: Path) -> list[Path]:
    return [path for root in roots if root.exists() for path in root.rglob("*") if path.is_file()]


@pytest.fixture
def store(tmp_path: Path) -> DirectoryFileStore:
    return DirectoryFileStore(tmp_path / "evidence" / "files")


@pytest.fixture
def intake(store: DirectoryFileStore, tmp_path: Path) -> EvidenceIntake:
    return EvidenceIntake(store, tmp_path / "evidence" / "staging", max_bytes=MAX)


async def test_an_upload_is_stored_once_under_its_hash(
    intake: EvidenceIntake, store: DirectoryFileStore, tmp_path: Path
) -> None:
    data = files.pdf()
    sha256 = hashlib.sha256(data).hexdigest()
    first = await intake.take(stream(data, chunk=100))
    second = await intake.take(stream(data))
    assert first == second == StoredEvidence(sha256, "application/pdf", len(data))
    assert store.exists(sha256)
    with store.open(sha256) as stored:
        assert stored.read() == data
    kept = everything_under(tmp_path / "evidence")
    assert kept == [store.root / sha256[:2] / sha256[2:4] / sha256]
    assert kept[0].stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH) == 0


async def test_the_store_is_a_file_store(store: DirectoryFileStore) -> None:
    typed: FileStore = store
    assert not typed.exists("0" * 64)
    with pytest.raises(UnknownFile):
        typed.open("0" * 64)


def refused_kinds(tmp_path: Path) -> Iterable[tuple[str, bytes]]:
    bomb = tmp_path / "bomb.docx"
    files.write_zip_bomb(bomb)
    return [
        ("svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'),
        ("html named pdf", b"<html><body>invoice</body></html>"),
        ("executable", b"MZ" + bytes(58) + b"\x80\0\0\0" + bytes(64) + b"PE\0\0" + bytes(200)),
        ("pdf javascript", files.pdf(action=files.javascript_action())),
        ("pdf launch", files.pdf(action=files.launch_action())),
        ("docx macros", files.docx_with_macros()),
        ("zip as docx", files.zip_of([("a.txt", b"hello")])),
        ("zip bomb", bomb.read_bytes()),
        ("empty", b""),
    ]


async def test_a_refused_upload_stores_nothing(
    intake: EvidenceIntake, store: DirectoryFileStore, tmp_path: Path
) -> None:
    samples = tmp_path / "samples"
    samples.mkdir()
    for kind, data in refused_kinds(samples):
        with pytest.raises(EvidenceRefused) as refused:
            await intake.take(stream(data))
        assert refused.value.status in (415, 422), kind
        assert everything_under(store.root, intake.staging_dir) == [], kind
        assert not store.exists(hashlib.sha256(data).hexdigest()), kind


async def test_an_oversize_upload_stops_at_the_limit(
    intake: EvidenceIntake, store: DirectoryFileStore
) -> None:
    sent = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal sent
        yield files.pdf()
        while True:
            sent += 64 * 1024
            yield bytes(64 * 1024)

    with pytest.raises(EvidenceRefused) as refused:
        await intake.take(endless())
    assert refused.value.status == 413
    assert sent <= MAX + 64 * 1024  # stopped reading as soon as it was over
    assert everything_under(store.root, intake.staging_dir) == []


async def test_a_broken_stream_leaves_nothing(
    intake: EvidenceIntake, store: DirectoryFileStore
) -> None:
    async def broken() -> AsyncIterator[bytes]:
        yield files.pdf()[:100]
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        await intake.take(broken())
    assert everything_under(store.root, intake.staging_dir) == []


@pytest.mark.parametrize(
    "name", ["../../etc/passwd", "A" * 64, "0" * 63, "0" * 65, "/" + "0" * 63, "0" * 63 + "\n"]
)
def test_a_hash_that_is_not_64_lowercase_hex_never_reaches_the_filesystem(
    store: DirectoryFileStore, tmp_path: Path, name: str
) -> None:
    staged = tmp_path / "staged"
    staged.write_bytes(b"x")
    for attempt in (
        lambda: store.exists(name),
        lambda: store.open(name),
        lambda: store.put(staged, name),
    ):
        with pytest.raises(ValueError, match="64 lowercase hex"):
            attempt()
    assert not store.root.exists()


def test_a_file_put_under_another_hash_is_refused(
    store: DirectoryFileStore, tmp_path: Path
) -> None:
    staged = tmp_path / "staged"
    staged.write_bytes(b"what it is")
    with pytest.raises(ValueError, match="do not hash"):
        store.put(staged, hashlib.sha256(b"what it claims").hexdigest())
    assert everything_under(store.root) == []
    assert not staged.exists()
