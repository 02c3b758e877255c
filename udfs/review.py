"""The quarterly review: why the portfolio's NPV moved between two rollups.

A rollup recorded in the history (:mod:`workbooks.history`) keeps, for each
case, the spec it was built from, every input value and the NPV the engine
gave. :func:`bridge` explains the change in portfolio NPV from one rollup to
the next as components that add up to it exactly:

1. cases **added** (their NPV now) and **removed** (minus their NPV then);
2. for each continuing case, a walk from its old inputs to its new ones that
   replaces one family of inputs at a time, in the order of :data:`FAMILIES`
   (market and volume, price, costs, investment, timing, discount rate, other
   inputs), re-evaluating the model after each step; each family's component
   is the change in NPV its step made, at the old exchange rate;
3. **currency rates**: the continuing cases' new NPV at the new rate minus at
   the old one.

The walk runs on the model rebuilt from the case's new spec. What it cannot
attribute to an input lands in **restated**: the old inputs evaluated by
today's model differ from the NPV recorded then (the engine changed), or the
case's structure changed (another horizon, a role added, another currency)
so that the inputs cannot be swapped family by family. The components telescope, so they sum to
the change to rounding, whatever order the families take; the order decides
only how interactions (a higher price on more volume) are shared out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .errors import InputError
from .model import build_model, evaluate, input_values
from .spec import SpecError, parse_spec

FAMILIES = (
    ("market", "Market and volume"),
    ("price", "Price"),
    ("costs", "Costs"),
    ("investment", "Investment"),
    ("timing", "Timing"),
    ("discount_rate", "Discount rate"),
    ("other", "Other inputs (tax, working capital, terminal value, scenario)"),
)
COMPONENTS = (
    ("added", "Cases added"),
    ("removed", "Cases removed"),
    *FAMILIES,
    ("currency", "Currency rates"),
    ("restated", "Restated (model or case structure changed)"),
)

# Scenario adjustments (LowPrice, HighTam, ...) follow the driver they adjust.
_DRIVER_FAMILY = {
    "Tam": "market",
    "TamGrowth": "market",
    "SamShare": "market",
    "TargetShare": "market",
    "Revenue": "market",
    "Price": "price",
    "PriceChange": "price",
    "CogsPct": "costs",
    "VariableOpexPct": "costs",
    "FixedOpex": "costs",
    "HeadcountCost": "costs",
    "Development": "investment",
    "Capex": "investment",
    "DiscountRate": "discount_rate",
}
_BY_NAME = {
    "LaunchYear": "timing",
    "StartYear": "timing",
    "Horizon": "timing",
    "PeriodsPerYear": "timing",
    "DiscountRate": "discount_rate",
    "RevenueSeries": "market",
    "RevenueFromSeries": "market",
    "COGSSeries": "costs",
    "COGSFromSeries": "costs",
    "OtherCosts": "costs",
    "Development": "investment",
    "Capex": "investment",
}
_BY_SECTION = {
    "Market": "market",
    "Pricing": "price",
    "Costs": "costs",
    "Fixed opex": "costs",
    "Headcount": "costs",
    "Investment": "investment",
}


def family(name: str, section: str = "") -> str:
    """The driver family an input belongs to (a key of :data:`FAMILIES`).

    Examples
    --------
    >>> family("TargetShare", "Market"), family("LowPrice", "Scenarios")
    ('market', 'price')
    >>> family("LaunchYear", "Market"), family("TaxRate", "Finance")
    ('timing', 'other')
    """
    if name in _BY_NAME:
        return _BY_NAME[name]
    if section == "Scenarios" and name.startswith(("Low", "High")):
        driver = name.removeprefix("Low").removeprefix("High")
        return _DRIVER_FAMILY.get(driver, "other")
    if "Timing" in name or "MidPeriod" in name:
        return "timing"
    return _BY_SECTION.get(section, "other")


@dataclass
class CaseRecord:
    """One case of a recorded rollup, as the history keeps it.

    ``npv`` is in the case's own currency; ``fx_rate`` converts it into the
    rollup's currency. ``spec`` is the spec as JSON data, ``inputs`` every
    input value (series as lists).
    """

    id: str
    npv: float
    fx_rate: float = 1.0
    spec: dict | None = None
    inputs: dict = field(default_factory=dict)
    name: str = ""
    product_line: str = ""
    selected: bool = True
    capital: float = 0.0
    kpi_actuals: dict = field(default_factory=dict)
    kpi_targets: dict = field(default_factory=dict)


@dataclass
class Bridge:
    """The NPV change from ``start`` to ``end`` as components (key -> amount)."""

    start: float
    end: float
    components: dict[str, float]
    by_case: dict[str, dict[str, float]]  # case id -> component -> amount

    @property
    def change(self) -> float:
        return self.end - self.start

    def rows(self) -> list[tuple[str, str, float]]:
        """(key, label, amount) in the stated order."""
        return [(k, label, self.components[k]) for k, label in COMPONENTS]


def bridge(old: list[CaseRecord], new: list[CaseRecord]) -> Bridge:
    """Explain the portfolio NPV change from rollup ``old`` to rollup ``new``.

    Parameters
    ----------
    old, new : list of CaseRecord
        The cases of two rollups in one portfolio currency, matched by id.

    Returns
    -------
    Bridge
        ``start`` and ``end`` are the portfolio NPVs (sum of npv * fx_rate);
        the components sum to ``end - start`` to rounding.

    Examples
    --------
    A case added and one removed, with no model to re-evaluate:

    >>> b = bridge([CaseRecord("a", 100.0), CaseRecord("b", 40.0)],
    ...            [CaseRecord("a", 100.0), CaseRecord("c", 25.0, fx_rate=2.0)])
    >>> b.start, b.end, b.components["added"], b.components["removed"]
    (140.0, 150.0, 50.0, -40.0)
    """
    components = {key: 0.0 for key, _ in COMPONENTS}
    by_case: dict[str, dict[str, float]] = {}
    before = {c.id: c for c in old}
    after = {c.id: c for c in new}
    for c in new:
        if c.id not in before:
            by_case[c.id] = {"added": c.npv * c.fx_rate}
    for c in old:
        if c.id not in after:
            by_case[c.id] = {"removed": -c.npv * c.fx_rate}
    for c in new:
        if c.id in before:
            by_case[c.id] = _continuing(before[c.id], c)
    for parts in by_case.values():
        for key, amount in parts.items():
            components[key] += amount
    start = math.fsum(c.npv * c.fx_rate for c in old)
    end = math.fsum(c.npv * c.fx_rate for c in new)
    return Bridge(start, end, components, by_case)


def _continuing(was: CaseRecord, now: CaseRecord) -> dict[str, float]:
    """One case's walk from its old inputs to its new ones (see the module's notes)."""
    if _currency(was) != _currency(now):  # the NPVs are in two currencies: no walk
        return {"currency": 0.0, "restated": now.npv * now.fx_rate - was.npv * was.fx_rate}
    parts = {"currency": now.npv * (now.fx_rate - was.fx_rate)}
    model = _model(now.spec)
    if model is None or not _same_shape(model, was.inputs, now.inputs):
        parts["restated"] = (now.npv - was.npv) * was.fx_rate
        return parts
    current = dict(was.inputs)
    value = _npv(model, current)
    parts["restated"] = (value - was.npv) * was.fx_rate
    sections = {i.name: i.section for i in model.inputs}
    for key, _ in FAMILIES:
        names = [n for n in now.inputs if family(n, sections.get(n, "")) == key]
        changed = [n for n in names if not _equal(current.get(n), now.inputs[n])]
        if not changed:
            parts[key] = 0.0
            continue
        current.update({n: now.inputs[n] for n in changed})
        step = _npv(model, current)
        parts[key] = (step - value) * was.fx_rate
        value = step
    parts["restated"] += (now.npv - value) * was.fx_rate
    return parts


def _currency(case: CaseRecord) -> str | None:
    return ((case.spec or {}).get("meta") or {}).get("currency")


def _model(spec: dict | None):
    if spec is None:
        return None
    try:
        return build_model(parse_spec(spec, "recorded spec"))
    except SpecError:
        return None  # a spec this version no longer reads: the case is restated whole


def _same_shape(model, old: dict, new: dict) -> bool:
    """Both input sets name the model's inputs and their series have the same lengths."""
    names = set(input_values(model))
    if set(old) != names or set(new) != names:
        return False
    return all(np.shape(old[n]) == np.shape(new[n]) for n in names)


