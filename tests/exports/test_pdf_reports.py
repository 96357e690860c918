"""The incident PDF report, rendered and read back: text, pages, progress, cancel."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from pypdf import PdfReader

from devflowfix.exports.pdf_incidents import (
    IncidentReportContext,
    write_incident_pdf,
)
from devflowfix.exports.pdf_layout import describe_duration
from devflowfix.exports.progress import ExportCancelled, ExportControl, ExportStep
from devflowfix.vocabulary import Severity
from factories import make_export_row

GENERATED_AT = datetime(2026, 12, 3, 9, 15, tzinfo=UTC)
RESOLVED_AT = datetime(2026, 11, 28, 11, 30, tzinfo=UTC)
CONTEXT = IncidentReportContext(
    team="acme",
    generated_at=GENERATED_AT,
    filters=[("Severity", "high, critical"), ("Search", "timeout")],
    matching=250,
    limit=40,
)


def page_texts(data: bytes) -> list[str]:
    """Each page's text with runs of whitespace made single spaces."""
    return [
        " ".join(page.extract_text().split())
        for page in PdfReader(io.BytesIO(data)).pages
    ]


def render(rows: list, context: IncidentReportContext = CONTEXT) -> tuple[bytes, int]:
    out = io.BytesIO()
    pages = write_incident_pdf(rows, out, context)
    return out.getvalue(), pages


def test_report_shows_title_filters_figures_and_every_incident() -> None:
    rows = [
        make_export_row(
            number,
            severity=Severity.CRITICAL if number % 4 == 0 else Severity.LOW,
            outcome="success" if number % 2 else "failed",
            resolved_at=datetime(2026, 11, 28, 11, 30, tzinfo=UTC)
            if number % 2
            else None,
            resolution_time_seconds=600 * (number + 1) if number % 2 else None,
        )
        for number in range(40)
    ]

    data, pages = render(rows)

    texts = page_texts(data)
    assert len(texts) == pages
    assert pages >= 2
    first = texts[0]
    assert "Incident report" in first
    assert "Team acme · generated 2026-12-03 09:15 UTC" in first
    assert "40 of 250 matching incidents, newest first (limit 40)" in first
    assert "Filters applied Severity high, critical Search timeout" in first
    assert "40 incidents 20 resolved 20 unresolved 50.0 % success rate" in first
    assert "Incidents by severity" in first
    assert "Incidents by outcome" in first
    assert "Incidents over time" in first
    everything = " ".join(texts)
    for row in rows:
        assert row.incident_id in everything
    for number, text in enumerate(texts, start=1):
        assert f"Page {number} of {pages}" in text
        assert "DevFlowFix · Incident report · team acme" in text


def test_resolution_figures_are_mean_median_and_p90() -> None:
    seconds = [60, 120, 180, 240, 3600]
    rows = [
        make_export_row(number, resolution_time_seconds=value, resolved_at=GENERATED_AT)
        for number, value in enumerate(seconds)
    ]

    first = page_texts(render(rows)[0])[0]

    assert f"{describe_duration(840)} mean resolution time" in first
    assert f"{describe_duration(180)} median resolution time" in first
    assert f"{describe_duration(2256)} p90 resolution time" in first


def test_markup_in_user_text_prints_literally() -> None:
    row = make_export_row(
        error_message="<b>not bold</b> & <font color=red>x</font> <br/> <para>",
        root_cause="a < b > c",
        branch="feature/<i>",
    )

    text = " ".join(page_texts(render([row])[0]))

    assert "<b>not bold</b> & <font color=red>x</font> <br/> <para>" in text
    assert "a < b > c" in text
    assert "feature/<i>" in text


def test_long_text_is_cut_so_that_a_row_fits_a_page() -> None:
    row = make_export_row(error_message="word " * 5000, root_cause="cause " * 4000)

    data, pages = render([row])

    assert pages == 1
    assert "word word" in page_texts(data)[0]
    assert "\u2026" in page_texts(data)[0]


def test_empty_report_says_there_is_nothing_to_show() -> None:
    context = IncidentReportContext(
        team="acme", generated_at=GENERATED_AT, filters=[], matching=0, limit=100
    )

    data, pages = render([], context)

    assert pages == 1
    text = page_texts(data)[0]
    assert "Incident report" in text
    assert "0 of 0 matching incidents" in text
    assert "Filters none: every incident" in text
    assert "Nothing to show: no incident matches these filters." in text
    assert "Page 1 of 1" in text


def test_progress_reports_rows_then_pages() -> None:
    rows = [make_export_row(number) for number in range(250)]
    reports: list[tuple[ExportStep, int, int | None]] = []
    control = ExportControl(report=lambda *values: reports.append(values))

    pages = write_incident_pdf(rows, io.BytesIO(), CONTEXT, total=250, control=control)

    row_reports = [report for report in reports if report[0] is ExportStep.ROWS]
    page_reports = [report for report in reports if report[0] is ExportStep.PAGES]
    assert row_reports == [
        (ExportStep.ROWS, 100, 250),
        (ExportStep.ROWS, 200, 250),
        (ExportStep.ROWS, 250, 250),
    ]
    assert reports.index(row_reports[-1]) < reports.index(page_reports[0])
    assert page_reports == [
        *((ExportStep.PAGES, done, None) for done in range(pages)),
        (ExportStep.PAGES, pages, pages),
    ]


def test_cancel_while_pages_render_stops_the_report() -> None:
    rows = [make_export_row(number) for number in range(250)]
    pages_seen: list[int] = []

    def cancelled() -> bool:
        return len(pages_seen) >= 2

    def report(step: ExportStep, done: int, _total: int | None) -> None:
        if step is ExportStep.PAGES:
            pages_seen.append(done)

    control = ExportControl(report=report, cancelled=cancelled)
    with pytest.raises(ExportCancelled):
        write_incident_pdf(rows, io.BytesIO(), CONTEXT, control=control)

    assert pages_seen == [0, 1]


def test_long_spans_are_charted_by_week() -> None:
    rows = [
        make_export_row(number, created_at=GENERATED_AT - timedelta(days=3 * number))
        for number in range(60)
    ]

    first = page_texts(render(rows)[0])[0]

    assert "week of" in first


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (None, "\u2013"),
        (42, "42 s"),
        (900, "15 min"),
        (3600, "1 h"),
        (12_000, "3 h 20 min"),
        (86_400 * 2 + 3600 * 4, "2 d 4 h"),
    ],
)
def test_durations_read_as_people_say_them(seconds: float | None, shown: str) -> None:
    assert describe_duration(seconds) == shown
