"""Sensitivity and break-even (:mod:`udfs.sensitivity`, the unit model of
:mod:`udfs.risk`) and the Excel functions BC_BREAKEVEN and BC_SIMULATE.

The vectorised tornado and grid must equal one ordinary evaluation per case
(:func:`udfs.model.evaluate` with the driver's scenario adjustment set and that
scenario selected, every other adjustment zero). A break-even value must make
the engine's output zero within 1e-9 of the base output's magnitude, also when
the driver's input is set to it directly; a driver with no root in range gives
``None``, and the test checks the output really keeps one sign over the range.
The Excel functions run through xlwings' Office.js runtime (``tests/officejs.py``)
and must equal the engine; bad input is ``#VALUE!`` (a raised ``InputError``
naming the argument) and "no break-even" is ``#N/A``.
"""

from __future__ import annotations

import numpy as np
import pytest
from officejs import FUNCTION_ARGUMENTS, cell, column, error_cell, error_result, row
from officejs import call as officejs_call

from udfs import risk
from udfs.errors import InputError
from udfs.model import _ADJUSTED, adjustment_names, build_model, evaluate
from udfs.sensitivity import DEFAULT_SWING, TORNADO_DRIVERS, breakeven, grid, tornado, with_changes
from udfs.spec import SCENARIO_DRIVERS, parse_spec
from workbooks.examples import EXAMPLES, example_spec

RTOL = 1e-9
SE_LIMIT = 4.0

# Tax credited on losses, no terminal value, no working capital: NPV is affine in
# the price, fixed-cost and development changes, so their roots have a closed form.
LINEAR_CASE = {
    "meta": {"name": "Linear case", "start_year": 2027, "horizon": 6},
    "market": {"tam": 100_000, "sam_share": 0.5, "target_share": 0.2, "years_to_target": 3},
    "pricing": {"price": 120.0, "price_change": 0.02},
    "costs": {"cogs_pct": 0.3, "fixed": [{"name": "Marketing", "amount": 200_000}]},
    "investment": {"development": [800_000, 300_000], "capex": [400_000]},
    "finance": {
        "discount_rate": 0.1,
        "losses": "credit",
        "terminal_value": "none",
        "working_capital_pct": 0.0,
    },
    "scenarios": {"low": {"price": -0.15, "cogs_pct": 0.1}, "high": {"price": 0.1}},
}

#: (example, driver) pairs whose NPV crosses zero in the default range.
ROOTS = [
    ("analytics_addon", "tam"),
    ("analytics_addon", "price"),
    ("analytics_addon", "cogs_pct"),
    ("analytics_addon", "fixed_opex"),
    ("analytics_addon", "headcount_cost"),
    ("analytics_addon", "revenue"),
    ("analytics_addon", "discount_rate"),
    ("saas", "target_share"),
    ("saas", "variable_opex_pct"),
    ("saas", "development"),
    ("saas", "discount_rate"),
    ("hardware", "cogs_pct"),
    ("hardware", "capex"),
    ("hardware", "working_capital_pct"),
    ("hardware", "discount_rate"),
    ("sunset", "cogs_pct"),
    ("sunset", "development"),
    ("sunset", "revenue"),
]
#: (example, driver) pairs whose NPV keeps its sign over the default range.
NO_ROOTS = [
    ("analytics_addon", "capex"),
    ("analytics_addon", "working_capital_pct"),
    ("hardware", "price"),  # revenue comes from a forecast series: price has no effect
    ("sunset", "tam"),
]

UNIT = {
    "rate": 0.1,
    "years": 3,
    "units": 1000.0,
    "price": 50.0,
    "unit_cost": 30.0,
    "fixed_cost": 5000.0,
    "investment": 30000.0,
}


def _neutral(model, **changes) -> dict:
    """Every scenario adjustment zero, then the given ones (by input name)."""
    values = {}
    for key in SCENARIO_DRIVERS:
        low, high = adjustment_names(key)
        values[low] = values[high] = 0.0
    values.update(changes)
    return values


