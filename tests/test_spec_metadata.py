"""Each input is defined once, with its spec field, and everything else follows.

The field's :class:`~udfs.spec.In` and :class:`~udfs.spec.Driver` metadata
give the Inputs sheet, the scenario drivers (``Scenario``, ``SCENARIO_DRIVERS``,
the model's adjusted drivers, the tornado labels), the inputs each template
version added, and the README's spec table. These tests hold the derived
pieces to the facts they must agree with: the README as written, the model's
behaviour, and workbooks an earlier template wrote.
"""

from __future__ import annotations

import re
from pathlib import Path

import openpyxl
import pytest

from udfs.model import OTHER_INPUTS, adjustment_names, build_model, evaluate
from udfs.sensitivity import TORNADO_DRIVERS
from udfs.spec import (
    DRIVERS,
    SCENARIO_DRIVERS,
    SECTIONS,
    In,
    Scenario,
    Spec,
    metadata,
    parse_spec,
    reference_table,
    walk,
)
from workbooks.examples import example_spec
from workbooks.reader import added_since, read_business_case

README = Path(__file__).resolve().parent.parent / "README.md"
FIXTURES = Path(__file__).parent / "fixtures" / "template_1.0"
TABLE = re.compile(
    r"<!-- spec-reference: start[^\n]*-->\n(?P<table>.*?)<!-- spec-reference: end -->", re.S
)


def test_the_readme_spec_table_is_the_one_the_fields_generate():
    found = TABLE.search(README.read_text(encoding="utf-8"))
    assert found, "README.md: the spec-reference markers are missing"
    expected = reference_table()
    assert found["table"] == expected, (
        "README.md's spec table differs from udfs.spec.reference_table(); "
        f"replace it between the markers with:\n\n{expected}"
    )


def test_the_table_names_every_field_and_every_driver_once():
    rows = [line.split("|")[1].strip() for line in reference_table().splitlines()[2:]]
    assert len(rows) == len(set(rows))
    assert "`market.tam`" in rows and "`costs.fixed[].amount`" in rows
    assert [r for r in rows if r.startswith("`scenarios.")] == [
        f"`scenarios.*.{key}`" for key in SCENARIO_DRIVERS
    ]


def test_the_scenario_drivers_are_the_scenario_fields_and_the_tornado_labels():
    assert tuple(Scenario.model_fields) == SCENARIO_DRIVERS
    assert set(TORNADO_DRIVERS) == set(SCENARIO_DRIVERS)
    model = build_model(example_spec("analytics_addon"))
    names = {i.name for i in model.inputs}
    for key in SCENARIO_DRIVERS:
        assert set(adjustment_names(key)) <= names, key
        assert any(line.name == f"live_{key}" for line in model.drivers), key


def _market_case() -> dict:
    """A case in which every driver of the market build has something to move."""
    spec = example_spec("analytics_addon").model_dump(mode="json")
    spec["now"]["other_costs"] = 50_000
    spec["costs"]["variable_opex_pct"] = 0.05
    spec["finance"]["working_capital_pct"] = 0.08
    spec["scenarios"] = {}
    return spec


def _forecast_case() -> dict:
    """A case whose revenue, COGS, other costs and working capital are forecasts."""
    spec = _market_case()
    spec["series"] = {
        "revenue": [2e6, 4e6, 6e6],
        "cogs": [5e5, 1e6, 1.5e6],
        "other_costs": [1e5, 1e5, 1e5],
        "working_capital": [2e5, 3e5, 4e5],
    }
    return spec


@pytest.mark.parametrize("key", list(Scenario.model_fields))
def test_every_scenario_key_moves_the_npv(key):
    """A Low adjustment of -30% to any driver changes NPV: no key is silently ignored.

    The market build moves with its own drivers, the forecasts with theirs
    (the COGS forecast, say, replaces the COGS %), so each key must move one
    of the two cases.
    """
    moved = []
    for data in (_market_case(), _forecast_case()):
        base = evaluate(build_model(parse_spec(data))).outputs["NPV"]
        data["scenarios"] = {"low": {key: -0.3}}
        low = evaluate(build_model(parse_spec(data)), scenario="Low").outputs["NPV"]
        moved.append(abs(low - base) > 1e-6 * abs(base))
    assert any(moved), f"scenarios.low.{key} = -0.3 leaves NPV unchanged"


def test_every_input_name_is_declared_once():
    declared = [m.name for _, info in walk(Spec) for m in metadata(info, In)]
    declared += [m.name for m in OTHER_INPUTS]
    declared += [n for d in DRIVERS for n in adjustment_names(d.key)]
    assert len(declared) == len(set(declared))


@pytest.mark.parametrize("name", ["analytics_addon", "saas", "hardware", "sunset"])
def test_the_inputs_come_in_the_order_of_the_sheet_sections(name):
    inputs = build_model(example_spec(name)).inputs
    sections = [SECTIONS.index(i.section) for i in inputs]
    assert sections == sorted(sections)
    assert inputs[0].name == "Scenario"


def test_an_input_takes_the_bounds_of_its_field():
    """The workbook refuses what the spec refuses: 0 <= share <= 1, money >= 0."""
    model = build_model(example_spec("hardware"))
    share, price, life, rate = (
        model.input(n) for n in ("SAMShare", "Price", "DepreciationLife", "TAMGrowth")
    )
    assert (share.minimum, share.maximum) == (0, 1)
    assert (price.minimum, price.maximum) == (0, 1e13)
    assert (life.minimum, life.maximum) == (1, 30)
    assert (rate.minimum, rate.maximum) == (-0.99, 10)
    horizon = model.input("Horizon")
    assert horizon.minimum == horizon.maximum == model.spec.meta.horizon  # fixed by design
    gate = build_model(example_spec("analytics_addon")).input("Gate1Year")
    assert gate.maximum == 7  # the horizon narrows the field's 15


CASES_1_0 = sorted(p for p in FIXTURES.glob("*.xlsx") if p.name != "portfolio.xlsx")


@pytest.mark.parametrize("path", CASES_1_0, ids=lambda p: p.name)
def test_the_inputs_added_in_1_1_are_those_a_1_0_workbook_lacks(path):
    """ADDED_IN, derived from each input's ``added_in``, against workbooks 1.0 wrote."""
    defined = {
        n.removeprefix("In_")
        for n in openpyxl.load_workbook(path, read_only=True).defined_names
        if n.startswith("In_")
    }
    inputs = {i.name for i in read_business_case(path).model.inputs}
    assert inputs - defined == {n for n in inputs if added_since(n, "1.0")}
    assert {"Timing", "CapexNow", "LowCogs"} <= inputs - defined  # three 1.1 added
