"""The incident report: filters, summary figures, charts and the incident table."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import BinaryIO

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.platypus import Flowable, LongTable, Paragraph, Table, TableStyle

from devflowfix.exports import charts
from devflowfix.exports.pdf_layout import (
    BAND,
    FONT,
    FONT_BOLD,
    RULE,
    CellParagraph,
    ReportFrame,
    build_report,
    content_width,
    describe_duration,
    figure_tiles,
    format_timestamp,
    gap,
    heading,
    key_value_table,
    shorten,
    styles,
    text,
)
from devflowfix.exports.progress import NO_CONTROL, ExportControl, ExportStep
from devflowfix.exports.repository import IncidentRow
from devflowfix.vocabulary import Outcome, Severity

PAGE = landscape(A4)
TITLE = "Incident report"
PROGRESS_EVERY = 100
# Long text is cut so that a row always fits on a page; the CSV has it whole.
MAX_ERROR_CHARS = 400
MAX_ROOT_CAUSE_CHARS = 300
SEVERITY_TEXT = {
    "high": colors.HexColor("#c05621"),
    "critical": colors.HexColor("#c53030"),
}
COLUMNS: tuple[tuple[str, float], ...] = (
    ("ID", 0.095),
    ("Created (UTC)", 0.072),
    ("Source", 0.08),
    ("Severity", 0.053),
    ("Outcome", 0.06),
    ("Failure type", 0.107),
    ("Repository / branch", 0.13),
    ("Error message", 0.243),
    ("Root cause", 0.16),
)


@dataclass(frozen=True)
class IncidentReportContext:
    """What the report says about itself: whose it is and what it selected."""

    team: str
    generated_at: datetime
    filters: Sequence[tuple[str, str]]
    matching: int
    limit: int | None


@dataclass
class IncidentTally:
    """Figures gathered while the rows go by, for the summary and the charts."""

    count: int = 0
    resolved: int = 0
    succeeded: int = 0
    decided: int = 0
    by_severity: Counter[str] = field(default_factory=Counter)
    by_outcome: Counter[str] = field(default_factory=Counter)
    by_day: Counter[date] = field(default_factory=Counter)
    resolution_seconds: list[int] = field(default_factory=list)

    def add(self, row: IncidentRow) -> None:
        self.count += 1
        self.by_severity[row.severity.value] += 1
        self.by_outcome[row.outcome] += 1
        self.by_day[row.created_at.date()] += 1

        if row.outcome != Outcome.PENDING:
            self.decided += 1
        if row.outcome == Outcome.SUCCESS:
            self.succeeded += 1
        if row.resolved_at is not None:
            self.resolved += 1
        if row.resolution_time_seconds is not None:
            self.resolution_seconds.append(row.resolution_time_seconds)

    def success_rate(self) -> str:
        if not self.decided:
            return "\u2013"
        return f"{self.succeeded / self.decided * 100:.1f} %"

    def resolution(self, share: float) -> float | None:
        values = self.resolution_seconds
        if not values:
            return None
        if len(values) == 1:
            return float(values[0])
        return statistics.quantiles(values, n=100, method="inclusive")[
            round(share * 100) - 1
        ]


def write_incident_pdf(
    rows: Iterable[IncidentRow],
    out: BinaryIO,
    context: IncidentReportContext,
    *,
    total: int | None = None,
    control: ExportControl = NO_CONTROL,
) -> int:
    """Write the incident report of `rows` to `out`; returns its page count."""
    width = content_width(PAGE)
    tally = IncidentTally()
    table_rows: list[list[object]] = []
    for row in rows:
        tally.add(row)
        table_rows.append(_table_row(row))
        if tally.count % PROGRESS_EVERY == 0:
            control.advance(ExportStep.ROWS, tally.count, total)

    control.advance(ExportStep.ROWS, tally.count, total)

    story = _opening(context, tally, width)
    if tally.count:
        story += _summary(tally, width)
        story += [heading("Incidents"), _incident_table(table_rows, width)]
    else:
        story.append(
            Paragraph(
                "Nothing to show: no incident matches these filters.", styles().body
            )
        )

    frame = ReportFrame(TITLE, context.team, context.generated_at, PAGE)
    return build_report(story, out, frame, control)


def _opening(
    context: IncidentReportContext, tally: IncidentTally, width: float
) -> list[Flowable]:
    style = styles()
    shown = f"{tally.count} of {context.matching} matching incidents, newest first"
    if context.limit is not None and context.matching > context.limit:
        shown += f" (limit {context.limit})"

    filters = list(context.filters) or [("Filters", "none: every incident")]
    return [
        Paragraph(text(TITLE), style.title),
        Paragraph(
            text(
                f"Team {context.team} \u00b7 generated "
                f"{format_timestamp(context.generated_at)} \u00b7 {shown}"
            ),
            style.subtitle,
        ),
        heading("Filters applied"),
        key_value_table(filters, width * 0.6),
    ]


def _summary(tally: IncidentTally, width: float) -> list[Flowable]:
    figures = [
        ("incidents", str(tally.count)),
        ("resolved", str(tally.resolved)),
        ("unresolved", str(tally.count - tally.resolved)),
        ("success rate (decided outcomes)", tally.success_rate()),
        ("mean resolution time", describe_duration(_mean(tally.resolution_seconds))),
        ("median resolution time", describe_duration(tally.resolution(0.5))),
        ("p90 resolution time", describe_duration(tally.resolution(0.9))),
    ]

    severity = [(value.value, tally.by_severity[value.value]) for value in Severity]
    outcome = [(value.value, tally.by_outcome[value.value]) for value in Outcome]
    labels, counts = _over_time(tally.by_day)
    height = 150
    row = Table(
        [
            [
                charts.column_chart(
                    "Incidents by severity",
                    severity,
                    width=width * 0.24 - 10,
                    height=height,
                    colours=[charts.SEVERITY_COLOURS[label] for label, _ in severity],
                ),
                charts.column_chart(
                    "Incidents by outcome",
                    outcome,
                    width=width * 0.32 - 10,
                    height=height,
                ),
                charts.trend_chart(
                    "Incidents over time (created, UTC)",
                    labels,
                    [charts.Series("incidents", counts, charts.PALETTE[0])],
                    width=width * 0.44,
                    height=height,
                ),
            ]
        ],
        colWidths=[width * 0.24, width * 0.32, width * 0.44],
    )
    row.setStyle(TableStyle([("LEFTPADDING", (0, 0), (-1, -1), 0)]))

    return [heading("Summary"), figure_tiles(figures, width), gap(10), row]


def _mean(values: Sequence[int]) -> float | None:
    return statistics.fmean(values) if values else None


def _over_time(by_day: Counter[date]) -> tuple[list[str], list[int]]:
    """Counts per day, or per week or month over long spans; gaps are zeros."""
    first, last = min(by_day), max(by_day)
    span = (last - first).days
    if span <= 62:
        keys = [first + timedelta(days=n) for n in range(span + 1)]
        return [day.isoformat() for day in keys], [by_day[day] for day in keys]

    if span <= 730:
        weekly: Counter[date] = Counter()
        for day, count in by_day.items():
            weekly[day - timedelta(days=day.weekday())] += count
        start = first - timedelta(days=first.weekday())
        weeks = [start + timedelta(weeks=n) for n in range(span // 7 + 2)]
        weeks = [week for week in weeks if week <= last]
        return [f"week of {w.isoformat()}" for w in weeks], [weekly[w] for w in weeks]

    monthly: Counter[tuple[int, int]] = Counter()
    for day, count in by_day.items():
        monthly[(day.year, day.month)] += count

    months = _month_range((first.year, first.month), (last.year, last.month))
    return [f"{y}-{m:02d}" for y, m in months], [monthly[key] for key in months]


def _month_range(
    first: tuple[int, int], last: tuple[int, int]
) -> list[tuple[int, int]]:
    months = [first]
    while months[-1] < last:
        year, month = months[-1]
        months.append((year + month // 12, month % 12 + 1))
    return months


def _table_row(row: IncidentRow) -> list[object]:
    style = styles()
    place = text(row.repository or "\u2013")
    if row.branch:
        place += "<br/>" + text(row.branch)

    return [
        row.incident_id,
        row.created_at.strftime("%Y-%m-%d\n%H:%M:%S"),
        row.source,
        row.severity.value,
        row.outcome,
        row.failure_type,
        CellParagraph(place, style.cell),
        CellParagraph(text(shorten(row.error_message, MAX_ERROR_CHARS)), style.cell),
        CellParagraph(
            text(shorten(row.root_cause or "\u2013", MAX_ROOT_CAUSE_CHARS)),
            style.cell,
        ),
    ]


def _incident_table(rows: list[list[object]], width: float) -> LongTable:
    header = [Paragraph(text(name), styles().cell_bold) for name, _share in COLUMNS]
    table = LongTable(
        [header, *rows],
        colWidths=[width * share for _name, share in COLUMNS],
        repeatRows=1,
        hAlign="LEFT",
    )

    commands: list[tuple[object, ...]] = [
        ("FONTNAME", (0, 1), (-1, -1), FONT),
        ("FONTNAME", (0, 0), (-1, 0), FONT_BOLD),
        ("FONTSIZE", (0, 0), (-1, -1), 7),
        ("LEADING", (0, 0), (-1, -1), 8.6),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LINEBELOW", (0, 0), (-1, 0), 0.8, RULE),
        ("LINEBELOW", (0, 1), (-1, -1), 0.25, RULE),
        ("ROWBACKGROUNDS", (0, 1), (-1, -1), [None, BAND]),
        ("TOPPADDING", (0, 0), (-1, -1), 2.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
    ]

    for index, row in enumerate(rows, start=1):
        colour = SEVERITY_TEXT.get(str(row[3]))
        if colour is not None:
            commands.append(("TEXTCOLOR", (3, index), (3, index), colour))

    table.setStyle(TableStyle(commands))
    return table
