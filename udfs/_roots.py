"""Rate solver behind IRR and XIRR: every real root of a cash-flow NPV, vectorised.

The NPV of flows ``v_i`` at times ``t_i`` (periods or years) is written in
``u = ln(1 + r)``, which maps the whole domain ``r > -1`` onto the real line:

    f(u) = sum_i v_i * exp(-u * t_i)

As ``u -> +inf`` the earliest flow dominates ``f``; as ``u -> -inf`` the
latest does. Rows are split by an upper bound on their number of roots
(:func:`root_bound`, Laguerre's rule of signs):

* at most one root (nearly every business case): ``f`` is sampled on a coarse
  grid (one matrix product when all rows share their times, as annual flows
  do), the sign change gives a bracket, and a safeguarded Newton iteration
  polishes the root to machine precision; rows with their own times (XIRR)
  start Newton from the guess with the bracket kept from the signs at the
  two ends;
* possibly several: ``f`` is sampled on a fine grid (rates from -99.9% to
  about 109,000%, steps of 0.4% in ``1 + r`` around zero) plus the two ends,
  and every sign change is bracketed and polished the same way.

Among several roots, :func:`nearest_root` returns the one Excel's own Newton
iteration from the guess reaches (so results match Excel and LibreOffice),
else the one nearest the guess. Every returned rate is checked to be a root
(|NPV| <= 1e-8 of the sum of the absolute discounted flows). Roots where the
NPV only touches zero, and pairs of roots closer than one grid step, are not
reported: neither occurs in realistic flows, and Excel's Newton iteration
does not find them reliably either.
"""

from __future__ import annotations

import functools

import numpy as np

_COARSE = np.concatenate(
    [np.linspace(-7.0, -1.0, 7), np.linspace(-0.8, 0.8, 17)[1:-1], np.linspace(1.0, 7.0, 7)]
)
# Ascending, each point once: the shared ends -1 and 1 taken from the middle part.
# (Not np.unique: in numpy 2 it imports numpy.ma, 10 ms of every command's start.)
_FINE = np.concatenate(
    [np.linspace(-7.0, -1.0, 61)[:-1], np.linspace(-1.0, 1.0, 501), np.linspace(1.0, 7.0, 61)[1:]]
)
_MAX_EXPONENT = 600.0  # exp() of more overflows soon after; beyond it, evaluate scaled
_MAX_ITER = 100
_MAX_DOUBLINGS = 12  # u up to about 4,000: rates far beyond float range
_U_TOL = 4e-16  # bracket width at which bisection stops
_STEP_TOL = 1e-10  # Newton step after which the iterate is exact to rounding
_ROOT_TOL = 1e-8


def sign_changes(values: np.ndarray) -> np.ndarray:
    """Number of sign changes per row in column order, zeros skipped (Descartes' rule)."""
    negative = values < 0
    if np.all(values != 0):
        return np.count_nonzero(negative[:, 1:] != negative[:, :-1], axis=1)
    signs = np.sign(values)
    position = np.where(signs != 0, np.arange(values.shape[1]), 0)
    carried = np.take_along_axis(signs, np.maximum.accumulate(position, axis=1), axis=1)
    return np.count_nonzero(carried[:, 1:] * carried[:, :-1] < 0, axis=1)


def root_bound(values: np.ndarray) -> np.ndarray:
    """Upper bound on the number of roots per row; rows must be in time order.

    Laguerre's extension of Descartes' rule (real exponents allowed): roots with
    r > 0 are at most the sign changes of the running sums of the flows, roots
    with r < 0 at most those of the running sums taken from the end. A zero
    total (a root at r = 0 exactly) counts 2, so such rows are searched.
    """
    forward = np.cumsum(values, axis=1)
    backward = np.cumsum(values[:, ::-1], axis=1)
    zero_total = np.abs(forward[:, -1]) <= 1e-12 * np.abs(values).sum(axis=1)
    bound = sign_changes(forward) + sign_changes(backward) + 2 * zero_total
    return np.minimum(bound, sign_changes(values) + 2 * zero_total)


