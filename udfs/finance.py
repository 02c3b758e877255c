"""The finance engine: cash-flow metrics with Excel's semantics, vectorised.

One API shape throughout (as in pyxirr): arguments are named ``rate``,
``values``, ``dates``, ``guess``, ``finance_rate``, ``reinvest_rate``; ``values``
is a 1-D sequence (one project, scalar result) or a 2-D array (projects x
periods, one result per project); ``nan`` means "no such number" (no IRR),
``inf`` means "never" (never pays back); unusable input raises
:class:`udfs.errors.InputError`, a ``ValueError`` whose message names the
argument.

Periodic functions put the first value at t = 0, undiscounted: the business-case
convention. :func:`excel_npv` is Excel's ``NPV``, which discounts the first
value by one period.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from . import _arrays, _roots
from .errors import DomainError, InputError

__all__ = [
    "MarketSize",
    "cac_payback",
    "cagr",
    "discounted_payback",
    "ecv",
    "enpv",
    "excel_npv",
    "irr",
    "irr_all",
    "ltv",
    "market_size",
    "mirr",
    "npv",
    "payback",
    "profitability_index",
    "roi",
    "som",
    "xirr",
    "xnpv",
]

DEFAULT_GUESS = 0.1  # Excel's default for IRR and XIRR
DAYS_PER_YEAR = 365.0  # Excel's XNPV/XIRR year, leap years included


def _discount_factors(rate: np.ndarray, periods: int) -> np.ndarray:
    return (1.0 + rate) ** -np.arange(periods)


def npv(rate, values):
    """Net present value with the first value at t = 0, undiscounted.

    Parameters
    ----------
    rate : float or array_like of shape (projects,)
        Discount rate per period, as a fraction (0.08 for 8%); > -1.
    values : array_like, shape (periods,) or (projects, periods)
        Cash flows, one per period; investments negative.

    Returns
    -------
    float or ndarray of shape (projects,)

    Warnings
    --------
    Excel's ``NPV`` discounts the first value one period; this function does
    not. ``npv(r, v) == excel_npv(r, v) * (1 + r)``. Use :func:`excel_npv` to
    reproduce a spreadsheet that calls ``NPV`` directly.

    Notes
    -----
    .. math:: \\mathrm{NPV} = \\sum_{t=0}^{n-1} \\frac{v_t}{(1+r)^t}

    References
    ----------
    Brealey, Myers & Allen, *Principles of Corporate Finance*, ch. 2.
    numpy-financial ``npv``, https://numpy.org/numpy-financial/latest/npv.html

    Examples
    --------
    >>> round(npv(0.08, [-40_000, 5_000, 8_000, 12_000, 30_000]), 2)
    3065.22
    >>> npv(0.1, [[-100, 121], [-100, 132]]).round(6)
    array([10., 20.])
    """
    v, one = _arrays.flows(values)
    r = _arrays.rate(rate, "rate", v.shape[0])
    if np.all(r == r[0, 0]):
        result = v @ _discount_factors(r[0, 0], v.shape[1])
    else:
        result = (v * (1.0 + r) ** -np.arange(v.shape[1])).sum(axis=1)
    return _arrays.unwrap(result, one)


def excel_npv(rate, values):
    """Excel's ``NPV``: every value discounted, the first by one full period.

    Same arguments and shapes as :func:`npv`.

    References
    ----------
    Microsoft, "NPV function",
    https://support.microsoft.com/en-us/office/npv-function-8672cb67-2576-4d07-b67b-ac28acf2a568

    Examples
    --------
    Microsoft's worked example: rate 10%, -10,000 then 3,000, 4,200, 6,800.

    >>> round(excel_npv(0.10, [-10_000, 3_000, 4_200, 6_800]), 2)
    1188.44
    """
    v, one = _arrays.flows(values)
    r = _arrays.rate(rate, "rate", v.shape[0])
    result = (v * (1.0 + r) ** -np.arange(1, v.shape[1] + 1)).sum(axis=1)
    return _arrays.unwrap(result, one)


def _year_fractions(values: np.ndarray, dates) -> np.ndarray:
    """(date - first date) / 365 per flow, as Excel's XNPV/XIRR count it."""
    days = _arrays.excel_days(dates)
    if days.ndim not in (1, 2):
        raise InputError(f"dates: must be 1-D or 2-D; got {days.ndim}-D")
    days2 = days[None, :] if days.ndim == 1 else days
    if days2.shape[1] != values.shape[1] or days2.shape[0] not in (1, values.shape[0]):
        raise InputError(
            f"dates: need one date per value ({values.shape[1]}); got shape {days.shape}"
        )
    offset = days2 - days2[:, :1]
    if np.any(offset < 0):
        row, col = np.argwhere(offset < 0)[0]
        raise DomainError(
            f"dates: every date must be on or after the first date (Excel gives "
            f"#NUM!); date {col + 1} (serial {days2[row, col]:.0f}) precedes "
            f"the first (serial {days2[row, 0]:.0f})"
        )
    return np.broadcast_to(offset / DAYS_PER_YEAR, values.shape)


