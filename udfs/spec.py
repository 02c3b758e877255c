"""The business-case spec: one small file (TOML or JSON) describing one case.

Validated by pydantic; every problem is reported on its own line as
``FILE, section.field: what is wrong; got X``. Money is in the spec's currency
per year unless a field says otherwise; shares and rates are fractions
(0.25 for 25%). Lists "by year" start at the first year of the case.

The valuation clock: t = 0 is the valuation date, 1 January of
``meta.start_year``. What happens then (investment and start-up costs decided
today) goes in the ``[now]`` section, period 0; the years of the horizon
follow, their flows at the end of each period (``finance.timing = "end"``) or
in its middle (``"mid"``).

Each field carries what else is known about it, once: its input on the
workbook's Inputs sheet (:class:`In`: name, label, section, unit, note, the
template version that added it) and whether scenarios adjust it
(:class:`Driver`). The bounds are the field's own. The model's inputs, the
scenario drivers (:data:`DRIVERS`, the :class:`Scenario` fields), the
sensitivity labels and the README's spec table (:func:`reference_table`) are
derived from them.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, NamedTuple, get_args, get_origin

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, create_model
from pydantic.fields import FieldInfo

from .errors import BizcaseError

Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
Rate = Annotated[float, Field(gt=-0.99, le=10.0)]
Money = Annotated[float, Field(ge=0.0, le=1e13)]
ByYear = list[Annotated[float, Field(ge=-1e13, le=1e13)]]
#: Rows of one kind (fixed costs, roles) a case may list: real cases have dozens; the
#: limit keeps generation within seconds (README, "Limits").
MAX_ROWS = 200


def _printable(text: str) -> str:
    """Control characters cannot be stored in a worksheet cell (nor read on one)."""
    bad = next((c for c in text if ord(c) < 32 and c not in "\t\n\r"), None)
    if bad is not None:
        raise ValueError(f"must not contain control characters (found U+{ord(bad):04X})")
    return text


Text = Annotated[str, Field(max_length=500), AfterValidator(_printable)]
Key = Annotated[str, Field(max_length=40), AfterValidator(_printable)]

SCENARIOS = ("Low", "Base", "High")
STAGES = ("concept", "development", "launch", "growth", "mature", "decline", "sunset")
#: The sections of the workbook's Inputs sheet, in the order it shows them.
SECTIONS = (
    "Case",
    "Market",
    "Pricing",
    "Forecasts",
    "Costs",
    "Fixed opex",
    "Headcount",
    "Investment",
    "Finance",
    "Risk",
    "Scenarios",
    "Checks",
    "Series",
)


class At(NamedTuple):
    """What an input's value, bounds or choices may depend on."""

    spec: Spec
    value: Any  # the field's value (None for an input that is no field, or a section left out)
    row: int | None  # the 1-based row of a list (a fixed cost, a gate), else None


@dataclass(frozen=True)
class In:
    """A field's input on the workbook's Inputs sheet, the defined name ``In_<name>``.

    Written beside the field, ``tam: Annotated[Money, In("TAM", ...)]``; the
    model derives its :class:`~udfs.model.Input` from it, with the field's own
    bounds (``ge``/``gt``/``le``/``lt``). ``name``, ``label``, ``unit`` and
    ``note`` may hold ``{cur}`` (the currency), ``{row}`` (the row's number in a
    list) and the text fields beside the field (``{name}`` of a fixed cost); a
    label whose text field is empty loses its trailing ``": "``.

    Only where the field does not say it: ``value``, ``minimum``, ``maximum`` and
    ``choices`` are constants or functions of :class:`At`. Inputs that are not
    spec fields (``udfs.model.OTHER_INPUTS``) give their value and bounds here,
    and ``after``: the input they follow ("" for the first of their section).
    """

    name: str
    label: str
    section: str
    unit: str = ""
    note: str = ""
    kind: Literal["scalar", "series", "now"] = "scalar"  # now: a series' period-0 cell
    # the spec's value -> the cell's; texts make the cell a choice among them
    shown: Mapping[Any, float | str] | None = None
    level: bool = False  # a series of levels: a year's value in each of its quarters, not split
    fixed: bool = False  # the generated value is the only one allowed
    of: str = ""  # a "now" input: the series whose period 0 it is
    added_in: str = "1.0"  # the template version that added it (older workbooks lack it)
    value: Any = None
    minimum: Any = None
    maximum: Any = None
    choices: Any = None
    after: str = ""

    def __post_init__(self):
        if self.section not in SECTIONS:
            raise ValueError(f"In({self.name!r}): section must be one of {SECTIONS}")


@dataclass(frozen=True)
class Driver:
    """Marks a field that scenarios (and sensitivity, Monte Carlo) adjust by a relative change x.

    A scalar input becomes input * (1 + x); a list or series field is scaled by
    the factor 1 + x where the model uses it. ``key`` (the field's name by
    default) is its key in ``[scenarios.low]``, ``label`` names it on the
    Inputs sheet, Calculations and the tornado.
    """

    label: str = ""  # the field's input label unless given
    key: str = ""
    note: str = ""
    added_in: str = "1.0"


