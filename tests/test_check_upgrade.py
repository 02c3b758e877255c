"""``bizcase check`` and ``bizcase upgrade``: the headless twins of the Check and Rebuild buttons.

A workbook is damaged the way people damage models (with openpyxl, as another
program saving the file would): a number typed over a period formula, a formula
edited, a reference broken into ``#REF!``, a defined name deleted. ``check``
must name each cell with its kind and exit 4; a fresh workbook passes with 0.
``upgrade`` must carry every input (scalars, a series, the scenario selector)
and the KPI actuals into the current template, produce a file that passes
``check``, refuse to overwrite, and say what it left behind.
"""

from __future__ import annotations

import json
import re
import shutil
import zipfile
from pathlib import Path

import numpy as np
import openpyxl
import pytest
from libreoffice import recalculate
from openpyxl.utils.cell import coordinate_to_tuple
from typer.testing import CliRunner

from addin.cli import app
from workbooks.business_case import FIRST_PERIOD_COLUMN, write_business_case
from workbooks.examples import example_spec
from workbooks.reader import read_business_case

EXAMPLE = "analytics_addon"
PROBLEMS_EXIT = 4
# KPI actuals a user types into the yellow cells (rows labelled "Actual").
ACTUALS = {"C6": 1234.0, "D10": 560_000.0, "E18": -1000.0}
DEVELOPMENT = [600_000.0, 300_000.0, 50_000.0, 0.0, 0.0, 0.0, 0.0]


