"""Benchmark: rolling up 1,000 business-case workbooks vs merely opening them with openpyxl.

    python tests/benchmarks/bench_rollup.py [--workbooks N]

The folder holds copies of the four bundled examples under distinct names (a
case's id is its file name when the spec gives none), each with its own case
name written into its recorded spec, so that no copy is a duplicate of another
(the rollup counts identical inputs once) while the numbers, and so the work
of selection, stay those of the four examples. bizcase reads each file's defined
names and inputs, evaluates it with the engine and builds the portfolio; the
baseline only opens each file with openpyxl in read-only mode and closes it
again. The examples are in EUR and USD: the portfolio is in EUR at USD 1 = EUR 0.92.

Each step is timed by the clock (what a person waits for) and by the CPU time
of this process: on a shared machine the clock also counts the time other
processes hold the cores, the CPU time much less so.
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
import zipfile
from pathlib import Path

import openpyxl

from udfs.portfolio import Settings, plan
from workbooks.business_case import write_business_case
from workbooks.examples import EXAMPLES, example_spec
from workbooks.portfolio_workbook import build_portfolio
from workbooks.rollup import read_cases, workbook_paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workbooks", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "cases"
        specs = [example_spec(n) for n in EXAMPLES]
        sources = [write_business_case(s, Path(tmp) / f"{s.meta.name[:8]}.xlsx") for s in specs]
        folder.mkdir()
        for i in range(args.workbooks):
            k = i % len(sources)
            _copy_renamed(sources[k], folder / f"case-{i:05d}.xlsx", specs[k].meta.name, i)
        start, cpu = time.perf_counter(), time.process_time()
        for p in sorted(folder.iterdir()):
            openpyxl.load_workbook(p, read_only=True).close()
        opening, opening_cpu = time.perf_counter() - start, time.process_time() - cpu

        start, cpu = time.perf_counter(), time.process_time()
        paths = workbook_paths([folder]).paths  # the scan looks into each file for portfolios
        rolled = read_cases(paths)
        reading, reading_cpu = time.perf_counter() - start, time.process_time() - cpu
        start, cpu = time.perf_counter(), time.process_time()
        report = plan(rolled, Settings(currency="EUR", rates={"USD": 0.92}))
        build_portfolio(report).save(Path(tmp) / "portfolio.xlsx")
        building, building_cpu = time.perf_counter() - start, time.process_time() - cpu
    total, total_cpu = reading + building, reading_cpu + building_cpu
    n = len(paths)
    print(
        f"# Rollup of {n:,} workbooks ({platform.machine()}, Python "
        f"{platform.python_version()}, openpyxl {openpyxl.__version__})\n"
    )
    print("| step | seconds | ms per workbook | CPU ms per workbook |")
    print("|---|---:|---:|---:|")
    for label, seconds, cpu_seconds in (
        ("openpyxl: open read-only and close, nothing else", opening, opening_cpu),
        ("bizcase: scan the folder, read inputs and evaluate every case", reading, reading_cpu),
        ("bizcase: select, frontier, write the portfolio workbook", building, building_cpu),
        ("bizcase: whole rollup", total, total_cpu),
    ):
        print(
            f"| {label} | {seconds:.1f} | {1000 * seconds / n:.1f} | {1000 * cpu_seconds / n:.1f} |"
        )
    print(
        f"\nWhole rollup vs merely opening with openpyxl: {total / opening:.2f}x the time "
        f"({total_cpu / opening_cpu:.2f}x the CPU time; {len(rolled.cases)} cases, "
        f"{len(rolled.exceptions)} exceptions, {len(rolled.duplicates)} duplicates)."
    )


def _copy_renamed(source: Path, target: Path, name: str, i: int) -> None:
    """A copy whose recorded spec names the case "<name> #i", edited in the sheet XML."""
    old = f'"name":"{name}"'.encode()
    new = f'"name":"{name} #{i:05d}"'.encode()
    with (
        zipfile.ZipFile(source) as archive,
        zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out,
    ):
        found = 0
        for info in archive.infolist():
            data = archive.read(info.filename)
            if info.filename.startswith("xl/worksheets/") and old in data:
                found += data.count(old)
                data = data.replace(old, new)
            out.writestr(info, data)
    assert found == 1, f"{source}: the recorded spec's name {name!r} not found once"


if __name__ == "__main__":
    main()
