"""The CSV writer: columns, RFC 4180 quoting, neutralised formulas, progress, cancel."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from devflowfix.exports.csv_writer import (
    INCIDENT_COLUMNS,
    iter_incident_csv,
    neutralise,
    table_csv,
    write_incident_csv,
)
from devflowfix.exports.progress import ExportCancelled, ExportControl, ExportStep
from devflowfix.exports.repository import IncidentRow
from factories import make_export_row


def render(rows: list[IncidentRow]) -> str:
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
    ]
    assert tuple(header) == INCIDENT_COLUMNS


def test_empty_export_is_the_header_alone() -> None:
    assert render([]) == ",".join(INCIDENT_COLUMNS) + "\r\n"


def test_row_holds_every_field_formatted() -> None:
    row = make_export_row(
        resolved_at=datetime(2026, 11, 28, 10, 45, tzinfo=UTC),
        resolution_time_seconds=900,
        updated_at=datetime(2026, 11, 28, 10, 50, 1, 250000, tzinfo=UTC),
        external_id="run-1",
        suggested_fix="Pin react to 18",
    )

    assert parse(render([row]))[1] == [
        "inc_000000000000",
        "2026-11-28T10:30:00Z",
        "2026-11-28T10:30:00Z",
        "2026-11-28T10:50:01.250000Z",
        "2026-11-28T10:45:00Z",
        "github_actions",
        "high",
        "dependency_error",
        "pending",
        "acme/web-app",
        "main",
        "3f9c2a7e1b4d",
        "CI",
        "build",
        "https://ci.example.com/runs/1",
        "run-1",
        "npm ERR! code ERESOLVE",
        "Conflicting peer dependency",
        "Pin react to 18",
        "0.85",
        "frontend npm",
        "900",
    ]


def test_commas_quotes_newlines_and_unicode_are_quoted_per_rfc_4180() -> None:
    message = 'failed, then "retried"\nstill failing: ünïcødé 日本語 🚀'
    row = make_export_row(error_message=message, root_cause=None, confidence=None)

    text = render([row])

    assert '"failed, then ""retried""\nstill failing: ünïcødé 日本語 🚀"' in text
    assert text.endswith("\r\n")
    parsed = parse(text)[1]
    assert parsed[INCIDENT_COLUMNS.index("error_message")] == message
    assert parsed[INCIDENT_COLUMNS.index("root_cause")] == ""
    assert parsed[INCIDENT_COLUMNS.index("confidence")] == ""


def test_user_text_cells_are_neutralised_and_parse_back_with_the_apostrophe() -> None:
    row = make_export_row(
        error_message='=HYPERLINK("http://evil.example")',
        root_cause="@import",
        branch="-rf",
        workflow="+x",
        tags=["+1", "ok"],
    )

    parsed = parse(render([row]))[1]

    assert parsed[INCIDENT_COLUMNS.index("error_message")] == (
        '\'=HYPERLINK("http://evil.example")'
    )
    assert parsed[INCIDENT_COLUMNS.index("root_cause")] == "'@import"
    assert parsed[INCIDENT_COLUMNS.index("branch")] == "'-rf"
    assert parsed[INCIDENT_COLUMNS.index("workflow")] == "'+x"
    assert parsed[INCIDENT_COLUMNS.index("tags")] == "'+1 ok"


def test_rows_come_out_in_chunks_with_progress_per_chunk() -> None:
    rows = [make_export_row(number) for number in range(2500)]
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
    rows = [make_export_row(number) for number in range(2000)]
    reports: list[tuple[ExportStep, int, int | None]] = []
    control = ExportControl(report=lambda *values: reports.append(values))

    chunks = list(iter_incident_csv(rows, total=2000, control=control))

    assert [chunk.count(b"\r\n") for chunk in chunks] == [1, 1000, 1000]
    assert reports == [(ExportStep.ROWS, 1000, 2000), (ExportStep.ROWS, 2000, 2000)]


def test_cancel_stops_the_writer_at_the_next_chunk() -> None:
    pulled = 0

    def rows() -> Iterator[IncidentRow]:
        nonlocal pulled
        for number in range(10_000):
            pulled += 1
            yield make_export_row(number)

    out = io.BytesIO()
    with pytest.raises(ExportCancelled):
        write_incident_csv(rows(), out, control=ExportControl(cancelled=lambda: True))

    assert pulled == 1000


def test_small_tables_neutralise_text_but_not_numbers() -> None:
    text = table_csv(("name", "value"), [("=evil", -3), ("plain", 2.5)]).decode()

    assert text == "name,value\r\n'=evil,-3\r\nplain,2.5\r\n"
