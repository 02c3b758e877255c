"""The workbook buttons (:mod:`addin.macros`) in each runtime that runs them.

xlwings Lite / xlwings Server: every script is run through xlwings' own script
runtime (``custom_scripts_call`` with ``xw.Book(json=...)``, see ``xlbook.py``)
on the JSON payload Excel would send for a generated workbook, and the actions
it sends back are checked: the values written where the module documents them,
the sheets added, and no other cell touched. Expected numbers come from the
engine (``udfs.risk.simulate``, ``udfs.sensitivity.tornado``,
``udfs.portfolio.select``) on the inputs read from the file by
``workbooks.reader``, or, for the integrity check, from LibreOffice.

Classic xlwings (Windows): one route for the button Subs, ``addin/bizcase.bas``
(``RunPython`` Subs plus ``bizcase_assign_buttons``, which sets each shape's
``OnAction``). "Import Functions" must declare no Sub from this module, checked
with ``xlwings.udfs.generate_vba_wrapper`` under stub pywin32 modules, as in
``test_functions_classic.py``, so following both routes never leaves a Sub
name twice.

The Lite bundle (``bizcase addin lite``) is loaded as a module and must
register every ``BC_`` function and every script.
"""

from __future__ import annotations

import copy
import importlib
import importlib.util
import io
import re
import shutil
import types
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
import xlwings
import xlwings.server
from classic import classic_import
from openpyxl.utils.cell import coordinate_to_tuple, get_column_letter, range_boundaries
from typer.testing import CliRunner
from xlbook import book_json, run_script, written

import addin
import addin.macros as macros
import udfs.functions
from addin.cli import app
from udfs.errors import InputError
from udfs.expr import column_letter
from udfs.model import evaluate
from udfs.portfolio import rank, select
from udfs.risk import simulate
from udfs.sensitivity import tornado
from workbooks.business_case import write_business_case
from workbooks.buttons import BUTTONS
from workbooks.examples import EXAMPLES, example_spec
from workbooks.portfolio_layout import planned_cases
from workbooks.portfolio_workbook import CASE_COLUMNS
from workbooks.reader import read_business_case
from workbooks.risk_sheet import risk_layout

ADDIN = Path(addin.__file__).parent
EXAMPLE = "analytics_addon"  # its spec sets its own Monte Carlo seed (2027), not the default
SCRIPT_BUTTONS = {
    "run_monte_carlo": "btnMonteCarlo",
    "run_sensitivity": "btnSensitivity",
    "check_integrity": "btnCheck",
    "rebuild_case": "btnRebuild",
    "refresh_portfolio": "btnRefresh",
}
CLASSIC_SUBS = {
    "bizcase_monte_carlo",
    "bizcase_sensitivity",
    "bizcase_check",
    "bizcase_refresh",
    "bizcase_rebuild",
}
HISTOGRAM_BINS = 20
PRICE_FACTOR = 1.5


def cli(*args) -> object:
    return CliRunner().invoke(app, [str(a) for a in args])


# --- workbooks and payloads ------------------------------------------------------


@pytest.fixture(scope="module")
def case_file(tmp_path_factory) -> Path:
    return write_business_case(
        example_spec(EXAMPLE), tmp_path_factory.mktemp("case") / f"{EXAMPLE}.xlsx"
    )


@pytest.fixture(scope="module")
def case_json(case_file) -> dict:
    return book_json(case_file)


@pytest.fixture
def case_payload(case_json) -> dict:
    # xw.Book(json=...) mutates its payload (an added sheet joins its list): a copy per run.
    return copy.deepcopy(case_json)


@pytest.fixture(scope="module")
def recalculated_json(case_file, soffice, tmp_path_factory) -> dict:
    from libreoffice import recalculate

    (out,) = recalculate([case_file], tmp_path_factory.mktemp("lo"), soffice=soffice)
    return book_json(out)


@pytest.fixture(scope="module")
def case_folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("cases")
    for name in EXAMPLES:
        write_business_case(example_spec(name), folder / f"{name}.xlsx")
    return folder


