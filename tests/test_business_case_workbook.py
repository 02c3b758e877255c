"""The generated business-case workbook's structure: sheets, defined names,
input styling and validation, protection, page set-up, charts and the hidden
``_bizcase`` record (DESIGN.md "Business-case workbook", issue 3).

The numbers themselves are checked against LibreOffice elsewhere; here the
workbook is written to disk and read back, as a user's Excel would open it.
"""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest
from openpyxl.utils import get_column_letter, range_boundaries

from udfs.model import NOW_INPUTS, build_model, evaluate
from udfs.sensitivity import tornado
from udfs.spec import SCENARIOS, parse_spec
from workbooks.business_case import (
    FIRST_PERIOD_COLUMN,
    INPUT_FILL,
    TEMPLATE_VERSION,
    build_workbook,
    write_business_case,
)
from workbooks.examples import EXAMPLES, example_spec
from workbooks.reader import read_business_case

SHEETS = ["Cover", "Inputs", "Calculations", "Valuation", "Scenarios", "Sensitivity", "KPIs"]
SHEETS += ["Checks"]
REQUIRED_OUTPUTS = (
    "NPV",
    "IRR",
    "MIRR",
    "Payback",
    "DiscountedPayback",
    "ROI",
    "PI",
    "PeakFunding",
    "eNPV",
)
CALCULATION_SHEETS = ("Calculations", "Valuation", "Scenarios", "Sensitivity", "KPIs", "Checks")


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("workbooks")


@pytest.fixture(scope="module", params=list(EXAMPLES))
def case(request, folder):
    """(spec, workbook path, workbook read back with formulas) for each example."""
    spec = example_spec(request.param)
    path = write_business_case(spec, folder / f"{request.param}.xlsx")
    return spec, path, openpyxl.load_workbook(path)


def destinations(wb, name: str) -> list[tuple[str, str]]:
    return [(sheet, ref.replace("$", "")) for sheet, ref in wb.defined_names[name].destinations]


def single_cell(wb, name: str):
    ((sheet, ref),) = destinations(wb, name)
    assert ":" not in ref, f"{name} refers to a range {ref}"
    return wb[sheet][ref]


def validations_for(ws, coordinate: str) -> list:
    return [dv for dv in ws.data_validations.dataValidation if coordinate in dv.sqref]


def chart_title(chart) -> str:
    return "".join(run.t for p in chart.title.tx.rich.p for run in (p.r or []))


def series_refs(chart) -> list[str]:
    return [s.val.numRef.f for s in chart.series]


def ref_cells(wb, ref: str):
    """The cells of a chart reference such as 'Calculations'!$E$90:$K$90."""
    sheet, cells = ref.rsplit("!", 1)
    got = wb[sheet.strip("'")][cells.replace("$", "")]
    if not isinstance(got, tuple):
        return [got]
    return [c for row in got for c in (row if isinstance(row, tuple) else (row,))]


# --- sheets and the hidden record -------------------------------------------------------


def test_sheets_are_the_standard_ones_in_order(case):
    _, _, wb = case
    visible = [ws.title for ws in wb.worksheets if ws.sheet_state == "visible"]
    assert visible == SHEETS
    assert wb["_bizcase"].sheet_state in ("hidden", "veryHidden")


def test_bizcase_sheet_records_the_template_version(case):
    _, _, wb = case
    assert wb["_bizcase"]["B1"].value == TEMPLATE_VERSION


def test_bizcase_sheet_spec_json_round_trips_to_the_same_spec(case):
    spec, _, wb = case
    text = "".join(str(c.value or "") for c in wb["_bizcase"][4][1:])
    assert parse_spec(json.loads(text)) == spec


def test_long_spec_json_is_split_across_cells_and_still_round_trips(folder):
    data = example_spec("analytics_addon").model_dump(mode="json")
    data["costs"]["fixed"] = [
        {"name": f"Programme {i}: " + "x" * 480, "amount": 1000.0 * i} for i in range(80)
    ]
    spec = parse_spec(data)
    path = write_business_case(spec, folder / "long.xlsx")
    wb = openpyxl.load_workbook(path)
    cells = [c.value for c in wb["_bizcase"][4][1:] if c.value]
    assert len(cells) >= 2
    assert all(len(v) <= 32767 for v in cells)  # Excel's limit per cell
    assert parse_spec(json.loads("".join(cells))) == spec
    assert read_business_case(path).model.spec == spec