class _Flows:
    """Flows, times and the facts the solver needs about each row."""

    def __init__(self, values: np.ndarray, times: np.ndarray):
        self.values = values
        self.times = np.broadcast_to(times, values.shape)
        self.shared = times.shape[0] == 1 or bool(np.all(self.times == self.times[:1]))
        self.row_times = self.times[0] if self.shared else None  # one row for all
        self.periodic = self.shared and np.array_equal(self.row_times, np.arange(values.shape[1]))
        self.columns = np.ascontiguousarray(values.T) if self.periodic else None
        nonzero = values != 0
        rows = np.arange(values.shape[0])
        if self.shared and np.all(np.diff(self.row_times) > 0):
            # Annual flows: times strictly increase, so the ends are positions.
            first = np.argmax(nonzero, axis=1)
            last = values.shape[1] - 1 - np.argmax(nonzero[:, ::-1], axis=1)
            self.t_first, self.t_last = self.row_times[first], self.row_times[last]
            at_first, at_last = values[rows, first], values[rows, last]
        else:
            self.t_first = np.where(nonzero, self.times, np.inf).min(axis=1)
            self.t_last = np.where(nonzero, self.times, -np.inf).max(axis=1)
            at_first = np.where(self.times == self.t_first[:, None], values, 0.0).sum(axis=1)
            at_last = np.where(self.times == self.t_last[:, None], values, 0.0).sum(axis=1)
        self.sign_plus_inf = np.sign(at_first)
        self.sign_minus_inf = np.sign(at_last)

    def take(self, rows: np.ndarray) -> _Flows:
        out = object.__new__(_Flows)
        out.values = self.values[rows]
        out.times = self.times[rows]
        out.shared, out.row_times, out.periodic = self.shared, self.row_times, self.periodic
        out.columns = np.ascontiguousarray(self.columns[:, rows]) if self.periodic else None
        for name in ("t_first", "t_last", "sign_plus_inf", "sign_minus_inf"):
            setattr(out, name, getattr(self, name)[rows])
        return out

    def scaled(self, u: np.ndarray, rows: np.ndarray | None = None, size: bool = False):
        """f(u), f'(u) and, if ``size``, sum |terms|, all times one positive factor per row.

        Periodic flows (times 0, 1, 2, ...) use Horner's rule in x = e^-u: no
        exponentials. Otherwise the factor ``exp(u * anchor)`` (anchor: first
        time for u > 0, last for u < 0) keeps every exponent <= 0, so nothing
        overflows at any rate.
        """
        everything = rows is None or rows.size == self.values.shape[0]
        sl = slice(None) if everything else rows
        if self.periodic and np.abs(u).max(initial=0.0) * self.row_times[-1] < _MAX_EXPONENT:
            return self._horner(u, sl, size)
        anchor = np.where(u > 0, self.t_first[sl], self.t_last[sl])
        if self.shared:
            t = self.row_times
            exponent = np.multiply.outer(-u, t)
            exponent += (u * anchor)[:, None]
        else:
            lag = self.times[sl] - anchor[:, None]
            exponent = lag * -u[:, None]
        np.minimum(exponent, 0.0, out=exponent)
        terms = np.exp(exponent, out=exponent)
        terms *= self.values[sl]
        f = terms @ np.ones(terms.shape[1])
        if self.shared:
            fp = anchor * f - terms @ t
        else:
            fp = -np.einsum("ij,ij->i", terms, lag)
        return f, fp, (np.abs(terms).sum(axis=1) if size else None)

    def _horner(self, u, sl, size):
        columns = self.columns[:, sl]  # periods x rows, each period contiguous
        x = np.exp(-u)
        f = columns[-1].copy()
        dfdx = np.zeros_like(f)
        magnitude = np.abs(f) if size else None
        for column in columns[-2::-1]:
            dfdx *= x
            dfdx += f
            f *= x
            f += column
            if size:
                magnitude *= x
                magnitude += np.abs(column)
        return f, -x * dfdx, magnitude

    def at_rate(self, r: np.ndarray, rows: np.ndarray):
        """NPV and its derivative in r itself (Excel's iteration variable).

        For periodic flows r < -1 is allowed, as Excel's iteration allows it.
        """
        if self.periodic:
            x = 1.0 / (1.0 + r)
            columns = self.columns[:, rows]
            p = columns[-1].copy()
            dp = np.zeros_like(p)
            for column in columns[-2::-1]:
                dp = dp * x + p
                p = p * x + column
            return p, -x * x * dp
        times = self.times[rows]
        factor = (1.0 + r)[:, None] ** -times
        terms = self.values[rows] * factor
        return terms.sum(axis=1), -(terms * times).sum(axis=1) / (1.0 + r)

    def on_grid(self, grid: np.ndarray) -> np.ndarray:
        """Signs are what matter: f on every grid point, shape (rows, grid)."""
        reach = np.abs(self.times).max(initial=0.0) * np.abs(grid).max()
        if self.shared and reach < _MAX_EXPONENT:
            # One table of discount factors for every row: a single matrix product.
            return self.values @ np.exp(-np.outer(self.row_times, grid))
        out = np.empty((self.values.shape[0], grid.size))
        for g, u in enumerate(grid):
            out[:, g] = self.scaled(np.full(self.values.shape[0], u))[0]
        return out


