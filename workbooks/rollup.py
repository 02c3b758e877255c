"""Turning a folder of business-case workbooks into portfolio cases.

Each file is read (:mod:`workbooks.reader`), evaluated by the
engine, and compared with the values Excel cached in it, if any: a cached
output that differs from the engine's means a formula was edited or
overwritten by hand. A file that cannot be read becomes an exception with its
reason; the rest still roll up.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from udfs.errors import BizcaseError
from udfs.model import evaluate
from udfs.portfolio import Case, case_from_evaluation

from .reader import read_business_case

TOLERANCE = 1e-6  # relative: Excel stores 15-17 digits; anything beyond this is an edit


@dataclass
class RolledUp:
    cases: list[Case] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    exceptions: list[tuple[Path, str]] = field(default_factory=list)
    overrides: list[tuple[Path, str, float, float]] = field(default_factory=list)
    models: list = field(default_factory=list)  # (model, input values) per case, for simulation


def workbook_paths(items: Iterable[str | Path]) -> list[Path]:
    """Files given directly, and every file in the folders given (so that a stray
    non-workbook is reported as an exception rather than silently skipped);
    Excel's ``~$`` lock files and hidden files are left out."""
    paths = []
    for item in items:
        p = Path(item)
        if p.is_dir():
            paths += sorted(
                q for q in p.iterdir() if q.is_file() and not q.name.startswith(("~$", "."))
            )
        else:
            paths.append(p)
    return paths


def read_cases(paths: list[Path], progress: Callable[[Path], None] | None = None) -> RolledUp:
    """Evaluate every readable case; collect the others as exceptions."""
    out = RolledUp()
    seen: dict[str, Path] = {}
    for path in paths:
        try:
            case_file = read_business_case(path)
            result = evaluate(case_file.model, case_file.values)
            case = case_from_evaluation(case_file.model, result, _case_id(case_file, path))
            if case.id in seen:
                raise BizcaseError(f"{path}: case id {case.id!r} is also used by {seen[case.id]}")
            seen[case.id] = path
            for name, value in case_file.cached.items():
                engine = result.outputs[name]
                if math.isfinite(engine) and abs(value - engine) > TOLERANCE * max(1, abs(engine)):
                    out.overrides.append((path, f"Out_{name}", value, engine))
            out.cases.append(case)
            out.files.append(path)
            out.models.append((case_file.model, case_file.values))
        except (BizcaseError, ValueError, OSError) as e:
            out.exceptions.append((path, str(e)))
        if progress:
            progress(path)
    return out


def _case_id(case_file, path: Path) -> str:
    return case_file.model.spec.meta.id or path.stem


def build_report(
    rolled: RolledUp,
    budget: float | None = None,
    budget_by_year: list[float] | None = None,
    rank_by: str = "npv",
    value_key: str = "npv",
    frontier_points: int = 21,
    simulate: int = 0,
    seed: int | None = None,
    correlation: float = 0.0,
    target: float | None = None,
    progress=None,
):
    """The engine's view of the portfolio, ready for the workbook and the CLI.

    Selection maximises ``value_key`` (npv or enpv) within ``budget`` (total
    capital) or ``budget_by_year`` (one limit per calendar year, in order);
    without either, every case is funded. Mandatory cases, exclusive groups and
    dependencies come from each case's spec (meta.mandatory, meta.exclusive_group,
    meta.depends_on). With ``simulate`` trials, each case's Monte Carlo is summed
    into the portfolio's, cases of one product line rank-correlated by
    ``correlation``; ``target`` is the portfolio NPV whose shortfall probability
    is reported.
    """
    import numpy as np
    import pandas as pd

    from udfs.portfolio import align, frontier, portfolio_metrics, rank, recommend, select

    from .portfolio_workbook import PortfolioReport

    if not rolled.cases:
        raise BizcaseError("no case could be read; see the exceptions")
    aligned = align(rolled.cases)
    cases = aligned.cases
    table = pd.DataFrame(
        {
            "npv": [c.npv for c in cases],
            "pi": [c.pi for c in cases],
            "irr": [c.irr for c in cases],
            "enpv": [c.enpv for c in cases],
            "score": [c.score for c in cases],
        }
    )
    ranks = rank(table, rank_by).tolist()
    values = table[value_key].to_numpy(dtype=float)
    ids = [c.id for c in cases]
    constraints = {
        "mandatory": [bool(c.extra.get("mandatory")) for c in cases],
        "groups": [c.extra.get("exclusive_group") or None for c in cases],
        "depends_on": [
            ids.index(c.extra["depends_on"]) if c.extra.get("depends_on") in ids else -1
            for c in cases
        ],
    }
    capital = aligned.flows["capital"]
    by_year = None
    if budget_by_year is not None:
        if len(budget_by_year) != aligned.years.size:
            raise BizcaseError(
                f"--budget-by-year: need one amount per year "
                f"{aligned.years[0]}-{aligned.years[-1]} ({aligned.years.size}); "
                f"got {len(budget_by_year)}"
            )
        by_year = np.asarray(budget_by_year, dtype=float)
        selected = select(values, capital, by_year, **constraints)
    elif budget is not None:
        selected = select(values, capital.sum(axis=1), budget, **constraints)
        by_year = None
    else:
        selected = np.ones(len(cases), dtype=bool)
    total_capital = capital.sum(axis=1)
    budgets = np.linspace(0.0, total_capital.sum(), frontier_points)
    free = {k: v for k, v in constraints.items() if k != "mandatory"}
    mandatory_capital = total_capital[np.asarray(constraints["mandatory"])].sum()
    budgets = budgets[budgets >= mandatory_capital - 1e-9]
    curve = frontier(values, total_capital, budgets, mandatory=constraints["mandatory"], **free)
    simulation = None
    if simulate:
        from udfs.risk import DEFAULT_SEED, simulate_portfolio
        from udfs.risk import simulate as simulate_case

        base_seed = DEFAULT_SEED if seed is None else seed
        npvs = []
        for i, (model, values) in enumerate(rolled.models):
            # each case its own stream, so adding a case leaves the others' draws alone
            npvs.append(simulate_case(model, simulate, base_seed + i, values=values).npv)
            if progress:
                progress(1)
        simulation = simulate_portfolio(
            npvs, [c.product_line for c in cases], correlation, base_seed, target
        )
    return PortfolioReport(
        simulation=simulation,
        aligned=aligned,
        metrics=portfolio_metrics(aligned),
        ranks=ranks,
        selected=selected,
        recommendations=[recommend(c) for c in cases],
        frontier=curve,
        budget_by_year=by_year,
        budget_total=budget,
        value_key=value_key,
        rank_key=rank_by,
        files=rolled.files,
        exceptions=rolled.exceptions,
        overrides=rolled.overrides,
    )
