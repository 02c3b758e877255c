"""The workbook buttons: xlwings scripts for xlwings Lite/Server and classic xlwings.

Each button runs one script on the workbook it sits in:

==================  =======================  ==================================================
button (shape)      script                   effect
==================  =======================  ==================================================
btnMonteCarlo       ``run_monte_carlo``      Monte Carlo of NPV; writes the Risk sheet (values)
btnSensitivity      ``run_sensitivity``      recomputes the tornado table on Sensitivity
btnCheck            ``check_integrity``      compares results with the engine; Integrity sheet
btnRebuild          ``rebuild_case``         classic: writes "<name> (rebuilt).xlsx" in the
                                             current template; Lite: explains how (no files)
btnRefresh          ``refresh_portfolio``    portfolio: re-ranks and re-selects the funded set
                                             from the Cases table and the budget
==================  =======================  ==================================================

In xlwings Lite and xlwings Server each script takes the workbook as its
``book`` argument and is bound to its button with ``button="[name]Sheet!Cell"``
(the generated workbooks carry shapes of those names linking to those cells).
Classic xlwings on Windows imports the argument-free ``bizcase_*`` Subs
("Import Functions" with this module listed under UDF Modules) and runs them
on the calling workbook; assign them to the buttons (right-click > Assign
Macro) or use the shapes' macro links, which name them already.

The scripts read the workbook through the xlwings Book API only (values of
named cells, never a file), so they work in the browser-based runtimes.
"""

from __future__ import annotations

import datetime as dt
import json
import math

import numpy as np
import xlwings as xw

from udfs.model import Model, build_model, evaluate
from udfs.portfolio import rank, select
from udfs.risk import simulate
from udfs.sensitivity import tornado
from udfs.spec import parse_spec
from workbooks.buttons import CASE_BUTTONS, PORTFOLIO_BUTTONS

#: The scripts, for the Lite bundle and the docs.
SCRIPTS = (
    "run_monte_carlo",
    "run_sensitivity",
    "check_integrity",
    "rebuild_case",
    "refresh_portfolio",
)


def _binding(name: str, buttons: dict) -> str:
    sheet, cell, _, _ = buttons[name]
    return f"[{name}]{sheet}!{cell}"


def _is_classic() -> bool:
    return getattr(xw.script, "__module__", "") == "xlwings.udfs"


def _script(**options):
    """``xw.script`` in Lite/Server; classic gets the argument-free Subs below instead."""
    if _is_classic() or not hasattr(xw, "script"):
        return lambda f: f
    return xw.script(**options)


# --- reading a case through the Book API ---------------------------------------


def _case(book) -> tuple[Model, dict]:
    """The model recorded in the workbook and the values of its In_ names."""
    if "_bizcase" not in [s.name for s in book.sheets]:
        raise ValueError("not a bizcase workbook (no _bizcase sheet)")
    meta = book.sheets["_bizcase"]
    chunks = meta.range("B4").expand("right").value
    text = "".join(str(c) for c in (chunks if isinstance(chunks, list) else [chunks]) if c)
    model = build_model(parse_spec(json.loads(text), "the workbook's _bizcase sheet"))
    values = {}
    for item in model.inputs:
        value = book.names[f"In_{item.name}"].refers_to_range.value
        if item.kind == "series":
            values[item.name] = np.array([0.0 if v in (None, "") else float(v) for v in value])
        elif item.kind == "text":
            values[item.name] = str(value)
        else:
            values[item.name] = float(value)
    return model, values


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


@_script(button=_binding("btnMonteCarlo", CASE_BUTTONS), show_taskpane=False)
def run_monte_carlo(book: xw.Book):
    """Monte Carlo of the case's NPV from its current inputs; writes the Risk sheet."""
    model, values = _case(book)
    mc = model.spec.risk.monte_carlo
    sim = simulate(model, mc.trials, mc.seed, values=values)
    rows = [
        ["Risk: Monte Carlo simulation", None, None, None, None, None],
        [
            f"Snapshot from the bizcase engine ({_stamp()}): {sim.trials:,} trials, seed "
            f"{sim.seed}. Run again after changing inputs.",
            None,
            None,
            None,
            None,
            None,
        ],
        [None] * 6,
        ["Output", "Mean", "P10", "P50", "P90", "P(< 0)"],
    ]
    for name in ("NPV", "eNPV", "IRR"):
        s = sim.summary(name)
        rows.append(
            [name, *(_number(s[k]) for k in ("mean", "p10", "p50", "p90", "prob_negative"))]
        )
    counts, edges = sim.histogram("NPV", bins=20)
    rows += [[None] * 6, ["NPV histogram: from", "to", "trials", None, None, None]]
    rows += [
        [float(edges[i]), float(edges[i + 1]), int(n), None, None, None]
        for i, n in enumerate(counts)
    ]
    _sheet(book, "Risk")["A1"].value = rows
    return book


