"""``bizcase sensitivity``: a table people read and JSON scripts read.

The break-even column gives the change in the driver and, beside it, the
driver's value there in its own unit, to four significant figures: a money or
unit input with its unit ("89.47 EUR/unit"), a share or rate as a percentage
("4.47%", "42.6%/yr"), a cost line without a single input as a multiple of its
base ("3.669 x base"). Each printed number is checked against the engine's
break-even (:func:`udfs.sensitivity.breakeven`) within its rounding.
"""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from addin.cli import app
from udfs.sensitivity import breakeven, tornado
from workbooks.business_case import write_business_case
from workbooks.examples import example_spec
from workbooks.reader import read_business_case


def run(*args):
    return CliRunner().invoke(app, [str(a) for a in args], env={"COLUMNS": "200"})


@pytest.fixture(scope="module")
def atlas(tmp_path_factory):
    return write_business_case(
        example_spec("analytics_addon"), tmp_path_factory.mktemp("sens") / "atlas.xlsx"
    )


@pytest.fixture(scope="module")
def engine(atlas):
    case = read_business_case(atlas)
    bars = tornado(case.model, values=case.values)
    return {b.label: (b, breakeven(case.model, b.key, values=case.values)) for b in bars}


def _rows(stdout: str) -> dict[str, list[str]]:
    rows = {}
    for line in stdout.splitlines():
        cells = [c.strip() for c in line.split("│")[1:-1]]
        if cells and cells[0] and cells[0] != "Driver":
            rows[cells[0]] = cells
    return rows


def test_break_even_values_carry_their_unit_and_four_significant_figures(atlas, engine):
    result = run("sensitivity", atlas)
    assert result.exit_code == 0, result.output
    assert "Break-even change" in result.stdout and "Driver at break-even" in result.stdout
    assert not re.search(r"\de[+-]\d", result.stdout)  # no 1.906e+04
    rows = _rows(result.stdout)
    assert rows.keys() == engine.keys()
    units_seen = set()
    for label, (_, found) in engine.items():
        change, value = rows[label][-2:]
        if found is None:
            assert (change, value) == ("none in range", "")
            continue
        assert float(change.rstrip("%")) / 100 == pytest.approx(found.change, abs=5e-4)
        units_seen.add(found.unit)
        if found.unit.startswith("%"):
            number, unit = re.fullmatch(r"(-?[\d.]+)%(\S*)", value).groups()
            assert "%" + unit == found.unit
            assert float(number) / 100 == pytest.approx(found.value, rel=5e-3)
        else:
            number, unit = re.fullmatch(r"(-?[\d,.]+) (.+)", value).groups()
            assert unit == found.unit
            assert float(number.replace(",", "")) == pytest.approx(found.value, rel=5e-4)
    # the example exercises every kind: a share, a rate, units, money, a factor
    assert {"%", "%/yr", "units/yr", "EUR/unit", "x base"} <= units_seen


def test_json_gives_the_break_even_unit(atlas, engine):
    result = run("sensitivity", atlas, "--json")
    assert result.exit_code == 0, result.output
    printed = {row["driver"]: row for row in json.loads(result.stdout)}
    for bar, found in engine.values():
        row = printed[bar.key]
        if found is None:
            assert row["breakeven_value"] is None and row["breakeven_unit"] is None
        else:
            assert row["breakeven_value"] == found.value
            assert row["breakeven_unit"] == found.unit


def test_output_choices_are_results_not_inputs(atlas):
    result = run("sensitivity", atlas, "--output", "IRRGuess")
    assert result.exit_code == 1
    assert "no output named 'IRRGuess'" in result.stderr
    choices = result.stderr.split("choose from ")[1].strip().split(", ")
    assert "IRRGuess" not in choices and "NPV" in choices and "eNPV" in choices