def _rollup(case_folder: Path, target: Path, *options) -> Path:
    # the examples are in EUR and USD: one portfolio currency, USD converted
    result = cli(
        "rollup", case_folder, "-o", target, "--currency", "EUR", "--fx", "USD=0.92", *options
    )
    assert result.exit_code == 0, result.stderr
    return target


@pytest.fixture(scope="module")
def portfolio_file(case_folder, tmp_path_factory) -> Path:
    # capital in EUR: 1.92M, 10.9M, 2.35M, 0.6M; a 4.5M budget funds two of the three small cases
    target = tmp_path_factory.mktemp("portfolio") / "portfolio.xlsx"
    return _rollup(case_folder, target, "--budget", 4_500_000)


@pytest.fixture(scope="module")
def by_year_portfolio(case_folder, tmp_path_factory) -> Path:
    # a capital limit per year, EUR 1.5m in each of 2027-2036 (In_Budget blank)
    target = tmp_path_factory.mktemp("by_year") / "by_year.xlsx"
    return _rollup(case_folder, target, "--budget-by-year", ",".join(["1500000"] * 10))


def _sheet_index(payload: dict, name: str) -> int:
    return [s["name"] for s in payload["sheets"]].index(name)


def _named_cell(payload: dict, name: str) -> tuple[int, int, int]:
    (entry,) = [n for n in payload["names"] if n["name"] == name]
    row, column = coordinate_to_tuple(entry["address"])
    return entry["sheet_index"], row - 1, column - 1


def _get_ref(payload: dict, name: str) -> str:
    """The address a defined name refers to, without $ signs."""
    (entry,) = [n for n in payload["names"] if n["name"] == name]
    return entry["address"].replace("$", "")


def _get(payload: dict, name: str):
    sheet, row, column = _named_cell(payload, name)
    return payload["sheets"][sheet]["values"][row][column]


def _set(payload: dict, name: str, value) -> None:
    """What a user typing into the named cell changes in the payload Excel sends."""
    sheet, row, column = _named_cell(payload, name)
    payload["sheets"][sheet]["values"][row][column] = value


def _targets(actions: list[dict]) -> set[tuple[int, str]]:
    """(sheet position, range) of every value the actions write."""
    out = set()
    for a in actions:
        if a["func"] != "setValues":
            continue
        first = f"{get_column_letter(a['start_column'] + 1)}{a['start_row'] + 1}"
        last = (
            f"{get_column_letter(a['start_column'] + a['column_count'])}"
            f"{a['start_row'] + a['row_count']}"
        )
        out.add((a["sheet_position"], first if first == last else f"{first}:{last}"))
    return out


def _values(actions: list[dict], position: int) -> list[list]:
    """The one block of values written on the sheet at ``position``."""
    (block,) = [
        a["values"] for a in actions if a["func"] == "setValues" and a["sheet_position"] == position
    ]
    return block


def _row(block: list[list], label: str) -> list:
    (row,) = [r for r in block if r and r[0] == label]
    return row


# --- registration ------------------------------------------------------------------


def test_scripts_meta_lists_exactly_the_five_scripts():
    meta = xlwings.server.custom_scripts_meta(macros)
    assert sorted(m["function_name"] for m in meta) == sorted(SCRIPT_BUTTONS)
    assert sorted(macros.SCRIPTS) == sorted(SCRIPT_BUTTONS)


@pytest.mark.parametrize("script", sorted(SCRIPT_BUTTONS))
def test_each_script_is_bound_to_its_documented_button(script):
    meta = {m["function_name"]: m for m in xlwings.server.custom_scripts_meta(macros)}[script]
    shape, sheet, cell = re.fullmatch(r"\[(\w+)\](\w+)!([A-Z]+[0-9]+)", meta["button"]).groups()
    buttons = {b.name: b for b in BUTTONS}
    assert shape == SCRIPT_BUTTONS[script]
    assert (sheet, cell) == (buttons[shape].sheet, buttons[shape].cell)


def test_every_button_of_the_workbooks_has_exactly_one_script():
    bound = [m["button"] for m in xlwings.server.custom_scripts_meta(macros)]
    assert sorted(bound) == sorted(f"[{b.name}]{b.sheet}!{b.cell}" for b in BUTTONS)


