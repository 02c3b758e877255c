"""The business-case model, defined once as data: inputs, drivers, lines, outputs.

:func:`build_model` turns a :class:`~udfs.spec.Spec` into a :class:`Model`.
Every line is an expression (:mod:`udfs.expr`); :func:`evaluate` computes
them with numpy and the workbook generator renders the very same expressions
as Excel formulas. The spec decides the structure (horizon, periods, one row
per fixed cost, role and gate); every number is an input, so the generated
workbook can be re-evaluated from its Inputs sheet alone.

Sign convention: revenue and inflows positive, costs and investment negative.
Flows accrue evenly within a period and are discounted from its end.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import expr as X
from .expr import Aggregate, Const, NotAvailableIf, PeriodNumber, Prev, Row, Scalar, compare
from .spec import SCENARIOS, Spec

TERMINAL_METHODS = ("None", "Perpetuity", "Exit multiple")
DEPRECIATION_METHODS = ("Straight line", "Schedule")


@dataclass(frozen=True)
class Input:
    """One assumption: a scalar, a text choice, or a series (one value per period)."""

    name: str  # the defined name is "In_" + name
    label: str
    section: str
    unit: str
    value: float | str | tuple[float, ...]
    note: str = ""
    kind: str = "scalar"  # scalar | text | series
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None


@dataclass(frozen=True)
class Line:
    """A calculation: a row across the timeline, or a scalar (one value)."""

    name: str
    label: str
    section: str
    unit: str
    expr: X.Expr
    scalar: bool = False
    total: bool = False  # shown in bold with a rule above


@dataclass(frozen=True)
class Output:
    name: str  # the defined name is "Out_" + name (or a helper without prefix)
    label: str
    unit: str
    expr: X.Expr
    public: bool = True


@dataclass
class Model:
    spec: Spec
    periods: int
    periods_per_year: int
    inputs: list[Input] = field(default_factory=list)
    drivers: list[Line] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    outputs: list[Output] = field(default_factory=list)

    def input(self, name: str) -> Input:
        return next(i for i in self.inputs if i.name == name)


# Scenario-adjustable drivers: key in spec.Scenario -> (input name or None for a factor, label)
_ADJUSTED = {
    "tam": ("TAM", "TAM, year 1"),
    "tam_growth": ("TAMGrowth", "TAM growth"),
    "sam_share": ("SAMShare", "SAM share of TAM"),
    "target_share": ("TargetShare", "Target share of SAM"),
    "price": ("Price", "Price per unit, year 1"),
    "price_change": ("PriceChange", "Annual price change"),
    "cogs_pct": ("COGSPct", "COGS, % of revenue"),
    "variable_opex_pct": ("VariableOpexPct", "Variable opex, % of revenue"),
    "fixed_opex": (None, "Fixed opex"),
    "headcount_cost": (None, "Headcount cost"),
    "development": (None, "Development cost"),
    "capex": (None, "Capex"),
    "revenue": (None, "Revenue"),
    "discount_rate": ("DiscountRate", "Discount rate"),
    "working_capital_pct": ("WorkingCapitalPct", "Working capital, % of revenue"),
}


def adjustment_names(key: str) -> tuple[str, str]:
    """Input names of a driver's Low and High adjustments."""
    camel = "".join(part.capitalize() for part in key.split("_"))
    return f"Low{camel}", f"High{camel}"


def live(key: str) -> Scalar:
    """The scenario-adjusted value (or factor) of a driver."""
    return Scalar(f"live_{key}")


def _by_period(values, spec: Spec, flow: bool = True) -> tuple[float, ...]:
    """Expand a by-year list to periods: flows split evenly, levels repeated."""
    ppy = spec.periods_per_year
    years = list(values) + [0.0] * (spec.meta.horizon - len(values))
    out = []
    for v in years:
        out.extend([v / ppy if flow else v] * ppy)
    return tuple(float(x) for x in out)


