"""Benchmark: 100,000 Monte Carlo trials of a 10-year case, against a loop of evaluations.

    python tests/benchmarks/bench_risk.py

The vectorised simulation (udfs.risk.simulate: every trial in one numpy pass)
against evaluating the same model one trial at a time in a Python loop
(udfs.model.evaluate per trial), 1,000 of them timed and scaled to 100,000.
"""

from __future__ import annotations

import platform
import time

import numpy as np

from udfs.model import build_model, evaluate
from udfs.risk import simulate
from workbooks.examples import example_spec

TRIALS = 100_000
LOOP = 1_000


def main() -> None:
    spec = example_spec("hardware")  # 10 years, annual, MACRS schedule, sales forecast
    model = build_model(spec)
    simulate(model, 1_000, 1)  # warm up
    times = []
    for seed in range(3):
        start = time.perf_counter()
        sim = simulate(model, TRIALS, seed)
        times.append(time.perf_counter() - start)
    vectorised = min(times)
    changes = np.random.default_rng(0).uniform(-0.2, 0.15, LOOP)
    start = time.perf_counter()
    for x in changes:
        evaluate(model, {"LowRevenue": float(x)}, "Low")
    loop = (time.perf_counter() - start) * TRIALS / LOOP
    s = sim.summary()
    print(
        f"# Monte Carlo: {TRIALS:,} trials of '{spec.meta.name}' ({spec.meta.horizon} years) "
        f"({platform.machine()}, Python {platform.python_version()}, numpy {np.__version__})\n"
    )
    print("| method | seconds for 100,000 trials |")
    print("|---|---:|")
    print(f"| bizcase simulate (vectorised across trials), best of 3 | {vectorised:.2f} |")
    print(f"| evaluate() in a Python loop: {LOOP:,} timed, scaled | {loop:.1f} |")
    print(
        f"\nVectorised is {loop / vectorised:,.0f}x faster. NPV mean {s['mean']:,.0f}, "
        f"P10 {s['p10']:,.0f}, P90 {s['p90']:,.0f}, P(NPV<0) {s['prob_negative']:.1%}."
    )


if __name__ == "__main__":
    main()