def xnpv(rate, values, dates):
    """Net present value of flows on arbitrary dates, as Excel's ``XNPV``.

    Parameters
    ----------
    rate : float or array_like of shape (projects,)
        Annual discount rate; > -1.
    values : array_like, shape (n,) or (projects, n)
    dates : array_like of dates, same length as ``values`` (or shape)
        ``datetime.date``, ``numpy.datetime64`` or Excel serial numbers. Times
        count whole days from the first date over a 365-day year; no date may
        precede the first.

    Notes
    -----
    .. math:: \\mathrm{XNPV} = \\sum_i \\frac{v_i}{(1+r)^{(d_i - d_0)/365}}

    References
    ----------
    Microsoft, "XNPV function",
    https://support.microsoft.com/en-us/office/xnpv-function-1b42bbf6-370f-4532-a0eb-d67c16b664b7

    Examples
    --------
    Microsoft's worked example:

    >>> import datetime as dt
    >>> d = [dt.date(2008, 1, 1), dt.date(2008, 3, 1), dt.date(2008, 10, 30),
    ...      dt.date(2009, 2, 15), dt.date(2009, 4, 1)]
    >>> round(xnpv(0.09, [-10_000, 2_750, 4_250, 3_250, 2_750], d), 2)
    2086.65
    """
    v, one = _arrays.flows(values)
    r = _arrays.rate(rate, "rate", v.shape[0])
    t = _year_fractions(v, dates)
    return _arrays.unwrap((v * (1.0 + r) ** -t).sum(axis=1), one)


def _guess(guess, projects: int) -> np.ndarray:
    if guess is None:
        return np.full(projects, DEFAULT_GUESS)
    return _arrays.rate(guess, "guess", projects)[:, 0].copy()


def irr(values, guess=None):
    """Internal rate of return: the rate at which :func:`npv` is zero.

    Robust where Newton's method alone is not: every sign change of the NPV is
    bracketed and polished, so a root is found whenever one exists (and a
    returned rate is always a root, checked to 1e-8 of the flows' size).

    Parameters
    ----------
    values : array_like, shape (periods,) or (projects, periods)
    guess : float or array_like, optional
        Only used to choose between several roots (default 0.1, as Excel).

    Returns
    -------
    float or ndarray
        ``nan`` where no IRR exists (for example all flows of one sign).

    Notes
    -----
    Flows with one sign change have exactly one IRR. With several sign
    changes there may be several; this returns the one Excel's own method
    lands on (Newton's iteration from ``guess``, 20 tries, as Excel documents
    and LibreOffice implements), polished to full precision, and where that
    iteration fails, the root nearest ``guess``. :func:`irr_all` returns them
    all. Roots where the NPV only touches zero are not reported.

    References
    ----------
    Microsoft, "IRR function",
    https://support.microsoft.com/en-us/office/irr-function-64925eaa-9988-495b-b290-3ad0c163c1bc

    Examples
    --------
    >>> round(irr([-70_000, 12_000, 15_000, 18_000, 21_000, 26_000]), 6)
    0.086631
    >>> irr([[-100, 110], [100, 110]])
    array([0.1, nan])
    >>> round(irr([-100, 230, -132], guess=0.25), 6)   # roots at 10% and 20%
    0.2
    """
    v, one = _arrays.flows(values)
    g = _guess(guess, v.shape[0])
    result = _roots.nearest_root(v, np.arange(v.shape[1], dtype=float)[None, :], g)
    return _arrays.unwrap(result, one)


def irr_all(values):
    """Every IRR in (-1, inf), ascending.

    Returns an array of roots for one project, a list of arrays for a batch;
    an empty array where there is none.

    Examples
    --------
    >>> irr_all([-100, 230, -132]).round(6)
    array([0.1, 0.2])
    >>> irr_all([100, 100])
    array([], dtype=float64)
    """
    v, one = _arrays.flows(values)
    found = _roots.all_roots(v, np.arange(v.shape[1], dtype=float)[None, :])
    return found[0] if one else found


