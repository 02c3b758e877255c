"""The business-case model, defined once as data: inputs, drivers, lines, outputs.

:func:`build_model` turns a :class:`~udfs.spec.Spec` into a :class:`Model`.
Every line is an expression (:mod:`udfs.expr`); :func:`evaluate` computes
them with numpy and the workbook generator renders the very same expressions
as Excel formulas. The spec decides the structure (horizon, periods, one row
per fixed cost, role and gate); every number is an input, so the generated
workbook can be re-evaluated from its Inputs sheet alone.

Sign convention: revenue and inflows positive, costs and investment negative.

The valuation clock: the timeline opens with period 0, a point at the
valuation date (t = 0, 1 January of the first year) holding what is paid now;
operating periods 1..N follow. Their flows are discounted from the end of each
period, or from its middle when ``finance.timing = "mid"``. NPV, IRR, MIRR,
both paybacks, ROI, PI, peak funding, break-even and eNPV all read that one
timeline.
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
    kind: str = "scalar"  # scalar | text | series | now (a series' period-0 cell)
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
    periods: int  # operating periods; the timeline adds period 0 in front
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
    "cogs": (None, "COGS forecast"),
    "other_costs": (None, "Other costs"),
    "working_capital": (None, "Working capital"),
}
#: The unit of each scenario-adjusted driver that is not a factor, for its label
#: and number format (a 10% rate shown as "10.0%", not "0").
_ADJUSTED_UNITS = {
    "TAM": "units/yr",
    "TAMGrowth": "%",
    "SAMShare": "%",
    "TargetShare": "%",
    "Price": "per unit",
    "PriceChange": "%",
    "COGSPct": "%",
    "VariableOpexPct": "%",
    "DiscountRate": "%",
    "WorkingCapitalPct": "%",
}

#: Series whose period-0 cell is an input of its own (the [now] section of a spec).
#: Series -> (its period-0 input, the field of spec.now it comes from, label).
NOW_INPUTS = {
    "Development": ("DevelopmentNow", "development", "Development cost"),
    "Capex": ("CapexNow", "capex", "Capital expenditure"),
    "OtherCosts": ("OtherCostsNow", "other_costs", "Other costs"),
    "WorkingCapitalSeries": ("WorkingCapitalNow", "working_capital", "Working capital"),
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
        Input(
            "StartYear",
            "First year",
            "Case",
            "year",
            m.start_year,
            "The valuation date (t = 0) is 1 January of this year",
            minimum=1990,
            maximum=2100,
        ),
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
            "Timing",
            "Timing of the operating years' flows",
            "Finance",
            "choice",
            "Mid" if f.timing == "mid" else "End",
            "End: discounted from the end of each period; Mid: from its middle. "
            "Period 0 (now) is always at t = 0",
            kind="text",
            choices=("End", "Mid"),
        ),
        Input(
            "MidPoint",
            "Position of a mid-period flow in its period",
            "Finance",
            "periods",
            0.5,
            "Fixed: half a period",
            minimum=0.5,
            maximum=0.5,
        ),
        Input(
            "ReleaseWorkingCapital",
            "Working capital released in the last period (1) or kept (0)",
            "Finance",
            "0/1",
            1.0 if f.release_working_capital else 0.0,
            "Applies only without a terminal value; with one, working capital stays",
            minimum=0,
            maximum=1,
        ),
        Input(
            "MaintenanceCapex",
            "Steady-state capex per year (terminal value)",
            "Finance",
            f"{cur}/yr",
            f.maintenance_capex,
            "The terminal year uses the larger of this and its depreciation",
            minimum=0,
        ),
        Input(
            "TVShareLimit",
            "Flag a terminal value above this share of NPV",
            "Finance",
            "%",
            f.terminal_value_share_limit,
            minimum=0,
            maximum=1,
        ),
        Input(
            "IRRTolerance",
            "IRR accepted when the NPV at it is within this share of the flows' size",
            "Finance",
            "ratio",
            1e-9,
            "Relative: the NPV at the IRR against the sum of the flows' absolute present values",
            minimum=0,
            maximum=0.01,
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
    for name, field_name, label in NOW_INPUTS.values():
        value = getattr(spec.now, field_name)
        inputs.append(Input(name, f"{label} now (t = 0)", "Series", cur, value, kind="now"))
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
                    _ADJUSTED_UNITS[name],
                    Scalar(name) * (1 + change),
                    scalar=True,
                )
            )
    drivers.append(
        Line(
            "flow_point",
            "Where an operating flow sits in its period (1 end, 0.5 middle)",
            "Drivers",
            "periods",
            X.fif(compare("=", Scalar("Timing"), X.Text("Mid")), Scalar("MidPoint"), 1),
            scalar=True,
        )
    )
    drivers.append(
        Line(
            "release_wc",
            "Working capital released at the horizon (no terminal value)",
            "Drivers",
            "flag",
            Scalar("ReleaseWorkingCapital")
            * compare("=", Scalar("TerminalMethod"), X.Text("None")),
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
    operating = r("is_operating")
    lines = [
        Line("period", "Period (0 = now)", "Timeline", "#", PeriodNumber()),
        Line(
            "is_now", "Now flag (period 0, t = 0)", "Timeline", "flag", compare("=", r("period"), 0)
        ),
        Line("is_operating", "Operating period flag", "Timeline", "flag", 1 - r("is_now")),
        Line("year_index", "Year of the case", "Timeline", "#", X.roundup(r("period") / ppy)),
        Line(
            "year",
            "Calendar year (now counts in the first)",
            "Timeline",
            "year",
            Scalar("StartYear") + X.fmax(r("year_index"), 1) - 1,
        ),
        Line(
            "time_periods",
            "Time of the flow from the valuation date",
            "Timeline",
            "periods",
            r("period") - operating * (1 - Scalar("flow_point")),
        ),
        Line(
            "time_years", "Time of the flow, in years", "Timeline", "years", r("time_periods") / ppy
        ),
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
            -X.fif(
                Scalar("COGSFromSeries"),
                r("COGSSeries") * live("cogs"),
                r("revenue") * live("cogs_pct"),
            ),
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
                * live("fixed_opex")
                * operating,
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
                * live("headcount_cost")
                * operating,
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
        Line(
            "other_costs", "Other costs", "P&L", "currency", -r("OtherCosts") * live("other_costs")
        ),
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
        # Capex paid now goes into service with the first operating period.
        Line(
            "capex_in_service",
            "Capex going into service (now's with period 1)",
            "Investment",
            "currency",
            operating * r("capex") + compare("=", r("period"), 1) * Prev("capex"),
        ),
        Line(
            "cum_capex_in_service",
            "Cumulative capex in service",
            "Investment",
            "currency",
            X.CumSum("capex_in_service"),
        ),
        Line(
            "depreciation_sl",
            "Depreciation, straight line",
            "Investment",
            "currency",
            (
                r("cum_capex_in_service")
                - X.Lag("cum_capex_in_service", Scalar("DepreciationLife") * ppy)
            )
            / (Scalar("DepreciationLife") * ppy),
        ),
    ]
    schedule = spec.investment.depreciation_schedule
    if schedule:
        ages = []
        for k in range(1, len(schedule) + 1):
            lag = X.Lag("capex_in_service", Scalar(f"DepreciationAge{k}") - 1)
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
    growth = Scalar("TerminalGrowth")
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
            "wc_plan",
            "Working capital needed by the business",
            "Cash flow",
            "currency",
            X.fif(
                Scalar("WCFromSeries") + r("is_now"),
                r("WorkingCapitalSeries"),
                r("revenue") * ppy * live("working_capital_pct"),
            )
            * live("working_capital"),
        ),
        Line(
            "wc_level",
            "Working capital (released at the horizon without a terminal value)",
            "Cash flow",
            "currency",
            r("wc_plan") * (1 - r("is_last") * Scalar("release_wc")),
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
        # The terminal value starts from a normalised steady-state year (the year
        # after the horizon), not from the last year as it is: no salvage, working
        # capital growing with the business, capex at least replacing depreciation.
        Line(
            "tv_ebitda",
            "Steady-state year: EBITDA",
            "Terminal value",
            "currency",
            r("is_last") * r("ebitda") * ppy * (1 + growth),
        ),
        Line(
            "tv_depreciation",
            "Steady-state year: depreciation",
            "Terminal value",
            "currency",
            r("is_last") * r("depreciation") * ppy * (1 + growth),
        ),
        Line(
            "tv_tax",
            "Steady-state year: tax",
            "Terminal value",
            "currency",
            -(r("tv_ebitda") + r("tv_depreciation")) * tax,
        ),
        Line(
            "tv_capex",
            "Steady-state year: capex (at least depreciation)",
            "Terminal value",
            "currency",
            -X.fmax(-r("tv_depreciation"), r("is_last") * Scalar("MaintenanceCapex")),
        ),
        Line(
            "tv_wc_change",
            "Steady-state year: working capital growth",
            "Terminal value",
            "currency",
            -r("is_last") * r("wc_level") * growth,
        ),
        Line(
            "tv_fcf",
            "Steady-state year: free cash flow",
            "Terminal value",
            "currency",
            r("tv_ebitda") + r("tv_tax") + r("tv_capex") + r("tv_wc_change"),
            total=True,
        ),
        # Valued at the end of the horizon; its flows sit where the years' flows
        # do, so mid-period timing brings them half a period nearer.
        Line(
            "tv_perpetuity",
            "Terminal value, perpetuity of the steady-state year",
            "Terminal value",
            "currency",
            r("tv_fcf")
            / (live("discount_rate") - growth)
            * (1 + Scalar("period_rate")) ** (1 - Scalar("flow_point")),
        ),
        Line(
            "tv_multiple",
            "Terminal value, exit multiple of the last year's EBITDA",
            "Terminal value",
            "currency",
            r("is_last") * r("ebitda") * ppy * Scalar("ExitMultiple"),
        ),
        Line(
            "terminal_value",
            "Terminal value",
            "Terminal value",
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
            "Free cash flow",
            "currency",
            r("fcf_operations") + r("terminal_value"),
            total=True,
        ),
        Line(
            "baseline",
            "Baseline free cash flow (do nothing)",
            "Free cash flow",
            "currency",
            r("Baseline"),
        ),
        Line(
            "incremental_fcf",
            "Incremental free cash flow",
            "Free cash flow",
            "currency",
            r("fcf") - r("baseline"),
            total=True,
        ),
        Line(
            "discount_factor",
            "Discount factor (at the flow's time)",
            "Valuation",
            "x",
            1 / (1 + live("discount_rate")) ** r("time_years"),
        ),
        Line(
            "discount_factor_end",
            "Discount factor at the period's end (terminal value)",
            "Valuation",
            "x",
            1 / (1 + live("discount_rate")) ** (r("period") / ppy),
        ),
        Line(
            "operating_fcf",
            "Incremental FCF before terminal value",
            "Valuation",
            "currency",
            r("incremental_fcf") - r("terminal_value"),
        ),
        Line(
            "pv_terminal",
            "Discounted terminal value",
            "Valuation",
            "currency",
            r("terminal_value") * r("discount_factor_end"),
        ),
        Line(
            "discounted_fcf",
            "Discounted incremental FCF",
            "Valuation",
            "currency",
            r("operating_fcf") * r("discount_factor") + r("pv_terminal"),
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
            "cum_operating_fcf",
            "Cumulative incremental FCF before terminal value (J-curve)",
            "Valuation",
            "currency",
            X.CumSum("operating_fcf"),
        ),
    ]
    # Payback, the textbook rule: the time at which the cumulative flow has
    # recovered every earlier outflow. Inflows before the first outflow count in
    # the cumulative but are no payback of their own; a later dip below zero
    # does not undo the first recovery. Flows accrue evenly within a period.
    for prefix, cum, flow in (
        ("pb", "cum_fcf", "incremental_fcf"),
        ("dpb", "cum_dcf", "discounted_fcf"),
    ):
        lines += [
            Line(f"{prefix}_below", "Cumulative < 0", "Payback", "flag", compare("<", r(cum), 0)),
            Line(
                f"{prefix}_owing",
                "Cumulative has been below 0 by now",
                "Payback",
                "flag",
                X.RunMax(f"{prefix}_below"),
            ),
            Line(
                f"{prefix}_reached",
                "Recovered (cumulative >= 0 after being below)",
                "Payback",
                "flag",
                compare(">=", r(cum), 0) * r(f"{prefix}_owing"),
            ),
            Line(
                f"{prefix}_ever",
                "Recovered by now",
                "Payback",
                "flag",
                X.RunMax(f"{prefix}_reached"),
            ),
            Line(
                f"{prefix}_first",
                "First period recovered",
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


#: Newton steps that carry Excel's IRR (equal spacing from t = 0) onto the
#: valuation clock's flow times; from that start they converge in a few steps.
IRR_STEPS = 6


def _present_value(rate: X.Expr, kind: str = "PV_AT") -> X.Expr:
    """Operating flows at their times plus the terminal value at the horizon's end."""
    return Aggregate(kind, ("operating_fcf", "time_periods"), (rate,)) + Aggregate(
        kind, ("terminal_value", "period"), (rate,)
    )


