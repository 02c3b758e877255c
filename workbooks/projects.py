"""Reading a table of projects (one row each, annual flows in columns y0, y1, ...).

CSV or xlsx; every problem is reported with the file, row and column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from udfs.errors import InputError

EXAMPLE = "projects.csv"
_FLOW_COLUMN = re.compile(r"^y(\d+)$")


@dataclass(frozen=True)
class Projects:
    """Projects with annual cash flows; ``flows`` is (projects x periods), first at t = 0."""

    names: list[str]
    product_lines: list[str]
    discount_rates: np.ndarray
    flows: np.ndarray


def example_projects_path() -> Path:
    """The bundled example portfolio."""
    return Path(str(resources.files("workbooks") / "examples" / EXAMPLE))


def read_projects(path: str | Path) -> Projects:
    """Read ``project, [product_line], discount_rate, y0, y1, ...`` from CSV or xlsx.

    Blank flow cells count as 0 (a project with a shorter horizon).
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    try:
        if path.suffix.lower() in (".xlsx", ".xlsm"):
            table = pd.read_excel(path, dtype=object)
        else:
            table = pd.read_csv(path, dtype=object, skipinitialspace=True)
    except (ValueError, OSError, pd.errors.ParserError) as e:
        raise InputError(f"{path}: cannot be read as a table ({e})") from None
    table.columns = [str(c).strip() for c in table.columns]
    for required in ("project", "discount_rate"):
        if required not in table.columns:
            raise InputError(
                f"{path}: missing column '{required}'; expected project, discount_rate, y0, y1, ..."
            )
    year_columns = sorted(
        (int(m.group(1)), c) for c in table.columns if (m := _FLOW_COLUMN.match(c))
    )
    if not year_columns or [y for y, _ in year_columns] != list(range(len(year_columns))):
        raise InputError(
            f"{path}: flow columns must be y0, y1, ... without gaps; got "
            f"{[c for _, c in year_columns] or 'none'}"
        )
    if table.empty:
        raise InputError(f"{path}: holds no projects")
    flows = np.zeros((len(table), len(year_columns)))
    rates = np.zeros(len(table))
    for i, record in enumerate(table.to_dict("records")):
        line = i + 2  # header is line 1
        rates[i] = _number(record["discount_rate"], path, line, "discount_rate", blank=None)
        if rates[i] <= -1:
            raise InputError(
                f"{path}, line {line}, discount_rate: must be greater than -1; got {rates[i]}"
            )
        for j, (_, column) in enumerate(year_columns):
            flows[i, j] = _number(record[column], path, line, column, blank=0.0)
    names = [str(n).strip() for n in table["project"]]
    lines = [
        str(x).strip() if isinstance(x, str) else ""
        for x in table.get("product_line", pd.Series([""] * len(table)))
    ]
    return Projects(names, lines, rates, flows)


def _number(value, path: Path, line: int, column: str, blank: float | None) -> float:
    if value is None or (isinstance(value, float) and np.isnan(value)) or str(value).strip() == "":
        if blank is None:
            raise InputError(f"{path}, line {line}, {column}: is blank; expected a number")
        return blank
    try:
        number = float(str(value).replace(",", "").strip())
    except ValueError:
        raise InputError(
            f"{path}, line {line}, {column}: expected a number; got {value!r}"
        ) from None
    if not np.isfinite(number):
        raise InputError(f"{path}, line {line}, {column}: expected a finite number; got {value!r}")
    return number
