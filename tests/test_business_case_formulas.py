"""The generated workbook follows the modelling standard (DESIGN.md, FAST's spirit).

Scanned on the calculation sheets (Calculations, ScenarioCalcs, Valuation,
Checks, KPIs, Scenarios) of every shipped example and every randomized spec of
the parity module, without LibreOffice:

* no numeric literal other than 0 and 1 in any formula: formulas are split
  into tokens by openpyxl's Excel tokenizer, so string literals, cell
  references, defined names and function names are set apart from number
  operands (no exception list is needed: none of the formulas has another
  number);
* no OFFSET or INDIRECT (volatile);
* one formula per row: on Calculations and ScenarioCalcs every period column
  of a row holds the first period's formula translated to its column;
* costs are negative in the cash flow: the engine's lines (the same
  expressions the workbook renders) for COGS, opex, capex, development and
  tax in profitable periods are never positive.
"""

from __future__ import annotations

import re
from functools import cache

import numpy as np
import pytest
from openpyxl import Workbook
from openpyxl.formula.tokenizer import Token, Tokenizer
from openpyxl.formula.translate import Translator
from openpyxl.utils import get_column_letter
from test_business_case_parity import CASES, case_spec

from udfs.model import build_model, evaluate
from udfs.spec import SCENARIOS
from workbooks.business_case import FIRST_PERIOD_COLUMN, build_workbook
from workbooks.examples import EXAMPLES

CALCULATION_SHEETS = ("Calculations", "ScenarioCalcs", "Valuation", "Checks", "KPIs", "Scenarios")
TIMELINE_SHEETS = ("Calculations", "ScenarioCalcs")
ALLOWED_NUMBERS = {"0", "1"}
VOLATILE = {"OFFSET", "INDIRECT"}
HEADER_ROW = 3  # Calculations: the period labels above the timeline

# A reference or a name, optionally sheet-qualified: what a RANGE operand must
# look like, so that no number can hide in one.
_SHEET = r"(?:(?:'[^']+'|[A-Za-z_][\w.]*)!)?"
_CELL = rf"{_SHEET}\$?[A-Z]{{1,3}}\$?\d+"
_REFERENCE = re.compile(rf"^(?:{_CELL}(?::{_CELL})?|{_SHEET}[A-Za-z_\\][\w.]*)$")


@pytest.fixture(scope="module")
def workbooks():
    return {name: build_workbook(case_spec(name)) for name in CASES}


def _formulas(ws):
    for row in ws.iter_rows():
        for cell in row:
            if cell.data_type == "f":
                yield cell.coordinate, cell.value


@cache
def _tokens(formula: str) -> tuple[Token, ...]:
    return tuple(Tokenizer(formula).items)


def _operands(formula: str, subtype: str) -> list[str]:
    return [
        tok.value
        for tok in _tokens(formula)
        if tok.type == Token.OPERAND and tok.subtype == subtype
    ]


def _functions(formula: str) -> list[str]:
    return [
        tok.value.rstrip("(").upper()
        for tok in _tokens(formula)
        if tok.type == Token.FUNC and tok.subtype == Token.OPEN
    ]


def test_scanner_finds_numbers_and_volatile_functions():
    # The scan must see a literal hidden among references, names and strings.
    formula = '=IF(In_Gate2Year>E$5,SUM(Calculations!$E$12:F12)*12,"Q3")+OFFSET(A1,0,1)'
    assert _operands(formula, Token.NUMBER) == ["12", "0", "1"]
    assert "OFFSET" in _functions(formula)
    assert all(_REFERENCE.match(r) for r in _operands(formula, Token.RANGE))
    assert not _REFERENCE.match("12")


@pytest.mark.parametrize("case", CASES)
def test_calculation_formulas_hold_no_numeric_literal_but_0_and_1(workbooks, case):
    wb = workbooks[case]
    bad = []
    for sheet in CALCULATION_SHEETS:
        seen = 0
        for coordinate, formula in _formulas(wb[sheet]):
            seen += 1
            numbers = set(_operands(formula, Token.NUMBER)) - ALLOWED_NUMBERS
            odd_ranges = [r for r in _operands(formula, Token.RANGE) if not _REFERENCE.match(r)]
            if numbers or odd_ranges:
                bad.append(f"{sheet}!{coordinate}: {sorted(numbers) + odd_ranges} in {formula}")
        assert seen, f"{case}: no formulas found on {sheet}"
    assert not bad, f"{case}: hard-coded numbers: " + "; ".join(bad[:10])


@pytest.mark.parametrize("case", CASES)
def test_calculation_formulas_use_no_offset_or_indirect(workbooks, case):
    wb = workbooks[case]
    bad = [
        f"{sheet}!{coordinate}: {formula}"
        for sheet in CALCULATION_SHEETS
        for coordinate, formula in _formulas(wb[sheet])
        if VOLATILE & set(_functions(formula))
    ]
    assert not bad, f"{case}: volatile functions: " + "; ".join(bad[:10])


