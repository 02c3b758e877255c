"""The Review workbook: the NPV bridge as a waterfall chart, with the tables behind it.

The bridge's amounts come from the engine (:func:`udfs.review.bridge`); the
sheet computes the rest from them in formulas: the closing NPV is the opening
plus every component, and the chart's helper columns (the invisible base, the
rise and the fall of each bar) follow from the running total. The waterfall is
a stacked column chart whose base series has no fill, the form every Excel
version draws natively. Like any such chart it reads correctly while the
running total stays above zero.
"""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.chart.shapes import GraphicalProperties

from udfs.review import TOLERANCE

from .business_case import HEADER_FILL, HEADER_FONT, TITLE_FONT
from .files import save_atomically

MONEY = "#,##0;-#,##0"


def build_review(old, new, bridge, kpis, lines, funded) -> Workbook:
    """The Review workbook for two recorded rollups (:class:`workbooks.history.Rollup`)."""
    wb = Workbook()
    ws = wb.active
    ws.title = "Review"
    ws["A1"].value = f"Portfolio review: {old.as_of} to {new.as_of} ({new.currency})"
    ws["A1"].font = TITLE_FONT
    ws["A2"].value = (
        "Re-estimates replace one family of inputs at a time, in the order shown, and "
        "re-evaluate each case; every amount is in the portfolio currency."
    )
    ws["A3"].value = "Off track: actual short of target by more than"
    ws["B3"].value = TOLERANCE
    ws["B3"].number_format = "0%"
    header = ["Step", "NPV change", "Running total", "Base", "Rise", "Fall", "Total"]
    for j, text in enumerate(header, start=1):
        c = ws.cell(row=4, column=j, value=text)
        c.font, c.fill = HEADER_FONT, HEADER_FILL
    first = 5
    ws.cell(row=first, column=1, value=f"NPV, {old.as_of}")
    ws.cell(row=first, column=3, value=bridge.start)
    ws.cell(row=first, column=4, value=0)
    ws.cell(row=first, column=7, value=f"=C{first}")
    row = first
    for _key, label, amount in bridge.rows():
        row += 1
        ws.cell(row=row, column=1, value=label)
        ws.cell(row=row, column=2, value=amount)
        ws.cell(row=row, column=3, value=f"=C{row - 1}+B{row}")
        ws.cell(row=row, column=4, value=f"=MIN(C{row - 1},C{row})")
        ws.cell(row=row, column=5, value=f"=MAX(B{row},0)")
        ws.cell(row=row, column=6, value=f"=MAX(-B{row},0)")
    last = row + 1
    ws.cell(row=last, column=1, value=f"NPV, {new.as_of}")
    ws.cell(row=last, column=2, value=f"=SUM(B{first + 1}:B{row})")
    ws.cell(row=last, column=3, value=f"=C{first}+B{last}")
    ws.cell(row=last, column=4, value=0)
    ws.cell(row=last, column=7, value=f"=C{last}")
    ws.cell(row=last + 1, column=1, value=f"NPV recorded on {new.as_of}")
    ws.cell(row=last + 1, column=3, value=bridge.end)
    for r in range(first, last + 2):
        for col in range(2, 8):
            ws.cell(row=r, column=col).number_format = MONEY
    ws.column_dimensions["A"].width = 58
    for col in "BCDEFG":
        ws.column_dimensions[col].width = 15

    chart = BarChart()
    chart.type, chart.grouping, chart.overlap = "col", "stacked", 100
    chart.title = "NPV bridge"
    data = Reference(ws, min_col=4, max_col=7, min_row=4, max_row=last)
    chart.add_data(data, titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=first, max_row=last))
    chart.series[0].graphicalProperties = GraphicalProperties(noFill=True)
    chart.series[0].graphicalProperties.line.noFill = True
    for series, colour in zip(chart.series[1:], ("2E7D32", "C62828", "1F4E79"), strict=True):
        series.graphicalProperties = GraphicalProperties(solidFill=colour)
    chart.y_axis.numFmt = "#,##0"
    chart.legend = None
    chart.height, chart.width = 10, 24
    ws.add_chart(chart, f"I{4}")

    row = last + 4
    row = _table(
        ws,
        row,
        "KPI actuals against target (years with actuals)",
        ["Case", "Product line", "KPI", "Years", "Actual", "Target", "Variance", "Off track"],
        [
            [s.case, s.product_line, s.kpi, ", ".join(map(str, s.years)), s.actual, s.target]
            for s in kpis
        ],
        variance=(5, 6),
    )
    row = _table(
        ws,
        row + 2,
        "KPIs by product line",
        ["Product line", "KPI", "Years", "Actual", "Target", "Variance", "Off track"],
        [[s.product_line, s.kpi, ", ".join(map(str, s.years)), s.actual, s.target] for s in lines],
        variance=(4, 5),
    )
    ws.cell(row=row + 2, column=1, value="Funded set").font = HEADER_FONT
    ws.cell(row=row + 2, column=1).fill = HEADER_FILL
    for k, (label, ids) in enumerate(
        (
            ("Newly funded", funded.funded),
            ("No longer funded", funded.unfunded),
            ("Still funded", funded.kept),
        )
    ):
        ws.cell(row=row + 3 + k, column=1, value=label)
        ws.cell(row=row + 3 + k, column=2, value=", ".join(ids) or "-")
    r = row + 6
    ws.cell(row=r, column=1, value=f"Funded NPV, {old.as_of}")
    ws.cell(row=r, column=2, value=old.selected_npv).number_format = MONEY
    ws.cell(row=r + 1, column=1, value=f"Funded NPV, {new.as_of}")
    ws.cell(row=r + 1, column=2, value=new.selected_npv).number_format = MONEY
    return wb


def _table(ws, row, title, header, rows, variance) -> int:
    """A titled table whose Variance and Off-track columns are formulas."""
    ws.cell(row=row, column=1, value=title).font = TITLE_FONT
    row += 1
    for j, text in enumerate(header, start=1):
        c = ws.cell(row=row, column=j, value=text)
        c.font, c.fill = HEADER_FONT, HEADER_FILL
    actual, target = (chr(64 + c) for c in variance)
    for values in rows:
        row += 1
        for j, v in enumerate(values, start=1):
            ws.cell(row=row, column=j, value=v)
        n = len(values)
        ws.cell(row=row, column=n + 1, value=f"={actual}{row}-{target}{row}")
        # the engine's rule (udfs.review.kpi_status), with its tolerance in B3
        ws.cell(
            row=row,
            column=n + 2,
            value=f'=IF({actual}{row}<{target}{row}-$B$3*ABS({target}{row}),"yes","")',
        )
        for col in (variance[0], variance[1], n + 1):
            ws.cell(row=row, column=col).number_format = MONEY
    return row


def write_review(path, old, new, bridge, kpis, lines, funded, overwrite=False) -> Path:
    """Write the Review workbook atomically."""
    return save_atomically(build_review(old, new, bridge, kpis, lines, funded), path, overwrite)
