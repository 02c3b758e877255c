"""The Checks sheet fails under the edits it guards against, in LibreOffice.

Each check recomputes a fact by another route than the rows it checks, so an
edited or overwritten calculation shows. For every check a copy of a fresh
workbook gets the edit the check is there to catch (a formula changed, a number
typed over one, an input changed after the Sensitivity snapshot, an error
value), all copies are recalculated by LibreOffice in one run, and the check's
own row must read FAIL (0) and the master check with it, while the untouched
workbook passes every check.

The checks are model outputs (:class:`udfs.model.Check`): the engine evaluates
the same expressions the sheet renders, so its figures and verdicts must equal
the recalculated Checks cells wherever the engine can see the change (an input
edit; not a typed-over cell, which only the workbook holds).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import openpyxl
import pytest
from libreoffice import recalculate
from openpyxl.utils import get_column_letter

from udfs.model import build_model, evaluate_checks
from workbooks.business_case import FIRST_PERIOD_COLUMN, write_business_case
from workbooks.examples import EXAMPLES, example_spec
from workbooks.reader import read_business_case

CHECKS = {
    "selector": "The scenario selector holds",
    "cash": "Cash by another route",
    "depreciation": "Depreciation to date",
    "working_capital": "Working capital is released",
    "scenarios": "The live scenario table",
    "ordered": "Low NPV <= Base NPV <= High NPV",
    "stale": "The Sensitivity snapshot is current",
    "errors": "No error value anywhere",
}


def _row_of(ws, label: str, occurrence: int = 1) -> int:
    """The row of the ``occurrence``-th timeline line labelled ``label`` (not a heading)."""
    rows = [
        c.row
        for c in ws["A"]
        if c.value == label and ws.cell(row=c.row, column=FIRST_PERIOD_COLUMN).data_type == "f"
    ]
    return rows[occurrence - 1]


def _cell(ws, label: str, period: int, occurrence: int = 1):
    return ws.cell(row=_row_of(ws, label, occurrence), column=FIRST_PERIOD_COLUMN + period)


def _named(wb, name: str):
    ((sheet, ref),) = wb.defined_names[name].destinations
    return wb[sheet][ref.replace("$", "")]


def _drop_depreciation_add_back(wb):
    ws = wb["Calculations"]
    cell = _cell(ws, "Free cash flow before terminal value", 3)
    column = get_column_letter(cell.column)
    add_back = f"-{column}{_row_of(ws, 'Depreciation')}"
    assert add_back in cell.value
    cell.value = cell.value.replace(add_back, "")


def _type_over_depreciation(wb):
    _cell(wb["Calculations"], "Depreciation", 2).value = 0


def _keep_working_capital(wb):
    ws = wb["Calculations"]
    last = _named(wb, "In_Horizon").value  # annual: the last period is the horizon
    cell = _cell(ws, "Working capital (released at the horizon without a terminal value)", last)
    plan = _cell(ws, "Working capital needed by the business", last)
    cell.value = f"={plan.coordinate}"


def _type_over_scenario_copy(wb):
    _cell(wb["ScenarioCalcs"], "Revenue", 3, occurrence=2).value = 1.0  # the Base copy


def _change_an_input(wb):
    _named(wb, "In_TaxRate").value = 0.3


def _unknown_scenario(wb):
    _named(wb, "In_Scenario").value = "Medium"


def _high_below_base(wb):
    _named(wb, "In_HighRevenue").value = -0.3  # "High" now sells 30% less


def _error_value(wb):
    _cell(wb["Calculations"], "Cumulative EBIT", 1).value = "=NA()"


def _terminal_growth_at_the_discount_rate(wb):
    # A perpetuity growing as fast as it is discounted: the terminal value divides
    # by zero, and every line after it is an error value.
    _named(wb, "In_TerminalGrowth").value = _named(wb, "In_DiscountRate").value


#: copy name -> (example, edit, the check that must fail)
EDITS = {
    "cash": ("hardware", _drop_depreciation_add_back, "cash"),
    "depreciation_schedule": ("hardware", _type_over_depreciation, "depreciation"),
    "depreciation_straight": ("analytics_addon", _type_over_depreciation, "depreciation"),
    "working_capital": ("hardware", _keep_working_capital, "working_capital"),
    "scenarios": ("hardware", _type_over_scenario_copy, "scenarios"),
    "stale": ("hardware", _change_an_input, "stale"),
    "errors": ("hardware", _error_value, "errors"),
    "division_by_zero": ("analytics_addon", _terminal_growth_at_the_discount_rate, "errors"),
    "selector": ("hardware", _unknown_scenario, "selector"),
    "ordered": ("hardware", _high_below_base, "ordered"),
}


@pytest.fixture(scope="module")
def edited(tmp_path_factory) -> dict[str, Path]:
    """Fresh workbooks and their edited copies, by name (not yet recalculated)."""
    folder = tmp_path_factory.mktemp("checks")
    fresh = {
        name: write_business_case(example_spec(name), folder / f"fresh_{name}.xlsx")
        for name in EXAMPLES
    }
    paths: dict[str, Path] = {f"fresh_{k}": v for k, v in fresh.items()}
    for name, (example, edit, _) in EDITS.items():
        path = Path(shutil.copy(fresh[example], folder / f"{name}.xlsx"))
        wb = openpyxl.load_workbook(path)
        edit(wb)
        wb.save(path)
        paths[name] = path
    limit = Path(shutil.copy(fresh["analytics_addon"], folder / "tv_limit.xlsx"))
    wb = openpyxl.load_workbook(limit)
    _named(wb, "In_TVShareLimit").value = 0.9
    wb.save(limit)
    paths["tv_limit"] = limit
    return paths


@pytest.fixture(scope="module")
def recalculated(edited, tmp_path_factory, soffice) -> dict[str, openpyxl.Workbook]:
    out = recalculate(list(edited.values()), tmp_path_factory.mktemp("lo"), soffice=soffice)
    return {
        name: openpyxl.load_workbook(path, data_only=True)
        for name, path in zip(edited, out, strict=True)
    }


def _status(wb) -> dict[str, object]:
    ws = wb["Checks"]
    found = {}
    for key, prefix in CHECKS.items():
        (row,) = [c.row for c in ws["A"] if isinstance(c.value, str) and c.value.startswith(prefix)]
        found[key] = ws.cell(row=row, column=2).value
    return found


@pytest.mark.parametrize("example", EXAMPLES)
def test_a_fresh_workbook_passes_every_check(recalculated, example):
    wb = recalculated[f"fresh_{example}"]
    assert _status(wb) == dict.fromkeys(CHECKS, 1)
    assert _named(wb, "Check_Master").value == 1


@pytest.mark.parametrize("name", list(EDITS))
def test_each_check_fails_under_the_edit_it_guards_against(recalculated, name):
    wb = recalculated[name]
    check = EDITS[name][2]
    assert _status(wb)[check] == 0, _status(wb)
    assert _named(wb, "Check_Master").value == 0


def test_edits_that_keep_the_cash_consistent_fail_only_their_own_checks(recalculated):
    # Typing over depreciation changes tax and cash alike: the cash route still
    # reconciles; the depreciation check fails, and so does the tie with the
    # scenario copy, which nobody typed over.
    status = _status(recalculated["depreciation_schedule"])
    assert {k for k, v in status.items() if v != 1} == {"depreciation", "scenarios"}
    status = _status(recalculated["stale"])
    assert {k for k, v in status.items() if v != 1} == {"stale"}


def test_terminal_value_share_is_flagged_above_the_limit(recalculated):
    # The analytics example's terminal value is over 75% of its NPV (flagged); a
    # limit of 90% clears it. The flag is a warning, outside the master check.
    fresh = recalculated["fresh_analytics_addon"]
    assert _named(fresh, "Out_TerminalValueShare").value > 0.75
    assert _named(fresh, "Check_TerminalValueShare").value == 0
    assert _named(fresh, "Check_Master").value == 1
    assert _named(recalculated["tv_limit"], "Check_TerminalValueShare").value == 1
    assert _named(recalculated["fresh_hardware"], "Check_TerminalValueShare").value == 1


#: Copies whose edit the engine sees (inputs only), and the checks on which the
#: engine must differ: it computes the sensitivity from the inputs it is given, so
#: for it a changed input never makes the snapshot stale.
ENGINE_SEES = {
    **{f"fresh_{example}": set() for example in EXAMPLES},
    "ordered": {"stale"},
    "tv_limit": {"stale"},
    "division_by_zero": {"stale"},
}


def _same(engine: float, cell, tolerance: float = 1e-9) -> bool:
    """The engine's number against a recalculated cell: nan for an error value."""
    if isinstance(cell, str) and cell.startswith("#"):
        return engine != engine
    return engine == pytest.approx(cell, rel=tolerance, abs=tolerance)


