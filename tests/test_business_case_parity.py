"""Generated business-case workbooks against LibreOffice Calc.

Every shipped example and a set of randomized valid specs are generated with
:func:`workbooks.business_case.build_workbook`, saved once per position of the
scenario selector (``In_Scenario`` = Low, Base, High), and recalculated by
LibreOffice in a single ``soffice`` call for the whole module. Each
recalculated ``Out_*`` must equal what ``bizcase evaluate`` prints for that
file (``evaluate`` on ``read_business_case``'s inputs, for the scenario the
file selects) within relative 1e-9, with an absolute floor of 1e-9 for values
near zero; or both must be "no result" (an Excel error value in LibreOffice,
nan in the engine). ``Check_Master`` must be 1 in every recalculated workbook.

IRR is compared like every other output: the workbook starts Excel's IRR from
the periodic MIRR so that the iteration converges; a failure here where the
engine finds a root is a finding to report, not to loosen.

The randomized specs come from :func:`random_spec`. What shapes the layout
(annual/quarterly, revenue from the market build or a series, terminal value
method, loss treatment, number of gates, fixed cost lines and roles) is
assigned from the case number so that every variant is present
(``test_random_specs_cover_every_variant``); the rest is drawn from a seeded
generator, with money scaled to a drawn peak revenue so that cases have real
investments, paybacks and IRRs as well as cases without them. A draw is kept
only when the engine orders its scenarios Low <= Base <= High by NPV, since
the workbook's own checks (and so ``Check_Master``) require that of a
sensible case. Quarterly cases stop at 8 years (32 periods) to keep the
LibreOffice run short; annual ones use the whole 3-15 year range.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import openpyxl
import pytest
from libreoffice import recalculate

from udfs.model import build_model, evaluate
from udfs.spec import SCENARIO_DRIVERS, SCENARIOS, Spec, parse_spec
from workbooks.business_case import build_workbook
from workbooks.examples import EXAMPLES, example_spec
from workbooks.reader import read_business_case

RTOL = 1e-9
ATOL = 1e-9  # floor for outputs that are (nearly) zero
RANDOM_SEED = 20270
N_RANDOM = 8
TERMINAL_METHODS = ("none", "perpetuity", "exit_multiple", "perpetuity")

# Raising these drivers raises the case's value (+1) or lowers it (-1); the
# sign-dependent ones (growth rates, working capital) are decided per spec.
_HELPS = {
    "tam": 1,
    "sam_share": 1,
    "target_share": 1,
    "price": 1,
    "revenue": 1,
    "cogs_pct": -1,
    "variable_opex_pct": -1,
    "fixed_opex": -1,
    "headcount_cost": -1,
    "development": -1,
    "capex": -1,
    "discount_rate": -1,
    "cogs": -1,
    "other_costs": -1,
}


# --- randomized valid specs ----------------------------------------------------


def _money(rng: random.Random, low: float, high: float) -> float:
    return float(round(rng.uniform(low, high), -3))


def _years(rng: random.Random, count: int, low: float, high: float) -> list[float]:
    return [_money(rng, low, high) for _ in range(count)]


def _ramp(rng: random.Random, horizon: int, peak: float) -> list[float]:
    """A sales-forecast-like series: ramps up, plateaus, may stop early."""
    count = rng.randint(max(1, horizon - 2), horizon)
    start = rng.randint(0, min(2, count - 1))
    out = []
    for year in range(count):
        level = 0.0 if year < start else min(1.0, (year - start + 1) / rng.randint(2, 4))
        out.append(float(round(peak * level * rng.uniform(0.85, 1.1), -3)))
    return out


def _draw(index: int, rng: random.Random) -> dict:
    """A valid spec as a dict; money is scaled to the peak annual revenue."""
    quarterly = index % 3 == 2
    from_series = index % 2 == 1
    terminal = TERMINAL_METHODS[index % 4]
    losses = ("credit", "carry_forward")[(index // 2) % 2]
    n_gates = index % 4
    n_fixed = (3 * index + 1) % 4
    n_roles = (index + index // 4) % 4
    # Quarterly stops at 8 years (32 periods: still past column Z) for run time.
    horizon = rng.randint(3, 8) if quarterly else rng.randint(3, 15)
    peak = rng.uniform(8e6, 3e7)  # annual revenue once ramped up
    spec: dict = {
        "meta": {
            "name": f"Random case {index}",
            "owner": "Parity test",
            "currency": rng.choice(["USD", "EUR", "GBP"]),
            "start_year": rng.randint(2024, 2032),
            "horizon": horizon,
            "periods": "quarterly" if quarterly else "annual",
        },
        "costs": {
            "cogs_pct": round(rng.uniform(0.05, 0.45), 3),
            "variable_opex_pct": round(rng.uniform(0.0, 0.2), 3),
            "fixed": [
                {
                    "name": f"Fixed cost {k}",
                    "amount": _money(rng, 0.02 * peak, 0.08 * peak),
                    "growth": round(rng.uniform(-0.02, 0.06), 3),
                }
                for k in range(1, n_fixed + 1)
            ],
            "headcount": [
                {
                    "role": f"Role {k}",
                    "fte": float(rng.randint(1, 6)),
                    "loaded_cost": _money(rng, 6e4, 1.8e5),
                    "cost_growth": round(rng.uniform(0.0, 0.05), 3),
                }
                for k in range(1, n_roles + 1)
            ],
        },
        "investment": {
            "development": _years(rng, rng.choice([0, 1, 1, 2, 2, 3]), 0.1 * peak, 0.4 * peak),
            "capex": [
                _money(rng, 0.1 * peak, 0.5 * peak),
                *_years(rng, rng.randint(0, horizon - 1), 0.0, 0.1 * peak),
            ],
            "depreciation_life": rng.randint(1, 10),
            "salvage_value": _money(rng, 0.01 * peak, 0.1 * peak) if rng.random() < 0.5 else 0.0,
        },
        "finance": {
            "discount_rate": round(rng.uniform(0.05, 0.2), 4),
            "tax_rate": round(rng.uniform(0.1, 0.35), 3),
            "working_capital_pct": round(rng.uniform(-0.1, 0.25), 3),
            "terminal_value": terminal,
            "losses": losses,
        },
        "series": {},
    }
    finance = spec["finance"]
    if terminal == "perpetuity":
        # Below the discount rate even after a scenario lowers it by 20%.
        top = min(0.04, finance["discount_rate"] - 0.03)
        finance["terminal_growth"] = round(rng.uniform(-0.02, top), 4)
    elif terminal == "exit_multiple":
        finance["exit_multiple"] = round(rng.uniform(2.0, 12.0), 1)
    if not quarterly and rng.random() < 0.5:
        weights = [rng.uniform(0.2, 1.2) for _ in range(rng.randint(2, 8))]
        shares = [round(w / sum(weights), 4) for w in weights[:-1]]
        spec["investment"]["depreciation"] = "schedule"
        spec["investment"]["depreciation_schedule"] = [*shares, 1.0 - sum(shares)]
    if from_series:
        spec["series"]["revenue"] = _ramp(rng, horizon, peak)
    if not from_series or rng.random() < 0.5:  # market data may sit unused beside a series
        tam = _money(rng, 5e4, 2e6)
        sam_share = round(rng.uniform(0.1, 1.0), 3)
        target_share = round(rng.uniform(0.02, 0.3), 3)
        spec["market"] = {
            "tam": tam,
            "tam_growth": round(rng.uniform(-0.05, 0.15), 3),
            "sam_share": sam_share,
            "target_share": target_share,
            "years_to_target": rng.randint(1, 6),
            "launch_year": rng.randint(1, min(3, horizon)),
        }
        spec["pricing"] = {
            "price": round(peak / (tam * sam_share * target_share), 2),
            "price_change": round(rng.uniform(-0.04, 0.06), 3),
        }
    if rng.random() < 0.5:
        spec["series"]["cogs"] = _ramp(rng, horizon, rng.uniform(0.2, 0.5) * peak)
    if rng.random() < 0.5:
        spec["series"]["working_capital"] = _ramp(rng, horizon, rng.uniform(0.05, 0.2) * peak)
    if rng.random() < 0.5:
        spec["series"]["other_costs"] = _years(rng, rng.randint(1, horizon), 0.0, 0.05 * peak)
    if not quarterly and rng.random() < 0.25:
        spec["series"]["capex"] = [
            _money(rng, 0.1 * peak, 0.5 * peak),
            *_years(rng, rng.randint(0, horizon - 1), 0.0, 0.1 * peak),
        ]
    if rng.random() < 0.5:
        spec["baseline"] = {
            "description": "What the business keeps or loses without the case",
            "cash_flows": _years(rng, rng.randint(1, horizon), -0.05 * peak, 0.05 * peak),
        }
    years = sorted(rng.randint(0, min(horizon, 5)) for _ in range(n_gates))
    spec["risk"] = {
        "gates": [
            {"name": f"Gate {k}", "probability": round(rng.uniform(0.4, 0.95), 3), "until_year": y}
            for k, y in enumerate(years, start=1)
        ]
    }
    # The valuation clock: something paid now, mid-period timing, working capital
    # kept, a stated maintenance capex.
    if rng.random() < 0.5:
        spec["now"] = {
            "capex": _money(rng, 0.0, 0.3 * peak),
            "development": _money(rng, 0.0, 0.1 * peak),
            "other_costs": _money(rng, 0.0, 0.02 * peak),
            "working_capital": _money(rng, 0.0, 0.05 * peak),
        }
    if index % 4 == 1:
        finance["timing"] = "mid"
    if rng.random() < 0.3:
        finance["release_working_capital"] = False
    if terminal != "none" and rng.random() < 0.5:
        finance["maintenance_capex"] = _money(rng, 0.0, 0.05 * peak)
    helps = dict(_HELPS)
    market = spec.get("market", {})
    helps["tam_growth"] = 1 if market.get("tam_growth", 0) >= 0 else -1
    helps["price_change"] = 1 if spec.get("pricing", {}).get("price_change", 0) >= 0 else -1
    helps["working_capital_pct"] = -1 if finance["working_capital_pct"] >= 0 else 1
    helps["working_capital"] = helps["working_capital_pct"]
    low, high = {}, {}
    for key in rng.sample(SCENARIO_DRIVERS, rng.randint(0, 6)):
        top = 0.2 if key == "discount_rate" else 0.35
        low[key] = -helps[key] * round(rng.uniform(0.05, top), 3)
        high[key] = helps[key] * round(rng.uniform(0.05, top), 3)
    spec["scenarios"] = {"low": low, "high": high}
    return spec


def _scenarios_ordered(spec: Spec) -> bool:
    model = build_model(spec)
    npv = [evaluate(model, scenario=s).outputs["NPV"] for s in SCENARIOS]
    return all(math.isfinite(v) for v in npv) and npv[0] <= npv[1] <= npv[2]


@cache
def random_spec(index: int) -> Spec:
    """The ``index``-th randomized valid spec (deterministic)."""
    for attempt in range(100):
        rng = random.Random(RANDOM_SEED + 1000 * index + attempt)
        spec = parse_spec(_draw(index, rng), f"random spec {index}, attempt {attempt}")
        if _scenarios_ordered(spec):
            return spec
    raise AssertionError(f"random spec {index}: no draw with ordered scenarios")


RANDOM_CASES = {f"random{i:02d}": i for i in range(N_RANDOM)}
CASES = [*EXAMPLES, *RANDOM_CASES]


def case_spec(name: str) -> Spec:
    """The spec of a case: a shipped example or a randomized spec."""
    if name in RANDOM_CASES:
        return random_spec(RANDOM_CASES[name])
    return example_spec(name)


# --- one LibreOffice run for the module -------------------------------------------


@dataclass
class Run:
    """One workbook in one scenario: the engine's outputs and LibreOffice's."""

    source: Path
    engine: dict[str, float]
    libreoffice: dict[str, object]
    check_master: object


def _cell(wb, name: str):
    ((sheet, ref),) = wb.defined_names[name].destinations
    return wb[sheet][ref.replace("$", "")]


def _named_values(path: Path) -> dict[str, object]:
    """Cached values of the Out_ names and Check_Master (read-only: fast)."""
    wb = openpyxl.load_workbook(path, data_only=True, read_only=True)
    try:
        return {
            name: _cell(wb, name).value
            for name in wb.defined_names
            if name.startswith("Out_") or name == "Check_Master"
        }
    finally:
        wb.close()


@pytest.fixture(scope="module")
def runs(tmp_path_factory, soffice) -> dict[tuple[str, str], Run]:
    folder = tmp_path_factory.mktemp("business_case_parity")
    sources: dict[tuple[str, str], Path] = {}
    for name in CASES:
        wb = build_workbook(case_spec(name))
        selector = _cell(wb, "In_Scenario")
        for scenario in SCENARIOS:
            selector.value = scenario
            path = folder / f"{name}_{scenario}.xlsx"
            wb.save(path)
            sources[name, scenario] = path
    recalculated = recalculate(list(sources.values()), folder / "libreoffice", soffice=soffice)
    engine = {}
    for name in CASES:
        # What `bizcase evaluate FILE --json` prints for each copy: the copies
        # differ only in In_Scenario, so one read per case serves all three
        # (test_engine_side_reads_each_copys_selector checks that shortcut).
        case = read_business_case(sources[name, "Base"])
        assert case.scenario == "Base"
        for scenario in SCENARIOS:
            engine[name, scenario] = evaluate(case.model, case.values, scenario).outputs
    out = {}
    for key, result in zip(sources, recalculated, strict=True):
        values = _named_values(result)
        out[key] = Run(
            source=sources[key],
            engine=engine[key],
            libreoffice={
                k.removeprefix("Out_"): v for k, v in values.items() if k.startswith("Out_")
            },
            check_master=values.get("Check_Master"),
        )
    return out


def _agree(engine: float, calc) -> bool:
    """Equal within RTOL (ATOL near zero), or no result in both."""
    calc_is_number = isinstance(calc, (int, float)) and not isinstance(calc, bool)
    if math.isfinite(engine) and calc_is_number:
        return abs(calc - engine) <= RTOL * abs(engine) + ATOL
    calc_is_error = isinstance(calc, str) and calc.startswith("#")
    return calc_is_error and not math.isfinite(engine)


PARAMS = [pytest.param(c, s, id=f"{c}-{s}") for c in CASES for s in SCENARIOS]


def test_random_specs_cover_every_variant():
    specs = [random_spec(i) for i in range(N_RANDOM)]
    seen = {
        "periods": {s.meta.periods for s in specs},
        "timeline past column Z": {s.periods > 22 for s in specs},
        "revenue": {s.series.revenue is not None for s in specs},
        "cogs series": {s.series.cogs is not None for s in specs},
        "working capital series": {s.series.working_capital is not None for s in specs},
        "other costs series": {s.series.other_costs is not None for s in specs},
        "depreciation": {s.investment.depreciation for s in specs},
        "salvage": {s.investment.salvage_value > 0 for s in specs},
        "terminal": {s.finance.terminal_value for s in specs},
        "losses": {s.finance.losses for s in specs},
        "gates": {len(s.risk.gates) for s in specs},
        "baseline": {bool(s.baseline.cash_flows) for s in specs},
        "scenario adjustments": {s.scenarios.low != s.scenarios.high for s in specs},
        "fixed costs": {len(s.costs.fixed) for s in specs},
        "roles": {len(s.costs.headcount) for s in specs},
        "launch after year 1": {s.market is not None and s.market.launch_year > 1 for s in specs},
        "paid now": {s.now.capex > 0 for s in specs},
        "timing": {(s.finance.timing, s.meta.periods) for s in specs},
        "working capital kept": {not s.finance.release_working_capital for s in specs},
    }
    expected = {
        "periods": {"annual", "quarterly"},
        "timeline past column Z": {True, False},
        "revenue": {True, False},
        "cogs series": {True, False},
        "working capital series": {True, False},
        "other costs series": {True, False},
        "depreciation": {"straight_line", "schedule"},
        "salvage": {True, False},
        "terminal": {"none", "perpetuity", "exit_multiple"},
        "losses": {"credit", "carry_forward"},
        "gates": {0, 1, 2, 3},
        "baseline": {True, False},
        "scenario adjustments": {True, False},
        "fixed costs": {0, 1, 2, 3},
        "roles": {0, 1, 2, 3},
        "launch after year 1": {True, False},
        "paid now": {True, False},
        "timing": {
            ("end", "annual"),
            ("mid", "annual"),
            ("end", "quarterly"),
            ("mid", "quarterly"),
        },
        "working capital kept": {True, False},
    }
    missing = {k: expected[k] - seen[k] for k in expected if expected[k] - seen[k]}
    assert not missing, f"randomized specs lack variants: {missing}"


@pytest.mark.parametrize(("case", "scenario"), PARAMS)
def test_every_output_matches_the_engine_in_libreoffice(runs, case, scenario):
    run = runs[case, scenario]
    assert set(run.libreoffice) == set(run.engine), (
        f"{run.source.name}: Out_ names {sorted(run.libreoffice)} vs engine "
        f"outputs {sorted(run.engine)}"
    )
    mismatches = [
        f"Out_{name}: engine {run.engine[name]!r}, LibreOffice {run.libreoffice[name]!r}"
        for name in run.engine
        if not _agree(run.engine[name], run.libreoffice[name])
    ]
    assert not mismatches, f"{run.source.name}: " + "; ".join(mismatches)


@pytest.mark.parametrize(("case", "scenario"), PARAMS)
def test_master_check_passes_in_libreoffice(runs, case, scenario):
    run = runs[case, scenario]
    assert run.check_master == 1, f"{run.source.name}: Check_Master = {run.check_master!r}"


def test_outputs_follow_the_scenario_selector(runs):
    # Guards against a selector the workbook ignores: in some case, the three
    # positions give three different NPVs in LibreOffice.
    moved = [
        case
        for case in CASES
        if len({runs[case, s].libreoffice["NPV"] for s in SCENARIOS}) == len(SCENARIOS)
    ]
    assert moved, "no case's Out_NPV changed with In_Scenario"


def test_engine_side_reads_each_copys_selector(runs):
    # The fixture reads each case once and passes the scenario explicitly;
    # reading every copy of one case, as `bizcase evaluate` would, agrees.
    case_name = next(iter(EXAMPLES))
    for scenario in SCENARIOS:
        run = runs[case_name, scenario]
        case = read_business_case(run.source)
        assert case.scenario == scenario
        outputs = evaluate(case.model, case.values).outputs
        assert outputs.keys() == run.engine.keys()
        for name, value in outputs.items():
            assert value == run.engine[name] or (math.isnan(value) and math.isnan(run.engine[name]))
