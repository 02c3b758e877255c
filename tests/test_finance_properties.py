"""Identities the finance engine must satisfy for any input (hypothesis).

NPV vanishes at the IRR, NPV is linear in the flows, payback never gets later when
a flow grows, Excel's NPV is ours discounted one period, and a batch (2-D) call
gives exactly what a loop of one-project calls gives.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from udfs import finance

amounts = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
money = st.integers(-1_000_000, 1_000_000).map(float)
flow = st.one_of(amounts, money)
flows = st.lists(flow, min_size=1, max_size=20)
rates = st.floats(-0.9, 1.0, allow_nan=False)
# Derandomized and without an example database: the same examples on every run and
# machine, and no .hypothesis/ directory left behind.
fast = settings(max_examples=150, deadline=None, derandomize=True, database=None)
slow = settings(fast, max_examples=80)  # each example solves several XIRRs or IRRs


def discounted_size(rate: float, values, times) -> float:
    """sum(|v_i| * (1 + rate)^-t_i), the yardstick an NPV error is measured against."""
    t = np.asarray(times, dtype=float)
    return float(np.sum(np.abs(values) * np.exp(-t * np.log1p(rate))))


def scaled_residual(rate: float, values, times) -> float:
    """|NPV(rate)| / discounted_size, computed with factors scaled by the largest one."""
    v = np.asarray(values, dtype=float)
    log_df = -np.asarray(times, dtype=float) * np.log1p(rate)
    terms = v * np.exp(log_df - log_df.max())
    size = np.abs(terms).sum()
    return abs(terms.sum()) / size if size else 0.0


# --- NPV at the IRR ---------------------------------------------------------------------


@fast
@given(values=flows, guess=st.none() | st.floats(-0.9, 10.0))
def test_npv_at_the_irr_is_zero(values, guess):
    r = finance.irr(values, guess=guess)
    if np.isnan(r) or r == -1.0:
        # -1.0 (a root within rounding of -1) is test_irr_never_returns_minus_one's bug
        return
    assert np.isfinite(r) and r > -1
    t = np.arange(len(values))
    # One rounding of r moves 1 + r by 2.2e-16 / (1 + r) relatively: allow for it.
    allowance = 4.4e-16 * max(len(values) - 1, 0) / (1 + r)
    assert scaled_residual(r, values, t) <= 1e-8 + allowance
    if 1 + r > 1e-3 and r < 1e3:  # where the engine's own npv has finite factors
        assert abs(finance.npv(r, values)) <= (1e-8 + allowance) * discounted_size(r, values, t)


@fast
@given(data=st.data())
def test_xnpv_at_the_xirr_is_zero(data):
    values = data.draw(flows)
    days = data.draw(st.lists(st.integers(0, 3650), min_size=len(values), max_size=len(values)))
    days[0] = 0  # no date may precede the first
    r = finance.xirr(values, days)
    if np.isnan(r) or r in (-1.0, np.inf):
        # roots beyond what a float rate can hold: -1.0 and inf are the bugs shown by
        # test_irr_never_returns_minus_one and test_xirr_root_beyond_float_range_is_nan_not_inf
        return
    assert np.isfinite(r) and r > -1
    t = np.asarray(days) / 365.0
    allowance = 4.4e-16 * float(np.ptp(t)) / (1 + r)
    assert scaled_residual(r, values, t) <= 1e-8 + allowance


# --- linearity --------------------------------------------------------------------------


@fast
@given(
    data=st.data(),
    rate=rates,
    a=st.floats(-100, 100, allow_nan=False),
    b=st.floats(-100, 100, allow_nan=False),
)
def test_npv_is_linear_in_the_flows(data, rate, a, b):
    n = data.draw(st.integers(1, 20))
    x = np.array(data.draw(st.lists(flow, min_size=n, max_size=n)))
    y = np.array(data.draw(st.lists(flow, min_size=n, max_size=n)))
    lhs = finance.npv(rate, a * x + b * y)
    rhs = a * finance.npv(rate, x) + b * finance.npv(rate, y)
    t = np.arange(n)
    # Each NPV carries rounding of order n * eps * (its discounted size): the floor.
    floor = 1e-12 * (
        abs(a) * discounted_size(rate, x, t)
        + abs(b) * discounted_size(rate, y, t)
        + discounted_size(rate, a * x + b * y, t)
    )
    assert lhs == pytest.approx(rhs, rel=1e-9, abs=floor)


@fast
@given(values=flows, rate=rates)
def test_excel_npv_is_npv_discounted_one_period(values, rate):
    expected = finance.npv(rate, values) / (1 + rate)
    floor = 1e-12 * discounted_size(rate, values, np.arange(1, len(values) + 1))
    assert finance.excel_npv(rate, values) == pytest.approx(expected, rel=1e-9, abs=floor)


# --- payback is monotone ----------------------------------------------------------------


@fast
@given(data=st.data(), rate=st.floats(0.0, 0.5))
def test_payback_never_later_when_a_later_flow_grows(data, rate):
    # Stated for flows that open with an outflow. Before it, a larger inflow can
    # postpone the first shortfall itself: [0, -1, 2, -5, 10] pays back at 1.5,
    # [0, 0, 2, -5, 10] first falls short in period 3 and pays back at 3.3.
    values = [-data.draw(st.floats(1e-3, 1e6)), *data.draw(st.lists(flow, min_size=1, max_size=19))]
    j = data.draw(st.integers(1, len(values) - 1))
    more = list(values)
    more[j] += data.draw(st.floats(0, 1e6, allow_nan=False))
    assert finance.payback(more) <= finance.payback(values)
    assert finance.discounted_payback(rate, more) <= finance.discounted_payback(rate, values)


@fast
@given(values=flows, rate=st.floats(0.0, 0.5))
def test_discounted_payback_never_before_payback(values, rate):
    # With d = 1/(1+r) <= 1, Abel summation gives the discounted running sum
    #   D_t = sum_{s<t} C_s (d^s - d^(s+1)) + C_t d^t
    # from the undiscounted running sums C_s. Before the payback every C_s < 0, so
    # every D_t < 0 too; in the crossing period D_(k-1) <= C_(k-1) d^k, so the
    # interpolated fraction is no smaller either. The argument needs the flows to
    # open with an outflow: an early inflow can cover a discounted outflow and not
    # the undiscounted one ([722318, -943251] at 50%: never below zero discounted,
    # never recovered undiscounted).
    assume(values[0] < 0)
    discounted = finance.discounted_payback(rate, values)
    plain = finance.payback(values)
    if np.isinf(plain):
        assert np.isinf(discounted)
    else:
        assert discounted >= plain - 1e-9 * (1 + plain)


# --- a batch equals the loop ------------------------------------------------------------


@st.composite
def batches(draw, min_periods=1):
    projects = draw(st.integers(1, 5))
    periods = draw(st.integers(min_periods, 10))
    values = draw(hnp.arrays(float, (projects, periods), elements=flow))
    per_project = draw(hnp.arrays(float, (projects,), elements=st.floats(-0.5, 0.5)))
    rate = draw(st.sampled_from([per_project, float(per_project[0])]))
    return values, rate


def same(batch, looped):
    assert isinstance(batch, np.ndarray) and batch.shape == looped.shape
    np.testing.assert_allclose(batch, looped, rtol=1e-12, atol=0)


def per_project(rate, values) -> list:
    return list(rate) if isinstance(rate, np.ndarray) else [rate] * len(values)


def close(batch, looped, values, times, rates):
    """Equal up to rounding: BLAS may sum a batch in another order than one row."""
    assert isinstance(batch, np.ndarray) and batch.shape == looped.shape
    floor = np.array(
        [1e-13 * discounted_size(r, row, t) for r, row, t in zip(rates, values, times, strict=True)]
    )
    assert np.all(np.abs(batch - looped) <= 1e-12 * np.abs(looped) + floor)


@fast
@given(batch=batches())
def test_batch_npv_and_excel_npv_equal_the_loop(batch):
    values, rate = batch
    rates = per_project(rate, values)
    t = [np.arange(values.shape[1])] * len(values)
    for function in (finance.npv, finance.excel_npv):
        looped = np.array([function(r, row) for r, row in zip(rates, values, strict=True)])
        close(function(rate, values), looped, values, t, rates)


@slow
@given(batch=batches(), data=st.data())
def test_batch_xnpv_and_xirr_equal_the_loop(batch, data):
    values, rate = batch
    projects, n = values.shape
    rows = projects if data.draw(st.booleans()) else 1  # dates per project, or shared
    days = data.draw(hnp.arrays(np.int64, (rows, n), elements=st.integers(0, 3650)))
    days[:, 0] = 0  # no date may precede the first
    dates = days if rows > 1 else days[0]
    row_days = list(days) if rows > 1 else [days[0]] * projects
    rates = per_project(rate, values)
    looped = np.array(
        [finance.xnpv(r, row, d) for r, row, d in zip(rates, values, row_days, strict=True)]
    )
    close(finance.xnpv(rate, values, dates), looped, values, [d / 365 for d in row_days], rates)
    looped_irr = np.array([finance.xirr(row, d) for row, d in zip(values, row_days, strict=True)])
    np.testing.assert_allclose(finance.xirr(values, dates), looped_irr, rtol=1e-10, atol=1e-14)


@slow
@given(batch=batches(), guess=st.none() | st.floats(-0.5, 2.0))
def test_batch_irr_equals_the_loop(batch, guess):
    values, _ = batch
    looped = np.array([finance.irr(row, guess=guess) for row in values])
    np.testing.assert_allclose(finance.irr(values, guess=guess), looped, rtol=1e-10, atol=1e-14)


@fast
@given(batch=batches(min_periods=2), reinvest=st.floats(-0.5, 0.5))
def test_batch_mirr_equals_the_loop(batch, reinvest):
    # At least two periods: a single value is test_finance's MIRR case.
    values, rate = batch
    rates = per_project(rate, values)
    looped = np.array(
        [finance.mirr(row, r, reinvest) for r, row in zip(rates, values, strict=True)]
    )
    same(finance.mirr(values, rate, reinvest), looped)


@fast
@given(batch=batches())
def test_batch_payback_roi_and_pi_equal_the_loop(batch):
    values, rate = batch
    same(finance.payback(values), np.array([finance.payback(row) for row in values]))
    same(finance.roi(values), np.array([finance.roi(row) for row in values]))
    rates = per_project(rate, values)
    for function in (finance.discounted_payback, finance.profitability_index):
        looped = np.array([function(r, row) for r, row in zip(rates, values, strict=True)])
        same(function(rate, values), looped)


@fast
@given(batch=batches(), data=st.data())
def test_batch_enpv_equals_the_loop(batch, data):
    values, rate = batch
    projects, periods = values.shape
    gates = data.draw(st.integers(0, 3))
    stages = data.draw(hnp.arrays(np.int64, (projects, periods), elements=st.integers(0, gates)))
    probabilities = data.draw(
        hnp.arrays(float, (projects, gates), elements=st.floats(0.0, 1.0, allow_nan=False))
    )
    rates = per_project(rate, values)
    looped = np.array(
        [
            finance.enpv(r, row, s, p)
            for r, row, s, p in zip(rates, values, stages, probabilities, strict=True)
        ]
    )
    t = [np.arange(periods)] * projects
    close(finance.enpv(rate, values, stages, probabilities), looped, values, t, rates)
