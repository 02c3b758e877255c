"""Benchmark: bizcase's batch engine against numpy-financial and pyxirr, same run.

    make bench            # or: python tests/benchmarks/bench_finance.py [--projects N]

Times NPV, IRR and XIRR over N x 20 realistic cash flows (tests/cashflows.py)
for bizcase (one vectorised call), numpy-financial (a loop: it has no batch
form) and pyxirr (a loop: its npv/irr/xirr take one flow vector; its only
vectorised form is NPV over many *rates* for one flow vector, timed too).
Then LibreOffice recalculates IRR and XIRR for every row, and each library's
success rate and agreement with LibreOffice are counted. Prints a Markdown
report (the README's performance section is copied from it).
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import numpy_financial as npf
import openpyxl
import pyxirr
from openpyxl.utils import get_column_letter

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from cashflows import annual_flows, dated_flows
from libreoffice import read_values, recalculate, soffice_path

from udfs import finance

RATE = 0.10
REPEATS = 5


def best_of(fn, repeats: int = REPEATS) -> float:
    """Best wall time of ``repeats`` runs after one warm-up, in seconds."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def _pyxirr_dates(serials: np.ndarray) -> list:
    return [np.datetime64("1899-12-30") + np.timedelta64(int(d), "D") for d in serials]


def timings(flows, values, dates) -> dict[str, dict[str, float]]:
    date_lists = [_pyxirr_dates(row) for row in dates]
    rates = np.full(flows.shape[0], RATE)
    return {
        "NPV": {
            "bizcase (batch)": best_of(lambda: finance.npv(RATE, flows)),
            "numpy-financial (loop)": best_of(lambda: [npf.npv(RATE, row) for row in flows]),
            "pyxirr (loop)": best_of(lambda: [pyxirr.npv(RATE, row) for row in flows]),
            "pyxirr (vectorised over rates, one flow vector)": best_of(
                lambda: pyxirr.npv(rates, flows[0])
            ),
        },
        "IRR": {
            "bizcase (batch)": best_of(lambda: finance.irr(flows)),
            "numpy-financial (loop)": best_of(lambda: [npf.irr(row) for row in flows], 1),
            "pyxirr (loop)": best_of(lambda: [pyxirr.irr(row, silent=True) for row in flows]),
        },
        "XIRR": {
            "bizcase (batch)": best_of(lambda: finance.xirr(values, dates)),
            "pyxirr (loop)": best_of(
                lambda: [
                    pyxirr.xirr(d, v, silent=True) for d, v in zip(date_lists, values, strict=True)
                ]
            ),
        },
    }


def libreoffice_rates(flows, values, dates, workdir: Path):
    """IRR and XIRR of every row as LibreOffice computes them (nan where it fails).

    LibreOffice stores 15 significant digits; a helper cell holding
    ``x - ROUND(x, 10)`` restores the rest.
    """
    wb = openpyxl.Workbook()
    annual = wb.active
    annual.title = "annual"
    n = flows.shape[1]
    last = get_column_letter(n)
    for i, row in enumerate(flows, start=1):
        annual.append([*row.tolist(), f"=IRR(A{i}:{last}{i})"])
        irr_cell = f"{get_column_letter(n + 1)}{i}"
        annual.cell(i, n + 2, f"={irr_cell}-ROUND({irr_cell},10)")
    dated = wb.create_sheet("dated")
    for i, (v, d) in enumerate(zip(values, dates, strict=True), start=1):
        dated.append([*v.tolist(), *d.tolist()])
        vr = f"A{i}:{get_column_letter(n)}{i}"
        dr = f"{get_column_letter(n + 1)}{i}:{get_column_letter(2 * n)}{i}"
        dated.cell(i, 2 * n + 1, f"=XIRR({vr},{dr})")
        xirr_cell = f"{get_column_letter(2 * n + 1)}{i}"
        dated.cell(i, 2 * n + 2, f"={xirr_cell}-ROUND({xirr_cell},10)")
    source = workdir / "bench_rates.xlsx"
    wb.save(source)
    start = time.perf_counter()
    (out,) = recalculate([source], workdir / "lo", timeout=1800)
    seconds = time.perf_counter() - start
    book = read_values(out)

    def column(sheet, col):
        result = []
        for value, rest in sheet.iter_rows(min_col=col, max_col=col + 1, values_only=True):
            ok = isinstance(value, (int, float)) and isinstance(rest, (int, float))
            result.append(round(value, 10) + rest if ok else np.nan)
        return np.array(result)

    return column(book["annual"], n + 1), column(book["dated"], 2 * n + 1), seconds


