"""Benchmark: how long `bizcase evaluate` and `bizcase check` take as whole processes.

    python tests/benchmarks/bench_cli.py

A person waits for the whole process: interpreter start-up, imports, reading
the workbook and the engine. Each command is timed best of 7 against
``python -c "import openpyxl"`` in the same run, the floor of any tool that
opens a workbook with openpyxl (it imports numpy too).

Each command runs once untimed first, with ``PYTHONDONTWRITEBYTECODE`` unset,
so that bizcase's own modules are timed from their compiled ``.pyc`` files as
in an installed package (the site-packages' already are); a session that sets
the variable would otherwise time compiling bizcase's source on every run.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIZCASE = str(Path(sys.executable).parent / "bizcase")
RUNS = 7
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def best(*command: str) -> float:
    subprocess.run(command, check=False, capture_output=True, env=ENV)  # writes the .pyc
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        subprocess.run(command, check=False, capture_output=True, env=ENV)
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
            # What evaluate cannot do without: its floor, import by import.
            ("python -c 'pass' (interpreter start-up)", best(sys.executable, "-c", "pass")),
            ("python -c 'import numpy'", best(sys.executable, "-c", "import numpy")),
            ("python -c 'import typer'", best(sys.executable, "-c", "import typer")),
            (
                "python -c 'import udfs.model' (numpy, pydantic, the spec's models, the engine)",
                best(sys.executable, "-c", "import udfs.model"),
            ),
        ]
    print(f"# Whole-process time, best of {RUNS}\n")
    print("| command | seconds | x import openpyxl |")
    print("|---|---:|---:|")
    for label, seconds in rows:
        print(f"| {label} | {seconds:.2f} | {seconds / floor:.1f} |")


if __name__ == "__main__":
    main()
