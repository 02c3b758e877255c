"""The valuation conventions' surface: spec fields, tornado drivers, the CLI's flag.

The numbers themselves are pinned in test_valuation_golden.py; here: old specs
still validate and read as before (period 0 empty, end-of-period timing,
working capital released), new fields are checked like every other, the tornado
covers the drivers that move a case, and ``evaluate`` flags a terminal value
above its limit.
"""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from addin.cli import app
from udfs.model import build_model, evaluate
from udfs.sensitivity import tornado
from udfs.spec import SpecError, parse_spec
from workbooks.business_case import write_business_case
from workbooks.examples import EXAMPLES, example_spec

OLD_SPEC = {
    "meta": {"name": "Written for template 1.0", "start_year": 2027, "horizon": 3},
    "investment": {"capex": [100.0]},
    "series": {"revenue": [60.0, 60.0, 60.0]},
    "finance": {"discount_rate": 0.1, "tax_rate": 0.0},
}


def test_a_spec_without_period_0_fields_validates_with_the_defaults():
    spec = parse_spec(OLD_SPEC)
    assert spec.now.capex == 0.0 and spec.now.working_capital == 0.0
    assert spec.finance.timing == "end"
    assert spec.finance.release_working_capital is True
    assert spec.finance.terminal_value_share_limit == 0.75
    result = evaluate(build_model(spec))
    assert result.lines["incremental_fcf"][0] == 0.0  # nothing happens now


@pytest.mark.parametrize(
    ("section", "field", "value", "message"),
    [
        ("now", "capex", -5.0, "now.capex: must be from 0"),
        ("finance", "timing", "middle", "finance.timing: must be one of"),
        ("finance", "terminal_value_share_limit", 1.5, "finance.terminal_value_share_limit"),
        ("now", "capx", 1.0, "now.capx: unknown field"),
    ],
)
def test_new_fields_are_validated_like_the_others(section, field, value, message):
    data = {**OLD_SPEC, section: {**OLD_SPEC.get(section, {}), field: value}}
    with pytest.raises(SpecError) as err:
        parse_spec(data, "spec.toml")
    assert message in str(err.value)


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_every_tornado_driver_moves_the_case(name):
    bars = tornado(build_model(example_spec(name)))
    assert [b.key for b in bars if b.swing == 0] == []


def test_forecast_series_and_working_capital_are_tornado_drivers():
    # The hardware case sells from a revenue forecast, the sunset case from
    # forecasts of revenue, other costs and working capital: those series,
    # scaled, are its drivers; the market build's are not.
    hardware = {b.key: b for b in tornado(build_model(example_spec("hardware")))}
    assert {"revenue", "working_capital"} <= set(hardware)
    assert not {"tam", "price", "target_share"} & set(hardware)
    sunset = {b.key: b for b in tornado(build_model(example_spec("sunset")))}
    assert {"revenue", "other_costs", "working_capital"} <= set(sunset)
    # The spec's Low/High revenue adjustments set the bar (-25% / +10%).
    assert (sunset["revenue"].low_change, sunset["revenue"].high_change) == (-0.25, 0.10)


def test_scaling_a_series_scales_its_line():
    model = build_model(example_spec("sunset"))
    base = evaluate(model, scenario="Base").lines
    values = {"LowOtherCosts": -0.2, "LowWorkingCapital": 0.5}
    low = evaluate(model, values, scenario="Low").lines
    assert low["other_costs"] == pytest.approx(0.8 * base["other_costs"])
    assert low["wc_plan"] == pytest.approx(1.5 * base["wc_plan"])


def test_evaluate_flags_a_terminal_value_over_its_limit(tmp_path):
    runner = CliRunner()
    over = write_business_case(example_spec("analytics_addon"), tmp_path / "a.xlsx")
    result = runner.invoke(app, ["evaluate", str(over), "--json"])
    assert result.exit_code == 0
    assert "terminal value is" in result.stderr and "over the 75% limit" in result.stderr
    none = write_business_case(example_spec("hardware"), tmp_path / "h.xlsx")
    result = runner.invoke(app, ["evaluate", str(none)])
    assert result.exit_code == 0
    assert "terminal value" not in result.stderr