class SpecError(BizcaseError, ValueError):
    """A spec file is unusable; ``problems`` lists one message per problem."""

    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = problems
        super().__init__("\n".join(f"{source}, {p}" for p in problems))


class _Strict(BaseModel):
    # strict: a boolean or a quoted number is an error, not silently converted
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Meta(_Strict):
    name: Text = Field(description="The case's name, on the Cover and in every header")
    product_line: Text = Field(default="", description="For grouping cases in a portfolio")
    owner: Text = Field(default="", description="Who answers for the case")
    currency: Annotated[str, Field(min_length=1, max_length=8), AfterValidator(_printable)] = Field(
        default="USD", description="Of every amount in the spec"
    )
    start_year: Annotated[
        int,
        Field(ge=1990, le=2100),
        In(
            "StartYear",
            "First year",
            "Case",
            "year",
            "The valuation date (t = 0) is 1 January of this year",
        ),
    ]
    horizon: Annotated[
        int,
        Field(ge=3, le=15),
        In(
            "Horizon",
            "Horizon",
            "Case",
            "years",
            "Fixed when the workbook is generated (it sets the timeline)",
            fixed=True,
        ),
    ]
    periods: Annotated[
        Literal["annual", "quarterly"],
        In(
            "PeriodsPerYear",
            "Periods per year",
            "Case",
            "per year",
            "1 = annual, 4 = quarterly; fixed when the workbook is generated",
            shown={"annual": 1, "quarterly": 4},
            fixed=True,
        ),
    ] = "annual"
    stage: Literal[STAGES] = Field(default="development", description="Lifecycle stage")
    decision: Text = Field(default="", description="The decision asked for, on the Cover")
    notes: Text = Field(default="", description="Free text, on the Cover")
    units: Literal["units", "thousands", "millions"] = Field(
        default="units",
        description="How money is shown (by number format only: the cells keep exact "
        'amounts; labels say "EUR k")',
    )
    confidentiality: Text = Field(
        default="Confidential: prepared for internal decision-making",
        description="The footer line of every printed page",
    )
    # Portfolio attributes: how the case takes part in a rollup and selection.
    id: Key = Field(default="", description="The case's key in a portfolio")
    strategic_score: Annotated[float, Field(ge=0.0, le=10.0)] = Field(
        default=0.0, description="Portfolio ranking: strategic fit"
    )
    mandatory: bool = Field(default=False, description="Portfolio selection: always funded")
    exclusive_group: Key = Field(
        default="", description="Portfolio selection: at most one case of a group"
    )
    depends_on: Key = Field(default="", description="Portfolio selection: funded only with this id")


class Market(_Strict):
    tam: Annotated[
        Money,
        In("TAM", "Total addressable market, year 1", "Market", "units/yr"),
        Driver("TAM, year 1"),
    ]
    tam_growth: Annotated[Rate, In("TAMGrowth", "TAM growth", "Market", "%/yr"), Driver()] = 0.0
    sam_share: Annotated[
        Fraction,
        In("SAMShare", "Serviceable share of TAM (SAM)", "Market", "%"),
        Driver("SAM share of TAM"),
    ] = 1.0
    target_share: Annotated[
        Fraction,
        In("TargetShare", "Target share of SAM (SOM)", "Market", "%"),
        Driver("Target share of SAM"),
    ] = Field(description="Share of the SAM won once ramped up")
    launch_year: Annotated[
        int,
        Field(ge=1, le=15),
        In(
            "LaunchYear",
            "First year with sales",
            "Market",
            "year #",
            "1 = the first year of the case",
        ),
    ] = 1
    years_to_target: Annotated[
        int,
        Field(ge=1, le=15),
        In("YearsToTarget", "Years from launch to the target share", "Market", "years"),
    ] = 3


class Pricing(_Strict):
    price: Annotated[
        Money,
        In("Price", "Price per unit, year 1", "Pricing", "{cur}/unit"),
        Driver(),
    ]
    price_change: Annotated[
        Rate,
        In("PriceChange", "Annual price change", "Pricing", "%/yr"),
        Driver(),
    ] = 0.0


class FixedCost(_Strict):
    name: Text = Field(description="Its label on the Inputs sheet and the P&L")
    amount: Annotated[Money, In("Fixed{row}", "{name}", "Fixed opex", "{cur}/yr")] = Field(
        description="Per year, in year 1"
    )
    growth: Annotated[Rate, In("Fixed{row}Growth", "{name}: growth", "Fixed opex", "%/yr")] = Field(
        default=0.0, description="Change per year"
    )


class Role(_Strict):
    role: Text = Field(description="Its label on the Inputs sheet and the P&L")
    fte: Annotated[
        float, Field(ge=0.0, le=1e5), In("Role{row}FTE", "{role}: FTE", "Headcount", "FTE")
    ] = Field(description="Full-time equivalents")
    loaded_cost: Annotated[
        Money, In("Role{row}Cost", "{role}: loaded cost per FTE", "Headcount", "{cur}/yr")
    ] = Field(description="Per FTE per year, in year 1")
    cost_growth: Annotated[
        Rate, In("Role{row}CostGrowth", "{role}: cost growth", "Headcount", "%/yr")
    ] = Field(default=0.0, description="Change of the loaded cost per year")


