"""The Risk sheet: a Monte Carlo snapshot with its histogram and S-curve."""

from __future__ import annotations

import datetime as dt

from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference, ScatterChart, Series
from openpyxl.styles import Font, PatternFill

from udfs.risk import PARAMETERS, Simulation
from udfs.sensitivity import TORNADO_DRIVERS

TITLE = Font(bold=True, size=16, color="1F3864")
HEADER = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor="1F3864")
SNAPSHOT_FILL = PatternFill("solid", fgColor="EDEDED")
MONEY = "#,##0;[Red]-#,##0"


def risk_sheet(sim: Simulation, case_name: str, currency: str) -> Workbook:
    """A one-sheet workbook named Risk, to be put into a case with :mod:`workbooks.inject`."""
    wb = Workbook()
    ws = wb.active
    ws.title = "Risk"
    ws["A1"].value = "Risk: Monte Carlo simulation"
    ws["A1"].font = TITLE
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    ws["A2"].value = (
        f"Snapshot computed by the bizcase engine ({stamp}): {sim.trials:,} trials, "
        f"seed {sim.seed}. Not live: run `bizcase simulate --write` again after "
        f"changing inputs."
    )
    ws["A3"].value = str(case_name)
    ws["A3"].data_type = "s"
    rows = [("Output", "Mean", "P10", "P50", "P90", "Std dev", "P(< 0)")]
    for name, label in (
        ("NPV", f"NPV ({currency})"),
        ("eNPV", f"eNPV ({currency})"),
        ("IRR", "IRR"),
    ):
        s = sim.summary(name)
        rows.append((label, s["mean"], s["p10"], s["p50"], s["p90"], s["std"], s["prob_negative"]))
    for r, row in enumerate(rows, start=5):
        for c, value in enumerate(row, start=1):
            cell = ws.cell(row=r, column=c, value=_finite(value))
            if r == 5:
                cell.font, cell.fill = HEADER, HEADER_FILL
            else:
                cell.fill = SNAPSHOT_FILL
                cell.number_format = "0.0%" if (c == 7 or row[0] == "IRR") and c > 1 else MONEY
    r = 10
    ws.cell(
        row=r, column=1, value="Uncertain drivers (relative change x: driver = base x (1 + x))"
    ).font = Font(bold=True)
    r += 1
    for c, h in enumerate(("Driver", "Distribution", "Parameters"), start=1):
        cell = ws.cell(row=r, column=c, value=h)
        cell.font, cell.fill = HEADER, HEADER_FILL
    for key, d in sim.drivers.items():
        r += 1
        params = {k: getattr(d, k) for k in PARAMETERS[d.type]}
        ws.cell(row=r, column=1, value=TORNADO_DRIVERS.get(key, key))
        ws.cell(row=r, column=2, value=d.type)
        ws.cell(row=r, column=3, value=", ".join(f"{k}={v}" for k, v in params.items()))
    top = r + 2
    counts, edges = sim.histogram("NPV", bins=30)
    ws.cell(row=top, column=1, value="NPV histogram").font = Font(bold=True)
    for c, h in enumerate(("From", "To", "Trials", "Share"), start=1):
        cell = ws.cell(row=top + 1, column=c, value=h)
        cell.font, cell.fill = HEADER, HEADER_FILL
    total = max(int(counts.sum()), 1)
    for i, n in enumerate(counts):
        row = top + 2 + i
        ws.cell(row=row, column=1, value=float(edges[i])).number_format = MONEY
        ws.cell(row=row, column=2, value=float(edges[i + 1])).number_format = MONEY
        ws.cell(row=row, column=3, value=int(n))
        ws.cell(row=row, column=4, value=n / total).number_format = "0.0%"
    last_hist = top + 1 + len(counts)
    probability, values = sim.s_curve("NPV", points=101)
    ws.cell(row=top, column=6, value="NPV S-curve").font = Font(bold=True)
    for c, h in enumerate(("P(NPV <= value)", "NPV"), start=6):
        cell = ws.cell(row=top + 1, column=c, value=h)
        cell.font, cell.fill = HEADER, HEADER_FILL
    for i, (p, v) in enumerate(zip(probability, values, strict=True)):
        ws.cell(row=top + 2 + i, column=6, value=float(p)).number_format = "0%"
        ws.cell(row=top + 2 + i, column=7, value=float(v)).number_format = MONEY
    last_curve = top + 1 + len(probability)

    hist = BarChart()
    hist.title = "NPV distribution"
    hist.add_data(
        Reference(ws, min_col=3, min_row=top + 2, max_row=last_hist), titles_from_data=False
    )
    hist.set_categories(Reference(ws, min_col=1, min_row=top + 2, max_row=last_hist))
    hist.gapWidth = 10
    hist.legend = None
    hist.x_axis.numFmt = "#,##0"
    hist.x_axis.tickLblPos = "low"
    hist.height, hist.width = 7.5, 14
    ws.add_chart(hist, "I4")
    curve = ScatterChart()
    curve.title = "S-curve: probability NPV is at most"
    curve.style = 13
    curve.series.append(
        Series(
            Reference(ws, min_col=6, min_row=top + 2, max_row=last_curve),
            Reference(ws, min_col=7, min_row=top + 2, max_row=last_curve),
            title="NPV",
        )
    )
    curve.x_axis.numFmt, curve.y_axis.numFmt = "#,##0", "0%"
    curve.legend = None
    curve.height, curve.width = 7.5, 14
    ws.add_chart(curve, "I20")
    ws.column_dimensions["A"].width = 30
    for col in "BCDEFG":
        ws.column_dimensions[col].width = 15
    ws.page_setup.orientation = "landscape"
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    return wb


def _finite(value):
    return None if isinstance(value, float) and value != value else value
