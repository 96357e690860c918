"""Downloads: file names, `Content-Disposition` and the file handed to HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from starlette.responses import StreamingResponse

from devflowfix.downloads import content_disposition
from devflowfix.exports.schemas import ExportFormat


@dataclass(frozen=True)
class ExportFile:
    """A finished or streaming export: what to call it and its bytes."""

    filename: str
    media_type: str
    chunks: Iterator[bytes]


def incidents_filename(output_format: ExportFormat, now: datetime) -> str:
    """`incidents-2026-12-03.csv`: what the export is and the UTC day it was made."""
    return f"incidents-{now.date().isoformat()}.{output_format.value}"


def analytics_filename(output_format: ExportFormat, days: int, now: datetime) -> str:
    """`analytics-30-days-2026-12-03.pdf`."""
    return f"analytics-{days}-days-{now.date().isoformat()}.{output_format.value}"


def download_response(export: ExportFile) -> StreamingResponse:
    """The HTTP answer that sends `export` as an attachment, chunk by chunk."""
    return StreamingResponse(
        export.chunks,
        media_type=export.media_type,
        headers={
            "Content-Disposition": content_disposition(export.filename),
            # Exports hold a team's data: no shared cache may keep a copy.
            "Cache-Control": "private, no-store",
        },
    )


DOWNLOAD_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The file, as an attachment.",
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "application/pdf": {"schema": {"type": "string", "format": "binary"}},
        },
    },
}
