"""Monte Carlo simulation of a business case, vectorised across trials.

Each uncertain driver gets a distribution over its *relative change* x (the
driver becomes ``base * (1 + x)``, the same meaning as a scenario adjustment),
so one definition works for prices, shares, cost lines and forecast series
alike. Samples may be rank-correlated (Iman-Conover). The model is evaluated
for every trial in one numpy pass (:func:`udfs.model.evaluate_trials`); nothing
loops per trial. Seeded: the same seed gives the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from .errors import InputError
from .model import Model, adjustment_names, evaluate_trials
from .spec import SCENARIO_DRIVERS, Distribution

#: The parameters each distribution type reads.
PARAMETERS = {
    "triangular": ("low", "mode", "high"),
    "pert": ("low", "mode", "high"),
    "uniform": ("low", "high"),
    "normal": ("mean", "sd"),
    "lognormal": ("median", "sigma"),
    "discrete": ("values", "probabilities"),
    "fixed": ("value",),
}
DEFAULT_TRIALS = 10_000
DEFAULT_SEED = 20261126


def sample(dist: Distribution, trials: int, rng: np.random.Generator) -> np.ndarray:
    """``trials`` draws of a driver's relative change x."""
    k = dist.type
    if k == "fixed":
        return np.full(trials, dist.value)
    if k == "uniform":
        return rng.uniform(dist.low, dist.high, trials)
    if k == "triangular":
        if dist.low == dist.high:
            return np.full(trials, dist.low)
        return rng.triangular(dist.low, dist.mode, dist.high, trials)
    if k == "pert":
        if dist.low == dist.high:
            return np.full(trials, dist.low)
        span = dist.high - dist.low
        a = 1 + 4 * (dist.mode - dist.low) / span
        b = 1 + 4 * (dist.high - dist.mode) / span
        return dist.low + span * rng.beta(a, b, trials)
    if k == "normal":
        return rng.normal(dist.mean, dist.sd, trials)
    if k == "lognormal":  # the multiplier (1 + x) is lognormal with this median
        return dist.median * np.exp(dist.sigma * rng.standard_normal(trials)) - 1.0
    if k == "discrete":
        return rng.choice(np.asarray(dist.values), size=trials, p=np.asarray(dist.probabilities))
    raise InputError(f"distribution: unknown type {k!r}")


def analytic_mean(dist: Distribution) -> float:
    """The mean of x, where it has a closed form (for checking convergence)."""
    k = dist.type
    if k == "fixed":
        return dist.value
    if k == "uniform":
        return (dist.low + dist.high) / 2
    if k == "triangular":
        return (dist.low + dist.mode + dist.high) / 3
    if k == "pert":
        return (dist.low + 4 * dist.mode + dist.high) / 6
    if k == "normal":
        return dist.mean
    if k == "lognormal":
        return dist.median * np.exp(dist.sigma**2 / 2) - 1.0
    return float(np.dot(dist.values, dist.probabilities))


