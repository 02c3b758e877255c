"""The sheet layouts (:mod:`workbooks.layout`) are where the writer puts things, and
where the readers and the buttons find them (issue 12, item 3).

A generated workbook is opened with openpyxl and each layout cell must hold what
the layout says it holds (a label, a formula naming the right defined name, the
spec's text). Then the layout is moved (a patched copy) and the writer, the reader
and the macros must all follow it, which a literal cell address in any of them
would not.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import re
from pathlib import Path

import openpyxl
import pytest
from openpyxl.utils.cell import range_boundaries
from xlbook import book_json, run_script, written

import addin.macros as macros
import workbooks.business_case as business_case
import workbooks.reader as reader
from udfs.model import build_model
from udfs.sensitivity import tornado, tornado_drivers
from udfs.spec import SCENARIOS
from workbooks.business_case import write_business_case
from workbooks.buttons import buttons_of
from workbooks.examples import example_spec
from workbooks.history import kpi_actuals
from workbooks.integrity import _kpi_actuals
from workbooks.layout import (
    CALCULATIONS,
    COVER,
    INPUTS,
    INTEGRITY,
    KPIS,
    META,
    SCENARIO_SHEET,
    SENSITIVITY,
    VALUATION,
    cell,
    position,
)
from workbooks.reader import read_business_case
from workbooks.version import TEMPLATE_VERSION

EXAMPLE = "analytics_addon"


@pytest.fixture(scope="module")
def case_file(tmp_path_factory):
    return write_business_case(example_spec(EXAMPLE), tmp_path_factory.mktemp("layout") / "c.xlsx")


@pytest.fixture(scope="module")
def wb(case_file):
    return openpyxl.load_workbook(case_file)


def _sheet_of(wb, name: str) -> tuple[str, str]:
    """(sheet, cell) a one-cell defined name points at."""
    ((sheet, where),) = wb.defined_names[name].destinations
    return sheet, where.replace("$", "")


# --- the layout is what the writer wrote ------------------------------------------


def test_cover_cells_hold_what_the_cover_layout_says(wb):
    spec = example_spec(EXAMPLE)
    ws = wb[COVER.sheet]
    assert ws[COVER.title].value == spec.meta.name
    assert ws[COVER.decision_heading].value == "Decision asked for"
    assert ws[COVER.decision].value == spec.meta.decision
    assert COVER.decision_merge in {str(r) for r in ws.merged_cells.ranges}
    assert ws[COVER.amounts].value.startswith('="In the model (')
    assert ws[COVER.scenario_label].value == "Scenario shown"
    assert ws[COVER.scenario].value == "=In_Scenario"
    assert ws[COVER.headline_heading].value == "Headline"
    for label, output in COVER.headline:
        row = COVER.headline_row(output)
        assert ws[f"A{row}"].value == label
        assert ws[f"B{row}"].value.startswith(f"=IFERROR(Out_{output},")
    assert ws[f"A{COVER.checks_row}"].value == "Model checks"
    assert "Check_Master" in ws[f"B{COVER.checks_row}"].value
    assert ws.print_area.rpartition("!")[2].replace("$", "") == COVER.print_area


def test_the_cover_message_cell_is_empty_unlocked_and_under_no_button(wb):
    ws = wb[COVER.sheet]
    assert ws[COVER.message].value is None
    assert ws[COVER.message].protection.locked is False
    message = position(COVER.message)
    print_left, print_top, print_right, print_bottom = range_boundaries(COVER.print_area)
    for button in buttons_of("case"):
        if button.sheet != COVER.sheet:
            continue
        row, column = position(button.cell)
        covered = {
            (r, c) for r in range(row, row + 2) for c in range(column, column + button.columns)
        }
        assert message not in covered, button.name
        assert all(
            print_left <= c <= print_right and print_top <= r <= print_bottom for r, c in covered
        ), f"{button.name} prints off the Cover's page"


def test_sensitivity_cells_hold_what_its_layout_says(wb):
    model = build_model(example_spec(EXAMPLE))
    bars = tornado(model, drivers=tornado_drivers(model))
    ws = wb[SENSITIVITY.sheet]
    assert ws[SENSITIVITY.note].value.startswith("Snapshot computed by the bizcase engine")
    assert ws[SENSITIVITY.base_label].value == "Base NPV"
    assert isinstance(ws[SENSITIVITY.base_npv].value, float)
    header = [c.value for c in ws[SENSITIVITY.header_row][: len(SENSITIVITY.columns)]]
    assert header == list(SENSITIVITY.columns)
    table = ws[SENSITIVITY.table_range(len(bars))]
    assert [row[0].value for row in table] == [b.label for b in bars]
    assert ws.cell(row=SENSITIVITY.first_row + len(bars), column=1).value in (None, "")
    # The button rewrites these; on a protected sheet they must be unlocked.
    for ref in (SENSITIVITY.note, SENSITIVITY.base_npv):
        assert ws[ref].protection.locked is False
    assert all(c.protection.locked is False for row in table for c in row)


def test_sensitivity_row_puts_each_value_under_its_column():
    """The bar below is made up: NPV 100 at base, 70 at the low setting, 160 at the high."""
    bar = dataclasses.make_dataclass(
        "Bar", ["label", "low_change", "high_change", "npv_low", "npv_high", "swing"]
    )("Price", -0.2, 0.2, 70.0, 160.0, 90.0)
    row = dict(zip(SENSITIVITY.columns, SENSITIVITY.row(bar, 100.0), strict=True))
    assert row == {
        "Driver": "Price",
        "Low setting": -0.2,
        "High setting": 0.2,
        "NPV at low": 70.0,
        "NPV at high": 160.0,
        "Swing": 90.0,
        "Change at low": -30.0,  # 70 - 100
        "Change at high": 60.0,  # 160 - 100
    }


def test_calculations_valuation_and_inputs_frames_follow_their_layouts(wb):
    calc = wb[CALCULATIONS.sheet]
    header = [c.value for c in calc[CALCULATIONS.header_row][: len(CALCULATIONS.headers)]]
    assert header == list(CALCULATIONS.headers)
    now = calc.cell(row=CALCULATIONS.header_row, column=CALCULATIONS.first_period_column).value
    assert now.startswith("=IF(") and '"Now"' in now  # period 0's label
    assert calc[f"A{CALCULATIONS.block_top}"].value == "Drivers after the scenario"

    valuation = wb[VALUATION.sheet]
    header = [c.value for c in valuation[VALUATION.header_row][: len(VALUATION.headers)]]
    assert header == list(VALUATION.headers)
    sheet, ref = _sheet_of(wb, "Out_NPV")
    row, column = position(ref)
    assert (sheet, column) == (VALUATION.sheet, 2) and row >= VALUATION.first_row

    inputs = wb[INPUTS.sheet]
    header = [
        inputs[f"{c}{INPUTS.header_row}"].value
        for c in (INPUTS.label, INPUTS.value, INPUTS.unit, INPUTS.remark)
    ]
    assert header == list(INPUTS.headers)
    model = build_model(example_spec(EXAMPLE))
    for item in model.inputs:
        if item.kind in ("series", "now"):
            continue
        sheet, ref = _sheet_of(wb, f"In_{item.name}")
        row, column = position(ref)
        assert (sheet, column) == (INPUTS.sheet, position(f"{INPUTS.value}1")[1]), item.name
        assert row > INPUTS.header_row
        assert inputs[f"{INPUTS.label}{row}"].value == item.label
        assert inputs[f"{INPUTS.unit}{row}"].value == item.unit


def test_scenarios_header_and_both_charts_categories_follow_the_layout(wb):
    ws = wb[SCENARIO_SHEET.sheet]
    first, row = SCENARIO_SHEET.first_scenario_column, SCENARIO_SHEET.header_row
    header = [ws.cell(row=row, column=c).value for c in range(1, first + len(SCENARIOS) + 1)]
    assert header == ["Output", *SCENARIOS, "Unit"]
    assert ws.cell(row=SCENARIO_SHEET.first_row, column=1).value == "Net present value"
    # The NPV-by-scenario charts (here and on the Cover) name the scenarios from that row.
    names = f"{SCENARIO_SHEET.sheet}!{cell(row, first)}:{cell(row, first + len(SCENARIOS) - 1)}"
    categories = [
        c.series[0].cat.numRef.f.replace("$", "").replace("'", "")
        for c in (*ws._charts, *wb[COVER.sheet]._charts)
        if c.series
        and c.series[0].cat is not None
        and SCENARIO_SHEET.sheet in c.series[0].cat.numRef.f
    ]
    assert categories == [names, names]


def test_kpis_rows_follow_the_kpi_layout_and_both_readers_find_typed_actuals(case_file, tmp_path):
    wb = openpyxl.load_workbook(case_file)
    ws = wb[KPIS.sheet]
    start = example_spec(EXAMPLE).meta.start_year
    assert ws.cell(row=KPIS.header_row, column=KPIS.label_column).value == "KPI"
    assert ws.cell(row=KPIS.header_row, column=KPIS.first_year_column).value == "=In_StartYear"
    row = KPIS.first_row
    for label, _, _ in KPIS.kpis:
        kinds = [ws.cell(row=row + i, column=KPIS.kind_column).value for i in range(3)]
        assert kinds == [KPIS.target, KPIS.actual, KPIS.variance]
        assert ws.cell(row=row, column=KPIS.label_column).value.startswith(f"{label} (")
        row += 4
    # A user types an actual for the second year of the second KPI.
    actual_row = KPIS.first_row + 4 + 1
    ws.cell(row=actual_row, column=KPIS.first_year_column + 1, value=1234.0)
    typed = tmp_path / "typed.xlsx"
    wb.save(typed)
    second = KPIS.kpis[1][0]
    assert kpi_actuals(typed, start) == {second: {str(start + 1): 1234.0}}
    assert _kpi_actuals(openpyxl.load_workbook(typed)) == {
        cell(actual_row, KPIS.first_year_column + 1): 1234.0
    }


def test_meta_cells_hold_the_version_and_the_spec(wb):
    meta = wb[META.sheet]
    assert meta[META.template_version].value == TEMPLATE_VERSION
    spec = json.loads(meta[META.spec].value)
    assert spec["meta"]["name"] == example_spec(EXAMPLE).meta.name


# --- moving a layout cell moves the writer, the reader and the macros with it --------


def test_the_recorded_spec_moved_in_the_layout_is_written_and_read_there(tmp_path, monkeypatch):
    moved = dataclasses.replace(META, template_version="C2", spec="C5")
    monkeypatch.setattr(business_case, "META", moved)
    monkeypatch.setattr(reader, "META", moved)
    path = write_business_case(example_spec(EXAMPLE), tmp_path / "moved.xlsx")
    meta = openpyxl.load_workbook(path)[META.sheet]
    assert meta["B1"].value is None and meta["B4"].value is None
    assert meta["C2"].value == TEMPLATE_VERSION
    case = read_business_case(path)  # calamine
    assert case.template_version == TEMPLATE_VERSION
    assert case.model.spec.meta.name == example_spec(EXAMPLE).meta.name
    version, text = reader.OpenpyxlSource(openpyxl.load_workbook(path)).recorded()
    assert (version, json.loads(text)["meta"]["name"]) == (
        TEMPLATE_VERSION,
        case.model.spec.meta.name,
    )


@pytest.fixture(scope="module")
def payload(case_file) -> dict:
    return book_json(case_file)


def _index(payload: dict, name: str) -> int:
    return [s["name"] for s in payload["sheets"]].index(name)


def _targets(actions: list[dict], position_: int) -> set[str]:
    out = set()
    for a in actions:
        if a["func"] == "setValues" and a["sheet_position"] == position_:
            first = cell(a["start_row"] + 1, a["start_column"] + 1)
            last = cell(a["start_row"] + a["row_count"], a["start_column"] + a["column_count"])
            out.add(first if first == last else f"{first}:{last}")
    return out


def test_sensitivity_button_writes_where_the_layout_says(payload):
    book = copy.deepcopy(payload)
    actions = run_script(macros, "run_sensitivity", book)
    n = len(tornado(build_model(example_spec(EXAMPLE))))
    sheet = _index(book, SENSITIVITY.sheet)
    assert _targets(actions, sheet) == {
        SENSITIVITY.note,
        SENSITIVITY.base_npv,
        SENSITIVITY.table_range(n),
    }
    cells = written(actions, sheet)
    assert [cells[cell(SENSITIVITY.first_row + i, 1)] for i in range(n)] == [
        b.label for b in tornado(build_model(example_spec(EXAMPLE)))
    ]


def test_rebuild_button_writes_the_cover_message_cell_of_the_layout(payload, monkeypatch):
    cover = _index(payload, COVER.sheet)
    actions = run_script(macros, "rebuild_case", copy.deepcopy(payload))
    assert _targets(actions, cover) == {COVER.message}
    monkeypatch.setattr(macros, "COVER", dataclasses.replace(COVER, message="P30"))
    actions = run_script(macros, "rebuild_case", copy.deepcopy(payload))
    assert _targets(actions, cover) == {"P30"}


def test_check_button_writes_the_integrity_layout(payload):
    book = copy.deepcopy(payload)
    n_sheets = len(book["sheets"])
    actions = run_script(macros, "check_integrity", book)
    (block,) = [a["values"] for a in actions if a["sheet_position"] == n_sheets]
    assert book["sheets"][n_sheets]["name"] == INTEGRITY.sheet
    assert block[0][0] == INTEGRITY.title
    assert block[INTEGRITY.header_row - 1] == list(INTEGRITY.headers)
    results = block[INTEGRITY.header_row : -2]
    assert results and all(r[0].startswith("Out_") for r in results)


def test_no_module_that_reads_or_rewrites_a_shared_cell_spells_its_address():
    """A shared cell written out literally in a reader or a macro would not move with
    its layout; these are the cells the writer and another module both use. (The
    writer is not searched: it writes the same addresses on other sheets.)"""
    shared = {
        COVER.message,
        SENSITIVITY.note,
        SENSITIVITY.base_npv,
        SENSITIVITY.table,
        META.template_version,
        META.spec,
    }
    root = Path(macros.__file__).resolve().parent.parent
    for module in (
        "addin/macros.py",
        "workbooks/reader.py",
        "workbooks/integrity.py",
        "workbooks/history.py",
    ):
        text = (root / module).read_text(encoding="utf-8")
        spelled = {ref for ref in shared if re.search(rf"[\"'\[]{ref}[\"'\]]", text)}
        assert not spelled, f"{module} spells {sorted(spelled)}"
