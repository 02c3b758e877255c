"""The largest case and portfolio bizcase handles: time and peak memory of each.

    python tests/benchmarks/bench_limits.py

The largest case the spec allows: 15 years, quarterly (60 periods), 200 fixed
costs and 200 roles (``udfs.spec.MAX_ROWS``). Each command runs as its own
process, so the peak memory (maximum resident set) is that command's alone.
Selection is timed on random portfolios of growing size, with one total budget
and with ten yearly budgets (the harder problem). The README's "Limits"
section records the numbers.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from udfs.spec import MAX_ROWS
from workbooks.examples import example_spec

BIZCASE = str(Path(sys.executable).parent / "bizcase")


def largest_spec() -> dict:
    spec = example_spec("analytics_addon").model_dump(mode="json")
    spec["meta"].update(horizon=15, periods="quarterly")
    spec["costs"]["fixed"] = [
        {"name": f"Fixed {i}", "amount": 1000.0, "growth": 0.02} for i in range(MAX_ROWS)
    ]
    spec["costs"]["headcount"] = [
        {"role": f"Role {i}", "fte": 1.0, "loaded_cost": 1000.0, "cost_growth": 0.02}
        for i in range(MAX_ROWS)
    ]
    return spec


def timed(*args: str) -> tuple[float, float]:
    """Seconds and peak MiB of one bizcase process (its own rusage, from wait4)."""
    start = time.perf_counter()
    process = subprocess.Popen([BIZCASE, *args], stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"bizcase {' '.join(args)} failed")
    return seconds, usage.ru_maxrss / 1024


def selection(n: int, years: int) -> float:
    from udfs.portfolio import select

    rng = np.random.default_rng(1)
    values = rng.lognormal(15, 1, n)
    costs = rng.lognormal(15, 0.8, (n, years))
    budget = costs.sum(axis=0) * 0.3
    start = time.perf_counter()
    select(values, costs if years > 1 else costs[:, 0], budget if years > 1 else budget[0])
    return time.perf_counter() - start


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        spec = Path(folder) / "largest.json"
        spec.write_text(json.dumps(largest_spec()), encoding="utf-8")
        book = str(Path(folder) / "largest.xlsx")
        print("# The largest case: 15 years quarterly, 200 fixed costs, 200 roles\n")
        print("| command | seconds | peak MiB |")
        print("|---|---:|---:|")
        for label, args in [
            ("new", ("new", str(spec), "-o", book)),
            ("evaluate", ("evaluate", book)),
            ("simulate, 10,000 trials", ("simulate", book, "--trials", "10000")),
            ("simulate, 100,000 trials", ("simulate", book, "--trials", "100000")),
        ]:
            seconds, mib = timed(*args)
            print(f"| {label} | {seconds:.1f} | {mib:.0f} |")
    print("\n# Exact selection (HiGHS), random portfolios\n")
    print("| cases | budget | seconds |")
    print("|---:|---|---:|")
    for n, years in [(200, 1), (1000, 1), (5000, 1), (100, 10), (200, 10)]:
        kind = "one total" if years == 1 else f"{years} yearly"
        print(f"| {n:,} | {kind} | {selection(n, years):.2f} |")


if __name__ == "__main__":
    main()