def xirr(values, dates, guess=None):
    """Internal rate of return of flows on arbitrary dates, as Excel's ``XIRR``.

    The annual rate at which :func:`xnpv` is zero (365-day year, whole days
    from the first date). Same root finding and multiple-root rule as
    :func:`irr` (Excel's XIRR iteration: 100 tries to 1e-8); ``nan`` where
    none exists.

    References
    ----------
    Microsoft, "XIRR function",
    https://support.microsoft.com/en-us/office/xirr-function-de1242ec-6477-445b-b11b-a303ad9adc9d

    Examples
    --------
    Microsoft's worked example:

    >>> import datetime as dt
    >>> d = [dt.date(2008, 1, 1), dt.date(2008, 3, 1), dt.date(2008, 10, 30),
    ...      dt.date(2009, 2, 15), dt.date(2009, 4, 1)]
    >>> round(xirr([-10_000, 2_750, 4_250, 3_250, 2_750], d), 6)
    0.373363
    """
    v, one = _arrays.flows(values)
    t = _year_fractions(v, dates)
    order = np.argsort(t, axis=1, kind="stable")
    v_sorted = np.take_along_axis(v, order, axis=1)
    t_sorted = np.take_along_axis(np.ascontiguousarray(t), order, axis=1)
    result = _roots.nearest_root(
        v_sorted, t_sorted, _guess(guess, v.shape[0]), iterations=100, tolerance=1e-8
    )
    return _arrays.unwrap(result, one)


def mirr(values, finance_rate, reinvest_rate):
    """Modified IRR, as Excel's ``MIRR``.

    Outflows are discounted to t = 0 at ``finance_rate``, inflows compounded to
    the last period at ``reinvest_rate``; ``nan`` without at least one inflow
    and one outflow (Excel: #DIV/0!) or with a single value.

    Notes
    -----
    .. math:: \\mathrm{MIRR} = \\left(\\frac{FV(\\text{inflows}, r_r)}
              {-PV(\\text{outflows}, r_f)}\\right)^{1/(n-1)} - 1

    References
    ----------
    Microsoft, "MIRR function",
    https://support.microsoft.com/en-us/office/mirr-function-b020f038-7492-4fb4-93c1-35c345b53524

    Examples
    --------
    Microsoft's worked example (loan at 10%, reinvestment at 12%):

    >>> round(mirr([-120_000, 39_000, 30_000, 21_000, 37_000, 46_000], 0.10, 0.12), 6)
    0.126094
    """
    v, one = _arrays.flows(values)
    f = _arrays.rate(finance_rate, "finance_rate", v.shape[0])
    r = _arrays.rate(reinvest_rate, "reinvest_rate", v.shape[0])
    n = v.shape[1]
    t = np.arange(n)
    pv_out = (np.where(v < 0, v, 0.0) * (1.0 + f) ** -t).sum(axis=1)
    fv_in = (np.where(v > 0, v, 0.0) * (1.0 + r) ** (n - 1 - t)).sum(axis=1)
    if n == 1:
        return _arrays.unwrap(np.full(v.shape[0], np.nan), one)
    with np.errstate(all="ignore"):
        result = (fv_in / -pv_out) ** (1.0 / (n - 1)) - 1.0
    result = np.where((pv_out < 0) & (fv_in > 0), result, np.nan)
    return _arrays.unwrap(result, one)


def _payback_of(v: np.ndarray) -> np.ndarray:
    cumulative = np.cumsum(v, axis=1)
    below = cumulative < 0
    owing = np.maximum.accumulate(below, axis=1)  # below zero now or before
    recovered = (cumulative >= 0) & owing
    k = np.argmax(recovered, axis=1)  # the first period that recovers
    rows = np.arange(v.shape[0])
    before = cumulative[rows, np.maximum(k - 1, 0)]
    with np.errstate(all="ignore"):
        result = k - 1 - before / v[rows, k]
    result = np.where(recovered.any(axis=1), result, np.inf)
    return np.where(below.any(axis=1), result, 0.0)


