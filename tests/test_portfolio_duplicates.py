"""The same case twice, and outputs that would clobber inputs (``bizcase rollup``).

A case copied under another name (``saas (1).xlsx``, ``Copy of hardware.xlsx``)
has the same inputs as its original: it counts once, and is listed as a
duplicate with the file it duplicates. A copy whose discount rate was changed
is a different case and counts. The portfolio's NPV is compared with the four
cases' NPVs, each evaluated on its own (openpyxl reader, engine) and added up
here. An output that is one of the inputs is refused even with ``--force``;
a portfolio written into the folder it rolls up is left out of the next scan
with a note, not read back as a broken case.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from addin.cli import app
from udfs.model import evaluate
from workbooks.business_case import write_business_case
from workbooks.examples import EXAMPLES, example_spec
from workbooks.reader import read_business_case
from workbooks.rollup import fingerprint, read_cases, workbook_paths

RTOL = 1e-9
FX = ("--currency", "EUR", "--fx", "USD=0.92")  # the examples are in EUR and USD


def run(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture
def cases(tmp_path) -> Path:
    folder = tmp_path / "cases"
    for name in EXAMPLES:
        write_business_case(example_spec(name), folder / f"{name}.xlsx")
    return folder


def _own_npv_in_eur(path: Path) -> float:
    case = read_business_case(path)
    rate = 0.92 if case.model.spec.meta.currency == "USD" else 1.0
    return rate * evaluate(case.model, case.values).outputs["NPV"]


def _exceptions_section(path: Path, title: str) -> list[tuple]:
    """The (file, detail) rows under a section title on the Exceptions sheet."""
    rows = list(openpyxl.load_workbook(path)["Exceptions"].iter_rows(values_only=True))
    start = next(i for i, r in enumerate(rows) if r[0] and str(r[0]).startswith(title))
    out = []
    for r in rows[start + 2 :]:
        if r[0] is None:
            break
        out.append((r[0], r[1]))
    return out


# --- copies count once ----------------------------------------------------------------------


def test_copies_under_other_names_count_once_and_are_listed(cases, tmp_path):
    total = math.fsum(_own_npv_in_eur(cases / f"{n}.xlsx") for n in EXAMPLES)
    shutil.copy(cases / "saas.xlsx", cases / "saas (1).xlsx")  # sorts before saas.xlsx
    shutil.copy(cases / "hardware.xlsx", cases / "Copy of hardware.xlsx")
    output = tmp_path / "portfolio.xlsx"
    result = run("rollup", cases, "-o", output, *FX, "--json")
    assert result.exit_code == 0, result.stderr
    got = json.loads(result.stdout)
    assert got["cases"] == 4
    assert got["npv"] == pytest.approx(total, rel=RTOL)
    assert sorted((Path(d["file"]).name, Path(d["same_as"]).name) for d in got["duplicates"]) == [
        ("Copy of hardware.xlsx", "hardware.xlsx"),
        ("saas (1).xlsx", "saas.xlsx"),
    ]
    assert "saas (1).xlsx has the same inputs as" in result.stderr
    assert "a duplicate, counted once" in result.stderr
    listed = _exceptions_section(output, "Duplicates")
    assert sorted((Path(a).name, Path(b).name) for a, b in listed) == [
        ("Copy of hardware.xlsx", "hardware.xlsx"),
        ("saas (1).xlsx", "saas.xlsx"),
    ]
    ids = [
        r[0] for r in openpyxl.load_workbook(output)["Cases"].iter_rows(min_row=2, values_only=True)
    ]
    assert sorted(ids) == sorted(EXAMPLES)


def test_a_copy_with_a_changed_input_is_another_case(cases, tmp_path):
    changed = cases / "saas-alt.xlsx"
    wb = openpyxl.load_workbook(cases / "saas.xlsx")
    ((sheet, ref),) = list(wb.defined_names["In_DiscountRate"].destinations)
    wb[sheet][ref.replace("$", "")].value += 0.01
    wb.save(changed)
    rolled = read_cases(workbook_paths([cases]).paths)
    assert rolled.duplicates == []
    assert len(rolled.cases) == 5
    npv = {c.id: c.npv for c in rolled.cases}
    assert npv["saas-alt"] != pytest.approx(npv["saas"], rel=1e-6)


def test_the_fingerprint_is_the_inputs_not_the_file_name(cases, tmp_path):
    copy = shutil.copy(cases / "sunset.xlsx", tmp_path / "another name.xlsx")
    a = read_business_case(cases / "sunset.xlsx")
    b = read_business_case(copy)
    c = read_business_case(cases / "saas.xlsx")
    assert fingerprint(a) == fingerprint(b) != fingerprint(c)


# --- outputs never clobber inputs -----------------------------------------------------------


@pytest.mark.parametrize("spelling", ["same", "folder", "dotted"])
def test_an_output_that_is_an_input_is_refused_even_with_force(cases, spelling):
    case = cases / "saas.xlsx"
    before = case.read_bytes()
    inputs, output = {
        "same": ([case], case),
        "folder": ([cases], case),
        "dotted": ([case], cases / ".." / cases.name / "saas.xlsx"),
    }[spelling]
    result = run("rollup", *inputs, "-o", output, *FX, "--force")
    assert result.exit_code == 2
    assert "is one of the inputs" in result.stderr
    assert case.read_bytes() == before


def test_a_portfolio_in_the_rolled_up_folder_is_left_out_with_a_note(cases):
    output = cases / "portfolio.xlsx"
    first = run("rollup", cases, "-o", output, *FX)
    assert first.exit_code == 0, first.stderr
    again = run("rollup", cases, "-o", output, *FX, "--force", "--json")
    assert again.exit_code == 0, again.stderr
    got = json.loads(again.stdout)
    assert got["cases"] == 4
    assert got["exceptions"] == []
    assert [Path(d["file"]).name for d in got["left_out"]] == ["portfolio.xlsx"]
    assert "portfolio.xlsx: a bizcase portfolio workbook, not a case; left out" in again.stderr
    listed = _exceptions_section(output, "Left out")
    assert [Path(f).name for f, _ in listed] == ["portfolio.xlsx"]


def test_a_portfolio_given_as_a_case_is_an_exception_that_says_so(cases, tmp_path):
    portfolio = tmp_path / "portfolio.xlsx"
    assert run("rollup", cases, "-o", portfolio, *FX).exit_code == 0
    rolled = read_cases([cases / "saas.xlsx", portfolio])
    ((path, reason),) = rolled.exceptions
    assert path == portfolio
    assert "a bizcase portfolio workbook, not a business case" in reason
