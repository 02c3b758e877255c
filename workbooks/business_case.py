"""Generate the standard business-case workbook from a spec.

The workbook computes in native Excel formulas (it works without the add-in):
every calculation row is a :class:`udfs.model.Line` rendered by
:mod:`udfs.expr`, the same expression the engine evaluates. Sheets: Cover,
Inputs, Calculations, Valuation, Scenarios, Sensitivity, KPIs, Checks,
ScenarioCalcs (the model once per scenario, so Scenarios is live) and a
hidden ``_bizcase`` sheet recording the template version and the spec.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field, replace
from importlib import metadata
from pathlib import Path

from openpyxl import Workbook
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.chart.series import SeriesLabel
from openpyxl.formatting.rule import Rule
from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side
from openpyxl.styles.differential import DifferentialStyle
from openpyxl.styles.numbers import NumberFormat
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.pagebreak import Break

from udfs import expr as X
from udfs.errors import BizcaseError
from udfs.model import (
    NOW_INPUTS,
    SCENARIO_LIST,
    SNAPSHOT_PAIRS,
    Check,
    Input,
    Model,
    build_model,
    evaluate,
)
from udfs.sensitivity import tornado, tornado_drivers
from udfs.spec import SCENARIOS, Spec

from .buttons import add_buttons, buttons_of
from .files import save_atomically
from .layout import (
    CALCULATIONS,
    COVER,
    INPUTS,
    KPIS,
    META,
    SCENARIO_SHEET,
    SENSITIVITY,
    VALUATION,
    position,
)
from .layout import cell as at
from .version import TEMPLATE_VERSION

# E holds period 0 (now); D is the blank opening column that "previous period" reads
FIRST_PERIOD_COLUMN = CALCULATIONS.first_period_column
SPEC_CHUNK = 30000  # Excel caps a cell at 32,767 characters

INPUT_FILL = PatternFill("solid", fgColor="FFF2CC")
INPUT_FONT = Font(color="1F4E79")
HEADER_FILL = PatternFill("solid", fgColor="1F3864")
HEADER_FONT = Font(color="FFFFFF", bold=True)
SECTION_FONT = Font(bold=True, color="1F3864", size=11)
TITLE_FONT = Font(bold=True, size=16, color="1F3864")
TOTAL_BORDER = Border(top=Side(style="thin"))
SNAPSHOT_FILL = PatternFill("solid", fgColor="EDEDED")

FORMATS = {
    "currency": "#,##0;[Red]-#,##0",
    "%": "0.0%",
    "%/yr": "0.0%",
    "% change": "+0%;-0%;0%",
    "% of capex": "0.0%",
    "x": "0.00",
    "ratio": "0.0E+00",
    "years": "0.00",
    "year": "0",
    "year #": "0",
    "#": "0",
    "flag": "0",
    "0/1": "0",
    "periods": "0.00",
    "units": "#,##0",
    "units/yr": "#,##0",
    "FTE": "0.0",
    "per unit": "#,##0.00",
}


#: Money by number format only, so every formula keeps the exact amount:
#: meta.units -> (format, suffix of the currency in labels).
MONEY_SCALES = {
    "units": ("#,##0;[Red]-#,##0", ""),
    "thousands": ("#,##0,;[Red]-#,##0,;0", " k"),
    "millions": ("#,##0.0,,;[Red]-#,##0.0,,;0.0", " m"),
}
#: Outputs that may not exist (IRR with no sign change, a payback never reached):
#: the words shown instead of an error code wherever a reader sees them.
MISSING = {"Payback": "never", "DiscountedPayback": "never", "BreakEvenYear": "never"}


def number_format(unit: str) -> str:
    if unit in FORMATS:
        return FORMATS[unit]
    if "/unit" in unit:
        return "#,##0.00"
    return "#,##0;[Red]-#,##0"


def header_footer(ws, title: str, confidentiality: str, version: str = "") -> None:
    """Header and footer on every printed page: the title and sheet name above; the
    confidentiality line, page x of y, version and print date below. ``&`` starts a
    code in a header, so text from a spec has it doubled."""
    ws.oddHeader.left.text = title.replace("&", "&&")
    ws.oddHeader.right.text = "&A"
    ws.oddFooter.left.text = confidentiality.replace("&", "&&")
    ws.oddFooter.center.text = "Page &P of &N"
    ws.oddFooter.right.text = f"{version} · Printed &D" if version else "Printed &D"
    for part in (ws.oddHeader.left, ws.oddHeader.right):
        part.size = 9
    for part in (ws.oddFooter.left, ws.oddFooter.center, ws.oddFooter.right):
        part.size = 8


def write_text(cell, value) -> None:
    """Text from a spec is always a string, never a formula, whatever it starts with."""
    cell.value = "" if value is None else str(value)
    cell.data_type = "s"


@dataclass
class Block:
    """Where one copy of the model sits: rows of lines, cells of scalars."""

    sheet: str
    prefix: str  # "" on its own sheet, "Sheet!" elsewhere
    rows: dict[str, tuple[str, int]] = field(default_factory=dict)
    cells: dict[str, str] = field(default_factory=dict)


class BusinessCaseWriter:
    """Lays out one business case; :func:`write_business_case` is the entry point."""

    def __init__(self, spec: Spec, values: dict | None = None, actuals: dict | None = None):
        self.spec = spec
        self.actuals = actuals or {}  # KPI actuals by cell, carried over by an upgrade
        self.model: Model = build_model(spec)
        if values:  # inputs read from a workbook (an upgrade) replace the spec's
            self.model.inputs = [
                replace(i, value=_input_value(values[i.name], i)) if i.name in values else i
                for i in self.model.inputs
            ]
        self.n = self.model.periods  # operating periods; period 0 comes first
        self.last_col = X.column_letter(FIRST_PERIOD_COLUMN + self.n)
        self.wb = Workbook()
        self.names: dict[str, str] = {}
        self.input_rows: dict[str, tuple[str, int]] = {}
        self.input_cells: dict[str, str] = {}
        self.base_npv = evaluate(self.model, scenario="Base").outputs["NPV"]
        scale, suffix = MONEY_SCALES[spec.meta.units]
        self.money_format = scale
        self.money = spec.meta.currency + suffix  # the unit in every money label

    def fmt(self, unit: str) -> str:
        """Number format of ``unit``; money scaled as meta.units asks."""
        return self.money_format if unit == "currency" else number_format(unit)

    # --- helpers ---------------------------------------------------------------

    def col(self, period: int) -> str:
        """The timeline column of ``period`` (0 = now)."""
        return X.column_letter(FIRST_PERIOD_COLUMN + period)

    def define(self, name: str, ref: str) -> None:
        self.names[name] = ref
        self.wb.defined_names[name] = DefinedName(name, attr_text=ref)

    def context(self, block: Block, column: str | None = None) -> X.Context:
        cells = dict(self.input_cells)
        cells.update(block.cells)
        rows = dict(self.input_rows)
        rows.update(block.rows)
        return X.Context(
            cells=cells,
            rows=rows,
            column_letter=column,
            first_column=self.col(0),
            last_column=self.last_col,
        )

    def period_headers(self, ws, row: int) -> None:
        """Period labels as formulas (they follow In_StartYear), one formula copied across."""
        rows = self.main.rows
        for p in range(self.n + 1):
            col = self.col(p)
            c = ws[f"{col}{row}"]
            period = f"{col}{rows['period'][1]}"
            year = f"{col}{rows['year'][1]}"
            if self.model.periods_per_year == 1:
                label = year
            else:
                label = f'{year}&" Q"&({period}-({col}{rows["year_index"][1]}-1)*In_PeriodsPerYear)'
            c.value = f'=IF({period}=0,"Now",{label})'
            c.font, c.fill = HEADER_FONT, HEADER_FILL
            c.alignment = Alignment(horizontal="center")

    # --- sheets ------------------------------------------------------------------

    def build(self):
        wb = self.wb
        self.cover = wb.active
        self.cover.title = COVER.sheet
        self.inputs_ws = wb.create_sheet(INPUTS.sheet)
        self.calc_ws = wb.create_sheet(CALCULATIONS.sheet)
        self.valuation_ws = wb.create_sheet(VALUATION.sheet)
        self.scenarios_ws = wb.create_sheet(SCENARIO_SHEET.sheet)
        self.sensitivity_ws = wb.create_sheet(SENSITIVITY.sheet)
        self.kpi_ws = wb.create_sheet(KPIS.sheet)
        self.checks_ws = wb.create_sheet("Checks")
        self.scenario_calc_ws = wb.create_sheet("ScenarioCalcs")
        self.meta_ws = wb.create_sheet(META.sheet)
        self.write_inputs()
        self.main = self.write_block(self.calc_ws, top=CALCULATIONS.block_top, scenario_cell=None)
        self.write_calc_frame()
        self.write_valuation()
        self.write_scenarios()
        self.write_sensitivity()
        self.write_kpis()
        self.write_checks()
        self.write_cover()
        self.write_meta()
        self.protect()
        for ws in wb.worksheets:
            if ws.sheet_state == "visible":
                self.print_setup(ws)
        return wb

    def print_setup(self, ws) -> None:
        meta = self.spec.meta
        header_footer(ws, meta.name, meta.confidentiality, f"Template {TEMPLATE_VERSION}")

    def write_inputs(self):
        ws, lay = self.inputs_ws, INPUTS
        ws[lay.title].value = "Inputs"
        ws[lay.title].font = TITLE_FONT
        ws[lay.note].value = (
            "Every assumption of the case, and only here. Yellow cells are "
            "inputs; everything else in the workbook is calculated."
        )
        # The notes column is also the timeline's blank opening column below: kept
        # narrow (a note runs on over the empty cells to its right) so the forecast
        # series sit beside their labels.
        longest = max(len(i.label) for i in self.model.inputs)
        A, B, C, D = lay.label, lay.value, lay.unit, lay.remark
        for col, width in ((A, min(72, max(52, longest + 2))), (B, 16), (C, 14), (D, 30)):
            ws.column_dimensions[col].width = width
        row = lay.header_row
        for header, col in zip(lay.headers, (A, B, C, D), strict=True):
            ws[f"{col}{row}"].value = header
            ws[f"{col}{row}"].font, ws[f"{col}{row}"].fill = HEADER_FONT, HEADER_FILL
        row += 1
        section = None
        validations: dict[tuple, DataValidation] = {}
        for item in self.model.inputs:
            if item.kind in ("series", "now"):
                continue
            if item.section != section:
                section = item.section
                row += 1
                ws[f"{A}{row}"].value = section
                ws[f"{A}{row}"].font = SECTION_FONT
                row += 1
            write_text(ws[f"{A}{row}"], item.label)
            ws[f"{A}{row}"].alignment = Alignment(shrink_to_fit=True)  # a long custom label
            cell = ws[f"{B}{row}"]
            if item.kind == "text":
                write_text(cell, item.value)
            else:
                cell.value = float(item.value)
                whole = item.unit in ("years", "year", "year #", "per year", "0/1")
                whole = whole and float(item.value).is_integer()
                cell.number_format = "0" if whole else number_format(item.unit)
                if item.unit == self.spec.meta.currency and not float(item.value).is_integer():
                    cell.number_format = "#,##0.00"  # a tolerance of 0.01, not "0"
            cell.fill, cell.font = INPUT_FILL, INPUT_FONT
            cell.protection = Protection(locked=False)
            write_text(ws[f"{C}{row}"], item.unit)
            if item.note:
                write_text(ws[f"{D}{row}"], item.note)
            self.add_validation(ws, validations, item, f"{B}{row}")
            ref = f"{lay.sheet}!${B}${row}"
            self.define(f"In_{item.name}", ref)
            self.input_cells[item.name] = f"In_{item.name}"
            self.last_scalar_row = row
            if item.name == "Scenario":
                self.scenario_row = row
            row += 1
        # The scenario list MATCH reads, and the data-validation source.
        row += 1
        ws[f"A{row}"].value = "Scenario list (names the selector accepts)"
        ws[f"A{row}"].font = SECTION_FONT
        row += 1
        for i, name in enumerate(SCENARIOS):
            write_text(ws.cell(row=row, column=2 + i), name)
        self.define("List_Scenarios", f"Inputs!$B${row}:$D${row}")
        self.input_cells[SCENARIO_LIST] = "List_Scenarios"
        row += 2
        # Series: one row per input, aligned with the Calculations timeline, on a page
        # of their own so the year header prints above them.
        ws.row_breaks.append(Break(id=row - 1))
        ws[f"A{row}"].value = (
            "Forecast series (by period; aligned with Calculations). Now: paid at the "
            "valuation date, t = 0"
        )
        ws[f"A{row}"].font = SECTION_FONT
        row += 1
        header_row = row
        ws[f"{A}{row}"].value = "Series"
        ws[f"{lay.series_unit}{row}"].value = "Unit"
        for p in range(self.n + 1):
            header = f"{CALCULATIONS.sheet}!{self.col(p)}{CALCULATIONS.header_row}"
            ws[f"{self.col(p)}{row}"].value = f"={header}"
            ws[f"{self.col(p)}{row}"].alignment = Alignment(horizontal="center")
        for c in ws[row][: FIRST_PERIOD_COLUMN + self.n]:
            c.font, c.fill = HEADER_FONT, HEADER_FILL
        row += 1
        now_inputs = {i.name: i for i in self.model.inputs if i.kind == "now"}
        for item in self.model.inputs:
            if item.kind != "series":
                continue
            write_text(ws[f"{A}{row}"], item.label)
            write_text(ws[f"{lay.series_unit}{row}"], item.unit)
            ws[f"{A}{row}"].alignment = Alignment(shrink_to_fit=True)
            now = NOW_INPUTS.get(item.name)
            cells = [(p, value) for p, value in enumerate(item.value, start=1)]
            if now:
                cells.insert(0, (0, now_inputs[now[0]].value))
                self.define(f"In_{now[0]}", f"Inputs!${self.col(0)}${row}")
                self.input_cells[now[0]] = f"In_{now[0]}"
            for p, value in cells:
                c = ws[f"{self.col(p)}{row}"]
                c.value = float(value)
                c.fill, c.font = INPUT_FILL, INPUT_FONT
                c.number_format = number_format("currency")
                c.protection = Protection(locked=False)
            self.define(f"In_{item.name}", f"Inputs!${self.col(1)}${row}:${self.last_col}${row}")
            self.input_rows[item.name] = ("Inputs!", row)
            row += 1
        self.series_header_row = header_row
        self.series_rows = (header_row + 1, row - 1)
        for p in range(self.n + 1):
            ws.column_dimensions[self.col(p)].width = 12
        ws.freeze_panes = f"A{lay.first_row}"
        ws.print_area = f"A1:{max(self.last_col, D, key=X.column_index)}{row}"
        self.landscape(ws, fit_height=False)
        self.inputs_last_row = row

    def add_validation(self, ws, validations, item: Input, ref: str):
        if item.kind == "text":
            key = ("list", item.choices)
            if key not in validations:
                dv = DataValidation(
                    type="list",
                    formula1='"' + ",".join(item.choices) + '"',
                    allow_blank=False,
                    showErrorMessage=True,
                    errorTitle="Not a choice",
                    error=f"Choose one of: {', '.join(item.choices)}",
                )
                ws.add_data_validation(dv)
                validations[key] = dv
            validations[key].add(ref)
            return
        if item.minimum is None and item.maximum is None:
            return
        whole = item.unit in ("0/1", "years", "year", "year #") and float(item.value).is_integer()
        key = ("whole" if whole else "decimal", item.minimum, item.maximum)
        if key not in validations:
            low = -1e15 if item.minimum is None else item.minimum
            high = 1e15 if item.maximum is None else item.maximum
            dv = DataValidation(
                type=key[0],
                operator="between",
                formula1=str(low),
                formula2=str(high),
                showErrorMessage=True,
                errorTitle="Out of range",
                error=f"Enter a number from {low:g} to {high:g}",
            )
            ws.add_data_validation(dv)
            validations[key] = dv
        validations[key].add(ref)

    def write_block(self, ws, top: int, scenario_cell: str | None) -> Block:
        """The model once on ``ws`` from row ``top``: drivers, lines, outputs.

        ``scenario_cell`` names the cell holding this block's scenario name;
        None means the workbook's selector, In_Scenario.
        """
        block = Block(ws.title, "")
        if scenario_cell:  # the model's Scenario input, as this copy of it reads it
            block.cells["Scenario"] = scenario_cell
        row = top
        model = self.model
        # Rows first (formulas may refer forward to rows of this block).
        layout = []
        row += 1
        for line in model.drivers:
            block.cells[line.name] = f"$C${row}"
            layout.append(("driver", line, row))
            row += 1
        section = None
        for line in model.lines:
            if line.section != section:
                section = line.section
                row += 1
                layout.append(("section", section, row))
                row += 1
            block.rows[line.name] = ("", row)
            layout.append(("line", line, row))
            row += 1
        row += 1
        layout.append(("section", "Outputs", row))
        row += 1
        for out in model.outputs:
            block.cells[out.result] = f"$C${row}"
            layout.append(("output", out, row))
            row += 1
        ws[f"A{top}"].value = "Drivers after the scenario"
        ws[f"A{top}"].font = SECTION_FONT
        for kind, item, r in layout:
            if kind == "section":
                ws[f"A{r}"].value = item
                ws[f"A{r}"].font = SECTION_FONT
                continue
            write_text(ws[f"A{r}"], item.label)
            write_text(ws[f"B{r}"], self.unit_label(item.unit))
            fmt = self.fmt(item.unit)
            if kind in ("driver", "output"):
                ctx = self.context(block)
                ws[f"C{r}"].value = "=" + item.expr.excel(ctx)
                ws[f"C{r}"].number_format = fmt
                if kind == "output":
                    ws[f"C{r}"].font = Font(bold=True)
            else:
                for p in range(self.n + 1):
                    column = self.col(p)
                    c = ws[f"{column}{r}"]
                    c.value = "=" + item.expr.excel(self.context(block, column))
                    c.number_format = fmt
                    if item.total:
                        c.font, c.border = Font(bold=True), TOTAL_BORDER
                if item.total:
                    ws[f"A{r}"].font = Font(bold=True)
        block.end = row
        return block

    def unit_label(self, unit: str) -> str:
        if unit == "currency":
            return self.money
        return f"{self.spec.meta.currency}/unit" if unit == "per unit" else unit

    def write_calc_frame(self):
        ws, lay = self.calc_ws, CALCULATIONS
        ws[lay.title].value = "Calculations"
        ws[lay.title].font = TITLE_FONT
        ws[
            lay.scenario_note
        ].value = '="Scenario: "&In_Scenario&"   (one formula per row, copied across)"'
        for column, header in enumerate(lay.headers, start=1):
            c = ws[at(lay.header_row, column)]
            c.value, c.font, c.fill = header, HEADER_FONT, HEADER_FILL
        self.period_headers(ws, lay.header_row)
        labels = [i.label for i in (*self.model.drivers, *self.model.lines, *self.model.outputs)]
        ws.column_dimensions["A"].width = max(46, min(70, max(map(len, labels)) + 2))
        ws.column_dimensions["B"].width = 10
        ws.column_dimensions["C"].width = 14
        ws.column_dimensions["D"].width = 9
        for p in range(self.n + 1):
            ws.column_dimensions[self.col(p)].width = 13
        ws.freeze_panes = f"{self.col(0)}{lay.header_row + 1}"
        end, total_col = self.write_pnl(ws)
        ws.print_area = f"A1:{total_col}{end}"
        ws.print_title_rows = f"{lay.header_row}:{lay.header_row}"  # the years on every page
        self.landscape(ws, fit_height=False)
        self.hide_unused_terminal_rows(ws, self.main)

    def write_pnl(self, ws) -> tuple[int, str]:
        """The P&L as one block under the outputs, each row a link to its line above
        (the model interleaves depreciation and tax with it), with a totals column."""
        rows = self.main.rows
        total_col = X.column_letter(FIRST_PERIOD_COLUMN + self.n + 1)
        ws.column_dimensions[total_col].width = 14
        row = self.main.end + 2
        ws[f"A{row}"].value = "P&L in one block (links to the lines above)"
        ws[f"A{row}"].font = SECTION_FONT
        ws[f"{total_col}{row}"].value = "Total"
        ws[f"{total_col}{row}"].font, ws[f"{total_col}{row}"].fill = HEADER_FONT, HEADER_FILL
        ws[f"{total_col}{row}"].alignment = Alignment(horizontal="center")
        for line in self.model.lines:
            if line.section != "P&L":
                continue
            row += 1
            source = rows[line.name][1]
            write_text(ws[f"A{row}"], line.label)
            write_text(ws[f"B{row}"], self.unit_label(line.unit))
            cells = [(self.col(p), f"={self.col(p)}{source}") for p in range(self.n + 1)]
            cells.append((total_col, f"=SUM({self.col(0)}{row}:{self.last_col}{row})"))
            for column, formula in cells:
                c = ws[f"{column}{row}"]
                c.value = formula
                c.number_format = self.fmt(line.unit)
                if line.total:
                    c.font, c.border = Font(bold=True), TOTAL_BORDER
            if line.total:
                ws[f"A{row}"].font = Font(bold=True)
        return row, total_col

    def hide_unused_terminal_rows(self, ws, block: Block) -> None:
        """Terminal-value rows of a method not in use print blank (display only: the
        formulas stay, so switching In_TerminalMethod brings them back)."""
        hidden = DifferentialStyle(numFmt=NumberFormat(numFmtId=190, formatCode=";;;"))
        method = "In_TerminalMethod"
        for line in self.model.lines:
            if line.section != "Terminal value" or line.name == "terminal_value":
                continue
            if line.name == "tv_perpetuity":
                condition = f'{method}<>"Perpetuity"'
            elif line.name == "tv_multiple":
                condition = f'{method}<>"Exit multiple"'
            else:
                condition = f'{method}="None"'
            row = block.rows[line.name][1]
            ws.conditional_formatting.add(
                f"{self.col(0)}{row}:{self.last_col}{row}",
                Rule(type="expression", formula=[condition], dxf=hidden),
            )

    def landscape(self, ws, fit_height=True):
        ws.page_setup.orientation = "landscape"
        ws.page_setup.paperSize = ws.PAPERSIZE_A4
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 1 if fit_height else 0
        ws.print_options.horizontalCentered = True

    def write_valuation(self):
        ws, lay = self.valuation_ws, VALUATION
        ws[lay.title].value = "Valuation"
        ws[lay.title].font = TITLE_FONT
        ws[lay.scenario_note].value = '="Scenario: "&In_Scenario'
        ws.column_dimensions["A"].width = 64
        ws.column_dimensions["B"].width = 18
        ws.column_dimensions["C"].width = 12
        for column, text in enumerate(lay.headers, start=1):
            c = ws[at(lay.header_row, column)]
            c.value, c.font, c.fill = text, HEADER_FONT, HEADER_FILL
        row = lay.first_row
        for out in self.model.outputs:
            write_text(ws[f"A{row}"], out.label)
            ws[f"B{row}"].value = f"=Calculations!{self.main.cells[out.result]}"
            ws[f"B{row}"].number_format = self.fmt(out.unit)
            ws[f"B{row}"].font = Font(bold=out.public)
            if out.name == "TerminalValueShare":  # "n/a" without a terminal value
                ws.conditional_formatting.add(
                    f"B{row}",
                    Rule(
                        type="expression",
                        formula=['In_TerminalMethod="None"'],
                        dxf=DifferentialStyle(
                            numFmt=NumberFormat(numFmtId=191, formatCode='"n/a";"n/a";"n/a"')
                        ),
                    ),
                )
            write_text(ws[f"C{row}"], self.unit_label(out.unit))
            name = f"Out_{out.name}" if out.public else f"Calc_{out.name}"
            self.define(name, f"{lay.sheet}!$B${row}")
            # The IRR's working steps stay (Calc_ names, Calculations shows them) but out
            # of the board's view.
            ws.row_dimensions[row].hidden = not out.public
            row += 1
        row += 1
        notes = [
            "The clock: t = 0 is the valuation date (1 January of the first year). Period 0 "
            "(now) is undiscounted; each later period's flow is discounted from its end, or "
            "its middle with In_Timing = Mid; the terminal value from the horizon's end.",
            "NPV: incremental free cash flow (case minus baseline) discounted at the "
            "scenario's discount rate. With annual end-of-year timing it equals "
            "BC_NPV(rate, the incremental FCF row from Now).",
            "IRR: Excel's IRR of the flows, then Newton steps onto the flows' times (a no-op "
            "with end timing); annualised. MIRR on the same times. An error value here (n/a "
            "on the Cover and Scenarios): none exists.",
            "Payback: years until the cumulative incremental FCF has recovered every earlier "
            "outflow, flows accruing evenly within each period; 0 when it never falls below "
            "zero; a later dip does not undo it. An error value here (never on the Cover "
            "and Scenarios): not within the horizon.",
            "Peak funding: the deepest point of the cumulative incremental FCF (the J-curve).",
            "eNPV: discounted FCF weighted by the probability of passing each gate before it.",
            "Terminal value: from a steady-state year after the horizon (its own block on "
            "Calculations); without one, working capital is released in the last period.",
        ]
        ws[f"A{row}"].value = "How these are computed"
        ws[f"A{row}"].font = SECTION_FONT
        for note in notes:
            row += 1
            ws[f"A{row}"].value = note
            ws[f"A{row}"].alignment = Alignment(wrap_text=True, vertical="top")
            ws.merge_cells(f"A{row}:C{row}")
            ws.row_dimensions[row].height = 15 * (1 + len(note) // 95)  # lines of ~95
        ws.print_area = f"A1:C{row}"
        self.landscape(ws)
        ws.page_setup.orientation = "portrait"

    def write_scenarios(self):
        calc = self.scenario_calc_ws
        calc["A1"].value = "The model once per scenario, so the Scenarios sheet is live"
        calc["A1"].font = TITLE_FONT
        top = 3
        self.scenario_blocks = {}
        for name in SCENARIOS:
            write_text(calc[f"A{top}"], "Scenario")
            write_text(calc[f"C{top}"], name)
            calc[f"C{top}"].font = Font(bold=True)
            block = self.write_block(calc, top + 1, scenario_cell=f"$C${top}")
            self.scenario_blocks[name] = block
            top = block.end + 3
        calc.column_dimensions["A"].width = 46
        calc.sheet_state = "hidden"

        ws, lay = self.scenarios_ws, SCENARIO_SHEET
        ws[lay.title].value = "Scenarios: Low, Base and High side by side (live)"
        ws[lay.title].font = TITLE_FONT
        ws.column_dimensions["A"].width = 62
        first, unit = lay.first_scenario_column, lay.first_scenario_column + len(SCENARIOS)
        for i in range(len(SCENARIOS)):
            ws.column_dimensions[X.column_letter(first + i)].width = 16
        row = lay.header_row
        ws[f"A{row}"].value = "Output"
        for i, name in enumerate(SCENARIOS):
            write_text(ws.cell(row=row, column=first + i), name)
        ws.cell(row=row, column=unit, value="Unit")
        ws.column_dimensions[X.column_letter(unit)].width = 9
        for c in ws[row][:unit]:
            c.font, c.fill = HEADER_FONT, HEADER_FILL
        # The scenario names: the categories of this sheet's chart and the Cover's.
        self.scenario_names_ref = Reference(
            ws, min_col=first, max_col=unit - 1, min_row=row, max_row=row
        )
        row += 1
        self.scenario_npv_row = None
        for out in self.model.outputs:
            if not out.public:
                continue
            write_text(ws[f"A{row}"], out.label)
            for i, name in enumerate(SCENARIOS):
                cell = self.scenario_blocks[name].cells[out.result]
                missing = MISSING.get(out.name, "n/a")
                c = ws.cell(
                    row=row, column=first + i, value=f'=IFERROR(ScenarioCalcs!{cell},"{missing}")'
                )
                c.number_format = self.fmt(out.unit)
                c.alignment = Alignment(horizontal="right")
            write_text(ws.cell(row=row, column=unit), self.unit_label(out.unit))
            ws.cell(row=row, column=unit).alignment = Alignment(indent=1)
            if out.name == "NPV":
                self.scenario_npv_row = row
            row += 1
        row += 1
        ws[f"A{row}"].value = "Adjustments (change them on the Inputs sheet)"
        ws[f"A{row}"].font = SECTION_FONT
        row += 1
        for item in self.model.inputs:
            if item.section == "Scenarios":
                write_text(ws[f"A{row}"], item.label)
                ws[f"B{row}"].value = f"=In_{item.name}"
                ws[f"B{row}"].number_format = FORMATS["% change"]
                row += 1
        chart = BarChart()
        chart.title = "NPV by scenario"
        chart.y_axis.title = self.money
        chart.y_axis.numFmt = self.money_format
        npv = self.scenario_npv_row
        data = Reference(ws, min_col=first, max_col=unit - 1, min_row=npv, max_row=npv)
        chart.add_data(data, from_rows=True, titles_from_data=False)
        chart.set_categories(self.scenario_names_ref)
        chart.legend = None
        chart.x_axis.tickLblPos = "low"
        chart.height, chart.width = 7, 12
        self.scenario_chart_ref = data
        ws.add_chart(chart, lay.chart)
        ws.print_area = f"A1:M{row}"
        self.landscape(ws)

    def write_sensitivity(self):
        ws, lay = self.sensitivity_ws, SENSITIVITY
        ws[lay.title].value = "Sensitivity: one-way tornado of NPV"
        ws[lay.title].font = TITLE_FONT
        stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        ws[lay.note].value = (
            f"Snapshot computed by the bizcase engine when the workbook was "
            f"generated ({stamp}), Base scenario, each driver moved alone by "
            f"its Low/High scenario adjustment (or -/+20% where none is set). "
            f"Not live: the Checks sheet says when an input has changed since; press "
            f"the Sensitivity button (or regenerate) to refresh it."
        )
        ws[lay.note].alignment = Alignment(wrap_text=True, vertical="top")
        ws.merge_cells(lay.note_merge)
        ws.row_dimensions[position(lay.note)[0]].height = 45
        rows = self.tornado_bars = tornado(self.model, drivers=tornado_drivers(self.model))
        self.write_snapshot_inputs()
        for i, h in enumerate(lay.columns):
            c = ws.cell(row=lay.header_row, column=1 + i, value=h)
            c.font, c.fill = HEADER_FONT, HEADER_FILL
        base = self.base_npv
        ws[lay.base_label].value = "Base NPV"
        ws[lay.base_label].font = Font(bold=True)
        ws[lay.base_npv].value = base
        ws[lay.base_npv].number_format = self.money_format
        write_text(ws[lay.base_unit], f"{self.money}; every amount below in {self.money}")
        ws[lay.base_npv].font = Font(bold=True)
        changes = (lay.columns.index("Low setting") + 1, lay.columns.index("High setting") + 1)
        for r, item in enumerate(rows, start=lay.first_row):
            for col, value in enumerate(lay.row(item, base), start=1):
                c = ws.cell(row=r, column=col, value=value)
                c.fill = SNAPSHOT_FILL
                c.number_format = "+0%;-0%;0%" if col in changes else self.money_format
        first, last = lay.first_row, lay.first_row + len(rows) - 1
        chart = BarChart()
        chart.type = "bar"
        chart.grouping = "clustered"
        chart.overlap = 100
        chart.title = f"NPV change from Base, one driver at a time ({self.money})"
        chart.x_axis.title = None
        chart.y_axis.numFmt = self.money_format
        for name in ("Change at low", "Change at high"):
            chart.add_data(
                Reference(ws, min_col=lay.columns.index(name) + 1, min_row=first, max_row=last),
                titles_from_data=False,
            )
        chart.series[0].tx = SeriesLabel(v="Low setting")
        chart.series[1].tx = SeriesLabel(v="High setting")
        chart.set_categories(Reference(ws, min_col=1, min_row=first, max_row=last))
        chart.x_axis.scaling.orientation = "maxMin"
        chart.x_axis.tickLblPos = "low"  # driver names left of the bars, not across them
        chart.height, chart.width = 8, 16
        self.tornado_refs = (ws, last)
        ws.add_chart(chart, f"A{last + 2}")
        ws.column_dimensions["A"].width = 34
        for col in "BCDEFGH":
            ws.column_dimensions[col].width = 15
        ws.print_area = f"A1:H{last + 20}"
        self.landscape(ws)

    def write_snapshot_inputs(self):
        """A copy of the inputs the tornado was computed from, for the staleness check.

        The scenario selector is left out: the tornado is always at Base.
        """
        meta = self.meta_ws
        inputs = self.inputs_ws
        first, last = self.scenario_row + 1, self.last_scalar_row
        meta[META.snapshot_heading].value = "sensitivity snapshot: inputs it was computed from"
        top, B = META.snapshot_top, INPUTS.value
        for i, r in enumerate(range(first, last + 1)):
            meta[f"B{top + i}"].value = inputs[f"{B}{r}"].value
        self.define("Snap_Inputs", f"{INPUTS.sheet}!${B}${first}:${B}${last}")
        self.define("Snap_InputsAtSnapshot", f"{META.sheet}!$B${top}:$B${top + last - first}")
        s1, s2 = self.series_rows
        top2 = top + last - first + 2
        for i, r in enumerate(range(s1, s2 + 1)):
            for p in range(self.n + 1):
                col = self.col(p)
                meta[f"{col}{top2 + i}"].value = inputs[f"{col}{r}"].value
        self.define("Snap_Series", f"{INPUTS.sheet}!${self.col(0)}${s1}:${self.last_col}${s2}")
        self.define(
            "Snap_SeriesAtSnapshot",
            f"{META.sheet}!${self.col(0)}${top2}:${self.last_col}${top2 + s2 - s1}",
        )

    def write_kpis(self):
        ws, lay = self.kpi_ws, KPIS
        ws[lay.title].value = "KPIs: targets by year, with room for actuals"
        ws[lay.title].font = TITLE_FONT
        ws[lay.note].value = (
            "Targets follow the selected scenario. Enter actuals in the yellow "
            "cells; variance = actual - target."
        )
        ws[lay.note].alignment = Alignment(wrap_text=True, vertical="top")
        ws.merge_cells(f"{lay.note}:H{position(lay.note)[0]}")
        ws.row_dimensions[position(lay.note)[0]].height = 30
        years = list(
            range(self.spec.meta.start_year, self.spec.meta.start_year + self.spec.meta.horizon)
        )
        top, first = lay.header_row, lay.first_year_column
        ws.cell(row=top, column=lay.label_column, value="KPI")
        ws.cell(row=top, column=lay.kind_column, value="Row")
        ws.cell(row=top, column=first, value="=In_StartYear")
        for j in range(1, len(years)):
            ws.cell(row=top, column=first + j, value=f"={X.column_letter(first + j - 1)}{top}+1")
        for c in ws[top][: first - 1 + len(years)]:
            c.font, c.fill = HEADER_FONT, HEADER_FILL
        year_row = self.main.rows["year"][1]
        calc = CALCULATIONS.sheet
        year_range = f"{calc}!${self.col(1)}${year_row}:${self.last_col}${year_row}"
        row = lay.first_row
        for name, line, unit in lay.kpis:
            label = f"{name} ({'units' if unit == 'units' else self.money})"
            line_row = self.main.rows[line][1]
            line_range = f"{calc}!${self.col(1)}${line_row}:${self.last_col}${line_row}"
            for kind in (lay.target, lay.actual, lay.variance):  # the order the variance reads
                ws.cell(
                    row=row, column=lay.label_column, value=label if kind == lay.target else None
                )
                ws.cell(row=row, column=lay.kind_column, value=kind)
                for j in range(len(years)):
                    col = X.column_letter(first + j)
                    c = ws[f"{col}{row}"]
                    if kind == lay.target:
                        c.value = f"=SUMIF({year_range},{col}${top},{line_range})"
                    elif kind == lay.actual:
                        c.value = self.actuals.get(f"{col}{row}")
                        c.fill, c.font = INPUT_FILL, INPUT_FONT
                        c.protection = Protection(locked=False)
                    else:
                        c.value = f'=IF({col}{row - 1}="","",{col}{row - 1}-{col}{row - 2})'
                    c.number_format = self.fmt(unit)
                row += 1
            row += 1
        ws.column_dimensions["A"].width = 26
        ws.column_dimensions["B"].width = 10
        for j in range(len(years)):  # wide enough for -99,999,999
            ws.column_dimensions[X.column_letter(first + j)].width = 13
        ws.freeze_panes = at(lay.first_row, first)
        ws.print_area = f"A1:{X.column_letter(first - 1 + len(years))}{row}"
        ws.print_title_rows = f"{top}:{top}"
        self.landscape(ws)

    def write_checks(self):
        """The model's checks (:class:`udfs.model.Check`), one row each: the figure as the
        model gives it, the same figure by another route, their difference and the
        verdict, every cell rendered from the check's expressions."""
        ws = self.checks_ws
        ws["A1"].value = "Checks"
        ws["A1"].font = TITLE_FONT
        ws.column_dimensions["A"].width = 80
        for col, width in (("B", 12), ("C", 16), ("D", 16), ("E", 14)):
            ws.column_dimensions[col].width = width
        ctx = self.checks_context()
        headers = ("Check", "OK?", "Model", "Another route", "Difference")
        for col, text in zip("ABCDE", headers, strict=True):
            ws[f"{col}3"].value = text
            ws[f"{col}3"].font, ws[f"{col}3"].fill = HEADER_FONT, HEADER_FILL
        checks = [c for c in self.model.checks if not c.warning]
        warnings = [c for c in self.model.checks if c.warning]
        first = 4
        for row, check in enumerate(checks, start=first):
            self.write_check(ws, ctx, check, row)
        row = first + len(checks) + 1
        ws[f"A{row}"].value = "Master check (every check above passes)"
        ws[f"A{row}"].font = Font(bold=True)
        ws[f"B{row}"].value = f"=IF(ISERROR(MIN(B{first}:B{row - 2})),0,MIN(B{first}:B{row - 2}))"
        ws[f"B{row}"].number_format = '"OK";;"FAIL"'
        ws[f"B{row}"].font = Font(bold=True)
        self.define("Check_Master", f"Checks!$B${row}")
        row += 2
        ws[f"A{row}"].value = "Warnings (judgement, not errors; not part of the master check)"
        ws[f"A{row}"].font = SECTION_FONT
        for check in warnings:
            row += 1
            self.write_check(ws, ctx, check, row, verdict_format='"OK";;"FLAG"')
            self.define(f"Check_{check.name}", f"Checks!$B${row}")
        ws[
            f"A{row + 2}"
        ].value = "Equality checks allow a difference of In_CheckTolerance (Inputs)."
        ws.print_area = f"A1:E{row + 2}"
        self.landscape(ws)

    def checks_context(self) -> X.Context:
        """Where the Checks sheet finds what the checks read: the Calculations block,
        the outputs by their defined names, the scenario copies, the snapshot names."""
        main = self.main
        ctx = self.context(Block("Checks", ""))
        ctx.rows.update({name: ("Calculations!", row) for name, (_, row) in main.rows.items()})
        ctx.cells.update({key: f"Calculations!{cell}" for key, cell in main.cells.items()})
        for out in self.model.outputs:
            ctx.cells[out.result] = f"Out_{out.name}" if out.public else f"Calc_{out.name}"
            for name, block in self.scenario_blocks.items():
                ctx.cells[X.Result(out.name, name)] = f"ScenarioCalcs!{block.cells[out.result]}"
        for pair in SNAPSHOT_PAIRS:
            ctx.cells.update({name: name for name in pair})
        return ctx

    def write_check(self, ws, ctx, check: Check, row: int, verdict_format='"OK";;"FAIL"') -> None:
        """One check on ``row``: its parts in C (model), D (other route), E (difference)
        and the verdict in B, each part read by the parts after it through its cell."""
        columns = {"value": "C", "other": "D", "difference": "E", "ok": "B"}
        write_text(ws[f"A{row}"], check.label)
        ws[f"A{row}"].alignment = Alignment(wrap_text=True, vertical="top")
        for which, expression in check.parts():
            cell = ws[f"{columns[which]}{row}"]
            ctx.cells[Check.part(check.name, which)] = cell.coordinate
            cell.value = "=" + expression.excel(ctx)
            cell.number_format = verdict_format if which == "ok" else self.fmt(check.unit)

    def write_cover(self):
        ws = self.cover
        meta = self.spec.meta
        ws.column_dimensions["A"].width = 28
        ws.column_dimensions["B"].width = 22
        ws.column_dimensions["C"].width = 8
        for col in "DEFGHIJK":
            ws.column_dimensions[col].width = 11
        lay = COVER
        write_text(ws[lay.title], meta.name)
        ws[lay.title].font = TITLE_FONT
        write_text(ws[lay.subtitle], f"{meta.product_line} · {meta.owner} · stage: {meta.stage}")
        ws[lay.decision_heading].value = "Decision asked for"
        ws[lay.decision_heading].font = SECTION_FONT
        write_text(ws[lay.decision], meta.decision or "(none stated in the spec)")
        ws[lay.decision].alignment = Alignment(wrap_text=True, vertical="top")
        ws.merge_cells(lay.decision_merge)
        ws.row_dimensions[position(lay.decision)[0]].height = 32
        if meta.notes:
            write_text(ws[lay.notes], meta.notes)
            ws[lay.notes].font = Font(italic=True, color="595959")
        # The amounts under the typed decision come from the model, so they cannot drift.
        ws[lay.amounts].value = self.decision_amounts()
        ws[lay.amounts].font = Font(bold=True, color="1F3864")
        ws.merge_cells(lay.amounts_merge)
        ws[lay.scenario_label].value = "Scenario shown"
        ws[lay.scenario].value = "=In_Scenario"
        ws[lay.scenario].font = Font(bold=True)
        ws[lay.headline_heading].value = "Headline"
        ws[lay.unit_heading].value = "Unit"
        ws[lay.unit_heading].font = Font(italic=True, color="595959")
        ws[lay.headline_heading].font = SECTION_FONT
        units = {o.name: o.unit for o in self.model.outputs}
        for label, name in lay.headline:
            r = lay.headline_row(name)
            ws[f"A{r}"].value = label
            # A result that does not exist reads as words on the Cover, not an error code.
            missing = MISSING.get(name, "n/a")
            ws[f"B{r}"].value = f'=IFERROR(Out_{name},"{missing}")'
            ws[f"B{r}"].alignment = Alignment(horizontal="right")
            ws[f"B{r}"].number_format = self.fmt(units[name])
            ws[f"B{r}"].font = Font(bold=True, size=12)
            unit = self.unit_label(units[name])
            write_text(ws[f"C{r}"], "" if unit in ("%", "year") else unit)
            ws[f"C{r}"].alignment = Alignment(indent=1)
        r = lay.checks_row
        ws[f"A{r}"].value = "Model checks"
        ws[f"B{r}"].value = '=IF(Check_Master=1,"All pass","CHECK FAILED")'
        ws[f"B{r}"].font = Font(bold=True)
        ws[f"A{r + 1}"].value = "Terminal value"
        ws[f"B{r + 1}"].value = (
            '=IF(Check_TerminalValueShare=1,"Within limit",'
            '"Over "&TEXT(In_TVShareLimit,"0%")&" of NPV")'
        )
        write_text(
            ws[f"A{r + 2}"],
            f"Currency {meta.currency}; {meta.horizon} years from "
            f"{meta.start_year}, {meta.periods}.",
        )
        ws[f"A{r + 2}"].font = Font(italic=True, color="595959")
        ws[f"A{r + 3}"].value = (
            '="Valuation date (t = 0): 1 January "&In_StartYear&"; now (period 0) is '
            'undiscounted, the years after it from the "&IF(In_Timing="Mid","middle","end")'
            '&" of each period."'
        )
        ws[f"A{r + 3}"].font = Font(italic=True, color="595959")
        self.cover_charts(ws)
        ws.print_area = lay.print_area
        self.landscape(ws)

    def decision_amounts(self) -> str:
        """A formula stating the amounts the decision commits, read from the model, so the
        Cover cannot drift from it (typed text beside it can)."""
        rows = self.main.rows
        money = {"units": '"#,##0"', "thousands": '"#,##0,"', "millions": '"#,##0.0,,"'}[
            self.spec.meta.units
        ]

        def total(name: str) -> str:
            row = rows[name][1]
            return f"-SUM(Calculations!${self.col(0)}${row}:${self.last_col}${row})"

        unit = self.money.replace('"', '""')  # text inside an Excel string literal
        return (
            f'="In the model ("&In_Scenario&"): capex {unit} "&TEXT({total("capex")},{money})'
            f'&", development {unit} "&TEXT({total("development")},{money})'
            f'&"; peak funding {unit} "&TEXT(Out_PeakFunding,{money})&"."'
        )

    def cover_charts(self, ws):
        calc = self.calc_ws
        rows = self.main.rows
        cats = Reference(
            calc,
            min_col=FIRST_PERIOD_COLUMN,
            max_col=FIRST_PERIOD_COLUMN + self.n,
            min_row=CALCULATIONS.header_row,
        )
        jcurve = LineChart()
        jcurve.title = "Cumulative cash flow before terminal value"
        jcurve.add_data(
            Reference(
                calc,
                min_col=FIRST_PERIOD_COLUMN,
                max_col=FIRST_PERIOD_COLUMN + self.n,
                min_row=rows["cum_operating_fcf"][1],
            ),
            from_rows=True,
            titles_from_data=False,
        )
        jcurve.set_categories(cats)
        jcurve.legend = None
        jcurve.x_axis.tickLblPos = "low"  # year labels below the plot, not across negatives
        jcurve.x_axis.tickLblSkip = 1 + self.n // 8  # every other year on long timelines
        jcurve.y_axis.numFmt = self.money_format
        jcurve.title = f"Cumulative cash flow before terminal value ({self.money})"
        jcurve.height, jcurve.width = 6.5, 12
        ws.add_chart(jcurve, COVER.jcurve_chart)
        pnl = BarChart()
        pnl.title = "Revenue and EBITDA"
        for name in ("revenue", "ebitda"):
            pnl.add_data(
                Reference(
                    calc,
                    min_col=FIRST_PERIOD_COLUMN,
                    max_col=FIRST_PERIOD_COLUMN + self.n,
                    min_row=rows[name][1],
                ),
                from_rows=True,
                titles_from_data=False,
            )
        pnl.series[0].tx = SeriesLabel(v="Revenue")
        pnl.series[1].tx = SeriesLabel(v="EBITDA")
        pnl.set_categories(cats)
        pnl.x_axis.tickLblPos = "low"
        pnl.y_axis.numFmt = self.money_format
        pnl.title = f"Revenue and EBITDA ({self.money})"
        pnl.height, pnl.width = 6.5, 12
        ws.add_chart(pnl, COVER.pnl_chart)
        scen = BarChart()
        scen.title = "NPV by scenario"
        scen.add_data(self.scenario_chart_ref, from_rows=True, titles_from_data=False)
        scen.set_categories(self.scenario_names_ref)
        scen.legend = None
        scen.x_axis.tickLblPos = "low"
        scen.y_axis.numFmt = self.money_format
        scen.title = f"NPV by scenario ({self.money})"
        scen.height, scen.width = 6.5, 9
        ws.add_chart(scen, COVER.scenario_chart)

    def write_meta(self):
        ws = self.meta_ws
        for key, value in (
            ("template_version", TEMPLATE_VERSION),
            ("bizcase_version", _version()),
            ("generated_at", dt.datetime.now(dt.UTC).isoformat(timespec="seconds")),
        ):
            row, column = position(getattr(META, key))
            ws[f"{META.labels}{row}"].value = key
            ws.cell(row=row, column=column, value=value)
        row, column = position(META.spec)
        ws[f"{META.labels}{row}"].value = f"spec_json (concatenate {META.spec} onwards)"
        text = json.dumps(self.spec.model_dump(mode="json"), separators=(",", ":"))
        for i in range(0, max(len(text), 1), SPEC_CHUNK):
            write_text(ws.cell(row=row, column=column + i // SPEC_CHUNK), text[i : i + SPEC_CHUNK])
        ws.sheet_state = "hidden"

    def protect(self):
        # Cells the buttons rewrite stay unlocked: the Sensitivity snapshot (note, base
        # NPV, table) and the Cover's message cell, where the rebuild button reports.
        self.cover[COVER.message].protection = Protection(locked=False)
        sensitivity = self.sensitivity_ws
        for ref in (SENSITIVITY.note, SENSITIVITY.base_npv):
            sensitivity[ref].protection = Protection(locked=False)
        if self.tornado_bars:
            for row in sensitivity[SENSITIVITY.table_range(len(self.tornado_bars))]:
                for cell in row:
                    cell.protection = Protection(locked=False)
        for ws in self.wb.worksheets:
            if ws.title == "_bizcase":
                continue
            ws.protection.sheet = True  # no password: a guard against slips, not a lock


def _input_value(value, item: Input):
    if item.kind == "series":
        return tuple(float(v) for v in value)
    return value if item.kind == "text" else float(value)


def _version() -> str:
    try:
        return metadata.version("bizcase")
    except metadata.PackageNotFoundError:
        return "unknown"


def build_workbook(spec: Spec, values: dict | None = None, actuals: dict | None = None) -> Workbook:
    """The business-case workbook for ``spec``, in memory; ``values`` override inputs and
    ``actuals`` fill KPI actual cells (both as an upgrade carries them over)."""
    return BusinessCaseWriter(spec, values, actuals).build()


def write_business_case(
    spec: Spec,
    path: str | Path,
    overwrite: bool = False,
    values: dict | None = None,
    actuals: dict | None = None,
) -> Path:
    """Generate the workbook and write it atomically; refuse to replace a file unless asked."""
    path = Path(path)
    if path.exists() and not overwrite:  # before the work of building it
        raise BizcaseError(f"{path}: already exists; pass --force to overwrite it")
    return save_atomically(
        build_workbook(spec, values, actuals),
        path,
        overwrite,
        finish=lambda saved: add_buttons(saved, buttons_of("case")),
    )
