"""The business-case model, defined once as data: inputs, drivers, lines, outputs
and checks.

:func:`build_model` turns a :class:`~udfs.spec.Spec` into a :class:`Model`.
Every line is an expression (:mod:`udfs.expr`); :func:`evaluate` computes
them with numpy, in the order their references need (:func:`evaluation_order`),
and the workbook generator renders the very same expressions as Excel
formulas. The checks (:class:`Check`, the workbook's Checks sheet) are
expressions too: :func:`evaluate_checks` computes what the sheet shows.
The spec decides the structure (horizon, periods, one row per fixed cost,
role and gate); every number is an input, so the generated workbook can be
re-evaluated from its Inputs sheet alone.

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
from .errors import BizcaseError
from .expr import (
    Aggregate,
    Const,
    PeriodNumber,
    Prev,
    Result,
    Row,
    Scalar,
    compare,
)
from .spec import (
    DRIVERS,
    SCENARIO_DRIVERS,
    SCENARIOS,
    SECTIONS,
    At,
    In,
    Scenario,
    Spec,
    adjustment_names,
    bounds,
    metadata,
    places,
    walk,
)


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
    name: str  # the defined name is "Out_" + name (or "Calc_" + name for a helper)
    label: str
    unit: str
    expr: X.Expr
    public: bool = True

    @property
    def result(self) -> Result:
        """The reference other expressions read this output through."""
        return Result(self.name)


@dataclass(frozen=True)
class Check:
    """A fact the model's lines must agree with, recomputed by another route.

    ``value`` is the figure as the model gives it, ``other`` the same figure by
    another route (None when the check is a condition on ``value`` alone), and
    their difference follows. ``ok`` is 1 when the check passes and 0 when it
    fails; it reads the check's own parts through :meth:`part`, so the Checks
    sheet shows the figures the verdict comes from. A warning (a judgement, not
    an error) stays out of the master check.
    """

    name: str
    label: str
    unit: str
    value: X.Expr
    ok: X.Expr
    other: X.Expr | None = None
    warning: bool = False

    @staticmethod
    def part(check: str, which: str) -> Result:
        """The ``which`` (value, other, difference, ok) of the check named ``check``."""
        return Result(f"{check}.{which}")

    def parts(self) -> list[tuple[str, X.Expr]]:
        """Each part's name and expression, in the order they are computed."""
        parts = [("value", self.value)]
        if self.other is not None:
            value, other = self.part(self.name, "value"), self.part(self.name, "other")
            parts += [("other", self.other), ("difference", value - other)]
        return [*parts, ("ok", self.ok)]


@dataclass
class Model:
    spec: Spec
    periods: int  # operating periods; the timeline adds period 0 in front
    periods_per_year: int
    inputs: list[Input] = field(default_factory=list)
    drivers: list[Line] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    outputs: list[Output] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    # The evaluation order and the items it was sorted from: sorting costs about
    # a tenth of an evaluation, and a rollup evaluates each model once or more.
    _order: tuple = field(default=((), ()), repr=False, compare=False)

    def input(self, name: str) -> Input:
        return next(i for i in self.inputs if i.name == name)


#: Inputs that are not fields of the spec: the scenario selector, which of a forecast
#: series or the build it replaces is used, and fixed settings of the calculation.
#: Each follows the input named by ``after`` ("": first of its section).
OTHER_INPUTS = (
    In(
        "Scenario",
        "Scenario",
        "Case",
        "choice",
        "Low / Base / High: drives every output",
        value="Base",
        choices=SCENARIOS,
    ),
    In(
        "RevenueFromSeries",
        "Revenue from the forecast series (1) or the market build (0)",
        "Forecasts",
        "0/1",
        value=lambda at: at.spec.series.revenue is not None,
    ),
    In(
        "COGSFromSeries",
        "COGS from the forecast series (1) or % of revenue (0)",
        "Forecasts",
        "0/1",
        value=lambda at: at.spec.series.cogs is not None,
    ),
    In(
        "WCFromSeries",
        "Working capital from the forecast series (1) or % of revenue (0)",
        "Forecasts",
        "0/1",
        value=lambda at: at.spec.series.working_capital is not None,
    ),
    In(
        "MidPoint",
        "Position of a mid-period flow in its period",
        "Finance",
        "periods",
        "Fixed: half a period",
        value=0.5,
        fixed=True,
        after="Timing",
        added_in="1.1",
    ),
    In(
        "IRRTolerance",
        "IRR accepted when the NPV at it is within this share of the flows' size",
        "Finance",
        "ratio",
        "Relative: the NPV at the IRR against the sum of the flows' absolute present values",
        value=1e-9,
        minimum=0,
        maximum=0.01,
        after="TVShareLimit",
        added_in="1.1",
    ),
    In(
        "CheckTolerance",
        "Tolerance of the equality checks (Checks sheet)",
        "Checks",
        "{cur}",
        value=0.01,
        minimum=0,
    ),
)