class Costs(_Strict):
    cogs_pct: Annotated[
        Fraction,
        In("COGSPct", "COGS, % of revenue", "Costs", "%"),
        Driver(),
    ] = 0.0
    variable_opex_pct: Annotated[
        Fraction,
        In("VariableOpexPct", "Variable opex, % of revenue", "Costs", "%"),
        Driver(),
    ] = 0.0
    fixed: Annotated[
        list[FixedCost], Field(max_length=MAX_ROWS), Driver("Fixed opex", key="fixed_opex")
    ] = Field(default=[], description="Fixed costs, one row each")
    headcount: Annotated[
        list[Role], Field(max_length=MAX_ROWS), Driver("Headcount cost", key="headcount_cost")
    ] = Field(default=[], description="Roles, one row each")


#: Depreciation methods: the spec's word -> the Inputs sheet's choice.
_DEPRECIATION = {"straight_line": "Straight line", "schedule": "Schedule"}


def _series_or_investment_capex(at: At) -> list[float]:
    """A capex forecast (series.capex) replaces investment.capex."""
    return at.value if at.spec.series.capex is None else at.spec.series.capex


def _depreciation_methods(at: At) -> tuple[str, ...]:
    """A schedule is a choice only when the spec gives one (its shares are inputs)."""
    methods = tuple(_DEPRECIATION.values())
    return methods if at.spec.investment.depreciation_schedule else methods[:1]


class Investment(_Strict):
    development: Annotated[
        ByYear,
        In("Development", "Development cost (expensed)", "Series", "{cur}/period", kind="series"),
        Driver("Development cost"),
    ] = Field(default=[], description="Expensed development cost by year")
    capex: Annotated[
        ByYear,
        In(
            "Capex",
            "Capital expenditure",
            "Series",
            "{cur}/period",
            kind="series",
            value=_series_or_investment_capex,
        ),
        Driver("Capex"),
    ] = Field(default=[], description="Capitalised investment by year")
    depreciation: Annotated[
        Literal["straight_line", "schedule"],
        In(
            "DepreciationMethod",
            "Depreciation method",
            "Investment",
            "choice",
            shown=_DEPRECIATION,
            choices=_depreciation_methods,
        ),
    ] = "straight_line"
    depreciation_life: Annotated[
        int,
        Field(ge=1, le=30),
        In("DepreciationLife", "Depreciation life (straight line)", "Investment", "years"),
    ] = 5
    depreciation_schedule: Annotated[
        list[Fraction],
        In(
            "DepreciationYear{row}", "Depreciation schedule, year {row}", "Investment", "% of capex"
        ),
        In(
            "DepreciationAge{row}",
            "Depreciation schedule, year {row}: age",
            "Investment",
            "years",
            "The capex vintage this share applies to (1 = year bought)",
            value=lambda at: at.row,
            fixed=True,
        ),
    ] = Field(default=[], description="Share of each year's capex depreciated in years 1, 2, ...")
    salvage_value: Annotated[
        Money,
        In(
            "SalvageValue",
            "Salvage value at the end of the horizon",
            "Investment",
            "{cur}",
            "Taxed on the gain over book value",
        ),
    ] = 0.0


class Series(_Strict):
    """Explicit forecasts by year, each replacing the driver it names."""

    revenue: Annotated[
        ByYear | None,
        In("RevenueSeries", "Revenue forecast", "Series", "{cur}/period", kind="series"),
        Driver("Revenue", note="Scales revenue, from the series or the market build"),
    ] = None
    cogs: Annotated[
        ByYear | None,
        In("COGSSeries", "COGS forecast (positive)", "Series", "{cur}/period", kind="series"),
        Driver("COGS forecast", note="Scales the COGS forecast (series.cogs)", added_in="1.1"),
    ] = None
    other_costs: Annotated[
        ByYear | None,
        In("OtherCosts", "Other costs (positive)", "Series", "{cur}/period", kind="series"),
        Driver("Other costs", added_in="1.1"),
    ] = None
    capex: ByYear | None = Field(default=None, description="Replaces investment.capex")
    working_capital: Annotated[
        ByYear | None,
        In(
            "WorkingCapitalSeries",
            "Working capital level forecast",
            "Series",
            "{cur}",
            kind="series",
            level=True,
        ),
        Driver(
            "Working capital",
            note="Scales working capital, from the series or % of revenue",
            added_in="1.1",
        ),
    ] = None


def _now(name: str, label: str, series: str) -> In:
    """The period-0 cell of a series row (template 1.1 opened the timeline with it)."""
    return In(
        name, f"{label} now (t = 0)", "Series", "{cur}", kind="now", of=series, added_in="1.1"
    )