def _npv(model, values=None, scenario="Base", output="NPV") -> float:
    return evaluate(model, values, scenario).outputs[output]


@pytest.fixture(scope="module")
def models():
    return {name: build_model(example_spec(name)) for name in EXAMPLES} | {
        "linear": build_model(parse_spec(LINEAR_CASE))
    }


# --- tornado --------------------------------------------------------------------------


MARKET = {"tam", "target_share", "price"}
#: The drivers each case has, read off its spec: a revenue or COGS series replaces
#: the market build or the COGS %; cost lines, capex and working capital count
#: where the spec has them.
CASE_DRIVERS = {
    "analytics_addon": MARKET
    | {"cogs_pct", "variable_opex_pct", "fixed_opex", "headcount_cost"}
    | {"development", "capex", "working_capital", "discount_rate"},
    "saas": MARKET
    | {"cogs_pct", "variable_opex_pct", "fixed_opex", "headcount_cost"}
    | {"development", "capex", "working_capital", "discount_rate"},
    "hardware": {"revenue", "cogs_pct", "variable_opex_pct", "fixed_opex", "headcount_cost"}
    | {"development", "capex", "working_capital", "discount_rate"},
    "sunset": {"revenue", "cogs_pct", "other_costs", "development", "working_capital"}
    | {"discount_rate"},
    "linear": MARKET | {"cogs_pct", "fixed_opex", "development", "capex", "discount_rate"},
}


@pytest.mark.parametrize("name", [*EXAMPLES, "linear"])
@pytest.mark.parametrize("output", ["NPV", "eNPV"])
def test_tornado_bars_equal_one_evaluation_per_driver_and_setting(models, name, output):
    model = models[name]
    bars = tornado(model, output)
    assert {b.key for b in bars} == CASE_DRIVERS[name]
    assert all(b.label == TORNADO_DRIVERS[b.key] for b in bars)
    for bar in bars:
        low, high = adjustment_names(bar.key)
        at_low = _npv(model, _neutral(model, **{low: bar.low_change}), "Low", output)
        at_high = _npv(model, _neutral(model, **{high: bar.high_change}), "High", output)
        assert bar.npv_low == pytest.approx(at_low, rel=1e-12, abs=1e-6), bar
        assert bar.npv_high == pytest.approx(at_high, rel=1e-12, abs=1e-6), bar


def test_tornado_uses_the_scenario_adjustments_else_twenty_percent(models):
    model = models["analytics_addon"]
    spec = model.spec
    bars = {b.key: b for b in tornado(model)}
    for key, bar in bars.items():
        lo, hi = getattr(spec.scenarios.low, key), getattr(spec.scenarios.high, key)
        expected = (lo, hi) if (lo or hi) else (-DEFAULT_SWING, DEFAULT_SWING)
        assert (bar.low_change, bar.high_change) == expected, key
    assert bars["target_share"].low_change == -0.35
    assert bars["discount_rate"].high_change == DEFAULT_SWING


def test_tornado_is_sorted_widest_swing_first(models):
    swings = [b.swing for b in tornado(models["hardware"])]
    assert swings == sorted(swings, reverse=True)
    assert swings[0] > 0


def test_tornado_reads_the_adjustments_a_workbook_holds(models):
    model = models["linear"]
    values = {"LowPrice": -0.3, "HighPrice": 0.25, "COGSPct": 0.35}
    bar = next(b for b in tornado(model, values=values) if b.key == "price")
    assert (bar.low_change, bar.high_change) == (-0.3, 0.25)
    expected = _npv(model, {**_neutral(model), "COGSPct": 0.35, "LowPrice": -0.3}, "Low")
    assert bar.npv_low == pytest.approx(expected, rel=1e-12)


