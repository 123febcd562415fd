"""Files over HTTP (the quality mark's evidence, tenders' documents, ADR 24): an upload taken
through the evidence intake, under a name made safe to store, and a stored file served back as
an attachment that a browser never renders."""

from __future__ import annotations

import re
from typing import Annotated, Any
from urllib.parse import quote

from litestar import Request, Response
from litestar.exceptions import ClientException, NotFoundException
from litestar.params import QueryParameter

from tradehall.api.commands import Commands
from tradehall.membership.evidence import (
    EvidenceIntake,
    EvidenceRefused,
    FileStore,
    StoredEvidence,
    UnknownFile,
)

FilenameParam = Annotated[
    str,
    QueryParameter(
        name="filename", min_length=1, max_length=200, description="the document's name"
    ),
]
_UNSAFE_FILENAME = re.compile(r'[\\/"\x00-\x1f\x7f]')


def safe_filename(filename: str) -> str:
    """The name as given, with path separators, quotes and control characters made `_`."""
    return _UNSAFE_FILENAME.sub("_", filename)


async def take_upload(intake: EvidenceIntake, request: Request[Any, Any, Any]) -> StoredEvidence:
    """The request's body, streamed into the intake; a refused file (nothing stored) is a 4xx
    naming the body."""
    try:
        return await intake.take(request.stream())
    except EvidenceRefused as refused:
        raise ClientException(
            refused.reason,
            status_code=refused.status,
            extra={"errors": [{"field": "body", "message": refused.reason, "source": "body"}]},
        ) from None


def _read_all(files: FileStore, sha256: str) -> bytes:
    with files.open(sha256) as file:
        return file.read()


async def attachment(
    commands: Commands,
    files: FileStore,
    sha256: str,
    filename: str,
    content_type: str,
    cache_control: str,
) -> Response[bytes]:
    """The stored file, to be saved as `filename` (404 if the store has lost it)."""
    try:
        content = await commands.run(_read_all, files, sha256)
    except UnknownFile:
        raise NotFoundException("the document is missing from the file store") from None
    return file_response(content, filename, content_type, cache_control)


def file_response(
    content: bytes, filename: str, content_type: str, cache_control: str
) -> Response[bytes]:
    """Bytes to be saved as `filename`, never rendered by a browser."""
    ascii_name = filename.encode("ascii", "replace").decode().replace("?", "_")
    return Response(
        content,
        media_type=content_type,
        headers={
            "Content-Disposition": (
                f'attachment; filename="{ascii_name}"; '
                f"filename*=UTF-8''{quote(filename, safe='')}"
            ),
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Cache-Control": cache_control,
        },
    )
