"""Files a route answers for saving rather than showing: CSV, under the name to save it as."""

from __future__ import annotations

from litestar import Response

CSV = "text/csv"


def csv_attachment(text: str, filename: str) -> Response[str]:
    """`text` as a CSV file the client saves as `filename`."""
    return Response(
        text,
        media_type=CSV,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
