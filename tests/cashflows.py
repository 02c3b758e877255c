"""Realistic random cash flows for tests and benchmarks, seeded and reproducible.

Product business cases, not white noise: one or two years of investment, a
revenue ramp, a plateau and a decline, with the awkward cases a portfolio
really holds: a mid-life refresh (a second outflow), a sunset with a
decommissioning cost at the end (two sign changes, often two IRRs), and
losers whose flows never repay (no IRR).
"""

from __future__ import annotations

import numpy as np

EXCEL_SERIAL_2020 = 43831  # 2020-01-01


def annual_flows(projects: int, periods: int = 20, seed: int = 0) -> np.ndarray:
    """(projects x periods) annual cash flows, first at t = 0."""
    rng = np.random.default_rng(seed)
    t = np.arange(periods)
    invest_years = rng.integers(1, 3, projects)
    investment = rng.uniform(0.5e6, 5e6, projects)
    peak = investment * rng.uniform(0.15, 0.6, projects)
    peak_year = rng.integers(3, max(4, periods // 2), projects)
    ramp = np.clip((t[None, :] - invest_years[:, None] + 1) / (peak_year[:, None] - 1), 0, 1)
    decline = np.exp(
        -rng.uniform(0.0, 0.25, projects)[:, None]
        * np.clip(t[None, :] - peak_year[:, None] - 2, 0, None)
    )
    flows = peak[:, None] * ramp * decline
    flows *= rng.normal(1.0, 0.08, flows.shape)
    building = t[None, :] < invest_years[:, None]
    flows = np.where(building, -investment[:, None] / invest_years[:, None], flows)

    kind = rng.random(projects)
    refresh = kind < 0.15
    year = rng.integers(periods // 3, periods - 2, projects)
    flows[refresh, year[refresh]] -= investment[refresh] * rng.uniform(0.3, 0.8, refresh.sum())
    sunset = (kind >= 0.15) & (kind < 0.22)
    flows[sunset, -1] -= investment[sunset] * rng.uniform(0.5, 3.0, sunset.sum())
    loser = (kind >= 0.22) & (kind < 0.27)
    flows[loser, 1:] *= rng.uniform(0.0, 0.04, (loser.sum(), 1))
    return np.round(flows, 2)


def dated_flows(projects: int, periods: int = 20, seed: int = 0):
    """Cash flows on irregular dates: (values, Excel serial dates), both (projects x periods).

    Dates start in 2020-2024 and step forward by 20-120 days, so every row is
    sorted and whole-day.
    """
    rng = np.random.default_rng(seed + 1)
    values = annual_flows(projects, periods, seed) / 4.0
    start = EXCEL_SERIAL_2020 + rng.integers(0, 5 * 365, (projects, 1))
    steps = rng.integers(20, 121, (projects, periods - 1))
    dates = np.concatenate([start, start + np.cumsum(steps, axis=1)], axis=1)
    return values, dates.astype(float)