# Scenario-adjustable drivers: key in spec.Scenario -> (input name or None for a factor, label)
_ADJUSTED = {d.key: (d.input, d.label) for d in DRIVERS}
#: The unit of each scenario-adjusted driver that is not a factor, for its label
#: and number format (a 10% rate shown as "10.0%", not "0"). A line names a price
#: "per unit", which the sheet shows with the currency.
_ADJUSTED_UNITS = {
    d.input: "per unit" if d.unit == "{cur}/unit" else d.unit for d in DRIVERS if d.input
}
#: The bounds of a scenario adjustment (spec.Scenario's fields).
_ADJUSTMENT_BOUNDS = bounds(Scenario.model_fields[SCENARIO_DRIVERS[0]])

#: Series whose period-0 cell is an input of its own (the [now] section of a spec).
#: Series -> (its period-0 input, the field of spec.now it comes from, label).
NOW_INPUTS = {
    meta.of: (meta.name, path.rsplit(".", 1)[-1], meta.label)
    for path, info in walk(Spec)
    for meta in metadata(info, In)
    if meta.kind == "now"
}


def inputs_added_in() -> dict[str, tuple[str, ...]]:
    """Template version -> the inputs it added (``Fixed{row}``: every row's).

    A workbook of an earlier version lacks their names; its model reads them
    at the spec's values.
    """
    found = [meta for _, info in walk(Spec) for meta in metadata(info, In)]
    names = [(m.added_in, m.name) for m in (*found, *OTHER_INPUTS)]
    names += [(d.added_in, n) for d in DRIVERS for n in adjustment_names(d.key)]
    out: dict[str, tuple[str, ...]] = {}
    for version, name in names:
        out[version] = (*out.get(version, ()), name)
    return out


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
    """Every input: the spec's fields as their :class:`~udfs.spec.In` declares them,
    :data:`OTHER_INPUTS` where they follow, a Low and a High adjustment per driver;
    grouped by Inputs section (:data:`~udfs.spec.SECTIONS`)."""
    inputs = [
        _input(meta, spec, At(spec, None, None), None, {})
        for meta in OTHER_INPUTS
        if not meta.after
    ]
    for place in places(spec, Spec):
        declared = metadata(place.info, In)
        if isinstance(place.value, list) and any(m.kind == "scalar" for m in declared):
            # a list of numbers (a depreciation schedule): its inputs, row by row
            inputs += [
                _input(meta, spec, At(spec, item, k), place.info, place.texts)
                for k, item in enumerate(place.value, start=1)
                for meta in declared
            ]
        else:
            at = At(spec, place.value, place.row)
            inputs += [_input(meta, spec, at, place.info, place.texts) for meta in declared]
    for meta in OTHER_INPUTS:
        if meta.after:
            at = next(i for i, item in enumerate(inputs) if item.name == meta.after) + 1
            inputs.insert(at, _input(meta, spec, At(spec, None, None), None, {}))
    low, high = _ADJUSTMENT_BOUNDS.get("gt", _ADJUSTMENT_BOUNDS.get("ge")), _ADJUSTMENT_BOUNDS["le"]
    for d in DRIVERS:
        for scenario, name in zip(("Low", "High"), adjustment_names(d.key), strict=True):
            value = getattr(getattr(spec.scenarios, scenario.lower()), d.key)
            inputs.append(
                Input(
                    name,
                    f"{d.label}: {scenario} adjustment",
                    "Scenarios",
                    "% change",
                    value,
                    minimum=low,
                    maximum=high,
                )
            )
    # A "now" input opens its series' row: listed first, as the Inputs sheet reads them.
    inputs.sort(key=lambda i: (SECTIONS.index(i.section), i.kind != "now"))
    return inputs


