"""Sensitivity of a business case: tornado, two-way grid, break-even.

Every driver moves by a relative change x (the driver becomes base * (1 + x),
as in the scenarios), everything else stays at Base. All cases of a tornado or
a grid are evaluated in one vectorised pass. The tornado shows the drivers
that move the case (:func:`tornado_drivers`): a forecast series given
explicitly is scaled as a whole, and working capital is a driver of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .errors import InputError
from .model import _ADJUSTED, NOW_INPUTS, Model, adjustment_names, evaluate_trials, input_values
from .spec import DRIVERS, SCENARIO_DRIVERS

if TYPE_CHECKING:  # pandas and scipy load only for the grid and the break-even search
    import pandas as pd

#: Tornado labels of the drivers: their scenario labels.
TORNADO_DRIVERS = {d.key: d.label for d in DRIVERS}
DEFAULT_SWING = 0.20  # +/- 20% where the spec's scenarios leave a driver alone


@dataclass(frozen=True)
class TornadoBar:
    key: str
    label: str
    low_change: float
    high_change: float
    npv_low: float
    npv_high: float

    @property
    def swing(self) -> float:
        return abs(self.npv_high - self.npv_low)


def _neutral(values: dict | None) -> dict:
    """Inputs with every scenario adjustment zeroed: Base, in the Low slot."""
    out = dict(values or {})
    for key in SCENARIO_DRIVERS:
        low, high = adjustment_names(key)
        out[low] = 0.0
        out[high] = 0.0
    return out


def _changes(model: Model, key: str, values: dict | None) -> tuple[float, float]:
    low_name, high_name = adjustment_names(key)
    source = values or {}
    lo = float(source.get(low_name, model.input(low_name).value))
    hi = float(source.get(high_name, model.input(high_name).value))
    if lo == 0 and hi == 0:
        return -DEFAULT_SWING, DEFAULT_SWING
    return lo, hi


def with_changes(
    model: Model, changes: dict[str, np.ndarray], values: dict | None = None, output: str = "NPV"
) -> np.ndarray:
    """``output`` with each driver moved by its changes (arrays of one length)."""
    inputs = _neutral(values)
    for key, change in changes.items():
        if key not in SCENARIO_DRIVERS:
            raise InputError(
                f"driver: {key!r} is not a driver; choose from {', '.join(SCENARIO_DRIVERS)}"
            )
        inputs[adjustment_names(key)[0]] = np.asarray(change, dtype=float)
    public = [o.name for o in model.outputs if o.public]  # not helpers such as IRRGuess
    if output not in public:
        raise InputError(f"output: no output named {output!r}; choose from {', '.join(public)}")
    return evaluate_trials(model, inputs, "Low").outputs[output]


def tornado_drivers(model: Model, values: dict | None = None) -> dict[str, str]:
    """The drivers that move this case, with their labels.

    Revenue from a forecast series is one driver (the series scaled), else the
    market build's size, share and price; COGS likewise (the series or its %).
    Cost lines, development, capex and working capital count where the case
    has them (the period-0 amounts included); the discount rate always.
    """
    v = input_values(model)
    v.update(values or {})

    def has(*names: str) -> bool:
        return any(np.any(np.asarray(v[n], dtype=float) != 0) for n in names if n in v)

    def with_now(series: str) -> tuple[str, ...]:
        return (series, NOW_INPUTS[series][0])

    spec = model.spec
    fixed = [f"Fixed{i}" for i in range(1, len(spec.costs.fixed) + 1)]
    roles = [f"Role{i}FTE" for i in range(1, len(spec.costs.headcount) + 1)]
    keys = ["revenue"] if has("RevenueFromSeries") else ["tam", "target_share", "price"]
    keys.append("cogs" if has("COGSFromSeries") else "cogs_pct")
    optional = {
        "variable_opex_pct": has("VariableOpexPct"),
        "fixed_opex": has(*fixed),
        "headcount_cost": has(*roles),
        "other_costs": has(*with_now("OtherCosts")),
        "development": has(*with_now("Development")),
        "capex": has(*with_now("Capex")),
        "working_capital": has(*with_now("WorkingCapitalSeries"))
        if has("WCFromSeries")
        else has("WorkingCapitalPct", "WorkingCapitalNow"),
    }
    keys += [k for k, present in optional.items() if present]
    keys.append("discount_rate")
    return {k: TORNADO_DRIVERS[k] for k in keys}


def tornado(
    model: Model,
    output: str = "NPV",
    drivers: dict[str, str] | None = None,
    values: dict | None = None,
) -> list[TornadoBar]:
    """``output`` with each driver moved alone to its Low and High setting, widest first.

    ``drivers`` default to :func:`tornado_drivers`. A driver's settings are its
    Low/High scenario adjustments where the spec gives them, or -/+20% where
    both are zero (one set in a single scenario keeps 0 on the other side).
    """
    drivers = drivers or tornado_drivers(model, values)
    keys = list(drivers)
    settings = [_changes(model, k, values) for k in keys]
    n = len(keys)
    changes = {k: np.zeros(2 * n) for k in keys}
    for i, (k, (lo, hi)) in enumerate(zip(keys, settings, strict=True)):
        changes[k][2 * i], changes[k][2 * i + 1] = lo, hi
    result = with_changes(model, changes, values, output)
    bars = [
        TornadoBar(k, drivers[k], lo, hi, float(result[2 * i]), float(result[2 * i + 1]))
        for i, (k, (lo, hi)) in enumerate(zip(keys, settings, strict=True))
    ]
    return sorted(bars, key=lambda b: b.swing, reverse=True)


def grid(
    model: Model,
    driver_a: str,
    changes_a,
    driver_b: str,
    changes_b,
    output: str = "NPV",
    values: dict | None = None,
) -> pd.DataFrame:
    """Two-way table: ``output`` for every pair of changes (rows a, columns b)."""
    import pandas as pd

    a = np.asarray(changes_a, dtype=float)
    b = np.asarray(changes_b, dtype=float)
    if driver_a == driver_b:
        raise InputError("driver_b: must differ from driver_a")
    aa, bb = np.meshgrid(a, b, indexing="ij")
    result = with_changes(model, {driver_a: aa.ravel(), driver_b: bb.ravel()}, values, output)
    return pd.DataFrame(
        result.reshape(a.size, b.size),
        index=pd.Index(a, name=driver_a),
        columns=pd.Index(b, name=driver_b),
    )


@dataclass(frozen=True)
class BreakEven:
    driver: str
    change: float  # relative change at which the output is zero
    value: float  # the driver's value there (a factor for drivers without one input)
    output_at: float
    unit: str = "x base"  # of ``value``: the input's unit, or "x base" for a factor


def breakeven(
    model: Model,
    driver: str,
    output: str = "NPV",
    values: dict | None = None,
    low: float = -0.99,
    high: float = 10.0,
) -> BreakEven | None:
    """The change in ``driver`` that makes ``output`` zero, or None if none in [low, high].

    Scans the range for a sign change, then solves with Brent's method to
    machine precision.
    """
    from scipy.optimize import brentq

    def f(x: float) -> float:
        return float(with_changes(model, {driver: np.array([x])}, values, output)[0])

    scan = np.linspace(low, high, 221)
    ys = with_changes(model, {driver: scan}, values, output)
    finite = np.isfinite(ys)
    signs = np.sign(ys)
    base_at = int(np.argmin(np.abs(scan)))
    crossings = [
        i
        for i in range(scan.size - 1)
        if finite[i] and finite[i + 1] and signs[i] * signs[i + 1] <= 0
    ]
    if not crossings:
        return None
    scale = np.abs(ys[finite]).max()
    for i in sorted(crossings, key=lambda j: abs(j - base_at)):  # nearest today's value first
        x = (
            float(scan[i])
            if ys[i] == 0
            else brentq(
                f, scan[i], scan[i + 1], xtol=1e-15, rtol=4 * np.finfo(float).eps, maxiter=200
            )
        )
        at = f(x)
        if abs(at) <= 1e-9 * scale:  # a root, not a pole where the output jumps sign
            name, _ = _ADJUSTED[driver]
            if name is None:
                return BreakEven(driver, x, 1 + x, at)
            base = float((values or {}).get(name, model.input(name).value))
            return BreakEven(driver, x, base * (1 + x), at, model.input(name).unit)
    return None