class Now(_Strict):
    """Period 0: what is paid at the valuation date, before the first year starts."""

    development: Annotated[Money, _now("DevelopmentNow", "Development cost", "Development")] = (
        Field(default=0.0, description="Expensed start-up cost at t = 0")
    )
    capex: Annotated[Money, _now("CapexNow", "Capital expenditure", "Capex")] = Field(
        default=0.0, description="Capitalised investment at t = 0"
    )
    other_costs: Annotated[Money, _now("OtherCostsNow", "Other costs", "OtherCosts")] = 0.0
    working_capital: Annotated[
        float,
        Field(ge=-1e13, le=1e13),
        _now("WorkingCapitalNow", "Working capital", "WorkingCapitalSeries"),
    ] = Field(default=0.0, description="The level in place at t = 0")


class Finance(_Strict):
    discount_rate: Annotated[
        float,
        Field(gt=-0.99, le=1.0),
        In("DiscountRate", "Discount rate", "Finance", "%/yr"),
        Driver(),
    ]
    tax_rate: Annotated[Fraction, In("TaxRate", "Tax rate", "Finance", "%")] = 0.25
    losses: Annotated[
        Literal["credit", "carry_forward"],
        In(
            "CarryForwardLosses",
            "Losses carried forward (1) or credited now (0)",
            "Finance",
            "0/1",
            "0: a loss year earns a tax credit against the company's other profits",
            shown={"carry_forward": 1.0, "credit": 0.0},
        ),
    ] = "carry_forward"
    working_capital_pct: Annotated[
        float,
        Field(ge=-1.0, le=2.0),
        In(
            "WorkingCapitalPct",
            "Working capital, % of annual revenue",
            "Finance",
            "%",
            "Negative when customers pay in advance",
        ),
        Driver("Working capital, % of revenue"),
    ] = 0.0
    terminal_value: Annotated[
        Literal["none", "perpetuity", "exit_multiple"],
        In(
            "TerminalMethod",
            "Terminal value",
            "Finance",
            "choice",
            shown={"none": "None", "perpetuity": "Perpetuity", "exit_multiple": "Exit multiple"},
        ),
    ] = "none"
    terminal_growth: Annotated[
        float,
        Field(ge=-0.5, le=0.2),
        In("TerminalGrowth", "Terminal growth (perpetuity)", "Finance", "%/yr"),
    ] = 0.0
    exit_multiple: Annotated[
        float,
        Field(ge=0.0, le=100.0),
        In("ExitMultiple", "Exit multiple of final-year EBITDA", "Finance", "x"),
    ] = 0.0
    timing: Annotated[
        Literal["end", "mid"],
        In(
            "Timing",
            "Timing of the operating years' flows",
            "Finance",
            "choice",
            "End: discounted from the end of each period; Mid: from its middle. "
            "Period 0 (now) is always at t = 0",
            shown={"end": "End", "mid": "Mid"},
            added_in="1.1",
        ),
    ] = "end"
    release_working_capital: Annotated[
        bool,
        In(
            "ReleaseWorkingCapital",
            "Working capital released in the last period (1) or kept (0)",
            "Finance",
            "0/1",
            "Applies only without a terminal value; with one, working capital stays",
            added_in="1.1",
        ),
    ] = True
    maintenance_capex: Annotated[
        Money,
        In(
            "MaintenanceCapex",
            "Steady-state capex per year (terminal value)",
            "Finance",
            "{cur}/yr",
            "The terminal year uses the larger of this and its depreciation",
            added_in="1.1",
        ),
    ] = 0.0
    terminal_value_share_limit: Annotated[
        Fraction,
        In(
            "TVShareLimit",
            "Flag a terminal value above this share of NPV",
            "Finance",
            "%",
            added_in="1.1",
        ),
    ] = 0.75
    irr_guess: Annotated[
        float,
        Field(gt=-0.99, le=10.0),
        In("IRRGuess", "IRR guess (used when MIRR does not exist)", "Finance", "%"),
    ] = 0.1


class Gate(_Strict):
    name: Text = Field(description="Its label on the Inputs sheet")
    probability: Annotated[
        Fraction, In("Gate{row}Probability", "{name}: probability of passing", "Risk", "%")
    ] = Field(description="Of passing the gate")
    until_year: Annotated[
        int,
        Field(ge=0, le=15),
        In(
            "Gate{row}Year",
            "{name}: decided at the end of year",
            "Risk",
            "year #",
            maximum=lambda at: at.spec.meta.horizon,
        ),
    ] = Field(description="Flows up to this year (1-based) wait on this gate's outcome")