def _input(meta: In, spec: Spec, at: At, info, texts: dict) -> Input:
    """The :class:`Input` an :class:`~udfs.spec.In` declares, at ``at`` in ``spec``.

    A field left out with its section (market, pricing) reads as the value
    nearest zero that it allows; a series left out as zeros.
    """

    def given(x):
        return x(at) if callable(x) else x

    limits = bounds(info) if info is not None else {}
    low, high = limits.get("ge", limits.get("gt")), limits.get("le", limits.get("lt"))
    value = at.value if meta.value is None else given(meta.value)
    if meta.kind == "series":
        value = _by_period(value or [], spec, flow=not meta.level)
    elif value is None:
        value = max(0, low) if low is not None else 0.0
    elif meta.shown is not None:
        value = meta.shown[value]
        numbers = [v for v in meta.shown.values() if not isinstance(v, str)]
        low, high = (min(numbers), max(numbers)) if numbers else (None, None)
    elif isinstance(value, bool):
        value, low, high = float(value), 0, 1
    text = isinstance(value, str)
    if meta.fixed:
        low = high = value
    low = low if meta.minimum is None else given(meta.minimum)
    high = high if meta.maximum is None else given(meta.maximum)
    words = {**texts, "cur": spec.meta.currency, "row": at.row}
    return Input(
        meta.name.format(**words),
        # an empty text field beside it leaves no dangling colon ("Baseline: ")
        meta.label.format(**words).removesuffix(": "),
        meta.section,
        meta.unit.format(**words),
        value,
        meta.note.format(**words),
        kind="text" if text else meta.kind,
        choices=tuple(given(meta.choices) or (meta.shown or {}).values()) if text else (),
        minimum=None if text else low,
        maximum=None if text else high,
    )


#: The key (in a rendering context's cells) of the list of scenario names.
SCENARIO_LIST = "ScenarioList"


def _scenario_number() -> X.Expr:
    """1 Low, 2 Base, 3 High: where the Scenario input sits in the list of scenarios.

    A copy of the model for one scenario renders its own cell as ``Scenario``.
    """
    return X.Match(Scalar("Scenario"), SCENARIOS, SCENARIO_LIST)


