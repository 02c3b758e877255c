"""Benchmark: rolling up 1,000 business-case workbooks vs merely opening them with openpyxl.

    python tests/benchmarks/bench_rollup.py [--workbooks N]

The folder holds copies of the four bundled examples under distinct names (a
case's id is its file name when the spec gives none). bizcase reads each
file's defined names and inputs, evaluates it with the engine and builds the
portfolio; the baseline only opens each file with openpyxl in read-only mode
and closes it again.
"""

from __future__ import annotations

import argparse
import platform
import shutil
import tempfile
import time
from pathlib import Path

import openpyxl

from workbooks.business_case import write_business_case
from workbooks.examples import EXAMPLES, example_spec
from workbooks.portfolio_workbook import build_portfolio
from workbooks.rollup import build_report, read_cases, workbook_paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workbooks", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "cases"
        sources = [write_business_case(example_spec(n), Path(tmp) / f"{n}.xlsx") for n in EXAMPLES]
        folder.mkdir()
        for i in range(args.workbooks):
            shutil.copy(sources[i % len(sources)], folder / f"case-{i:05d}.xlsx")
        paths = workbook_paths([folder])

        start = time.perf_counter()
        for p in paths:
            openpyxl.load_workbook(p, read_only=True).close()
        opening = time.perf_counter() - start

        start = time.perf_counter()
        rolled = read_cases(paths)
        reading = time.perf_counter() - start
        start = time.perf_counter()
        report = build_report(rolled)
        build_portfolio(report).save(Path(tmp) / "portfolio.xlsx")
        building = time.perf_counter() - start
    total = reading + building
    n = len(paths)
    print(
        f"# Rollup of {n:,} workbooks ({platform.machine()}, Python "
        f"{platform.python_version()}, openpyxl {openpyxl.__version__})\n"
    )
    print("| step | seconds | ms per workbook |")
    print("|---|---:|---:|")
    print(
        f"| openpyxl: open read-only and close, nothing else | {opening:.1f} | "
        f"{1000 * opening / n:.1f} |"
    )
    print(
        f"| bizcase: read inputs and evaluate every case | {reading:.1f} | "
        f"{1000 * reading / n:.1f} |"
    )
    print(
        f"| bizcase: select, frontier, write the portfolio workbook | {building:.1f} | "
        f"{1000 * building / n:.1f} |"
    )
    print(f"| bizcase: whole rollup | {total:.1f} | {1000 * total / n:.1f} |")
    print(
        f"\nWhole rollup vs merely opening with openpyxl: {opening / total:.1f}x faster "
        f"({len(rolled.cases)} cases, {len(rolled.exceptions)} exceptions)."
    )


if __name__ == "__main__":
    main()
