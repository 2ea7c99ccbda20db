"""The monthly report as an A4 PDF: the workbook's sheets as tables and the weekly trends as
line charts, in the embedded CJK font the door cards use (services/fonts.py)."""

import io

from reportlab.graphics.shapes import Drawing, Line, PolyLine, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import LongTable, Paragraph, SimpleDocTemplate, Spacer, TableStyle

from carevisits.services.coverage import percent
from carevisits.services.dashboard import Dashboard
from carevisits.services.fonts import card_font

# Lists longer than this (the elders overdue at the month's end, the alerts) stop in the PDF
# with a line saying how many more the XLSX holds: a street of 100,000 elders would otherwise
# print hundreds of pages.
PDF_ROWS = 200
SERIES = (("走访率", colors.HexColor("#1d4ed8")), ("按时率", colors.HexColor("#b45309")))
CHART_W, CHART_H = 170 * mm, 42 * mm


def _cell(value) -> str:
    return "—" if value is None else str(value)


def _table(header: list[str], rows: list[list], font: str) -> LongTable:
    table = LongTable([header, *[[_cell(v) for v in row] for row in rows]], repeatRows=1)
    table.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, -1), font, 7), ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eef2f7")),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE")]))
    return table


def _trend_chart(name: str, weeks, font: str) -> Drawing:
    """One community's 12 weeks: the visit rate and the on-schedule share, 0–100%."""
    drawing = Drawing(CHART_W, CHART_H)
    left, bottom, width, height = 14 * mm, 8 * mm, CHART_W - 40 * mm, CHART_H - 14 * mm
    for share in (0, 0.5, 1):
        y = bottom + height * share
        drawing.add(Line(left, y, left + width, y, strokeColor=colors.lightgrey,
                         strokeDashArray=[2, 2]))
        drawing.add(String(0, y - 2, f"{int(share * 100)}%", fontName=font, fontSize=6))
    span = max(len(weeks) - 1, 1)
    for i in sorted({0, span // 2, len(weeks) - 1}):
        day = weeks[i].start
        drawing.add(String(left + width * i / span - 8, 1 * mm, f"{day.month}月{day.day}日",
                           fontName=font, fontSize=6))
    for (_label, color), values in zip(SERIES, ([w.rate for w in weeks],
                                               [w.on_schedule_share for w in weeks]),
                                      strict=True):
        points = []
        for i, share in enumerate(values):
            if share is not None:
                points += [left + width * i / span, bottom + height * share]
        if len(points) >= 4:
            drawing.add(PolyLine(points, strokeColor=color, strokeWidth=1.5))
    for n, (label, color) in enumerate(SERIES):
        drawing.add(Line(left + width + 4 * mm, CHART_H - (6 + 5 * n) * mm,
                         left + width + 9 * mm, CHART_H - (6 + 5 * n) * mm,
                         strokeColor=color, strokeWidth=1.5))
        drawing.add(String(left + width + 10 * mm, CHART_H - (7 + 5 * n) * mm, label,
                           fontName=font, fontSize=7))
    drawing.add(String(left, CHART_H - 4 * mm, name, fontName=font, fontSize=8))
    return drawing


def render(board: Dashboard, sheets: list[tuple[str, list[str], list[list]]],
           title: str) -> bytes:
    """The PDF: a title, each sheet as a table (the summary first), the trend charts with
    their numbers."""
    font = card_font().name
    heading = ParagraphStyle("h", fontName=font, fontSize=11, leading=15, spaceBefore=6,
                             spaceAfter=3)
    big = ParagraphStyle("t", fontName=font, fontSize=16, leading=20, spaceAfter=6)
    story = [Paragraph(f"{title} · {board.area_label} · {board.reckoning.month}", big)]
    note = ParagraphStyle("n", fontName=font, fontSize=8, leading=11)
    for name, header, rows in sheets:
        story += [Paragraph(name, heading), _table(header, rows[:PDF_ROWS], font)]
        if len(rows) > PDF_ROWS:
            story.append(Paragraph(f"以上为前 {PDF_ROWS} 行，另有 {len(rows) - PDF_ROWS} 行，"
                                   f"见同月 XLSX 报表“{name}”表。", note))
        story.append(Spacer(1, 3 * mm))
    story.append(Paragraph("近12周走势(每周走访率、周末按时率)", heading))
    for name, weeks in board.trends.items():
        story.append(_trend_chart(name, weeks, font))
        story.append(_table(
            ["周一", "应访", "本周见面", "走访率(%)", "按时率(%)"],
            [[f"{w.start:%m-%d}", w.elders, w.met, percent(w.rate), percent(w.on_schedule_share)]
             for w in weeks], font))
        story.append(Spacer(1, 3 * mm))
    out = io.BytesIO()
    SimpleDocTemplate(out, pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm,
                      topMargin=15 * mm, bottomMargin=15 * mm, title=title).build(story)
    return out.getvalue()
