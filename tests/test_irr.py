"""IRR, XIRR and irr_all: which root is returned, when there is none, and that
whatever comes back really is a root.

Multi-root flows are built from their roots: with y = 1 + r, NPV * y**n is a
polynomial in y, so flows are its coefficients (highest power first) and the
roots are known exactly.
"""

from __future__ import annotations

import datetime as dt
import warnings

import numpy as np
import numpy_financial as npf
import pytest

from udfs import finance

EXCEL_EPOCH = dt.date(1899, 12, 30)


def serial(day: dt.date) -> int:
    """Excel 1900-system serial: days since 1899-12-30.

    Microsoft's DATEVALUE documentation: "January 1, 2008 is serial number 39448".
    """
    return (day - EXCEL_EPOCH).days


def residual(rate: float, values, times) -> float:
    """|NPV(rate)| / sum(|v_i| * discount factor_i), computed independently of the engine.

    Discount factors are scaled by their largest one (the ratio is unchanged), so
    no rate or horizon overflows.
    """
    v = np.asarray(values, dtype=float)
    t = np.asarray(times, dtype=float)
    log_df = -t * np.log1p(rate)
    df = np.exp(log_df - log_df.max())
    terms = v * df
    scale = np.abs(terms).sum()
    return abs(terms.sum()) / scale if scale else 0.0


def assert_is_root(rate: float, values, times, tol: float = 1e-8) -> None:
    """NPV(rate) ~ 0 to ``tol`` of the discounted flows' size.

    Plus what the float ``rate`` itself cannot hold: near r = -1 an error of one
    rounding in r (2.2e-16) is a relative error 2.2e-16 / (1 + r) in 1 + r, which
    moves each discount factor by t times that.
    """
    assert np.isfinite(rate), rate
    assert rate > -1, f"{rate} is not a rate (must be > -1) for {values}"
    span = float(np.ptp(np.asarray(times, dtype=float)))
    allowance = 4.4e-16 * span / (1.0 + rate)
    assert residual(rate, values, times) <= tol + allowance, (rate, list(values))


def excel_newton(values, guess: float, tries: int = 20, tolerance: float = 1e-7) -> float:
    """Excel's documented IRR method: Newton's iteration on r from ``guess`` until a
    step is below 0.00001 percent, at most 20 tries; nan when it does not converge.

    Microsoft, "IRR function": "Starting with guess, IRR cycles through the calculation
    until the result is accurate within 0.00001 percent. If IRR can't find a result
    that works after 20 tries, the #NUM! error value is returned."
    """
    v = np.asarray(values, dtype=float)
    t = np.arange(v.size)
    r = guess
    with np.errstate(all="ignore"):
        for _ in range(tries):
            f = np.sum(v * (1 + r) ** -t)
            fp = np.sum(-t * v * (1 + r) ** (-t - 1))
            step = f / fp
            r -= step
            if abs(step) < tolerance:
                return r if np.isfinite(r) and r > -1 else np.nan
    return np.nan


# --- known roots -------------------------------------------------------------------------

# y = 1 + r:  -100 y^2 + 230 y - 132 = -(10y - 11)(10y - 12)
# since (10y - 11)(10y - 12) = 100y^2 - 120y - 110y + 132 = 100y^2 - 230y + 132,
# so y = 1.1 or 1.2: the IRRs are exactly 10% and 20%.
TWO_ROOTS = [-100, 230, -132]

# -100 (y - 1.1)(y - 1.2)(y - 1.5):
# (y - 1.1)(y - 1.2) = y^2 - 2.3y + 1.32;  times (y - 1.5) = y^3 - 3.8y^2 + 4.77y - 1.98;
# times -100 gives -100y^3 + 380y^2 - 477y + 198: IRRs 10%, 20% and 50%.
THREE_ROOTS = [-100, 380, -477, 198]


def test_two_root_flow_has_roots_ten_and_twenty_percent():
    np.testing.assert_allclose(finance.irr_all(TWO_ROOTS), [0.1, 0.2], rtol=1e-12)


def test_three_root_flow_has_roots_ten_twenty_fifty_percent():
    np.testing.assert_allclose(finance.irr_all(THREE_ROOTS), [0.1, 0.2, 0.5], rtol=1e-12)


