"""Checking a business-case workbook against its template, and upgrading it.

The template is the workbook the recorded spec generates today: every
calculation cell of the file is compared with it, so a number typed over a
formula, an edited formula, a broken reference or a row whose formula differs
from column to column is found and named by sheet and cell. A workbook of an
earlier template version cannot be compared with today's layout; it is checked
for consistency instead: each timeline row holds one formula copied across, with
no number typed over it and no broken reference (``bizcase upgrade`` moves it to
the current template).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import openpyxl
from openpyxl.formula.tokenizer import Token, Tokenizer
from openpyxl.formula.translate import Translator
from openpyxl.utils.cell import column_index_from_string, coordinate_from_string

from .business_case import TEMPLATE_VERSION, build_workbook, write_business_case
from .layout import CALCULATIONS, KPIS
from .reader import (
    CalamineSource,
    InputError,
    MissingSheetError,
    WorkbookError,
    read_business_case,
    read_inputs,
    recorded_model,
)

CALCULATION_SHEETS = (
    "Calculations",
    "ScenarioCalcs",
    "Valuation",
    "Scenarios",
    "Checks",
    "KPIs",
    "Cover",
)


@dataclass(frozen=True)
class Problem:
    sheet: str
    cell: str
    kind: str  # invalid input, override, edited formula, broken reference, missing sheet/name
    detail: str

    def __str__(self) -> str:
        return f"{self.sheet}!{self.cell}: {self.kind}: {self.detail}"


_SAME_SHEET_RANGE = re.compile(
    r"^(?P<sheet>'(?:[^']|'')+'|[^'!:]+)!(?P<a>\$?[A-Z]+\$?\d+):(?P=sheet)!(?P<b>\$?[A-Z]+\$?\d+)$",
    re.IGNORECASE,
)


def _normal(formula: str) -> str:
    """A formula by meaning, as Excel or LibreOffice may re-save it.

    Spaces, ``_xlfn.`` prefixes and the case of names and functions do not
    matter, nor does a range spelled ``Sheet!A1:Sheet!B2`` or the constant
    ``TRUE`` spelled ``TRUE()`` (as LibreOffice writes them); text in quotes
    keeps its case.
    """
    try:
        tokens = [t for t in Tokenizer(formula).items if t.type != Token.WSPACE]
    except Exception:  # not a formula openpyxl can parse: compare it as text
        return re.sub(r"\s+", "", formula).upper()
    out = []
    for i, token in enumerate(tokens):
        value = token.value
        if token.type == Token.FUNC and value.upper() in ("TRUE(", "FALSE("):
            following = tokens[i + 1] if i + 1 < len(tokens) else None
            if following is not None and following.type == Token.FUNC:  # "()": no arguments
                following.value = ""
                value = value[:-1]
        if token.type == Token.OPERAND and token.subtype == Token.TEXT:
            out.append(value)
            continue
        if token.type == Token.OPERAND and token.subtype == Token.RANGE:
            value = _SAME_SHEET_RANGE.sub(r"\g<sheet>!\g<a>:\g<b>", value)
        value = re.sub(r"_xlfn\.|_xlws\.", "", value, flags=re.IGNORECASE)
        out.append(value.upper())
    return "".join(out)


def check_workbook(path: str | Path) -> list[Problem]:
    """Every way the file's inputs and calculations differ from the template's.

    A file that is not a bizcase workbook, or whose recorded spec is gone or
    damaged, cannot be checked and raises :class:`WorkbookError`; everything
    else a user can do to a workbook is a :class:`Problem`.
    """
    path = Path(path)
    source = CalamineSource(path)
    version, spec_json = source.recorded()
    model = recorded_model(path, version, spec_json)
    problems = []
    try:
        read_inputs(model, source.cells, str(path), version)
    except InputError as e:
        problems += [
            Problem(*p.where.split("!"), "invalid input", f"{p.name}: {p.detail}")
            for p in e.problems
            if p.where != "-"  # missing names are reported below, with the others
        ]
    except MissingSheetError:  # the Inputs sheet deleted: reported with the other sheets
        pass
    current = version == TEMPLATE_VERSION
    try:  # read-only: the formulas and typed values of the sheets compared, no styles
        actual = openpyxl.load_workbook(path, read_only=True)
        try:
            contents = {
                sheet: _contents(actual[sheet])
                for sheet in (CALCULATION_SHEETS if current else TIMELINE_SHEETS)
                if sheet in actual.sheetnames
            }
        finally:
            actual.close()
    except Exception as e:  # openpyxl raises many types for damaged files
        raise WorkbookError(f"{path}: cannot be opened ({type(e).__name__}: {e})") from None
    if not current:
        return problems + _consistency_problems(contents)
    return problems + _template_problems(model.spec, actual, contents)


def _template_problems(spec, actual, contents: dict[str, dict]) -> list[Problem]:
    """The calculation cells and names of ``actual`` that differ from the template's."""
    problems = []
    template = build_workbook(spec)
    for sheet in template.sheetnames:
        if sheet not in actual.sheetnames:
            problems.append(Problem(sheet, "-", "missing sheet", "the sheet has been deleted"))
    for sheet in CALCULATION_SHEETS:
        if sheet not in contents:
            continue
        cells = contents[sheet]
        for row in template[sheet].iter_rows():
            for cell in row:
                expected = cell.value
                if not (isinstance(expected, str) and expected.startswith("=")):
                    continue
                where = cell.coordinate
                got = cells.get(where)
                if got == expected:  # as written: most cells, and no need to parse them
                    continue
                if got is None or (isinstance(got, str) and not got.startswith("=")):
                    kind = "missing formula" if got is None else "override"
                    problems.append(
                        Problem(sheet, where, kind, f"expected {expected}; got {got!r}")
                    )
                elif not isinstance(got, str):
                    problems.append(
                        Problem(
                            sheet, where, "override", f"a typed number {got!r} replaces {expected}"
                        )
                    )
                elif "#REF!" in got:
                    problems.append(Problem(sheet, where, "broken reference", got))
                elif _normal(got) != _normal(expected):
                    problems.append(
                        Problem(sheet, where, "edited formula", f"expected {expected}; got {got}")
                    )
    for name in template.defined_names:
        if name not in actual.defined_names:
            problems.append(Problem("-", name, "missing name", "the defined name is gone"))
        elif template.defined_names[name].attr_text.replace("'", "") != actual.defined_names[
            name
        ].attr_text.replace("'", ""):
            problems.append(
                Problem(
                    "-",
                    name,
                    "moved name",
                    f"refers to {actual.defined_names[name].attr_text}; "
                    f"expected {template.defined_names[name].attr_text}",
                )
            )
    return problems


