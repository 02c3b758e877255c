"""Benchmark: how long `bizcase evaluate` and `bizcase check` take as whole processes.

    python tests/benchmarks/bench_cli.py

A person waits for the whole process: interpreter start-up, imports, reading
the workbook and the engine. Each command is timed best of 7 against
``python -c "import openpyxl"`` in the same run, the floor of any tool that
opens a workbook with openpyxl.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIZCASE = str(Path(sys.executable).parent / "bizcase")
RUNS = 7


def best(*command: str) -> float:
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        subprocess.run(command, check=False, capture_output=True)
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        book = str(Path(folder) / "atlas.xlsx")
        subprocess.run([BIZCASE, "new", "--example", "-o", book], check=True, capture_output=True)
        floor = best(sys.executable, "-c", "import openpyxl")
        rows = [
            ("python -c 'import openpyxl'", floor),
            ("bizcase evaluate atlas.xlsx --json", best(BIZCASE, "evaluate", book, "--json")),
            ("bizcase check atlas.xlsx", best(BIZCASE, "check", book)),
            ("bizcase --help", best(BIZCASE, "--help")),
        ]
    print(f"# Whole-process time, best of {RUNS}\n")
    print("| command | seconds | x import openpyxl |")
    print("|---|---:|---:|")
    for label, seconds in rows:
        print(f"| {label} | {seconds:.2f} | {seconds / floor:.1f} |")


if __name__ == "__main__":
    main()