@pytest.mark.parametrize("name", list(ENGINE_SEES))
def test_the_engine_computes_the_checks_libreoffice_shows(edited, recalculated, name):
    case = read_business_case(edited[name])
    engine = evaluate_checks(case.model, case.values)
    ws = recalculated[name]["Checks"]
    rows = {ws.cell(row=r, column=1).value: r for r in range(1, ws.max_row + 1)}
    assert [c.label for c in engine] == [c.label for c in case.model.checks]
    for check in engine:
        row = rows[check.label]
        ok, value, other, difference = (ws.cell(row=row, column=c).value for c in (2, 3, 4, 5))
        if check.name in ENGINE_SEES[name]:  # the input changed since the snapshot
            assert (check.value, check.ok) == (0, True), check.name
            assert value >= 1 and ok == 0, check.name
            continue
        assert _same(check.value, value), (check.name, check.value, value)
        if other is None:  # a condition on the figure alone: no other route, no difference
            assert check.other != check.other and check.difference != check.difference
        else:
            assert _same(check.other, other), (check.name, check.other, other)
            size = max(1.0, abs(value)) if isinstance(value, float | int) else 1.0
            assert _same(check.difference, difference, 1e-9 * size), check.name
        assert check.ok == (ok == 1), (check.name, ok)


def test_the_engine_fails_the_checks_an_input_can_break():
    """High selling 30% less than Base puts High's NPV below Base's: the ordering
    check fails in the engine, and with it the master check; the others pass."""
    model = build_model(example_spec("hardware"))
    checks = evaluate_checks(model, {"HighRevenue": -0.3})
    failed = {c.name for c in checks if not c.ok}
    assert failed == {"ordered"}
    assert not all(c.ok for c in checks if not c.warning)


def test_the_checks_take_one_set_of_inputs():
    model = build_model(example_spec("hardware"))
    with pytest.raises(ValueError, match="the checks take one set of inputs; got 2 trials"):
        evaluate_checks(model, {"TaxRate": np.array([0.2, 0.3])})