@_script(button=_binding("btnSensitivity", CASE_BUTTONS), show_taskpane=False)
def run_sensitivity(book: xw.Book):
    """Recompute the tornado from the current inputs into the Sensitivity sheet's table."""
    model, values = _case(book)
    bars = tornado(model, values=values)
    base = evaluate(model, values, "Base").outputs["NPV"]
    sheet = book.sheets["Sensitivity"]
    sheet["A2"].value = (
        f"Recomputed by the bizcase engine ({_stamp()}) from the current "
        f"inputs, Base scenario, each driver moved alone."
    )
    sheet["D3"].value = base
    sheet["A5"].value = [
        [
            b.label,
            b.low_change,
            b.high_change,
            b.npv_low,
            b.npv_high,
            b.swing,
            b.npv_low - base,
            b.npv_high - base,
        ]
        for b in bars
    ]
    return book


@_script(button=_binding("btnCheck", CASE_BUTTONS), show_taskpane=False)
def check_integrity(book: xw.Book):
    """Compare every Out_ result in the workbook with the engine's; list differences."""
    model, values = _case(book)
    engine = evaluate(model, values).outputs
    rows = [
        ["Integrity check", None, None, None],
        [
            f"{_stamp()}: each Out_ value as the workbook computed it, against the bizcase "
            f"engine on the same inputs. A difference means an edited formula or a number "
            f"typed over one.",
            None,
            None,
            None,
        ],
        [None] * 4,
        ["Output", "In the workbook", "Engine", "Status"],
    ]
    problems = 0
    for name, expected in engine.items():
        got = book.names[f"Out_{name}"].refers_to_range.value
        same = _agrees(got, expected)
        problems += not same
        rows.append(
            [
                f"Out_{name}",
                got if isinstance(got, (int, float)) else str(got),
                _number(expected),
                "OK" if same else "DIFFERS",
            ]
        )
    rows.append([None] * 4)
    rows.append(
        ["All results agree" if problems == 0 else f"{problems} result(s) differ", None, None, None]
    )
    _sheet(book, "Integrity")["A1"].value = rows
    return book


def _agrees(got, expected: float) -> bool:
    if not math.isfinite(expected):
        return not isinstance(got, (int, float)) or isinstance(got, bool)
    if not isinstance(got, (int, float)) or isinstance(got, bool):
        return False
    return abs(got - expected) <= 1e-9 * max(1.0, abs(expected))


@_script(button=_binding("btnRebuild", CASE_BUTTONS), show_taskpane=False)
def rebuild_case(book: xw.Book):
    """Lite/Server cannot write files: say how to rebuild, on the Cover."""
    book.sheets["Cover"]["M16"].value = (
        "To rebuild in the latest template, save this file and run: bizcase upgrade "
        "THIS.xlsx -o NEW.xlsx (or use the button in desktop Excel with classic xlwings)."
    )
    return book


@_script(button=_binding("btnRefresh", PORTFOLIO_BUTTONS), show_taskpane=False)
def refresh_portfolio(book: xw.Book):
    """Re-rank the cases and re-select the funded set from the Cases table and the budget."""
    sheet = book.sheets["Cases"]
    table = sheet["A1"].expand().value
    header, rows = table[0], table[1:]
    col = {h: i for i, h in enumerate(header)}
    npv = np.array([float(r[col["NPV"]] or 0.0) for r in rows])
    capital = np.array([float(r[col["Capital"]] or 0.0) for r in rows])
    budget = book.names["In_Budget"].refers_to_range.value
    chosen = (
        np.ones(len(rows), dtype=bool)
        if budget in (None, "")
        else select(npv, capital, float(budget))
    )
    import pandas as pd

    ranks = rank(pd.DataFrame({"npv": npv}), "npv")
    sheet.range((2, col["Rank"] + 1)).value = [[int(r)] for r in ranks]
    sheet.range((2, col["Selected"] + 1)).value = [[int(x)] for x in chosen]
    return book


# --- classic xlwings: argument-free Subs on the calling workbook -----------------


def _classic(script):
    def run():
        script(xw.Book.caller())

    run.__doc__ = script.__doc__
    return run


bizcase_monte_carlo = _classic(run_monte_carlo)
bizcase_sensitivity = _classic(run_sensitivity)
bizcase_check = _classic(check_integrity)
bizcase_refresh = _classic(refresh_portfolio)


def bizcase_rebuild():
    """Write '<name> (rebuilt).xlsx' beside the workbook, in the current template."""
    from pathlib import Path

    from workbooks.integrity import upgrade_workbook

    book = xw.Book.caller()
    source = Path(book.fullname)
    target = source.with_name(f"{source.stem} (rebuilt).xlsx")
    result = upgrade_workbook(source, target, overwrite=True)
    book.sheets["Cover"]["M16"].value = f"Rebuilt: {result.path.name}"


if hasattr(xw, "sub") and _is_classic():  # "Import Functions" turns these into VBA Subs
    for _name in (
        "bizcase_monte_carlo",
        "bizcase_sensitivity",
        "bizcase_check",
        "bizcase_refresh",
        "bizcase_rebuild",
    ):
        globals()[_name] = xw.sub(globals()[_name])
