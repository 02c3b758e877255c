"""Portfolio engine: roll cases up, rank them, and choose what to fund.

Pure numpy/scipy/pandas. Cases are aligned on calendar years; a portfolio
has one currency, and cases in another are converted (:func:`to_currency`)
at rates the user gives, never added as they are. Selection under capital
limits is solved exactly as a 0/1 integer programme with scipy's MILP solver
(HiGHS).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from scipy.optimize import Bounds, LinearConstraint, milp

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


@dataclass(frozen=True)
class PortfolioMetrics:
    npv: float
    enpv: float
    capital: float
    irr: float
    payback: float
    cases: int


def portfolio_metrics(aligned: Aligned) -> PortfolioMetrics:
    """Headline totals: NPV and eNPV are sums of the cases' own (each at its own
    discount rate); IRR and payback are those of the summed yearly FCF."""
    total_fcf = aligned.flows["fcf"].sum(axis=0)
    return PortfolioMetrics(
        npv=float(sum(c.npv for c in aligned.cases)),
        enpv=float(sum(c.enpv for c in aligned.cases)),
        capital=float(aligned.flows["capital"].sum()),
        irr=float(finance.irr(total_fcf)),
        payback=float(finance.payback(total_fcf)),
        cases=len(aligned.cases),
    )


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
