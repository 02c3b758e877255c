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
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Annotated, Literal, get_args, get_origin

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

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

#: Drivers a scenario may adjust: the adjustment multiplies the driver by (1 + x).
SCENARIO_DRIVERS = (
    "tam",
    "tam_growth",
    "sam_share",
    "target_share",
    "price",
    "price_change",
    "cogs_pct",
    "variable_opex_pct",
    "fixed_opex",
    "headcount_cost",
    "development",
    "capex",
    "revenue",
    "discount_rate",
    "working_capital_pct",
    "cogs",
    "other_costs",
    "working_capital",
)
SCENARIOS = ("Low", "Base", "High")
STAGES = ("concept", "development", "launch", "growth", "mature", "decline", "sunset")


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
    name: Text
    product_line: Text = ""
    owner: Text = ""
    currency: Annotated[str, Field(min_length=1, max_length=8), AfterValidator(_printable)] = "USD"
    start_year: Annotated[int, Field(ge=1990, le=2100)]
    horizon: Annotated[int, Field(ge=3, le=15)] = Field(description="Years, 3 to 15")
    periods: Literal["annual", "quarterly"] = "annual"
    stage: Literal[STAGES] = "development"
    decision: Text = ""
    notes: Text = ""
    # Presentation only: money shown in units, thousands or millions by number
    # format (the cells keep exact amounts), and the line printed in every footer.
    units: Literal["units", "thousands", "millions"] = "units"
    confidentiality: Text = "Confidential: prepared for internal decision-making"
    # Portfolio attributes: how the case takes part in a rollup and selection.
    id: Key = ""
    strategic_score: Annotated[float, Field(ge=0.0, le=10.0)] = 0.0
    mandatory: bool = False
    exclusive_group: Key = ""
    depends_on: Key = ""


class Market(_Strict):
    tam: Money = Field(description="Total addressable market in year 1, in units per year")
    tam_growth: Rate = 0.0
    sam_share: Fraction = 1.0
    target_share: Fraction = Field(description="Share of the SAM won once ramped up")
    years_to_target: Annotated[int, Field(ge=1, le=15)] = 3
    launch_year: Annotated[int, Field(ge=1, le=15)] = Field(
        default=1, description="First year with sales (1 = the first year of the case)"
    )


class Pricing(_Strict):
    price: Money = Field(description="Price per unit in year 1")
    price_change: Rate = 0.0


class FixedCost(_Strict):
    name: Text
    amount: Money = Field(description="Per year, in year 1")
    growth: Rate = 0.0


class Role(_Strict):
    role: Text
    fte: Annotated[float, Field(ge=0.0, le=1e5)]
    loaded_cost: Money = Field(description="Per FTE per year, in year 1")
    cost_growth: Rate = 0.0


class Costs(_Strict):
    cogs_pct: Fraction = 0.0
    variable_opex_pct: Fraction = 0.0
    fixed: Annotated[list[FixedCost], Field(max_length=MAX_ROWS)] = []
    headcount: Annotated[list[Role], Field(max_length=MAX_ROWS)] = []


class Investment(_Strict):
    development: ByYear = Field(default=[], description="Expensed development cost by year")
    capex: ByYear = Field(default=[], description="Capitalised investment by year")
    depreciation: Literal["straight_line", "schedule"] = "straight_line"
    depreciation_life: Annotated[int, Field(ge=1, le=30)] = 5
    depreciation_schedule: list[Fraction] = Field(
        default=[], description="Share of each year's capex depreciated in years 1, 2, ..."
    )
    salvage_value: Money = Field(default=0.0, description="Sale value at the end of the horizon")


class Now(_Strict):
    """Period 0: what is paid at the valuation date, before the first year starts."""

    capex: Money = Field(default=0.0, description="Capitalised investment at t = 0")
    development: Money = Field(default=0.0, description="Expensed start-up cost at t = 0")
    other_costs: Money = Field(default=0.0, description="Other costs at t = 0")
    working_capital: Annotated[float, Field(ge=-1e13, le=1e13)] = Field(
        default=0.0, description="Working capital in place at t = 0"
    )


class Finance(_Strict):
    discount_rate: Annotated[float, Field(gt=-0.99, le=1.0)]
    tax_rate: Fraction = 0.25
    working_capital_pct: Annotated[float, Field(ge=-1.0, le=2.0)] = Field(
        default=0.0, description="Of annual revenue; negative when customers pay in advance"
    )
    terminal_value: Literal["none", "perpetuity", "exit_multiple"] = "none"
    terminal_growth: Annotated[float, Field(ge=-0.5, le=0.2)] = 0.0
    exit_multiple: Annotated[float, Field(ge=0.0, le=100.0)] = 0.0
    losses: Literal["credit", "carry_forward"] = "carry_forward"
    irr_guess: Annotated[float, Field(gt=-0.99, le=10.0)] = 0.1
    timing: Literal["end", "mid"] = Field(
        default="end", description="Where the operating years' flows sit in their period"
    )
    release_working_capital: bool = Field(
        default=True,
        description="Working capital comes back in the last period when there is no "
        "terminal value (with one, it stays: the steady state keeps it)",
    )
    maintenance_capex: Money = Field(
        default=0.0,
        description="Steady-state capex per year for the terminal value; at least "
        "the steady-state depreciation is used",
    )
    terminal_value_share_limit: Fraction = Field(
        default=0.75, description="Flag a terminal value above this share of NPV"
    )