class Distribution(_Strict):
    """Uncertainty in a driver's relative change x (the driver becomes base * (1 + x)).

    ``type`` picks the parameters: triangular/pert (low, mode, high), uniform
    (low, high), normal (mean, sd), lognormal (median and sigma of the
    multiplier 1 + x), discrete (values, probabilities), fixed (value).
    A normal is cut at -100% (a driver never falls below zero): draws there
    are drawn again, which the simulation allows while they are at most 1% of
    the normal's mass; a wider spread is a lognormal's job.
    """

    type: Literal["triangular", "pert", "uniform", "normal", "lognormal", "discrete", "fixed"] = (
        Field(description="The shape; it picks the parameters below")
    )
    low: Annotated[float, Field(gt=-1.0, le=10.0)] = Field(
        default=0.0, description="Triangular, pert, uniform: the lowest change"
    )
    mode: Annotated[float, Field(gt=-1.0, le=10.0)] = Field(
        default=0.0, description="Triangular, pert: the most likely change"
    )
    high: Annotated[float, Field(gt=-1.0, le=10.0)] = Field(
        default=0.0, description="Triangular, pert, uniform: the highest change"
    )
    mean: Annotated[float, Field(gt=-1.0, le=10.0)] = Field(
        default=0.0, description="Normal: the mean change"
    )
    sd: Annotated[float, Field(ge=0.0, le=10.0)] = Field(
        default=0.0, description="Normal: the standard deviation"
    )
    median: Annotated[float, Field(gt=0.0, le=10.0)] = Field(
        default=1.0, description="Lognormal: the median of the multiplier 1 + x"
    )
    sigma: Annotated[float, Field(ge=0.0, le=5.0)] = Field(
        default=0.0, description="Lognormal: sigma of the multiplier's logarithm"
    )
    values: list[Annotated[float, Field(gt=-1.0, le=10.0)]] = Field(
        default=[], description="Discrete: the changes"
    )
    probabilities: list[Fraction] = Field(
        default=[], description="Discrete: their probabilities, adding up to 1"
    )
    value: Annotated[float, Field(gt=-1.0, le=10.0)] = Field(
        default=0.0, description="Fixed: the change"
    )


class Correlation(_Strict):
    drivers: Annotated[list[str], Field(min_length=2, max_length=2)] = Field(
        description="Two drivers with a distribution"
    )
    rank: Annotated[float, Field(ge=-0.99, le=0.99)] = Field(
        description="Spearman rank correlation"
    )


class MonteCarlo(_Strict):
    trials: Annotated[int, Field(ge=100, le=1_000_000)] = Field(
        default=10_000, description="How many the simulation draws"
    )
    seed: Annotated[int, Field(ge=0)] = Field(
        default=20261126, description="The same seed draws the same trials"
    )


class Risk(_Strict):
    gates: list[Gate] = Field(
        default=[], description="Flows after a gate's year count with the probability of passing it"
    )
    distributions: dict[str, Distribution] = Field(
        default={}, description="By driver: its uncertainty, for the simulation"
    )
    correlations: list[Correlation] = Field(
        default=[], description="Rank correlations between drivers' changes"
    )
    monte_carlo: MonteCarlo = MonteCarlo()


class Baseline(_Strict):
    description: Text = Field(default="", description="Said after the baseline's label")
    cash_flows: Annotated[
        ByYear,
        In(
            "Baseline",
            "Baseline free cash flow (do nothing): {description}",
            "Series",
            "{cur}/period",
            kind="series",
        ),
    ] = Field(default=[], description="Free cash flow the business has without the investment")


class _Sections(_Strict):
    """Every section of a spec but the scenarios, which adjust the drivers these declare."""

    meta: Meta
    market: Market | None = None
    pricing: Pricing | None = None
    costs: Costs = Costs()
    investment: Investment = Investment()
    series: Series = Series()
    now: Now = Now()
    finance: Finance
    risk: Risk = Risk()
    baseline: Baseline = Baseline()


# --- walking the fields --------------------------------------------------------------


def _unwrap(annotation):
    """``X | None`` -> X; ``Annotated[X, ...]`` stays for its metadata."""
    args = get_args(annotation)
    if args and type(None) in args and get_origin(annotation) is not Annotated:
        rest = [a for a in args if a is not type(None)]
        return rest[0]
    return annotation


def _model_of(annotation) -> tuple[type[BaseModel] | None, str]:
    """The model a field holds, and how: "one", "list" (rows) or "dict" (by key)."""
    annotation = _unwrap(annotation)
    how = {list: "list", dict: "dict"}.get(get_origin(annotation), "one")
    inner = get_args(annotation)[-1] if how != "one" else annotation
    if isinstance(inner, type) and issubclass(inner, BaseModel):
        return inner, how
    return None, how


def walk(model: type[BaseModel], path: str = "") -> Iterator[tuple[str, FieldInfo]]:
    """Every field of ``model`` and of the models it holds, depth first, in order.

    Paths read as in messages: ``costs.fixed[].amount``, ``risk.distributions.*.low``.
    """
    for name, info in model.model_fields.items():
        here = f"{path}.{name}" if path else name
        yield here, info
        inner, how = _model_of(info.annotation)
        if inner is not None:
            yield from walk(inner, here + {"one": "", "list": "[]", "dict": ".*"}[how])


class Place(NamedTuple):
    """A field of a spec with its value, as :func:`places` visits it."""

    path: str  # "costs.fixed[0].amount"
    info: FieldInfo
    value: Any  # None where the section holding it is left out (market, pricing)
    row: int | None  # the 1-based row of the list holding it, else None
    texts: dict[str, str]  # the text fields beside it (a fixed cost's name), for labels


