"""Reading a business-case workbook back: its spec, its inputs by defined name.

Only the ``In_*`` names and the hidden ``_bizcase`` sheet are read, so a user
may restyle or extend the workbook freely; whatever they typed into the input
cells is what the engine evaluates.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import openpyxl

from udfs.errors import BizcaseError
from udfs.model import Model, build_model
from udfs.spec import SpecError, parse_spec

from .business_case import TEMPLATE_VERSION


class WorkbookError(BizcaseError, ValueError):
    """A workbook cannot be read as a bizcase business case; the message says why."""


@dataclass
class BusinessCaseFile:
    path: Path
    model: Model
    values: dict
    scenario: str
    template_version: str


def read_business_case(path: str | Path) -> BusinessCaseFile:
    """The model (from the embedded spec) and the input values now in the workbook."""
    path = Path(path)
    if not path.is_file():
        raise WorkbookError(f"{path}: no such file")
    if not zipfile.is_zipfile(path):
        raise WorkbookError(f"{path}: not an Excel workbook (.xlsx)")
    try:
        wb = openpyxl.load_workbook(path, data_only=True)
    except Exception as e:  # openpyxl raises many types for damaged files
        raise WorkbookError(f"{path}: cannot be opened ({type(e).__name__}: {e})") from None
    if "In_Scenario" not in wb.defined_names or "_bizcase" not in wb.sheetnames:
        raise WorkbookError(f"{path}: not a bizcase workbook (no In_Scenario name)")
    meta = wb["_bizcase"]
    version = str(meta["B1"].value)
    text = "".join(str(c.value or "") for c in meta[4][1:])
    model = recorded_model(path, version, text)
    values = {}
    for item in model.inputs:
        name = f"In_{item.name}"
        if name not in wb.defined_names and added_since(item.name, version):
            values[item.name] = default_value(item)
            continue
        cells = _cells(wb, name, path)
        if item.kind == "series":
            numbers = [_number(c, name, path, blank=0.0) for c in cells]
            if len(numbers) != model.periods:
                raise WorkbookError(
                    f"{path}, {name}: expected {model.periods} periods; got {len(numbers)}"
                )
            values[item.name] = np.array(numbers)
        elif item.kind == "text":
            cell = cells[0]
            text_value = "" if cell.value is None else str(cell.value).strip()
            if text_value.lower() not in [c.lower() for c in item.choices]:
                raise WorkbookError(
                    f"{path}, {_where(cell)} ({name}): must be one of "
                    f"{', '.join(item.choices)}; got {cell.value!r}"
                )
            values[item.name] = text_value
        else:  # a blank Now cell is nothing paid now, like a blank series cell
            blank = 0.0 if item.kind == "now" else None
            values[item.name] = _number(cells[0], name, path, blank=blank)
    return BusinessCaseFile(path, model, values, values["Scenario"], version)


#: Inputs a template version added: a workbook of an earlier version lacks their
#: names, and its model reads them at the spec's defaults.
ADDED_IN = {
    "1.1": (
        "Timing",
        "MidPoint",
        "ReleaseWorkingCapital",
        "MaintenanceCapex",
        "TVShareLimit",
        "IRRTolerance",
        "DevelopmentNow",
        "CapexNow",
        "OtherCostsNow",
        "WorkingCapitalNow",
        "LowCogs",
        "HighCogs",
        "LowOtherCosts",
        "HighOtherCosts",
        "LowWorkingCapital",
        "HighWorkingCapital",
    ),
}


def _version_key(version: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in version.split("."))
    except ValueError:
        return (0,)


def added_since(input_name: str, version: str) -> bool:
    """Whether a workbook of template ``version`` predates the input ``input_name``."""
    return any(
        input_name in names and _version_key(version) < _version_key(added)
        for added, names in ADDED_IN.items()
    )


def default_value(item):
    """An input's value as the spec gives it (its default for a field an old spec lacks)."""
    return np.asarray(item.value, dtype=float) if item.kind == "series" else item.value


def recorded_model(path: Path, version: str, spec_json: str) -> Model:
    """The model a workbook was generated from, as its hidden _bizcase sheet records it."""
    if version.split(".")[0] != TEMPLATE_VERSION.split(".")[0]:
        raise WorkbookError(
            f"{path}: template version {version}; this bizcase reads {TEMPLATE_VERSION}"
        )
    try:
        spec = parse_spec(json.loads(spec_json), f"{path} (_bizcase!B4)")
    except json.JSONDecodeError as e:
        raise WorkbookError(f"{path}, _bizcase!B4: the recorded spec is damaged ({e})") from None
    except SpecError as e:
        raise WorkbookError(str(e)) from None
    return build_model(spec)


def _cells(wb, name: str, path: Path) -> list:
    if name not in wb.defined_names:
        raise WorkbookError(f"{path}: the defined name {name} is missing")
    cells = []
    for sheet, ref in wb.defined_names[name].destinations:
        if sheet not in wb.sheetnames:
            raise WorkbookError(f"{path}, {name}: refers to a missing sheet {sheet!r}")
        got = wb[sheet][ref.replace("$", "")]
        if isinstance(got, tuple):
            for row in got:
                cells.extend(row if isinstance(row, tuple) else (row,))
        else:
            cells.append(got)
    return cells


def _where(cell) -> str:
    return f"{cell.parent.title}!{cell.coordinate}"


def _number(cell, name: str, path: Path, blank: float | None) -> float:
    value = cell.value
    if value is None or (isinstance(value, str) and not value.strip()):
        if blank is None:
            raise WorkbookError(f"{path}, {_where(cell)} ({name}): is blank; expected a number")
        return blank
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise WorkbookError(f"{path}, {_where(cell)} ({name}): expected a number; got {value!r}")
    if not np.isfinite(value):
        raise WorkbookError(f"{path}, {_where(cell)} ({name}): expected a finite number")
    return float(value)