def _close_brackets(flows: _Flows, u0, lo, hi, sign_low):
    """Make every bracket finite: step away from the known end, doubling each time.

    Returns the finite (lo, hi); rows still open after ``_MAX_DOUBLINGS`` (a rate
    beyond float range) keep an infinite end and end up nan.
    """
    lo, hi = lo.copy(), hi.copy()
    open_rows = np.flatnonzero(~(np.isfinite(lo) & np.isfinite(hi)))
    if open_rows.size:
        # Where neither end is known, u0 becomes one of them.
        f, _, _ = flows.scaled(u0[open_rows], open_rows)
        left = np.sign(f) == sign_low[open_rows]
        lo[open_rows] = np.where(left, u0[open_rows], lo[open_rows])
        hi[open_rows] = np.where(left, hi[open_rows], u0[open_rows])
    step = 1.0
    for _ in range(_MAX_DOUBLINGS):
        open_rows = open_rows[~(np.isfinite(lo[open_rows]) & np.isfinite(hi[open_rows]))]
        if open_rows.size == 0:
            break
        right = np.isfinite(lo[open_rows])
        probe = np.where(right, lo[open_rows] + step, hi[open_rows] - step)
        f, _, _ = flows.scaled(probe, open_rows)
        left = np.sign(f) == sign_low[open_rows]
        lo[open_rows] = np.where(left, probe, lo[open_rows])
        hi[open_rows] = np.where(left, hi[open_rows], probe)
        step *= 2.0
    return lo, hi


def _newton(flows: _Flows, u0, lo, hi, sign_low):
    """Root of each row inside (lo, hi) by Newton's method safeguarded with bisection.

    ``sign_low`` is the sign f has just left of the root (towards lo); lo/hi may
    be infinite at first. A Newton step is taken when it stays inside the
    bracket and at least halves the previous step (the rule of Numerical
    Recipes' rtsafe), otherwise the bracket is bisected, so every row converges
    in at most about 60 iterations.
    """
    lo, hi = _close_brackets(flows, u0, lo, hi, sign_low)
    closed = np.isfinite(lo) & np.isfinite(hi)
    u = np.where((u0 > lo) & (u0 < hi), u0, 0.5 * (lo + hi))
    u[~closed] = np.nan
    previous = np.where(closed, hi - lo, np.nan)
    active = np.flatnonzero(closed)
    for _ in range(_MAX_ITER):
        if active.size == 0:
            break
        ua = u[active]
        f, fp, _ = flows.scaled(ua, active)
        left = np.sign(f) == sign_low[active]
        lo_a = np.where(left, ua, lo[active])
        hi_a = np.where(left, hi[active], ua)
        step = f / fp
        newton = ua - step
        fast = (newton > lo_a) & (newton < hi_a) & (np.abs(2.0 * step) <= previous[active])
        new = np.where(fast, newton, 0.5 * (lo_a + hi_a))
        # After a Newton step this small the iterate is exact to rounding (quadratic
        # convergence); accept it even if rounding puts it a hair outside the bracket.
        small = np.isfinite(step) & (np.abs(step) <= _STEP_TOL * (1.0 + np.abs(ua)))
        new = np.where(small, newton, new)
        done = (f == 0) | small | (hi_a - lo_a <= _U_TOL * (1.0 + np.abs(ua)))
        previous[active] = np.abs(new - ua)
        u[active] = np.where(f == 0, ua, new)
        lo[active], hi[active] = lo_a, hi_a
        active = active[~done]
    return u


