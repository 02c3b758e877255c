"""Benchmark: generating a business-case workbook against a bare openpyxl workbook.

    python tests/benchmarks/bench_workbook.py

For each bundled example: the time to build and save the full workbook
(styles, names, validation, charts, the model four times over), and the time
raw openpyxl takes to write a plain workbook with the same number of cells
(the same formulas and values, nothing else) — the floor any openpyxl
generator sits on. Best of 5 runs each.
"""

from __future__ import annotations

import io
import platform
import time

import openpyxl

from udfs.spec import Spec
from workbooks.business_case import build_workbook
from workbooks.examples import EXAMPLES, example_spec

REPEATS = 5


def best_of(fn) -> float:
    fn()
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def generate(spec: Spec) -> None:
    build_workbook(spec).save(io.BytesIO())


def cell_contents(spec: Spec) -> list[list[tuple[int, int, object]]]:
    """Every non-empty cell of the generated workbook, sheet by sheet."""
    wb = build_workbook(spec)
    return [
        [(c.row, c.column, c.value) for row in ws.iter_rows() for c in row if c.value is not None]
        for ws in wb.worksheets
    ]


def bare(contents) -> None:
    wb = openpyxl.Workbook()
    for i, cells in enumerate(contents):
        ws = wb.active if i == 0 else wb.create_sheet()
        for row, column, value in cells:
            ws.cell(row=row, column=column, value=value)
    wb.save(io.BytesIO())


def main() -> None:
    print(
        f"# Workbook generation: bizcase vs bare openpyxl ({platform.machine()}, "
        f"Python {platform.python_version()}, openpyxl {openpyxl.__version__})\n"
    )
    print("| example | periods | cells | bizcase (s) | bare openpyxl, same cells (s) | ratio |")
    print("|---|---:|---:|---:|---:|---:|")
    for name in EXAMPLES:
        spec = example_spec(name)
        contents = cell_contents(spec)
        cells = sum(len(c) for c in contents)
        ours = best_of(lambda spec=spec: generate(spec))
        floor = best_of(lambda contents=contents: bare(contents))
        print(
            f"| {name} | {spec.periods} | {cells:,} | {ours:.3f} | {floor:.3f} | "
            f"{ours / floor:.1f}x |"
        )


if __name__ == "__main__":
    main()