# --- defined names ---------------------------------------------------------------------


def test_required_outputs_are_workbook_level_names_on_the_valuation_sheet(case):
    _, _, wb = case
    for name in REQUIRED_OUTPUTS:
        assert f"Out_{name}" in wb.defined_names, name
        assert single_cell(wb, f"Out_{name}").parent.title == "Valuation"
    for ws in wb.worksheets:
        assert not any(n.startswith(("Out_", "In_")) for n in ws.defined_names), ws.title


def test_every_output_name_points_at_a_formula(case):
    _, _, wb = case
    outs = [n for n in wb.defined_names if n.startswith("Out_")]
    assert {"BreakEvenYear", "TerminalValueShare"} <= {n[4:] for n in outs}
    for name in outs:
        value = single_cell(wb, name).value
        assert isinstance(value, str) and value.startswith("="), name


def test_every_model_input_has_an_in_name_on_the_inputs_sheet(case):
    spec, _, wb = case
    model = build_model(spec)
    for item in model.inputs:
        name = f"In_{item.name}"
        assert name in wb.defined_names, name
        ((sheet, ref),) = destinations(wb, name)
        assert sheet == "Inputs", name
        if item.kind == "series":
            min_col, min_row, max_col, max_row = range_boundaries(ref)
            assert (min_row, max_row) == (min_row, min_row), name
            assert max_col - min_col + 1 == model.periods, name
            # aligned with Calculations, whose first column is period 0 (now)
            assert min_col == FIRST_PERIOD_COLUMN + 1, name
            if item.name in NOW_INPUTS:  # its period-0 input sits just before it
                now = destinations(wb, f"In_{NOW_INPUTS[item.name][0]}")
                assert now == [("Inputs", f"{get_column_letter(FIRST_PERIOD_COLUMN)}{min_row}")]


def test_input_cells_hold_the_spec_values(case):
    spec, _, wb = case
    for item in build_model(spec).inputs:
        ((sheet, ref),) = destinations(wb, f"In_{item.name}")
        got = wb[sheet][ref]
        if item.kind == "series":
            assert [c.value for row in got for c in row] == pytest.approx(list(item.value))
        elif item.kind == "text":
            assert got.value == item.value
        else:
            assert got.value == pytest.approx(float(item.value)), item.name


def test_scenario_selector_has_a_low_base_high_list_validation(case):
    _, _, wb = case
    cell = single_cell(wb, "In_Scenario")
    assert cell.value == "Base"
    (dv,) = validations_for(cell.parent, cell.coordinate)
    assert dv.type == "list"
    assert dv.formula1.strip('"').split(",") == list(SCENARIOS)
    assert dv.showErrorMessage


# --- inputs: styling, protection, validation ------------------------------------------


def test_input_cells_are_unlocked_and_styled_as_inputs(case):
    _, _, wb = case
    for name in (n for n in wb.defined_names if n.startswith("In_")):
        for sheet, ref in destinations(wb, name):
            got = wb[sheet][ref]
            cells = [c for row in got for c in row] if isinstance(got, tuple) else [got]
            for c in cells:
                assert c.protection.locked is False, f"{name} {c.coordinate}"
                assert c.fill.fgColor.rgb == INPUT_FILL.fgColor.rgb, f"{name} {c.coordinate}"