def _inputs(spec: Spec) -> list[Input]:
    m, f, inv = spec.meta, spec.finance, spec.investment
    market = spec.market
    pricing = spec.pricing
    s = spec.series
    cur = m.currency
    inputs = [
        Input(
            "Scenario",
            "Scenario",
            "Case",
            "choice",
            "Base",
            "Low / Base / High: drives every output",
            kind="text",
            choices=SCENARIOS,
        ),
        Input("StartYear", "First year", "Case", "year", m.start_year, minimum=1990, maximum=2100),
        Input(
            "Horizon",
            "Horizon",
            "Case",
            "years",
            m.horizon,
            "Fixed when the workbook is generated (it sets the timeline)",
            minimum=m.horizon,
            maximum=m.horizon,
        ),
        Input(
            "PeriodsPerYear",
            "Periods per year",
            "Case",
            "per year",
            spec.periods_per_year,
            "1 = annual, 4 = quarterly; fixed when the workbook is generated",
            minimum=spec.periods_per_year,
            maximum=spec.periods_per_year,
        ),
        Input(
            "TAM",
            "Total addressable market, year 1",
            "Market",
            "units/yr",
            market.tam if market else 0.0,
            minimum=0,
        ),
        Input(
            "TAMGrowth",
            "TAM growth",
            "Market",
            "%/yr",
            market.tam_growth if market else 0.0,
            minimum=-0.99,
            maximum=10,
        ),
        Input(
            "SAMShare",
            "Serviceable share of TAM (SAM)",
            "Market",
            "%",
            market.sam_share if market else 0.0,
            minimum=0,
            maximum=1,
        ),
        Input(
            "TargetShare",
            "Target share of SAM (SOM)",
            "Market",
            "%",
            market.target_share if market else 0.0,
            minimum=0,
            maximum=1,
        ),
        Input(
            "LaunchYear",
            "First year with sales",
            "Market",
            "year #",
            market.launch_year if market else 1,
            "1 = the first year of the case",
            minimum=1,
            maximum=15,
        ),
        Input(
            "YearsToTarget",
            "Years from launch to the target share",
            "Market",
            "years",
            market.years_to_target if market else 1,
            minimum=1,
            maximum=15,
        ),
        Input(
            "Price",
            "Price per unit, year 1",
            "Pricing",
            f"{cur}/unit",
            pricing.price if pricing else 0.0,
            minimum=0,
        ),
        Input(
            "PriceChange",
            "Annual price change",
            "Pricing",
            "%/yr",
            pricing.price_change if pricing else 0.0,
            minimum=-0.99,
            maximum=10,
        ),
        Input(
            "RevenueFromSeries",
            "Revenue from the forecast series (1) or the market build (0)",
            "Forecasts",
            "0/1",
            1.0 if s.revenue is not None else 0.0,
            minimum=0,
            maximum=1,
        ),
        Input(
            "COGSFromSeries",
            "COGS from the forecast series (1) or % of revenue (0)",
            "Forecasts",
            "0/1",
            1.0 if s.cogs is not None else 0.0,
            minimum=0,
            maximum=1,
        ),
        Input(
            "WCFromSeries",
            "Working capital from the forecast series (1) or % of revenue (0)",
            "Forecasts",
            "0/1",
            1.0 if s.working_capital is not None else 0.0,
            minimum=0,
            maximum=1,
        ),
        Input(
            "COGSPct", "COGS, % of revenue", "Costs", "%", spec.costs.cogs_pct, minimum=0, maximum=1
        ),
        Input(
            "VariableOpexPct",
            "Variable opex, % of revenue",
            "Costs",
            "%",
            spec.costs.variable_opex_pct,
            minimum=0,
            maximum=1,
        ),
    ]
    for i, cost in enumerate(spec.costs.fixed, start=1):
        inputs += [
            Input(f"Fixed{i}", f"{cost.name}", "Fixed opex", f"{cur}/yr", cost.amount, minimum=0),
            Input(
                f"Fixed{i}Growth",
                f"{cost.name}: growth",
                "Fixed opex",
                "%/yr",
                cost.growth,
                minimum=-0.99,
                maximum=10,
            ),
        ]
    for i, role in enumerate(spec.costs.headcount, start=1):
        inputs += [
            Input(f"Role{i}FTE", f"{role.role}: FTE", "Headcount", "FTE", role.fte, minimum=0),
            Input(
                f"Role{i}Cost",
                f"{role.role}: loaded cost per FTE",
                "Headcount",
                f"{cur}/yr",
                role.loaded_cost,
                minimum=0,
            ),
            Input(
                f"Role{i}CostGrowth",
                f"{role.role}: cost growth",
                "Headcount",
                "%/yr",
                role.cost_growth,
                minimum=-0.99,
                maximum=10,
            ),
        ]
    method = "Schedule" if inv.depreciation == "schedule" else "Straight line"
    inputs += [
        Input(
            "DepreciationMethod",
            "Depreciation method",
            "Investment",
            "choice",
            method,
            kind="text",
            choices=DEPRECIATION_METHODS if inv.depreciation_schedule else ("Straight line",),
        ),
        Input(
            "DepreciationLife",
            "Depreciation life (straight line)",
            "Investment",
            "years",
            inv.depreciation_life,
            minimum=1,
            maximum=30,
        ),
    ]
    for k, share in enumerate(inv.depreciation_schedule, start=1):
        inputs += [
            Input(
                f"DepreciationYear{k}",
                f"Depreciation schedule, year {k}",
                "Investment",
                "% of capex",
                share,
                minimum=0,
                maximum=1,
            ),
            Input(
                f"DepreciationAge{k}",
                f"Depreciation schedule, year {k}: age",
                "Investment",
                "years",
                k,
                "The capex vintage this share applies to (1 = year bought)",
                minimum=k,
                maximum=k,
            ),
        ]
    inputs += [
        Input(
            "SalvageValue",
            "Salvage value at the end of the horizon",
            "Investment",
            cur,
            inv.salvage_value,
            "Taxed on the gain over book value",
            minimum=0,
        ),
        Input(
            "DiscountRate",
            "Discount rate",
            "Finance",
            "%/yr",
            f.discount_rate,
            minimum=-0.99,
            maximum=1,
        ),
        Input("TaxRate", "Tax rate", "Finance", "%", f.tax_rate, minimum=0, maximum=1),
        Input(
            "CarryForwardLosses",
            "Losses carried forward (1) or credited now (0)",
            "Finance",
            "0/1",
            1.0 if f.losses == "carry_forward" else 0.0,
            "0: a loss year earns a tax credit against the company's other profits",
            minimum=0,
            maximum=1,
        ),
        Input(
            "WorkingCapitalPct",
            "Working capital, % of annual revenue",
            "Finance",
            "%",
            f.working_capital_pct,
            "Negative when customers pay in advance",
            minimum=-1,
            maximum=2,
        ),
        Input(
            "TerminalMethod",
            "Terminal value",
            "Finance",
            "choice",
            {"none": "None", "perpetuity": "Perpetuity", "exit_multiple": "Exit multiple"}[
                f.terminal_value
            ],
            kind="text",
            choices=TERMINAL_METHODS,
        ),
        Input(
            "TerminalGrowth",
            "Terminal growth (perpetuity)",
            "Finance",
            "%/yr",
            f.terminal_growth,
            minimum=-0.5,
            maximum=0.2,
        ),
        Input(
            "ExitMultiple",
            "Exit multiple of final-year EBITDA",
            "Finance",
            "x",
            f.exit_multiple,
            minimum=0,
            maximum=100,
        ),
        Input(
            "IRRGuess",
            "IRR guess (used when MIRR does not exist)",
            "Finance",
            "%",
            f.irr_guess,
            minimum=-0.99,
            maximum=10,
        ),
    ]
    for k, gate in enumerate(spec.risk.gates, start=1):
        inputs += [
            Input(
                f"Gate{k}Probability",
                f"{gate.name}: probability of passing",
                "Risk",
                "%",
                gate.probability,
                minimum=0,
                maximum=1,
            ),
            Input(
                f"Gate{k}Year",
                f"{gate.name}: decided at the end of year",
                "Risk",
                "year #",
                gate.until_year,
                minimum=0,
                maximum=spec.meta.horizon,
            ),
        ]
    for key, (_, label) in _ADJUSTED.items():
        low_name, high_name = adjustment_names(key)
        low = getattr(spec.scenarios.low, key)
        high = getattr(spec.scenarios.high, key)
        inputs += [
            Input(
                low_name,
                f"{label}: Low adjustment",
                "Scenarios",
                "% change",
                low,
                minimum=-0.99,
                maximum=10,
            ),
            Input(
                high_name,
                f"{label}: High adjustment",
                "Scenarios",
                "% change",
                high,
                minimum=-0.99,
                maximum=10,
            ),
        ]
    inputs.append(
        Input(
            "CheckTolerance",
            "Tolerance of the equality checks (Checks sheet)",
            "Checks",
            cur,
            0.01,
            minimum=0,
        )
    )
    capex = s.capex if s.capex is not None else inv.capex
    inputs += [
        Input(
            "Development",
            "Development cost (expensed)",
            "Series",
            f"{cur}/period",
            _by_period(inv.development, spec),
            kind="series",
        ),
        Input(
            "Capex",
            "Capital expenditure",
            "Series",
            f"{cur}/period",
            _by_period(capex, spec),
            kind="series",
        ),
        Input(
            "RevenueSeries",
            "Revenue forecast",
            "Series",
            f"{cur}/period",
            _by_period(s.revenue or [], spec),
            kind="series",
        ),
        Input(
            "COGSSeries",
            "COGS forecast (positive)",
            "Series",
            f"{cur}/period",
            _by_period(s.cogs or [], spec),
            kind="series",
        ),
        Input(
            "OtherCosts",
            "Other costs (positive)",
            "Series",
            f"{cur}/period",
            _by_period(s.other_costs or [], spec),
            kind="series",
        ),
        Input(
            "WorkingCapitalSeries",
            "Working capital level forecast",
            "Series",
            cur,
            _by_period(s.working_capital or [], spec, flow=False),
            kind="series",
        ),
        Input(
            "Baseline",
            "Baseline free cash flow (do nothing)"
            + (f": {spec.baseline.description}" if spec.baseline.description else ""),
            "Series",
            f"{cur}/period",
            _by_period(spec.baseline.cash_flows, spec),
            kind="series",
        ),
    ]
    return inputs


