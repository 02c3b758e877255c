"""Reading a business-case workbook back: its recorded spec and the inputs in it.

One reader serves every command and macro (evaluate, check, upgrade, simulate,
rollup and the buttons), so a workbook is judged the same way wherever it is
read. Only the ``In_*`` and ``Out_*`` names and the hidden ``_bizcase`` sheet
are read, so a user may restyle or extend the workbook freely; whatever they
typed into the input cells is what the engine evaluates, once it has passed
the same rules as the spec (a share above 100% or a negative price is refused,
naming the sheet, the cell and the defined name).

Cell values come through a small adapter: python-calamine (Rust) for files,
about ten times faster than opening them with openpyxl; openpyxl for a
workbook already open; the xlwings Book API for the macros
(:mod:`addin.macros`).
"""

from __future__ import annotations

import functools
import json
import math
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree

import numpy as np

from udfs.errors import BizcaseError
from udfs.expr import column_index, column_letter
from udfs.model import Input, Model, build_model, inputs_added_in, spec_value
from udfs.spec import SpecError, parse_spec

from .layout import META, position
from .version import TEMPLATE_VERSION, migrate, version_key

_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_OLE_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_REF = re.compile(
    r"^'?(?P<sheet>(?:[^']|'')+?)'?!\$?(?P<c1>[A-Z]+)\$?(?P<r1>\d+)"
    r"(?::\$?(?P<c2>[A-Z]+)\$?(?P<r2>\d+))?$"
)

# A cell as the reader sees it: its value and where it is ("Inputs!D12").
Cell = tuple[object, str]


class WorkbookError(BizcaseError, ValueError):
    """A workbook cannot be read as a bizcase business case; the message says why."""


class MissingSheetError(WorkbookError):
    """A sheet a defined name points at has been deleted."""


@dataclass(frozen=True)
class InputProblem:
    """One input cell (or missing name) the reader refuses."""

    where: str  # "Inputs!D12", or "-" for a missing name
    name: str  # the defined name
    detail: str

    def __str__(self) -> str:
        return f"{self.where} ({self.name}): {self.detail}"


class InputError(WorkbookError):
    """Input cells hold values the spec's rules refuse: every one, in one line."""

    def __init__(self, source: str, problems: list[InputProblem]):
        self.problems = problems
        if len(problems) == 1:
            super().__init__(f"{source}, {problems[0]}")
        else:
            listed = "; ".join(str(p) for p in problems)
            super().__init__(f"{source}: {len(problems)} input problems: {listed}")


@dataclass
class BusinessCaseFile:
    path: Path
    model: Model
    values: dict
    scenario: str
    template_version: str
    cached: dict[str, float] = field(default_factory=dict)  # Out_ values stored in the file
    filled: list[str] = field(default_factory=list)  # In_ names an older template lacks


def read_business_case(path: str | Path) -> BusinessCaseFile:
    """The recorded model, the validated inputs and the cached outputs of a workbook file."""
    return read_case(CalamineSource(Path(path)), str(path))


def read_case(source: CellSource, where: str) -> BusinessCaseFile:
    """Read a case through any adapter; ``where`` names it in messages."""
    version, spec_json = source.recorded()
    model = recorded_model(where, version, spec_json)
    values, filled = read_inputs(model, source.cells, where, version)
    cached = {}
    for out in model.outputs:
        cells = source.cells(f"Out_{out.name}") if out.public else None
        if cells:
            value = cells[0][0]
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                cached[out.name] = float(value)
    return BusinessCaseFile(Path(where), model, values, values["Scenario"], version, cached, filled)


def recorded_model(where: str | Path, version: str, spec_json: str) -> Model:
    """The model a workbook was generated from, as its hidden _bizcase sheet records it
    (the spec migrated from the template version that recorded it)."""
    if _version(version) is None:
        raise WorkbookError(f"{where}, _bizcase!B1: the template version is damaged: {version!r}")
    if _version(version) > _version(TEMPLATE_VERSION):
        raise WorkbookError(
            f"{where}: made by template {version}, newer than this bizcase reads "
            f"({TEMPLATE_VERSION}); upgrade bizcase"
        )
    key = (version, spec_json)  # the migrations a spec goes through depend on its version
    if key in _MODELS:
        return _MODELS[key]
    try:
        spec = parse_spec(migrate(json.loads(spec_json), version), f"{where} (_bizcase!B4)")
    except json.JSONDecodeError as e:
        raise WorkbookError(f"{where}, _bizcase!B4: the recorded spec is damaged ({e})") from None
    except SpecError as e:
        raise WorkbookError(str(e)) from None
    if len(_MODELS) >= _MODELS_KEPT:
        del _MODELS[next(iter(_MODELS))]  # the first one kept
    model = _MODELS[key] = build_model(spec)
    return model