def _drivers(spec: Spec) -> list[Line]:
    index = Scalar("scenario_index")
    drivers = [
        Line(
            "scenario_index",
            "Scenario number (1 Low, 2 Base, 3 High)",
            "Drivers",
            "#",
            _scenario_number(),
            scalar=True,
        ),
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
    previous = Result("IRRStart")
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
        previous = Result(f"IRRStep{k}")
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
        return X.not_available_if(never, Aggregate("SUM", (f"{prefix}_time",)) / ppy)

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
                Aggregate("IRR", ("incremental_fcf",), (Result("IRRGuess"),)),
                Aggregate("IRR_FROM_1", ("incremental_fcf",), (Result("IRRGuess"),)),
            ),
            public=False,
        ),
        *irr_steps,
        Output(
            "IRR",
            "Internal rate of return",
            "%",
            X.not_available_if(
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
            X.not_available_if(
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
            X.not_available_if(
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
            X.not_available_if(
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
            X.not_available_if(
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
            X.not_available_if(
                compare("=", Result("NPV"), 0),
                Aggregate("SUM", ("pv_terminal",)) / Result("NPV"),
            ),
        ),
    ]


#: The workbook's sensitivity snapshot: (the live inputs, their copy when the
#: tornado was computed), as keys of a rendering context's cells.
SNAPSHOT_PAIRS = (
    ("Snap_Inputs", "Snap_InputsAtSnapshot"),
    ("Snap_Series", "Snap_SeriesAtSnapshot"),
)


def _checks(spec: Spec, lines: list[Line]) -> list[Check]:
    """Facts the lines must agree with, each recomputed by a route of its own."""
    tolerance = Scalar("CheckTolerance")
    part = Check.part

    def total(name: str) -> X.Expr:
        return Aggregate("SUM", (name,))

    def equal(name: str, label: str, value, other, applies=None) -> Check:
        within = compare("<=", X.fabs(part(name, "difference")), tolerance)
        ok = within if applies is None else X.fif(applies, within, 1)
        return Check(name, label, "currency", value, ok, other)

    # Depreciation by a closed form: each period's capex in service times the
    # share of it written off by the end of the horizon.
    age = Scalar("periods_total") - Row("period") + 1
    used = age / (Scalar("DepreciationLife") * Scalar("PeriodsPerYear"))
    in_service = Row("capex_in_service")
    depreciable = X.RowSum(in_service * (compare(">=", used, 1) + compare("<", used, 1) * used))
    schedule = spec.investment.depreciation_schedule
    if schedule:
        shares = X.Terms(
            tuple(
                (
                    "+",
                    Scalar(f"DepreciationYear{k}")
                    * compare(">=", age, Scalar(f"DepreciationAge{k}")),
                )
                for k in range(1, len(schedule) + 1)
            )
        )
        depreciable = X.fif(
            compare("=", Scalar("DepreciationMethod"), X.Text("Schedule")),
            X.RowSum(in_service * shares),
            depreciable,
        )
    npv = {name: Result("NPV", name) for name in SCENARIOS}
    by_lines = X.Terms(
        (
            *(("+", total(name)) for name in ("revenue", "cogs", "opex", "tax", "capex")),
            ("-", Aggregate("LAST", ("wc_level",))),
            *(("+", total(name)) for name in ("salvage", "salvage_tax", "terminal_value")),
        )
    )
    return [
        Check(
            "selector",
            "The scenario selector holds Low, Base or High",
            "#",
            _scenario_number(),
            X.IsNumber(part("selector", "value")),
        ),
        equal(
            "cash",
            "Cash by another route: revenue + COGS + opex + tax + capex - closing working "
            "capital + salvage after tax + terminal value = total free cash flow",
            total("fcf"),
            by_lines,
        ),
        equal(
            "depreciation",
            "Depreciation to date = capex in service x the share of its life that has "
            "passed (computed from the inputs, not the depreciation rows)",
            total("depreciation"),
            depreciable,
        ),
        equal(
            "working_capital",
            "Working capital is released by the end (no terminal value, release on): "
            "its changes add up to zero",
            total("wc_change"),
            Const(0.0),
            applies=Scalar("ReleaseWorkingCapital")
            * compare("=", Scalar("TerminalMethod"), X.Text("None")),
        ),
        equal(
            "scenarios",
            "The live scenario table agrees with the selected scenario (NPV)",
            Result("NPV"),
            X.Choose(_scenario_number(), tuple(npv[name] for name in SCENARIOS)),
        ),
        Check(
            "ordered",
            "Low NPV <= Base NPV <= High NPV (scenarios ordered as named): the smaller step up",
            "currency",
            X.fmin(npv["Base"] - npv["Low"], npv["High"] - npv["Base"]),
            compare(">=", part("ordered", "value"), 0),
        ),
        Check(
            "stale",
            "The Sensitivity snapshot is current (no input changed since it was computed): "
            "inputs changed",
            "#",
            X.ChangedSince(SNAPSHOT_PAIRS),
            compare("=", part("stale", "value"), 0),
        ),
        Check(
            "errors",
            "No error value anywhere on the Calculations timeline; NPV, eNPV and peak "
            "funding are numbers: cells in error",
            "#",
            X.ErrorCount(tuple(line.name for line in lines)),
            compare("=", part("errors", "value"), 0)
            * X.IsNumber(Result("NPV"))
            * X.IsNumber(Result("eNPV"))
            * X.IsNumber(Result("PeakFunding")),
        ),
        Check(
            "TerminalValueShare",
            "Terminal value at most In_TVShareLimit of NPV",
            "%",
            Result("TerminalValueShare"),
            X.fif(
                X.IsNumber(part("TerminalValueShare", "value")),
                compare(
                    "<=",
                    part("TerminalValueShare", "value"),
                    part("TerminalValueShare", "other"),
                ),
                1,
            ),
            other=Scalar("TVShareLimit"),
            warning=True,
        ),
    ]


def build_model(spec: Spec) -> Model:
    """The model a spec describes, with the spec's values as its inputs."""
    model = Model(spec, spec.periods, spec.periods_per_year)
    model.inputs = _inputs(spec)
    model.drivers = _drivers(spec)
    model.lines = _lines(spec)
    model.outputs = _outputs()
    model.checks = _checks(spec, model.lines)
    return model


class ModelError(BizcaseError):
    """The model's own definition cannot be computed (a cycle, a name used twice)."""


def evaluation_order(model: Model) -> tuple[Line | Output, ...]:
    """Drivers, lines and outputs, each after everything it reads.

    The engine computes a line for every period at once, so a line reading
    another one's previous period still needs that line first. The order is
    the model's lists, each item preceded by what it reads (in name order).

    Raises
    ------
    ModelError
        When two items share a name, or items read each other in a cycle (the
        message names the cycle).
    """
    listed = (*model.drivers, *model.lines, *model.outputs)
    cached_from, cached = model._order
    if len(cached_from) == len(listed) and all(
        a is b for a, b in zip(cached_from, listed, strict=True)
    ):
        return cached
    items: dict = {}
    for item in listed:
        key = item.result if isinstance(item, Output) else item.name
        if key in items:
            raise ModelError(f"model: {key} is defined twice; expected one definition per name")
        items[key] = item
    order: list[Line | Output] = []
    done: set = set()
    # An explicit stack: a chain of lines can be deeper than Python's recursion.
    for root in items:
        if root in done:
            continue
        path, stack = [root], [iter(sorted(items[root].expr.refs() & items.keys(), key=str))]
        while stack:
            key = next(stack[-1], None)
            if key is None:
                stack.pop()
                finished = path.pop()
                done.add(finished)
                order.append(items[finished])
            elif key in path:
                cycle = " -> ".join(str(k) for k in [*path[path.index(key) :], key])
                raise ModelError(
                    f"model: {cycle} read each other in a cycle; expected each line to read "
                    f"only lines computed before it (a previous period's value counts)"
                )
            elif key not in done:
                path.append(key)
                stack.append(iter(sorted(items[key].expr.refs() & items.keys(), key=str)))
    model._order = (listed, tuple(order))
    return model._order[1]


# --- evaluation --------------------------------------------------------------


@dataclass
class Evaluation:
    """Lines by period and outputs of one scenario (trial axis dropped when 1)."""

    scenario: str
    lines: dict[str, np.ndarray]
    outputs: dict[str, float]


def spec_value(item: Input) -> float | str | np.ndarray:
    """An input's value as the spec gives it (a series as an array)."""
    return np.asarray(item.value, dtype=float) if item.kind == "series" else item.value


def input_values(model: Model) -> dict[str, float | str | np.ndarray]:
    """The model's inputs as the spec gave them."""
    return {i.name: spec_value(i) for i in model.inputs}


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
    chosen, ctx = _compute(model, values, scenario)
    return Trials(
        chosen,
        {line.name: ctx.values[line.name] for line in model.lines},
        {out.name: ctx.values[out.result][:, 0] for out in model.outputs},
    )


def _compute(model: Model, values: dict | None, scenario: str | None) -> tuple[str, X.Context]:
    """The scenario evaluated and a context holding every input, line and output."""
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
    inputs["Scenario"] = chosen = matches[0]
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
    scalars = {line.name for line in model.drivers}
    with np.errstate(all="ignore"):
        for item in evaluation_order(model):
            value = np.asarray(item.expr.evaluate(ctx), dtype=float)
            if isinstance(item, Output):
                ctx.values[item.result] = _fit(value.reshape(-1, 1), (trials, 1))
            elif item.name in scalars:
                ctx.values[item.name] = _fit(value, (trials, 1))
            else:
                ctx.values[item.name] = _fit(value, (trials, model.periods + 1))
    return chosen, ctx


@dataclass(frozen=True)
class CheckResult:
    """One check evaluated: its figures (nan where a part does not apply) and verdict."""

    name: str
    label: str
    value: float
    other: float
    difference: float
    ok: bool
    warning: bool


def evaluate_checks(
    model: Model, values: dict | None = None, scenario: str | None = None
) -> list[CheckResult]:
    """The model's checks (the workbook's Checks sheet) for one set of inputs.

    Each check compares a figure of the model with the same figure by another
    route; the scenario checks read the model evaluated once per scenario, as the
    workbook's ScenarioCalcs copies do. Checks that only a workbook can fail (a
    typed-over cell, a stale sensitivity snapshot) pass here: the engine has one
    copy of each line and computes everything from the inputs it is given.
    ``all(c.ok for c in checks if not c.warning)`` is the master check.
    """
    chosen, ctx = _compute(model, values, scenario)
    trials = ctx.values[Result("NPV")].shape[0]
    if trials != 1:
        raise ValueError(
            f"values: the checks take one set of inputs; got {trials} trials "
            f"(evaluate_trials computes many)"
        )
    for name in SCENARIOS:
        copy = ctx if name == chosen else _compute(model, values, name)[1]
        for out in model.outputs:
            ctx.values[Result(out.name, name)] = copy.values[out.result]
    results = []
    with np.errstate(all="ignore"):
        for check in model.checks:
            figures = dict.fromkeys(("value", "other", "difference"), np.nan)
            for which, expression in check.parts():
                value = np.asarray(expression.evaluate(ctx), dtype=float).reshape(-1)[0]
                ctx.values[Check.part(check.name, which)] = np.full((1, 1), value)
                figures[which] = float(value)
            results.append(
                CheckResult(
                    check.name,
                    check.label,
                    figures["value"],
                    figures["other"],
                    figures["difference"],
                    figures.pop("ok") == 1,
                    check.warning,
                )
            )
    return results


def _fit(value, shape: tuple[int, int]):
    """``value`` spread to ``shape``; as it is when it has that shape already (most lines),
    since broadcasting costs more than the arithmetic of a one-case evaluation."""
    return value if getattr(value, "shape", None) == shape else np.broadcast_to(value, shape)