def _drivers(spec: Spec) -> list[Line]:
    index = Scalar("scenario_index")
    drivers = [
        Line(
            "scenario_index",
            "Scenario number (1 Low, 2 Base, 3 High)",
            "Drivers",
            "#",
            X.Const(0.0),
            scalar=True,
        ),  # rendered per block: MATCH(scenario, list, 0)
        Line(
            "periods_total",
            "Periods in the horizon",
            "Drivers",
            "periods",
            Scalar("Horizon") * Scalar("PeriodsPerYear"),
            scalar=True,
        ),
    ]
    for key, (name, label) in _ADJUSTED.items():
        low, high = adjustment_names(key)
        change = X.Choose(index, (Scalar(low), Const(0.0), Scalar(high)))
        if name is None:
            drivers.append(
                Line(
                    f"live_{key}",
                    f"{label}: scenario factor",
                    "Drivers",
                    "x",
                    1 + change,
                    scalar=True,
                )
            )
        else:
            drivers.append(
                Line(
                    f"live_{key}",
                    f"{label} (scenario)",
                    "Drivers",
                    "",
                    Scalar(name) * (1 + change),
                    scalar=True,
                )
            )
    drivers.append(
        Line(
            "period_rate",
            "Discount rate per period",
            "Drivers",
            "%",
            (1 + live("discount_rate")) ** (1 / Scalar("PeriodsPerYear")) - 1,
            scalar=True,
        )
    )
    return drivers


