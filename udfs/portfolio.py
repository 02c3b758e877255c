"""Portfolio engine: roll cases up, rank them, and choose what to fund.

Pure numpy/scipy/pandas. Cases are aligned on calendar years; a portfolio
has one currency, and cases in another are converted (:func:`to_currency`)
at rates the user gives, never added as they are. Selection under capital
limits is solved exactly as a 0/1 integer programme with scipy's MILP solver
(HiGHS).

:func:`plan` is the one entry point a rollup goes through (the CLI, the
workbook writer and the workbook's refresh button): it returns a
:class:`Plan` holding everything the portfolio decides. The headline totals
are :data:`HEADLINES`, expressions (:mod:`udfs.expr`) that the plan evaluates
with numpy and the workbook writer renders as the ``Port_`` formulas.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from scipy.optimize import Bounds, LinearConstraint, milp

from . import expr as X
from . import finance
from .errors import InputError

MEASURES = ("revenue", "ebitda", "capital", "fcf")
RANK_KEYS = ("npv", "pi", "irr", "enpv", "score")
ACTIONS = ("invest", "maintain", "harvest", "retire")


@dataclass
class Case:
    """One business case as the portfolio sees it: yearly flows and headline metrics.

    ``capital`` is investment (development plus capex) as positive amounts;
    ``fcf`` is the case's incremental free cash flow. ``currency`` is the
    case's own; after :func:`to_currency` the money fields are in the
    portfolio's currency and ``fx_rate`` is the rate that converted them.
    """

    id: str
    name: str
    product_line: str
    stage: str
    years: np.ndarray
    revenue: np.ndarray
    ebitda: np.ndarray
    capital: np.ndarray
    fcf: np.ndarray
    npv: float
    enpv: float
    irr: float
    pi: float
    payback: float
    discount_rate: float
    probability: float = 1.0
    score: float = 0.0
    extra: dict = field(default_factory=dict)
    currency: str = ""
    fx_rate: float = 1.0


MONEY_SCALARS = ("npv", "enpv")  # with every measure in MEASURES, what conversion scales


def parse_rates(text: str, where: str = "--fx") -> dict[str, float]:
    """Exchange rates written ``USD=0.92,GBP=1.17``: the value of one unit of
    each currency in the portfolio's currency.

    Examples
    --------
    >>> parse_rates("usd=0.92, GBP=1.17")
    {'USD': 0.92, 'GBP': 1.17}
    """
    rates: dict[str, float] = {}
    for item in (x.strip() for x in text.split(",")):
        if not item:
            continue
        code, sep, number = item.partition("=")
        try:
            value = float(number) if sep else math.nan
        except ValueError:
            value = math.nan
        if not sep or not code.strip():
            raise InputError(f"{where}: expected CODE=RATE items separated by commas; got {item!r}")
        rates[_code(code, where)] = _rate(value, f"{where}, {code.strip()}", number)
    return rates


def check_rates(rates: dict, where: str) -> dict[str, float]:
    """Rates from a settings file: currency codes to positive numbers."""
    out = {}
    for code, value in rates.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InputError(f"{where}, {code}: expected a number (a rate); got {value!r}")
        out[_code(str(code), where)] = _rate(float(value), f"{where}, {code}", value)
    return out


def _code(code: str, where: str) -> str:
    code = code.strip().upper()
    if not 1 <= len(code) <= 8 or not code.isprintable():
        raise InputError(f"{where}: a currency code has 1 to 8 characters; got {code!r}")
    return code


def _rate(value: float, where: str, got) -> float:
    if not (math.isfinite(value) and value > 0):
        raise InputError(f"{where}: the rate must be a positive number; got {got!r}")
    return value


def to_currency(
    cases: list[Case], currency: str | None = None, rates: dict[str, float] | None = None
) -> tuple[str, list[Case]]:
    """The portfolio's currency, and the cases with their money converted into it.

    ``currency`` defaults to the cases' own when they all share one. ``rates``
    give the value of one unit of each other currency in the portfolio's
    (``{"USD": 0.92}`` for a EUR portfolio: USD 1 = EUR 0.92). Rates, IRR, PI,
    payback and probabilities do not depend on the currency and stay as they
    are. A case whose currency has no rate is an error naming every such case,
    so no total ever adds two currencies.

    Examples
    --------
    >>> years = np.array([2027, 2028])
    >>> def case(id, currency, npv):
    ...     flows = np.array([-10.0, 20.0])
    ...     return Case(id, id, "", "growth", years, flows, flows, flows, flows,
    ...                 npv, npv, 0.1, 1.5, 1.0, 0.08, currency=currency)
    >>> cur, cases = to_currency([case("a", "EUR", 100.0), case("b", "USD", 50.0)],
    ...                          "EUR", {"USD": 0.92})
    >>> cur, [c.npv for c in cases], [c.fx_rate for c in cases]
    ('EUR', [100.0, 46.0], [1.0, 0.92])
    >>> to_currency([case("a", "EUR", 1.0), case("b", "USD", 1.0)])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    udfs.errors.InputError: currency: the cases are in 2 currencies (EUR: a; USD: b) and ...
    """
    rates = dict(rates or {})
    own = {c.id: _code(c.currency or "", f"case {c.id}, currency") for c in cases}
    by_currency: dict[str, list[str]] = {}
    for case_id, code in own.items():
        by_currency.setdefault(code, []).append(case_id)
    if currency is None:
        if len(by_currency) > 1:
            raise InputError(
                f"currency: the cases are in {len(by_currency)} currencies "
                f"({_listing(by_currency)}) and a portfolio adds one; give the portfolio "
                f"currency (--currency) and rates for the others (--fx CODE=RATE)"
            )
        currency = next(iter(by_currency))
    currency = _code(currency, "currency")
    if currency in rates and rates[currency] != 1.0:
        raise InputError(
            f"--fx, {currency}: the portfolio's own currency has the rate 1; "
            f"got {rates[currency]!r}"
        )
    rates[currency] = 1.0
    missing = {k: v for k, v in by_currency.items() if k not in rates}
    if missing:
        raise InputError(
            f"--fx: no rate to {currency} for {_listing(missing)}; give one per currency, "
            f"e.g. --fx {','.join(f'{k}=RATE' for k in missing)}"
        )
    converted = []
    for case in cases:
        rate = rates[own[case.id]]
        money = {m: np.asarray(getattr(case, m), dtype=float) * rate for m in MEASURES}
        money.update({m: getattr(case, m) * rate for m in MONEY_SCALARS})
        extra = dict(case.extra, own_npv=case.npv)  # before conversion, for the Cases table
        if "peak_funding" in extra:
            extra["peak_funding"] = extra["peak_funding"] * rate
        converted.append(replace(case, **money, extra=extra, currency=own[case.id], fx_rate=rate))
    return currency, converted


def _listing(groups: dict[str, list[str]], most: int = 5) -> str:
    """``EUR: a, b; USD: c``, each list cut at ``most`` ids."""
    parts = []
    for code, ids in groups.items():
        shown = ", ".join(ids[:most]) + (f" and {len(ids) - most} more" if len(ids) > most else "")
        parts.append(f"{code}: {shown}")
    return "; ".join(parts)


@dataclass
class Aligned:
    """Cases on one calendar: ``flows[measure]`` is (cases x years)."""

    cases: list[Case]
    years: np.ndarray
    flows: dict[str, np.ndarray]


def align(cases: list[Case]) -> Aligned:
    """Put every case's yearly flows on the portfolio's calendar (zeros outside a case)."""
    if not cases:
        raise InputError("cases: a portfolio needs at least one case")
    first = min(int(c.years[0]) for c in cases)
    last = max(int(c.years[-1]) for c in cases)
    years = np.arange(first, last + 1)
    flows = {m: np.zeros((len(cases), years.size)) for m in MEASURES}
    for i, case in enumerate(cases):
        start = int(case.years[0]) - first
        for m in MEASURES:
            values = np.asarray(getattr(case, m), dtype=float)
            flows[m][i, start : start + values.size] = values
    return Aligned(cases, years, flows)


def rollup_table(
    header: list[str],
    rows: list[list],
    group_by: str | None = None,
    measures: list[str] | None = None,
) -> pd.DataFrame:
    """Sum the numeric columns of a table, by the values of one column or overall.

    ``header`` names the columns; ``measures`` defaults to every column that
    holds numbers. Returns one row per group plus a "Total" row. Groups are
    the column's exact texts (``Gov?`` and ``gov?`` are two groups, nothing
    is a pattern).

    A column named "Currency" says what each row's amounts are in: when it
    holds more than one currency, the amounts cannot be added and it is an
    error, unless the table is grouped by that column (one row per currency,
    and no Total row).

    Examples
    --------
    >>> rollup_table(["line", "npv"], [["A", 1], ["B", 2], ["A", 3]], "line").values.tolist()
    [['A', 4.0], ['B', 2.0], ['Total', 6.0]]
    >>> rollup_table(["currency", "npv"], [["EUR", 1], ["USD", 2]], "currency").values.tolist()
    [['EUR', 1.0], ['USD', 2.0]]
    """
    names = [str(h).strip() for h in header]
    if len(set(names)) != len(names):
        raise InputError(f"table: column names must be unique; got {names}")
    frame = pd.DataFrame(rows, columns=names)
    if group_by is not None and group_by not in names:
        raise InputError(f"group_by: no column named {group_by!r}; columns are {names}")
    currency = next((n for n in names if n.lower() == "currency"), None)
    mixed = currency is not None and len(_currencies(frame[currency])) > 1
    if mixed and group_by != currency:
        raise InputError(
            f"table: the {currency} column holds {', '.join(_currencies(frame[currency]))}; "
            f"amounts in different currencies cannot be added; convert them to one "
            f"currency first, or group by {currency}"
        )
    if measures is None:
        measures = [
            n
            for n in names
            if n != group_by and pd.to_numeric(frame[n], errors="coerce").notna().any()
        ]
    for m in measures:
        if m not in names:
            raise InputError(f"measures: no column named {m!r}; columns are {names}")
    numbers = frame[measures].apply(pd.to_numeric, errors="coerce").fillna(0.0).astype(float)
    if group_by is None:
        out = pd.DataFrame([numbers.sum()], columns=measures)
        out.insert(0, "group", ["Total"])
        return out
    keys = frame[group_by].fillna("").astype(str)
    grouped = numbers.groupby(keys, sort=False).sum()
    if not mixed:
        grouped.loc["Total"] = numbers.sum()
    out = grouped.reset_index().rename(columns={"index": group_by})
    out.columns = [group_by, *measures]
    return out


def _currencies(column) -> list[str]:
    """The distinct currency codes of a column, blanks left out."""
    codes = {str(x).strip().upper() for x in column if not _blank(x)}
    return sorted(codes - {""})


def _blank(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def one_currency(codes, where: str = "currencies") -> str:
    """The single currency of a list of amounts' codes; more than one is an error.

    Examples
    --------
    >>> one_currency(["EUR", "eur", None])
    'EUR'
    """
    found = _currencies(codes)
    if len(found) > 1:
        raise InputError(
            f"{where}: the amounts are in {', '.join(found)}; values and costs in "
            f"different currencies cannot be compared or added; convert them to one "
            f"currency first"
        )
    return found[0] if found else ""


def totals_by_year(aligned: Aligned, by: str | None = None) -> pd.DataFrame:
    """Sum of each measure by calendar year, overall or by ``product_line``/``stage``.

    Examples
    --------
    >>> a = Case("a", "A", "X", "growth", np.array([2027, 2028]), np.array([10., 20.]),
    ...          np.array([1., 2.]), np.array([5., 0.]), np.array([-5., 3.]), 0., 0., 0., 0., 0.,
    ...          0.1)
    >>> totals_by_year(align([a, a]))["revenue"].tolist()
    [20.0, 40.0]
    """
    frames = []
    groups = {"all": np.arange(len(aligned.cases))} if by is None else _groups(aligned, by)
    for key, idx in groups.items():
        frame = pd.DataFrame(
            {m: aligned.flows[m][idx].sum(axis=0) for m in MEASURES},
            index=pd.Index(aligned.years, name="year"),
        )
        if by is not None:
            frame.insert(0, by, key)
        frames.append(frame)
    return pd.concat(frames) if by is not None else frames[0]


def _groups(aligned: Aligned, by: str) -> dict[str, np.ndarray]:
    if by not in ("product_line", "stage"):
        raise InputError(f"group_by: must be product_line or stage; got {by!r}")
    keys = [getattr(c, by) for c in aligned.cases]
    return {k: np.flatnonzero(np.array(keys) == k) for k in dict.fromkeys(keys)}


def rank(
    table: pd.DataFrame, by: str = "npv", weights: dict[str, float] | None = None
) -> pd.Series:
    """1 = best. ``by`` is one of npv, pi, irr, enpv, or ``score`` with ``weights``
    (a weighted sum of min-max normalised columns, e.g. {"npv": 0.5, "score": 0.5}).
    Missing values (no IRR) rank last.
    """
    if by not in RANK_KEYS:
        raise InputError(f"rank_by: must be one of {', '.join(RANK_KEYS)}; got {by!r}")
    if by == "score" and weights:
        value = sum(w * _normalised(table[col]) for col, w in weights.items())
    else:
        value = table[by].astype(float)
    return value.rank(ascending=False, method="first", na_option="bottom").astype(int)


def _normalised(column: pd.Series) -> pd.Series:
    c = column.astype(float)
    span = c.max() - c.min()
    return (c - c.min()) / span if span > 0 else c * 0.0


#: How long the exact selection may search before it gives up with a reason: a total
#: budget over thousands of cases takes seconds, ten yearly budgets over hundreds of
#: cases can take far longer (README, "Limits").
SELECT_SECONDS = 120.0


def select(values, costs, budget, mandatory=None, groups=None, depends_on=None) -> np.ndarray:
    """The set of projects that maximises total value within the capital limits.

    Parameters
    ----------
    values : array_like, shape (projects,)
        What each project is worth (NPV or eNPV).
    costs : array_like, shape (projects,) or (projects, years)
        Capital each project needs, in total or by year.
    budget : float or array_like, shape (years,)
        Capital available, in total or by year (same shape as a row of costs).
    mandatory : array_like of bool, optional
        Projects that must be funded.
    groups : array_like, optional
        A group label per project (None/"" for none); at most one project per
        group (mutually exclusive alternatives).
    depends_on : array_like of int, optional
        Index of the project each one needs (-1 for none): B only if A.

    Returns
    -------
    ndarray of bool: funded or not. Solved exactly (HiGHS branch and bound).

    Examples
    --------
    >>> select([10, 7, 6], [5, 4, 3], 7).tolist()
    [False, True, True]
    """
    v = np.asarray(values, dtype=float)
    n = v.size
    c = np.asarray(costs, dtype=float).reshape(n, -1)
    b = np.broadcast_to(np.asarray(budget, dtype=float), (c.shape[1],))
    if not (np.all(np.isfinite(v)) and np.all(np.isfinite(c))):
        raise InputError("values and costs: must be finite numbers")
    constraints = [LinearConstraint(c.T, -np.inf, b)]
    lower = np.zeros(n)
    if mandatory is not None:
        m = np.asarray(mandatory, dtype=bool)
        lower[m] = 1.0
        if np.any(c[m].sum(axis=0) > b + 1e-9):
            raise InputError("mandatory: the mandatory projects alone exceed the budget")
    if groups is not None:
        labels = [g if g not in (None, "") else None for g in groups]
        for label in dict.fromkeys(x for x in labels if x is not None):
            row = np.array([1.0 if x == label else 0.0 for x in labels])
            constraints.append(LinearConstraint(row, -np.inf, 1.0))
    if depends_on is not None:
        for j, i in enumerate(np.asarray(depends_on, dtype=int)):
            if i >= 0:
                if i >= n or i == j:
                    raise InputError(
                        f"depends_on: project {j} needs project {i}, which is "
                        f"not another project of the {n}"
                    )
                row = np.zeros(n)
                row[j], row[i] = 1.0, -1.0  # x_j <= x_i
                constraints.append(LinearConstraint(row, -np.inf, 0.0))
    # mip_rel_gap=0: prove optimality; HiGHS's default stops within 0.01% of the bound,
    # which can drop a small project beside a dominant one.
    result = milp(
        -v,
        constraints=constraints,
        integrality=np.ones(n),
        bounds=Bounds(lower, np.ones(n)),
        options={"mip_rel_gap": 0.0, "time_limit": SELECT_SECONDS},
    )
    if result.status == 2:
        raise InputError(
            "mandatory, groups, depends_on and budget: no set of projects "
            "satisfies all of them together"
        )
    if result.status == 1:
        raise InputError(
            f"selection: no proven best set of {n} projects within {SELECT_SECONDS:.0f} s "
            f"({c.shape[1]} budget period(s)); a total budget instead of yearly ones, or "
            "fewer cases, is solved in seconds (README, Limits)"
        )
    if result.status != 0 or result.x is None:
        raise InputError(
            f"selection: the solver stopped without a proven optimum ({result.message})"
        )
    return np.round(result.x).astype(bool)


def frontier(values, costs, budgets, **constraints) -> pd.DataFrame:
    """Best achievable value at each total capital budget (the efficient frontier).

    ``costs`` are totals per project (or by year, summed here); returns columns
    budget, value, capital_used, projects.
    """
    v = np.asarray(values, dtype=float)
    total = np.asarray(costs, dtype=float).reshape(v.size, -1).sum(axis=1)
    rows = []
    for b in np.asarray(budgets, dtype=float):
        chosen = select(v, total, b, **constraints)
        rows.append(
            (float(b), float(v[chosen].sum()), float(total[chosen].sum()), int(chosen.sum()))
        )
    return pd.DataFrame(rows, columns=["budget", "value", "capital_used", "projects"])


def recommend(case: Case) -> tuple[str, str]:
    """Invest, maintain, harvest or retire, with the facts that drive it.

    Rules, in order: a sunset case (the case is the plan to retire, its baseline
    keeping the product) is retired if its NPV is positive, else harvested; a
    case whose NPV (incremental to its baseline) is negative is retired; an
    early-stage or growing case (concept to growth, or revenue growing over 10%
    a year) is invested in; a profitable case still growing
    is maintained; a profitable case in decline is harvested; otherwise retired.
    """
    growth = _growth(case.revenue)
    with np.errstate(all="ignore"):
        margin = case.ebitda.sum() / case.revenue.sum() if case.revenue.sum() > 0 else np.nan
    facts = (
        f"NPV {case.npv:,.0f} incremental to doing nothing; revenue growth "
        f"{_pct(growth)} a year; EBITDA margin {_pct(margin)}; stage {case.stage}"
    )
    if case.stage == "sunset":  # the case is the retirement plan, its baseline is keeping on
        if case.npv >= 0:
            return "retire", facts + ": retiring as planned beats keeping the product"
        return (
            "harvest",
            facts + ": keeping the product beats this retirement plan; run it for cash",
        )
    if case.npv < 0:
        return "retire", facts + ": continuing destroys value against the baseline"
    if case.stage in ("concept", "development", "launch", "growth") or growth > 0.10:
        return "invest", facts + ": value-creating and still building"
    if margin > 0 and growth >= 0:
        return "maintain", facts + ": profitable and holding"
    if margin > 0:
        return "harvest", facts + ": profitable but shrinking; minimise new investment"
    return "retire", facts + ": no margin left to protect"


def _growth(revenue: np.ndarray) -> float:
    selling = np.flatnonzero(np.asarray(revenue) > 0)
    if selling.size < 2:
        return float("nan")
    first, last = revenue[selling[0]], revenue[selling[-1]]
    return float(finance.cagr(first, last, selling[-1] - selling[0]))


def _pct(x: float) -> str:
    return "n/a" if not np.isfinite(x) else f"{x:.0%}"


def case_from_evaluation(model, evaluation, case_id: str = "") -> Case:
    """A business case's yearly flows and metrics, as the portfolio needs them.

    ``model`` and ``evaluation`` come from :mod:`udfs.model`; periods are summed
    into calendar years.
    """
    spec = model.spec
    lines = evaluation.lines
    year = lines["year"].astype(int)
    years = np.unique(year)
    index = year - years[0]

    def yearly(name: str, sign: float = 1.0) -> np.ndarray:
        return sign * np.bincount(index, weights=lines[name], minlength=years.size)

    capital = yearly("development", -1.0) + yearly("capex", -1.0)
    probability = (
        float(np.prod([g.probability for g in spec.risk.gates])) if spec.risk.gates else 1.0
    )
    out = evaluation.outputs
    return Case(
        id=case_id or spec.meta.id or spec.meta.name,
        name=spec.meta.name,
        product_line=spec.meta.product_line,
        stage=spec.meta.stage,
        years=years,
        revenue=yearly("revenue"),
        ebitda=yearly("ebitda"),
        capital=capital,
        fcf=yearly("incremental_fcf"),
        npv=out["NPV"],
        enpv=out["eNPV"],
        irr=out["IRR"],
        pi=out["PI"],
        payback=out["Payback"],
        discount_rate=float(model.input("DiscountRate").value),
        probability=probability,
        score=spec.meta.strategic_score,
        currency=spec.meta.currency,
        extra={
            "mandatory": spec.meta.mandatory,
            "exclusive_group": spec.meta.exclusive_group,
            "depends_on": spec.meta.depends_on,
            "peak_funding": out["PeakFunding"],
        },
    )


# --- the plan: everything a rollup decides, in one place ------------------------------


@dataclass
class RolledUp:
    """The cases a rollup read, and what it learnt about the files behind them.

    Data only (paths and reasons, never an open file): ``models`` holds each
    case's (model, input values) for simulation; ``exceptions`` the files that
    could not be read, with the reason; ``overrides`` (file, name, cached value,
    engine value) the results edited by hand; ``duplicates`` (copy, the file
    counted); ``left_out`` files a folder scan skipped, with the reason.
    """

    cases: list[Case] = field(default_factory=list)
    files: list = field(default_factory=list)
    exceptions: list = field(default_factory=list)
    overrides: list = field(default_factory=list)
    models: list = field(default_factory=list)
    duplicates: list = field(default_factory=list)
    left_out: list = field(default_factory=list)


@dataclass(frozen=True)
class Settings:
    """What a portfolio plan is asked for.

    ``currency`` (None: the cases' own, when they share one) and ``rates`` (the
    value of one unit of each other currency in it); ``budget`` (total capital)
    or ``budget_by_year`` (one limit per calendar year of the portfolio, in
    order), neither: every case funded; ``value_key`` what selection maximises
    (npv or enpv); ``rank_by`` the ranking key; ``frontier_points`` budgets on
    the efficient frontier (0: none); ``trials`` Monte Carlo trials per case
    (0: none) with ``seed``, the rank ``correlation`` of cases of one product
    line and the ``target`` NPV whose shortfall probability is reported;
    ``irr_guess`` and ``rate`` (default: the mean of the cases' discount rates)
    are what the portfolio IRR and MIRR read, as the workbook's In_IRRGuess and
    In_PortfolioRate.
    """

    currency: str | None = None
    rates: dict[str, float] = field(default_factory=dict)
    budget: float | None = None
    budget_by_year: tuple[float, ...] | None = None
    rank_by: str = "npv"
    value_key: str = "npv"
    frontier_points: int = 21
    trials: int = 0
    seed: int | None = None
    correlation: float = 0.0
    target: float | None = None
    irr_guess: float = 0.1
    rate: float | None = None


@dataclass(frozen=True)
class Headline:
    """A portfolio headline: its ``Port_`` name (without the prefix), label, unit, and
    the expression both the engine and the workbook compute it from.

    The expression reads the Cases table's columns (``npv``, ``enpv``,
    ``capital``, ``selected``, ``id``: one entry per case), the summed yearly
    free cash flow ``fcf``, and the settings ``Budget``, ``BudgetByYear``,
    ``IRRGuess`` and ``PortfolioRate``.

    Examples
    --------
    >>> npv = HEADLINES[0]
    >>> npv.name, npv.expr.excel(X.Context(ranges={"npv": "Cases[NPV]"}))
    ('NPV', 'SUM(Cases[NPV])')
    >>> float(npv.expr.evaluate(X.Context(values={"npv": np.array([[1.5, 2.0]])}))[0, 0])
    3.5
    """

    name: str
    label: str
    unit: str  # "currency", "%" or "count"
    expr: X.Expr


def _headlines() -> tuple[Headline, ...]:
    A = X.Aggregate
    selected_capital = A("SUMPRODUCT", ("capital", "selected"))
    budget, by_year = X.Scalar("Budget"), A("SUM", ("BudgetByYear",))
    headroom = X.fif(
        X.IsNumber(budget),
        budget - selected_capital,
        X.fif(
            X.compare(">", A("COUNT", ("BudgetByYear",)), 0),
            by_year - selected_capital,
            X.Blank(),
        ),
    )
    rate = X.Scalar("PortfolioRate")
    mirr = A("MIRR", ("fcf",), (rate, rate))
    # The case model's rule: Excel's IRR started from the MIRR (the root nearest a
    # sensible return when the flows change sign more than once), else from the guess.
    irr = X.IfError(A("IRR", ("fcf",), (X.IfError(mirr, X.Scalar("IRRGuess")),)), X.NotAvailable())
    return (
        Headline(
            "NPV", "Portfolio NPV (each case at its own rate)", "currency", A("SUM", ("npv",))
        ),
        Headline("eNPV", "Portfolio eNPV", "currency", A("SUM", ("enpv",))),
        Headline("Capital", "Capital, all cases", "currency", A("SUM", ("capital",))),
        Headline(
            "SelectedNPV", "NPV of the funded set", "currency", A("SUMPRODUCT", ("npv", "selected"))
        ),
        Headline("SelectedCapital", "Capital of the funded set", "currency", selected_capital),
        Headline("Headroom", "Budget left after the funded set", "currency", headroom),
        Headline("Cases", "Cases", "count", A("ROWS", ("id",))),
        Headline("IRR", "IRR of the summed cash flows", "%", irr),
        Headline(
            "MIRR",
            "MIRR of the summed cash flows (at the portfolio rate)",
            "%",
            X.IfError(mirr, X.NotAvailable()),
        ),
    )


#: The portfolio's headline names, each defined once (see :class:`Headline`).
HEADLINES = _headlines()


@dataclass(frozen=True)
class Plan:
    """Everything a rollup decides, computed by the engine (no workbook, no file).

    ``aligned`` holds the cases converted into ``currency`` on one calendar;
    ``ranks`` (1 = best), ``selected`` (the funded set) and ``recommendations``
    ((action, why)) are in the cases' order; ``frontier`` has the columns
    budget, value, capital_used, projects; ``simulation`` is a
    :class:`udfs.risk.PortfolioSimulation` when trials were asked. The rest is
    what the rollup learnt about its files (:class:`RolledUp`), as data.
    """

    currency: str
    aligned: Aligned
    ranks: tuple[int, ...]
    selected: np.ndarray
    recommendations: tuple[tuple[str, str], ...]
    frontier: pd.DataFrame
    settings: Settings
    rate: float  # the portfolio MIRR's finance and reinvestment rate
    simulation: object = None
    files: tuple = ()
    exceptions: tuple = ()
    overrides: tuple = ()
    duplicates: tuple = ()
    left_out: tuple = ()

    @property
    def cases(self) -> list[Case]:
        return self.aligned.cases

    @property
    def budget_total(self) -> float | None:
        return self.settings.budget

    @property
    def budget_by_year(self) -> np.ndarray | None:
        by_year = self.settings.budget_by_year
        return None if by_year is None else np.asarray(by_year, dtype=float)

    @property
    def value_key(self) -> str:
        return self.settings.value_key

    @property
    def rank_key(self) -> str:
        return self.settings.rank_by

    def values(self) -> dict[str, np.ndarray]:
        """What the headline expressions read, each with the case (or year) axis last."""
        cases, years = self.aligned.cases, self.aligned.years
        by_year = self.budget_by_year
        budget = self.settings.budget
        return {
            "npv": np.array([[c.npv for c in cases]], dtype=float),
            "enpv": np.array([[c.enpv for c in cases]], dtype=float),
            "capital": self.aligned.flows["capital"].sum(axis=1)[None, :],
            "selected": np.asarray(self.selected, dtype=float)[None, :],
            "id": np.zeros((1, len(cases))),
            "fcf": self.aligned.flows["fcf"].sum(axis=0)[None, :],
            "Budget": np.array([[np.nan if budget is None else budget]]),
            "BudgetByYear": np.full((1, years.size), np.nan)
            if by_year is None
            else by_year[None, :],
            "IRRGuess": np.array([[self.settings.irr_guess]]),
            "PortfolioRate": np.array([[self.rate]]),
        }

    def headlines(self) -> dict[str, float]:
        """Every :data:`HEADLINES` value by name (nan: none, such as no IRR or no budget).

        Evaluated from the same expressions the workbook's ``Port_`` formulas are
        rendered from, on the plan's own funded set.
        """
        ctx = X.Context(values=self.values())
        with np.errstate(all="ignore"):  # x/0 is inf, 0/0 nan, as in the case model
            return {h.name: float(np.asarray(h.expr.evaluate(ctx)).ravel()[0]) for h in HEADLINES}

    def selected_ids(self) -> list[str]:
        return [c.id for c, s in zip(self.aligned.cases, self.selected, strict=True) if s]


def plan(cases, settings: Settings | None = None, progress=None) -> Plan:
    """Convert, rank, select, trace the frontier and simulate a portfolio: the plan.

    ``cases`` is a :class:`RolledUp` (what a rollup read, with each case's model
    for simulation) or a list of :class:`Case`. Selection maximises
    ``settings.value_key`` within the budget; mandatory cases, exclusive groups
    and dependencies come from each case's ``extra`` (mandatory,
    exclusive_group, depends_on). With trials, each case's Monte Carlo
    (:func:`udfs.risk.simulate`, its own seed stream) is summed into the
    portfolio's; ``progress(1)`` is called after each case simulated.

    Examples
    --------
    >>> years = np.array([2027, 2028])
    >>> def case(id, npv, capital):
    ...     flows = np.array([-capital, capital + npv])
    ...     return Case(id, id, "", "growth", years, flows, flows, np.array([capital, 0.0]),
    ...                 flows, npv, npv, 0.1, 1.5, 1.0, 0.08, currency="EUR")
    >>> p = plan([case("a", 10.0, 5.0), case("b", 7.0, 4.0), case("c", 6.0, 3.0)],
    ...          Settings(budget=7.0, frontier_points=0))
    >>> p.selected_ids(), p.ranks
    (['b', 'c'], (1, 2, 3))
    >>> h = p.headlines()
    >>> h["NPV"], h["SelectedNPV"], h["Headroom"]
    (23.0, 13.0, 0.0)
    """
    settings = settings or Settings()
    rolled = cases if isinstance(cases, RolledUp) else RolledUp(cases=list(cases))
    if not rolled.cases:
        raise InputError("cases: no case could be read; see the exceptions")
    if settings.value_key not in ("npv", "enpv"):
        raise InputError(f"value: must be npv or enpv; got {settings.value_key!r}")
    if settings.budget is not None and settings.budget_by_year is not None:
        raise InputError("budget: give a total budget or one per year, not both")
    currency, converted = to_currency(rolled.cases, settings.currency, settings.rates)
    aligned = align(converted)
    table = pd.DataFrame({k: [getattr(c, k) for c in aligned.cases] for k in RANK_KEYS})
    ranks = tuple(int(r) for r in rank(table, settings.rank_by))
    values = table[settings.value_key].to_numpy(dtype=float)
    constraints = _constraints(aligned.cases)
    capital = aligned.flows["capital"]
    if settings.budget_by_year is not None:
        if len(settings.budget_by_year) != aligned.years.size:
            raise InputError(
                f"budget by year: need one amount per year "
                f"{aligned.years[0]}-{aligned.years[-1]} ({aligned.years.size}); "
                f"got {len(settings.budget_by_year)}"
            )
        selected = select(values, capital, np.asarray(settings.budget_by_year), **constraints)
    elif settings.budget is not None:
        selected = select(values, capital.sum(axis=1), settings.budget, **constraints)
    else:
        selected = np.ones(len(aligned.cases), dtype=bool)
    rate = settings.rate
    if rate is None:
        rate = float(np.mean([c.discount_rate for c in aligned.cases]))
    return Plan(
        currency=currency,
        aligned=aligned,
        ranks=ranks,
        selected=selected,
        recommendations=tuple(recommend(c) for c in aligned.cases),
        frontier=_frontier(values, capital.sum(axis=1), constraints, settings.frontier_points),
        settings=settings,
        rate=rate,
        simulation=_simulation(rolled, aligned.cases, settings, progress),
        files=tuple(rolled.files),
        exceptions=tuple(rolled.exceptions),
        overrides=tuple(rolled.overrides),
        duplicates=tuple(rolled.duplicates),
        left_out=tuple(rolled.left_out),
    )


def _constraints(cases: list[Case]) -> dict:
    """Mandatory cases, exclusive groups and dependencies (by index), from the cases."""
    ids = [c.id for c in cases]
    return {
        "mandatory": [bool(c.extra.get("mandatory")) for c in cases],
        "groups": [c.extra.get("exclusive_group") or None for c in cases],
        "depends_on": [
            ids.index(c.extra["depends_on"]) if c.extra.get("depends_on") in ids else -1
            for c in cases
        ],
    }


def _frontier(values, total_capital, constraints, points: int) -> pd.DataFrame:
    """The frontier from no capital to every case's, leaving out budgets below what the
    mandatory cases alone need (no set exists there)."""
    budgets = np.linspace(0.0, total_capital.sum(), points)
    mandatory = np.asarray(constraints["mandatory"], dtype=bool)
    budgets = budgets[budgets >= total_capital[mandatory].sum() - 1e-9]
    return frontier(values, total_capital, budgets, **constraints)


def _simulation(rolled: RolledUp, cases: list[Case], settings: Settings, progress):
    if not settings.trials:
        return None
    if len(rolled.models) != len(cases):
        raise InputError("simulation: every case needs its model (a RolledUp with models)")
    from .risk import DEFAULT_SEED, simulate, simulate_portfolio

    seed = DEFAULT_SEED if settings.seed is None else settings.seed
    npvs = []
    for i, (model, values) in enumerate(rolled.models):
        # each case its own stream, so adding a case leaves the others' draws alone
        npvs.append(
            simulate(model, settings.trials, seed + i, values=values).npv * cases[i].fx_rate
        )
        if progress:
            progress(1)
    return simulate_portfolio(
        npvs, [c.product_line for c in cases], settings.correlation, seed, settings.target
    )
