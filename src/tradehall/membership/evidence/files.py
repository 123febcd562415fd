"""Where evidence files are kept: once each, named by the SHA-256 of their bytes.

Events refer to a file by its hash; the store never names a file any other way, so a name
from a client never reaches the filesystem. `DirectoryFileStore` is the default; another store
(an object store, say) implements the same `FileStore` protocol.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import secrets
import shutil
import stat
from pathlib import Path
from typing import BinaryIO, Protocol

_SHA256 = re.compile(r"[0-9a-f]{64}")
_READ_CHUNK = 1 << 20


class UnknownFile(LookupError):
    """No file is stored under this hash."""


def check_sha256(sha256: str) -> str:
    """The hash as given, if it is 64 lowercase hex digits; ValueError otherwise.

    Checked before any path is built from it: nothing else can become a file name.
    """
    if not isinstance(sha256, str) or _SHA256.fullmatch(sha256) is None:
        raise ValueError("a file is named by its SHA-256: 64 lowercase hex digits")
    return sha256


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(_READ_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class FileStore(Protocol):
    """Files kept by the SHA-256 of their bytes, each once."""

    def put(self, staged: Path, sha256: str) -> None:
        """Keep the file at `staged` (whose bytes hash to `sha256`) under its hash.

        The store takes the file: `staged` is gone afterwards. Idempotent: putting a hash it
        already holds keeps the one copy it has.
        """
        ...

    def open(self, sha256: str) -> BinaryIO:
        """The stored file, for reading; `UnknownFile` if none is stored under the hash."""
        ...

    def exists(self, sha256: str) -> bool: ...


class DirectoryFileStore:
    """Files under `root/ab/cd/abcd...` (sharded by the hash's first two bytes), read-only.

    A file arrives in `root/.staging` (same filesystem), is checked against its hash, made
    read-only and synced, then linked into place in one step: a reader sees a whole file or
    none, and a crash leaves at most a stray file in `.staging`.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.staging = root / ".staging"

    def path_of(self, sha256: str) -> Path:
        check_sha256(sha256)
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def exists(self, sha256: str) -> bool:
        return self.path_of(sha256).is_file()

    def open(self, sha256: str) -> BinaryIO:
        path = self.path_of(sha256)
        try:
            return path.open("rb")
        except FileNotFoundError:
            raise UnknownFile(sha256) from None

    def put(self, staged: Path, sha256: str) -> None:
        final = self.path_of(sha256)
        if final.is_file():
            staged.unlink(missing_ok=True)
            return
        self.staging.mkdir(parents=True, exist_ok=True)
        ours = self.staging / f"{sha256}.{secrets.token_hex(8)}"
        try:
            _move(staged, ours)
            if sha256_of(ours) != sha256:
                raise ValueError("the file's bytes do not hash to the name it was given")
            os.chmod(ours, stat.S_IRUSR | stat.S_IRGRP)
            with ours.open("rb") as file:
                os.fsync(file.fileno())
            final.parent.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(FileExistsError):  # stored meanwhile: keep that copy
                os.link(ours, final)  # atomic, and never replaces a stored file
            _sync_directory(final.parent)
        finally:
            ours.unlink(missing_ok=True)
            staged.unlink(missing_ok=True)


def _move(source: Path, target: Path) -> None:
    """Rename when on the same filesystem, copy otherwise."""
    try:
        os.rename(source, target)
    except OSError as error:
        if error.errno != errno.EXDEV:
            raise
        shutil.copyfile(source, target)
        source.unlink()


def _sync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