# Among several roots irr returns the one Excel's own iteration from the guess lands on,
# else (where that iteration fails) the one nearest the guess.
#
# For TWO_ROOTS, f(r) = -100 + 230/(1+r) - 132/(1+r)^2 has f'(r) = -230/(1+r)^2 +
# 264/(1+r)^3 = 0 at 1 + r = 264/230, r = 14.78%: its peak between the roots. Newton
# from these guesses left of the peak runs down to 10%, from the right to 20%.
@pytest.mark.parametrize(
    ("guess", "expected"),
    [
        (None, 0.1),  # default guess 0.1 is a root itself
        (0.0, 0.1),
        (-0.5, 0.1),
        (0.14, 0.1),  # left of the peak (also the nearer root: 0.04 vs 0.06)
        (0.16, 0.2),  # right of the peak (0.04 vs 0.06)
        (0.25, 0.2),
        # f(3) = -100 + 57.5 - 8.25 = -50.75, f'(3) = -14.375 + 4.125 = -10.25: Excel's
        # first step goes to 3 - 50.75/10.25 = -1.95, below -100%, and never converges,
        # so the nearest root, 20%.
        (3.0, 0.2),
    ],
)
def test_irr_among_two_roots_follows_the_guess(guess, expected):
    if guess == 3.0:
        assert np.isnan(excel_newton(TWO_ROOTS, guess))
    assert finance.irr(TWO_ROOTS, guess=guess) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    ("guess", "expected", "excel_lands"),
    [
        (None, 0.1, True),
        (0.29, 0.2, True),
        # Excel's iteration does not converge in 20 tries from these: nearest root,
        # 0.5 (0.14 away from 0.36, against 0.16 for 0.2; from 10, 9.5 against 9.8).
        (0.36, 0.5, False),
        (10.0, 0.5, False),
    ],
)
def test_irr_among_three_roots_follows_the_guess(guess, expected, excel_lands):
    g = 0.1 if guess is None else guess
    assert np.isfinite(excel_newton(THREE_ROOTS, g)) == excel_lands
    assert finance.irr(THREE_ROOTS, guess=guess) == pytest.approx(expected, rel=1e-12)


def test_guess_does_not_move_a_unique_root():
    # -100 + 110 / (1 + r) = 0  =>  r = 0.1, whatever the guess.
    for guess in (-0.9, 0.0, 0.1, 5.0, 1e3):
        assert finance.irr([-100, 110], guess=guess) == pytest.approx(0.1, rel=1e-12)


def test_batch_guess_per_project():
    got = finance.irr([TWO_ROOTS, TWO_ROOTS], guess=[0.0, 0.3])
    np.testing.assert_allclose(got, [0.1, 0.2], rtol=1e-12)


@pytest.mark.parametrize(
    "values",
    [
        [100, 50, 25],  # all positive
        [-100, -50, -25],  # all negative
        [5],  # single value
        [-5],
        [0],
        [0, 0, 0],  # all zeros
        [0, -3, 0],
    ],
    ids=["all-positive", "all-negative", "single-pos", "single-neg", "zero", "zeros", "one-sign"],
)
def test_no_root_gives_nan_and_irr_all_empty(values):
    assert np.isnan(finance.irr(values))
    assert finance.irr_all(values).size == 0


def test_no_root_with_sign_changes_gives_nan():
    # -(y^2 - 2y + 2) = -((y - 1)^2 + 1) < 0 for every y: sign changes, but no IRR.
    values = [-1, 2, -2]
    assert np.isnan(finance.irr(values))
    assert finance.irr_all(values).size == 0


def test_no_root_rows_are_nan_in_a_batch():
    got = finance.irr([[-100, 110], [100, 110], [0, 0], [-100, 121]])
    assert got[0] == pytest.approx(0.1, rel=1e-12)  # -100 + 110 / (1 + r) = 0
    assert np.isnan(got[1]) and np.isnan(got[2])
    assert got[3] == pytest.approx(0.21, rel=1e-12)  # -100 + 121 / (1 + r) = 0


