"""``bizcase evaluate --checks``: the model's checks from a workbook's inputs.

The checks are model outputs (the expressions the Checks sheet renders), so a
script can ask for them without Excel. A fresh workbook passes every check; an
input edit that breaks one (High selling 30% less than Base, so High's NPV
falls below Base's) fails that check: named on stderr, false in the JSON, exit
status 4. The analytics example's terminal value is over its limit share of
NPV: a warning, which changes no exit status.
"""

from __future__ import annotations

import json

import openpyxl
import pytest
from typer.testing import CliRunner

from addin.cli import app
from workbooks.business_case import write_business_case
from workbooks.examples import example_spec

CHECK_NAMES = {
    "selector",
    "cash",
    "depreciation",
    "working_capital",
    "scenarios",
    "ordered",
    "stale",
    "errors",
    "TerminalValueShare",
}


def run(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli_checks")
    hardware = write_business_case(example_spec("hardware"), folder / "hardware.xlsx")
    analytics = write_business_case(example_spec("analytics_addon"), folder / "analytics.xlsx")
    reordered = write_business_case(example_spec("hardware"), folder / "reordered.xlsx")
    wb = openpyxl.load_workbook(reordered)
    ((sheet, ref),) = wb.defined_names["In_HighRevenue"].destinations
    wb[sheet][ref.replace("$", "")].value = -0.3
    wb.save(reordered)
    return {"hardware": hardware, "analytics": analytics, "reordered": reordered}


def test_a_fresh_workbook_passes_every_check(cases):
    result = run("evaluate", cases["hardware"], "--checks", "--json")
    assert result.exit_code == 0, result.output
    checks = json.loads(result.stdout)["checks"]
    assert set(checks) == CHECK_NAMES
    assert all(c["ok"] for c in checks.values())
    # Figures travel with the verdict: the cash check's two routes agree.
    cash = checks["cash"]
    assert abs(cash["difference"]) <= 0.01
    assert cash["value"] == pytest.approx(cash["other"], rel=1e-12)


def test_an_input_that_breaks_a_check_fails_it(cases):
    result = run("evaluate", cases["reordered"], "--checks", "--json")
    assert result.exit_code == 4
    checks = json.loads(result.stdout)["checks"]
    assert {name for name, c in checks.items() if not c["ok"]} == {"ordered"}
    assert checks["ordered"]["value"] < 0  # the step from Base up to High is negative
    assert "check failed: Low NPV <= Base NPV <= High NPV" in result.stderr


def test_a_warning_does_not_change_the_exit_status(cases):
    result = run("evaluate", cases["analytics"], "--checks")
    assert result.exit_code == 0, result.output
    assert "warning: Terminal value at most In_TVShareLimit of NPV" in result.stderr


def test_without_the_flag_the_output_is_the_outputs_alone(cases):
    result = run("evaluate", cases["reordered"], "--json")
    assert result.exit_code == 0
    assert "checks" not in json.loads(result.stdout)