def _checked(flows: _Flows, u: np.ndarray) -> np.ndarray:
    """The rates r = e^u - 1, with nan wherever u is not a root."""
    safe = np.where(np.isfinite(u), u, 0.0)
    f, _, magnitude = flows.scaled(safe, size=True)
    rates = np.expm1(safe)
    ok = np.isfinite(u) & (np.abs(f) <= _ROOT_TOL * magnitude)
    # A root so close to -100% or so large that the rate itself does not fit in
    # a float (r rounds to -1 or overflows) is no usable rate.
    return np.where(ok & np.isfinite(rates) & (rates > -1.0), rates, np.nan)


def _brackets(flows: _Flows, grid: np.ndarray):
    """Every sign change of f along the grid and its two ends.

    Returns (row, lo, hi, f_lo, f_hi, sign_low) per bracket; f values at the
    infinite ends are nan.
    """
    f = flows.on_grid(grid)
    rows_n, points = f.shape
    negative = np.empty((rows_n, points + 2), dtype=bool)
    negative[:, 0] = flows.sign_minus_inf < 0
    np.less(f, 0.0, out=negative[:, 1:-1])
    negative[:, -1] = flows.sign_plus_inf < 0
    rows, k = np.nonzero(negative[:, 1:] != negative[:, :-1])
    edges = np.concatenate([[-np.inf], grid, [np.inf]])
    f_lo = np.where(k > 0, f[rows, np.maximum(k - 1, 0)], np.nan)
    f_hi = np.where(k < points, f[rows, np.minimum(k, points - 1)], np.nan)
    sign_low = np.where(negative[rows, k], -1.0, 1.0)
    return rows, edges[k], edges[k + 1], f_lo, f_hi, sign_low


def _polish(flows: _Flows, rows, lo, hi, f_lo, f_hi, sign_low) -> np.ndarray:
    """Newton inside each bracket, started by linear interpolation."""
    finite = np.isfinite(lo) & np.isfinite(hi)
    with np.errstate(divide="ignore", invalid="ignore"):
        secant = lo - f_lo * (hi - lo) / (f_hi - f_lo)
    inside = finite & np.isfinite(secant) & (secant > lo) & (secant < hi)
    start = np.where(
        inside,
        secant,
        np.where(finite, 0.5 * (lo + hi), np.where(np.isfinite(lo), lo + 1.0, hi - 1.0)),
    )
    part = flows.take(rows)
    return _checked(part, _newton(part, start, lo, hi, sign_low))


def _single(flows: _Flows, guess: np.ndarray) -> np.ndarray:
    """The root of rows known to have at most one."""
    if flows.shared and np.abs(flows.times).max(initial=0.0) * 7.0 < _MAX_EXPONENT:
        rows, *bracket = _brackets(flows, _COARSE)
        rows, first = np.unique(rows, return_index=True)  # rounding may add spurious pairs
        out = np.full(flows.values.shape[0], np.nan)
        out[rows] = _polish(flows, rows, *(b[first] for b in bracket))
        return out
    inf = np.full(guess.shape, np.inf)
    return _checked(flows, _newton(flows, np.log1p(guess), -inf, inf, flows.sign_minus_inf))


