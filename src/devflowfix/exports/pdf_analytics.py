"""The analytics report: figures, their change, a chart per breakdown, the trend."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import BinaryIO

from reportlab.lib.pagesizes import A4
from reportlab.platypus import Flowable, Paragraph, Table, TableStyle

from devflowfix.analytics.schemas import AnalyticsRead, Change, Period, RankedCount
from devflowfix.exports import charts
from devflowfix.exports.pdf_layout import (
    BAND,
    FONT,
    FONT_BOLD,
    RULE,
    ReportFrame,
    build_report,
    content_width,
    describe_duration,
    figure_tiles,
    format_timestamp,
    gap,
    heading,
    shorten,
    side_by_side,
    styles,
    text,
)
from devflowfix.exports.progress import NO_CONTROL, ExportControl

PAGE = A4
MAX_NAME_CHARS = 48
TITLE = "Analytics report"
CHANGE_LABELS = {
    "incidents": "Incidents",
    "resolved": "Resolved",
    "unresolved": "Unresolved",
    "success_rate": "Success rate (%)",
    "resolution_mean_seconds": "Mean resolution time",
    "resolution_median_seconds": "Median resolution time",
    "resolution_p90_seconds": "p90 resolution time",
}


def write_analytics_pdf(
    report: AnalyticsRead, out: BinaryIO, *, control: ExportControl = NO_CONTROL
) -> int:
    """Write the analytics report to `out`; returns its page count."""
    width = content_width(PAGE)
    story = _opening(report, width)
    if report.totals.incidents:
        story += _charts(report, width)
    else:
        story.append(
            Paragraph(
                "Nothing to show: the team has no incidents in this period.",
                styles().body,
            )
        )

    frame = ReportFrame(TITLE, report.team, report.generated_at, PAGE)
    return build_report(story, out, frame, control)


def day_span(period: Period) -> str:
    """`2026-11-04 to 2026-12-03`: the first and the last day of a period."""
    last = period.end - timedelta(days=1)
    return f"{period.start.date().isoformat()} to {last.date().isoformat()}"


def _opening(report: AnalyticsRead, width: float) -> list[Flowable]:
    style = styles()
    totals = report.totals
    times = report.resolution_time_seconds
    rate = "\u2013" if totals.success_rate is None else f"{totals.success_rate:.1f} %"
    figures = [
        ("incidents", str(totals.incidents)),
        ("resolved", str(totals.resolved)),
        ("unresolved", str(totals.unresolved)),
        ("success rate (decided outcomes)", rate),
        ("mean resolution", describe_duration(times.mean)),
        ("median resolution", describe_duration(times.median)),
        ("p90 resolution", describe_duration(times.p90)),
    ]

    return [
        Paragraph(text(TITLE), style.title),
        Paragraph(
            text(
                f"Team {report.team} \u00b7 the last {report.days} days, "
                f"{day_span(report.period)} (UTC) \u00b7 generated "
                f"{format_timestamp(report.generated_at)}"
            ),
            style.subtitle,
        ),
        heading("Summary"),
        figure_tiles(figures[:4], width),
        gap(2),
        figure_tiles(figures[4:], width),
        heading(
            f"Against the previous {report.days} days "
            f"({day_span(report.previous.period)})"
        ),
        _change_table(report.change, width),
    ]


def _shown(metric: str, value: float | None) -> str:
    if value is None:
        return "\u2013"
    if metric.startswith("resolution_"):
        return describe_duration(value)
    return f"{value:g}"


def _change_text(metric: str, change: Change) -> tuple[str, str]:
    if change.difference is None:
        return "\u2013", "\u2013"

    sign = "+" if change.difference > 0 else ""
    if metric.startswith("resolution_"):
        amount = describe_duration(abs(change.difference))
        difference = ("-" if change.difference < 0 else sign) + amount
    else:
        difference = f"{sign}{change.difference:g}"

    percent = "\u2013" if change.percent is None else f"{sign}{change.percent:.1f} %"
    return difference, percent


def _change_table(changes: dict[str, Change], width: float) -> Table:
    data: list[list[str]] = [
        ["", "This period", "Previous period", "Change", "Change %"]
    ]
    for metric, change in changes.items():
        difference, percent = _change_text(metric, change)
        data.append(
            [
                CHANGE_LABELS.get(metric, metric),
                _shown(metric, change.current),
                _shown(metric, change.previous),
                difference,
                percent,
            ]
        )

    table = Table(data, colWidths=[width * 0.32] + [width * 0.17] * 4, hAlign="LEFT")
    table.setStyle(_grid_style())
    return table


def _grid_style() -> TableStyle:
    return TableStyle(
        [
            ("FONTNAME", (0, 0), (-1, -1), FONT),
            ("FONTNAME", (0, 0), (-1, 0), FONT_BOLD),
            ("FONTSIZE", (0, 0), (-1, -1), 8),
            ("ALIGN", (1, 0), (-1, -1), "RIGHT"),
            ("LINEBELOW", (0, 0), (-1, 0), 0.8, RULE),
            ("LINEBELOW", (0, 1), (-1, -1), 0.25, RULE),
            ("ROWBACKGROUNDS", (0, 1), (-1, -1), [None, BAND]),
            ("TOPPADDING", (0, 0), (-1, -1), 2.5),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
        ]
    )


def _charts(report: AnalyticsRead, width: float) -> list[Flowable]:
    half = width / 2 - 8
    labels = [day.day.strftime("%b %d") for day in report.daily]
    trend = charts.trend_chart(
        "Incidents and resolutions per day (UTC)",
        labels,
        [
            charts.Series(
                "incidents", [d.incidents for d in report.daily], charts.PALETTE[0]
            ),
            charts.Series(
                "resolved", [d.resolved for d in report.daily], charts.PALETTE[2]
            ),
        ],
        width=width,
        height=170,
    )

    severity = list(report.by_severity.items())
    by_severity = charts.column_chart(
        "Incidents by severity",
        severity,
        width=half,
        height=150,
        colours=[charts.SEVERITY_COLOURS[name] for name, _count in severity],
    )

    by_outcome = charts.column_chart(
        "Incidents by outcome", list(report.by_outcome.items()), width=half, height=150
    )
    by_source = charts.column_chart(
        "Incidents by source", list(report.by_source.items()), width=half, height=160
    )
    by_failure = charts.bar_chart(
        "Incidents by failure type",
        list(report.by_failure_type.items()),
        width=half,
        height=270,
    )

    return [
        heading("Daily trend"),
        trend,
        heading("Breakdowns"),
        side_by_side(by_severity, by_outcome, width),
        gap(10),
        side_by_side(by_source, by_failure, width),
        heading("Most affected"),
        side_by_side(
            _ranked("Top repositories", report.top_repositories, half),
            _ranked("Top failure types", report.top_failure_types, half),
            width,
        ),
    ]


def _ranked(title: str, ranked: Sequence[RankedCount], width: float) -> Table:
    data: list[list[str]] = [[title, "Incidents"]]
    data += [
        [shorten(item.name, MAX_NAME_CHARS), str(item.incidents)] for item in ranked
    ] or [["\u2013", "0"]]
    table = Table(data, colWidths=[width * 0.75, width * 0.25], hAlign="LEFT")
    table.setStyle(_grid_style())
    return table