def test_leading_and_trailing_zeros_do_not_change_irr():
    # -100 + 121 / (1 + r)^2 = 0 => r = 0.1; shifting the whole flow by k periods
    # multiplies NPV by (1 + r)^-k, which keeps the root; trailing zeros add nothing.
    for values in (
        [-100, 0, 121],
        [0, 0, -100, 0, 121],
        [-100, 0, 121, 0, 0],
        [0, -100, 0, 121, 0],
    ):
        assert finance.irr(values) == pytest.approx(0.1, rel=1e-12), values
    np.testing.assert_allclose(finance.irr_all([0, *TWO_ROOTS, 0, 0]), [0.1, 0.2], rtol=1e-12)


def test_huge_irr():
    # -1 + 1000 / (1 + r) = 0 => r = 999 (99,900%)
    assert finance.irr([-1, 1000]) == pytest.approx(999.0, rel=1e-12)
    # -1 + 2601 / (1 + r)^2 = 0 => 1 + r = 51 => r = 50
    assert finance.irr([-1, 0, 2601]) == pytest.approx(50.0, rel=1e-12)
    # (1 + r)^3 = 1e9 => r = 999
    assert finance.irr([-1, 0, 0, 1e9]) == pytest.approx(999.0, rel=1e-12)


def test_irr_near_minus_99_percent():
    # -100 + 0.5 / (1 + r) = 0 => 1 + r = 0.005 => r = -0.995
    assert finance.irr([-100, 0.5]) == pytest.approx(-0.995, rel=1e-12)
    # (1 + r)^2 = 1e-4 => r = -0.99
    assert finance.irr([-100, 0, 0.01]) == pytest.approx(-0.99, rel=1e-12)


def test_irr_never_returns_minus_one():
    # The true IRR is r = 1e-20 - 1 (1 + r = 1e-20), which rounds to -1.0 in floating
    # point. -1 is not a rate (npv rejects it; irr_all promises roots in (-1, inf)), so
    # the engine must return a rate > -1 or nan, never -1.0.
    values = [-1, 1e-20]
    r = finance.irr(values)
    assert np.isnan(r) or r > -1, r
    assert all(root > -1 for root in finance.irr_all(values))


def test_irr_emits_no_runtime_warnings():
    # Found by the random-flow check below: from guess 4.0 the Newton step f / f' once
    # overflowed inside the engine, and the RuntimeWarning reached the caller (an error
    # under `python -W error`).
    values = [-500_000, 4_000, 500, -5_000, -2_000, 0.3, 0, 10_000, 10, 50_000]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = finance.irr(values, guess=4.0)
    assert_is_root(r, values, np.arange(len(values)))


def test_roots_above_one_thousand_percent_in_multi_root_flows():
    # -10 (y - 1.1)(y - 16) = -10 (y^2 - 17.1y + 17.6) = -10y^2 + 171y - 176:
    # roots 10% and 1,500%.
    np.testing.assert_allclose(finance.irr_all([-10, 171, -176]), [0.1, 15.0], rtol=1e-12)
    assert finance.irr([-10, 171, -176], guess=12.0) == pytest.approx(15.0, rel=1e-12)
    # -10 (y - 1.1)(y - 2001) = -10 (y^2 - 2002.1y + 2201.1) = -10y^2 + 20021y - 22011:
    # roots 10% and 200,000% (beyond any sampling grid that stops near 1e5 %).
    np.testing.assert_allclose(finance.irr_all([-10, 20021, -22011]), [0.1, 2000.0], rtol=1e-10)
    assert finance.irr([-10, 20021, -22011], guess=1500.0) == pytest.approx(2000.0, rel=1e-10)


# --- XIRR ----------------------------------------------------------------------------------

MS_VALUES = [-10_000, 2_750, 4_250, 3_250, 2_750]
MS_DATES = [
    dt.date(2008, 1, 1),
    dt.date(2008, 3, 1),
    dt.date(2008, 10, 30),
    dt.date(2009, 2, 15),
    dt.date(2009, 4, 1),
]


def test_xirr_one_year_of_365_days_is_the_simple_return():
    # 2019-01-01 -> 2020-01-01 is 365 days: -1000 + 1100 / (1 + r)^1 = 0 => r = 0.1
    assert finance.xirr([-1000, 1100], [dt.date(2019, 1, 1), dt.date(2020, 1, 1)]) == (
        pytest.approx(0.1, rel=1e-12)
    )
    # 2020-01-01 -> 2021-01-01 is 366 days (leap year) over a 365-day year:
    # (1 + r)^(366/365) = 1.1 => r = 1.1^(365/366) - 1
    got = finance.xirr([-1000, 1100], [dt.date(2020, 1, 1), dt.date(2021, 1, 1)])
    assert got == pytest.approx(1.1 ** (365 / 366) - 1, rel=1e-12)