def payback(values):
    """Payback period: when the cumulative cash flow has recovered every earlier outflow.

    The textbook rule, in periods from t = 0 (the first value): the first time
    the cumulative flow, having been below zero, is back at zero or above,
    interpolated linearly inside that period (flows accrue evenly within it).
    Inflows before the first outflow count in the cumulative but are no payback
    of their own: ``[0, -100, 60, 60]`` pays back at 2.667, ``[100, -300, 400]``
    at 1.5. ``0.0`` when the cumulative never falls below zero (nothing to
    recover); ``inf`` when it never recovers.

    A later dip below zero (a second investment) does not undo the payback:
    the first recovery counts. The peak funding and the cumulative flow show
    such a dip.

    Examples
    --------
    >>> round(payback([-100, 60, 60]), 6)          # 1 + 40/60
    1.666667
    >>> round(payback([0, -100, 60, 60]), 6)       # 2 + 40/60
    2.666667
    >>> payback([100, -300, 400])                  # 1 + 200/400
    1.5
    >>> payback([-100, 20, 20])
    inf
    """
    v, one = _arrays.flows(values)
    return _arrays.unwrap(_payback_of(v), one)


def discounted_payback(rate, values):
    """Payback of the discounted flows ``values[t] / (1 + rate)**t`` (see :func:`payback`).

    Examples
    --------
    >>> round(discounted_payback(0.10, [-100, 60, 60]), 4)   # 1 + (100-54.5455)/49.5868
    1.9167
    """
    v, one = _arrays.flows(values)
    r = _arrays.rate(rate, "rate", v.shape[0])
    return _arrays.unwrap(_payback_of(v * (1.0 + r) ** -np.arange(v.shape[1])), one)


def roi(values):
    """Return on investment, undiscounted: (inflows - outflows) / outflows.

    ``nan`` when there is no outflow.

    Examples
    --------
    >>> roi([-100, 30, 50, 70])
    0.5
    """
    v, one = _arrays.flows(values)
    inflows = np.where(v > 0, v, 0.0).sum(axis=1)
    outflows = -np.where(v < 0, v, 0.0).sum(axis=1)
    with np.errstate(all="ignore"):
        result = np.where(outflows > 0, (inflows - outflows) / outflows, np.nan)
    return _arrays.unwrap(result, one)


def profitability_index(rate, values):
    """Profitability index: PV of inflows / PV of outflows (t = 0 undiscounted).

    For one up-front investment this is the textbook PV(future flows) / I0,
    i.e. ``1 + npv / I0``; investment spread over several periods counts at
    its present value. ``nan`` when there is no outflow.

    Examples
    --------
    >>> round(profitability_index(0.10, [-100, 60, 60]), 6)   # 104.1322 / 100
    1.041322
    """
    v, one = _arrays.flows(values)
    r = _arrays.rate(rate, "rate", v.shape[0])
    pv = v * (1.0 + r) ** -np.arange(v.shape[1])
    inflows = np.where(pv > 0, pv, 0.0).sum(axis=1)
    outflows = -np.where(pv < 0, pv, 0.0).sum(axis=1)
    with np.errstate(all="ignore"):
        result = np.where(outflows > 0, inflows / outflows, np.nan)
    return _arrays.unwrap(result, one)


def enpv(rate, values, stages, probabilities):
    """Risk-adjusted (expected) NPV of a staged project.

    Each period's flow is weighted by the probability of reaching the stage it
    belongs to, then discounted as in :func:`npv`.

    Parameters
    ----------
    rate : float or array_like of shape (projects,)
    values : array_like, shape (periods,) or (projects, periods)
    stages : array_like of int, shape (periods,) or (projects, periods)
        The stage each period's flow belongs to: 0 for the current stage
        (certain), ``k`` for the stage entered after passing ``k`` gates.
    probabilities : array_like, shape (gates,) or (projects, gates)
        Probability of passing each gate, in [0, 1]. Stage ``k`` is reached
        with probability ``prod(probabilities[:k])``.

    References
    ----------
    Stewart, Allison & Johnson, "Putting a price on biotechnology",
    *Nature Biotechnology* 19 (2001) 813-817 (rNPV / eNPV).

    Examples
    --------
    Development (stage 0) costs 100; launch (stage 1, reached with 60%) brings 150:

    >>> round(enpv(0.0, [-100, 150], [0, 1], [0.6]), 6)
    -10.0
    """
    v, one = _arrays.flows(values)
    p = _arrays.numbers(probabilities, "probabilities")
    p2 = np.atleast_2d(p)
    if p.ndim > 2 or p2.shape[0] not in (1, v.shape[0]):
        raise InputError(
            f"probabilities: must be one row of gate probabilities or one per "
            f"project; got shape {p.shape}"
        )
    if np.any((p2 < 0) | (p2 > 1)):
        raise InputError(
            f"probabilities: must each be between 0 and 1; got {p2[(p2 < 0) | (p2 > 1)][0]}"
        )
    s = _arrays.numbers(stages, "stages")
    s2 = np.atleast_2d(s)
    if s.ndim > 2 or s2.shape[1] != v.shape[1] or s2.shape[0] not in (1, v.shape[0]):
        raise InputError(
            f"stages: need one stage per period ({v.shape[1]}), as one row or one per "
            f"project; got shape {s.shape}"
        )
    s2 = np.broadcast_to(s2, v.shape)
    if np.any((s2 != np.round(s2)) | (s2 < 0) | (s2 > p2.shape[1])):
        raise InputError(
            f"stages: must be whole numbers from 0 to {p2.shape[1]} (the number of gates)"
        )
    reach = np.concatenate([np.ones((p2.shape[0], 1)), np.cumprod(p2, axis=1)], axis=1)
    reach = np.broadcast_to(reach, (v.shape[0], reach.shape[1]))
    weights = np.take_along_axis(reach, s2.astype(np.intp), axis=1)
    result = npv(rate, v * weights)
    return _arrays.unwrap(np.atleast_1d(result), one)