# --- run_monte_carlo -----------------------------------------------------------------


def _risk_label(name: str) -> str:
    """How the Risk sheet labels an output's row (as `bizcase simulate --write` does)."""
    currency = example_spec(EXAMPLE).meta.currency
    return "IRR" if name == "IRR" else f"{name} ({currency})"


def test_monte_carlo_adds_a_risk_sheet_with_the_engines_npv_distribution(case_file, case_payload):
    n_sheets = len(case_payload["sheets"])
    actions = run_script(macros, "run_monte_carlo", case_payload)

    case = read_business_case(case_file)
    mc = example_spec(EXAMPLE).risk.monte_carlo
    sim = simulate(case.model, mc.trials, mc.seed, values=case.values)
    layout = risk_layout(sim, case.model.spec.meta.name, case.model.spec.meta.currency)
    grid = layout.grid()
    assert [a["args"] for a in actions if a["func"] == "addSheet"] == [[n_sheets, "Risk"]]
    assert {a["func"] for a in actions} == {"addSheet", "setValues"}
    # One block from A1: exactly the layout `bizcase simulate --write` gives the sheet.
    assert _targets(actions) == {(n_sheets, f"A1:{column_letter(len(grid[0]))}{len(grid)}")}

    block = _values(actions, n_sheets)
    assert block[0][0] == "Risk: Monte Carlo simulation"
    assert f"{mc.trials:,} trials, seed {mc.seed}" in block[1][0]
    for name in ("NPV", "eNPV", "IRR"):
        s = sim.summary(name)
        expected = [s[k] for k in ("mean", "p10", "p50", "p90", "std", "prob_negative")]
        assert _row(block, _risk_label(name))[1:7] == pytest.approx(expected, rel=1e-12), name
    counts, edges = sim.histogram("NPV", bins=30)
    first, last = layout.histogram
    histogram = block[first - 1 : last]
    assert [r[2] for r in histogram] == counts.tolist()
    assert [r[0] for r in histogram] == pytest.approx(edges[:-1].tolist(), rel=1e-12)
    assert [r[1] for r in histogram] == pytest.approx(edges[1:].tolist(), rel=1e-12)


def test_monte_carlo_reads_the_price_the_user_typed(case_file, case_payload):
    position = len(case_payload["sheets"])  # where the Risk sheet is added
    base = run_script(macros, "run_monte_carlo", copy.deepcopy(case_payload))
    price = _get(case_payload, "In_Price")
    _set(case_payload, "In_Price", price * PRICE_FACTOR)
    edited = run_script(macros, "run_monte_carlo", case_payload)

    base_mean = _row(_values(base, position), _risk_label("NPV"))[1]
    edited_mean = _row(_values(edited, position), _risk_label("NPV"))[1]
    case = read_business_case(case_file)
    values = {**case.values, "Price": price * PRICE_FACTOR}
    mc = example_spec(EXAMPLE).risk.monte_carlo
    expected = simulate(case.model, mc.trials, mc.seed, values=values).summary("NPV")["mean"]
    assert edited_mean > base_mean
    assert edited_mean == pytest.approx(expected, rel=1e-12)


def test_monte_carlo_rewrites_an_existing_risk_sheet_in_the_same_layout(case_file, tmp_path):
    copied = shutil.copy(case_file, tmp_path / "with_risk.xlsx")
    result = cli("simulate", copied, "--write", "--trials", 500)
    assert result.exit_code == 0, result.stderr
    payload = book_json(copied)
    risk = _sheet_index(payload, "Risk")
    written_by_cli = payload["sheets"][risk]["values"]

    actions = run_script(macros, "run_monte_carlo", payload)

    assert not [a for a in actions if a["func"] == "addSheet"]
    assert {a["sheet_position"] for a in actions} == {risk}
    block = _values(actions, risk)
    # Same labels in the same cells as the CLI's sheet, so its charts still point right.
    for r in (0, 4, 5, 6, 7, 9, 10):
        assert block[r][0] == written_by_cli[r][0]


