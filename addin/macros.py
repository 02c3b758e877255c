"""The workbook buttons: xlwings scripts for xlwings Lite/Server and classic xlwings.

Each button of the registry (:data:`workbooks.buttons.BUTTONS`: shape, sheet and
cell, caption, script, classic Sub, help; the README lists them) runs one
script of this module on the workbook it sits in.

In xlwings Lite and xlwings Server each script takes the workbook as its
``book`` argument and is bound to its button with ``button="[name]Sheet!Cell"``
(the generated workbooks carry shapes of those names linking to those cells),
through ``xw.script``: :func:`button_script` takes the binding from the
registry by the script's name.

Classic xlwings on Windows has one route: ``addin/bizcase.bas`` (generated
from the registry by ``python -m addin.bas``), imported into the workbook saved
as .xlsm, whose Subs call the argument-free ``bizcase_*`` entry points of this
module through ``RunPython`` (each runs its button's script on
``xw.Book.caller()``; made from the registry by the module ``__getattr__``),
and whose ``bizcase_assign_buttons`` points each button at its Sub. "Import
Functions" is for the ``BC_`` functions only: nothing here is registered with
the classic decorators, so following both never declares a Sub twice.

The scripts read the workbook through the xlwings Book API only (values of
named cells, never a file), and write where the sheet layouts
(:mod:`workbooks.layout`) say, so they work in the browser-based runtimes.
"""

from __future__ import annotations

import datetime as dt
import functools
import math

import xlwings as xw

from udfs.expr import column_letter
from udfs.model import Model, evaluate
from udfs.portfolio import plan
from udfs.risk import simulate
from udfs.sensitivity import tornado
from workbooks import buttons as registry
from workbooks.layout import COVER, INTEGRITY, META, SENSITIVITY
from workbooks.portfolio_layout import CASES, FLOWS, planned_cases
from workbooks.reader import CellSource, WorkbookError, read_case
from workbooks.risk_sheet import risk_layout

#: The scripts, for the Lite bundle and the docs: one per button of the registry.
SCRIPTS = tuple(b.script for b in registry.BUTTONS)


def _is_classic() -> bool:
    return getattr(xw.script, "__module__", "") == "xlwings.udfs"


def _script(**options):
    """``xw.script`` in Lite/Server. Classic xlwings binds ``xw.script`` to its
    "Import Functions" Sub decorator, which these book-taking scripts must not get:
    the classic route is the Subs of addin/bizcase.bas."""
    if _is_classic() or not hasattr(xw, "script"):
        return lambda f: f
    return xw.script(**options)


def button_script(function):
    """``function`` as the script of the registry's button that names it."""
    found = [b for b in registry.BUTTONS if b.script == function.__name__]
    if len(found) != 1:
        raise LookupError(
            f"workbooks/buttons.py: {len(found)} buttons name the script "
            f"{function.__name__!r}; expected one"
        )
    return _script(button=found[0].binding, show_taskpane=False)(function)


def __getattr__(name: str):
    """The classic entry points, ``bizcase_monte_carlo()`` and the other Subs of
    addin/bizcase.bas: one per registry button (its ``macro``), each running the
    button's script on the workbook that holds the button. Made here from the
    registry rather than written out, so a button is declared once."""
    for button in registry.BUTTONS:
        if button.macro == name:
            return _classic_entry(button)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *(b.macro for b in registry.BUTTONS)})


@functools.cache
def _classic_entry(button):
    """One entry point per button (the same function on every lookup)."""
    target = button.classic or button.script
    if target not in globals():
        raise AttributeError(
            f"workbooks/buttons.py: the button {button.name!r} runs {target!r}, "
            f"which addin/macros.py does not define"
        )

    def entry():
        globals()[target](xw.Book.caller())  # looked up when run, as a Sub's RunPython does

    entry.__name__ = entry.__qualname__ = button.macro
    entry.__doc__ = f"Classic xlwings: {button.label} on the calling workbook."
    return entry


# --- reading a case through the Book API ---------------------------------------


class _BookSource(CellSource):
    """The reader's view of an open workbook through the xlwings Book API."""

    def __init__(self, book):
        if META.sheet not in [s.name for s in book.sheets]:
            raise WorkbookError(
                "not a bizcase workbook, or its hidden _bizcase sheet has been deleted"
            )
        self.book = book

    def recorded(self) -> tuple[str, str]:
        meta = self.book.sheets[META.sheet]
        chunks = meta.range(META.spec).expand("right").value
        text = "".join(str(c) for c in (chunks if isinstance(chunks, list) else [chunks]) if c)
        return str(meta.range(META.template_version).value), text

    def cells(self, name: str) -> list | None:
        if name not in [n.name for n in self.book.names]:
            return None
        rng = self.book.names[name].refers_to_range
        value = rng.value
        columns = rng.shape[1]
        flat = value if isinstance(value, list) else [value]
        flat = [v for row in flat for v in (row if isinstance(row, list) else [row])]
        sheet = rng.sheet.name
        return [
            (v, f"{sheet}!{column_letter(rng.column + i % columns)}{rng.row + i // columns}")
            for i, v in enumerate(flat)
        ]


def _case(book) -> tuple[Model, dict]:
    """The model recorded in the workbook and the values of its In_ names, validated."""
    case = read_case(_BookSource(book), "this workbook")
    return case.model, case.values