# --- grid -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["analytics_addon", "hardware", "linear"])
def test_grid_equals_a_loop_of_evaluations(models, name):
    model = models[name]
    a_changes = [-0.3, -0.1, 0.0, 0.2]
    b_changes = [-0.15, 0.0, 0.1]
    table = grid(model, "discount_rate", a_changes, "cogs_pct", b_changes)
    assert table.shape == (4, 3)
    assert list(table.index) == a_changes and list(table.columns) == b_changes
    assert table.index.name == "discount_rate" and table.columns.name == "cogs_pct"
    for a in a_changes:
        for b in b_changes:
            values = _neutral(
                model,
                **{adjustment_names("discount_rate")[0]: a, adjustment_names("cogs_pct")[0]: b},
            )
            expected = _npv(model, values, "Low")
            assert table.loc[a, b] == pytest.approx(expected, rel=1e-12), (a, b)


def test_grid_refuses_the_same_driver_twice(models):
    with pytest.raises(InputError, match=r"^driver_b: must differ from driver_a"):
        grid(models["linear"], "price", [0.1], "price", [0.2])


def test_with_changes_refuses_an_unknown_driver_and_output(models):
    with pytest.raises(InputError, match=r"^driver: 'colour' is not a driver"):
        with_changes(models["linear"], {"colour": np.array([0.1])})
    with pytest.raises(InputError, match=r"^output: no output named 'NVP'"):
        with_changes(models["linear"], {"price": np.array([0.1])}, output="NVP")


def test_outputs_to_study_are_the_public_ones_not_helper_inputs(models):
    model = models["linear"]
    helpers = [o.name for o in model.outputs if not o.public]
    assert "IRRGuess" in helpers  # the IRR's starting point: an input, not a result
    with pytest.raises(InputError) as caught:
        with_changes(model, {"price": np.array([0.1])}, output="IRRGuess")
    listed = str(caught.value).split("choose from ")[1].split(", ")
    assert listed == [o.name for o in model.outputs if o.public]
    assert set(listed) == set(evaluate(model).outputs)  # what `bizcase evaluate` reports


# --- break-even -----------------------------------------------------------------------


@pytest.mark.parametrize(("name", "driver"), ROOTS)
def test_breakeven_makes_the_engine_npv_zero(models, name, driver):
    model = models[name]
    base = _npv(model, _neutral(model))
    found = breakeven(model, driver)
    assert found is not None
    at_root = with_changes(model, {driver: np.array([found.change])})[0]
    assert abs(at_root) <= RTOL * abs(base)
    assert abs(found.output_at) <= RTOL * abs(base)
    input_name = _ADJUSTED[driver][0]
    if input_name is None:  # a factor on a whole cost or revenue line
        assert found.value == 1 + found.change
        assert found.unit == "x base"
    else:  # set the input itself to the break-even value: the NPV is zero again
        assert found.value == pytest.approx(model.input(input_name).value * (1 + found.change))
        assert found.unit == model.input(input_name).unit
        direct = _npv(model, _neutral(model, **{input_name: found.value}))
        assert abs(direct) <= RTOL * abs(base)


@pytest.mark.parametrize("driver", ["price", "fixed_opex", "development", "revenue"])
def test_breakeven_of_a_linear_driver_is_the_closed_form_root(models, driver):
    model = models["linear"]
    y0, y1 = with_changes(model, {driver: np.array([0.0, 0.5])})
    root = -y0 / ((y1 - y0) / 0.5)
    found = breakeven(model, driver)
    assert found is not None
    assert found.change == pytest.approx(root, rel=1e-9)
    assert abs(with_changes(model, {driver: np.array([found.change])})[0]) <= RTOL * abs(y0)


@pytest.mark.parametrize(("name", "driver"), NO_ROOTS)
def test_breakeven_is_none_when_the_output_keeps_its_sign_in_range(models, name, driver):
    model = models[name]
    scan = with_changes(model, {driver: np.linspace(-0.99, 10.0, 2_001)})
    assert np.all(scan > 0) or np.all(scan < 0)  # truly no root in the range
    assert breakeven(model, driver) is None


def test_breakeven_is_none_when_the_root_lies_outside_the_range(models):
    model = models["analytics_addon"]
    assert breakeven(model, "price").change < 0
    assert breakeven(model, "price", low=0.0, high=1.0) is None