def _equal(a, b) -> bool:
    if isinstance(a, str) or isinstance(b, str):
        return a == b
    return np.array_equal(np.asarray(a, dtype=float), np.asarray(b, dtype=float), equal_nan=True)


def _npv(model, values: dict) -> float:
    try:
        return evaluate(model, values).outputs["NPV"]
    except ValueError as e:
        raise InputError(f"review: a recorded case cannot be re-evaluated ({e})") from None


@dataclass
class KpiStatus:
    """Actuals against target for one KPI of one case, over the years with actuals."""

    case: str
    product_line: str
    kpi: str
    years: list[int]
    actual: float
    target: float
    off_track: bool

    @property
    def variance(self) -> float:
        return self.actual - self.target


TOLERANCE = 0.1  # a KPI short of target by more than this share of it is off track


def kpi_status(cases: list[CaseRecord], tolerance: float = TOLERANCE) -> list[KpiStatus]:
    """Each case's KPI actuals against target, summed over the years that have actuals.

    A KPI is off track when its actual falls short of target by more than
    ``tolerance`` of the target's size (every KPI recorded is one where more is
    better: units, revenue, EBITDA, free cash flow).

    Examples
    --------
    >>> c = CaseRecord("a", 0.0, kpi_actuals={"Revenue": {"2027": 80.0}},
    ...                kpi_targets={"Revenue": {"2027": 100.0, "2028": 150.0}})
    >>> s = kpi_status([c])[0]
    >>> s.years, s.actual, s.target, s.off_track
    ([2027], 80.0, 100.0, True)
    """
    out = []
    for c in cases:
        for kpi, actuals in c.kpi_actuals.items():
            targets = c.kpi_targets.get(kpi, {})
            years = sorted(int(y) for y in actuals if str(y) in targets)
            if not years:
                continue
            actual = math.fsum(float(actuals[str(y)]) for y in years)
            target = math.fsum(float(targets[str(y)]) for y in years)
            short = actual < target - tolerance * abs(target)
            out.append(KpiStatus(c.id, c.product_line, kpi, years, actual, target, short))
    return out