def _lines(spec: Spec) -> list[Line]:
    ppy = Scalar("PeriodsPerYear")
    r = Row
    grow_from_year_one = r("year_index") - 1
    lines = [
        Line("period", "Period", "Timeline", "#", PeriodNumber()),
        Line("year_index", "Year of the case", "Timeline", "#", X.roundup(r("period") / ppy)),
        Line(
            "year", "Calendar year", "Timeline", "year", Scalar("StartYear") + r("year_index") - 1
        ),
        Line("time_years", "Time at period end", "Timeline", "years", r("period") / ppy),
        Line(
            "is_last",
            "Last period flag",
            "Timeline",
            "flag",
            compare("=", r("period"), Scalar("periods_total")),
        ),
        # Revenue build: TAM -> SAM -> SOM -> units -> revenue
        Line(
            "tam",
            "TAM",
            "Revenue",
            "units/yr",
            live("tam") * (1 + live("tam_growth")) ** grow_from_year_one,
        ),
        Line("sam", "SAM", "Revenue", "units/yr", r("tam") * live("sam_share")),
        Line(
            "years_selling",
            "Years on sale",
            "Revenue",
            "years",
            X.fmax(r("year_index") - Scalar("LaunchYear") + 1, 0),
        ),
        Line(
            "share",
            "Share of SAM won",
            "Revenue",
            "%",
            X.fmin(r("years_selling") / Scalar("YearsToTarget"), 1) * live("target_share"),
        ),
        Line("units", "Units sold (SOM)", "Revenue", "units", r("sam") * r("share") / ppy),
        Line(
            "price",
            "Price per unit",
            "Revenue",
            "per unit",
            live("price") * (1 + live("price_change")) ** grow_from_year_one,
        ),
        Line(
            "revenue_build",
            "Revenue from the market build",
            "Revenue",
            "currency",
            r("units") * r("price"),
        ),
        Line(
            "revenue",
            "Revenue",
            "P&L",
            "currency",
            X.fif(Scalar("RevenueFromSeries"), r("RevenueSeries"), r("revenue_build"))
            * live("revenue"),
            total=True,
        ),
        Line(
            "cogs",
            "COGS",
            "P&L",
            "currency",
            -X.fif(Scalar("COGSFromSeries"), r("COGSSeries"), r("revenue") * live("cogs_pct")),
        ),
        Line(
            "gross_profit", "Gross profit", "P&L", "currency", r("revenue") + r("cogs"), total=True
        ),
    ]
    opex_parts = []
    for i, cost in enumerate(spec.costs.fixed, start=1):
        name = f"fixed_{i}"
        lines.append(
            Line(
                name,
                cost.name,
                "P&L",
                "currency",
                -Scalar(f"Fixed{i}")
                * (1 + Scalar(f"Fixed{i}Growth")) ** grow_from_year_one
                / ppy
                * live("fixed_opex"),
            )
        )
        opex_parts.append(name)
    for i, role in enumerate(spec.costs.headcount, start=1):
        name = f"staff_{i}"
        lines.append(
            Line(
                name,
                f"Staff: {role.role}",
                "P&L",
                "currency",
                -Scalar(f"Role{i}FTE")
                * Scalar(f"Role{i}Cost")
                * (1 + Scalar(f"Role{i}CostGrowth")) ** grow_from_year_one
                / ppy
                * live("headcount_cost"),
            )
        )
        opex_parts.append(name)
    lines += [
        Line(
            "variable_opex",
            "Variable opex",
            "P&L",
            "currency",
            -r("revenue") * live("variable_opex_pct"),
        ),
        Line("other_costs", "Other costs", "P&L", "currency", -r("OtherCosts")),
        Line(
            "development",
            "Development (expensed)",
            "P&L",
            "currency",
            -r("Development") * live("development"),
        ),
    ]
    opex_parts += ["variable_opex", "other_costs", "development"]
    opex = r(opex_parts[0])
    for part in opex_parts[1:]:
        opex = opex + r(part)
    lines += [
        Line("opex", "Operating expenses", "P&L", "currency", opex, total=True),
        Line("ebitda", "EBITDA", "P&L", "currency", r("gross_profit") + r("opex"), total=True),
        Line("capex", "Capex", "Investment", "currency", -r("Capex") * live("capex")),
        Line("cum_capex", "Cumulative capex", "Investment", "currency", X.CumSum("capex")),
        Line(
            "depreciation_sl",
            "Depreciation, straight line",
            "Investment",
            "currency",
            (r("cum_capex") - X.Lag("cum_capex", Scalar("DepreciationLife") * ppy))
            / (Scalar("DepreciationLife") * ppy),
        ),
    ]
    schedule = spec.investment.depreciation_schedule
    if schedule:
        ages = []
        for k in range(1, len(schedule) + 1):
            lag = X.Lag("capex", Scalar(f"DepreciationAge{k}") - 1)
            lines.append(
                Line(
                    f"depreciation_age_{k}",
                    f"Depreciation of capex aged {k}",
                    "Investment",
                    "currency",
                    Scalar(f"DepreciationYear{k}") * lag,
                )
            )
            ages.append(f"depreciation_age_{k}")
        total = r(ages[0])
        for a in ages[1:]:
            total = total + r(a)
        lines.append(
            Line("depreciation_schedule", "Depreciation, schedule", "Investment", "currency", total)
        )
        dep = X.fif(
            compare("=", Scalar("DepreciationMethod"), X.Text("Schedule")),
            r("depreciation_schedule"),
            r("depreciation_sl"),
        )
    else:
        dep = r("depreciation_sl")
    tax = Scalar("TaxRate")
    lines += [
        Line("depreciation", "Depreciation", "P&L", "currency", dep),
        Line("ebit", "EBIT", "P&L", "currency", r("ebitda") + r("depreciation"), total=True),
        Line("cum_ebit", "Cumulative EBIT", "Tax", "currency", X.CumSum("ebit")),
        Line(
            "taxable_to_date",
            "Taxable profit to date (losses carried forward)",
            "Tax",
            "currency",
            X.fmax(X.RunMax("cum_ebit"), 0),
        ),
        Line(
            "taxable",
            "Taxable profit after loss relief",
            "Tax",
            "currency",
            r("taxable_to_date") - Prev("taxable_to_date"),
        ),
        Line(
            "tax",
            "Tax",
            "P&L",
            "currency",
            -X.fif(Scalar("CarryForwardLosses"), r("taxable"), r("ebit")) * tax,
        ),
        Line("nopat", "NOPAT", "P&L", "currency", r("ebit") + r("tax"), total=True),
        Line(
            "book_value",
            "Net book value",
            "Investment",
            "currency",
            -r("cum_capex") + X.CumSum("depreciation"),
        ),
        Line(
            "salvage",
            "Salvage proceeds",
            "Cash flow",
            "currency",
            r("is_last") * Scalar("SalvageValue"),
        ),
        Line(
            "salvage_tax",
            "Tax on salvage gain",
            "Cash flow",
            "currency",
            -(r("salvage") - r("is_last") * r("book_value")) * tax,
        ),
        Line(
            "wc_level",
            "Working capital",
            "Cash flow",
            "currency",
            X.fif(
                Scalar("WCFromSeries"),
                r("WorkingCapitalSeries"),
                r("revenue") * ppy * live("working_capital_pct"),
            ),
        ),
        Line(
            "wc_change",
            "Change in working capital",
            "Cash flow",
            "currency",
            -(r("wc_level") - Prev("wc_level")),
        ),
        Line(
            "fcf_operations",
            "Free cash flow before terminal value",
            "Cash flow",
            "currency",
            r("nopat")
            - r("depreciation")
            + r("capex")
            + r("wc_change")
            + r("salvage")
            + r("salvage_tax"),
            total=True,
        ),
        Line(
            "tv_perpetuity",
            "Terminal value, perpetuity",
            "Cash flow",
            "currency",
            r("is_last")
            * r("fcf_operations")
            * ppy
            * (1 + Scalar("TerminalGrowth"))
            / (live("discount_rate") - Scalar("TerminalGrowth")),
        ),
        Line(
            "tv_multiple",
            "Terminal value, exit multiple",
            "Cash flow",
            "currency",
            r("is_last") * r("ebitda") * ppy * Scalar("ExitMultiple"),
        ),
        Line(
            "terminal_value",
            "Terminal value",
            "Cash flow",
            "currency",
            X.fif(
                compare("=", Scalar("TerminalMethod"), X.Text("Perpetuity")),
                r("tv_perpetuity"),
                X.fif(
                    compare("=", Scalar("TerminalMethod"), X.Text("Exit multiple")),
                    r("tv_multiple"),
                    0,
                ),
            ),
        ),
        Line(
            "fcf",
            "Free cash flow",
            "Cash flow",
            "currency",
            r("fcf_operations") + r("terminal_value"),
            total=True,
        ),
        Line(
            "baseline",
            "Baseline free cash flow (do nothing)",
            "Cash flow",
            "currency",
            r("Baseline"),
        ),
        Line(
            "incremental_fcf",
            "Incremental free cash flow",
            "Cash flow",
            "currency",
            r("fcf") - r("baseline"),
            total=True,
        ),
        Line(
            "discount_factor",
            "Discount factor",
            "Valuation",
            "x",
            1 / (1 + live("discount_rate")) ** r("time_years"),
        ),
        Line(
            "discounted_fcf",
            "Discounted incremental FCF",
            "Valuation",
            "currency",
            r("incremental_fcf") * r("discount_factor"),
        ),
        Line(
            "cum_fcf",
            "Cumulative incremental FCF",
            "Valuation",
            "currency",
            X.CumSum("incremental_fcf"),
        ),
        Line(
            "cum_dcf",
            "Cumulative discounted FCF",
            "Valuation",
            "currency",
            X.CumSum("discounted_fcf"),
        ),
        Line(
            "operating_fcf",
            "Incremental FCF before terminal value",
            "Valuation",
            "currency",
            r("incremental_fcf") - r("terminal_value"),
        ),
        Line(
            "cum_operating_fcf",
            "Cumulative incremental FCF before terminal value (J-curve)",
            "Valuation",
            "currency",
            X.CumSum("operating_fcf"),
        ),
        Line(
            "pv_terminal",
            "Discounted terminal value",
            "Valuation",
            "currency",
            r("terminal_value") * r("discount_factor"),
        ),
    ]
    for prefix, cum, flow in (
        ("pb", "cum_fcf", "incremental_fcf"),
        ("dpb", "cum_dcf", "discounted_fcf"),
    ):
        lines += [
            Line(
                f"{prefix}_reached", "Cumulative >= 0", "Payback", "flag", compare(">=", r(cum), 0)
            ),
            Line(
                f"{prefix}_ever", "Reached by now", "Payback", "flag", X.RunMax(f"{prefix}_reached")
            ),
            Line(
                f"{prefix}_first",
                "First period reached",
                "Payback",
                "flag",
                r(f"{prefix}_ever") - Prev(f"{prefix}_ever"),
            ),
            Line(
                f"{prefix}_time",
                "Payback point",
                "Payback",
                "periods",
                r(f"{prefix}_first")
                * ((r("period") - 1) + X.fif(compare("=", r(flow), 0), 0, -Prev(cum) / r(flow))),
            ),
        ]
    weight = Const(1.0)
    for k, _ in enumerate(spec.risk.gates, start=1):
        lines.append(
            Line(
                f"gate_{k}",
                f"Gate {k}: probability applied",
                "Risk",
                "%",
                X.fif(
                    compare(">", r("year_index"), Scalar(f"Gate{k}Year")),
                    Scalar(f"Gate{k}Probability"),
                    1,
                ),
            )
        )
        weight = weight * r(f"gate_{k}")
    lines += [
        Line("risk_weight", "Probability of reaching the period", "Risk", "%", weight),
        Line(
            "risk_dcf",
            "Risk-weighted discounted FCF",
            "Risk",
            "currency",
            r("discounted_fcf") * r("risk_weight"),
        ),
    ]
    return lines