def places(
    values: BaseModel | None, model: type[BaseModel], path: str = "", row: int | None = None
) -> Iterator[Place]:
    """Every field of a spec (``places(spec, Spec)``) with its value, depth first, in order;
    each row of a list of models in turn."""
    texts = {
        name: getattr(values, name)
        for name in model.model_fields
        if values is not None and isinstance(getattr(values, name), str)
    }
    for name, info in model.model_fields.items():
        here = f"{path}.{name}" if path else name
        value = None if values is None else getattr(values, name)
        yield Place(here, info, value, row, texts)
        inner, how = _model_of(info.annotation)
        if inner is None:
            continue
        if how == "one":
            yield from places(value, inner, here, row)
        elif how == "list":
            for k, item in enumerate(value or [], start=1):
                yield from places(item, inner, f"{here}[{k - 1}]", k)
        else:
            for key, item in (value or {}).items():
                yield from places(item, inner, f"{here}.{key}", row)


def metadata(info: FieldInfo, kind: type) -> list:
    """The field's metadata of one kind (:class:`In` or :class:`Driver`)."""
    return [m for m in info.metadata if isinstance(m, kind)]


def bounds(info: FieldInfo) -> dict[str, float]:
    """The field's ge/gt/le/lt constraints; a list's are those of its items."""
    found = _constraints(info.metadata)
    annotation = _unwrap(info.annotation)
    if not found and get_origin(annotation) is list:
        item = get_args(annotation)[0]
        found = _constraints(get_args(item)[1:] if get_origin(item) is Annotated else ())
    return found


def _constraints(metadata) -> dict[str, float]:
    found = {}
    for m in metadata:
        for sub in (m, *getattr(m, "metadata", ())):  # a FieldInfo nests its own
            for key in ("ge", "gt", "le", "lt"):
                value = getattr(sub, key, None)
                if value is not None:
                    found[key] = value
    return found


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split("."))


@dataclass(frozen=True)
class ScenarioDriver:
    """A driver scenarios adjust, as :func:`_drivers` derives it from a field's :class:`Driver`."""

    key: str  # in [scenarios.low] and [risk.distributions]
    label: str
    field: str  # the spec field it adjusts ("market.tam")
    input: str | None  # the scalar input it scales; None: the factor 1 + x where the field is used
    unit: str  # of the adjusted value: the input's unit, or "x" for a factor
    note: str
    added_in: str


def _drivers() -> tuple[ScenarioDriver, ...]:
    """Every field marked :class:`Driver`, in the order of the spec; the drivers a
    template version added after the earlier ones, so a workbook's rows keep their order."""
    found = []
    for path, info in walk(_Sections):
        inputs = [] if get_origin(_unwrap(info.annotation)) is list else metadata(info, In)
        scales = next((i for i in inputs if i.kind == "scalar"), None)
        for d in metadata(info, Driver):
            found.append(
                ScenarioDriver(
                    key=d.key or path.rsplit(".", 1)[-1],
                    label=d.label or scales.label,
                    field=path,
                    input=scales.name if scales else None,
                    unit=scales.unit if scales else "x",
                    note=d.note,
                    added_in=d.added_in,
                )
            )
    return tuple(sorted(found, key=lambda d: _version_key(d.added_in)))


#: The drivers a scenario may adjust: the adjustment multiplies the driver by (1 + x).
DRIVERS = _drivers()
SCENARIO_DRIVERS = tuple(d.key for d in DRIVERS)


def adjustment_names(key: str) -> tuple[str, str]:
    """Input names of a driver's Low and High adjustments."""
    camel = "".join(part.capitalize() for part in key.split("_"))
    return f"Low{camel}", f"High{camel}"


Scenario = create_model(
    "Scenario",
    __base__=_Strict,
    __doc__="Relative adjustments: ``price = -0.1`` multiplies the price by 0.9.",
    **{d.key: (Rate, Field(default=0.0, description=d.note or d.label)) for d in DRIVERS},
)


class Scenarios(_Strict):
    low: Scenario = Scenario()
    high: Scenario = Scenario()


class Spec(_Sections):
    scenarios: Scenarios = Scenarios()

    @property
    def periods_per_year(self) -> int:
        return 1 if self.meta.periods == "annual" else 4

    @property
    def periods(self) -> int:
        return self.meta.horizon * self.periods_per_year


# --- the README's reference ----------------------------------------------------------


def reference_table() -> str:
    """The spec's fields as a Markdown table: what README.md shows under "The spec".

    One row per field, in the spec's order (``[]``: each row of a list,
    ``*``: each key of a table); each with the workbook input it becomes, its
    unit, what it allows, its default and what it means. The scenario
    adjustments follow, one row per driver.
    """
    rows = [
        "| field | input | unit | allowed | default | meaning |",
        "|---|---|---|---|---|---|",
    ]
    for path, info in walk(_Sections):
        inner, how = _model_of(info.annotation)
        if inner is not None and how == "one":
            continue  # a section: its fields follow
        declared = metadata(info, In)
        inputs = ", ".join(f"`In_{m.name.replace('{row}', '<n>')}`" for m in declared)
        unit = next((m.unit.replace("{cur}", "cur") for m in declared if m.unit != "choice"), "")
        meaning = info.description or "; ".join(
            m.label.removesuffix(": {description}") + (f". {m.note}" if m.note else "")
            for m in declared
        )
        rows.append(
            f"| `{path}` | {inputs} | {unit} | {_allowed(info)} | {_default(info)} | {meaning} |"
        )
    for d in DRIVERS:
        low, high = (f"`In_{n}`" for n in adjustment_names(d.key))
        what = d.note or (f"Adjusts `{d.field}`" if d.input else f"Scales `{d.field}`")
        allowed = _allowed(Scenario.model_fields[d.key])
        rows.append(
            f"| `scenarios.*.{d.key}` | {low}, {high} | % change | {allowed} | 0 | "
            f"{d.label}: {what[0].lower()}{what[1:]} |"
        )
    return "\n".join(rows) + "\n"


