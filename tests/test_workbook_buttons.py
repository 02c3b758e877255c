"""The generated workbooks carry the buttons the scripts are bound to, and keep them."""

from __future__ import annotations

import shutil

import xlwings.server
from typer.testing import CliRunner

from addin import macros
from addin.cli import app
from udfs.model import build_model
from udfs.portfolio import plan
from udfs.risk import simulate
from workbooks.business_case import write_business_case
from workbooks.buttons import buttons_of, read_buttons
from workbooks.examples import example_spec
from workbooks.inject import put_sheet
from workbooks.portfolio_workbook import write_portfolio
from workbooks.risk_sheet import risk_sheet
from workbooks.rollup import read_cases


def _shapes(path) -> dict[str, tuple[str, str, str]]:
    return {b["name"]: (b["sheet"], b["cell"], b["macro"]) for b in read_buttons(path)}


def _expected(workbook: str) -> dict[str, tuple[str, str, str]]:
    """Each button on its sheet, linked to its cell, naming no macro (the .xlsx has none)."""
    return {b.name: (b.sheet, b.cell, "") for b in buttons_of(workbook)}


def test_every_script_binding_has_its_shape_in_the_generated_workbooks(tmp_path):
    case = write_business_case(example_spec("saas"), tmp_path / "case.xlsx")
    portfolio = write_portfolio(plan(read_cases([case])), tmp_path / "portfolio.xlsx")
    shapes = {**_shapes(case), **_shapes(portfolio)}
    for script in xlwings.server.custom_scripts_meta(macros):
        name, where = script["button"][1:].split("]")
        sheet, cell = where.split("!")
        assert shapes[name][:2] == (sheet, cell), script["function_name"]
    assert _shapes(case) == _expected("case")
    assert _shapes(portfolio) == _expected("portfolio")


def test_writing_the_risk_sheet_keeps_the_buttons(tmp_path):
    case = write_business_case(example_spec("analytics_addon"), tmp_path / "case.xlsx")
    before = _shapes(case)
    sim = simulate(build_model(example_spec("analytics_addon")), 500, 1)
    put_sheet(case, risk_sheet(sim, "Atlas", "EUR"))
    put_sheet(case, risk_sheet(sim, "Atlas", "EUR"))
    assert _shapes(case) == before == _expected("case")


def test_an_upgraded_workbook_has_the_buttons(tmp_path):
    from workbooks.integrity import upgrade_workbook

    old = write_business_case(example_spec("sunset"), tmp_path / "old.xlsx")
    shutil.copy(old, tmp_path / "copy.xlsx")
    new = upgrade_workbook(tmp_path / "copy.xlsx", tmp_path / "new.xlsx").path
    assert _shapes(new) == _expected("case")


def test_an_xlsm_name_is_refused_and_nothing_is_written(tmp_path):
    """An .xlsx package under an .xlsm name is a file Excel refuses to open."""
    result = CliRunner().invoke(app, ["new", "--example", "-o", str(tmp_path / "case.xlsm")])
    assert result.exit_code == 1
    assert "expected an .xlsx name, got .xlsm" in result.output
    assert "addin/bizcase.bas" in result.output
    assert list(tmp_path.iterdir()) == []
