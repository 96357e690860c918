"""Charts drawn with reportlab's own graphics: counts by category, and trends."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from reportlab.graphics.charts.barcharts import HorizontalBarChart, VerticalBarChart
from reportlab.graphics.charts.legends import LineLegend
from reportlab.graphics.charts.linecharts import HorizontalLineChart
from reportlab.graphics.shapes import Drawing, String
from reportlab.graphics.widgets.markers import makeMarker
from reportlab.lib import colors

from devflowfix.exports.pdf_layout import FONT, FONT_BOLD, INK, MUTED, RULE

PALETTE = (
    colors.HexColor("#2b6cb0"),
    colors.HexColor("#dd6b20"),
    colors.HexColor("#38a169"),
    colors.HexColor("#805ad5"),
    colors.HexColor("#d69e2e"),
    colors.HexColor("#319795"),
    colors.HexColor("#e53e3e"),
    colors.HexColor("#718096"),
)
SEVERITY_COLOURS = {
    "low": colors.HexColor("#68d391"),
    "medium": colors.HexColor("#f6e05e"),
    "high": colors.HexColor("#f6ad55"),
    "critical": colors.HexColor("#e53e3e"),
}
TITLE_SIZE = 9
LABEL_SIZE = 6.5
MARKED_POINTS = 31


@dataclass(frozen=True)
class Series:
    """One line of a trend chart."""

    name: str
    values: Sequence[int]
    colour: colors.Color


def nice_step(largest: float, ticks: int = 5) -> float:
    """A round tick step, 1, 2 or 5 times a power of ten, for an axis to `largest`."""
    if largest <= ticks:
        return 1
    raw = largest / ticks
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if raw <= factor * power:
            return float(factor * power)
    return float(10 * power)


def _title(drawing: Drawing, title: str) -> None:
    drawing.add(
        String(
            0,
            drawing.height - TITLE_SIZE - 1,
            title,
            fontName=FONT_BOLD,
            fontSize=TITLE_SIZE,
            fillColor=INK,
        )
    )


def _style_value_axis(axis: object, largest: float) -> None:
    # Headroom above the tallest bar keeps its label clear of the chart title.
    step = nice_step(largest * 1.1)
    axis.valueMin = 0  # type: ignore[attr-defined]
    axis.valueMax = max(step, math.ceil(largest * 1.1 / step) * step)  # type: ignore[attr-defined]
    axis.valueStep = step  # type: ignore[attr-defined]

    axis.labels.fontName = FONT  # type: ignore[attr-defined]
    axis.labels.fontSize = LABEL_SIZE  # type: ignore[attr-defined]
    axis.labels.fillColor = MUTED  # type: ignore[attr-defined]
    axis.labelTextFormat = "%d" if step >= 1 else "%.1f"  # type: ignore[attr-defined]

    axis.strokeColor = RULE  # type: ignore[attr-defined]
    axis.visibleGrid = True  # type: ignore[attr-defined]
    axis.gridStrokeColor = RULE  # type: ignore[attr-defined]
    axis.gridStrokeWidth = 0.25  # type: ignore[attr-defined]


def _style_category_axis(axis: object, angle: float) -> None:
    axis.labels.fontName = FONT  # type: ignore[attr-defined]
    axis.labels.fontSize = LABEL_SIZE  # type: ignore[attr-defined]
    axis.labels.fillColor = INK  # type: ignore[attr-defined]
    axis.strokeColor = RULE  # type: ignore[attr-defined]
    if angle:
        axis.labels.angle = angle  # type: ignore[attr-defined]
        axis.labels.boxAnchor = "ne"  # type: ignore[attr-defined]
        axis.labels.dx = 2  # type: ignore[attr-defined]
        axis.labels.dy = -2  # type: ignore[attr-defined]


def column_chart(
    title: str,
    counts: Sequence[tuple[str, int]],
    *,
    width: float,
    height: float,
    colours: Sequence[colors.Color] | None = None,
) -> Drawing:
    """Vertical bars, one per category, each labelled with its count."""
    drawing = Drawing(width, height)
    _title(drawing, title)
    angle = 30 if len(counts) > 5 else 0
    bottom = 34 if angle else 16

    chart = VerticalBarChart()
    chart.x, chart.y = 28, bottom
    chart.width, chart.height = width - 36, height - bottom - TITLE_SIZE - 10
    chart.data = [[count for _label, count in counts] or [0]]
    chart.categoryAxis.categoryNames = [label for label, _count in counts] or [""]

    _style_category_axis(chart.categoryAxis, angle)
    _style_value_axis(chart.valueAxis, max((c for _l, c in counts), default=0))
    _colour_bars(chart, len(counts), colours)
    drawing.add(chart)

    return drawing


def bar_chart(
    title: str,
    counts: Sequence[tuple[str, int]],
    *,
    width: float,
    height: float,
    label_width: float = 90,
) -> Drawing:
    """Horizontal bars for many categories with long names (failure types)."""
    drawing = Drawing(width, height)
    _title(drawing, title)

    chart = HorizontalBarChart()
    chart.x, chart.y = label_width, 14
    chart.width, chart.height = width - label_width - 10, height - TITLE_SIZE - 26
    # reportlab draws the first category at the bottom; reverse to read downwards.
    ordered = list(reversed(counts))
    chart.data = [[count for _label, count in ordered] or [0]]
    chart.categoryAxis.categoryNames = [label for label, _count in ordered] or [""]

    _style_category_axis(chart.categoryAxis, 0)
    _style_value_axis(chart.valueAxis, max((c for _l, c in counts), default=0))
    _colour_bars(chart, len(counts), [PALETTE[0]])
    drawing.add(chart)

    return drawing


def _colour_bars(
    chart: VerticalBarChart | HorizontalBarChart,
    count: int,
    colours: Sequence[colors.Color] | None,
) -> None:
    chart.bars.strokeColor = None
    chart.barSpacing = 1
    chart.groupSpacing = 6
    palette = colours or PALETTE

    for index in range(count):
        chart.bars[(0, index)].fillColor = palette[index % len(palette)]

    chart.barLabelFormat = "%d"
    chart.barLabels.fontName = FONT
    chart.barLabels.fontSize = LABEL_SIZE
    chart.barLabels.fillColor = INK

    if isinstance(chart, HorizontalBarChart):
        chart.barLabels.boxAnchor = "w"
        chart.barLabels.dx = 3
    else:
        chart.barLabels.nudge = 5


def trend_chart(
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    width: float,
    height: float,
) -> Drawing:
    """Lines over time; at most about twelve labels on the time axis."""
    drawing = Drawing(width, height)
    _title(drawing, title)

    chart = HorizontalLineChart()
    chart.x, chart.y = 28, 30
    chart.width, chart.height = width - 36, height - TITLE_SIZE - 52
    chart.data = [list(line.values) or [0] for line in series]
    every = max(1, math.ceil(len(labels) / 12))
    chart.categoryAxis.categoryNames = [
        label if index % every == 0 else "" for index, label in enumerate(labels)
    ] or [""]

    _style_category_axis(chart.categoryAxis, 30 if len(labels) > 6 else 0)
    largest = max((max(line.values, default=0) for line in series), default=0)
    _style_value_axis(chart.valueAxis, largest)
    chart.joinedLines = 1

    for index, line in enumerate(series):
        chart.lines[index].strokeColor = line.colour
        chart.lines[index].strokeWidth = 1.4
        if len(labels) <= MARKED_POINTS:
            # A lone day is a point, not a line: without a marker it is invisible.
            chart.lines[index].symbol = makeMarker("FilledCircle", size=3)
            chart.lines[index].symbol.fillColor = line.colour

    drawing.add(chart)
    if len(series) > 1:
        drawing.add(_legend(series, x=width - 150, y=height - 6))

    return drawing


def _legend(series: Sequence[Series], *, x: float, y: float) -> LineLegend:
    legend = LineLegend()
    legend.x, legend.y = x, y
    legend.fontName = FONT
    legend.fontSize = LABEL_SIZE
    legend.alignment = "right"
    legend.columnMaximum = 1
    legend.deltax = 70
    legend.dx = 12
    legend.colorNamePairs = [(line.colour, line.name) for line in series]

    return legend