def test_xirr_with_unsorted_dates_equals_sorted():
    order = [0, 3, 1, 4, 2]  # first date stays first; the rest shuffled
    values = [MS_VALUES[i] for i in order]
    dates = [MS_DATES[i] for i in order]
    expected = finance.xirr(MS_VALUES, MS_DATES)
    assert finance.xirr(values, dates) == pytest.approx(expected, rel=1e-12)
    # and the answer makes the shuffled XNPV zero
    assert abs(finance.xnpv(expected, values, dates)) <= 1e-8 * sum(map(abs, values))


def test_xirr_with_equal_dates_adds_the_flows():
    d0, d1 = dt.date(2019, 1, 1), dt.date(2020, 1, 1)  # 365 days apart
    # 300 + 800 on the same day is 1100 one year on: r = 0.1
    assert finance.xirr([-1000, 300, 800], [d0, d1, d1]) == pytest.approx(0.1, rel=1e-12)
    # -600 - 400 on the first day is -1000 at t = 0: r = 0.1
    assert finance.xirr([-600, -400, 1100], [d0, d0, d1]) == pytest.approx(0.1, rel=1e-12)
    # equal dates out of order
    assert finance.xirr([-600, 1100, -400], [d0, d1, d0]) == pytest.approx(0.1, rel=1e-12)


def test_xirr_dates_as_date_datetime64_and_serials_agree():
    as_date = finance.xirr(MS_VALUES, MS_DATES)
    as_datetime64 = finance.xirr(MS_VALUES, np.array(MS_DATES, dtype="datetime64[D]"))
    as_datetime64_list = finance.xirr(MS_VALUES, [np.datetime64(d) for d in MS_DATES])
    as_serial = finance.xirr(MS_VALUES, [serial(d) for d in MS_DATES])
    assert serial(dt.date(2008, 1, 1)) == 39448  # Microsoft's DATEVALUE example
    assert as_date == as_datetime64 == as_datetime64_list == as_serial
    # Microsoft's XIRR worked example gives 0.373362535 (37.34%); Excel stops its
    # iteration once the result is "accurate within 0.000001 percent", so compare
    # at that tolerance, and check the exact root by its XNPV.
    assert as_date == pytest.approx(0.373362535, abs=1e-8)
    assert abs(finance.xnpv(as_date, MS_VALUES, MS_DATES)) <= 1e-8 * 10_000


def test_xirr_fractional_serials_are_truncated():
    whole = [serial(d) for d in MS_DATES]
    fractional = [s + f for s, f in zip(whole, [0.0, 0.99, 0.5, 0.25, 0.999], strict=True)]
    assert finance.xirr(MS_VALUES, fractional) == finance.xirr(MS_VALUES, whole)
    # and a datetime's time of day is dropped the same way
    with_time = [dt.datetime(d.year, d.month, d.day, 18, 30) for d in MS_DATES]
    assert finance.xirr(MS_VALUES, with_time) == finance.xirr(MS_VALUES, whole)


def test_xirr_no_root_is_nan():
    dates = MS_DATES[:3]
    assert np.isnan(finance.xirr([100, 200, 300], dates))
    assert np.isnan(finance.xirr([-100, -200, -300], dates))
    assert np.isnan(finance.xirr([0, 0, 0], dates))


def test_xirr_root_beyond_float_range_is_nan_not_inf():
    # -1 + 8 / (1 + r)^(1/365) = 0  =>  1 + r = 8^365 = 10^(365 * 0.903) = 10^329.6,
    # beyond the largest float (1.8e308): no representable IRR, so nan (as irr gives
    # for [-1e-300, 1e300], whose IRR is 1e600), not inf, which is no rate at all.
    d0 = dt.date(2020, 1, 1)
    assert np.isnan(finance.irr([-1e-300, 1e300]))
    r = finance.xirr([-1, 8], [d0, d0 + dt.timedelta(days=1)])
    assert np.isnan(r), r
    # while 2^365 = 7.5e109 still fits: -1 + 2 / (1 + r)^(1/365) = 0
    r = finance.xirr([-1, 2], [d0, d0 + dt.timedelta(days=1)])
    assert r == pytest.approx(2.0**365 - 1, rel=1e-12)