def _outputs() -> list[Output]:
    ppy = Scalar("PeriodsPerYear")
    rate = Scalar("period_rate")
    s = Scalar
    no_outflow = compare("=", Aggregate("SUMIF_NEG", ("incremental_fcf",)), 0)
    no_pv_outflow = compare("=", Aggregate("SUMIF_NEG", ("discounted_fcf",)), 0)
    horizon = s("periods_total")
    irr_steps = []
    previous = s("IRRStart_out")
    for k in range(1, IRR_STEPS + 1):
        irr_steps.append(
            Output(
                f"IRRStep{k}",
                f"IRR on the valuation clock, Newton step {k} (periodic)",
                "%",
                previous + _present_value(previous) / _present_value(previous, "DPV_AT"),
                public=False,
            )
        )
        previous = s(f"IRRStep{k}_out")
    pv_outflows = _present_value(rate, "PV_AT_NEG")
    fv_inflows = Aggregate("FV_AT_POS", ("operating_fcf", "time_periods"), (rate, horizon)) + (
        Aggregate("FV_AT_POS", ("terminal_value", "period"), (rate, horizon))
    )

    def payback(prefix: str) -> X.Expr:
        # Never below zero: nothing to recover (0). Below and never recovered: #N/A.
        never = compare(
            ">",
            Aggregate("MAX", (f"{prefix}_owing",)) - Aggregate("SUM", (f"{prefix}_first",)),
            0,
        )
        return NotAvailableIf(never, Aggregate("SUM", (f"{prefix}_time",)) / ppy)

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
            "IRRStart",
            "IRR of the flows equally spaced from t = 0 (periodic)",
            "%",
            # A zero now-column can stall Excel's and LibreOffice's iteration where
            # the flows from period 1 converge; they share the root then.
            X.IfError(
                Aggregate("IRR", ("incremental_fcf",), (s("IRRGuess_out"),)),
                Aggregate("IRR_FROM_1", ("incremental_fcf",), (s("IRRGuess_out"),)),
            ),
            public=False,
        ),
        *irr_steps,
        Output(
            "IRR",
            "Internal rate of return",
            "%",
            NotAvailableIf(
                compare(
                    ">",
                    X.fabs(_present_value(previous)),
                    s("IRRTolerance") * _present_value(previous, "ABS_PV_AT"),
                ),
                (1 + previous) ** ppy - 1,
            ),
        ),
        Output(
            "MIRR",
            "Modified IRR (finance and reinvestment at the discount rate)",
            "%",
            NotAvailableIf(
                compare(">=", pv_outflows, 0) + compare("<=", fv_inflows, 0),
                (fv_inflows / -pv_outflows) ** (ppy / horizon) - 1,
            ),
        ),
        Output("Payback", "Payback", "years", payback("pb")),
        Output("DiscountedPayback", "Discounted payback", "years", payback("dpb")),
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
                compare(
                    ">",
                    Aggregate("MAX", ("pb_owing",)) - Aggregate("SUM", ("pb_first",)),
                    0,
                ),
                Aggregate("SUMPRODUCT", ("pb_first", "year"))
                + (1 - Aggregate("MAX", ("pb_owing",))) * s("StartYear"),
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
    # A series row on the timeline: its period-0 input (or 0), then the periods.
    for item in model.inputs:
        if item.kind == "series":
            rows = ctx.values[item.name]
            now = NOW_INPUTS.get(item.name)
            first = ctx.values[now[0]] if now else np.zeros((1, 1))
            first = _fit(first, (max(first.shape[0], rows.shape[0]), 1))
            rows = _fit(rows, (first.shape[0], rows.shape[1]))
            ctx.values[item.name] = np.concatenate([first, rows], axis=1)
    ctx.values["scenario_index"] = np.array([[SCENARIOS.index(chosen) + 1.0]])
    with np.errstate(all="ignore"):
        for line in model.drivers[1:]:
            ctx.values[line.name] = _fit(line.expr.evaluate(ctx), (trials, 1))
        for line in model.lines:
            ctx.values[line.name] = _fit(line.expr.evaluate(ctx), (trials, model.periods + 1))
        outputs = {}
        for out in model.outputs:
            value = _fit(
                np.asarray(out.expr.evaluate(ctx), dtype=float).reshape(-1, 1), (trials, 1)
            )
            ctx.values[f"{out.name}_out"] = value
            outputs[out.name] = value[:, 0]
    return Trials(chosen, {line.name: ctx.values[line.name] for line in model.lines}, outputs)


def _fit(value, shape: tuple[int, int]):
    """``value`` spread to ``shape``; as it is when it has that shape already (most lines),
    since broadcasting costs more than the arithmetic of a one-case evaluation."""
    return value if getattr(value, "shape", None) == shape else np.broadcast_to(value, shape)