def _is_root(rate, row, times) -> bool:
    if not np.isfinite(rate) or rate <= -1:
        return False
    terms = row * (1.0 + rate) ** -times
    return abs(terms.sum()) <= 1e-8 * np.abs(terms).sum()


def agreement(name, rates, lo, flows, times_of) -> dict:
    """Success rate and agreement with LibreOffice for one library's rates."""
    rates = np.asarray(rates, dtype=float)
    found = np.isfinite(rates)
    outside = np.isfinite(lo) & (lo <= -1.0)  # LibreOffice's Newton can leave (-1, inf)
    lo_found = np.isfinite(lo) & ~outside
    both = found & lo_found
    close = np.abs(rates - lo) <= 1e-9 * np.abs(lo) + 1e-12
    wrong = [i for i in np.flatnonzero(found) if not _is_root(rates[i], flows[i], times_of(i))]
    return {
        "library": name,
        "found": int(found.sum()),
        "same as LibreOffice": int((both & close).sum()),
        "LibreOffice found, library did not": int((lo_found & ~found).sum()),
        "LibreOffice gave a rate <= -100%": int(outside.sum()),
        "library found, LibreOffice did not": int((found & ~lo_found).sum()),
        "differs from LibreOffice (> 1e-9)": int((both & ~close).sum()),
        "not a root": len(wrong),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=10_000)
    parser.add_argument("--periods", type=int, default=20)
    parser.add_argument("--no-libreoffice", action="store_true")
    args = parser.parse_args()

    flows = annual_flows(args.projects, args.periods, seed=2026)
    values, dates = dated_flows(args.projects, args.periods, seed=2026)
    print(f"# bizcase benchmark: {args.projects:,} x {args.periods} flows\n")
    print(
        f"Machine: {platform.machine()}, {platform.processor() or 'cpu'}, "
        f"Python {platform.python_version()}, numpy {np.__version__}, "
        f"numpy-financial {npf.__version__ if hasattr(npf, '__version__') else '1.0'}, "
        f"pyxirr {getattr(pyxirr, '__version__', '?')}\n"
    )

    results = timings(flows, values, dates)
    print("| task | implementation | seconds | bizcase is x faster |")
    print("|---|---|---:|---:|")
    for task, rows in results.items():
        ours = rows["bizcase (batch)"]
        for impl, seconds in rows.items():
            ratio = "" if impl.startswith("bizcase") else f"{seconds / ours:,.1f}x"
            print(f"| {task} | {impl} | {seconds:.4f} | {ratio} |")

    if args.no_libreoffice or soffice_path() is None:
        print("\n(LibreOffice comparison skipped)")
        return
    with tempfile.TemporaryDirectory() as tmp:
        lo_irr, lo_xirr, seconds = libreoffice_rates(flows, values, dates, Path(tmp))
    print(f"\nLibreOffice recalculated {2 * args.projects:,} IRR/XIRR formulas in {seconds:.1f} s.")
    periods = np.arange(args.periods, dtype=float)
    year_fractions = (dates - dates[:, :1]) / 365.0
    irr_sets = {
        "bizcase": finance.irr(flows),
        "numpy-financial": [npf.irr(row) for row in flows],
        "pyxirr": [pyxirr.irr(row, silent=True) for row in flows],
    }
    date_lists = [_pyxirr_dates(row) for row in dates]
    xirr_sets = {
        "bizcase": finance.xirr(values, dates),
        "pyxirr": [pyxirr.xirr(d, v, silent=True) for d, v in zip(date_lists, values, strict=True)],
    }
    for title, sets, lo, data, times_of in (
        ("IRR", irr_sets, lo_irr, flows, lambda i: periods),
        ("XIRR", xirr_sets, lo_xirr, values, lambda i: year_fractions[i]),
    ):
        rows = [
            agreement(name, [np.nan if r is None else r for r in rates], lo, data, times_of)
            for name, rates in sets.items()
        ]
        print(
            f"\n{title}: LibreOffice found a rate for {int(np.isfinite(lo).sum()):,} of "
            f"{len(lo):,} rows.\n"
        )
        keys = list(rows[0])
        print("| " + " | ".join(keys) + " |")
        print("|" + "---|" * len(keys))
        for row in rows:
            print(
                "| "
                + " | ".join(f"{row[k]:,}" if isinstance(row[k], int) else row[k] for k in keys)
                + " |"
            )


if __name__ == "__main__":
    main()