def kpi_by_line(statuses: list[KpiStatus]) -> list[KpiStatus]:
    """The statuses summed by product line and KPI (off track when any case is)."""
    grouped: dict[tuple[str, str], list[KpiStatus]] = {}
    for s in statuses:
        grouped.setdefault((s.product_line, s.kpi), []).append(s)
    return [
        KpiStatus(
            "",
            line,
            kpi,
            sorted({y for s in group for y in s.years}),
            math.fsum(s.actual for s in group),
            math.fsum(s.target for s in group),
            any(s.off_track for s in group),
        )
        for (line, kpi), group in grouped.items()
    ]


@dataclass
class FundedChange:
    """Which cases the funded set gained, lost and kept."""

    funded: list[str]
    unfunded: list[str]
    kept: list[str]


def funded_change(old: list[CaseRecord], new: list[CaseRecord]) -> FundedChange:
    """The funded set's change between two rollups (a removed case leaves it).

    Examples
    --------
    >>> f = funded_change([CaseRecord("a", 1.0), CaseRecord("b", 1.0, selected=False)],
    ...                   [CaseRecord("a", 1.0, selected=False), CaseRecord("b", 1.0)])
    >>> f.funded, f.unfunded, f.kept
    (['b'], ['a'], [])
    """
    was = {c.id for c in old if c.selected}
    now = {c.id for c in new if c.selected}
    return FundedChange(sorted(now - was), sorted(was - now), sorted(was & now))