def _outputs() -> list[Output]:
    ppy = Scalar("PeriodsPerYear")
    rate = Scalar("period_rate")
    s = Scalar
    no_outflow = compare("=", Aggregate("SUMIF_NEG", ("incremental_fcf",)), 0)
    no_pv_outflow = compare("=", Aggregate("SUMIF_NEG", ("discounted_fcf",)), 0)
    return [
        Output("NPV", "Net present value", "currency", Aggregate("SUM", ("discounted_fcf",))),
        Output(
            "IRRGuess",
            "IRR starting point (periodic MIRR)",
            "%",
            X.IfError(Aggregate("MIRR", ("incremental_fcf",), (rate, rate)), s("IRRGuess")),
            public=False,
        ),
        Output(
            "IRR",
            "Internal rate of return",
            "%",
            (1 + Aggregate("IRR", ("incremental_fcf",), (s("IRRGuess_out"),))) ** ppy - 1,
        ),
        Output(
            "MIRR",
            "Modified IRR (finance and reinvestment at the discount rate)",
            "%",
            (1 + Aggregate("MIRR", ("incremental_fcf",), (rate, rate))) ** ppy - 1,
        ),
        Output(
            "Payback",
            "Payback",
            "years",
            NotAvailableIf(
                compare("=", Aggregate("SUM", ("pb_first",)), 0),
                Aggregate("SUM", ("pb_time",)) / ppy,
            ),
        ),
        Output(
            "DiscountedPayback",
            "Discounted payback",
            "years",
            NotAvailableIf(
                compare("=", Aggregate("SUM", ("dpb_first",)), 0),
                Aggregate("SUM", ("dpb_time",)) / ppy,
            ),
        ),
        Output(
            "ROI",
            "Return on investment (undiscounted)",
            "%",
            NotAvailableIf(
                no_outflow,
                (
                    Aggregate("SUMIF_POS", ("incremental_fcf",))
                    + Aggregate("SUMIF_NEG", ("incremental_fcf",))
                )
                / -Aggregate("SUMIF_NEG", ("incremental_fcf",)),
            ),
        ),
        Output(
            "PI",
            "Profitability index",
            "x",
            NotAvailableIf(
                no_pv_outflow,
                Aggregate("SUMIF_POS", ("discounted_fcf",))
                / -Aggregate("SUMIF_NEG", ("discounted_fcf",)),
            ),
        ),
        Output(
            "PeakFunding",
            "Peak funding need",
            "currency",
            X.fmax(0, -Aggregate("MIN", ("cum_fcf",))),
        ),
        Output(
            "BreakEvenYear",
            "Break-even year (cumulative FCF >= 0)",
            "year",
            NotAvailableIf(
                compare("=", Aggregate("SUM", ("pb_first",)), 0),
                Aggregate("SUMPRODUCT", ("pb_first", "year")),
            ),
        ),
        Output("eNPV", "Risk-adjusted NPV (eNPV)", "currency", Aggregate("SUM", ("risk_dcf",))),
        Output(
            "TerminalValueShare",
            "Terminal value's share of NPV",
            "%",
            NotAvailableIf(
                compare("=", s("NPV_out"), 0), Aggregate("SUM", ("pv_terminal",)) / s("NPV_out")
            ),
        ),
    ]


