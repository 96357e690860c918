"""CSV files: RFC 4180, UTF-8, a stable column order, formulas neutralised.

Rows go out in chunks of `CHUNK_ROWS` as they come from the database, so a
download or a job file of any size needs memory for one chunk only.

`iter_incident_csv` is the reference writer: stdlib csv over the cells of
`repository.csv_columns`. Exports write the same bytes faster (`csv_lines`:
COPY on PostgreSQL, the stored values joined and quoted in bulk on SQLite) and hand
them to `write_csv_chunks`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, BinaryIO

from devflowfix.exports.cells import neutralise
from devflowfix.exports.progress import NO_CONTROL, ExportControl, ExportStep

CHUNK_ROWS = 1000

INCIDENT_COLUMNS: tuple[str, ...] = (
    "incident_id",
    "timestamp",
    "created_at",
    "updated_at",
    "resolved_at",
    "source",
    "severity",
    "failure_type",
    "outcome",
    "repository",
    "branch",
    "commit_sha",
    "workflow",
    "job",
    "run_url",
    "external_id",
    "error_message",
    "root_cause",
    "suggested_fix",
    "confidence",
    "tags",
    "resolution_time_seconds",
    "fix_pull_request_url",
    "fix_branch",
    "fix_commit_sha",
)


HEADER = (",".join(INCIDENT_COLUMNS) + "\r\n").encode("utf-8")


@dataclass(frozen=True)
class CsvChunk:
    """Finished CSV lines, as UTF-8 bytes, and how many rows they hold."""

    data: bytes
    rows: int


def format_datetime(value: datetime | None) -> str:
    """ISO 8601 in UTC with `Z`, to the second, as the incident CSV has them."""
    if value is None:
        return ""
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


class _Chunker:
    """A csv writer over a reusable buffer that hands out what it collected."""

    def __init__(self) -> None:
        self.buffer = io.StringIO()
        self.writer = csv.writer(self.buffer, lineterminator="\r\n")

    def take(self) -> bytes:
        text = self.buffer.getvalue()
        self.buffer.seek(0)
        self.buffer.truncate()
        return text.encode("utf-8")


def iter_incident_csv(
    records: Iterable[Sequence[Any]],
    *,
    total: int | None = None,
    control: ExportControl = NO_CONTROL,
) -> Iterator[bytes]:
    """The CSV file of `records` as UTF-8 chunks: the header, then the rows."""
    chunker = _Chunker()
    chunker.writer.writerow(INCIDENT_COLUMNS)
    yield chunker.take()

    written = 0
    pending: list[Sequence[Any]] = []
    for record in records:
        pending.append(record)
        if len(pending) == CHUNK_ROWS:
            chunker.writer.writerows(pending)
            written += len(pending)
            pending.clear()
            control.advance(ExportStep.ROWS, written, total)
            yield chunker.take()

    if pending or not written:
        chunker.writer.writerows(pending)
        written += len(pending)
        control.advance(ExportStep.ROWS, written, total)
        yield chunker.take()


def write_incident_csv(
    records: Iterable[Sequence[Any]],
    out: BinaryIO,
    *,
    total: int | None = None,
    control: ExportControl = NO_CONTROL,
) -> None:
    """Write the CSV file of `records` to `out`, checking for cancellation per chunk."""
    for chunk in iter_incident_csv(records, total=total, control=control):
        out.write(chunk)


def csv_rows_chunk(records: Sequence[Sequence[Any]]) -> CsvChunk:
    """`records` as CSV lines by the reference writer."""
    chunker = _Chunker()
    chunker.writer.writerows(records)
    return CsvChunk(chunker.take(), len(records))


def write_csv_chunks(
    chunks: Iterable[CsvChunk],
    out: BinaryIO,
    *,
    total: int | None = None,
    control: ExportControl = NO_CONTROL,
) -> int:
    """Write the header, then the chunks; returns the rows written.

    Progress is reported, and cancellation checked, after every chunk.
    """
    out.write(HEADER)
    written = 0
    for chunk in chunks:
        out.write(chunk.data)
        written += chunk.rows
        control.advance(ExportStep.ROWS, written, total)
    if not written:
        control.advance(ExportStep.ROWS, 0, total)

    return written


def table_csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    """A small CSV table with every text cell neutralised, as one UTF-8 file."""
    chunker = _Chunker()
    chunker.writer.writerow(header)
    for row in rows:
        chunker.writer.writerow(
            [neutralise(cell) if isinstance(cell, str) else cell for cell in row]
        )
    return chunker.take()