def test_calculation_cells_are_locked_and_not_styled_as_inputs(case):
    _, _, wb = case
    ws = wb["Calculations"]
    formulas = [c for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    formulas = [c for c in formulas if c.value.startswith("=")]
    assert formulas
    for c in formulas:
        assert c.protection.locked is not False, c.coordinate
        assert c.fill.fgColor.rgb != INPUT_FILL.fgColor.rgb, c.coordinate


def test_scalar_inputs_have_a_unit_beside_them(case):
    spec, _, wb = case
    for item in build_model(spec).inputs:
        if item.kind == "series":
            continue
        cell = single_cell(wb, f"In_{item.name}")
        # a period-0 input's unit is its series row's, in column B
        column = 2 if item.kind == "now" else cell.column + 1
        unit = cell.parent.cell(row=cell.row, column=column).value
        assert unit, item.name


def test_numeric_inputs_are_validated(case):
    spec, _, wb = case
    for item in build_model(spec).inputs:
        if item.kind != "scalar" or (item.minimum is None and item.maximum is None):
            continue
        cell = single_cell(wb, f"In_{item.name}")
        assert validations_for(cell.parent, cell.coordinate), item.name


def test_input_validation_accepts_the_value_the_spec_gave(case):
    # A spec value the validator refuses locks the user out of re-entering it.
    _, _, wb = case
    ws = wb["Inputs"]
    names = {ref: n for n in wb.defined_names for _, ref in destinations(wb, n)}
    refused = []
    for dv in ws.data_validations.dataValidation:
        if dv.type not in ("decimal", "whole") or dv.operator != "between":
            continue
        low, high = float(dv.formula1), float(dv.formula2)
        for rng in dv.sqref.ranges:
            for row in ws[rng.coord] if ":" in rng.coord else ((ws[rng.coord],),):
                for c in row:
                    if not low <= c.value <= high:
                        refused.append(
                            f"{names.get(c.coordinate)}={c.value} not in [{low}, {high}]"
                        )
    assert refused == []


def test_sheets_are_protected_without_a_password(case):
    _, _, wb = case
    for title in (*CALCULATION_SHEETS, "Cover", "Inputs"):
        protection = wb[title].protection
        assert protection.sheet, title
        assert not protection.password, title


# --- page set-up ----------------------------------------------------------------------


def test_freeze_panes_keep_labels_and_headers_in_view(case):
    _, _, wb = case
    first_period = get_column_letter(FIRST_PERIOD_COLUMN)
    assert wb["Calculations"].freeze_panes == f"{first_period}4"
    assert wb["Calculations"][f"{first_period}3"].value.startswith("=")  # period header
    assert wb["Inputs"].freeze_panes is not None
    assert wb["KPIs"].freeze_panes is not None


@pytest.mark.parametrize("title", ["Cover", "Valuation"])
def test_cover_and_valuation_fit_one_page(case, title):
    _, _, wb = case
    ws = wb[title]
    assert ws.print_area
    assert ws.sheet_properties.pageSetUpPr.fitToPage
    assert (ws.page_setup.fitToWidth, ws.page_setup.fitToHeight) == (1, 1)


@pytest.mark.parametrize(
    "title", ["Cover", "Inputs", "Calculations", "Valuation", "Scenarios", "Sensitivity"]
)
def test_print_area_covers_the_content_and_charts(case, title):
    _, _, wb = case
    ws = wb[title]
    assert ws.print_area, title
    (area,) = ws.print_area.split(",")
    min_col, min_row, max_col, max_row = range_boundaries(area.split("!")[1].replace("$", ""))
    assert (min_col, min_row) == (1, 1)
    outside = [
        c.coordinate
        for row in ws.iter_rows()
        for c in row
        if c.value is not None and (c.column > max_col or c.row > max_row)
    ]
    assert outside == [], f"{area} leaves out {outside[:5]} ({len(outside)} cells)"
    for chart in ws._charts:
        anchor = chart.anchor._from
        assert anchor.col + 1 <= max_col and anchor.row + 1 <= max_row


# --- charts ---------------------------------------------------------------------------


def test_cover_has_the_j_curve_the_revenue_ebitda_and_the_scenario_npv_charts(case):
    _, _, wb = case
    charts = wb["Cover"]._charts
    assert len(charts) == 3

    def row_labels(chart):
        cells = [ref_cells(wb, f)[0] for f in series_refs(chart)]
        return [(c.parent.title, c.parent.cell(row=c.row, column=1).value) for c in cells]

    (jcurve,) = [c for c in charts if c.tagname == "lineChart"]
    ((sheet, label),) = row_labels(jcurve)
    assert sheet == "Calculations" and label.startswith("Cumulative incremental FCF")
    assert "J-curve" in label or "J-curve" in chart_title(jcurve)
    (pnl,) = [c for c in charts if row_labels(c)[0][0] == "Calculations" and c is not jcurve]
    assert [label for _, label in row_labels(pnl)] == ["Revenue", "EBITDA"]
    (scen,) = [c for c in charts if row_labels(c)[0][0] == "Scenarios"]
    (npv_ref,) = series_refs(scen)
    cells = ref_cells(wb, npv_ref)
    ws = cells[0].parent
    assert ws.cell(row=cells[0].row, column=1).value == "Net present value"
    assert [ws.cell(row=3, column=c.column).value for c in cells] == list(SCENARIOS)


def test_cover_chart_series_span_the_whole_timeline(case):
    spec, _, wb = case
    periods = build_model(spec).periods
    for chart in wb["Cover"]._charts:
        for ref in series_refs(chart):
            cells = ref_cells(wb, ref)
            if cells[0].parent.title == "Calculations":
                assert len(cells) == periods + 1, ref  # period 0 (now) included


def test_sensitivity_has_a_tornado_chart(case):
    _, _, wb = case
    (chart,) = wb["Sensitivity"]._charts
    assert chart.tagname == "barChart" and chart.type == "bar"  # horizontal bars
    assert len(chart.series) == 2


def test_tornado_bars_plot_the_npv_changes_at_low_and_high(case):
    _, _, wb = case
    ws = wb["Sensitivity"]
    (chart,) = ws._charts
    plotted = []
    for ref in series_refs(chart):
        cells = ref_cells(wb, ref)
        headers = {ws.cell(row=4, column=c.column).value for c in cells}
        assert len(headers) == 1, ref
        plotted.append(headers.pop())
        assert all(isinstance(c.value, (int, float)) for c in cells), ref
    assert plotted == ["Change at low", "Change at high"]


def test_sensitivity_is_labelled_as_an_engine_snapshot_and_matches_the_engine(case):
    spec, _, wb = case
    ws = wb["Sensitivity"]
    note = ws["A2"].value
    assert "engine" in note and "snapshot" in note.lower() and "not live" in note.lower()
    model = build_model(spec)
    bars = tornado(model)
    assert ws["D3"].value == pytest.approx(evaluate(model, scenario="Base").outputs["NPV"])
    for r, bar in enumerate(bars, start=5):
        row = [ws.cell(row=r, column=c).value for c in range(1, 7)]
        assert row[0] == bar.label
        assert row[1:] == pytest.approx(
            [bar.low_change, bar.high_change, bar.npv_low, bar.npv_high, bar.swing]
        )
    assert ws.cell(row=5 + len(bars), column=1).value is None


def test_charts_are_stored_in_the_file(case):
    _, path, _ = case
    with zipfile.ZipFile(path) as z:
        charts = [n for n in z.namelist() if re.fullmatch(r"xl/charts/chart\d+\.xml", n)]
    assert len(charts) == 5  # Cover 3, Scenarios 1, Sensitivity 1


# --- live sheets and checks -------------------------------------------------------------


def test_scenarios_sheet_shows_low_base_high_as_live_formulas(case):
    _, _, wb = case
    ws = wb["Scenarios"]
    assert [ws.cell(row=3, column=c).value for c in (2, 3, 4)] == list(SCENARIOS)
    npv_row = next(
        r for r in range(4, ws.max_row + 1) if ws.cell(r, 1).value == "Net present value"
    )
    for c in (2, 3, 4):  # a live formula on ScenarioCalcs (words where none exists)
        assert re.fullmatch(r'=IFERROR\(ScenarioCalcs!\$C\$\d+,"n/a"\)', ws.cell(npv_row, c).value)


def test_cover_shows_the_master_check_and_headline_outputs(case):
    _, _, wb = case
    formulas = [c.value for row in wb["Cover"].iter_rows() for c in row if isinstance(c.value, str)]
    assert any("Check_Master" in f for f in formulas)
    for name in ("NPV", "eNPV", "IRR", "Payback"):
        assert any(re.search(rf"\bOut_{name}\b", f) for f in formulas), name
    assert "Check_Master" in wb.defined_names
    assert single_cell(wb, "Check_Master").parent.title == "Checks"


def test_kpis_have_target_actual_and_variance_rows_by_year(case):
    spec, _, wb = case
    ws = wb["KPIs"]
    kinds = [ws.cell(row=r, column=2).value for r in range(5, 8)]
    assert kinds == ["Target", "Actual", "Variance"]
    years = spec.meta.horizon
    actual = [ws.cell(row=6, column=3 + j) for j in range(years)]
    assert all(c.value is None and c.protection.locked is False for c in actual)
    assert ws.cell(row=4, column=3).value == "=In_StartYear"


# --- text from the spec ----------------------------------------------------------------


def test_spec_text_that_looks_like_a_formula_is_written_as_text(folder):
    data = example_spec("analytics_addon").model_dump(mode="json")
    hostile = {
        "name": '=HYPERLINK("http://example.com","click")',
        "owner": "+44 20 7946 0000",
        "decision": "-cut the legacy line",
        "product_line": "@risk",
    }
    data["meta"].update(hostile)
    data["costs"]["fixed"][0]["name"] = "=1+1"
    data["costs"]["headcount"][0]["role"] = "@SUM(A1)"
    data["risk"]["gates"][0]["name"] = "+gate"
    spec = parse_spec(data)
    path = write_business_case(spec, folder / "hostile.xlsx")
    wb = openpyxl.load_workbook(path)
    texts = [*hostile.values(), "=1+1", "@SUM(A1)", "+gate"]
    strings = []
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                if not isinstance(c.value, str):
                    continue
                if c.data_type == "f":
                    assert not any(t in c.value for t in texts), f"{ws.title}!{c.coordinate}"
                else:
                    strings.append(c.value)
    assert wb["Cover"]["A1"].value == hostile["name"]
    assert wb["Cover"]["A5"].value == hostile["decision"]
    assert "=1+1" in strings
    assert any(s.startswith("@SUM(A1)") for s in strings)
    assert any(s.startswith("+gate") for s in strings)


# --- presentation: money units and the printed page ---------------------------------


def test_money_in_thousands_changes_number_formats_and_labels_only():
    """meta.units = "thousands": every formula is the same text as with "units" (the
    cells keep exact amounts); money cells get Excel's thousands format (a trailing
    comma divides the display by 1,000) and money labels say "EUR k"."""
    data = example_spec("analytics_addon").model_dump(mode="json")
    exact = build_workbook(parse_spec(data, "units.json"))
    data["meta"]["units"] = "thousands"
    scaled = build_workbook(parse_spec(data, "thousands.json"))
    for sheet in ("Calculations", "Valuation", "Scenarios", "KPIs", "Checks"):
        for a, b in zip(exact[sheet].iter_rows(), scaled[sheet].iter_rows(), strict=True):
            for x, y in zip(a, b, strict=True):
                if x.data_type == "f":
                    assert x.value == y.value, (sheet, x.coordinate)
    ws = scaled["Valuation"]
    npv_row = next(r for r in range(5, ws.max_row) if ws[f"A{r}"].value == "Net present value")
    assert ws[f"B{npv_row}"].number_format.startswith("#,##0,;")
    assert ws[f"C{npv_row}"].value == "EUR k"
    assert exact["Valuation"][f"C{npv_row}"].value == "EUR"
    rate_row = next(
        r for r in range(5, ws.max_row) if ws[f"A{r}"].value == "Internal rate of return"
    )
    assert ws[f"B{rate_row}"].number_format == "0.0%"


def test_every_printed_sheet_has_the_confidentiality_line_and_page_numbers():
    data = example_spec("hardware").model_dump(mode="json")
    data["meta"]["confidentiality"] = "Board only & auditors"
    wb = build_workbook(parse_spec(data, "spec.json"))
    visible = [ws for ws in wb.worksheets if ws.sheet_state == "visible"]
    assert len(visible) == 8
    for ws in visible:
        assert ws.oddFooter.left.text == "Board only && auditors"  # & starts a code
        assert ws.oddFooter.center.text == "Page &P of &N"
        assert ws.oddHeader.left.text == data["meta"]["name"]
    assert wb["Calculations"].print_title_rows == "$3:$3"


def test_a_spec_without_the_presentation_fields_still_validates():
    data = example_spec("saas").model_dump(mode="json")
    for key in ("units", "confidentiality"):
        del data["meta"][key]
    spec = parse_spec(data, "old.json")
    assert spec.meta.units == "units"
    assert spec.meta.confidentiality
