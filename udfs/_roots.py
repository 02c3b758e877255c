"""Rate solver behind IRR and XIRR: every real root of a cash-flow NPV, vectorised.

The NPV of flows ``v_i`` at times ``t_i`` (periods or years) is written in
``u = ln(1 + r)``, which maps the whole domain ``r > -1`` onto the real line:

    f(u) = sum_i v_i * exp(-u * t_i)

Roots are found in two passes:

* Flows with exactly one sign change have exactly one root (Descartes' rule of
  signs for exponential sums), and so do most flows with more, by the sharper
  bound on running sums (see :func:`root_bound`); for those a safeguarded
  Newton iteration from the guess finds it; the bracket is kept from the signs
  of ``f`` at ``u -> -inf`` (the last non-zero flow dominates) and
  ``u -> +inf`` (the first one dominates).
* Other flows may have several roots. ``f`` is sampled on a
  fixed grid of ``u`` (rates from -99.9% to about 109,000%, 0.1% steps in
  ``ln(1+r)`` near zero) and the two open ends; every sign change is a bracket,
  and each bracket is polished with the same safeguarded Newton iteration.

``f`` is evaluated scaled by ``exp(-max_i(-u t_i))``, which keeps every
exponent <= 0: no overflow for any rate, same roots, same signs.

Roots of even multiplicity (NPV touching zero without crossing) and pairs of
roots closer than one grid step are not reported; with realistic flows neither
occurs, and neither is found reliably by Excel's Newton iteration either.
"""

from __future__ import annotations

import numpy as np

# A grid fine near the rates business cases have, coarser towards the extremes.
_GRID = np.unique(
    np.concatenate(
        [
            np.linspace(-7.0, -1.0, 121),  # r in (-99.9%, -63%)
            np.linspace(-1.0, 1.0, 1001),  # r in (-63%, +172%), steps of 0.2% in ln(1+r)
            np.linspace(1.0, 7.0, 121),  # r up to about 109,000%
        ]
    )
)
_MAX_ITER = 100
_U_TOL = 4e-16


def sign_changes(values: np.ndarray) -> np.ndarray:
    """Number of sign changes per row in column order, zeros skipped (Descartes' rule)."""
    signs = np.sign(values)
    nonzero = signs != 0
    if nonzero.all():
        return np.count_nonzero(signs[:, 1:] != signs[:, :-1], axis=1)
    position = np.where(nonzero, np.arange(values.shape[1]), 0)
    last_nonzero = np.maximum.accumulate(position, axis=1)
    carried = np.take_along_axis(signs, last_nonzero, axis=1)
    return np.count_nonzero(carried[:, 1:] * carried[:, :-1] < 0, axis=1)


def root_bound(values: np.ndarray) -> np.ndarray:
    """Upper bound on the number of roots per row; rows must be in time order.

    Laguerre's extension of Descartes' rule (real exponents allowed): roots with
    r > 0 are at most the sign changes of the running sums of the flows, roots
    with r < 0 at most those of the running sums taken from the end. A zero
    total (a root at r = 0 exactly) is reported as 2 so such rows are searched.
    """
    forward = np.cumsum(values, axis=1)
    backward = np.cumsum(values[:, ::-1], axis=1)
    zero_total = np.abs(forward[:, -1]) <= 1e-12 * np.abs(values).sum(axis=1)
    return sign_changes(forward) + sign_changes(backward) + 2 * zero_total


def _ends(values: np.ndarray, times: np.ndarray):
    """Times of the first and last non-zero flow, and the signs f takes at u=+inf, -inf."""
    nonzero = values != 0
    big = np.where(nonzero, times, np.inf)
    small = np.where(nonzero, times, -np.inf)
    t_first = big.min(axis=1)
    t_last = small.max(axis=1)
    at_first = np.where(times == t_first[:, None], values, 0.0).sum(axis=1)
    at_last = np.where(times == t_last[:, None], values, 0.0).sum(axis=1)
    return t_first, t_last, np.sign(at_first), np.sign(at_last)