class Gate(_Strict):
    name: Text
    probability: Fraction
    until_year: Annotated[int, Field(ge=0, le=15)] = Field(
        description="Flows up to this year (1-based) wait on this gate's outcome"
    )


class Distribution(_Strict):
    """Uncertainty in a driver's relative change x (the driver becomes base * (1 + x)).

    ``type`` picks the parameters: triangular/pert (low, mode, high), uniform
    (low, high), normal (mean, sd), lognormal (median and sigma of the
    multiplier 1 + x), discrete (values, probabilities), fixed (value).
    A normal is cut at -100% (a driver never falls below zero): draws there
    are drawn again, which the simulation allows while they are at most 1% of
    the normal's mass; a wider spread is a lognormal's job.
    """

    type: Literal["triangular", "pert", "uniform", "normal", "lognormal", "discrete", "fixed"]
    low: Annotated[float, Field(gt=-1.0, le=10.0)] = 0.0
    mode: Annotated[float, Field(gt=-1.0, le=10.0)] = 0.0
    high: Annotated[float, Field(gt=-1.0, le=10.0)] = 0.0
    mean: Annotated[float, Field(gt=-1.0, le=10.0)] = 0.0
    sd: Annotated[float, Field(ge=0.0, le=10.0)] = 0.0
    median: Annotated[float, Field(gt=0.0, le=10.0)] = 1.0
    sigma: Annotated[float, Field(ge=0.0, le=5.0)] = 0.0
    values: list[Annotated[float, Field(gt=-1.0, le=10.0)]] = []
    probabilities: list[Fraction] = []
    value: Annotated[float, Field(gt=-1.0, le=10.0)] = 0.0


class Correlation(_Strict):
    drivers: Annotated[list[str], Field(min_length=2, max_length=2)]
    rank: Annotated[float, Field(ge=-0.99, le=0.99)]


class MonteCarlo(_Strict):
    trials: Annotated[int, Field(ge=100, le=1_000_000)] = 10_000
    seed: Annotated[int, Field(ge=0)] = 20261126


class Risk(_Strict):
    gates: list[Gate] = []
    distributions: dict[str, Distribution] = {}
    correlations: list[Correlation] = []
    monte_carlo: MonteCarlo = MonteCarlo()


class Baseline(_Strict):
    description: Text = ""
    cash_flows: ByYear = Field(
        default=[], description="Free cash flow the business has without the investment"
    )


class Series(_Strict):
    """Explicit forecasts by year, each replacing the driver it names."""

    revenue: ByYear | None = None
    cogs: ByYear | None = None
    other_costs: ByYear | None = None
    capex: ByYear | None = None
    working_capital: ByYear | None = None


class Scenario(_Strict):
    """Relative adjustments: ``price = -0.1`` multiplies the price by 0.9."""

    tam: Rate = 0.0
    tam_growth: Rate = 0.0
    sam_share: Rate = 0.0
    target_share: Rate = 0.0
    price: Rate = 0.0
    price_change: Rate = 0.0
    cogs_pct: Rate = 0.0
    variable_opex_pct: Rate = 0.0
    fixed_opex: Rate = 0.0
    headcount_cost: Rate = 0.0
    development: Rate = 0.0
    capex: Rate = 0.0
    revenue: Rate = 0.0
    discount_rate: Rate = 0.0
    working_capital_pct: Rate = 0.0
    cogs: Rate = Field(default=0.0, description="Scales the COGS forecast (series.cogs)")
    other_costs: Rate = 0.0
    working_capital: Rate = Field(
        default=0.0, description="Scales working capital, from the series or % of revenue"
    )


class Scenarios(_Strict):
    low: Scenario = Scenario()
    high: Scenario = Scenario()


class Spec(_Strict):
    meta: Meta
    market: Market | None = None
    pricing: Pricing | None = None
    costs: Costs = Costs()
    investment: Investment = Investment()
    now: Now = Now()
    finance: Finance
    risk: Risk = Risk()
    baseline: Baseline = Baseline()
    series: Series = Series()
    scenarios: Scenarios = Scenarios()

    @property
    def periods_per_year(self) -> int:
        return 1 if self.meta.periods == "annual" else 4

    @property
    def periods(self) -> int:
        return self.meta.horizon * self.periods_per_year


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
    metadata = []
    for part in loc:
        annotation = _unwrap(annotation)
        if isinstance(part, int):
            args = get_args(annotation)
            annotation, metadata = (args[0] if args else None), []
        elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
            field = annotation.model_fields.get(part)
            if field is None:
                return {}
            annotation, metadata = field.annotation, list(field.metadata)
        else:
            return {}
    annotation_meta = get_args(annotation)[1:] if get_origin(annotation) is Annotated else ()
    bounds = {}
    for m in [*metadata, *annotation_meta]:
        for key in ("ge", "gt", "le", "lt"):
            value = getattr(m, key, None)
            if value is not None:
                bounds[key] = value
        for sub in getattr(m, "metadata", []):
            for key in ("ge", "gt", "le", "lt"):
                value = getattr(sub, key, None)
                if value is not None:
                    bounds[key] = value
    return bounds


def _unwrap(annotation):
    """``X | None`` -> X; ``Annotated[X, ...]`` stays for its metadata."""
    args = get_args(annotation)
    if args and type(None) in args and get_origin(annotation) is not Annotated:
        rest = [a for a in args if a is not type(None)]
        return rest[0]
    return annotation