# Models by template version and the recorded spec's text: files that share their
# recorded spec (a template issued to many teams, each typing its own inputs; a
# workbook read by several macros in a row) are validated and built once. A model
# is shared, so nothing may change one once built: inputs read from a file are kept
# beside it (BusinessCaseFile.values), and the writer builds its own.
_MODELS: dict[tuple[str, str], Model] = {}
_MODELS_KEPT = 64


#: Inputs a template version added (from each input's ``added_in``): a workbook of
#: an earlier version lacks their names, and its model reads them at the spec's values.
ADDED_IN = inputs_added_in()


def added_since(input_name: str, version: str) -> bool:
    """Whether a workbook of template ``version`` predates the input ``input_name``."""
    return any(
        re.fullmatch(re.escape(name).replace(r"\{row\}", r"\d+"), input_name)
        and _version(version) < _version(added)
        for added, names in ADDED_IN.items()
        for name in names
    )


def read_inputs(
    model: Model,
    cells: Callable[[str], list[Cell] | None],
    where: str,
    version: str = TEMPLATE_VERSION,
) -> tuple[dict, list[str]]:
    """Every input's value, checked against the spec's rules.

    A workbook of an older template (``version``) lacks the inputs added since
    (:data:`ADDED_IN`): those take the recorded spec's value and are listed in
    the second return value. All problems are gathered and raised together as
    one :class:`InputError`.
    """
    values, filled, problems = {}, [], []
    for item in model.inputs:
        name = f"In_{item.name}"
        got = cells(name)
        if got is None:
            if added_since(item.name, version):
                values[item.name] = spec_value(item)  # a field an old spec lacks: its default
                filled.append(name)
                continue
            problems.append(InputProblem("-", name, "the defined name is missing"))
            continue
        try:
            values[item.name] = _value(item, got, model.periods)
        except _Refused as e:
            problems.append(InputProblem(e.where, name, f"{item.label}: {e}"))
    if problems:
        raise InputError(where, problems)
    return values, filled


class _Refused(ValueError):
    def __init__(self, where: str, message: str):
        super().__init__(message)
        self.where = where


def _value(item: Input, got: list[Cell], periods: int):
    if item.kind == "series":
        if len(got) != periods:
            raise _Refused(got[0][1], f"expected {periods} periods; got {len(got)}")
        return np.array([_number(v, w, item, blank=0.0) for v, w in got])
    value, where = got[0]
    if item.kind == "now":  # a blank Now cell is nothing paid now, like a blank series cell
        return _number(value, where, item, blank=0.0)
    if item.kind == "text":
        text = "" if value is None else str(value).strip()
        match = [c for c in item.choices if c.lower() == text.lower()]
        if not match:
            raise _Refused(where, f"must be one of {', '.join(item.choices)}; got {value!r}")
        return match[0]
    return _number(value, where, item, blank=None)


def _number(value, where: str, item: Input, blank: float | None) -> float:
    if value is None or (isinstance(value, str) and not value.strip()):
        if blank is None:
            raise _Refused(where, "is blank; expected a number")
        return blank
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _Refused(where, f"expected a number; got {value!r}")
    if not math.isfinite(value):
        raise _Refused(where, f"expected a finite number; got {value!r}")
    if item.minimum is not None and value < item.minimum:
        raise _Refused(
            where, f"must be at least {_shown(item.minimum, item)}; got {_shown(value, item)}"
        )
    if item.maximum is not None and value > item.maximum:
        raise _Refused(
            where, f"must be at most {_shown(item.maximum, item)}; got {_shown(value, item)}"
        )
    return float(value)


def _shown(x: float, item: Input) -> str:
    """A bound or value as the user typed it, with the percentage beside a share."""
    text = f"{x:g}"
    return f"{text} ({x:.0%})" if "%" in item.unit else text


def _version(text: str) -> tuple[int, ...] | None:
    """A recorded template version as numbers; None when it is not one."""
    try:
        return version_key(str(text))
    except ValueError:
        return None


# --- adapters ----------------------------------------------------------------------


class CellSource:
    """What the reader needs of a workbook: the recorded spec and the cells of a name."""

    def recorded(self) -> tuple[str, str]:
        """(template version, spec JSON) from the hidden _bizcase sheet."""
        raise NotImplementedError

    def cells(self, name: str) -> list[Cell] | None:
        """The cells a workbook-level defined name covers, or None if the name is missing."""
        raise NotImplementedError


