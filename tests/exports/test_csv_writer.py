"""The CSV writer: columns, RFC 4180 quoting, chunks, progress and cancellation."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import pytest

from devflowfix.exports.cells import neutralise
from devflowfix.exports.csv_writer import (
    INCIDENT_COLUMNS,
    iter_incident_csv,
    table_csv,
    write_incident_csv,
)
from devflowfix.exports.progress import ExportCancelled, ExportControl, ExportStep

Record = tuple[object, ...]


def make_record(number: int = 0, **cells: object) -> Record:
    """A CSV record as the repository yields it: every cell ready."""
    values: dict[str, object] = dict.fromkeys(INCIDENT_COLUMNS, "")
    values.update(incident_id=f"inc_{number:012x}", confidence=0.85, tags="ci npm")
    values.update(cells)
    return tuple(values[name] for name in INCIDENT_COLUMNS)


def render(rows: list[Record]) -> str:
    out = io.BytesIO()
    write_incident_csv(rows, out)
    return out.getvalue().decode("utf-8")


def parse(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=SUM(A1:A9)", "'=SUM(A1:A9)"),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("a=1", "a=1"),
        (" =1", " =1"),
        ("", ""),
        (None, ""),
    ],
)
def test_neutralise_prefixes_cells_that_start_a_formula(
    value: str | None, cell: str
) -> None:
    assert neutralise(value) == cell


def test_header_lists_the_documented_columns_in_order() -> None:
    header = parse(render([]))[0]

    assert header == [
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
    ]
    assert tuple(header) == INCIDENT_COLUMNS


def test_empty_export_is_the_header_alone() -> None:
    assert render([]) == ",".join(INCIDENT_COLUMNS) + "\r\n"


def test_a_record_becomes_one_line_with_none_as_an_empty_cell() -> None:
    record = make_record(
        severity="high", resolved_at=None, resolution_time_seconds=900, confidence=None
    )

    line = render([record]).split("\r\n")[1]

    assert line == "inc_000000000000,,,,,,high,,,,,,,,,,,,,,ci npm,900,,,"


def test_commas_quotes_newlines_and_unicode_are_quoted_per_rfc_4180() -> None:
    message = 'failed, then "retried"\nstill failing: ünïcødé 日本語 🚀'

    text = render([make_record(error_message=message)])

    assert '"failed, then ""retried""\nstill failing: ünïcødé 日本語 🚀"' in text
    assert text.endswith("\r\n")
    assert parse(text)[1][INCIDENT_COLUMNS.index("error_message")] == message


def test_the_file_is_utf_8() -> None:
    out = io.BytesIO()

    write_incident_csv([make_record(error_message="café ✓")], out)

    assert "café ✓".encode() in out.getvalue()


def test_rows_come_out_in_chunks_with_progress_per_chunk() -> None:
    rows = [make_record(number) for number in range(2500)]
    reports: list[tuple[ExportStep, int, int | None]] = []
    control = ExportControl(report=lambda *values: reports.append(values))

    chunks = list(iter_incident_csv(rows, total=2500, control=control))

    assert [chunk.count(b"\r\n") for chunk in chunks] == [1, 1000, 1000, 500]
    assert reports == [
        (ExportStep.ROWS, 1000, 2500),
        (ExportStep.ROWS, 2000, 2500),
        (ExportStep.ROWS, 2500, 2500),
    ]
    assert len(parse(b"".join(chunks).decode())) == 2501


def test_a_whole_number_of_chunks_ends_without_an_empty_one() -> None:
    rows = [make_record(number) for number in range(2000)]
    reports: list[tuple[ExportStep, int, int | None]] = []
    control = ExportControl(report=lambda *values: reports.append(values))

    chunks = list(iter_incident_csv(rows, total=2000, control=control))

    assert [chunk.count(b"\r\n") for chunk in chunks] == [1, 1000, 1000]
    assert reports == [(ExportStep.ROWS, 1000, 2000), (ExportStep.ROWS, 2000, 2000)]


def test_cancel_stops_the_writer_at_the_next_chunk() -> None:
    pulled = 0

    def rows() -> Iterator[Record]:
        nonlocal pulled
        for number in range(10_000):
            pulled += 1
            yield make_record(number)

    out = io.BytesIO()
    with pytest.raises(ExportCancelled):
        write_incident_csv(rows(), out, control=ExportControl(cancelled=lambda: True))

    assert pulled == 1000


def test_small_tables_neutralise_text_but_not_numbers() -> None:
    text = table_csv(("name", "value"), [("=evil", -3), ("plain", 2.5)]).decode()

    assert text == "name,value\r\n'=evil,-3\r\nplain,2.5\r\n"