def rank_correlate(
    samples: np.ndarray, correlation: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Reorder each column so the rank correlation approaches ``correlation``.

    Iman & Conover (1982), "A distribution-free approach to inducing rank
    correlation among input variables": the marginals are untouched, only the
    pairing of draws changes.
    """
    trials, k = samples.shape
    if k < 2:
        return samples
    try:
        np.linalg.cholesky(correlation)
    except np.linalg.LinAlgError:
        raise InputError(
            "correlations: the matrix is not positive definite; lower some correlations"
        ) from None
    # Normal scores with Pearson correlation 2 sin(pi rho / 6) have rank correlation rho.
    target = np.linalg.cholesky(2 * np.sin(np.pi * np.asarray(correlation) / 6))
    scores = special.ndtri(np.arange(1, trials + 1) / (trials + 1))
    mixed = np.column_stack([rng.permutation(scores) for _ in range(k)])
    current = np.linalg.cholesky(np.corrcoef(mixed, rowvar=False))
    aimed = mixed @ np.linalg.inv(current).T @ target.T
    out = np.empty_like(samples)
    for j in range(k):
        ranks = np.argsort(np.argsort(aimed[:, j]))
        out[:, j] = np.sort(samples[:, j])[ranks]
    return out


@dataclass
class Simulation:
    """Results of a Monte Carlo run, with what reproduces it."""

    trials: int
    seed: int
    drivers: dict[str, Distribution]
    npv: np.ndarray
    outputs: dict[str, np.ndarray]

    def summary(self, name: str = "NPV") -> dict[str, float]:
        """Mean, P10/P50/P90, standard deviation and the chance of a loss."""
        v = self.outputs[name]
        v = v[np.isfinite(v)]
        if v.size == 0:
            return {
                "mean": float("nan"),
                "p10": float("nan"),
                "p50": float("nan"),
                "p90": float("nan"),
                "std": float("nan"),
                "prob_negative": float("nan"),
                "valid_trials": 0,
            }
        p10, p50, p90 = np.percentile(v, [10, 50, 90])
        return {
            "mean": float(v.mean()),
            "p10": float(p10),
            "p50": float(p50),
            "p90": float(p90),
            "std": float(v.std()),
            "prob_negative": float((v < 0).mean()),
            "valid_trials": int(v.size),
        }

    def histogram(self, name: str = "NPV", bins: int = 30) -> tuple[np.ndarray, np.ndarray]:
        v = self.outputs[name]
        return np.histogram(v[np.isfinite(v)], bins=bins)

    def s_curve(self, name: str = "NPV", points: int = 101) -> tuple[np.ndarray, np.ndarray]:
        """Value at each cumulative probability 0%, 1%, ..., 100%."""
        v = self.outputs[name]
        probability = np.linspace(0, 1, points)
        return probability, np.percentile(v[np.isfinite(v)], probability * 100)


def default_distributions(model: Model) -> dict[str, Distribution]:
    """Triangular(low, 0, high) from each driver's Low/High scenario adjustments."""
    out = {}
    for key in SCENARIO_DRIVERS:
        low_name, high_name = adjustment_names(key)
        lo, hi = model.input(low_name).value, model.input(high_name).value
        if lo or hi:
            out[key] = Distribution(
                type="triangular", low=min(lo, hi, 0.0), mode=0.0, high=max(lo, hi, 0.0)
            )
    return out


def simulate(
    model: Model,
    trials: int = DEFAULT_TRIALS,
    seed: int = DEFAULT_SEED,
    distributions: dict[str, Distribution] | None = None,
    correlations: dict[tuple[str, str], float] | None = None,
    values: dict | None = None,
    progress=None,
    chunk: int = 25_000,
) -> Simulation:
    """Monte Carlo of the case: every output for ``trials`` draws of the drivers.

    ``distributions`` default to the spec's (``risk.distributions``), else to
    triangulars from the Low/High scenarios. ``values`` overrides inputs (a
    workbook's). Drivers without a distribution stay at their Base value.
    ``progress(n)`` is called as each chunk of ``n`` trials finishes.
    """
    if not 1 <= trials <= 5_000_000:
        raise InputError(f"trials: must be from 1 to 5,000,000; got {trials}")
    spec_risk = model.spec.risk
    dists = (
        distributions
        if distributions is not None
        else (dict(spec_risk.distributions) or default_distributions(model))
    )
    for key in dists:
        if key not in SCENARIO_DRIVERS:
            raise InputError(
                f"distributions: {key!r} is not a driver; choose from {', '.join(SCENARIO_DRIVERS)}"
            )
    if correlations is None:  # the spec's, unless the caller chose the distributions
        correlations = (
            {}
            if distributions is not None
            else {(c.drivers[0], c.drivers[1]): c.rank for c in spec_risk.correlations}
        )
    rng = np.random.default_rng(seed)
    keys = list(dists)
    draws = (
        np.column_stack([sample(dists[k], trials, rng) for k in keys])
        if keys
        else np.zeros((trials, 0))
    )
    if correlations and keys:
        matrix = np.eye(len(keys))
        for (a, b), rho in correlations.items():
            if a not in keys or b not in keys:
                raise InputError(f"correlations: {a} and {b} both need a distribution")
            i, j = keys.index(a), keys.index(b)
            matrix[i, j] = matrix[j, i] = rho
        draws = rank_correlate(draws, matrix, rng)
    if np.any(draws <= -1.0):
        bad = keys[int(np.argwhere(draws <= -1.0)[0][1])]
        raise InputError(
            f"distributions.{bad}: draws must stay above -100% (a driver cannot "
            f"fall below zero times its base); narrow the distribution"
        )
    inputs = dict(values or {})
    for key in SCENARIO_DRIVERS:  # run in the Low slot with only the sampled changes
        low_name, high_name = adjustment_names(key)
        inputs[low_name] = 0.0
        inputs[high_name] = 0.0
    public = [o.name for o in model.outputs if o.public]
    outputs = {name: np.empty(trials) for name in public}
    for start in range(0, trials, chunk):  # chunks only bound memory and report progress
        stop = min(start + chunk, trials)
        for j, key in enumerate(keys):
            inputs[adjustment_names(key)[0]] = draws[start:stop, j]
        result = evaluate_trials(model, inputs, "Low")
        for name in public:
            outputs[name][start:stop] = result.outputs[name]
        if progress:
            progress(stop - start)
    return Simulation(trials, seed, dists, outputs["NPV"], outputs)


# --- a one-line product model, for the Excel functions ------------------------

UNIT_DRIVERS = ("rate", "units", "price", "unit_cost", "fixed_cost", "investment")


def unit_npv(rate, years, units, price, unit_cost, fixed_cost, investment):
    """NPV of a simple product: ``investment`` now, then each year for ``years``
    years ``units * (price - unit_cost) - fixed_cost``, discounted at ``rate``.

    Broadcasts over arrays (one value per trial).

    Examples
    --------
    >>> round(float(unit_npv(0.1, 3, 1000, 50, 30, 5000, 30000)), 2)   # 15000/yr, 3 years
    7302.78
    """
    r = np.asarray(rate, dtype=float)
    n = np.asarray(years, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        # expm1/log1p keep the annuity accurate for rates near zero
        annuity = np.where(r == 0, n, -np.expm1(-n * np.log1p(r)) / r)
    cash = np.asarray(units) * (np.asarray(price) - np.asarray(unit_cost)) - np.asarray(fixed_cost)
    return cash * annuity - np.asarray(investment)


def unit_breakeven(driver: str, rate, years, units, price, unit_cost, fixed_cost, investment):
    """The value of ``driver`` at which :func:`unit_npv` is zero (nan if none).

    Linear drivers are solved exactly; ``rate`` is the IRR of the flows.

    Examples
    --------
    >>> round(unit_breakeven("units", 0.1, 3, 1000, 50, 30, 5000, 30000), 4)
    853.1722
    """
    if driver not in UNIT_DRIVERS:
        raise InputError(f"driver: must be one of {', '.join(UNIT_DRIVERS)}; got {driver!r}")
    from . import finance

    if years < 1 or years != int(years):
        raise InputError(f"years: must be a whole number of years >= 1; got {years:g}")
    if rate <= -1:
        raise InputError(f"rate: must be greater than -100%; got {rate:g}")
    if driver == "rate":
        cash = units * (price - unit_cost) - fixed_cost
        return float(finance.irr([-investment, *[cash] * int(years)]))
    annuity = float(unit_npv(rate, years, 0.0, 0.0, 0.0, -1.0, 0.0))  # PV of 1 a year
    needed = investment / annuity + fixed_cost  # yearly contribution that breaks even
    margin = price - unit_cost
    with np.errstate(divide="ignore", invalid="ignore"):
        result = {
            "units": needed / margin if margin != 0 else np.nan,
            "price": unit_cost + needed / units if units != 0 else np.nan,
            "unit_cost": price - needed / units if units != 0 else np.nan,
            "fixed_cost": units * margin - investment / annuity,
            "investment": (units * margin - fixed_cost) * annuity,
        }[driver]
    return float(result)


# --- the whole portfolio ------------------------------------------------------


@dataclass
class PortfolioSimulation:
    """Portfolio NPV by trial: the sum of the cases' simulated NPVs."""

    trials: int
    seed: int
    correlation: float
    total: np.ndarray
    target: float | None

    def summary(self) -> dict[str, float]:
        p10, p50, p90 = np.percentile(self.total, [10, 50, 90])
        out = {
            "mean": float(self.total.mean()),
            "p10": float(p10),
            "p50": float(p50),
            "p90": float(p90),
            "prob_negative": float((self.total < 0).mean()),
        }
        if self.target is not None:
            out["prob_below_target"] = float((self.total < self.target).mean())
        return out


def simulate_portfolio(
    case_npvs: list[np.ndarray],
    product_lines: list[str],
    correlation: float = 0.0,
    seed: int = DEFAULT_SEED,
    target: float | None = None,
) -> PortfolioSimulation:
    """Sum the cases' NPV samples trial by trial, optionally correlated by product line.

    Cases in the same product line get rank correlation ``correlation`` (a
    shared market moves them together); cases in different lines stay
    independent. Each case's own distribution is untouched (Iman-Conover only
    re-pairs the draws).
    """
    if not case_npvs:
        raise InputError("cases: nothing to simulate")
    if not -0.99 <= correlation <= 0.99:
        raise InputError(f"correlation: must be from -0.99 to 0.99; got {correlation}")
    samples = np.column_stack(case_npvs)
    if correlation:
        lines = np.asarray(product_lines)
        matrix = np.where(lines[:, None] == lines[None, :], correlation, 0.0)
        np.fill_diagonal(matrix, 1.0)
        samples = rank_correlate(samples, matrix, np.random.default_rng(seed))
    total = np.nansum(samples, axis=1)
    return PortfolioSimulation(samples.shape[0], seed, correlation, total, target)