def _scaled(u, values, times, t_first, t_last):
    """f(u) and f'(u), both scaled by the same positive factor; u has shape (rows,)."""
    anchor = np.where(u > 0, t_first, t_last)
    exponent = -u[:, None] * (times - anchor[:, None])
    terms = values * np.exp(np.minimum(exponent, 0.0))  # <= 1: zero flows stay zero
    return terms.sum(axis=1), -(terms * (times - anchor[:, None])).sum(axis=1)


def _newton(values, times, u0, lo, hi, sign_low, t_first, t_last):
    """Safeguarded Newton on each row inside (lo, hi); lo/hi may be infinite.

    ``sign_low`` is the sign of f to the left of the root (towards lo).
    """
    u = u0.copy()
    lo = lo.copy()
    hi = hi.copy()
    done = np.zeros(u.shape, dtype=bool)
    for _ in range(_MAX_ITER):
        active = np.flatnonzero(~done)
        if active.size == 0:
            break
        ua = u[active]
        f, fp = _scaled(ua, values[active], times[active], t_first[active], t_last[active])
        exact = f == 0
        left = np.sign(f) == sign_low[active]
        lo_a = np.where(left, ua, lo[active])
        hi_a = np.where(left, hi[active], ua)
        with np.errstate(divide="ignore", invalid="ignore"):
            step = ua - f / fp
        inside = np.isfinite(step) & (step > lo_a) & (step < hi_a)
        both = np.isfinite(lo_a) & np.isfinite(hi_a)
        fallback = np.where(
            both,
            0.5 * (lo_a + hi_a),
            np.where(np.isfinite(lo_a), np.maximum(ua, lo_a) + 1.0, np.minimum(ua, hi_a) - 1.0),
        )
        new = np.where(inside, step, fallback)
        # Converged when the Newton step itself is negligible, even if rounding
        # puts it a hair outside the bracket (bisecting there would stall).
        small = np.isfinite(step) & (np.abs(step - ua) <= _U_TOL * (1.0 + np.abs(ua)))
        new = np.where(small, step, new)
        closed = both & (hi_a - lo_a <= _U_TOL * (1.0 + np.abs(ua)))
        u[active] = np.where(exact, ua, new)
        lo[active] = lo_a
        hi[active] = hi_a
        done[active] = exact | small | closed
    return u


def _is_root(u, values, times, t_first, t_last, tolerance=1e-8):
    """Reject anything that is not a root: |NPV| small next to the flows' magnitude."""
    anchor = np.where(u > 0, t_first, t_last)
    exponent = -u[:, None] * (times - anchor[:, None])
    terms = values * np.exp(np.minimum(exponent, 0.0))
    return np.abs(terms.sum(axis=1)) <= tolerance * np.abs(terms).sum(axis=1)


def all_roots(values: np.ndarray, times: np.ndarray) -> list[np.ndarray]:
    """Every root found, as rates r, sorted ascending, one array per row."""
    rows = values.shape[0]
    times = np.broadcast_to(times, values.shape)
    changes = np.minimum(sign_changes(values), root_bound(values))
    t_first, t_last, sign_hi_end, sign_lo_end = _ends(values, times)
    result: list[np.ndarray] = [np.empty(0)] * rows

    single = np.flatnonzero(changes == 1)
    if single.size:
        rates = _single_roots(
            values[single],
            times[single],
            np.zeros(single.size),
            t_first[single],
            t_last[single],
            sign_lo_end[single],
        )
        for row, r in zip(single, rates, strict=True):
            result[row] = np.array([r]) if np.isfinite(r) else np.empty(0)

    multi = np.flatnonzero(changes >= 2)
    if multi.size:
        owner, rates = _grid_roots(
            values[multi],
            times[multi],
            t_first[multi],
            t_last[multi],
            sign_hi_end[multi],
            sign_lo_end[multi],
        )
        bounds = np.searchsorted(owner, np.arange(multi.size + 1))
        for i, row in enumerate(multi):
            result[row] = rates[bounds[i] : bounds[i + 1]]
    return result