def _contents(ws) -> dict[str, object]:
    """A read-only sheet's cells that hold something, by coordinate."""
    ws.reset_dimensions()  # every cell, whatever range the file's <dimension> claims
    return {
        cell.coordinate: cell.value
        for row in ws.iter_rows()
        for cell in row
        if cell.value is not None
    }


TIMELINE_SHEETS = ("Calculations", "ScenarioCalcs")


def _last_period_column(contents: dict[str, dict]) -> int:
    """The timeline's last column: the end of the unbroken run of period labels that
    starts at the first period's column on Calculations' header row (ScenarioCalcs
    shares the timeline). Text typed further along that row does not move it."""
    labels = {
        column_index_from_string(column)
        for column, row in map(coordinate_from_string, contents.get("Calculations", {}))
        if row == CALCULATIONS.header_row
    }
    last = CALCULATIONS.first_period_column
    if last not in labels:
        return 10**6  # no labels to go by: every column is held to its row's formula
    while last + 1 in labels:
        last += 1
    return last


def _consistency_problems(contents: dict[str, dict]) -> list[Problem]:
    """An earlier template's timeline rows: one formula copied across, nothing typed over."""
    problems = []
    last = _last_period_column(contents)
    for sheet in TIMELINE_SHEETS:
        if sheet not in contents:
            problems.append(Problem(sheet, "-", "missing sheet", "the sheet has been deleted"))
            continue
        rows: dict[int, list[tuple[int, str, object]]] = {}
        for coordinate, value in contents[sheet].items():
            column, row = coordinate_from_string(coordinate)
            rows.setdefault(row, []).append((column_index_from_string(column), coordinate, value))
        # The timeline has started in the same column in every template version so far;
        # a column after it (a Total) holds another formula by design.
        first_column = CALCULATIONS.first_period_column
        for row in sorted(rows):
            cells = sorted(c for c in rows[row] if first_column <= c[0] <= last)
            if not cells or cells[0][0] != first_column:
                continue
            _, origin, first = cells[0]
            if not (isinstance(first, str) and first.startswith("=")):
                continue
            translator = Translator(first, origin=origin)
            for _, coordinate, got in cells[1:]:
                if not (isinstance(got, str) and got.startswith("=")):
                    problems.append(
                        Problem(
                            sheet, coordinate, "override", f"a typed {got!r} in a row of formulas"
                        )
                    )
                elif "#REF!" in got:
                    problems.append(Problem(sheet, coordinate, "broken reference", got))
                elif _normal(got) != _normal(translator.translate_formula(coordinate)):
                    problems.append(
                        Problem(
                            sheet,
                            coordinate,
                            "edited formula",
                            f"differs from the row's first formula {first}; got {got}",
                        )
                    )
    return problems


@dataclass
class Upgrade:
    path: Path
    carried: int  # inputs carried over
    not_carried: list[str]  # what the new file does not hold, and why
    source_version: str  # the template the old workbook was made by


def upgrade_workbook(old: str | Path, new: str | Path, overwrite: bool = False) -> Upgrade:
    """The current template filled with the old workbook's inputs (and KPI actuals)."""
    case = read_business_case(old)
    source = openpyxl.load_workbook(old)
    path = write_business_case(
        case.model.spec, new, overwrite, values=case.values, actuals=_kpi_actuals(source)
    )
    not_carried = []
    template_sheets = set(openpyxl.load_workbook(path, read_only=True).sheetnames)
    for name in source.sheetnames:
        if name not in template_sheets:
            reason = (
                "a Monte Carlo snapshot: run `bizcase simulate --write` on the new file"
                if name == "Risk"
                else "not part of the template"
            )
            not_carried.append(f"sheet {name!r}: {reason}")
    filled = case.filled
    if filled:
        not_carried.append(
            f"inputs new since template {case.template_version}, set from the spec: "
            + ", ".join(filled)
        )
    return Upgrade(Path(path), len(case.values) - len(filled), not_carried, case.template_version)


def _kpi_actuals(wb) -> dict[str, object]:
    """The KPI actuals a user typed (rows labelled Actual), by cell."""
    if KPIS.sheet not in wb.sheetnames:
        return {}
    ws = wb[KPIS.sheet]
    out = {}
    kind, first = KPIS.kind_column - 1, KPIS.first_year_column - 1  # 0-based
    for row in ws.iter_rows(min_row=KPIS.first_row):
        if len(row) > first and row[kind].value == KPIS.actual:
            for cell in row[first:]:
                if cell.value not in (None, ""):
                    out[cell.coordinate] = cell.value
    return out