# --- run_sensitivity ----------------------------------------------------------------


def test_sensitivity_writes_the_engines_tornado_for_the_edited_inputs_only_on_sensitivity(
    case_file, case_payload
):
    price = _get(case_payload, "In_Price")
    _set(case_payload, "In_Price", price * PRICE_FACTOR)
    actions = run_script(macros, "run_sensitivity", case_payload)

    case = read_business_case(case_file)
    values = {**case.values, "Price": price * PRICE_FACTOR}
    bars = tornado(case.model, values=values)
    base = evaluate(case.model, values, "Base").outputs["NPV"]
    sheet = _sheet_index(case_payload, "Sensitivity")
    meta = _sheet_index(case_payload, "_bizcase")
    assert {a["func"] for a in actions} == {"setValues"}
    snapshots = {
        (meta, _get_ref(case_payload, name))
        for name in ("Snap_InputsAtSnapshot", "Snap_SeriesAtSnapshot")
    }
    assert _targets(actions) == {
        (sheet, "A2"),  # the note saying when and from what it was recomputed
        (sheet, "D3"),  # base NPV
        (sheet, f"A5:H{4 + len(bars)}"),
        *snapshots,  # the inputs it was computed from, for the staleness check
    }
    # The copy is the inputs as they are now (the edited price among them).
    assert price * PRICE_FACTOR in written(actions, meta).values()
    cells = written(actions, sheet)
    assert cells["D3"] == pytest.approx(base, rel=1e-12)
    for i, bar in enumerate(bars, start=5):
        got = [cells[f"{c}{i}"] for c in "ABCDEFGH"]
        assert got[0] == bar.label
        expected = [
            bar.low_change,
            bar.high_change,
            bar.npv_low,
            bar.npv_high,
            bar.swing,
            bar.npv_low - base,
            bar.npv_high - base,
        ]
        assert got[1:] == pytest.approx(expected, rel=1e-12, abs=1e-6), bar.label
    unedited = evaluate(case.model, case.values, "Base").outputs["NPV"]
    assert cells["D3"] != pytest.approx(unedited)  # it read the typed price, not the spec's


# --- check_integrity -----------------------------------------------------------------


def _out_names(payload: dict) -> list[str]:
    return sorted(n["name"] for n in payload["names"] if n["name"].startswith("Out_"))


def test_check_integrity_says_all_results_agree_on_an_untouched_recalculated_workbook(
    recalculated_json,
):
    payload = copy.deepcopy(recalculated_json)
    n_sheets = len(payload["sheets"])
    actions = run_script(macros, "check_integrity", payload)

    assert [a["args"] for a in actions if a["func"] == "addSheet"] == [[n_sheets, "Integrity"]]
    block = _values(actions, n_sheets)
    results = [r for r in block if isinstance(r[0], str) and r[0].startswith("Out_")]
    assert sorted(r[0] for r in results) == _out_names(payload)
    assert {r[3] for r in results} == {"OK"}
    assert block[-1][0] == "All results agree"
    assert _targets(actions) == {(n_sheets, f"A1:D{4 + len(results) + 2}")}


def test_check_integrity_flags_an_out_value_that_differs_from_the_engine(recalculated_json):
    payload = copy.deepcopy(recalculated_json)
    npv = _get(payload, "Out_NPV")
    _set(payload, "Out_NPV", npv + 1000.0)
    n_sheets = len(payload["sheets"])
    actions = run_script(macros, "check_integrity", payload)

    block = _values(actions, n_sheets)
    status = {r[0]: r[3] for r in block if isinstance(r[0], str) and r[0].startswith("Out_")}
    assert status.pop("Out_NPV") == "DIFFERS"
    assert set(status.values()) == {"OK"}
    assert _row(block, "Out_NPV")[1:3] == pytest.approx([npv + 1000.0, npv], rel=1e-9)
    assert block[-1][0] == "1 result(s) differ"


# --- rebuild_case ----------------------------------------------------------------------