def _sheet(book, name: str):
    """The sheet of this name, added at the end if missing; cleared either way."""
    names = [s.name for s in book.sheets]
    if name in names:
        sheet = book.sheets[name]
        sheet.clear_contents()
    else:
        sheet = book.sheets.add(name, after=book.sheets[len(names) - 1])
    return sheet


def _stamp() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _number(x):
    return None if x is None or (isinstance(x, float) and not math.isfinite(x)) else x


# --- the scripts -----------------------------------------------------------------


@button_script
def run_monte_carlo(book: xw.Book):
    """Monte Carlo of the case's NPV from its current inputs; writes the Risk sheet.

    Same layout as ``bizcase simulate --write`` (so its charts, if any, stay right).
    """
    model, values = _case(book)
    mc = model.spec.risk.monte_carlo
    sim = simulate(model, mc.trials, mc.seed, values=values)
    layout = risk_layout(sim, model.spec.meta.name, model.spec.meta.currency)
    _sheet(book, "Risk")["A1"].value = layout.grid()
    return book


@button_script
def run_sensitivity(book: xw.Book):
    """Recompute the tornado from the current inputs into the Sensitivity sheet's table."""
    model, values = _case(book)
    bars = tornado(model, values=values)
    base = evaluate(model, values, "Base").outputs["NPV"]
    sheet = book.sheets[SENSITIVITY.sheet]
    sheet[SENSITIVITY.note].value = (
        f"Recomputed by the bizcase engine ({_stamp()}) from the current "
        f"inputs, Base scenario, each driver moved alone."
    )
    sheet[SENSITIVITY.base_npv].value = base
    # The inputs this tornado comes from, for the Checks sheet's staleness check.
    names = [n.name for n in book.names]
    for live, snapshot in (
        ("Snap_Inputs", "Snap_InputsAtSnapshot"),
        ("Snap_Series", "Snap_SeriesAtSnapshot"),
    ):
        if snapshot in names:
            source = book.names[live].refers_to_range.options(ndim=2)
            book.names[snapshot].refers_to_range.value = source.value
    sheet[SENSITIVITY.table].value = [SENSITIVITY.row(b, base) for b in bars]
    return book


@button_script
def check_integrity(book: xw.Book):
    """Compare every Out_ result in the workbook with the engine's; list differences."""
    model, values = _case(book)
    engine = evaluate(model, values).outputs
    note = (
        f"{_stamp()}: each Out_ value as the workbook computed it, against the bizcase "
        f"engine on the same inputs. A difference means an edited formula or a number "
        f"typed over one."
    )
    results = []
    problems = 0
    for name, expected in engine.items():
        got = book.names[f"Out_{name}"].refers_to_range.value
        same = _agrees(got, expected)
        problems += not same
        results.append(
            [
                f"Out_{name}",
                got if isinstance(got, (int, float)) else str(got),
                _number(expected),
                "OK" if same else "DIFFERS",
            ]
        )
    verdict = "All results agree" if problems == 0 else f"{problems} result(s) differ"
    _sheet(book, INTEGRITY.sheet)["A1"].value = INTEGRITY.grid(note, results, verdict)
    return book


def _agrees(got, expected: float) -> bool:
    if not math.isfinite(expected):
        return not isinstance(got, (int, float)) or isinstance(got, bool)
    if not isinstance(got, (int, float)) or isinstance(got, bool):
        return False
    return abs(got - expected) <= 1e-9 * max(1.0, abs(expected))


@button_script
def rebuild_case(book: xw.Book):
    """Lite/Server cannot write files: say how to rebuild, on the Cover."""
    book.sheets[COVER.sheet][COVER.message].value = (
        "To rebuild in the latest template, save this file and run: bizcase upgrade "
        "THIS.xlsx -o NEW.xlsx (or use the button in desktop Excel with classic xlwings)."
    )
    return book


@button_script
def refresh_portfolio(book: xw.Book):
    """Re-rank the cases and re-solve the funded set from the Cases table, as the rollup did.

    The same plan (:func:`udfs.portfolio.plan`) from what the workbook holds now
    (:func:`workbooks.portfolio_layout.planned_cases`): the case rows (values
    edited by hand included), their flows on Flows, the budget, what selection
    maximises, the ranking key and the constraints in the table. Columns are
    found by their headers, and Rank and Selected written where they stand.
    """
    tables = [book.sheets[t.sheet]["A1"].expand().value for t in (CASES, FLOWS)]
    names = [n.name for n in book.names]

    def value(name: str):
        return book.names[name].refers_to_range.value if name in names else None

    result = plan(*planned_cases(*tables, value))
    sheet = book.sheets[CASES.sheet]
    positions = CASES.find(tables[0][0])
    for header, values in (("Rank", result.ranks), ("Selected", result.selected)):
        cell = sheet.range((CASES.first_row, positions[header] + 1))
        cell.value = [[int(x)] for x in values]
    return book


# --- classic xlwings: what the entry points run that the scripts cannot ----------


def rebuild_case_file(book: xw.Book):
    """Write '<name> (rebuilt).xlsx' beside the workbook, in the current template."""
    from pathlib import Path

    from workbooks.integrity import upgrade_workbook

    source = Path(book.fullname)
    target = source.with_name(f"{source.stem} (rebuilt).xlsx")
    result = upgrade_workbook(source, target, overwrite=True)
    book.sheets[COVER.sheet][COVER.message].value = f"Rebuilt: {result.path.name}"
