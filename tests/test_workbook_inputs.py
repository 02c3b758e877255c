"""Typed-in inputs are held to the spec's rules wherever a workbook is read.

A user can type anything into a yellow input cell. A target share of 15
(1,500%) or a negative price must never yield numbers: evaluate, check,
upgrade, simulate, the rollup and the buttons all go through one reader,
which refuses such a workbook naming the sheet, the cell and the defined
name, and lists every problem at once.
"""

from __future__ import annotations

import re
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner
from xlbook import book_json, run_script

from addin import macros
from addin.cli import app
from workbooks.business_case import write_business_case
from workbooks.examples import example_spec
from workbooks.reader import InputError, read_business_case
from workbooks.rollup import read_cases


def run(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def _input_cell(wb, name: str):
    ((sheet, ref),) = wb.defined_names[name].destinations
    return wb[sheet][ref.replace("$", "").split(":")[0]]


@pytest.fixture(scope="module")
def fresh(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("inputs")
    return write_business_case(example_spec("analytics_addon"), folder / "atlas.xlsx")


def _typed(fresh: Path, folder: Path, **typed) -> tuple[Path, dict[str, str]]:
    """A copy of the workbook with ``typed`` values in the named input cells."""
    wb = openpyxl.load_workbook(fresh)
    where = {}
    for name, value in typed.items():
        cell = _input_cell(wb, name)
        cell.value = value
        where[name] = f"{cell.parent.title}!{cell.coordinate}"
    path = folder / "typed.xlsx"
    wb.save(path)
    return path, where


@pytest.fixture
def share_1500(fresh, tmp_path):
    return _typed(fresh, tmp_path, In_TargetShare=15)


def test_a_share_above_100_percent_is_refused_naming_sheet_cell_and_name(share_1500):
    path, where = share_1500
    with pytest.raises(InputError) as raised:
        read_business_case(path)
    message = str(raised.value)
    assert where["In_TargetShare"] in message and "In_TargetShare" in message
    assert "must be at most 1 (100%); got 15 (1500%)" in message


def test_every_problem_is_listed_at_once(fresh, tmp_path):
    path, where = _typed(fresh, tmp_path, In_TargetShare=15, In_Price=-200, In_TaxRate="a lot")
    with pytest.raises(InputError) as raised:
        read_business_case(path)
    assert len(raised.value.problems) == 3
    message = str(raised.value)
    for name, cell in where.items():
        assert f"{cell} ({name}" in message
    assert "must be at least 0; got -200" in message
    assert "expected a number; got 'a lot'" in message


@pytest.mark.parametrize(
    "command",
    [
        ("evaluate",),
        ("evaluate", "--json"),
        ("check",),
        ("simulate", "--trials", "200"),
        ("sensitivity",),
    ],
)
def test_commands_refuse_the_workbook_with_the_reason(share_1500, command):
    path, where = share_1500
    result = run(command[0], path, *command[1:])
    assert result.exit_code != 0
    said = result.stdout + result.stderr  # check lists problems on stdout, the rest fail
    assert "NPV" not in result.stdout
    assert where["In_TargetShare"] in said and "In_TargetShare" in said
    assert "Traceback" not in said


def test_upgrade_refuses_and_writes_nothing(share_1500, tmp_path):
    path, where = share_1500
    target = tmp_path / "upgraded.xlsx"
    result = run("upgrade", path, "-o", target)
    assert result.exit_code != 0
    assert where["In_TargetShare"] in result.stderr
    assert not target.exists()


def test_rollup_lists_the_case_under_exceptions(fresh, share_1500, tmp_path):
    path, where = share_1500
    rolled = read_cases([fresh, path])
    assert [c.id for c in rolled.cases] == [example_spec("analytics_addon").meta.id or "atlas"]
    ((bad, reason),) = rolled.exceptions
    assert bad == path and where["In_TargetShare"] in reason


def test_the_monte_carlo_button_refuses_the_workbook(share_1500):
    path, where = share_1500
    with pytest.raises(Exception) as raised:
        run_script(macros, "run_monte_carlo", book_json(path))
    assert re.search(rf"{re.escape(where['In_TargetShare'])} \(In_TargetShare", str(raised.value))


def test_inputs_within_the_rules_still_evaluate(fresh, tmp_path):
    path, _ = _typed(fresh, tmp_path, In_TargetShare=1.0, In_Price=0)
    case = read_business_case(path)
    assert case.values["TargetShare"] == 1.0 and case.values["Price"] == 0.0
