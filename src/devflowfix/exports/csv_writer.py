"""CSV files: RFC 4180, UTF-8, a stable column order, formulas neutralised.

Rows go out in chunks of `CHUNK_ROWS` as they come from the database, so a
download or a job file of any size needs memory for one chunk only.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import BinaryIO

from devflowfix.exports.progress import NO_CONTROL, ExportControl, ExportStep
from devflowfix.exports.repository import IncidentRow

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
)

# A spreadsheet runs a cell that starts with one of these as a formula (or, for
# tab and carriage return, strips them and then does); a leading apostrophe
# makes it plain text, which is what OWASP's CSV injection advice recommends.
FORMULA_STARTS = frozenset("=+-@\t\r")
TAG_SEPARATOR = " "


def neutralise(value: str | None) -> str:
    """The cell for user text: empty for none, apostrophe before a formula start."""
    if not value:
        return ""
    if value[0] in FORMULA_STARTS:
        return "'" + value
    return value


def format_datetime(value: datetime | None) -> str:
    """ISO 8601 in UTC with `Z`, as the JSON API writes datetimes."""
    if value is None:
        return ""
    return value.isoformat().replace("+00:00", "Z")


def _optional_number(value: float | None) -> str:
    return "" if value is None else str(value)


def incident_cells(row: IncidentRow) -> tuple[str, ...]:
    """The cells of one incident, in the order of `INCIDENT_COLUMNS`."""
    return (
        row.incident_id,
        format_datetime(row.timestamp),
        format_datetime(row.created_at),
        format_datetime(row.updated_at),
        format_datetime(row.resolved_at),
        row.source,
        row.severity.value,
        row.failure_type,
        row.outcome,
        neutralise(row.repository),
        neutralise(row.branch),
        neutralise(row.commit_sha),
        neutralise(row.workflow),
        neutralise(row.job),
        neutralise(row.run_url),
        neutralise(row.external_id),
        neutralise(row.error_message),
        neutralise(row.root_cause),
        neutralise(row.suggested_fix),
        _optional_number(row.confidence),
        neutralise(TAG_SEPARATOR.join(row.tags or ())),
        _optional_number(row.resolution_time_seconds),
    )


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
    rows: Iterable[IncidentRow],
    *,
    total: int | None = None,
    control: ExportControl = NO_CONTROL,
) -> Iterator[bytes]:
    """The CSV file of `rows` as UTF-8 chunks: the header, then the rows."""
    chunker = _Chunker()
    chunker.writer.writerow(INCIDENT_COLUMNS)
    yield chunker.take()

    written = 0
    pending: list[tuple[str, ...]] = []
    for row in rows:
        pending.append(incident_cells(row))
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
    rows: Iterable[IncidentRow],
    out: BinaryIO,
    *,
    total: int | None = None,
    control: ExportControl = NO_CONTROL,
) -> None:
    """Write the CSV file of `rows` to `out`, checking for cancellation per chunk."""
    for chunk in iter_incident_csv(rows, total=total, control=control):
        out.write(chunk)


def table_csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    """A small CSV table with every text cell neutralised, as one UTF-8 file."""
    chunker = _Chunker()
    chunker.writer.writerow(header)
    for row in rows:
        chunker.writer.writerow(
            [neutralise(cell) if isinstance(cell, str) else cell for cell in row]
        )
    return chunker.take()