def _row_copy_errors(ws, row: int, columns: list[str]) -> list[str]:
    """Where a row's period columns differ from its first formula copied across."""
    cells = [ws[f"{col}{row}"] for col in columns]
    formulas = [c for c in cells if c.data_type == "f"]
    if not formulas:
        return []
    if len(formulas) != len(cells):
        missing = [c.coordinate for c in cells if c.data_type != "f"]
        return [f"{ws.title}!{row}: no formula in {missing}"]
    first = cells[0]
    translator = Translator(first.value, origin=first.coordinate)
    return [
        f"{ws.title}!{c.coordinate}: {c.value} is not {first.coordinate}'s {expected}"
        for c in cells[1:]
        if c.value != (expected := translator.translate_formula(c.coordinate))
    ]


def test_copy_check_spots_a_row_that_is_not_one_formula():
    ws = Workbook().active
    ws["E7"], ws["F7"], ws["G7"] = "=SUM($E6:E6)*In_Rate", "=SUM($E6:F6)*In_Rate", "=F6*In_Rate"
    ws["E8"], ws["F8"], ws["G8"] = "=D8+E6", "=E8+F6", "=F8+G6"
    ws["E9"], ws["F9"] = "=E6", "=F6"
    assert _row_copy_errors(ws, 8, ["E", "F", "G"]) == []
    assert [e.split(":")[0] for e in _row_copy_errors(ws, 7, ["E", "F", "G"])] == ["Sheet!G7"]
    assert "no formula" in _row_copy_errors(ws, 9, ["E", "F", "G"])[0]


def _period_columns(case: str) -> list[str]:
    periods = build_model(case_spec(case)).periods
    return [get_column_letter(FIRST_PERIOD_COLUMN + p) for p in range(periods + 1)]  # 0 = now


@pytest.mark.parametrize("case", CASES)
def test_each_timeline_row_holds_one_formula_copied_across(workbooks, case):
    wb = workbooks[case]
    columns = _period_columns(case)
    errors, rows = [], 0
    for sheet in TIMELINE_SHEETS:
        ws = wb[sheet]
        for row in range(1, ws.max_row + 1):
            if sheet == "Calculations" and row == HEADER_ROW:
                continue  # labels, checked by test_period_labels_are_one_formula_copied_across
            found = _row_copy_errors(ws, row, columns)
            rows += ws[f"{columns[0]}{row}"].data_type == "f"
            errors += found
    assert rows > 50, f"{case}: only {rows} timeline rows found"
    assert not errors, f"{case}: " + "; ".join(errors[:10])


@pytest.mark.parametrize("case", CASES)
def test_period_labels_are_one_formula_copied_across(workbooks, case):
    ws = workbooks[case]["Calculations"]
    columns = _period_columns(case)
    assert ws[f"{columns[0]}{HEADER_ROW}"].data_type == "f"
    errors = _row_copy_errors(ws, HEADER_ROW, columns)
    assert not errors, f"{case}: " + "; ".join(errors[:4])


# --- costs negative in the cash flow -----------------------------------------------

COST_LINES = (
    "cogs",
    "opex",
    "variable_opex",
    "other_costs",
    "development",
    "capex",
    "depreciation",
)


@pytest.mark.parametrize("case", CASES)
def test_costs_are_negative_in_cash_flow(case):
    spec = case_spec(case)
    model = build_model(spec)
    names = [
        *COST_LINES,
        *(f"fixed_{i}" for i in range(1, len(spec.costs.fixed) + 1)),
        *(f"staff_{i}" for i in range(1, len(spec.costs.headcount) + 1)),
    ]
    problems = []
    for scenario in SCENARIOS:
        lines = evaluate(model, scenario=scenario).lines
        for name in names:
            positive = np.flatnonzero(lines[name] > 0)
            if positive.size:
                problems.append(f"{scenario} {name}: positive in periods {positive + 1}")
        profitable = lines["ebit"] >= 0
        if spec.finance.losses == "carry_forward":
            profitable[:] = True  # losses only reduce later tax, never refund it
        refunds = np.flatnonzero((lines["tax"] > 0) & profitable)
        if refunds.size:
            problems.append(f"{scenario} tax: positive in periods {refunds + 1}")
        assert lines["opex"].sum() < 0, f"{case} {scenario}: no opex at all"
    assert not problems, f"{case}: " + "; ".join(problems)


@pytest.mark.parametrize("case", list(EXAMPLES))
def test_examples_pay_tax_and_spend_in_cash_flow(case):
    # Guards the sign test above against vacuity on the shipped examples:
    # each has COGS, capex or development spending, and a profitable year.
    lines = evaluate(build_model(case_spec(case))).lines
    assert lines["cogs"].min() < 0
    assert min(lines["capex"].min(), lines["development"].min()) < 0
    assert lines["tax"].min() < 0
