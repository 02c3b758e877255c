"""Workbooks made by earlier templates keep working.

``tests/fixtures/template_<version>/`` holds workbooks exactly as an earlier
bizcase wrote them (see the README there). Each must still be read with every
input the user typed, evaluated, simulated, rolled up and upgraded into the
current template with those inputs kept.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from addin.cli import app
from workbooks.business_case import TEMPLATE_VERSION
from workbooks.reader import read_business_case
from workbooks.rollup import read_cases

FIXTURES = Path(__file__).parent / "fixtures"
CASES = sorted(p for p in FIXTURES.glob("template_*/*.xlsx") if p.name != "portfolio.xlsx")
#: Every earlier template kept in fixtures: each folder holds the same kinds of workbook.
VERSIONS = sorted(p.name.removeprefix("template_") for p in FIXTURES.glob("template_*"))


def run(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def test_every_earlier_template_released_has_its_fixtures():
    assert {"1.0", "1.1"} <= set(VERSIONS)
    assert TEMPLATE_VERSION not in VERSIONS


@pytest.mark.parametrize("version", VERSIONS)
def test_each_template_has_every_kind_of_fixture(version):
    assert {p.name for p in FIXTURES.glob(f"template_{version}/*.xlsx")} >= {
        "plain.xlsx",
        "scenario_low.xlsx",
        "edited.xlsx",
        "simulated.xlsx",
        "portfolio.xlsx",
    }


@pytest.mark.parametrize("path", CASES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_old_workbook_evaluates(path):
    case = read_business_case(path)
    result = run("evaluate", path, "--json")
    assert result.exit_code == 0, result.stderr
    assert math.isfinite(case.values["DiscountRate"])
    assert case.template_version == path.parent.name.removeprefix("template_")


@pytest.mark.parametrize("version", VERSIONS)
def test_typed_inputs_of_an_old_workbook_are_read_as_typed(version):
    """edited.xlsx: the user typed 9.5%, 27% and chose High (see the fixtures' README)."""
    case = read_business_case(FIXTURES / f"template_{version}" / "edited.xlsx")
    assert case.values["DiscountRate"] == 0.095
    assert case.values["TaxRate"] == 0.27
    assert case.scenario == "High"
    low = read_business_case(FIXTURES / f"template_{version}" / "scenario_low.xlsx")
    assert low.scenario == "Low"


@pytest.mark.parametrize("path", CASES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_old_workbook_passes_check(path):
    """Nothing was edited but inputs: check finds no problem in an older template."""
    result = run("check", path)
    assert result.exit_code == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", CASES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_old_workbook_upgrades_keeping_every_input(path, tmp_path):
    before = read_business_case(path)
    target = tmp_path / "upgraded.xlsx"
    result = run("upgrade", path, "-o", target)
    assert result.exit_code == 0, result.stderr
    # the move is said once, as what happened, not as something left behind
    assert f"(template {before.template_version} -> {TEMPLATE_VERSION}," in result.stdout
    assert "not carried over: template" not in result.stderr
    after = read_business_case(target)
    assert after.template_version == TEMPLATE_VERSION
    for name, value in before.values.items():
        assert np.array_equal(np.asarray(after.values[name]), np.asarray(value)), name


@pytest.mark.parametrize("version", VERSIONS)
def test_old_workbook_simulates(version, tmp_path):
    source = FIXTURES / f"template_{version}" / "simulated.xlsx"
    path = Path(shutil.copy(source, tmp_path / "s.xlsx"))
    result = run("simulate", path, "--trials", "300", "--seed", "1", "--write")
    assert result.exit_code == 0, result.stderr
    assert read_business_case(path).values


def test_old_workbooks_roll_up(tmp_path):
    rolled = read_cases(CASES)
    assert rolled.exceptions == []
    result = run(
        "rollup", *CASES, "-o", tmp_path / "p.xlsx", "--currency", "EUR", "--fx", "USD=0.9"
    )
    assert result.exit_code == 0, result.stderr


@pytest.mark.parametrize("version", VERSIONS)
def test_an_old_portfolio_given_as_a_case_is_refused_cleanly(version):
    result = run("evaluate", FIXTURES / f"template_{version}" / "portfolio.xlsx")
    assert result.exit_code != 0
    assert "Traceback" not in result.stderr