def ecv(npv, p_technical, p_commercial, development_cost, commercialization_cost):
    """Cooper's expected commercial value: ``(npv * Pcs - C) * Pts - D``.

    Broadcasts over arrays (one value per project).

    Parameters
    ----------
    npv : float or array_like
        Present value of the project's future earnings if it launches.
    p_technical, p_commercial : float or array_like
        Probabilities of technical and of commercial success, in [0, 1].
    development_cost : float or array_like
        Remaining development cost D (positive number).
    commercialization_cost : float or array_like
        Launch cost C (positive number).

    References
    ----------
    Cooper, Edgett & Kleinschmidt, *Portfolio Management for New Products*,
    2nd ed. (2001), "Expected Commercial Value".

    Examples
    --------
    >>> round(ecv(30.0, 0.8, 0.5, 5.0, 3.0), 6)   # (30 * 0.5 - 3) * 0.8 - 5
    4.6
    """
    pv = _arrays.numbers(npv, "npv")
    pts = _arrays.numbers(p_technical, "p_technical")
    pcs = _arrays.numbers(p_commercial, "p_commercial")
    for name, p in (("p_technical", pts), ("p_commercial", pcs)):
        if np.any((p < 0) | (p > 1)):
            raise InputError(f"{name}: must be between 0 and 1; got {np.atleast_1d(p).max()}")
    d = _arrays.numbers(development_cost, "development_cost")
    c = _arrays.numbers(commercialization_cost, "commercialization_cost")
    result = (pv * pcs - c) * pts - d
    return float(result) if np.ndim(result) == 0 else result


def cagr(begin_value, end_value, periods):
    """Compound annual growth rate, as Excel's ``RRI(periods, begin, end)``.

    ``nan`` when no real rate exists (begin value zero, or the two of
    opposite sign).

    Examples
    --------
    >>> round(cagr(100, 121, 2), 12)
    0.1
    """
    b = _arrays.numbers(begin_value, "begin_value")
    e = _arrays.numbers(end_value, "end_value")
    n = _arrays.numbers(periods, "periods")
    if np.any(n <= 0):
        raise InputError(f"periods: must be > 0; got {np.atleast_1d(n).min()}")
    with np.errstate(all="ignore"):
        ratio = e / b
        result = np.where((b != 0) & (ratio >= 0), np.power(np.abs(ratio), 1.0 / n) - 1.0, np.nan)
    return float(result) if np.ndim(result) == 0 else result


class MarketSize(NamedTuple):
    """Market by year: total addressable, serviceable addressable, obtainable."""

    tam: np.ndarray
    sam: np.ndarray
    som: np.ndarray


