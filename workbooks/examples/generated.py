"""A seeded set of varied, plausible business cases, for demos and benchmarks.

Not random noise: each case is a product with a market, a price, a cost base
and an investment profile drawn from ranges a product portfolio really holds,
across product lines and lifecycle stages, some with risk gates, forecasts,
schedules, sunsets and mutually exclusive alternatives.
"""

from __future__ import annotations

import numpy as np

from udfs.spec import Spec, parse_spec

LINES = ("Analytics", "Collaboration", "Devices", "Platform", "Payments")
NOUNS = (
    "Atlas",
    "Beacon",
    "Cobalt",
    "Delta",
    "Ember",
    "Fjord",
    "Gamma",
    "Helix",
    "Iris",
    "Juno",
    "Krypton",
    "Lumen",
    "Mosaic",
    "Nimbus",
    "Orbit",
    "Prism",
    "Quartz",
    "Relay",
    "Summit",
    "Tidal",
    "Umbra",
    "Vega",
    "Willow",
    "Xenon",
    "Yarrow",
    "Zephyr",
)
KINDS = ("add-on", "app", "platform module", "device", "service tier", "integration")


def varied_specs(count: int = 20, seed: int = 7) -> list[Spec]:
    """``count`` valid specs, the same for the same seed."""
    rng = np.random.default_rng(seed)
    return [_one(rng, i) for i in range(count)]


def _one(rng: np.random.Generator, i: int) -> Spec:
    line = LINES[i % len(LINES)]
    stage = str(
        rng.choice(
            ["concept", "development", "launch", "growth", "mature", "decline"],
            p=[0.15, 0.3, 0.15, 0.2, 0.12, 0.08],
        )
    )
    horizon = int(rng.integers(5, 11))
    quarterly = bool(rng.random() < 0.15)
    name = f"{NOUNS[i % len(NOUNS)]} {rng.choice(KINDS)}" + (
        f" {i // len(NOUNS) + 1}" if i >= len(NOUNS) else ""
    )
    price = float(np.round(rng.uniform(50, 2000), 0))
    units = float(np.round(rng.uniform(4e7, 3e8) / price, -2))  # TAM worth EUR 40-300m a year
    invest = float(np.round(rng.uniform(0.3e6, 4e6), -4))
    spec = {
        "meta": {
            "name": name,
            "product_line": line,
            "owner": "Portfolio demo",
            "currency": "EUR",
            "start_year": 2027 + int(rng.integers(0, 2)),
            "horizon": horizon,
            "periods": "quarterly" if quarterly else "annual",
            "stage": stage,
            "id": f"case-{i + 1:02d}",
            "strategic_score": float(np.round(rng.uniform(2, 9), 1)),
            "decision": f"Fund {name} through its next stage",
        },
        "market": {
            "tam": units,
            "tam_growth": float(np.round(rng.uniform(-0.02, 0.15), 3)),
            "sam_share": float(np.round(rng.uniform(0.1, 0.6), 2)),
            "target_share": float(np.round(rng.uniform(0.02, 0.12), 3)),
            "years_to_target": int(rng.integers(2, 5)),
            "launch_year": int(rng.integers(1, 3)),
        },
        "pricing": {"price": price, "price_change": float(np.round(rng.uniform(-0.03, 0.04), 3))},
        "costs": {
            "cogs_pct": float(np.round(rng.uniform(0.15, 0.55), 2)),
            "variable_opex_pct": float(np.round(rng.uniform(0.03, 0.15), 2)),
            "fixed": [
                {
                    "name": "Marketing",
                    "amount": float(np.round(invest * rng.uniform(0.05, 0.3), -3)),
                    "growth": 0.03,
                }
            ],
            "headcount": [
                {
                    "role": "Team",
                    "fte": float(rng.integers(2, 12)),
                    "loaded_cost": float(np.round(rng.uniform(80e3, 160e3), -3)),
                    "cost_growth": 0.03,
                }
            ],
        },
        "investment": {
            "development": [invest * 0.6, invest * 0.4],
            "capex": [float(np.round(invest * rng.uniform(0, 0.8), -3))],
            "depreciation_life": int(rng.integers(3, 8)),
        },
        "finance": {
            "discount_rate": float(np.round(rng.uniform(0.08, 0.14), 3)),
            "tax_rate": 0.25,
            "working_capital_pct": float(np.round(rng.uniform(0.0, 0.15), 2)),
            "terminal_value": str(rng.choice(["none", "perpetuity", "exit_multiple"])),
            "terminal_growth": 0.01,
            "exit_multiple": float(np.round(rng.uniform(3, 8), 1)),
            "losses": str(rng.choice(["carry_forward", "credit"])),
        },
        "scenarios": {
            "low": {"target_share": -0.3, "price": -0.1},
            "high": {"target_share": 0.25, "price": 0.05},
        },
    }
    if stage in ("concept", "development"):
        spec["risk"] = {
            "gates": [
                {
                    "name": "Validation",
                    "until_year": 1,
                    "probability": float(np.round(rng.uniform(0.5, 0.9), 2)),
                }
            ]
        }
    if i % 7 == 3:  # two alternatives for the same slot: fund at most one
        spec["meta"]["exclusive_group"] = f"slot-{i // 7}"
    if i % 7 == 4:
        spec["meta"]["exclusive_group"] = f"slot-{i // 7}"
    if i % 9 == 5 and i > 0:
        spec["meta"]["depends_on"] = f"case-{i:02d}"  # builds on the case before it
    return parse_spec(spec, f"generated case {i + 1}")