def build_model(spec: Spec) -> Model:
    """The model a spec describes, with the spec's values as its inputs."""
    model = Model(spec, spec.periods, spec.periods_per_year)
    model.inputs = _inputs(spec)
    model.drivers = _drivers(spec)
    model.lines = _lines(spec)
    model.outputs = _outputs()
    return model


# --- evaluation --------------------------------------------------------------


@dataclass
class Evaluation:
    """Lines by period and outputs of one scenario (trial axis dropped when 1)."""

    scenario: str
    lines: dict[str, np.ndarray]
    outputs: dict[str, float]


def input_values(model: Model) -> dict[str, float | str | np.ndarray]:
    """The model's inputs as the spec gave them."""
    return {
        i.name: (np.asarray(i.value, dtype=float) if i.kind == "series" else i.value)
        for i in model.inputs
    }


def evaluate(model: Model, values: dict | None = None, scenario: str | None = None) -> Evaluation:
    """Compute every line and output for one scenario.

    ``values`` overrides inputs by name (as read from a workbook); ``scenario``
    overrides the ``Scenario`` input (Low / Base / High).
    """
    trials = evaluate_trials(model, values, scenario)
    public = {o.name for o in model.outputs if o.public}
    return Evaluation(
        trials.scenario,
        {name: row[0] for name, row in trials.lines.items()},
        {name: float(v[0]) for name, v in trials.outputs.items() if name in public},
    )