def test_breakeven_reads_the_inputs_a_workbook_holds(models):
    model = models["linear"]
    values = {"COGSPct": 0.4, "Price": 140.0}
    found = breakeven(model, "price", values=values)
    base = _npv(model, {**_neutral(model), **values})
    assert found.value == pytest.approx(140.0 * (1 + found.change))
    direct = _npv(model, {**_neutral(model), **values, "Price": found.value})
    assert abs(direct) <= RTOL * abs(base)
    assert found.change != breakeven(model, "price").change


# --- the unit model's break-even ------------------------------------------------------

UNIT_CASES = {
    "profitable": UNIT,
    "losing": {**UNIT, "units": 600.0},
    "zero_rate": {**UNIT, "rate": 0.0, "years": 5},
    "long": {**UNIT, "rate": 0.08, "years": 12, "fixed_cost": 8000.0, "investment": 90000.0},
    "zero_irr": {**UNIT, "units": 750.0},  # 10,000 a year for 3 years repays 30,000 exactly
}


@pytest.mark.parametrize("case", list(UNIT_CASES))
@pytest.mark.parametrize("driver", risk.UNIT_DRIVERS)
def test_unit_breakeven_makes_unit_npv_zero(case, driver):
    args = UNIT_CASES[case]
    base = float(risk.unit_npv(**args))
    value = risk.unit_breakeven(driver, *args.values())
    assert np.isfinite(value)
    at = float(risk.unit_npv(**{**args, driver: value}))
    assert abs(at) <= RTOL * max(abs(base), args["investment"])


@pytest.mark.parametrize("rate", [1e-6, 1e-9, 1e-12, 1e-15, -1e-12])
def test_unit_npv_is_continuous_at_a_zero_rate(rate):
    at_zero = float(risk.unit_npv(**{**UNIT, "rate": 0.0}))  # 3 x 15,000 - 30,000
    assert at_zero == 15_000.0
    slope = -6 * 15_000.0  # d/dr of 15,000 x annuity(r, 3) at r = 0 is -15,000 x (1 + 2 + 3)
    near = float(risk.unit_npv(**{**UNIT, "rate": rate}))
    assert near == pytest.approx(at_zero + slope * rate, rel=1e-9)


def test_unit_breakeven_is_nan_when_no_value_works():
    flat_margin = {**UNIT, "price": 30.0}  # units cannot help when each unit earns nothing
    assert np.isnan(risk.unit_breakeven("units", *flat_margin.values()))
    never_positive = {**UNIT, "units": 0.0}  # only outflows: no rate makes the NPV zero
    assert np.isnan(risk.unit_breakeven("rate", *never_positive.values()))


def test_unit_breakeven_refuses_an_unknown_driver():
    with pytest.raises(InputError, match=r"^driver: must be one of rate, units"):
        risk.unit_breakeven("colour", *UNIT.values())


# --- BC_BREAKEVEN and BC_SIMULATE through xlwings' Office.js runtime -----------------


def call(func_name: str, *args):
    """Call as Excel does: every argument present, an omitted optional one as None."""
    missing = len(FUNCTION_ARGUMENTS[func_name]) - len(args)
    return officejs_call(func_name, *args, *[None] * missing)


def _unit_cells(args: dict) -> list:
    return [cell(args[k]) for k in ("rate", "years", *risk.UNIT_DRIVERS[1:])]


def _rows(result) -> dict[str, float]:
    assert [r[0] for r in result] == ["Mean", "P10", "P50", "P90", "P(NPV<0)"]
    return {r[0]: r[1] for r in result}


@pytest.mark.parametrize("driver", risk.UNIT_DRIVERS)
def test_breakeven_function_equals_the_engine(driver):
    result = call("BC_BREAKEVEN", *_unit_cells(UNIT), cell(driver))
    expected = risk.unit_breakeven(driver, *UNIT.values())
    assert result == [[expected]]
    at = float(risk.unit_npv(**{**UNIT, driver: result[0][0]}))
    assert abs(at) <= RTOL * abs(float(risk.unit_npv(**UNIT)))