def nearest_root(values: np.ndarray, times: np.ndarray, guess: np.ndarray) -> np.ndarray:
    """One rate per row: the only root, or the root nearest to ``guess``; nan if none."""
    rows = values.shape[0]
    times = np.broadcast_to(times, values.shape)
    out = np.full(rows, np.nan)
    changes = np.minimum(sign_changes(values), root_bound(values))
    t_first, t_last, sign_hi_end, sign_lo_end = _ends(values, times)
    single = np.flatnonzero(changes == 1)
    if single.size:
        out[single] = _single_roots(
            values[single],
            times[single],
            np.log1p(guess[single]),
            t_first[single],
            t_last[single],
            sign_lo_end[single],
        )
    multi = np.flatnonzero(changes >= 2)
    if multi.size:
        owner, rates = _grid_roots(
            values[multi],
            times[multi],
            t_first[multi],
            t_last[multi],
            sign_hi_end[multi],
            sign_lo_end[multi],
        )
        distance = np.abs(rates - guess[multi][owner])
        order = np.lexsort((distance, owner))
        rows_with_root, first = np.unique(owner[order], return_index=True)
        out[multi[rows_with_root]] = rates[order][first]
    return out


def _single_roots(values, times, u0, t_first, t_last, sign_lo_end):
    inf = np.full(u0.shape, np.inf)
    u = _newton(values, times, u0, -inf, inf, sign_lo_end, t_first, t_last)
    ok = np.isfinite(u) & _is_root(u, values, times, t_first, t_last)
    return np.where(ok, np.expm1(u), np.nan)


def _on_grid(values, times, t_first, t_last, grid):
    """f on every grid point, shape (rows, grid); signs are what matter."""
    shared = bool(np.all(times == times[:1]))
    if shared and np.abs(times).max() * np.abs(grid).max() < 600:
        # One table of discount factors for every row: a single matrix product.
        return values @ np.exp(-np.outer(times[0], grid))
    anchor = np.where(grid[None, :] > 0, t_first[:, None], t_last[:, None])
    f = np.zeros((values.shape[0], grid.size))
    for i in range(values.shape[1]):
        exponent = -grid[None, :] * (times[:, i : i + 1] - anchor)
        f += values[:, i : i + 1] * np.exp(np.minimum(exponent, 0.0))
    return f


def _grid_roots(values, times, t_first, t_last, sign_hi_end, sign_lo_end):
    grid = _GRID
    f = _on_grid(values, times, t_first, t_last, grid)
    s = np.sign(f)
    # Extend with the limits: u = -inf on the left, u = +inf on the right.
    s_ext = np.concatenate([sign_lo_end[:, None], s, sign_hi_end[:, None]], axis=1)
    edges = np.concatenate([[-np.inf], grid, [np.inf]])
    row_idx, k = np.nonzero(s_ext[:, :-1] * s_ext[:, 1:] < 0)
    lo = edges[k]
    hi = edges[k + 1]
    start = np.where(
        np.isfinite(lo) & np.isfinite(hi),
        0.5 * (lo + hi),
        np.where(np.isfinite(lo), lo + 1.0, hi - 1.0),
    )
    polished = _newton(
        values[row_idx],
        times[row_idx],
        start,
        lo,
        hi,
        s_ext[row_idx, k],
        t_first[row_idx],
        t_last[row_idx],
    )
    ok = _is_root(polished, values[row_idx], times[row_idx], t_first[row_idx], t_last[row_idx])
    zero_rows, zero_k = np.nonzero(s == 0)
    roots_u = np.concatenate([polished[ok], grid[zero_k]])
    owner = np.concatenate([row_idx[ok], zero_rows])
    order = np.lexsort((roots_u, owner))
    owner, rates = owner[order], np.expm1(roots_u[order])
    distinct = np.ones(owner.size, dtype=bool)
    distinct[1:] = (owner[1:] != owner[:-1]) | (rates[1:] != rates[:-1])
    return owner[distinct], rates[distinct]
