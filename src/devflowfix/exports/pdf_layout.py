"""The look shared by every PDF report: fonts, styles, page frame and footer.

Text a user typed goes through `text()`, which escapes it: reportlab's
Paragraph reads its input as markup, and `<b>` in an error message must print
as written, not turn bold.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, BinaryIO
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from devflowfix.exports.progress import ExportControl, ExportStep

# Bitstream Vera ships with reportlab, so every machine renders the same glyphs;
# the standard PDF fonts would print only Latin-1.
FONT = "Vera"
FONT_BOLD = "Vera-Bold"
INK = colors.HexColor("#1f2933")
MUTED = colors.HexColor("#616e7c")
RULE = colors.HexColor("#cbd2d9")
BAND = colors.HexColor("#f5f7fa")
ACCENT = colors.HexColor("#2a4365")
PAGE_COUNT_FORM = "devflowfix-page-count"
FOOTER_SIZE = 7.5
MARGIN: float = 14 * mm


@cache
def register_fonts() -> None:
    """Register the report fonts with reportlab, once per process."""
    pdfmetrics.registerFont(TTFont(FONT, "Vera.ttf"))
    pdfmetrics.registerFont(TTFont(FONT_BOLD, "VeraBd.ttf"))
    pdfmetrics.registerFont(TTFont("Vera-Italic", "VeraIt.ttf"))
    pdfmetrics.registerFont(TTFont("Vera-BoldItalic", "VeraBI.ttf"))

    pdfmetrics.registerFontFamily(
        FONT,
        normal=FONT,
        bold=FONT_BOLD,
        italic="Vera-Italic",
        boldItalic="Vera-BoldItalic",
    )


@dataclass(frozen=True)
class Styles:
    title: ParagraphStyle
    subtitle: ParagraphStyle
    heading: ParagraphStyle
    body: ParagraphStyle
    note: ParagraphStyle
    cell: ParagraphStyle
    cell_bold: ParagraphStyle
    figure: ParagraphStyle
    figure_label: ParagraphStyle
    number: ParagraphStyle


@cache
def styles() -> Styles:
    """The paragraph styles of every report."""
    register_fonts()
    body = ParagraphStyle("body", fontName=FONT, fontSize=9, leading=12, textColor=INK)
    cell = ParagraphStyle("cell", parent=body, fontSize=7, leading=8.6)

    return Styles(
        title=ParagraphStyle(
            "title", parent=body, fontName=FONT_BOLD, fontSize=20, leading=24
        ),
        subtitle=ParagraphStyle(
            "subtitle", parent=body, textColor=MUTED, spaceBefore=2, spaceAfter=10
        ),
        heading=ParagraphStyle(
            "heading",
            parent=body,
            fontName=FONT_BOLD,
            fontSize=12,
            leading=15,
            textColor=ACCENT,
            spaceBefore=10,
            spaceAfter=5,
        ),
        body=body,
        note=ParagraphStyle("note", parent=body, textColor=MUTED, fontSize=8),
        cell=cell,
        cell_bold=ParagraphStyle("cell_bold", parent=cell, fontName=FONT_BOLD),
        figure=ParagraphStyle(
            "figure", parent=body, fontName=FONT_BOLD, fontSize=15, leading=18
        ),
        figure_label=ParagraphStyle(
            "figure_label", parent=body, fontSize=7.5, leading=9, textColor=MUTED
        ),
        number=ParagraphStyle("number", parent=cell, alignment=TA_RIGHT),
    )


def text(value: object) -> str:
    """`value` as Paragraph text that prints literally, never as markup."""
    return escape(str(value)).replace("\n", "<br/>")


def shorten(value: str, limit: int) -> str:
    """At most `limit` characters, ending in an ellipsis when cut."""
    value = " ".join(value.split())
    return value if len(value) <= limit else value[: limit - 1].rstrip() + "\u2026"


def format_timestamp(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC")


def describe_duration(seconds: float | None) -> str:
    """A resolution time for people: `45 s`, `12 min`, `3 h 20 min`, `2 d 4 h`."""
    if seconds is None:
        return "\u2013"

    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"

    minutes, _ = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min"

    hours, minutes = divmod(minutes, 60)

    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"

    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


class CellParagraph(Paragraph):  # type: ignore[misc]
    """A Paragraph that keeps its last layout.

    A long table lays each cell out several times at the same width (to size
    the row, to split the table across pages, to draw it); doing the line
    breaking once makes a 1,000-row report several times faster.
    """

    _laid_out: tuple[float, float, float] | None = None

    def wrap(
        self, available_width: float, available_height: float
    ) -> tuple[float, float]:
        if self._laid_out is not None and self._laid_out[0] == available_width:
            return self._laid_out[1], self._laid_out[2]
        width, height = super().wrap(available_width, available_height)
        self._laid_out = (available_width, width, height)
        return width, height


def heading(title: str) -> Paragraph:
    return Paragraph(text(title), styles().heading)


def key_value_table(pairs: Sequence[tuple[str, str]], width: float) -> Table:
    """Two columns, labels on the left: the filters of a report, for instance."""
    style = styles()
    data = [
        [Paragraph(text(key), style.cell_bold), Paragraph(text(value), style.cell)]
        for key, value in pairs
    ]

    table = Table(data, colWidths=[width * 0.25, width * 0.75], hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, -1), 0.25, RULE),
                ("TOPPADDING", (0, 0), (-1, -1), 2.5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
            ]
        )
    )

    return table


def figure_tiles(figures: Sequence[tuple[str, str]], width: float) -> Table:
    """Headline figures as a row of tiles: the number large, its label below."""
    style = styles()
    cells = [
        [
            Paragraph(text(value), style.figure),
            Paragraph(text(label), style.figure_label),
        ]
        for label, value in figures
    ]

    table = Table([cells], colWidths=[width / len(figures)] * len(figures))
    table.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, -1), BAND),
                ("LINEAFTER", (0, 0), (-2, -1), 2, colors.white),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("TOPPADDING", (0, 0), (-1, -1), 6),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 6),
                ("LEFTPADDING", (0, 0), (-1, -1), 7),
            ]
        )
    )

    return table


def side_by_side(left: Flowable, right: Flowable, width: float) -> Table:
    table = Table([[left, right]], colWidths=[width / 2, width / 2])
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 0),
            ]
        )
    )

    return table


def gap(height: float = 6) -> Spacer:
    return Spacer(1, height)


class _FooterCanvas(Canvas):  # type: ignore[misc]
    """A canvas that writes the page count into every footer when it is saved.

    Footers draw a reference to a form that does not exist yet; the form is
    filled in once the last page is known, so the document is laid out once.
    """

    def save(self) -> None:
        # After the last showPage the number is one past the final page.
        self.beginForm(PAGE_COUNT_FORM)
        self.setFont(FONT, FOOTER_SIZE)
        self.setFillColor(MUTED)
        self.drawString(0, 0, str(self.getPageNumber() - 1))
        self.endForm()
        super().save()


@dataclass(frozen=True)
class ReportFrame:
    """What every page of one report shows around its content."""

    title: str
    team: str
    generated_at: datetime
    pagesize: tuple[float, float]


class _ReportDocument(BaseDocTemplate):  # type: ignore[misc]
    def __init__(
        self, out: BinaryIO, frame: ReportFrame, control: ExportControl
    ) -> None:
        super().__init__(
            out,
            pagesize=frame.pagesize,
            leftMargin=MARGIN,
            rightMargin=MARGIN,
            topMargin=MARGIN,
            bottomMargin=MARGIN + 4 * mm,
            title=frame.title,
            author="DevFlowFix",
            subject=f"{frame.title} for team {frame.team}",
            creator="DevFlowFix",
        )

        self.report = frame
        self.control = control
        body = Frame(
            self.leftMargin, self.bottomMargin, self.width, self.height, id="body"
        )
        self.addPageTemplates([PageTemplate("report", [body], onPage=self._footer)])

    def _footer(self, canvas: Canvas, _doc: Any) -> None:
        page = canvas.getPageNumber()
        self.control.advance(ExportStep.PAGES, page - 1, None)
        width, _height = self.pagesize
        y = MARGIN

        canvas.saveState()
        canvas.setStrokeColor(RULE)
        canvas.setLineWidth(0.5)
        canvas.line(MARGIN, y + 9, width - MARGIN, y + 9)

        canvas.setFont(FONT, FOOTER_SIZE)
        canvas.setFillColor(MUTED)
        generated = format_timestamp(self.report.generated_at)
        canvas.drawString(
            MARGIN,
            y,
            f"DevFlowFix \u00b7 {self.report.title} \u00b7 team {self.report.team}"
            f" \u00b7 generated {generated}",
        )

        label = f"Page {page} of "
        count_width = pdfmetrics.stringWidth("0000", FONT, FOOTER_SIZE)
        x = (
            width
            - MARGIN
            - count_width
            - pdfmetrics.stringWidth(label, FONT, FOOTER_SIZE)
        )
        canvas.drawString(x, y, label)
        canvas.translate(x + pdfmetrics.stringWidth(label, FONT, FOOTER_SIZE), y)
        canvas.doForm(PAGE_COUNT_FORM)
        canvas.restoreState()


def build_report(
    story: list[Flowable], out: BinaryIO, frame: ReportFrame, control: ExportControl
) -> int:
    """Lay out `story` into `out`; returns the number of pages."""
    register_fonts()
    document = _ReportDocument(out, frame, control)
    document.build(story, canvasmaker=_FooterCanvas)
    pages = int(document.page)
    control.advance(ExportStep.PAGES, pages, pages)
    return pages


def content_width(pagesize: tuple[float, float]) -> float:
    return float(pagesize[0]) - 2 * MARGIN
