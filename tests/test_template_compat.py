"""Workbooks of template 1.0 (before the valuation clock) still evaluate, check and upgrade.

``fixtures/template_1.0/hardware.xlsx`` is the hardware example as template 1.0
generated it (no period 0, no timing, release, maintenance capex or limit
inputs). Its model reads the inputs it lacks at the spec's defaults; ``check``
verifies its own consistency (it cannot be compared with today's layout);
``upgrade`` carries its inputs into the current template and names the ones it
had to fill in.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from addin.cli import app
from udfs.model import build_model, evaluate
from workbooks.business_case import TEMPLATE_VERSION
from workbooks.examples import example_spec
from workbooks.reader import read_business_case

FIXTURE = Path(__file__).parent / "fixtures" / "template_1.0" / "hardware.xlsx"
NEW_INPUTS = ("Timing", "ReleaseWorkingCapital", "CapexNow", "WorkingCapitalNow", "TVShareLimit")


def cli(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def test_the_fixture_is_a_template_1_0_workbook():
    wb = openpyxl.load_workbook(FIXTURE, read_only=True)
    assert wb["_bizcase"]["B1"].value == "1.0"
    assert not {f"In_{n}" for n in NEW_INPUTS} & set(wb.defined_names)


def test_an_old_workbook_evaluates_with_the_new_inputs_at_their_defaults():
    case = read_business_case(FIXTURE)
    assert case.template_version == "1.0"
    assert case.values["Timing"] == "End"
    assert case.values["ReleaseWorkingCapital"] == 1.0
    assert case.values["CapexNow"] == 0.0
    # Unedited, it is the example: the engine gives the example's numbers.
    expected = evaluate(build_model(example_spec("hardware"))).outputs
    assert evaluate(case.model, case.values).outputs == pytest.approx(expected, rel=1e-12)
    result = cli("evaluate", FIXTURE, "--json")
    assert result.exit_code == 0, result.stderr


def test_check_verifies_an_old_workbook_for_consistency(tmp_path):
    result = cli("check", FIXTURE)
    assert result.exit_code == 0, result.stdout
    assert "template 1.0" in result.stdout and f"template {TEMPLATE_VERSION}" in result.stdout
    damaged = Path(shutil.copy(FIXTURE, tmp_path / "old.xlsx"))
    wb = openpyxl.load_workbook(damaged)
    ws = wb["Calculations"]
    (row,) = [c.row for c in ws["A"] if c.value == "EBITDA"]
    ws.cell(row=row, column=7).value = 1234.0  # typed over period 3's formula
    wb.save(damaged)
    result = cli("check", damaged, "--json")
    assert result.exit_code == 4
    assert '"override"' in result.stdout and f'"G{row}"' in result.stdout


def test_upgrade_carries_an_old_workbook_into_the_current_template(tmp_path):
    new = tmp_path / "new.xlsx"
    result = cli("upgrade", FIXTURE, "-o", new)
    assert result.exit_code == 0, result.stderr
    for name in NEW_INPUTS:
        assert name in result.stderr  # named as filled in from the spec
    upgraded = read_business_case(new)
    assert upgraded.template_version == TEMPLATE_VERSION
    old = read_business_case(FIXTURE).values
    assert set(upgraded.values) == set(old)
    assert cli("check", new).exit_code == 0


def test_a_note_typed_past_the_timeline_does_not_stretch_the_consistency_check(tmp_path):
    """Template 1.1's P&L block ends in a Total column (a SUM, not the row's formula):
    the check stops at the last period label, even with text typed further along the
    header row, and still finds a number typed over a period."""
    fixture = Path(__file__).parent / "fixtures" / "template_1.1" / "plain.xlsx"
    noted = Path(shutil.copy(fixture, tmp_path / "noted.xlsx"))
    wb = openpyxl.load_workbook(noted)
    ws = wb["Calculations"]
    ws["P3"].value = "note: figures from the June forecast"
    wb.save(noted)
    result = cli("check", noted, "--json")
    assert result.exit_code == 0, result.stdout
    row = next(c.row for c in ws["A"] if c.value == "EBITDA")  # the timeline's, not the P&L's
    ws.cell(row=row, column=7).value = 99.0  # typed over period 2 (E is "now")
    wb.save(noted)
    result = cli("check", noted, "--json")
    assert result.exit_code == 4
    assert f'"G{row}"' in result.stdout and '"override"' in result.stdout