def _allowed(info: FieldInfo) -> str:
    """What a field takes, in words: its choices, its range, its kind."""
    annotation = _unwrap(info.annotation)
    origin = get_origin(annotation)
    if origin is Literal:
        return " / ".join(f"`{c}`" for c in get_args(annotation))
    inner, how = _model_of(annotation)
    if inner is not None:
        return "rows" if how == "list" else "a table by key"
    span = _span(bounds(info))
    if origin is list:
        item = get_args(annotation)[0]
        kind = "texts" if (get_args(item) or (item,))[0] is str else "numbers"
        return f"list of {kind}" + (f", each {span}" if span else "")
    kind = {bool: "true / false", int: "whole number", float: "number", str: "text"}[annotation]
    return f"{kind}, {span}" if span else kind


def _span(limits: dict[str, float]) -> str:
    """ "0 to 1", "above -0.99 to 10", "at least 0": the range ge/gt/le/lt allow."""
    low = f"above {limits['gt']:g}" if "gt" in limits else limits.get("ge")
    high = f"below {limits['lt']:g}" if "lt" in limits else limits.get("le")
    low, high = (f"{x:g}" if isinstance(x, (int, float)) else x for x in (low, high))
    if low is not None and high is not None:
        return f"{low} to {high}"
    if low is not None:
        return low if "gt" in limits else f"at least {low}"
    return "" if high is None else (high if "lt" in limits else f"at most {high}")


def _default(info: FieldInfo) -> str:
    """The default as TOML would write it; "required" where there is none."""
    if info.is_required():
        return "required"
    value = info.default
    if value is None:
        return "none"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, str):
        return f'`"{value}"`' if value else '`""`'
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, int):
        return str(value)
    return f"`{json.dumps(value)}`"


def consistency_problems(spec: Spec) -> list[str]:
    """Problems that involve several fields at once, one message each."""
    problems = []
    years = spec.meta.horizon
    if spec.series.revenue is None and (spec.market is None or spec.pricing is None):
        problems.append("market, pricing: needed to build revenue unless series.revenue is given")
    if spec.market is not None and spec.market.launch_year > years:
        problems.append(
            f"market.launch_year: must be within the horizon (1 to {years}), or the case "
            f"has no sales; got {spec.market.launch_year}"
        )
    for path, values in (
        ("investment.development", spec.investment.development),
        ("investment.capex", spec.investment.capex),
        ("baseline.cash_flows", spec.baseline.cash_flows),
        *((f"series.{k}", v) for k, v in spec.series.model_dump().items() if v is not None),
    ):
        if len(values) > years:
            problems.append(
                f"{path}: at most one value per year of the horizon ({years}); got {len(values)}"
            )
    if spec.investment.depreciation == "schedule":
        schedule = spec.investment.depreciation_schedule
        if not schedule:
            problems.append(
                "investment.depreciation_schedule: needed when depreciation = 'schedule'; got none"
            )
        elif abs(sum(schedule) - 1.0) > 1e-6:
            problems.append(
                f"investment.depreciation_schedule: must add up to 1; got {sum(schedule):.6g}"
            )
        if spec.meta.periods != "annual":
            problems.append(
                "investment.depreciation: a schedule needs annual periods; "
                "use straight_line for quarterly cases"
            )
    f = spec.finance
    if f.terminal_value == "perpetuity" and f.terminal_growth >= f.discount_rate:
        problems.append(
            f"finance.terminal_growth: must be below the discount rate "
            f"({f.discount_rate}) for a perpetuity; got {f.terminal_growth}"
        )
    last = 0
    for i, gate in enumerate(spec.risk.gates):
        if gate.until_year < last or gate.until_year > years:
            problems.append(
                f"risk.gates[{i}].until_year: must rise from gate to gate and "
                f"stay within the horizon ({years}); got {gate.until_year}"
            )
        last = gate.until_year
    for key, d in spec.risk.distributions.items():
        where = f"risk.distributions.{key}"
        if key not in SCENARIO_DRIVERS:
            problems.append(f"{where}: not a driver; choose from {', '.join(SCENARIO_DRIVERS)}")
        if d.type in ("triangular", "pert") and not d.low <= d.mode <= d.high:
            problems.append(f"{where}: needs low <= mode <= high; got {d.low}, {d.mode}, {d.high}")
        if d.type == "uniform" and not d.low <= d.high:
            problems.append(f"{where}: needs low <= high; got {d.low}, {d.high}")
        if d.type == "discrete" and (
            len(d.values) != len(d.probabilities)
            or not d.values
            or abs(sum(d.probabilities) - 1) > 1e-9
        ):
            problems.append(
                f"{where}: needs values and probabilities of the same length, "
                f"probabilities adding up to 1; got {len(d.values)} values, "
                f"probabilities adding up to {sum(d.probabilities):.6g}"
            )
    pairs = set()
    for i, c in enumerate(spec.risk.correlations):
        pair = frozenset(c.drivers)
        if len(pair) < 2:
            problems.append(
                f"risk.correlations[{i}]: must pair two different drivers; got {c.drivers}"
            )
        elif pair in pairs:
            problems.append(
                f"risk.correlations[{i}]: {c.drivers} are already correlated "
                f"above; give each pair once"
            )
        pairs.add(pair)
        for driver in c.drivers:
            if driver not in spec.risk.distributions:
                problems.append(
                    f"risk.correlations[{i}]: {driver!r} has no distribution in risk.distributions"
                )
    return problems


