"""The finance engine's API beyond IRR: NPV conventions, XNPV, MIRR, payback, ROI,
PI, eNPV, ECV, CAGR, market sizing, unit economics, and how bad input is refused.

Expected values are worked by hand in the comments next to them, or come from the
published example cited there.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from udfs import finance
from udfs.errors import InputError

# --- NPV and Excel's NPV -----------------------------------------------------------------


def test_npv_first_value_undiscounted_excel_npv_discounts_it():
    # npv: -100 + 121 / 1.1 = -100 + 110 = 10
    assert finance.npv(0.1, [-100, 121]) == pytest.approx(10.0, rel=1e-12)
    # Excel: -100 / 1.1 + 121 / 1.21 = -90.9090... + 100 = 9.0909... = 10 / 1.1
    assert finance.excel_npv(0.1, [-100, 121]) == pytest.approx(10 / 1.1, rel=1e-12)


def test_excel_npv_microsoft_example():
    # Microsoft's NPV example: rate 10%, -10,000 a year from now, then 3,000, 4,200, 6,800:
    # -10000/1.1 + 3000/1.21 + 4200/1.331 + 6800/1.4641
    # = -9090.909 + 2479.339 + 3155.522 + 4644.491 = 1188.44
    got = finance.excel_npv(0.10, [-10_000, 3_000, 4_200, 6_800])
    assert got == pytest.approx(1188.44, abs=0.005)
    # our convention puts the first value at t = 0: everything is worth 1.1 times more
    assert finance.npv(0.10, [-10_000, 3_000, 4_200, 6_800]) == pytest.approx(got * 1.1, rel=1e-12)


def test_npv_at_zero_rate_is_the_sum():
    assert finance.npv(0.0, [-100, 30, 50, 70]) == pytest.approx(50.0, rel=1e-15)
    assert finance.excel_npv(0.0, [-100, 30, 50, 70]) == pytest.approx(50.0, rel=1e-15)


def test_npv_rate_per_project():
    # row 1 at 10%: -100 + 121/1.1 = 10;  row 2 at 21%: -100 + 121/1.21 = 0
    got = finance.npv([0.1, 0.21], [[-100, 121], [-100, 121]])
    np.testing.assert_allclose(got, [10.0, 0.0], rtol=1e-12, atol=1e-12)


def test_npv_accepts_negative_rates_above_minus_one():
    # -100 + 50 / 0.5 = 0
    assert finance.npv(-0.5, [-100, 50]) == pytest.approx(0.0, abs=1e-12)


# --- XNPV -----------------------------------------------------------------------------------


def test_xnpv_uses_a_365_day_year():
    d0 = dt.date(2019, 1, 1)
    # 365 days: -1000 + 1100 / 1.1^1 = 0
    assert finance.xnpv(0.1, [-1000, 1100], [d0, dt.date(2020, 1, 1)]) == pytest.approx(
        0.0, abs=1e-9
    )
    # 2020 is a leap year: 2020-01-01 -> 2021-01-01 is 366 days, t = 366/365
    got = finance.xnpv(0.1, [-1000, 1100], [dt.date(2020, 1, 1), dt.date(2021, 1, 1)])
    assert got == pytest.approx(-1000 + 1100 / 1.1 ** (366 / 365), rel=1e-12)
    # 73 days is exactly 0.2 of a 365-day year: -1000 + 1000 / 1.1^0.2
    got = finance.xnpv(0.1, [-1000, 1000], [d0, d0 + dt.timedelta(days=73)])
    assert got == pytest.approx(-1000 + 1000 / 1.1**0.2, rel=1e-12)


def test_xnpv_microsoft_example():
    # Microsoft's XNPV example: 9%, -10,000 on 2008-01-01, then 2,750 / 4,250 / 3,250 /
    # 2,750 on 2008-03-01, 2008-10-30, 2009-02-15, 2009-04-01: 2,086.65.
    dates = [
        dt.date(2008, 1, 1),
        dt.date(2008, 3, 1),
        dt.date(2008, 10, 30),
        dt.date(2009, 2, 15),
        dt.date(2009, 4, 1),
    ]
    values = [-10_000, 2_750, 4_250, 3_250, 2_750]
    assert finance.xnpv(0.09, values, dates) == pytest.approx(2086.65, abs=0.005)
    serials = [(d - dt.date(1899, 12, 30)).days for d in dates]
    datetime64 = np.array(dates, dtype="datetime64[D]")
    assert (
        finance.xnpv(0.09, values, dates)
        == finance.xnpv(0.09, values, serials)
        == finance.xnpv(0.09, values, datetime64)
    )


def test_xnpv_first_date_need_not_be_the_only_early_one():
    # A later flow on the first date is undiscounted too: -600 - 400 + 1100/1.1 = 0
    d0, d1 = dt.date(2019, 1, 1), dt.date(2020, 1, 1)
    assert finance.xnpv(0.1, [-600, 1100, -400], [d0, d1, d0]) == pytest.approx(0.0, abs=1e-9)


def test_xnpv_batch_with_dates_per_project():
    d0 = dt.date(2019, 1, 1)
    dates = [[d0, dt.date(2020, 1, 1)], [d0, dt.date(2021, 1, 1)]]  # 365 and 731 days
    got = finance.xnpv(0.1, [[-1000, 1100], [-1000, 1100]], dates)
    np.testing.assert_allclose(got, [0.0, -1000 + 1100 / 1.1 ** (731 / 365)], atol=1e-9)


# --- MIRR -----------------------------------------------------------------------------------


def test_mirr_equal_rates_on_a_simple_flow():
    # PV(outflows) = 100; FV(inflows) = 121 at t=2: (121/100)^(1/2) - 1 = 0.1
    assert finance.mirr([-100, 0, 121], 0.1, 0.1) == pytest.approx(0.1, rel=1e-12)


def test_mirr_reinvests_inflows_and_finances_outflows():
    # FV(inflows) at 20%: 50 * 1.2 + 60 = 120; PV(outflows) = 100: sqrt(1.2) - 1
    assert finance.mirr([-100, 50, 60], 0.1, 0.2) == pytest.approx(1.2**0.5 - 1, rel=1e-12)
    # outflow later, financed at 25%: PV = 100 + 100 / 1.25^2 = 164;
    # inflow reinvested at 20% for one period: FV = 250 * 1.2 = 300: (300/164)^(1/2) - 1
    got = finance.mirr([-100, 250, -100], 0.25, 0.2)
    assert got == pytest.approx((300 / 164) ** 0.5 - 1, rel=1e-12)


def test_mirr_microsoft_example():
    # Microsoft's MIRR example: -120,000 then 39,000 30,000 21,000 37,000 46,000,
    # finance 10%, reinvest 12%: 12.61% after five years.
    got = finance.mirr([-120_000, 39_000, 30_000, 21_000, 37_000, 46_000], 0.10, 0.12)
    assert got == pytest.approx(0.126094, abs=5e-7)


@pytest.mark.parametrize(
    "values",
    [[100, 50, 25], [-100, -50, -25], [0, 0, 0], [0, 100], [-100, 0]],
    ids=["all-positive", "all-negative", "zeros", "no-outflow", "no-inflow"],
)
def test_mirr_is_nan_without_both_signs(values):
    assert np.isnan(finance.mirr(values, 0.1, 0.1))


@pytest.mark.parametrize("values", [[5.0], [-5.0], [0.0]])
def test_mirr_single_value_is_nan(values):
    # One value: there is no period to compound over (n - 1 = 0); Excel gives an error,
    # the engine documents nan.
    assert np.isnan(finance.mirr(values, 0.1, 0.1))


def test_mirr_single_period_batch_is_nan():
    got = finance.mirr([[-5.0], [3.0]], 0.1, 0.1)
    assert got.shape == (2,) and np.all(np.isnan(got))


def test_mirr_batch_with_a_nan_row():
    got = finance.mirr([[-100, 0, 121], [100, 0, 121]], 0.1, 0.1)
    assert got[0] == pytest.approx(0.1, rel=1e-12) and np.isnan(got[1])


# --- payback -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        # cumulative -100, -40, 20: crosses in period 2 at 1 + 40/60
        ([-100, 60, 60], 1 + 40 / 60),
        # cumulative -100, -50, 0: exactly zero at the end of period 2
        ([-100, 50, 50], 2.0),
        # cumulative -50, -100, -70, -30, 20: period 4 at 3 + 30/50 = 3.6
        ([-50, -50, 30, 40, 50], 3.6),
        # cumulative -100, 0: reached exactly at t = 1
        ([-100, 100], 1.0),
        # cumulative -100, 50 -> crossing 100/150 into period 1; the later dip
        # (50 - 200 = -150) does not undo it
        ([-100, 150, -200, 10], 100 / 150),
        # leading zero: not a payback; cumulative 0, -5, 5 recovers in period 2
        # at 1 + 5/10 = 1.5
        ([0, -5, 10], 1.5),
        # the textbook rule's cases: cumulative 0, -100, -40, 20 -> 2 + 40/60;
        # 100, -200, 200 -> 1 + 200/400 (the early inflow counts, but is no payback)
        ([0, -100, 60, 60], 2 + 40 / 60),
        ([100, -300, 400], 1.5),
        # first value positive: cumulative 10, -90, 110 -> 1 + 90/200
        ([10, -100, 200], 1 + 90 / 200),
        # never below zero: nothing to recover
        ([5], 0.0),
        ([10, -5, 3], 0.0),
    ],
)
def test_payback_exact_cases(values, expected):
    assert finance.payback(values) == pytest.approx(expected, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("values", [[-100, 20, 20], [-100], [-1, 0, 0], [-100, 99.99]])
def test_payback_never_is_inf(values):
    assert finance.payback(values) == np.inf


def test_payback_batch():
    got = finance.payback([[-100, 60, 60], [-100, 20, 20], [10, -5, -5]])
    np.testing.assert_allclose(got, [1 + 40 / 60, np.inf, 0.0], rtol=1e-12)


def test_discounted_payback_exact():
    # at 10%: -100, 60/1.1 = 600/11 = 54.5454, 60/1.21 = 6000/121 = 49.5868;
    # cumulative -100, -500/11 = -45.4545, +4.1322: crosses in period 2 at
    # 1 + (500/11) / (6000/121) = 1 + 500 * 11 / 6000 = 1 + 5500/6000 = 1.91666...
    assert finance.discounted_payback(0.10, [-100, 60, 60]) == pytest.approx(
        1 + 5500 / 6000, rel=1e-12
    )


def test_discounted_payback_at_zero_rate_is_payback():
    for values in ([-100, 60, 60], [-50, -50, 30, 40, 50], [-100, 20, 20], [10, -5]):
        assert finance.discounted_payback(0.0, values) == finance.payback(values)


def test_discounted_payback_can_be_never_when_payback_is_not():
    # undiscounted cumulative -100, -40, 0: payback exactly 2;
    # discounted at 10%: -100 + 54.55 + 33.06 = -12.40 < 0 forever: inf
    assert finance.payback([-100, 60, 40]) == pytest.approx(2.0)
    assert finance.discounted_payback(0.10, [-100, 60, 40]) == np.inf


def test_discounted_payback_rate_per_project():
    got = finance.discounted_payback([0.0, 0.10], [[-100, 60, 60], [-100, 60, 60]])
    np.testing.assert_allclose(got, [1 + 40 / 60, 1 + 5500 / 6000], rtol=1e-12)


# --- ROI and profitability index ------------------------------------------------------------


def test_roi():
    # inflows 150, outflows 100: (150 - 100) / 100 = 0.5
    assert finance.roi([-100, 30, 50, 70]) == pytest.approx(0.5, rel=1e-15)
    # outflows 50 + 50 = 100, inflows 30 + 40 + 50 = 120: 0.2
    assert finance.roi([-50, -50, 30, 40, 50]) == pytest.approx(0.2, rel=1e-12)
    # nothing comes back: (0 - 15) / 15 = -1
    assert finance.roi([-10, -5]) == pytest.approx(-1.0, rel=1e-15)
    # undiscounted: timing does not matter
    assert finance.roi([-100, 0, 0, 0, 150]) == finance.roi([-100, 150])


@pytest.mark.parametrize("values", [[10, 20], [0, 0], [5]])
def test_roi_is_nan_without_an_outflow(values):
    assert np.isnan(finance.roi(values))


def test_profitability_index():
    # PV inflows at 10%: 60/1.1 + 60/1.21 = 6600/121 + 6000/121 = 12600/121 = 104.132...
    got = finance.profitability_index(0.10, [-100, 60, 60])
    assert got == pytest.approx(12600 / 121 / 100, rel=1e-12)
    # single up-front investment: PI = 1 + NPV / I0
    assert got == pytest.approx(1 + finance.npv(0.10, [-100, 60, 60]) / 100, rel=1e-12)
    # investment spread over two periods counts at present value:
    # PV out = 100 + 110/1.1 = 200, PV in = 300/1.21: PI = (300/1.21) / 200
    got = finance.profitability_index(0.10, [-100, -110, 300])
    assert got == pytest.approx(300 / 1.21 / 200, rel=1e-12)


@pytest.mark.parametrize("values", [[10, 20], [0, 0], [5]])
def test_profitability_index_is_nan_without_an_outflow(values):
    assert np.isnan(finance.profitability_index(0.1, values))


# --- eNPV ------------------------------------------------------------------------------------


def test_enpv_staged_example():
    # Gates passed with 50% then 80%: stage 0 certain, stage 1 reached with 0.5,
    # stage 2 with 0.5 * 0.8 = 0.4. Weighted flows:
    #   -100 * 1, -200 * 0.5, 300 * 0.4, 400 * 0.4 = -100, -100, 120, 160
    # at 10%: -100 - 100/1.1 + 120/1.21 + 160/1.331
    #   = (-133100 - 121000 + 132000 + 160000) / 1331 = 37900 / 1331 = 28.4748...
    got = finance.enpv(0.10, [-100, -200, 300, 400], [0, 1, 2, 2], [0.5, 0.8])
    assert got == pytest.approx(37900 / 1331, rel=1e-12)


def test_enpv_docstring_example():
    # -100 certain, +150 with 60%, no discounting: -100 + 90 = -10
    assert finance.enpv(0.0, [-100, 150], [0, 1], [0.6]) == pytest.approx(-10.0, rel=1e-12)


def test_enpv_with_certain_gates_is_npv():
    values = [-100, -50, 80, 90, 100]
    expected = finance.npv(0.08, values)
    assert finance.enpv(0.08, values, [0, 1, 1, 2, 2], [1.0, 1.0]) == pytest.approx(expected)
    # no gates at all: every flow is stage 0
    assert finance.enpv(0.08, values, [0] * 5, []) == pytest.approx(expected, rel=1e-12)


def test_enpv_zero_probability_drops_later_stages():
    # gate 1 fails for sure: only stage 0 counts: -100 - 50/1.1
    got = finance.enpv(0.1, [-100, -50, 500], [0, 0, 1], [0.0])
    assert got == pytest.approx(-100 - 50 / 1.1, rel=1e-12)


def test_enpv_batch_with_probabilities_per_project():
    values = [[-100, 150], [-100, 150]]
    got = finance.enpv(0.0, values, [0, 1], [[0.6], [0.8]])
    # -100 + 150 * 0.6 = -10;  -100 + 150 * 0.8 = 20
    np.testing.assert_allclose(got, [-10.0, 20.0], rtol=1e-12)


@pytest.mark.parametrize(
    "stages",
    [[0, 1, 3], [0, -1, 1], [0, 0.5, 1], [0, 1]],
    ids=["beyond-the-gates", "negative", "fractional", "wrong-length"],
)
def test_enpv_stage_index_range_is_checked(stages):
    with pytest.raises(InputError, match="stages"):
        finance.enpv(0.1, [-100, 50, 80], stages, [0.5, 0.5])


def test_enpv_stages_for_the_wrong_number_of_projects_are_refused():
    with pytest.raises(InputError, match="stages"):
        finance.enpv(0.1, np.ones((3, 4)), np.zeros((2, 4)), [0.5])


@pytest.mark.parametrize("probabilities", [[1.5], [-0.1], [0.5, 1.01]])
def test_enpv_probabilities_outside_zero_one_are_refused(probabilities):
    stages = [0, 1, 1] if len(probabilities) == 1 else [0, 1, 2]
    with pytest.raises(InputError, match="probabilities"):
        finance.enpv(0.1, [-100, 50, 80], stages, probabilities)


# --- ECV (Cooper) ------------------------------------------------------------------------------

# Cooper, Edgett & Kleinschmidt, *Portfolio Management for New Products* (2nd ed., 2001):
# ECV = [(PV * Pcs - C) * Pts] - D, with PV the project's future earnings, C the
# commercialisation (launch) cost, D the remaining development cost, Pts and Pcs the
# probabilities of technical and commercial success.


def test_ecv_formula():
    # (100 * 0.7 - 20) * 0.6 - 10 = (70 - 20) * 0.6 - 10 = 30 - 10 = 20
    assert finance.ecv(100.0, 0.6, 0.7, 10.0, 20.0) == pytest.approx(20.0, rel=1e-12)
    # (30 * 0.5 - 3) * 0.8 - 5 = 12 * 0.8 - 5 = 4.6
    assert finance.ecv(30.0, 0.8, 0.5, 5.0, 3.0) == pytest.approx(4.6, rel=1e-12)
    # technical failure certain: only the development cost remains
    assert finance.ecv(1000.0, 0.0, 0.9, 7.0, 50.0) == pytest.approx(-7.0, rel=1e-12)


def test_ecv_broadcasts_over_projects():
    got = finance.ecv([100.0, 30.0], [0.6, 0.8], [0.7, 0.5], [10.0, 5.0], [20.0, 3.0])
    np.testing.assert_allclose(got, [20.0, 4.6], rtol=1e-12)
    assert isinstance(finance.ecv(100.0, 0.6, 0.7, 10.0, 20.0), float)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"p_technical": 1.2}, "p_technical"),
        ({"p_technical": -0.1}, "p_technical"),
        ({"p_commercial": 2.0}, "p_commercial"),
        ({"p_commercial": [0.5, -0.5]}, "p_commercial"),
    ],
)
def test_ecv_probabilities_outside_zero_one_are_refused(kwargs, name):
    args = {
        "npv": 100.0,
        "p_technical": 0.6,
        "p_commercial": 0.7,
        "development_cost": 10.0,
        "commercialization_cost": 20.0,
    }
    args.update(kwargs)
    with pytest.raises(InputError, match=name):
        finance.ecv(**args)


# --- CAGR ---------------------------------------------------------------------------------------


def test_cagr():
    # 100 * 1.1^2 = 121
    assert finance.cagr(100, 121, 2) == pytest.approx(0.1, rel=1e-12)
    # doubling in one period
    assert finance.cagr(100, 200, 1) == pytest.approx(1.0, rel=1e-12)
    # decline: 100 * 0.9^2 = 81
    assert finance.cagr(100, 81, 2) == pytest.approx(-0.1, rel=1e-12)
    # fractional periods: (121/100)^(1/0.5) - 1 = 1.21^2 - 1 = 0.4641
    assert finance.cagr(100, 121, 0.5) == pytest.approx(0.4641, rel=1e-12)
    # to nothing: 0^(1/n) - 1 = -1
    assert finance.cagr(100, 0, 3) == pytest.approx(-1.0, rel=1e-15)
    # both negative: the ratio 121/100 is positive, so a rate exists
    assert finance.cagr(-100, -121, 2) == pytest.approx(0.1, rel=1e-12)


@pytest.mark.parametrize(("begin", "end"), [(0, 100), (0, 0), (100, -5), (-100, 5)])
def test_cagr_nan_without_a_real_rate(begin, end):
    assert np.isnan(finance.cagr(begin, end, 2))


def test_cagr_arrays():
    got = finance.cagr([100, 100, 0], [121, 0, 5], 2)
    np.testing.assert_allclose(got, [0.1, -1.0, np.nan], rtol=1e-12)


@pytest.mark.parametrize("periods", [0, -1, [2, 0]])
def test_cagr_periods_must_be_positive(periods):
    with pytest.raises(InputError, match="periods"):
        finance.cagr(100, 121, periods)


# --- market size ------------------------------------------------------------------------------


def test_market_size_docstring_example():
    # TAM 1000 growing 10%: 1000, 1100, 1210; SAM half: 500, 550, 605;
    # share ramps to 20% in year 2: 10%, 20%, 20%: SOM 50, 110, 121
    m = finance.market_size(1000, 0.10, 0.5, 0.2, 2, 3)
    np.testing.assert_allclose(m.tam, [1000, 1100, 1210], rtol=1e-12)
    np.testing.assert_allclose(m.sam, [500, 550, 605], rtol=1e-12)
    np.testing.assert_allclose(m.som, [50, 110, 121], rtol=1e-12)


def test_share_ramp_reaches_target_in_year_years_to_target_then_holds():
    # no growth, SAM = TAM = 1000; target 30% in year 3: 10%, 20%, 30%, then 30%
    got = finance.som(1000, 0.0, 1.0, 0.3, 3, 6)
    np.testing.assert_allclose(got, [100, 200, 300, 300, 300, 300], rtol=1e-12)
    # target from year 1
    np.testing.assert_allclose(finance.som(1000, 0.0, 1.0, 0.3, 1, 3), [300] * 3, rtol=1e-12)
    # with a starting share of 10% (at year 0): 0.1 + (0.4 - 0.1) * y / 3 = 20%, 30%, 40%, 40%
    got = finance.som(1000, 0.0, 1.0, 0.4, 3, 4, start_share=0.1)
    np.testing.assert_allclose(got, [200, 300, 400, 400], rtol=1e-12)


def test_tam_growth_compounds():
    # 1000 * 1.2^(y-1): 1000, 1200, 1440, 1728
    m = finance.market_size(1000, 0.2, 0.25, 0.1, 1, 4)
    np.testing.assert_allclose(m.tam, [1000, 1200, 1440, 1728], rtol=1e-12)
    np.testing.assert_allclose(m.sam, [250, 300, 360, 432], rtol=1e-12)
    np.testing.assert_allclose(m.som, [25, 30, 36, 43.2], rtol=1e-12)
    # shrinking market: 1000 * 0.9^(y-1)
    np.testing.assert_allclose(
        finance.market_size(1000, -0.1, 1.0, 1.0, 1, 3).tam, [1000, 900, 810], rtol=1e-12
    )


def test_market_size_broadcasts_per_project():
    tams = np.array([1000.0, 2000.0, 500.0])
    m = finance.market_size(tams, 0.1, 0.5, 0.2, 2, 4)
    for part in m:
        assert part.shape == (3, 4)
    for i, tam in enumerate(tams):
        one = finance.market_size(tam, 0.1, 0.5, 0.2, 2, 4)
        for batch_part, one_part in zip(m, one, strict=True):
            np.testing.assert_allclose(batch_part[i], one_part, rtol=1e-12)
    # an array in any argument gives every row the projects' shape
    m = finance.market_size(1000, 0.1, 0.5, [0.2, 0.4], [2, 1], 3)
    assert m.tam.shape == m.sam.shape == m.som.shape == (2, 3)
    np.testing.assert_allclose(m.tam[0], m.tam[1], rtol=1e-15)
    # second project: 40% from year 1 of SAM 500, 550, 605
    np.testing.assert_allclose(m.som[1], [200, 220, 242], rtol=1e-12)
    assert finance.som(1000, 0.1, 0.5, 0.2, 2, 3).shape == (3,)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"horizon": 0}, "horizon"),
        ({"horizon": 2.5}, "horizon"),
        ({"horizon": 101}, "horizon"),
        ({"tam_growth": -1.0}, "tam_growth"),
        ({"sam_share": 1.5}, "sam_share"),
        ({"target_share": -0.1}, "target_share"),
        ({"start_share": 2.0}, "start_share"),
        ({"years_to_target": 0.5}, "years_to_target"),
        ({"tam": "big"}, "tam"),
    ],
)
def test_market_size_invalid_inputs_are_refused(kwargs, name):
    args = {
        "tam": 1000,
        "tam_growth": 0.1,
        "sam_share": 0.5,
        "target_share": 0.2,
        "years_to_target": 2,
        "horizon": 3,
    }
    args.update(kwargs)
    with pytest.raises(InputError, match=name):
        finance.market_size(**args)


# --- unit economics ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arpu", "margin", "churn", "rate"),
    [(100, 0.8, 0.05, 0.0), (100, 0.8, 0.05, 0.01), (50, 0.6, 0.02, 0.008), (20, 1.0, 1.0, 0.0)],
)
def test_ltv_is_the_geometric_sum(arpu, margin, churn, rate):
    # sum_{t=1..2000} m (1 - c)^(t-1) / (1 + r)^t; the tail beyond 2000 periods is
    # below (0.98 / 1.008)^2000 ~ e^-56 of the total for these inputs.
    m = arpu * margin
    t = np.arange(1, 2001)
    explicit = np.sum(m * (1 - churn) ** (t - 1) / (1 + rate) ** t)
    assert finance.ltv(arpu, margin, churn, rate) == pytest.approx(explicit, rel=1e-12)
    assert finance.ltv(arpu, margin, churn, rate) == pytest.approx(m / (rate + churn), rel=1e-12)


def test_ltv_arrays():
    # 80 / 0.05 = 1600; 80 / (0.05 + 0.01) = 1333.33
    got = finance.ltv(100, 0.8, 0.05, [0.0, 0.01])
    np.testing.assert_allclose(got, [1600.0, 80 / 0.06], rtol=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [({"churn": 0.0}, "churn"), ({"churn": 1.5}, "churn"), ({"rate": -1.0}, "rate")],
)
def test_ltv_invalid_inputs_are_refused(kwargs, name):
    args = {"arpu": 100, "gross_margin": 0.8, "churn": 0.05, "rate": 0.0}
    args.update(kwargs)
    with pytest.raises(InputError, match=name):
        finance.ltv(**args)


def test_cac_payback():
    # 1200 / (100 * 0.8) = 15 periods
    assert finance.cac_payback(1200, 100, 0.8) == pytest.approx(15.0, rel=1e-15)
    np.testing.assert_allclose(finance.cac_payback([1200, 600], 100, 0.8), [15.0, 7.5])


@pytest.mark.parametrize(("arpu", "margin"), [(100, 0.0), (0, 0.8), (100, -0.2), (-10, 0.5)])
def test_cac_payback_never_without_positive_margin(arpu, margin):
    assert finance.cac_payback(1200, arpu, margin) == np.inf


# --- invalid input ------------------------------------------------------------------------------

D3 = [dt.date(2020, 1, 1), dt.date(2021, 1, 1), dt.date(2022, 1, 1)]


def _raises(function, *args, name, **kwargs):
    with pytest.raises(InputError, match=name) as caught:
        function(*args, **kwargs)
    assert isinstance(caught.value, ValueError)
    return str(caught.value)


@pytest.mark.parametrize(
    "call",
    [
        lambda v: finance.npv(0.1, v),
        lambda v: finance.excel_npv(0.1, v),
        lambda v: finance.irr(v),
        lambda v: finance.irr_all(v),
        lambda v: finance.mirr(v, 0.1, 0.1),
        lambda v: finance.payback(v),
        lambda v: finance.discounted_payback(0.1, v),
        lambda v: finance.roi(v),
        lambda v: finance.profitability_index(0.1, v),
        lambda v: finance.xnpv(0.1, v, D3),
        lambda v: finance.xirr(v, D3),
    ],
    ids=[
        "npv",
        "excel_npv",
        "irr",
        "irr_all",
        "mirr",
        "payback",
        "discounted_payback",
        "roi",
        "profitability_index",
        "xnpv",
        "xirr",
    ],
)
@pytest.mark.parametrize(
    "bad",
    [
        [-100, "abc", 50],
        [-100, None, 50],
        [-100, float("nan"), 50],
        [-100, float("inf"), 50],
        np.ones((2, 2, 3)),
    ],
    ids=["text", "none", "nan", "inf", "3-D"],
)
def test_bad_values_are_refused_naming_values(call, bad):
    _raises(call, bad, name="values")


@pytest.mark.parametrize(
    "call",
    [
        lambda: finance.npv(0.1, []),
        lambda: finance.irr([]),
        lambda: finance.payback([]),
        lambda: finance.npv(0.1, [[], []]),
    ],
)
def test_empty_values_are_refused(call):
    _raises(call, name="values")


def test_messages_say_what_is_wrong():
    assert "finite" in _raises(finance.npv, 0.1, [-100, float("nan")], name="values")
    assert "3-D" in _raises(finance.npv, 0.1, np.ones((1, 1, 2)), name="values")
    assert "-1" in _raises(finance.npv, -1.0, [-100, 110], name="rate")


def test_text_in_values_message_shows_the_text():
    # numpy turns [-100, "abc", 50] into strings; the message should quote the
    # offending item ("abc"), not the first one ("-100"), which the user typed as a number.
    message = _raises(finance.npv, 0.1, [-100, "abc", 50], name="values")
    assert "abc" in message, message


@pytest.mark.parametrize("rate", [-1.0, -1.5, float("nan"), float("inf"), "ten", [0.1, -1.0]])
def test_rate_must_be_a_number_above_minus_one(rate):
    values = [[-100, 110], [-100, 120]]
    _raises(finance.npv, rate, values, name="rate")
    _raises(finance.excel_npv, rate, values, name="rate")
    _raises(finance.discounted_payback, rate, values, name="rate")
    _raises(finance.profitability_index, rate, values, name="rate")
    _raises(finance.xnpv, rate, values, D3[:2], name="rate")
    _raises(finance.enpv, rate, values, [0, 0], [], name="rate")


def test_rate_per_project_must_match_the_projects():
    _raises(finance.npv, [0.1, 0.2, 0.3], [[-100, 110], [-100, 120]], name="rate")


def test_mirr_rates_are_checked_by_name():
    _raises(finance.mirr, [-100, 110], -1.0, 0.1, name="finance_rate")
    _raises(finance.mirr, [-100, 110], 0.1, -2.0, name="reinvest_rate")


def test_guess_must_be_above_minus_one():
    _raises(finance.irr, [-100, 110], guess=-1.0, name="guess")
    _raises(finance.xirr, [-100, 110], D3[:2], guess=-1.5, name="guess")


@pytest.mark.parametrize("dates", [D3[:2], [*D3, dt.date(2023, 1, 1)], [D3, D3, D3]])
def test_dates_length_mismatch_is_refused(dates):
    _raises(finance.xnpv, 0.1, [-100, 50, 60], dates, name="dates")
    _raises(finance.xirr, [-100, 50, 60], dates, name="dates")


def test_date_before_the_first_is_refused():
    dates = [dt.date(2020, 1, 1), dt.date(2021, 1, 1), dt.date(2019, 12, 31)]
    message = _raises(finance.xnpv, 0.1, [-100, 50, 60], dates, name="dates")
    assert "first" in message
    _raises(finance.xirr, [-100, 50, 60], dates, name="dates")


@pytest.mark.parametrize(
    "dates",
    [["2020-01-01", "2021-01-01", "2022-01-01"], [43831, -1, 44000], [43831, None, 44000]],
    ids=["text", "negative-serial", "none"],
)
def test_unusable_dates_are_refused(dates):
    _raises(finance.xnpv, 0.1, [-100, 50, 60], dates, name="dates")


def test_3d_dates_are_refused():
    _raises(finance.xnpv, 0.1, [-100, 50, 60], np.zeros((1, 1, 3)), name="dates")