@dataclass
class Trials:
    """Lines (trials x periods) and outputs (trials,) for many input sets at once."""

    scenario: str
    lines: dict[str, np.ndarray]
    outputs: dict[str, np.ndarray]


def evaluate_trials(
    model: Model, values: dict | None = None, scenario: str | None = None
) -> Trials:
    """Evaluate the model for many input sets in one vectorised pass.

    A scalar input given as an array of shape (trials,) varies by trial; a
    series input as (trials, periods). Everything else is shared. This is what
    Monte Carlo, sensitivity grids and break-even searches run on.
    """
    inputs = input_values(model)
    unknown = set(values or {}) - set(inputs)
    if unknown:
        raise ValueError(
            f"values: no input named {', '.join(sorted(unknown))}; inputs are "
            f"named as the In_ names without the prefix"
        )
    inputs.update(values or {})
    chosen = scenario or str(inputs["Scenario"])
    matches = [s for s in SCENARIOS if s.lower() == chosen.strip().lower()]
    if not matches:
        raise ValueError(f"In_Scenario: must be one of {', '.join(SCENARIOS)}; got {chosen!r}")
    chosen = matches[0]
    kinds = {i.name: i.kind for i in model.inputs}
    ctx = X.Context()
    ctx.values["__periods__"] = model.periods
    trials = 1
    for name, value in inputs.items():
        if isinstance(value, str):
            ctx.values[name] = value
            continue
        arr = np.asarray(value, dtype=float)
        if kinds.get(name) == "series":
            arr = arr.reshape(1, -1) if arr.ndim == 1 else arr
        else:
            arr = arr.reshape(-1, 1)
        trials = max(trials, arr.shape[0])
        ctx.values[name] = arr
    ctx.values["scenario_index"] = np.array([[SCENARIOS.index(chosen) + 1.0]])
    with np.errstate(all="ignore"):
        for line in model.drivers[1:]:
            ctx.values[line.name] = np.broadcast_to(line.expr.evaluate(ctx), (trials, 1))
        for line in model.lines:
            ctx.values[line.name] = np.broadcast_to(
                line.expr.evaluate(ctx), (trials, model.periods)
            )
        outputs = {}
        for out in model.outputs:
            value = np.broadcast_to(
                np.asarray(out.expr.evaluate(ctx), dtype=float).reshape(-1, 1), (trials, 1)
            )
            ctx.values[f"{out.name}_out"] = value
            outputs[out.name] = value[:, 0]
    return Trials(chosen, {line.name: ctx.values[line.name] for line in model.lines}, outputs)