def parse_spec(data: dict, source: str = "spec") -> Spec:
    """Validate a spec given as a dict (as read from TOML or JSON)."""
    try:
        spec = Spec.model_validate(data)
    except ValidationError as e:
        raise SpecError(source, [_describe(err) for err in e.errors()]) from None
    problems = consistency_problems(spec)
    if problems:
        raise SpecError(source, problems)
    return spec


def load_spec(path: str | Path) -> Spec:
    """Read and validate a TOML (``.toml``) or JSON (``.json``) spec file."""
    path = Path(path)
    if not path.is_file():
        raise SpecError(str(path), ["no such file"])
    text = path.read_bytes()
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(text, object_pairs_hook=_unique_keys)
        else:
            data = tomllib.loads(text.decode("utf-8"))
    except (
        tomllib.TOMLDecodeError,
        json.JSONDecodeError,
        UnicodeDecodeError,
        _DuplicateKey,
    ) as e:
        raise SpecError(
            str(path), [f"not valid {path.suffix.lstrip('.') or 'TOML'}: {e}"]
        ) from None
    if not isinstance(data, dict):
        raise SpecError(str(path), ["must hold a table of sections"])
    return parse_spec(data, str(path))


class _DuplicateKey(ValueError):
    pass


def _unique_keys(pairs: list[tuple[str, object]]) -> dict:
    """JSON objects as TOML tables: a key given twice is an error, not "the last one wins"."""
    out = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(f"the key {key!r} is given twice in one object")
        out[key] = value
    return out


def _describe(err: dict) -> str:
    """One line per problem: the field's path, the rule and the value given."""
    where = _path(err["loc"])
    kind = err["type"]
    given = err.get("input")
    ctx = err.get("ctx", {})
    if kind == "missing":
        return f"{where}: required; got nothing"
    if kind == "extra_forbidden":
        return f"{where}: unknown field (check the spelling); got {given!r}"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        return f"{where}: {_allowed_range(err['loc'], ctx)}; got {given!r}"
    if kind == "literal_error":
        return f"{where}: must be one of {ctx['expected']}; got {given!r}"
    if kind == "value_error":
        return f"{where}: {ctx['error']}; got {given!r}"
    if kind == "too_long":
        return f"{where}: at most {ctx['max_length']} rows; got {ctx['actual_length']}"
    if kind in ("string_too_long", "string_too_short"):
        limit = ctx.get("max_length", ctx.get("min_length"))
        size = "at most" if kind == "string_too_long" else "at least"
        return f"{where}: must be {size} {limit} characters; got {len(given)}"
    return f"{where}: {err['msg'][0].lower()}{err['msg'][1:]}; got {given!r}"


def _path(loc) -> str:
    """``costs.fixed[0].amount``: dots between fields, brackets for list positions."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "spec"


def _allowed_range(loc, ctx: dict) -> str:
    """'must be between A and B' from the field's own bounds, not only the broken one."""
    bounds = _field_bounds(loc)
    low = bounds.get("ge", bounds.get("gt"))
    high = bounds.get("le", bounds.get("lt"))
    if low is not None and high is not None:
        if "ge" in bounds and "le" in bounds:
            return f"must be from {low:g} to {high:g}"
        left = "greater than" if "gt" in bounds else "at least"
        right = "less than" if "lt" in bounds else "at most"
        return f"must be {left} {low:g} and {right} {high:g}"
    names = {"gt": "greater than", "ge": "at least", "lt": "less than", "le": "at most"}
    key, value = next(iter(ctx.items()))
    return f"must be {names.get(key, key)} {value}"


def _field_bounds(loc) -> dict:
    """The ge/gt/le/lt constraints pydantic holds for the field at ``loc``."""
    annotation = Spec
    found = []
    for part in loc:
        annotation = _unwrap(annotation)
        if isinstance(part, int):
            args = get_args(annotation)
            annotation, found = (args[0] if args else None), []
        elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
            field = annotation.model_fields.get(part)
            if field is None:
                return {}
            annotation, found = field.annotation, list(field.metadata)
        else:
            return {}
    annotation_meta = get_args(annotation)[1:] if get_origin(annotation) is Annotated else ()
    return _constraints([*found, *annotation_meta])