@pytest.mark.parametrize(
    ("values", "days", "expected"),
    [
        # -1e-60 + 1 / (1 + r)^10 = 0  =>  1 + r = (1e60)^(1/10) = 1e6
        ([-1e-60, 1.0], [0, 3650], 1e6 - 1),
        # -1 + 31^30 / (1 + r)^30 = 0  =>  1 + r = 31 (3,000% over 30 years of 365 days)
        ([-1.0, 31.0**30], [0, 10950], 30.0),
    ],
)
def test_batch_xirr_with_dates_per_project_equals_the_loop(values, days, expected):
    # Found by test_finance_properties: one project alone finds these roots, but in a
    # batch whose projects have their own dates the same project gets nan.
    assert finance.xirr(values, days) == pytest.approx(expected, rel=1e-9)
    batch = finance.xirr([values, [-100, 110]], [days, [0, 365]])
    np.testing.assert_allclose(batch, [expected, 0.1], rtol=1e-9)


def test_xirr_multi_root_nearest_the_guess():
    # Dates exactly 365 days apart make XIRR the periodic IRR: roots 10% and 20%.
    dates = [dt.date(2019, 1, 1), dt.date(2020, 1, 1), dt.date(2020, 12, 31)]
    assert (dates[1] - dates[0]).days == 365 and (dates[2] - dates[1]).days == 365
    assert finance.xirr(TWO_ROOTS, dates) == pytest.approx(0.1, rel=1e-12)
    assert finance.xirr(TWO_ROOTS, dates, guess=0.3) == pytest.approx(0.2, rel=1e-12)


# --- every returned value is a root (random flows) ---------------------------------------