def test_rebuild_case_writes_only_its_message_cell(case_payload):
    actions = run_script(macros, "rebuild_case", case_payload)
    cover = _sheet_index(case_payload, "Cover")
    assert {a["func"] for a in actions} == {"setValues"}
    assert _targets(actions) == {(cover, "M16")}
    assert "bizcase upgrade" in written(actions, cover)["M16"]


# --- refresh_portfolio -----------------------------------------------------------------


def _cases_table(payload: dict) -> tuple[int, list[str], list[list]]:
    sheet = _sheet_index(payload, "Cases")
    values = payload["sheets"][sheet]["values"]
    header = values[0]
    rows = [r for r in values[1:] if r[0] not in ("", None)]
    return sheet, header, rows


def test_refresh_portfolio_reselects_with_the_engine_from_the_edited_cases_table(portfolio_file):
    payload = book_json(portfolio_file, "portfolio.xlsx")
    sheet, header, rows = _cases_table(payload)
    npv_col, capital_col = header.index("NPV"), header.index("Capital")
    before = [r[header.index("Selected")] for r in rows]
    smallest = min(range(len(rows)), key=lambda i: rows[i][npv_col])
    rows[smallest][npv_col] = 50_000_000.0  # the user corrects a case's NPV in the table

    actions = run_script(macros, "refresh_portfolio", payload)

    npv = np.array([r[npv_col] for r in rows], dtype=float)
    capital = np.array([r[capital_col] for r in rows], dtype=float)
    budget = _get(payload, "In_Budget")
    expected = select(npv, capital, budget).astype(int).tolist()
    cells = written(actions, sheet)
    rank_letter = get_column_letter(CASE_COLUMNS.index("Rank") + 1)
    selected_letter = get_column_letter(CASE_COLUMNS.index("Selected") + 1)
    last = len(rows) + 1
    assert _targets(actions) == {
        (sheet, f"{rank_letter}2:{rank_letter}{last}"),
        (sheet, f"{selected_letter}2:{selected_letter}{last}"),
    }
    assert [cells[f"{selected_letter}{i}"] for i in range(2, last + 1)] == expected
    assert expected != before  # the edit changes the funded set, so the column was recomputed
    ranks = rank(pd.DataFrame({"npv": npv}), "npv").tolist()
    assert [cells[f"{rank_letter}{i}"] for i in range(2, last + 1)] == ranks


def test_refresh_portfolio_keeps_the_funded_set_of_a_per_year_budget(by_year_portfolio):
    # Nothing edited: refreshing must not change what the rollup funded under its
    # capital limit per year (In_BudgetByYear; In_Budget is blank).
    payload = book_json(by_year_portfolio, "by_year.xlsx")
    sheet, header, rows = _cases_table(payload)
    funded = [r[header.index("Selected")] for r in rows]
    assert 0 < sum(funded) < len(rows)

    actions = run_script(macros, "refresh_portfolio", payload)

    selected_letter = get_column_letter(CASE_COLUMNS.index("Selected") + 1)
    cells = written(actions, sheet)
    assert [cells[f"{selected_letter}{i}"] for i in range(2, len(rows) + 2)] == funded


def test_refresh_portfolio_applies_the_groups_and_dependencies_typed_into_the_table(
    portfolio_file,
):
    """The 4.5M budget fits each of the three small cases (EUR capital 1.92M, 2.35M,
    0.6M) but not the 10.9M one. Put the three in one exclusive group: only one can be
    funded, so the best is the one with the largest positive NPV. Then make that one
    depend on the 10.9M case, which cannot be funded: the next best takes its place."""
    payload = book_json(portfolio_file, "portfolio.xlsx")
    sheet, header, rows = _cases_table(payload)
    col = {h: header.index(h) for h in ("ID", "NPV", "Capital", "Group", "Depends on")}
    budget = _get(payload, "In_Budget")
    small = [r for r in rows if r[col["Capital"]] <= budget]
    (big,) = [r for r in rows if r[col["Capital"]] > budget]
    by_value = sorted(
        (r for r in small if r[col["NPV"]] > 0), key=lambda r: r[col["NPV"]], reverse=True
    )
    assert len(small) == 3 and len(by_value) >= 2
    for r in small:
        r[col["Group"]] = "one of the three"
    selected_letter = get_column_letter(CASE_COLUMNS.index("Selected") + 1)

    def funded() -> set[str]:
        cells = written(run_script(macros, "refresh_portfolio", payload), sheet)
        return {r[col["ID"]] for i, r in enumerate(rows) if cells[f"{selected_letter}{i + 2}"]}

    assert funded() == {by_value[0][col["ID"]]}
    by_value[0][col["Depends on"]] = big[col["ID"]]
    assert funded() == {by_value[1][col["ID"]]}