def market_size(
    tam, tam_growth, sam_share, target_share, years_to_target, horizon, start_share=0.0
) -> MarketSize:
    """TAM -> SAM -> SOM by year over ``horizon`` years.

    Year ``y`` (1-based): ``TAM_y = tam * (1 + tam_growth)**(y - 1)``;
    ``SAM_y = TAM_y * sam_share``; the obtainable share ramps linearly from
    ``start_share`` to ``target_share``, reached in year ``years_to_target``
    and held after; ``SOM_y = SAM_y * share_y``. Scalars give rows of length
    ``horizon``; arrays of shape (projects,) give (projects, horizon).

    Examples
    --------
    >>> m = market_size(1000, 0.10, 0.5, 0.2, 2, 3)
    >>> m.tam.round(6), m.som.round(6)
    (array([1000., 1100., 1210.]), array([ 50., 110., 121.]))
    """
    tam_ = _arrays.numbers(tam, "tam")
    growth = _arrays.numbers(tam_growth, "tam_growth")
    sam_share_ = _arrays.numbers(sam_share, "sam_share")
    target = _arrays.numbers(target_share, "target_share")
    start = _arrays.numbers(start_share, "start_share")
    ramp = _arrays.numbers(years_to_target, "years_to_target")
    if not float(horizon).is_integer() or not 1 <= horizon <= 100:
        raise InputError(f"horizon: must be a whole number of years from 1 to 100; got {horizon}")
    if np.any(growth <= -1):
        raise InputError(f"tam_growth: must be greater than -1; got {np.atleast_1d(growth).min()}")
    for name, share in (
        ("sam_share", sam_share_),
        ("target_share", target),
        ("start_share", start),
    ):
        if np.any((share < 0) | (share > 1)):
            raise InputError(f"{name}: must be between 0 and 1; got {share}")
    if np.any(ramp < 1):
        raise InputError(f"years_to_target: must be at least 1; got {np.atleast_1d(ramp).min()}")
    year = np.arange(1, int(horizon) + 1)
    tam_y = tam_[..., None] * (1.0 + growth[..., None]) ** (year - 1)
    sam_y = tam_y * sam_share_[..., None]
    progress = np.minimum(year / ramp[..., None], 1.0)
    share = start[..., None] + (target[..., None] - start[..., None]) * progress
    som_y = sam_y * share
    shape = np.broadcast_shapes(tam_y.shape, sam_y.shape, som_y.shape)
    return MarketSize(*(np.broadcast_to(a, shape).copy() for a in (tam_y, sam_y, som_y)))


def som(tam, tam_growth, sam_share, target_share, years_to_target, horizon, start_share=0.0):
    """Serviceable obtainable market by year (the ``som`` row of :func:`market_size`).

    Examples
    --------
    >>> som(1000, 0.0, 0.5, 0.2, 4, 5).round(6)
    array([ 25.,  50.,  75., 100., 100.])
    """
    return market_size(
        tam, tam_growth, sam_share, target_share, years_to_target, horizon, start_share
    ).som


def ltv(arpu, gross_margin, churn, rate=0.0):
    """Customer lifetime value: margin per period over (discount rate + churn).

    The customer pays ``arpu`` at the end of each period while active, keeps
    with probability ``1 - churn`` per period, and each payment earns
    ``gross_margin``:

    .. math:: LTV = \\sum_{t\\ge1} \\frac{m (1-c)^{t-1}}{(1+r)^t} = \\frac{m}{r + c}

    All rates per period (monthly churn needs a monthly rate).

    Examples
    --------
    >>> ltv(100, 0.8, 0.05)             # 80 / 0.05
    1600.0
    >>> round(ltv(100, 0.8, 0.05, 0.01), 6)
    1333.333333
    """
    a = _arrays.numbers(arpu, "arpu")
    m = _arrays.numbers(gross_margin, "gross_margin")
    c = _arrays.numbers(churn, "churn")
    r = _arrays.numbers(rate, "rate")
    if np.any((c <= 0) | (c > 1)):
        raise InputError(f"churn: must be in (0, 1] per period; got {np.atleast_1d(c).min()}")
    if np.any(r <= -1) or np.any(r + c <= 0):
        raise InputError(
            f"rate: must be greater than -1 and rate + churn must be positive; got rate {r}"
        )
    result = a * m / (r + c)
    return float(result) if np.ndim(result) == 0 else result


def cac_payback(cac, arpu, gross_margin):
    """Periods of gross margin needed to recover the cost of acquiring a customer.

    ``cac / (arpu * gross_margin)``; ``inf`` when the margin is not positive.

    Examples
    --------
    >>> cac_payback(1200, 100, 0.8)
    15.0
    """
    k = _arrays.numbers(cac, "cac")
    margin = _arrays.numbers(arpu, "arpu") * _arrays.numbers(gross_margin, "gross_margin")
    with np.errstate(all="ignore"):
        result = np.where(margin > 0, k / margin, np.inf)
    return float(result) if np.ndim(result) == 0 else result