def _several(flows: _Flows):
    """All roots of rows that may have several: (owner row, rate), sorted, distinct."""
    rows, *bracket = _brackets(flows, _FINE)
    rates = _polish(flows, rows, *bracket)
    keep = np.isfinite(rates)
    rows, rates = rows[keep], rates[keep]
    order = np.lexsort((rates, rows))
    rows, rates = rows[order], rates[order]
    distinct = np.ones(rows.size, dtype=bool)
    distinct[1:] = (rows[1:] != rows[:-1]) | (rates[1:] != rates[:-1])
    return rows[distinct], rates[distinct]


def _excel_newton(flows: _Flows, guess: np.ndarray, iterations: int, tolerance: float):
    """Where Excel's own method lands: plain Newton in r from the guess.

    Excel documents IRR as iterating from ``guess`` until the rate is accurate
    to 1e-7 (20 tries; XIRR: 1e-8, 100 tries), and LibreOffice does the same;
    nan where that iteration fails or leaves (-1, inf).
    """
    r = guess.astype(float).copy()
    landed = np.full(r.size, np.nan)
    active = np.arange(r.size)
    for _ in range(iterations):
        if active.size == 0:
            break
        f, dfdr = flows.at_rate(r[active], active)
        step = f / dfdr
        r[active] -= step
        converged = np.abs(step) < tolerance
        landed[active[converged]] = r[active[converged]]
        active = active[~converged & np.isfinite(r[active])]
    return np.where(landed > -1.0, landed, np.nan)


def _split(values: np.ndarray, times: np.ndarray):
    flows = _Flows(values, times)
    bound = root_bound(values)
    return flows, np.flatnonzero(bound == 1), np.flatnonzero(bound >= 2)


def _quiet(function):
    """Overflow and 0/0 are expected mid-search (and handled); keep them silent."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        with np.errstate(all="ignore"):
            return function(*args, **kwargs)

    return wrapper


@_quiet
def nearest_root(
    values: np.ndarray,
    times: np.ndarray,
    guess: np.ndarray,
    iterations: int = 20,
    tolerance: float = 1e-7,
) -> np.ndarray:
    """One rate per row (rows in time order): the only root or, among several, the
    one Excel's Newton iteration from ``guess`` reaches (``iterations`` tries, step
    ``tolerance``), else the one nearest ``guess``. nan where there is none.
    """
    flows, single, multi = _split(values, times)
    out = np.full(values.shape[0], np.nan)
    if single.size:
        out[single] = _single(flows.take(single), guess[single])
    if multi.size:
        part = flows.take(multi)
        owner, rates = _several(part)
        target = _excel_newton(part, guess[multi], iterations, tolerance)[owner]
        landed = np.abs(rates - target) <= 1e3 * tolerance * (1.0 + np.abs(rates))
        distance = np.where(landed, -1.0, np.abs(rates - guess[multi][owner]))
        order = np.lexsort((distance, owner))
        with_root, first = np.unique(owner[order], return_index=True)
        out[multi[with_root]] = rates[order][first]
    return out


@_quiet
def all_roots(values: np.ndarray, times: np.ndarray) -> list[np.ndarray]:
    """Every root found, as ascending rates, one array per row (rows in time order)."""
    flows, single, multi = _split(values, times)
    result = [np.empty(0)] * values.shape[0]
    if single.size:
        rates = _single(flows.take(single), np.zeros(single.size))
        for row, r in zip(single, rates, strict=True):
            result[row] = np.array([r]) if np.isfinite(r) else np.empty(0)
    if multi.size:
        owner, rates = _several(flows.take(multi))
        bounds = np.searchsorted(owner, np.arange(multi.size + 1))
        for i, row in enumerate(multi):
            result[row] = rates[bounds[i] : bounds[i + 1]]
    return result