@pytest.mark.parametrize("version", ["1.0", "1.1"])
def test_refresh_portfolio_of_an_earlier_template_keeps_what_its_rollup_funded(version):
    # A portfolio an earlier bizcase wrote (tests/fixtures/template_<version>): refreshed
    # unedited, the button must rank and fund exactly as that rollup did.
    fixture = Path(__file__).parent / "fixtures" / f"template_{version}" / "portfolio.xlsx"
    payload = book_json(fixture, "portfolio.xlsx")
    sheet, header, rows = _cases_table(payload)
    funded = [r[header.index("Selected")] for r in rows]
    ranks = [r[header.index("Rank")] for r in rows]

    cells = written(run_script(macros, "refresh_portfolio", payload), sheet)

    for column, want in (("Selected", funded), ("Rank", ranks)):
        letter = get_column_letter(header.index(column) + 1)
        assert [cells[f"{letter}{i}"] for i in range(2, len(rows) + 2)] == want, column


def test_refresh_portfolio_of_a_template_1_0_portfolio_under_a_smaller_budget():
    """The fixture's cases (EUR): hardware capital 11.8M NPV 2.60M, plain 1.92M / 17.88M,
    simulated 2.55M / 12.07M. At a 14M budget all three (16.27M) do not fit; of the
    pairs, hardware + simulated (14.35M) does not either, hardware + plain (13.72M)
    is worth 20.48M and plain + simulated (4.47M) 29.95M: plain and simulated."""
    fixture = Path(__file__).parent / "fixtures" / "template_1.0" / "portfolio.xlsx"
    payload = book_json(fixture, "portfolio.xlsx")
    sheet, header, rows = _cases_table(payload)
    assert [r[0] for r in rows] == ["hardware", "plain", "simulated"]
    _set(payload, "In_Budget", 14_000_000)

    cells = written(run_script(macros, "refresh_portfolio", payload), sheet)

    letter = get_column_letter(header.index("Selected") + 1)
    assert [cells[f"{letter}{i}"] for i in (2, 3, 4)] == [0, 1, 1]


def test_refresh_portfolio_finds_its_columns_by_header_not_by_position(by_year_portfolio):
    # The Cases and Flows columns in reverse order (years last to first, ID and Measure
    # moved): the button must fund and rank as the rollup did, reading each column
    # by its header, and write Rank and Selected where those headers now stand.
    payload = book_json(by_year_portfolio, "by_year.xlsx")
    sheet, header, rows = _cases_table(payload)
    funded = [r[header.index("Selected")] for r in rows]
    ranks = [r[header.index("Rank")] for r in rows]
    assert 0 < sum(funded) < len(rows)
    for name in ("Cases", "Flows"):
        values = payload["sheets"][_sheet_index(payload, name)]["values"]
        width = max(i + 1 for row in values for i, v in enumerate(row) if v not in ("", None))
        for row in values:
            row[:width] = row[:width][::-1]
    reversed_header = payload["sheets"][sheet]["values"][0]
    assert reversed_header[0] != "ID"

    actions = run_script(macros, "refresh_portfolio", payload)

    cells = written(actions, sheet)
    for column, want in (("Selected", funded), ("Rank", ranks)):
        letter = get_column_letter(reversed_header.index(column) + 1)
        assert [cells[f"{letter}{i}"] for i in range(2, len(rows) + 2)] == want, column


# --- nothing Excel would refuse -----------------------------------------------------


