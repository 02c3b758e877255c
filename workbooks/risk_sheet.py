"""The Risk sheet: a Monte Carlo snapshot with its histogram and S-curve."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference, ScatterChart, Series
from openpyxl.styles import Font, PatternFill

from udfs.risk import PARAMETERS, Simulation
from udfs.sensitivity import TORNADO_DRIVERS

from .business_case import header_footer

TITLE = Font(bold=True, size=16, color="1F3864")
HEADER = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor="1F3864")
SNAPSHOT_FILL = PatternFill("solid", fgColor="EDEDED")
MONEY = "#,##0;[Red]-#,##0"


@dataclass
class RiskLayout:
    """The Risk sheet's cells (row, column are 1-based) and where its tables sit."""

    cells: dict[tuple[int, int], object]
    headers: list[tuple[int, int]]  # header cells
    formats: dict[tuple[int, int], str]
    histogram: tuple[int, int]  # first and last data row
    curve: tuple[int, int]

    def grid(self) -> list[list]:
        """All cells as one block from A1, for writing through the xlwings Book API."""
        rows = max(r for r, _ in self.cells)
        columns = max(c for _, c in self.cells)
        return [[self.cells.get((r, c)) for c in range(1, columns + 1)] for r in range(1, rows + 1)]


def risk_layout(sim: Simulation, case_name: str, currency: str) -> RiskLayout:
    """What the Risk sheet shows; the same layout from the CLI and from the button."""
    cells, headers, formats = {}, [], {}
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    cells[1, 1] = "Risk: Monte Carlo simulation"
    cells[2, 1] = (
        f"Snapshot computed by the bizcase engine ({stamp}): {sim.trials:,} trials, "
        f"seed {sim.seed}. Not live: simulate again after changing inputs."
    )
    cells[3, 1] = str(case_name)
    if sim.notes:  # an input was adjusted to be usable; the reader should know
        cells[4, 1] = " ".join(sim.notes)
    table = [("Output", "Mean", "P10", "P50", "P90", "Std dev", "P(< 0)")]
    for name, label in (
        ("NPV", f"NPV ({currency})"),
        ("eNPV", f"eNPV ({currency})"),
        ("IRR", "IRR"),
    ):
        s = sim.summary(name)
        table.append((label, s["mean"], s["p10"], s["p50"], s["p90"], s["std"], s["prob_negative"]))
    for r, row in enumerate(table, start=5):
        for c, value in enumerate(row, start=1):
            cells[r, c] = _finite(value)
            if r == 5:
                headers.append((r, c))
            elif c > 1:
                formats[r, c] = "0.0%" if c == 7 or row[0] == "IRR" else MONEY
    r = 10
    cells[r, 1] = "Uncertain drivers (relative change x: driver = base x (1 + x))"
    r += 1
    for c, h in enumerate(("Driver", "Distribution", "Parameters"), start=1):
        cells[r, c] = h
        headers.append((r, c))
    for key, d in sim.drivers.items():
        r += 1
        params = {k: getattr(d, k) for k in PARAMETERS[d.type]}
        cells[r, 1] = TORNADO_DRIVERS.get(key, key)
        cells[r, 2] = d.type
        cells[r, 3] = ", ".join(f"{k}={v}" for k, v in params.items())
    top = r + 2
    counts, edges = sim.histogram("NPV", bins=30)
    cells[top, 1] = "NPV histogram"
    for c, h in enumerate(("From", "To", "Trials", "Share"), start=1):
        cells[top + 1, c] = h
        headers.append((top + 1, c))
    total = max(int(counts.sum()), 1)
    for i, n in enumerate(counts):
        row = top + 2 + i
        cells[row, 1], cells[row, 2] = float(edges[i]), float(edges[i + 1])
        cells[row, 3], cells[row, 4] = int(n), n / total
        formats[row, 1] = formats[row, 2] = MONEY
        formats[row, 4] = "0.0%"
    probability, values = sim.s_curve("NPV", points=101)
    cells[top, 6] = "NPV S-curve"
    for c, h in enumerate(("P(NPV <= value)", "NPV"), start=6):
        cells[top + 1, c] = h
        headers.append((top + 1, c))
    for i, (p, v) in enumerate(zip(probability, values, strict=True)):
        cells[top + 2 + i, 6], cells[top + 2 + i, 7] = float(p), float(v)
        formats[top + 2 + i, 6], formats[top + 2 + i, 7] = "0%", MONEY
    return RiskLayout(
        cells,
        headers,
        formats,
        (top + 2, top + 1 + len(counts)),
        (top + 2, top + 1 + len(probability)),
    )


def risk_sheet(sim: Simulation, case_name: str, currency: str) -> Workbook:
    """A one-sheet workbook named Risk, to be put into a case with :mod:`workbooks.inject`."""
    layout = risk_layout(sim, case_name, currency)
    wb = Workbook()
    ws = wb.active
    ws.title = "Risk"
    for (r, c), value in layout.cells.items():
        cell = ws.cell(row=r, column=c, value=value)
        if isinstance(value, str):
            cell.data_type = "s"  # text, never a formula
        if (r, c) in layout.formats:
            cell.number_format = layout.formats[r, c]
    for r, c in layout.headers:
        ws.cell(row=r, column=c).font = HEADER
        ws.cell(row=r, column=c).fill = HEADER_FILL
    for r in range(6, 9):
        for c in range(1, 8):
            ws.cell(row=r, column=c).fill = SNAPSHOT_FILL
    ws["A1"].font = TITLE
    top, last_hist = layout.histogram
    curve_top, last_curve = layout.curve
    hist = BarChart()
    hist.title = "NPV distribution"
    hist.add_data(Reference(ws, min_col=3, min_row=top, max_row=last_hist), titles_from_data=False)
    hist.set_categories(Reference(ws, min_col=1, min_row=top, max_row=last_hist))
    hist.gapWidth = 10
    hist.legend = None
    hist.x_axis.numFmt = '#,##0.0,,"m"'  # bin edges in millions, every fifth shown:
    hist.x_axis.tickLblSkip = 5  # thirty full amounts overlap on a printed page
    hist.x_axis.tickLblPos = "low"
    hist.x_axis.title = f"NPV, {currency}"
    hist.height, hist.width = 7.5, 14
    ws.add_chart(hist, "I4")
    # CT_ScatterChart requires <c:scatterStyle>; openpyxl writes it only when set.
    curve = ScatterChart(scatterStyle="lineMarker")
    curve.title = "S-curve: probability NPV is at most"
    curve.style = 13
    curve.series.append(
        Series(
            Reference(ws, min_col=6, min_row=curve_top, max_row=last_curve),
            Reference(ws, min_col=7, min_row=curve_top, max_row=last_curve),
            title="NPV",
        )
    )
    curve.x_axis.numFmt, curve.y_axis.numFmt = "#,##0", "0%"
    curve.y_axis.scaling.min, curve.y_axis.scaling.max = 0.0, 1.0  # a probability
    curve.x_axis.title = f"NPV, {currency}"
    curve.legend = None
    curve.height, curve.width = 7.5, 14
    ws.add_chart(curve, "I20")
    ws.column_dimensions["A"].width = 30
    for col in "BCDEFG":
        ws.column_dimensions[col].width = 15
    ws.page_setup.orientation = "landscape"
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    # The spec's confidentiality line is not at hand here; the Risk sheet says what it is.
    header_footer(ws, str(case_name), "Confidential: Monte Carlo snapshot")
    return wb


def _finite(value):
    return None if isinstance(value, float) and value != value else value
