"""The analytics figures as one tidy CSV table: one figure per row.

Columns `section, metric, period, dimension, value`: `period` is `current` or
`previous`, `dimension` names the category, day or kind of change a figure is
for, and an unknown value (no resolved incidents, nothing decided) is empty.
"""

from __future__ import annotations

from collections.abc import Iterator

from devflowfix.analytics.schemas import AnalyticsRead, PeriodFigures
from devflowfix.exports.csv_writer import format_datetime, table_csv

ANALYTICS_COLUMNS = ("section", "metric", "period", "dimension", "value")
Cell = str | int | float | None
Line = tuple[str, str, str, str, Cell]


def analytics_csv(report: AnalyticsRead) -> bytes:
    """The CSV file of `report`."""
    rows = [
        (*line[:4], "" if line[4] is None else line[4])
        for line in analytics_rows(report)
    ]
    return table_csv(ANALYTICS_COLUMNS, rows)


def analytics_rows(report: AnalyticsRead) -> Iterator[Line]:
    """Every figure of `report`, section by section, in the documented order."""
    current = PeriodFigures(
        period=report.period,
        totals=report.totals,
        resolution_time_seconds=report.resolution_time_seconds,
    )
    periods = (("current", current), ("previous", report.previous))

    for rows_of in (_period_rows, _totals_rows, _resolution_rows):
        for name, figures in periods:
            yield from rows_of(name, figures)

    for metric, change in report.change.items():
        yield ("change", metric, "current", "difference", change.difference)
        yield ("change", metric, "current", "percent", change.percent)

    breakdowns = {
        "by_source": report.by_source,
        "by_severity": report.by_severity,
        "by_outcome": report.by_outcome,
        "by_failure_type": report.by_failure_type,
    }

    for section, counts in breakdowns.items():
        for name, count in counts.items():
            yield (section, "incidents", "current", name, count)

    for day in report.daily:
        yield ("daily", "incidents", "current", day.day.isoformat(), day.incidents)
        yield ("daily", "resolved", "current", day.day.isoformat(), day.resolved)

    for ranked in report.top_repositories:
        yield (
            "top_repositories",
            "incidents",
            "current",
            ranked.name,
            ranked.incidents,
        )
    for ranked in report.top_failure_types:
        yield (
            "top_failure_types",
            "incidents",
            "current",
            ranked.name,
            ranked.incidents,
        )


def _period_rows(period: str, figures: PeriodFigures) -> Iterator[Line]:
    yield ("period", "start", period, "", format_datetime(figures.period.start))
    yield ("period", "end", period, "", format_datetime(figures.period.end))
    yield ("period", "days", period, "", figures.period.days)


def _totals_rows(period: str, figures: PeriodFigures) -> Iterator[Line]:
    totals = figures.totals
    for metric in ("incidents", "resolved", "unresolved", "decided", "succeeded"):
        yield ("totals", metric, period, "", getattr(totals, metric))
    yield ("totals", "success_rate", period, "", totals.success_rate)


def _resolution_rows(period: str, figures: PeriodFigures) -> Iterator[Line]:
    times = figures.resolution_time_seconds
    for metric in ("mean", "median", "p90"):
        yield ("resolution_time_seconds", metric, period, "", getattr(times, metric))
