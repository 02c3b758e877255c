"""Monte Carlo simulation of a business case, vectorised across trials.

Each uncertain driver gets a distribution over its *relative change* x (the
driver becomes ``base * (1 + x)``, the same meaning as a scenario adjustment),
so one definition works for prices, shares, cost lines and forecast series
alike. Samples may be rank-correlated (Iman-Conover). The model is evaluated
for every trial in one numpy pass (:func:`udfs.model.evaluate_trials`); nothing
loops per trial. Seeded: the same seed gives the same numbers.

Two inputs people write are taken as meant rather than refused:

* a normal whose tail reaches below -100% (a driver below zero) is cut there,
  as long as the cut holds at most :data:`MAX_NORMAL_CUT` of its mass; a wider
  normal is refused with the lognormal of the same mean and spread to use;
* rank correlations that form a correlation matrix but whose normal-score
  (Pearson) equivalent is not positive definite are moved to the nearest
  matrix that is (Higham 2002), and the largest change is reported.
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
#: The largest share of a normal's mass below -100% that is cut off rather than refused:
#: beyond it the cut moves the mean and spread away from what the user wrote.
MAX_NORMAL_CUT = 0.01
#: Smallest eigenvalue a repaired normal-score correlation keeps, so Cholesky succeeds.
EIGENVALUE_FLOOR = 1e-6


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
    if k == "normal":  # cut at -100%: redraw what falls there (under half, as mean > -1)
        x = rng.normal(dist.mean, dist.sd, trials)
        below = x <= -1.0
        while below.any():
            x[below] = rng.normal(dist.mean, dist.sd, int(below.sum()))
            below = x <= -1.0
        return x
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
    if k == "normal":  # of the normal cut at -100%
        if dist.sd == 0:
            return dist.mean
        alpha = (-1.0 - dist.mean) / dist.sd
        return dist.mean + dist.sd * np.exp(-(alpha**2) / 2) / np.sqrt(2 * np.pi) / special.ndtr(
            -alpha
        )
    if k == "lognormal":
        return dist.median * np.exp(dist.sigma**2 / 2) - 1.0
    return float(np.dot(dist.values, dist.probabilities))


def nearest_correlation(
    matrix, floor: float = 0.0, tol: float = 1e-12, max_iterations: int = 100_000
) -> np.ndarray:
    """The correlation matrix nearest to a symmetric ``matrix`` in the Frobenius norm.

    Parameters
    ----------
    matrix : array_like, shape (k, k)
        Symmetric; typically a unit diagonal with an off-diagonal that does
        not hold together (a negative eigenvalue).
    floor : float, default 0
        Smallest eigenvalue the result may have before its diagonal is put
        back to exactly 1; a small positive floor keeps it positive definite.
    tol, max_iterations
        Stop when an iteration changes no entry by more than ``tol``.

    Returns
    -------
    ndarray, shape (k, k)
        Symmetric, unit diagonal, positive semidefinite (eigenvalues at least
        about ``floor``).

    Notes
    -----
    Alternating projections with Dykstra's correction (Higham 2002): project
    onto the matrices whose eigenvalues are at least ``floor``, then onto those
    with a unit diagonal, until neither moves. Both sets are convex, so the
    iteration converges to the nearest point of their intersection. The last
    step rescales the eigenvalue projection to a unit diagonal, a congruence
    that keeps it positive semidefinite.

    References
    ----------
    N. J. Higham, "Computing the nearest correlation matrix - a problem from
    finance", IMA Journal of Numerical Analysis 22 (2002), 329-343.

    Examples
    --------
    MathWorks' ``nearcorr`` example (Statistics and Machine Learning Toolbox
    documentation, "Compute the Nearest Correlation Matrix"):

    >>> a = [[1, 0, 0, 0, -0.936],
    ...      [0, 1, -0.55, -0.3645, -0.53],
    ...      [0, -0.55, 1, -0.0351, 0.0875],
    ...      [0, -0.3645, -0.0351, 1, 0.4557],
    ...      [-0.936, -0.53, 0.0875, 0.4557, 1]]
    >>> nearest_correlation(a)[0].round(4)
    array([ 1.    ,  0.0372,  0.01  , -0.0219, -0.8478])
    """
    a = np.asarray(matrix, dtype=float)
    y = a.copy()
    correction = np.zeros_like(a)
    for _ in range(max_iterations):
        r = y - correction
        values, vectors = np.linalg.eigh(r)
        x = (vectors * np.maximum(values, floor)) @ vectors.T
        correction = x - r
        previous, y = y, x.copy()
        np.fill_diagonal(y, 1.0)
        if np.max(np.abs(y - previous)) <= tol:
            break
    scale = 1.0 / np.sqrt(np.diag(x))
    out = x * scale[:, None] * scale[None, :]
    np.fill_diagonal(out, 1.0)
    return (out + out.T) / 2


@dataclass(frozen=True)
class CorrelationTarget:
    """What Iman-Conover aims at for a requested rank-correlation matrix.

    ``pearson`` is the normal-score correlation (2 sin(pi rho / 6) of each rank
    correlation rho, repaired if needed); ``rank`` the rank correlations it
    gives, equal to those requested unless ``note`` says how they were moved.
    """

    pearson: np.ndarray
    rank: np.ndarray
    note: str = ""


def correlation_target(rank, names=None) -> CorrelationTarget:
    """Check a rank-correlation matrix and find the normal-score correlation to aim at.

    A matrix that is not a correlation matrix at all (a negative eigenvalue:
    no set of drivers can have all these correlations at once) is refused,
    naming the pairs whose moving toward zero helps most. A valid one whose
    normal-score equivalent is not positive definite (Pearson correlations
    are larger in size than rank ones) is moved to the nearest correlation
    matrix that is, and ``note`` reports the largest change in rank terms.

    Examples
    --------
    >>> ok = correlation_target([[1, 0.5], [0.5, 1]])
    >>> round(float(ok.pearson[0, 1]), 4), ok.note
    (0.5176, '')
    """
    rank = np.asarray(rank, dtype=float)
    k = rank.shape[0]
    names = list(names) if names is not None else [f"column {i + 1}" for i in range(k)]
    bad = ~np.isfinite(rank) | (np.abs(rank) > 1)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise InputError(
            f"correlations: {names[i]} and {names[j]} must be from -1 to 1; got {rank[i, j]}"
        )
    values, vectors = np.linalg.eigh(rank)
    if values[0] < -1e-9:
        raise InputError(
            "correlations: no drivers can have all these rank correlations at once "
            f"(the matrix is not positive definite: smallest eigenvalue {values[0]:.3g}); "
            f"move these toward zero: {_pairs_to_lower(rank, vectors[:, 0], names)}"
        )
    pearson = 2 * np.sin(np.pi * rank / 6)
    np.fill_diagonal(pearson, 1.0)
    try:
        np.linalg.cholesky(pearson)
    except np.linalg.LinAlgError:
        pass
    else:
        return CorrelationTarget(pearson, rank)
    pearson = nearest_correlation(pearson, floor=EIGENVALUE_FLOOR)
    achieved = 6 / np.pi * np.arcsin(pearson / 2)
    np.fill_diagonal(achieved, 1.0)
    change = np.abs(achieved - rank)
    i, j = np.unravel_index(np.argmax(change), change.shape)
    note = (
        "correlations: these rank correlations hold together, but their normal-score "
        "(Pearson) equivalent is not positive definite, so the nearest one that is was "
        f"used (Higham 2002); the largest change is {names[i]} and {names[j]} from "
        f"{rank[i, j]:.3f} to {achieved[i, j]:.3f} ({change[i, j]:.3f})"
    )
    return CorrelationTarget(pearson, achieved, note)


def _pairs_to_lower(rank: np.ndarray, direction: np.ndarray, names) -> str:
    """Pairs, most effective first, whose move toward zero raises the smallest eigenvalue.

    The smallest eigenvalue is v' R v for its eigenvector v; moving R[i, j]
    toward zero raises it when v[i] v[j] R[i, j] < 0, the more so the larger
    that product is in size.
    """
    k = rank.shape[0]
    pull = np.outer(direction, direction) * rank
    strongest = pull[np.triu_indices(k, 1)].min()
    pairs = sorted(
        (pull[i, j], i, j)
        for i in range(k)
        for j in range(i + 1, k)
        if pull[i, j] <= 0.1 * strongest  # leave out pairs that barely matter
    )
    return ", ".join(f"{names[i]} and {names[j]} ({rank[i, j]:g})" for _, i, j in pairs)


def rank_correlate(
    samples: np.ndarray, correlation: np.ndarray, rng: np.random.Generator, names=None
) -> np.ndarray:
    """Reorder each column so the rank correlation approaches ``correlation``.

    Iman & Conover (1982), "A distribution-free approach to inducing rank
    correlation among input variables": the marginals are untouched, only the
    pairing of draws changes. ``correlation`` is checked and, where needed,
    repaired by :func:`correlation_target`; ``names`` label its columns in
    messages.
    """
    if samples.shape[1] < 2:
        return samples
    return _iman_conover(samples, correlation_target(correlation, names).pearson, rng)


def _iman_conover(samples: np.ndarray, pearson: np.ndarray, rng) -> np.ndarray:
    """Pair the draws like normal scores with correlation ``pearson`` (positive definite)."""
    trials, k = samples.shape
    target = np.linalg.cholesky(pearson)
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
    notes: tuple[str, ...] = ()  # what was adjusted to make the inputs usable

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


#: Working memory one chunk of trials may take: every line of the model is an array
#: of trials x periods while a chunk is evaluated (README, "Limits").
CHUNK_BYTES = 1 << 29  # 512 MiB


def trials_per_chunk(model: Model) -> int:
    """Trials evaluated at once: at most 25,000, fewer for a large model."""
    rows = len(model.inputs) + len(model.drivers) + len(model.lines) + len(model.outputs)
    return int(np.clip(CHUNK_BYTES // (8 * model.periods * rows), 100, 25_000))


def simulate(
    model: Model,
    trials: int = DEFAULT_TRIALS,
    seed: int = DEFAULT_SEED,
    distributions: dict[str, Distribution] | None = None,
    correlations: dict[tuple[str, str], float] | None = None,
    values: dict | None = None,
    progress=None,
    chunk: int | None = None,
) -> Simulation:
    """Monte Carlo of the case: every output for ``trials`` draws of the drivers.

    ``distributions`` default to the spec's (``risk.distributions``), else to
    triangulars from the Low/High scenarios. ``values`` overrides inputs (a
    workbook's). Drivers without a distribution stay at their Base value.
    ``progress(n)`` is called as each chunk of ``n`` trials finishes; by default
    a chunk holds as many trials as fit in about :data:`CHUNK_BYTES` of working
    arrays, so memory stays bounded whatever the case's size.
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
    for key, dist in dists.items():
        _check_normal_cut(key, dist)
    rng = np.random.default_rng(seed)
    keys = list(dists)
    notes = []
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
        target = correlation_target(matrix, keys)
        if target.note:
            notes.append(target.note)
        draws = _iman_conover(draws, target.pearson, rng)
    inputs = dict(values or {})
    for key in SCENARIO_DRIVERS:  # run in the Low slot with only the sampled changes
        low_name, high_name = adjustment_names(key)
        inputs[low_name] = 0.0
        inputs[high_name] = 0.0
    public = [o.name for o in model.outputs if o.public]
    outputs = {name: np.empty(trials) for name in public}
    chunk = chunk or trials_per_chunk(model)
    for start in range(0, trials, chunk):  # chunks only bound memory and report progress
        stop = min(start + chunk, trials)
        for j, key in enumerate(keys):
            inputs[adjustment_names(key)[0]] = draws[start:stop, j]
        result = evaluate_trials(model, inputs, "Low")
        for name in public:
            outputs[name][start:stop] = result.outputs[name]
        if progress:
            progress(stop - start)
    return Simulation(trials, seed, dists, outputs["NPV"], outputs, tuple(notes))


def _check_normal_cut(key: str, dist: Distribution) -> None:
    """Refuse a normal that the cut at -100% would change beyond :data:`MAX_NORMAL_CUT`."""
    if dist.type != "normal" or dist.sd == 0:
        return
    cut = float(special.ndtr((-1.0 - dist.mean) / dist.sd))
    if cut <= MAX_NORMAL_CUT:
        return
    # The lognormal multiplier 1 + x with the normal's mean and standard deviation.
    mean, spread = 1.0 + dist.mean, dist.sd
    sigma = np.sqrt(np.log1p((spread / mean) ** 2))
    median = mean / np.sqrt(1 + (spread / mean) ** 2)
    raise InputError(
        f"distributions.{key}: draws must stay above -100% (a driver cannot fall below "
        f"zero times its base), and a normal with mean {dist.mean:g} and sd {dist.sd:g} "
        f"puts {cut:.1%} of them there; a normal is cut at -100% only when that share is "
        f"at most {MAX_NORMAL_CUT:.0%}. For a wide spread use a lognormal, which stays above "
        f'-100%: type = "lognormal", median = {median:.3g}, sigma = {sigma:.3g} has the '
        f"same mean and standard deviation"
    )


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
        line, size = max(
            ((x, int(np.sum(lines == x))) for x in set(product_lines)), key=lambda t: t[1]
        )
        if size > 1 and correlation < -1 / (size - 1):  # equal correlations need rho >= -1/(n-1)
            raise InputError(
                f"correlation: {correlation:g} cannot hold between every pair of the {size} "
                f"cases in product line {line!r}; with {size} cases in a line it must be at "
                f"least {-1 / (size - 1):.3g}"
            )
        matrix = np.where(lines[:, None] == lines[None, :], correlation, 0.0)
        np.fill_diagonal(matrix, 1.0)
        samples = rank_correlate(samples, matrix, np.random.default_rng(seed))
    total = np.nansum(samples, axis=1)
    return PortfolioSimulation(samples.shape[0], seed, correlation, total, target)