@pytest.mark.parametrize(
    "script", ["run_monte_carlo", "run_sensitivity", "check_integrity", "rebuild_case"]
)
def test_scripts_write_no_locked_cell_of_a_protected_sheet(case_file, case_payload, script):
    # The generated sheets are protected; Excel refuses a write to a locked cell there
    # (classic: run-time error 1004; Office.js: an error), so the button would fail.
    actions = run_script(macros, script, case_payload)
    wb = openpyxl.load_workbook(case_file)
    refused = []
    for position, ref in _targets(actions):
        if position >= len(wb.worksheets):
            continue  # a sheet the script added
        ws = wb.worksheets[position]
        if not ws.protection.sheet:
            continue
        min_col, min_row, max_col, max_row = range_boundaries(ref if ":" in ref else f"{ref}:{ref}")
        for row in ws.iter_rows(min_row=min_row, max_row=max_row, min_col=min_col, max_col=max_col):
            refused += [f"{ws.title}!{c.coordinate}" for c in row if c.protection.locked]
    assert sorted(refused) == []


# --- classic xlwings ---------------------------------------------------------------


@pytest.fixture
def classic_macros(monkeypatch):
    """``(addin.macros as classic xlwings imports it, xlwings.udfs)``; undone afterwards."""
    with classic_import(monkeypatch, "addin.macros") as imported:
        yield imported


class _Workbook:
    """The one attribute of the Excel workbook ``generate_vba_wrapper`` reads."""

    Name = "bizcase.xlam"


@pytest.fixture
def classic_vba(classic_macros) -> str:
    module, classic_udfs = classic_macros
    out = io.StringIO()
    classic_udfs.generate_vba_wrapper("addin.macros", module, out, _Workbook())
    return out.getvalue()


def test_classic_import_functions_declares_nothing_from_the_macros(classic_vba):
    """Even with addin.macros listed under UDF Modules, "Import Functions" adds no
    Sub or Function: the Subs come from bizcase.bas alone."""
    assert re.findall(r"^(?:Sub|Function) .*$", classic_vba, flags=re.MULTILINE) == []


def test_classic_scripts_are_not_registered_for_office_js(classic_macros):
    module, _ = classic_macros
    assert module._is_classic() is True
    assert xlwings.server.custom_scripts_meta(module) == []


def _vba_module() -> str:
    return (ADDIN / "bizcase.bas").read_text(encoding="utf-8")


def test_vba_module_defines_the_five_subs_running_their_python_twins():
    subs = re.findall(
        r"^Sub (\w+)\(\)\n\s+RunPython \"(.*)\"\nEnd Sub$", _vba_module(), flags=re.MULTILINE
    )
    assert sorted(name for name, _ in subs) == sorted(CLASSIC_SUBS)
    for name, code in subs:
        assert code == f"import addin.macros as m; m.{name}()"
        assert callable(getattr(macros, name))


def test_vba_module_declares_each_sub_once():
    declared = re.findall(r"^Sub (\w+)\(", _vba_module(), flags=re.MULTILINE)
    assert sorted(declared) == sorted([*CLASSIC_SUBS, "bizcase_assign_buttons"])


def test_assign_buttons_points_every_button_of_the_workbooks_at_its_sub():
    """The VBA table must be the Python one (workbooks.buttons), button for button."""
    text = _vba_module()
    body = text[text.index("Sub bizcase_assign_buttons()") :]
    cases = dict(re.findall(r'Case "(\w+)": action = "(\w+)"', body))
    assert cases == {b.name: b.macro for b in BUTTONS}
    assert set(cases.values()) == CLASSIC_SUBS
    assert "shape.OnAction = action" in body


def test_vba_module_has_windows_line_endings():
    """The VBA editor's File > Import misreads a module with bare line feeds."""
    raw = (ADDIN / "bizcase.bas").read_bytes()
    assert raw.count(b"\n") == raw.count(b"\r\n") > 0


def test_vba_module_says_what_runpython_needs():
    text = _vba_module()
    assert "Tools > References" in text and "--standalone" in text


def test_xlwings_conf_lists_only_the_function_module():
    lines = (ADDIN / "xlwings.conf").read_text(encoding="utf-8").splitlines()
    assert '"UDF MODULES","udfs.functions"' in lines


