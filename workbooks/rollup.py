"""Turning a folder of business-case workbooks into portfolio cases.

Each file is read (:mod:`workbooks.reader`), evaluated by the
engine, and compared with the values Excel cached in it, if any: a cached
output that differs from the engine's means a formula was edited or
overwritten by hand. A file that cannot be read becomes an exception with its
reason; the rest still roll up. A file whose inputs are those of another (a
copy under another name) is counted once and listed as a duplicate; bizcase's
own portfolio workbooks found in a folder are left out with a note. What the
portfolio then decides is :func:`udfs.portfolio.plan`'s.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tomllib
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

import numpy as np

from udfs.errors import BizcaseError
from udfs.model import evaluate
from udfs.portfolio import RolledUp, Settings, case_from_evaluation, check_rates

from .reader import defined_names, read_business_case

TOLERANCE = 1e-6  # relative: Excel stores 15-17 digits; anything beyond this is an edit


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


def load_settings(path: str | Path) -> Settings:
    """A portfolio settings file (TOML): the plan's currency and rates::

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