def cli(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def fresh(tmp_path_factory) -> Path:
    return write_business_case(
        example_spec(EXAMPLE), tmp_path_factory.mktemp("fresh") / f"{EXAMPLE}.xlsx"
    )


@pytest.fixture
def copy(fresh, tmp_path) -> Path:
    return Path(shutil.copy(fresh, tmp_path / "case.xlsx"))


def _period_cell(ws, label: str, period: int):
    """The cell of ``label``'s row (the one with period formulas) in period ``period``;
    the model's line, not its link in the P&L block at the foot of the sheet."""
    column = FIRST_PERIOD_COLUMN + period  # period 0 (now) is the first column
    row, *_ = [
        r
        for r in range(1, ws.max_row + 1)
        if ws.cell(row=r, column=1).value == label
        and str(ws.cell(row=r, column=column).value).startswith("=")
    ]
    return ws.cell(row=row, column=column)


def _named_cells(wb, name: str) -> list:
    ((sheet, ref),) = wb.defined_names[name].destinations
    got = wb[sheet][ref.replace("$", "")]
    return [c for row in got for c in row] if isinstance(got, tuple) else [got]


def _check_json(path: Path) -> tuple[int, list[dict]]:
    result = cli("check", path, "--json")
    return result.exit_code, json.loads(result.stdout)


# --- check ---------------------------------------------------------------------------


def test_check_passes_a_freshly_generated_workbook(fresh):
    result = cli("check", fresh)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "every calculation matches the template" in result.stdout
    assert _check_json(fresh) == (0, [])


@pytest.fixture
def damaged(copy) -> tuple[Path, dict[str, str]]:
    """The copy with three calculation cells damaged; cell -> the kind check must name."""
    wb = openpyxl.load_workbook(copy)
    ws = wb["Calculations"]
    typed = _period_cell(ws, "Revenue", 2)
    typed.value = 123_456.0  # a number typed over the formula
    edited = _period_cell(ws, "EBITDA", 3)
    edited.value = f"{edited.value}*1.1"
    broken = _period_cell(ws, "Incremental free cash flow", 4)
    baseline = _period_cell(ws, "Baseline free cash flow (do nothing)", 4).coordinate
    assert baseline in broken.value  # =(fcf-baseline): the baseline row the user deleted
    broken.value = broken.value.replace(baseline, "#REF!")
    wb.save(copy)
    return copy, {
        typed.coordinate: "override",
        edited.coordinate: "edited formula",
        broken.coordinate: "broken reference",
    }


def test_check_names_each_damaged_cell_with_its_kind_and_exits_4(damaged):
    path, expected = damaged
    status, problems = _check_json(path)
    assert status == PROBLEMS_EXIT
    assert sorted((p["sheet"], p["cell"], p["kind"]) for p in problems) == sorted(
        ("Calculations", cell, kind) for cell, kind in expected.items()
    )


def test_check_prints_one_line_per_problem_naming_sheet_cell_and_kind(damaged):
    path, expected = damaged
    result = cli("check", path)
    assert result.exit_code == PROBLEMS_EXIT
    lines = result.stdout.splitlines()
    for cell, kind in expected.items():
        assert [line for line in lines if line.startswith(f"Calculations!{cell}: {kind}: ")], cell
    assert len(lines) == len(expected)
    assert f"{len(expected)} problem(s)" in result.stderr


def test_check_reports_the_typed_number_and_the_formula_it_replaced(damaged):
    path, _ = damaged
    _, problems = _check_json(path)
    (override,) = [p for p in problems if p["kind"] == "override"]
    assert "123456" in override["detail"]
    assert "=" in override["detail"]  # the template's formula, to restore it from


def test_check_reports_a_deleted_defined_name(copy):
    wb = openpyxl.load_workbook(copy)
    del wb.defined_names["Out_IRR"]
    wb.save(copy)
    status, problems = _check_json(copy)
    assert status == PROBLEMS_EXIT
    assert [(p["cell"], p["kind"]) for p in problems] == [("Out_IRR", "missing name")]
    assert "Out_IRR" in cli("check", copy).stdout


def test_check_fails_with_a_reason_on_a_file_that_is_not_a_business_case(tmp_path):
    other = tmp_path / "other.xlsx"
    openpyxl.Workbook().save(other)
    result = cli("check", other)
    assert result.exit_code not in (0, PROBLEMS_EXIT)
    assert "not a bizcase workbook" in result.stderr


# --- upgrade ---------------------------------------------------------------------------


@pytest.fixture
def old(copy) -> Path:
    """A workbook a user has worked in: inputs changed, actuals typed, a sheet of their own."""
    wb = openpyxl.load_workbook(copy)
    (price,) = _named_cells(wb, "In_Price")
    price.value = price.value * 1.2
    (rate,) = _named_cells(wb, "In_DiscountRate")
    rate.value = 0.123
    (tam,) = _named_cells(wb, "In_TAM")
    tam.value = tam.value * 0.8
    development = _named_cells(wb, "In_Development")
    assert len(development) == len(DEVELOPMENT)
    for cell, value in zip(development, DEVELOPMENT, strict=True):
        cell.value = value
    (scenario,) = _named_cells(wb, "In_Scenario")
    scenario.value = "High"
    kpis = wb["KPIs"]
    for coordinate, value in ACTUALS.items():
        row, _ = coordinate_to_tuple(coordinate)
        assert kpis.cell(row=row, column=2).value == "Actual"
        kpis[coordinate].value = value
    wb.create_sheet("My notes")["A1"].value = "why we believe the price"
    wb.save(copy)
    return copy


@pytest.fixture
def upgraded(old, tmp_path):
    new = tmp_path / "new.xlsx"
    result = cli("upgrade", old, "-o", new)
    assert result.exit_code == 0, result.stderr
    return old, new, result


def _same(a, b) -> bool:
    return np.array_equal(a, b) if isinstance(a, np.ndarray) else a == b


def test_upgrade_carries_every_input_of_the_old_workbook(fresh, upgraded):
    old, new, _ = upgraded
    before = read_business_case(old).values
    after = read_business_case(new).values
    names = {n for n in openpyxl.load_workbook(old).defined_names if n.startswith("In_")}
    assert {f"In_{k}" for k in before} == names  # the reader sees every In_ name
    assert {n for n in openpyxl.load_workbook(new).defined_names if n.startswith("In_")} == names
    assert before.keys() == after.keys()
    differs = [k for k in before if not _same(before[k], after[k])]
    assert differs == []
    # The edits are real: the carried values are not simply the template's defaults.
    defaults = read_business_case(fresh).values
    edited = [k for k in before if not _same(before[k], defaults[k])]
    assert sorted(edited) == sorted(["Price", "DiscountRate", "TAM", "Development", "Scenario"])
    assert after["Scenario"] == "High"
    assert after["Development"].tolist() == DEVELOPMENT


def test_upgrade_carries_the_kpi_actuals(upgraded):
    _, new, _ = upgraded
    kpis = openpyxl.load_workbook(new)["KPIs"]
    assert {c: kpis[c].value for c in ACTUALS} == ACTUALS


def test_upgraded_workbook_passes_check(upgraded):
    _, new, _ = upgraded
    result = cli("check", new)
    assert result.exit_code == 0, result.stdout


def test_upgrade_reports_a_user_added_sheet_as_not_carried_over(upgraded):
    _, new, result = upgraded
    assert "not carried over: sheet 'My notes'" in result.stderr
    assert "My notes" not in openpyxl.load_workbook(new, read_only=True).sheetnames
    assert f"{len(read_business_case(new).values)} inputs carried over" in result.stdout


def test_upgrade_refuses_to_overwrite_without_force(upgraded):
    old, new, _ = upgraded
    before = new.read_bytes()
    refused = cli("upgrade", old, "-o", new)
    assert refused.exit_code != 0
    assert "--force" in refused.stderr
    assert new.read_bytes() == before
    forced = cli("upgrade", old, "-o", new, "--force")
    assert forced.exit_code == 0, forced.stderr


# --- every kind of tampering is a problem (exit 4), named ------------------------------


def _rename_name(wb, old: str, new: str) -> None:
    defined = wb.defined_names[old]
    del wb.defined_names[old]
    defined.name = new
    wb.defined_names[new] = defined


def _type_into(wb, name: str, value) -> None:
    ((sheet, ref),) = wb.defined_names[name].destinations
    wb[sheet][ref.replace("$", "")].value = value


@pytest.mark.parametrize(
    ("tamper", "kind", "where"),
    [
        (lambda wb: _rename_name(wb, "In_Price", "In_PriceOld"), "missing name", "In_Price"),
        (lambda wb: wb.remove(wb["Calculations"]), "missing sheet", "Calculations"),
        (lambda wb: wb.remove(wb["Inputs"]), "missing sheet", "Inputs"),
        (lambda wb: wb.remove(wb["Cover"]), "missing sheet", "Cover"),
        (lambda wb: _type_into(wb, "In_TaxRate", 5), "invalid input", "Inputs"),
    ],
    ids=["renamed-name", "deleted-calculations", "deleted-inputs", "deleted-cover", "tax-500%"],
)
def test_check_reports_each_kind_of_tampering_with_exit_4(copy, tamper, kind, where):
    wb = openpyxl.load_workbook(copy)
    tamper(wb)
    wb.save(copy)
    status, problems = _check_json(copy)
    assert status == PROBLEMS_EXIT
    assert any(p["kind"] == kind and where in (p["sheet"], p["cell"]) for p in problems), problems


def test_check_names_the_real_cause_when_the_record_of_the_spec_is_deleted(copy):
    wb = openpyxl.load_workbook(copy)
    wb.remove(wb["_bizcase"])
    wb.save(copy)
    result = cli("check", copy)
    assert result.exit_code == 1
    assert "_bizcase sheet" in result.stderr and "deleted" in result.stderr
    assert "In_Scenario" not in result.stderr


def test_check_passes_a_workbook_saved_by_libreoffice(fresh, soffice, tmp_path):
    """LibreOffice re-saves ``Sheet!$E$8:Sheet!$K$8`` as ``Sheet!$E$8:$K$8``: same meaning."""
    (saved,) = recalculate([fresh], tmp_path / "lo", soffice=soffice)
    status, problems = _check_json(saved)
    assert problems == [] and status == 0


def test_check_reads_every_cell_whatever_range_the_sheets_claim(damaged, tmp_path):
    """A writer may record a wrong used range (``<dimension ref="A1"/>``): check reads
    the sheets read-only, and must still see every cell, finding the same damage."""
    path, expected = damaged
    claimed = tmp_path / "claims-A1.xlsx"
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(claimed, "w") as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename.startswith("xl/worksheets/sheet"):
                data, n = re.subn(rb'<dimension ref="[^"]*"', b'<dimension ref="A1"', data)
                assert n == 1, info.filename
            target.writestr(info, data)
    status, problems = _check_json(claimed)
    assert status == PROBLEMS_EXIT
    assert sorted((p["sheet"], p["cell"], p["kind"]) for p in problems) == sorted(
        ("Calculations", cell, kind) for cell, kind in expected.items()
    )