def _random_flows(rng: np.random.Generator, count: int) -> list[np.ndarray]:
    """Conventional, non-conventional (several sign changes), sparse and wide-ranging flows."""
    out = []
    for i in range(count):
        n = int(rng.integers(1, 25))
        kind = i % 5
        if kind == 0:  # conventional: invest, then returns
            v = rng.uniform(0, 100, n)
            v[0] = -rng.uniform(1, 500)
        elif kind == 1:  # random signs: many sign changes
            v = rng.normal(0, 100, n)
        elif kind == 2:  # a closing cost (decommissioning) after the returns
            v = rng.uniform(0, 100, n)
            v[0] = -rng.uniform(50, 300)
            v[-1] = -rng.uniform(0, 400)
        elif kind == 3:  # sparse, integers, wide magnitudes
            v = rng.integers(-5, 6, n) * 10.0 ** rng.integers(-2, 6, n)
        else:  # staged investment, then returns, then reinvestment
            v = rng.uniform(-100, 200, n)
            v[: max(1, n // 4)] *= -1
        out.append(v)
    return out


def test_every_irr_and_every_irr_all_root_is_a_root():
    rng = np.random.default_rng(20240601)
    found = 0
    for v in _random_flows(rng, 500):
        t = np.arange(v.size)
        roots = finance.irr_all(v)
        for root in roots:
            assert_is_root(root, v, t)
        assert np.all(np.diff(roots) > 0), roots  # ascending and distinct
        for guess in (None, -0.5, 0.3, 4.0):
            r = finance.irr(v, guess=guess)
            if np.isnan(r):
                assert roots.size == 0, (list(v), roots)
                continue
            found += 1
            assert_is_root(r, v, t)
            assert np.any(np.isclose(roots, r, rtol=1e-9, atol=1e-12)), (r, roots)
    assert found > 400  # the check ran on plenty of roots


def test_among_several_roots_irr_picks_where_excel_lands_else_nearest_the_guess():
    rng = np.random.default_rng(11)
    landed = nearest = 0
    for v in _random_flows(rng, 700):
        roots = finance.irr_all(v)
        if roots.size < 2:
            continue
        for guess in (None, -0.5, 0.3, 4.0):
            g = 0.1 if guess is None else guess
            r = finance.irr(v, guess=guess)
            excel = excel_newton(v, g)
            match = roots[np.isclose(roots, excel, rtol=1e-6, atol=1e-9)]
            if match.size:
                landed += 1
                assert r == pytest.approx(match[0], rel=1e-9, abs=1e-12), (list(v), g, roots)
            else:
                nearest += 1
                assert abs(r - g) <= np.min(np.abs(roots - g)) + 1e-9 * (1 + abs(r))
    assert landed > 50 and nearest > 10  # both rules were exercised


def test_irr_finds_a_root_wherever_the_npv_changes_sign():
    # A dense independent scan of NPV over r in (-99.8%, 5000%): where it sees a sign
    # change there is a root, and irr must not answer nan.
    rng = np.random.default_rng(7)
    u = np.linspace(np.log(0.002), np.log(51.0), 4001)
    for v in _random_flows(rng, 600):
        t = np.arange(v.size)
        log_df = -np.outer(u, t)
        scaled = np.exp(log_df - log_df.max(axis=1, keepdims=True)) @ v
        if np.any(np.sign(scaled[:-1]) * np.sign(scaled[1:]) < 0):
            assert np.isfinite(finance.irr(v)), list(v)
            assert finance.irr_all(v).size >= 1


def test_every_xirr_is_a_root():
    rng = np.random.default_rng(99)
    start = dt.date(2020, 3, 15)
    found = 0
    for v in _random_flows(rng, 800):
        offsets = np.sort(rng.integers(0, 3650, v.size))
        offsets[0] = 0
        if v.size > 2:  # shuffle everything after the first date
            offsets[1:] = rng.permutation(offsets[1:])
        dates = [start + dt.timedelta(days=int(d)) for d in offsets]
        r = finance.xirr(v, dates)
        if np.isnan(r):
            continue
        if r == -1.0:
            # a root within rounding of -1 (two nearby dates carrying large flows);
            # returning -1.0 for it is the bug test_irr_never_returns_minus_one shows
            continue
        found += 1
        assert_is_root(r, v, offsets / 365.0)
        if 1 + r > 1e-3:  # the engine's own xnpv agrees (its factors are finite here)
            size = np.abs(v * (1 + r) ** (-offsets / 365)).sum()
            assert abs(finance.xnpv(r, v, dates)) <= 2e-8 * size
    assert found > 300


def test_batch_irr_equals_scalar_irr_on_random_flows():
    rng = np.random.default_rng(3)
    flows = [v for v in _random_flows(rng, 400) if v.size >= 2]
    width = 12
    batch = np.array([np.resize(v, width) for v in flows])
    loop = np.array([finance.irr(row) for row in batch])
    np.testing.assert_allclose(finance.irr(batch), loop, rtol=1e-12, atol=0)
    batch_all = finance.irr_all(batch)
    assert len(batch_all) == len(batch)
    for row, roots in zip(batch, batch_all, strict=True):
        np.testing.assert_allclose(roots, finance.irr_all(row), rtol=1e-12)


# --- numpy-financial -----------------------------------------------------------------------


def _single_sign_change(rng: np.random.Generator, count: int) -> list[np.ndarray]:
    out = []
    for _ in range(count):
        n = int(rng.integers(2, 20))
        k = int(rng.integers(1, n))  # outflows for k periods, then inflows
        v = np.concatenate([-rng.uniform(0, 1000, k), rng.uniform(0, 500, n - k)])
        v[rng.random(n) < 0.15] = 0.0
        if not (v < 0).any() or not (v > 0).any():
            continue
        out.append(v)
    return out


def test_irr_agrees_with_numpy_financial_on_one_sign_change():
    rng = np.random.default_rng(2024)
    compared = npf_nan_ours_root = 0
    for v in _single_sign_change(rng, 1000):
        ours = finance.irr(v)
        # One sign change: exactly one IRR (Descartes), so ours always finds it.
        assert_is_root(ours, v, np.arange(v.size))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs = npf.irr(v)
        if np.isnan(theirs):
            npf_nan_ours_root += 1  # npf drops roots with a rounding-level imaginary part
            continue
        compared += 1
        assert ours == pytest.approx(theirs, rel=1e-9, abs=1e-12), list(v)
    assert compared > 500
    assert npf_nan_ours_root >= 0
