"""Turning a folder of business-case workbooks into portfolio cases.

Each file is read (:mod:`workbooks.reader`), evaluated by the
engine, and compared with the values Excel cached in it, if any: a cached
output that differs from the engine's means a formula was edited or
overwritten by hand. A file that cannot be read becomes an exception with its
reason; the rest still roll up. A file whose inputs are those of another (a
copy under another name) is counted once and listed as a duplicate; bizcase's
own portfolio workbooks found in a folder are left out with a note.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tomllib
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree

import numpy as np

from udfs.errors import BizcaseError
from udfs.model import evaluate
from udfs.portfolio import Case, case_from_evaluation, check_rates

from .reader import defined_names, read_business_case

TOLERANCE = 1e-6  # relative: Excel stores 15-17 digits; anything beyond this is an edit


@dataclass
class RolledUp:
    cases: list[Case] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    exceptions: list[tuple[Path, str]] = field(default_factory=list)
    overrides: list[tuple[Path, str, float, float]] = field(default_factory=list)
    models: list = field(default_factory=list)  # (model, input values) per case, for simulation
    duplicates: list[tuple[Path, Path]] = field(default_factory=list)  # (copy, the one counted)
    left_out: list[tuple[Path, str]] = field(default_factory=list)  # not cases: why


@dataclass
class Inputs:
    """The files to roll up, and those a folder scan left out (with the reason)."""

    paths: list[Path]
    left_out: list[tuple[Path, str]]


def workbook_paths(items: Iterable[str | Path]) -> Inputs:
    """Files given directly, and every file in the folders given (so that a stray
    non-workbook is reported as an exception rather than silently skipped).

    Excel's ``~$`` lock files and hidden files are left out silently; bizcase's
    own portfolio workbooks in a folder (an earlier rollup's output) are left out
    with a note, since they are results, not cases.
    """
    paths, left_out = [], []
    for item in items:
        p = Path(item)
        if p.is_dir():
            for q in sorted(p.iterdir()):
                if not q.is_file() or q.name.startswith(("~$", ".")):
                    continue
                if is_portfolio_workbook(q):
                    left_out.append((q, f"{q}: a bizcase portfolio workbook, not a case; left out"))
                else:
                    paths.append(q)
        else:
            paths.append(p)
    return Inputs(paths, left_out)


def is_portfolio_workbook(path: Path) -> bool:
    """A workbook bizcase wrote as a portfolio: Port_ names and no business-case inputs."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = defined_names(archive)
    except (OSError, KeyError, zipfile.BadZipFile, ElementTree.ParseError):
        return False  # not a readable workbook: the rollup reports it with its reason
    return "Port_NPV" in names and "In_Scenario" not in names


def check_output(output: Path, inputs: Iterable[Path]) -> None:
    """Refuse an output that is one of the inputs: the portfolio would replace a case."""
    target = Path(output).resolve()
    for p in inputs:
        same = Path(p).resolve() == target
        if not same and target.exists() and Path(p).exists():
            same = os.path.samefile(p, target)  # a hard link or another spelling of the path
        if same:
            raise BizcaseError(
                f"-o {output}: is one of the inputs ({p}); writing the portfolio there "
                f"would replace a case; choose another output"
            )


@dataclass(frozen=True)
class Settings:
    """Portfolio settings: its currency (None: the cases' own) and exchange rates."""

    currency: str | None = None
    rates: dict[str, float] = field(default_factory=dict)


def load_settings(path: str | Path) -> Settings:
    """A portfolio settings file (TOML)::

    currency = "EUR"
    [fx]          # the value of one unit of each currency in EUR
    USD = 0.92
    GBP = 1.17
    """
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise BizcaseError(f"{path}: cannot be read ({e.strerror or e})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise BizcaseError(f"{path}: not a valid TOML file ({e})") from None
    unknown = sorted(set(data) - {"currency", "fx"})
    if unknown:
        raise BizcaseError(
            f"{path}: unknown setting(s) {', '.join(unknown)}; expected currency, fx"
        )
    currency = data.get("currency")
    if currency is not None and not isinstance(currency, str):
        raise BizcaseError(f"{path}, currency: expected a currency code; got {currency!r}")
    fx = data.get("fx", {})
    if not isinstance(fx, dict):
        raise BizcaseError(f"{path}, fx: expected a table of CODE = RATE; got {fx!r}")
    return Settings(currency, check_rates(fx, f"{path}, fx"))


def fingerprint(case_file) -> str:
    """A digest of what determines a case's numbers: the spec it was built from and
    the values in its input cells (not its file name, nor its template version)."""
    values = {
        k: v.tolist() if isinstance(v, np.ndarray) else v for k, v in case_file.values.items()
    }
    content = {"spec": case_file.model.spec.model_dump(mode="json"), "inputs": values}
    text = json.dumps(content, sort_keys=True, ensure_ascii=False, allow_nan=True)
    return hashlib.sha256(text.encode()).hexdigest()


def read_cases(
    paths: list[Path],
    progress: Callable[[Path], None] | None = None,
    left_out: Iterable[tuple[Path, str]] = (),
) -> RolledUp:
    """Evaluate every readable case once; collect the others as exceptions.

    Files with the same inputs (:func:`fingerprint`) are one case: the one with
    the shortest name counts (copies get longer names: "atlas (1).xlsx"), the
    others are listed as duplicates of it.
    """
    out = RolledUp(left_out=list(left_out))
    read = []
    for path in paths:
        try:
            case_file = read_business_case(path)
            read.append((path, case_file, fingerprint(case_file)))
        except (BizcaseError, ValueError, OSError) as e:
            out.exceptions.append((path, str(e)))
            if progress:
                progress(path)
    kept: dict[str, Path] = {}
    for path, *_, digest in sorted(read, key=lambda r: len(r[0].name)):
        kept.setdefault(digest, path)
    seen: dict[str, Path] = {}
    for path, case_file, digest in read:
        try:
            if kept[digest] != path:
                out.duplicates.append((path, kept[digest]))
                continue
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
        finally:
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
    currency: str | None = None,
    rates: dict[str, float] | None = None,
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

    Money is in ``currency`` (default: the cases' own, when they all share
    one); cases in another are converted at ``rates`` (the value of one unit in
    the portfolio currency); a case whose currency has no rate fails the whole
    report (:func:`udfs.portfolio.to_currency`). Budgets and the target are in
    the portfolio currency.
    """
    import numpy as np
    import pandas as pd

    from udfs.portfolio import (
        align,
        frontier,
        portfolio_metrics,
        rank,
        recommend,
        select,
        to_currency,
    )

    from .portfolio_workbook import PortfolioReport

    if not rolled.cases:
        raise BizcaseError("no case could be read; see the exceptions")
    currency, converted = to_currency(rolled.cases, currency, rates)
    aligned = align(converted)
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
            npv = simulate_case(model, simulate, base_seed + i, values=values).npv
            npvs.append(npv * cases[i].fx_rate)
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
        currency=currency,
        duplicates=rolled.duplicates,
        left_out=rolled.left_out,
    )