def test_breakeven_function_reads_the_driver_name_loosely():
    assert call("BC_BREAKEVEN", *_unit_cells(UNIT), cell(" Units ")) == call(
        "BC_BREAKEVEN", *_unit_cells(UNIT), cell("units")
    )


@pytest.mark.parametrize(
    ("args", "driver"),
    [({**UNIT, "price": 30.0}, "units"), ({**UNIT, "units": 0.0}, "rate")],
    ids=["no-margin", "no-irr"],
)
def test_breakeven_function_is_not_available_when_there_is_no_root(args, driver):
    assert call("BC_BREAKEVEN", *_unit_cells(args), cell(driver)) == error_result("#N/A")


def test_breakeven_function_passes_an_error_cell_on():
    args = _unit_cells(UNIT)
    args[2] = error_cell("#DIV/0!")
    assert call("BC_BREAKEVEN", *args, cell("units")) == error_result("#DIV/0!")


@pytest.mark.parametrize(
    ("changes", "driver", "message"),
    [
        ({}, "colour", r"^driver: must be one of"),
        ({"rate": "ten percent"}, "units", r"^rate: expected a number"),
        ({"units": None}, "units", r"^units: expected a number; got a blank cell"),
        ({"years": 0}, "units", r"^years: "),
        ({"years": -2}, "price", r"^years: "),
        ({"rate": -1.0}, "units", r"^rate: "),
    ],
    ids=["driver", "text-rate", "blank-units", "zero-years", "negative-years", "rate-minus-one"],
)
def test_breakeven_function_bad_input_is_value_error_naming_the_argument(changes, driver, message):
    with pytest.raises(InputError, match=message):
        call("BC_BREAKEVEN", *_unit_cells({**UNIT, **changes}), cell(driver))


def test_breakeven_function_treats_years_as_bc_simulate_does():
    """A fractional year count is refused (as BC_SIMULATE refuses it), or honoured:
    never a rate for a different number of years."""
    args = {**UNIT, "years": 2.5, "investment": 35_000.0}
    try:
        result = call("BC_BREAKEVEN", *_unit_cells(args), cell("rate"))
    except InputError as e:
        assert str(e).startswith("years: ")
        return
    assert abs(float(risk.unit_npv(**{**args, "rate": result[0][0]}))) <= RTOL * args["investment"]


def test_simulate_function_with_single_numbers_is_the_deterministic_npv():
    rows = _rows(call("BC_SIMULATE", *_unit_cells(UNIT), cell(1_000), cell(3)))
    npv = float(risk.unit_npv(**UNIT))
    assert rows["P10"] == rows["P50"] == rows["P90"] == npv
    assert rows["Mean"] == pytest.approx(npv, rel=1e-12)
    assert rows["P(NPV<0)"] == 0.0
    losing = {**UNIT, "units": 600.0}
    rows = _rows(call("BC_SIMULATE", *_unit_cells(losing), cell(100), cell(3)))
    assert rows["P50"] == float(risk.unit_npv(**losing)) < 0
    assert rows["P(NPV<0)"] == 1.0


def test_simulate_function_with_a_zero_width_range_is_the_deterministic_npv():
    args = _unit_cells(UNIT)
    args[2] = row([1000.0, 1000.0, 1000.0])
    rows = _rows(call("BC_SIMULATE", *args, cell(500), cell(3)))
    assert rows["P10"] == rows["P90"] == float(risk.unit_npv(**UNIT))


def test_simulate_function_equals_the_engine_on_the_same_draws():
    args = _unit_cells(UNIT)
    args[2] = row([800.0, 1000.0, 1300.0])  # units: low, most likely, high
    rows = _rows(call("BC_SIMULATE", *args, cell(5_000), cell(7)))
    units = np.random.default_rng(7).triangular(800.0, 1000.0, 1300.0, 5_000)
    npv = risk.unit_npv(**{**UNIT, "units": units})
    p10, p50, p90 = np.percentile(npv, [10, 50, 90])
    assert rows["Mean"] == pytest.approx(npv.mean(), rel=1e-12)
    assert rows["P10"] == pytest.approx(p10, rel=1e-12)
    assert rows["P50"] == pytest.approx(p50, rel=1e-12)
    assert rows["P90"] == pytest.approx(p90, rel=1e-12)
    assert rows["P(NPV<0)"] == np.mean(npv < 0)
    assert 0 < rows["P(NPV<0)"] < 1