class CalamineSource(CellSource):
    """A workbook file: names from ``xl/workbook.xml``, values through python-calamine."""

    def __init__(self, path: Path):
        import python_calamine

        self.path = path
        try:
            if not path.is_file():
                raise WorkbookError(f"{path}: no such file")
            with open(path, "rb") as f:
                head = f.read(8)
        except OSError as e:  # a name too long, a folder we may not read, ...
            raise WorkbookError(f"{path}: cannot be read ({e.strerror or e})") from None
        if head == _OLE_SIGNATURE:
            raise WorkbookError(
                f"{path}: password-protected (encrypted) or a legacy .xls file; "
                f"save it unprotected as .xlsx"
            )
        if not zipfile.is_zipfile(path):
            if head.startswith(b"PK"):
                raise WorkbookError(
                    f"{path}: damaged workbook (truncated or corrupt .xlsx); "
                    "restore it from a backup"
                )
            raise WorkbookError(f"{path}: not an Excel workbook (.xlsx)")
        try:
            with zipfile.ZipFile(path) as archive:
                self.names = defined_names(archive)
        except (KeyError, zipfile.BadZipFile, ElementTree.ParseError) as e:
            raise WorkbookError(f"{path}: damaged workbook ({e})") from None
        try:
            self.book = python_calamine.CalamineWorkbook.from_path(str(path))
        except Exception as e:  # calamine raises its own error types for damaged parts
            raise WorkbookError(f"{path}: cannot be read ({type(e).__name__}: {e})") from None
        if "In_Scenario" not in self.names and "Port_NPV" in self.names:
            raise WorkbookError(
                f"{path}: a bizcase portfolio workbook, not a business case; roll up the cases"
            )
        if "In_Scenario" not in self.names:
            raise WorkbookError(f"{path}: not a bizcase workbook (no In_Scenario name)")
        if META.sheet not in self.book.sheet_names:
            raise WorkbookError(
                f"{path}: the hidden _bizcase sheet (the record of the spec the workbook was "
                "made from) has been deleted; restore the file from a copy"
            )
        self._grids: dict[str, list] = {}

    def _grid(self, sheet: str) -> list:
        if sheet not in self._grids:
            if sheet not in self.book.sheet_names:
                raise MissingSheetError(f"{self.path}: the sheet {sheet!r} is missing")
            try:
                grid = self.book.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
            except Exception as e:  # calamine's own error types for damaged parts
                raise WorkbookError(
                    f"{self.path}: damaged workbook, the sheet {sheet!r} cannot be read "
                    f"({type(e).__name__}: {e}); restore it from a backup"
                ) from None
            self._grids[sheet] = grid
        return self._grids[sheet]

    def recorded(self) -> tuple[str, str]:
        meta = self._grid(META.sheet)
        row, column = position(META.template_version)
        version = str(_at(meta, row - 1, column - 1))
        row, column = position(META.spec)
        chunks = meta[row - 1][column - 1 :] if len(meta) >= row else []
        return version, "".join(str(v) for v in chunks if v not in ("", None))

    def cells(self, name: str) -> list[Cell] | None:
        if name not in self.names:
            return None
        target = _target(self.names[name])
        if target is None:
            raise WorkbookError(f"{self.path}, {name}: unsupported reference {self.names[name]!r}")
        sheet, places = target
        g = self._grid(sheet)
        return [(_at(g, r, c), where) for r, c, where in places]


class OpenpyxlSource(CellSource):
    """A workbook open in openpyxl (``data_only=True`` for cached outputs)."""

    def __init__(self, wb):
        self.wb = wb

    def recorded(self) -> tuple[str, str]:
        meta = self.wb[META.sheet]
        row, column = position(META.spec)
        chunks = meta[row][column - 1 :]
        return str(meta[META.template_version].value), "".join(str(c.value or "") for c in chunks)

    def cells(self, name: str) -> list[Cell] | None:
        if name not in self.wb.defined_names:
            return None
        out = []
        for sheet, ref in self.wb.defined_names[name].destinations:
            got = self.wb[sheet][ref.replace("$", "")]
            rows = got if isinstance(got, tuple) else ((got,),)
            for row in rows:
                for cell in row if isinstance(row, tuple) else (row,):
                    out.append((cell.value, f"{sheet}!{cell.coordinate}"))
        return out


def defined_names(archive: zipfile.ZipFile) -> dict[str, str]:
    """Workbook-level defined names and what they refer to."""
    root = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    names = {}
    for dn in root.iter(f"{_MAIN}definedName"):
        if dn.get("localSheetId") is None and dn.text:
            names[dn.get("name")] = dn.text
    return names


@functools.lru_cache(maxsize=4096)
def _target(ref: str) -> tuple[str, tuple[tuple[int, int, str], ...]] | None:
    """The sheet and the cells (0-based row, column, "Sheet!A1") of a reference.

    Cached: every workbook of a template has the same names, so a rollup parses
    each reference once rather than once a file.
    """
    m = _REF.match(ref)
    if not m:
        return None
    sheet = m["sheet"].replace("''", "'")
    r1, c1 = int(m["r1"]) - 1, column_index(m["c1"]) - 1
    r2, c2 = (int(m["r2"]) - 1, column_index(m["c2"]) - 1) if m["c2"] else (r1, c1)
    return sheet, tuple(
        (r, c, f"{sheet}!{column_letter(c + 1)}{r + 1}")
        for r in range(r1, r2 + 1)
        for c in range(c1, c2 + 1)
    )


def _at(grid: list, r: int, c: int):
    if r < len(grid) and c < len(grid[r]):
        return grid[r][c]
    return ""
