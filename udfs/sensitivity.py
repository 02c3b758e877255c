"""One-way sensitivity (tornado) of a business case's NPV to its main drivers."""

from __future__ import annotations

from dataclasses import dataclass

from .model import Model, adjustment_names, evaluate
from .spec import SCENARIO_DRIVERS

#: The drivers a tornado shows, with their labels.
TORNADO_DRIVERS = {
    "tam": "Market size (TAM)",
    "target_share": "Target market share",
    "price": "Price",
    "cogs_pct": "COGS %",
    "fixed_opex": "Fixed opex",
    "headcount_cost": "Headcount cost",
    "development": "Development cost",
    "capex": "Capex",
    "discount_rate": "Discount rate",
}
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


def tornado(model: Model) -> list[TornadoBar]:
    """NPV with each driver moved alone to its Low and High setting, widest swing first.

    A driver's settings are the spec's Low/High scenario adjustments for it, or
    -/+20% where both are zero. Everything else stays at Base.
    """
    neutral = {}
    for key in SCENARIO_DRIVERS:
        low, high = adjustment_names(key)
        neutral[low] = 0.0
        neutral[high] = 0.0
    bars = []
    for key, label in TORNADO_DRIVERS.items():
        low_name, high_name = adjustment_names(key)
        low = model.input(low_name).value
        high = model.input(high_name).value
        if low == 0 and high == 0:
            low, high = -DEFAULT_SWING, DEFAULT_SWING
        npv = {}
        for scenario, name, change in (("Low", low_name, low), ("High", high_name, high)):
            values = dict(neutral)
            values[name] = change
            npv[scenario] = evaluate(model, values, scenario).outputs["NPV"]
        bars.append(TornadoBar(key, label, low, high, npv["Low"], npv["High"]))
    return sorted(bars, key=lambda b: b.swing, reverse=True)