def test_simulate_function_mean_converges_to_the_npv_at_the_mean_drivers():
    ranges = {
        "units": (700.0, 1000.0, 1500.0),
        "fixed_cost": (3000.0, 5000.0, 9000.0),
        "investment": (25000.0, 30000.0, 42000.0),
    }
    args = _unit_cells(UNIT)
    for k, (lo, mode, hi) in ranges.items():
        args[["rate", "years", *risk.UNIT_DRIVERS[1:]].index(k)] = column([lo, mode, hi])
    trials = 20_000
    rows = _rows(call("BC_SIMULATE", *args, cell(trials), cell(11)))
    means = {k: sum(v) / 3 for k, v in ranges.items()}  # NPV is linear in each of them
    expected = float(risk.unit_npv(**{**UNIT, **means}))
    # standard deviation of the NPV from the triangulars' variances (independent drivers)
    annuity = (1 - 1.1**-3) / 0.1
    slopes = {"units": (UNIT["price"] - UNIT["unit_cost"]) * annuity, "fixed_cost": -annuity}
    slopes["investment"] = -1.0
    variance = sum(
        slopes[k] ** 2 * (lo**2 + m**2 + hi**2 - lo * m - lo * hi - m * hi) / 18
        for k, (lo, m, hi) in ranges.items()
    )
    assert abs(rows["Mean"] - expected) <= SE_LIMIT * np.sqrt(variance / trials)


def test_simulate_function_with_a_fixed_seed_reproduces_and_another_seed_differs():
    args = _unit_cells(UNIT)
    args[2] = row([800.0, 1000.0, 1300.0])
    args[3] = row([45.0, 50.0, 52.0])
    first = call("BC_SIMULATE", *args, cell(2_000), cell(5))
    assert call("BC_SIMULATE", *args, cell(2_000), cell(5)) == first
    assert call("BC_SIMULATE", *args, cell(2_000), cell(6)) != first


def test_simulate_function_defaults_are_ten_thousand_trials_and_seed_one():
    args = _unit_cells(UNIT)
    args[2] = row([800.0, 1000.0, 1300.0])
    assert call("BC_SIMULATE", *args, None, None) == call(
        "BC_SIMULATE", *args, cell(10_000), cell(1)
    )


def test_simulate_function_passes_an_error_cell_on():
    args = _unit_cells(UNIT)
    args[3] = error_cell("#REF!")
    assert call("BC_SIMULATE", *args, None, None) == error_result("#REF!")


@pytest.mark.parametrize(
    ("position", "value", "message"),
    [
        (0, cell("x"), r"^rate: expected a number"),
        (0, row([-1.5, -1.2, 0.1]), r"^rate: must stay above -100%"),
        (1, cell(0), r"^years: must be a whole number"),
        (1, cell(2.5), r"^years: must be a whole number"),
        (2, row([1300.0, 1000.0, 800.0]), r"^units: give one number, or three cells"),
        (2, row([800.0, 1000.0]), r"^units: give one number, or three cells"),
        (2, cell(None), r"^units: give one number, or three cells"),
        (7, cell(0), r"^trials: must be from 1 to 1,000,000"),
        (7, cell(2_000_000), r"^trials: must be from 1 to 1,000,000"),
    ],
    ids=[
        "text-rate",
        "rate-below-minus-one",
        "zero-years",
        "fractional-years",
        "reversed-range",
        "two-cells",
        "blank",
        "zero-trials",
        "too-many-trials",
    ],
)
def test_simulate_function_bad_input_is_value_error_naming_the_argument(position, value, message):
    args = [*_unit_cells(UNIT), None, None]
    args[position] = value
    with pytest.raises(InputError, match=message):
        call("BC_SIMULATE", *args)