# --- the xlwings Lite bundle -------------------------------------------------------

WHEEL_URL = "https://example.org/wheels/bizcase-0.1.0-py3-none-any.whl"


@pytest.fixture(scope="module")
def lite_folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("lite")
    result = cli("addin", "lite", "-o", folder, "--wheel-url", WHEEL_URL)
    assert result.exit_code == 0, result.stderr
    return folder


@pytest.fixture(scope="module")
def lite_main(lite_folder) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location("bizcase_lite_main", lite_folder / "main.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_lite_bundle_is_main_py_and_requirements_txt(lite_folder):
    assert sorted(p.name for p in lite_folder.iterdir()) == ["main.py", "requirements.txt"]


def test_lite_main_registers_every_bc_function(lite_main):
    registered = xlwings.server.custom_functions_meta(lite_main)["functions"]
    bc = sorted(n for n in dir(udfs.functions) if n.startswith("BC_"))
    assert bc
    assert sorted(f["name"] for f in registered) == bc
    reference = xlwings.server.custom_functions_meta(udfs.functions)["functions"]
    assert sorted(registered, key=lambda f: f["id"]) == sorted(reference, key=lambda f: f["id"])


def test_lite_main_registers_every_script_with_its_button(lite_main):
    assert xlwings.server.custom_scripts_meta(lite_main) == xlwings.server.custom_scripts_meta(
        macros
    )


def test_lite_main_script_runs_under_the_runtime(lite_main, case_payload):
    actions = run_script(lite_main, "rebuild_case", case_payload)
    assert _targets(actions) == {(_sheet_index(case_payload, "Cover"), "M16")}


def test_lite_requirements_list_the_runtime_packages_and_the_wheel(lite_folder):
    lines = (lite_folder / "requirements.txt").read_text(encoding="utf-8").splitlines()
    for package in ("numpy", "scipy", "pandas", "pydantic", "openpyxl"):
        assert package in lines
    assert WHEEL_URL in lines


def test_lite_bundle_refuses_to_overwrite_without_force(tmp_path):
    assert cli("addin", "lite", "-o", tmp_path, "--wheel-url", WHEEL_URL).exit_code == 0
    (tmp_path / "main.py").write_text("# the user's own code\n", encoding="utf-8")

    refused = cli("addin", "lite", "-o", tmp_path)
    assert refused.exit_code != 0
    assert "--force" in refused.stderr
    assert (tmp_path / "main.py").read_text(encoding="utf-8") == "# the user's own code\n"

    forced = cli("addin", "lite", "-o", tmp_path, "--force", "--wheel-url", WHEEL_URL)
    assert forced.exit_code == 0, forced.stderr
    assert "from addin.macros import" in (tmp_path / "main.py").read_text(encoding="utf-8")


def test_a_yearly_budget_with_a_blank_year_is_refused_not_ignored(by_year_portfolio):
    # Left blank, one year's amount used to make the refresh fund every case while
    # Port_Headroom still counted the other years' amounts.
    wb = openpyxl.load_workbook(by_year_portfolio)

    def table(name):
        rows = [list(r) for r in wb[name].iter_rows(values_only=True)]
        return [r for r in rows if any(v not in (None, "") for v in r)]

    ((sheet, ref),) = wb.defined_names["In_BudgetByYear"].destinations
    amounts = [c.value for row in wb[sheet][ref.replace("$", "")] for c in row]
    assert len(amounts) > 2 and all(isinstance(a, (int, float)) for a in amounts)

    def value(name, blank_year=None):
        if name == "In_BudgetByYear":
            return [None if k == blank_year else a for k, a in enumerate(amounts)]
        if name not in wb.defined_names:
            return None
        ((s, r),) = wb.defined_names[name].destinations
        return wb[s][r.replace("$", "")].value

    cases, flows = table("Cases"), table("Flows")
    planned_cases(cases, flows, value)  # every year given: accepted
    with pytest.raises(InputError, match=r"In_BudgetByYear: year 2 of \d+ has no amount"):
        planned_cases(cases, flows, lambda name: value(name, blank_year=1))
