"""Write the portfolio workbook: cases, consolidated flows, capital, selection.

The case rows hold the engine's results; everything summed from them is a
formula (totals, consolidated P&L and cash flow, capital against the budget,
the headline ``Port_*`` names), so a number edited in a case row flows
through, and the workbook computes without the add-in.

Every amount is in the portfolio's one currency (``Port_Currency``); the Cases
table shows each case's own currency, the rate that converted it and its NPV
before conversion. User text (case ids, product lines) is never a criterion
of SUMIFS/MATCH, which would read ``*``, ``?``, ``~`` as patterns and a leading
``=``, ``<`` or ``>`` as a comparison: the formulas compare it with ``EXACT``
against a cell holding the text, inside ``SUMPRODUCT``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
from openpyxl import Workbook
from openpyxl.chart import BarChart, BubbleChart, LineChart, Reference, ScatterChart, Series
from openpyxl.chart.data_source import StrRef
from openpyxl.chart.label import DataLabelList
from openpyxl.chart.marker import Marker
from openpyxl.chart.series import SeriesLabel
from openpyxl.styles import Alignment, Font, PatternFill, Protection
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.table import Table, TableStyleInfo

from udfs import expr as X
from udfs.portfolio import HEADLINES, Plan

from .business_case import (
    FORMATS,
    HEADER_FILL,
    HEADER_FONT,
    INPUT_FILL,
    INPUT_FONT,
    SECTION_FONT,
    TITLE_FONT,
    header_footer,
    write_text,
)
from .buttons import add_buttons, buttons_of
from .files import save_atomically
from .portfolio_layout import (
    CASES,
    FLOWS,
    HEADLINE_ROW,
    MEASURE_LABELS,
    SUMMARY,
    FlowsLayout,
    summary_ref,
)

CASE_COLUMNS = CASES.headers  # the Cases table, in order (tests and readers use it)
#: The Cases columns the headline expressions read (udfs.portfolio.Headline).
HEADLINE_COLUMNS = {
    "npv": "NPV",
    "enpv": "eNPV",
    "capital": "Capital",
    "selected": "Selected",
    "id": "ID",
}
HEADLINE_FORMATS = {"currency": FORMATS["currency"], "%": "0.0%", "count": "0"}
SNAPSHOT_FILL = PatternFill("solid", fgColor="EDEDED")
CONFIDENTIAL = "Confidential: prepared for internal decision-making"
#: Capital is an amount spent, shown positive everywhere in the portfolio (a case
#: workbook's cash-flow rows show the same money as a negative outflow).
CAPITAL_SIGN = (
    "Capital is shown as a positive amount spent; in the case workbooks' cash flows "
    "it is an outflow, negative."
)


def write_portfolio(report: Plan, path: str | Path, overwrite: bool = False) -> Path:
    """Write a plan (:func:`udfs.portfolio.plan`) as the portfolio workbook, atomically;
    refuse to replace a file unless asked."""
    return save_atomically(
        build_portfolio(report),
        path,
        overwrite,
        finish=lambda saved: add_buttons(saved, buttons_of("portfolio")),
    )


def build_portfolio(report: Plan) -> Workbook:
    wb = Workbook()
    summary = wb.active
    summary.title = "Summary"
    cases_ws = wb.create_sheet("Cases")
    flows_ws = wb.create_sheet("Flows")
    consolidated = wb.create_sheet("Consolidated")
    capital_ws = wb.create_sheet("Capital")
    selection_ws = wb.create_sheet("Selection")
    exceptions_ws = wb.create_sheet("Exceptions")
    years = report.aligned.years
    n_cases = len(report.aligned.cases)

    def define(name, ref):
        wb.defined_names[name] = DefinedName(name, attr_text=ref)

    # Cases: one Excel Table row per case.
    for i, header in enumerate(CASE_COLUMNS, start=1):
        cases_ws.cell(row=1, column=i, value=header)
        cases_ws.cell(row=1, column=i).alignment = Alignment(wrap_text=True, vertical="top")
        # Excel draws the table style; LibreOffice prints only the cells' own format
        cases_ws.cell(row=1, column=i).font = HEADER_FONT
        cases_ws.cell(row=1, column=i).fill = HEADER_FILL
    for r, case in enumerate(report.aligned.cases, start=2):
        action, why = report.recommendations[r - 2]
        row = {
            "ID": case.id,
            "Name": case.name,
            "Product line": case.product_line,
            "Stage": case.stage,
            "Discount rate": case.discount_rate,
            "Currency": case.currency,
            "FX rate": case.fx_rate,
            "NPV in own currency": case.extra.get("own_npv", case.npv),
            "NPV": case.npv,
            "eNPV": case.enpv,
            "IRR": case.irr,
            "PI": case.pi,
            "Payback": case.payback,
            "Capital": float(case.capital.sum()),
            "Probability": case.probability,
            "Score": case.score,
            "Rank": report.ranks[r - 2],
            "Selected": int(report.selected[r - 2]),
            "Mandatory": int(bool(case.extra.get("mandatory"))),
            "Group": case.extra.get("exclusive_group") or "",
            "Depends on": case.extra.get("depends_on") or "",
            "Recommendation": action,
            "Why": why,
            "File": str(report.files[r - 2].name) if r - 2 < len(report.files) else "",
        }
        for header, value in row.items():
            cell = cases_ws.cell(row=r, column=CASES.column(header))
            if isinstance(value, str):
                write_text(cell, value)
            elif isinstance(value, float) and not np.isfinite(value):
                cell.value = None  # no IRR / never pays back: blank, as a number would lie
            else:
                cell.value = value
    formats = {
        "Discount rate": "0.0%",
        "FX rate": "0.0000",
        "NPV in own currency": FORMATS["currency"],
        "NPV": FORMATS["currency"],
        "eNPV": FORMATS["currency"],
        "IRR": "0.0%",
        "PI": "0.00",
        "Payback": "0.00",
        "Capital": FORMATS["currency"],
        "Probability": "0%",
        "Score": "0.0",
    }
    for c, header in enumerate(CASE_COLUMNS, start=1):
        for r in range(2, n_cases + 2):
            if header in formats:
                cases_ws.cell(row=r, column=c).number_format = formats[header]
        cases_ws.column_dimensions[X.column_letter(c)].width = {
            "Name": 34,
            "Why": 48,
            "Recommendation": 15,
            "File": 24,
        }.get(header, 13)
        if header == "Why":
            for r in range(2, n_cases + 2):
                cases_ws.cell(row=r, column=c).alignment = Alignment(wrap_text=True)
    last_col = X.column_letter(len(CASE_COLUMNS))
    table = Table(displayName="Cases", ref=f"A1:{last_col}{n_cases + 1}")
    table.tableStyleInfo = TableStyleInfo(name="TableStyleMedium2", showRowStripes=True)
    cases_ws.add_table(table)
    cases_ws.freeze_panes = "C2"
    cases_ws.row_dimensions[1].height = 30  # headers wrap onto two lines
    for r in range(2, n_cases + 2):  # the selection may be changed by hand
        c = cases_ws.cell(row=r, column=CASES.column("Selected"))
        c.fill, c.font = INPUT_FILL, INPUT_FONT

    # Flows: (case, measure) rows by year; Selected looked up from the Cases table.
    flows = FlowsLayout(cases=n_cases, years=years.size)
    flows_ws.append([*FLOWS.headers, *[int(y) for y in years]])
    for c in flows_ws[FLOWS.header_row]:
        c.font, c.fill = HEADER_FONT, HEADER_FILL
    id_letter = FLOWS.letter("ID")
    for i, case in enumerate(report.aligned.cases):
        for measure, label in MEASURE_LABELS.items():
            row = flows.row(i, measure)
            for header, text in (("ID", case.id), ("Product line", case.product_line)):
                write_text(flows_ws.cell(row=row, column=FLOWS.column(header)), text)
            write_text(flows_ws.cell(row=row, column=FLOWS.column("Measure")), label)
            # EXACT, not MATCH: an id such as "a*" must not take the flag of "ab"
            flows_ws.cell(
                row=row,
                column=FLOWS.column("Selected"),
                value=f"=SUMPRODUCT(EXACT(Cases[ID],${id_letter}{row})*Cases[Selected])",
            )
            for j, value in enumerate(report.aligned.flows[measure][i]):
                c = flows_ws.cell(row=row, column=flows.year_column(j), value=float(value))
                c.number_format = FORMATS["currency"]
            _unit(flows_ws.cell(row=row, column=flows.year_column(years.size)), report.currency)
    flows_ws.freeze_panes = f"{X.column_letter(flows.year_column(0))}{FLOWS.first_row}"
    flows_ws.print_title_rows = "1:1"
    for j in range(years.size):
        flows_ws.column_dimensions[X.column_letter(flows.year_column(j))].width = 13
    for header, width in (("ID", 22), ("Product line", 16), ("Measure", 16)):
        flows_ws.column_dimensions[FLOWS.letter(header)].width = width
    flows_col = flows.column_range

    crit_measure = flows.column_range("Measure")
    crit_line = flows.column_range("Product line")
    crit_selected = flows.column_range("Selected")

    # Consolidated P&L and cash flow by year: formulas over the case rows.
    title = f"Consolidated by year, {report.currency} (formulas over the case rows)"
    consolidated["A1"].value = title
    consolidated["A1"].font = TITLE_FONT
    consolidated.append([])
    consolidated["A3"].value = "Measure"
    for j, y in enumerate(years):
        consolidated.cell(row=3, column=2 + j, value=int(y))
    for c in consolidated[3][: 1 + years.size]:
        c.font, c.fill = HEADER_FONT, HEADER_FILL
    cons_rows = {}
    row = 4
    for measure, label in MEASURE_LABELS.items():
        consolidated.cell(row=row, column=1, value=label).font = Font(bold=True)
        for j in range(years.size):
            c = consolidated.cell(
                row=row, column=2 + j, value=f'=SUMIFS({flows_col(j)},{crit_measure},"{label}")'
            )
            c.number_format = FORMATS["currency"]
        _unit(consolidated.cell(row=row, column=2 + years.size), report.currency)
        cons_rows[measure] = row
        row += 1
    consolidated.cell(row=row, column=1, value="Cumulative FCF")
    for j in range(years.size):
        col = X.column_letter(2 + j)
        c = consolidated.cell(
            row=row, column=2 + j, value=f"=SUM($B${cons_rows['fcf']}:{col}{cons_rows['fcf']})"
        )
        c.number_format = FORMATS["currency"]
    _unit(consolidated.cell(row=row, column=2 + years.size), report.currency)
    row += 2
    consolidated.cell(row=row, column=1, value="By product line").font = SECTION_FONT
    key_col = 3 + years.size  # the line's exact text, which the row's formulas compare with
    key_letter = X.column_letter(key_col)
    consolidated.cell(row=row, column=key_col, value="Product line (exact)").font = SECTION_FONT
    row += 1
    lines = list(dict.fromkeys(c.product_line for c in report.aligned.cases))
    line_rows = {}
    for measure in ("revenue", "fcf", "capital"):
        for line in lines:
            write_text(
                consolidated.cell(row=row, column=1),
                f"{MEASURE_LABELS[measure]}: {line or '(no product line)'}",
            )
            write_text(consolidated.cell(row=row, column=key_col), line)
            for j in range(years.size):
                c = consolidated.cell(
                    row=row,
                    column=2 + j,
                    value=f'=SUMPRODUCT(({crit_measure}="{MEASURE_LABELS[measure]}")'
                    f"*EXACT({crit_line},${key_letter}{row}),{flows_col(j)})",
                )
                c.number_format = FORMATS["currency"]
            _unit(consolidated.cell(row=row, column=2 + years.size), report.currency)
            line_rows[(measure, line)] = row
            row += 1
    consolidated.column_dimensions[key_letter].width = 24
    consolidated.column_dimensions["A"].width = 36
    for j in range(years.size):
        consolidated.column_dimensions[X.column_letter(2 + j)].width = 13
    consolidated.freeze_panes = "B4"
    consolidated.print_title_rows = "3:3"
    consolidated.print_area = f"A1:{X.column_letter(2 + years.size)}{row}"
    write_text(consolidated["A2"], CAPITAL_SIGN)
    last_year_col = X.column_letter(1 + years.size)
    fcf_range = f"Consolidated!$B${cons_rows['fcf']}:${last_year_col}${cons_rows['fcf']}"
    define("Port_FCFByYear", fcf_range)

    # Capital by year against the budget.
    capital_ws["A1"].value = f"Capital by year against the budget, {report.currency}"
    capital_ws["A1"].font = TITLE_FONT
    capital_ws["A3"].value = "Year"
    for j, y in enumerate(years):
        capital_ws.cell(row=3, column=2 + j, value=int(y))
    for c in capital_ws[3][: 1 + years.size]:
        c.font, c.fill = HEADER_FONT, HEADER_FILL
    first_line_row = 4
    for k, line in enumerate(lines):
        r = first_line_row + k
        write_text(capital_ws.cell(row=r, column=1), f"Capital: {line or '(no product line)'}")
        for j in range(years.size):
            col = X.column_letter(2 + j)
            c = capital_ws.cell(
                row=r, column=2 + j, value=f"=Consolidated!{col}{line_rows[('capital', line)]}"
            )
            c.number_format = FORMATS["currency"]
        _unit(capital_ws.cell(row=r, column=2 + years.size), report.currency)
    r_total = first_line_row + len(lines)
    r_selected, r_budget, r_headroom = r_total + 1, r_total + 2, r_total + 3
    labels = (
        (r_total, "Capital, all cases"),
        (r_selected, "Capital, selected cases"),
        (r_budget, "Budget"),
        (r_headroom, "Headroom (budget - selected)"),
    )
    for r, label in labels:
        capital_ws.cell(row=r, column=1, value=label).font = Font(bold=True)
        _unit(capital_ws.cell(row=r, column=2 + years.size), report.currency)
    write_text(capital_ws["A2"], CAPITAL_SIGN)
    capital_ws.print_title_rows = "3:3"
    for j in range(years.size):
        col = X.column_letter(2 + j)
        cells = {
            r_total: f"=Consolidated!{col}{cons_rows['capital']}",
            r_selected: f'=SUMIFS({flows_col(j)},{crit_measure},"Capital",{crit_selected},1)',
            r_headroom: f'=IF(ISNUMBER({col}{r_budget}),{col}{r_budget}-{col}{r_selected},"")',
        }
        for r, formula in cells.items():
            capital_ws.cell(row=r, column=2 + j, value=formula).number_format = FORMATS["currency"]
        budget_cell = capital_ws.cell(row=r_budget, column=2 + j)
        if report.budget_by_year is not None:
            budget_cell.value = float(report.budget_by_year[j])
        budget_cell.fill, budget_cell.font = INPUT_FILL, INPUT_FONT
        budget_cell.protection = Protection(locked=False)
        budget_cell.number_format = FORMATS["currency"]
    define("In_BudgetByYear", f"Capital!$B${r_budget}:${last_year_col}${r_budget}")
    capital_ws.column_dimensions["A"].width = 34
    for j in range(years.size):
        capital_ws.column_dimensions[X.column_letter(2 + j)].width = 13
    stacked = BarChart()
    stacked.type, stacked.grouping, stacked.overlap = "col", "stacked", 100
    stacked.title = "Capital by year and product line" + (
        ", with the budget" if report.budget_by_year is not None else ""
    )
    for k, line in enumerate(lines):
        ref = Reference(capital_ws, min_col=2, max_col=1 + years.size, min_row=first_line_row + k)
        stacked.add_data(ref, from_rows=True, titles_from_data=False)
        stacked.series[-1].tx = SeriesLabel(v=line or "(none)")
    cats = Reference(capital_ws, min_col=2, max_col=1 + years.size, min_row=3)
    stacked.set_categories(cats)
    stacked.y_axis.numFmt = "#,##0"
    stacked.y_axis.title = report.currency
    if report.budget_by_year is not None:  # no legend entry for a line that is not drawn
        budget_line = LineChart()
        budget_line.add_data(
            Reference(capital_ws, min_col=2, max_col=1 + years.size, min_row=r_budget),
            from_rows=True,
            titles_from_data=False,
        )
        budget_line.series[0].tx = SeriesLabel(v="Budget")
        stacked += budget_line
    stacked.height, stacked.width = 8, 16
    capital_ws.add_chart(stacked, f"A{r_headroom + 3}")

    # Selection: the frontier the engine computed.
    selection_ws["A1"].value = "Efficient frontier: best value at each capital budget"
    selection_ws["A1"].font = TITLE_FONT
    selection_ws["A2"].value = (
        f"Computed by the bizcase engine (exact 0/1 optimisation, "
        f"HiGHS) maximising {report.value_key.upper()} when the "
        f"workbook was generated; not live."
    )
    headers = (
        f"Capital budget, {report.currency}",
        f"Best {report.value_key.upper()}, {report.currency}",
        f"Capital used, {report.currency}",
        "Projects",
    )
    for i, h in enumerate(headers, start=1):
        c = selection_ws.cell(row=4, column=i, value=h)
        c.font, c.fill = HEADER_FONT, HEADER_FILL
    for r, values in enumerate(report.frontier.itertuples(index=False), start=5):
        for i, v in enumerate(values, start=1):
            c = selection_ws.cell(row=r, column=i, value=float(v) if i < 4 else int(v))
            c.number_format = FORMATS["currency"] if i < 4 else "0"
            c.fill = SNAPSHOT_FILL
    last_frontier = 4 + len(report.frontier)
    # CT_ScatterChart requires <c:scatterStyle>; openpyxl writes it only when set.
    scatter = ScatterChart(scatterStyle="lineMarker")
    scatter.title = "Efficient frontier"
    scatter.style = 13
    scatter.x_axis.title = "Capital budget"
    scatter.y_axis.title = report.value_key.upper()
    s = Series(
        Reference(selection_ws, min_col=2, min_row=5, max_row=last_frontier),
        Reference(selection_ws, min_col=1, min_row=5, max_row=last_frontier),
        title="Best value",
    )
    # Straight segments between the budgets computed, each marked: a smoothed curve
    # would dip and bulge where no budget was evaluated.
    s.smooth = False
    s.marker = Marker(symbol="circle", size=6)
    scatter.series.append(s)
    scatter.legend = None
    scatter.x_axis.title = f"Capital budget ({report.currency})"
    scatter.y_axis.title = f"{report.value_key.upper()} ({report.currency})"
    scatter.x_axis.numFmt = scatter.y_axis.numFmt = "#,##0"
    scatter.height, scatter.width = 8, 14
    selection_ws.add_chart(scatter, "F4")
    for col in "ABCD":
        selection_ws.column_dimensions[col].width = 22

    # Exceptions and hand edits.
    exceptions_ws["A1"].value = "Files that could not be rolled up"
    exceptions_ws["A1"].font = TITLE_FONT
    exceptions_ws.append(["File", "Reason"])
    for path, reason in report.exceptions:
        exceptions_ws.append([None, None])
        write_text(exceptions_ws.cell(row=exceptions_ws.max_row, column=1), str(path))
        write_text(exceptions_ws.cell(row=exceptions_ws.max_row, column=2), reason)
    exceptions_ws.append([])
    exceptions_ws.append(
        ["Cached results that differ from the engine (hand-edited formulas or overrides)"]
    )
    exceptions_ws.append(["File", "Output", "Value in the file", "Engine"])
    for path, name, cached, engine in report.overrides:
        exceptions_ws.append([None, name, cached, engine])
        write_text(exceptions_ws.cell(row=exceptions_ws.max_row, column=1), str(path))
    exceptions_ws.append([])
    exceptions_ws.append(["Duplicates: the same inputs as a case already counted; counted once"])
    exceptions_ws.append(["File", "Same inputs as (counted)"])
    for copy, counted in report.duplicates:
        exceptions_ws.append([None, None])
        write_text(exceptions_ws.cell(row=exceptions_ws.max_row, column=1), str(copy))
        write_text(exceptions_ws.cell(row=exceptions_ws.max_row, column=2), str(counted))
    exceptions_ws.append([])
    exceptions_ws.append(["Left out of the folder scan"])
    exceptions_ws.append(["File", "Why"])
    for path, reason in report.left_out:
        exceptions_ws.append([None, None])
        write_text(exceptions_ws.cell(row=exceptions_ws.max_row, column=1), str(path))
        write_text(exceptions_ws.cell(row=exceptions_ws.max_row, column=2), reason)
    exceptions_ws.column_dimensions["A"].width = 48
    exceptions_ws.column_dimensions["B"].width = 90

    # Summary: the headline names, as formulas over the case table.
    summary["A1"].value = "Portfolio"
    summary["A1"].font = TITLE_FONT
    summary["A2"].value = (
        f"{n_cases} cases rolled up, {len(report.exceptions)} file(s) could "
        f"not be read, {len(report.duplicates)} duplicate(s) counted once (see "
        f"Exceptions); generated {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC"
    )
    cells = {name: summary.cell(row=r, column=c) for name, (r, c) in SUMMARY.items()}
    for name in SUMMARY:
        define(name, summary_ref(name))
    labels = {
        "Port_Currency": "Currency of every amount (other currencies converted: Cases, FX rate)",
        "In_IRRGuess": "IRR guess (used where MIRR does not exist)",
        "In_PortfolioRate": "Discount rate for the portfolio MIRR",
        "In_Budget": f"Capital budget, total, {report.currency} (blank: none)",
    }
    for name, label in labels.items():
        summary.cell(row=cells[name].row, column=1, value=label)
    write_text(cells["Port_Currency"], report.currency)
    cells["Port_Currency"].font = Font(bold=True)
    cells["In_IRRGuess"].value = report.settings.irr_guess
    cells["In_PortfolioRate"].value = report.rate
    cells["In_PortfolioRate"].number_format = "0.0%"
    cells["In_Budget"].value = report.budget_total
    cells["In_Budget"].number_format = FORMATS["currency"]
    for name in ("In_IRRGuess", "In_PortfolioRate", "In_Budget"):
        cells[name].fill, cells[name].font = INPUT_FILL, INPUT_FONT
    # The headline names: rendered from the expressions the engine evaluates for the plan.
    context = X.Context(
        cells={
            "Budget": "In_Budget",
            "IRRGuess": "In_IRRGuess",
            "PortfolioRate": "In_PortfolioRate",
        },
        ranges={
            **{k: f"Cases[{h}]" for k, h in HEADLINE_COLUMNS.items()},
            "fcf": "Port_FCFByYear",
            "BudgetByYear": "In_BudgetByYear",
        },
    )
    summary.cell(row=HEADLINE_ROW - 1, column=1, value="Headline").font = SECTION_FONT
    for r, headline in enumerate(HEADLINES, start=HEADLINE_ROW):
        summary.cell(row=r, column=1, value=headline.label)
        c = summary.cell(row=r, column=2, value="=" + headline.expr.excel(context))
        c.number_format, c.font = HEADLINE_FORMATS[headline.unit], Font(bold=True)
        if headline.unit == "currency":
            write_text(summary.cell(row=r, column=3), report.currency)
        define(f"Port_{headline.name}", f"Summary!$B${r}")
    r = HEADLINE_ROW + len(HEADLINES)
    for label, name, value in (
        ("Selection maximises (npv or enpv)", "In_SelectBy", report.value_key),
        ("Cases ranked by (npv, pi, irr, enpv or score)", "In_RankBy", report.rank_key),
    ):
        summary.cell(row=r, column=1, value=label)
        c = summary.cell(row=r, column=2, value=value)
        c.fill, c.font = INPUT_FILL, INPUT_FONT
        define(name, f"Summary!$B${r}")
        r += 1
    summary.column_dimensions["A"].width = 44
    summary.column_dimensions["B"].width = 18
    summary.column_dimensions["C"].width = 7
    note = summary.cell(row=r, column=1)  # B20 holds the Refresh button
    write_text(note, CAPITAL_SIGN)
    note.font = Font(italic=True, color="595959")
    note.alignment = Alignment(wrap_text=True, vertical="top")
    summary.merge_cells(start_row=r, start_column=1, end_row=r, end_column=3)
    summary.row_dimensions[r].height = 26
    bubble = BubbleChart()
    bubble.style = 18
    bubble.title = f"Risk and reward: eNPV ({report.currency}) vs probability (bubble = capital)"
    # One series per case, so each bubble carries its case's name as a label.
    columns = {h: CASES.column(h) for h in ("Name", "Probability", "eNPV", "Capital")}
    for r in range(2, n_cases + 2):

        def one(header, r=r):
            return Reference(cases_ws, min_col=columns[header], min_row=r, max_row=r)

        series = Series(values=one("eNPV"), xvalues=one("Probability"), zvalues=one("Capital"))
        series.tx = SeriesLabel(strRef=StrRef(f"'Cases'!${X.column_letter(columns['Name'])}${r}"))
        series.dLbls = DataLabelList(showSerName=True, showVal=False, dLblPos="ctr")
        bubble.series.append(series)
    bubble.legend = None
    bubble.x_axis.title = "Probability of success"
    bubble.y_axis.title = f"eNPV ({report.currency})"
    bubble.x_axis.numFmt, bubble.y_axis.numFmt = "0%", "#,##0"
    bubble.x_axis.scaling.max = 1.0  # a probability: the axis stops at 100%
    bubble.x_axis.tickLblPos = bubble.y_axis.tickLblPos = "low"
    bubble.height, bubble.width = 10, 17
    summary.add_chart(bubble, "E3")
    if report.simulation is not None:
        _risk_sheet(wb, report.simulation, define, report.currency)
    for ws in wb.worksheets:
        _page(ws, fit_height=ws.title == "Summary")
        header_footer(ws, "Portfolio", CONFIDENTIAL)
    summary.print_area = "A1:O22"
    cases_ws.page_setup.fitToWidth = 2  # 24 columns: two landscape pages, names on both
    cases_ws.print_title_cols = "A:B"
    cases_ws.print_title_rows = "1:1"
    return wb


def _risk_sheet(wb, sim, define, currency: str) -> None:
    """Monte Carlo of the portfolio: summary with names, histogram (engine snapshot)."""
    ws = wb.create_sheet("Risk", 1)
    ws["A1"].value = "Portfolio risk: Monte Carlo of total NPV"
    ws["A1"].font = TITLE_FONT
    ws["A2"].value = (
        f"Snapshot computed by the bizcase engine: {sim.trials:,} trials, seed "
        f"{sim.seed}; each case's simulation summed trial by trial, cases of the "
        f"same product line rank-correlated at {sim.correlation:g}. Not live."
    )
    summary = sim.summary()
    rows = [
        ("Mean", "Port_NPV_Mean", summary["mean"]),
        ("P10", "Port_NPV_P10", summary["p10"]),
        ("P50", "Port_NPV_P50", summary["p50"]),
        ("P90", "Port_NPV_P90", summary["p90"]),
        ("P(portfolio NPV < 0)", "Port_ProbNegative", summary["prob_negative"]),
    ]
    if sim.target is not None:
        rows.append(
            (
                f"P(portfolio NPV < target {sim.target:,.0f})",
                "Port_ProbMissTarget",
                summary["prob_below_target"],
            )
        )
    for r, (label, name, value) in enumerate(rows, start=4):
        ws.cell(row=r, column=1, value=label)
        c = ws.cell(row=r, column=2, value=value)
        c.number_format = "0.0%" if name.startswith("Port_Prob") else FORMATS["currency"]
        c.fill, c.font = SNAPSHOT_FILL, Font(bold=True)
        if not name.startswith("Port_Prob"):
            write_text(ws.cell(row=r, column=3), currency)
        define(name, f"Risk!$B${r}")
    counts, edges = np.histogram(sim.total, bins=30)
    top = 5 + len(rows)
    for c, h in enumerate((f"From, {currency}", f"To, {currency}", "Trials"), start=1):
        cell = ws.cell(row=top, column=c, value=h)
        cell.font, cell.fill = HEADER_FONT, HEADER_FILL
    for i, n in enumerate(counts):
        ws.cell(row=top + 1 + i, column=1, value=float(edges[i])).number_format = "#,##0"
        ws.cell(row=top + 1 + i, column=2, value=float(edges[i + 1])).number_format = "#,##0"
        ws.cell(row=top + 1 + i, column=3, value=int(n))
    chart = BarChart()
    chart.title = "Portfolio NPV distribution"
    chart.add_data(
        Reference(ws, min_col=3, min_row=top + 1, max_row=top + len(counts)), titles_from_data=False
    )
    chart.set_categories(Reference(ws, min_col=1, min_row=top + 1, max_row=top + len(counts)))
    chart.legend, chart.gapWidth = None, 10
    chart.x_axis.tickLblPos = "low"
    chart.x_axis.numFmt = '#,##0.0,,"m"'  # bin edges in millions, every fifth shown:
    chart.x_axis.tickLblSkip = 5  # thirty full amounts overlap on a printed page
    chart.x_axis.title = f"Portfolio NPV, {currency}"
    chart.height, chart.width = 8, 15
    ws.add_chart(chart, "E3")
    ws.column_dimensions["A"].width = 40
    ws.column_dimensions["B"].width = 18


def _unit(cell, currency: str) -> None:
    """The row's unit, just right of its last year."""
    write_text(cell, currency)
    cell.alignment = Alignment(indent=1)
    cell.font = Font(italic=True, color="595959")


def _page(ws, fit_height: bool) -> None:
    """Landscape, one page wide (and one page tall where asked)."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 1 if fit_height else 0
