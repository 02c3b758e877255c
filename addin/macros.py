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
(the generated workbooks carry shapes of those names linking to those cells),
through ``xw.script``.

Classic xlwings on Windows has one route: ``addin/bizcase.bas``, imported into
the workbook saved as .xlsm, whose Subs call the argument-free ``bizcase_*``
functions below through ``RunPython`` (they act on ``xw.Book.caller()``), and
whose ``bizcase_assign_buttons`` points each button at its Sub. "Import
Functions" is for the ``BC_`` functions only: nothing here is registered with
the classic decorators, so following both never declares a Sub twice.

The scripts read the workbook through the xlwings Book API only (values of
named cells, never a file), so they work in the browser-based runtimes.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import replace

import numpy as np
import xlwings as xw

from udfs.errors import InputError
from udfs.expr import column_letter
from udfs.model import Model, evaluate
from udfs.portfolio import Case, Settings, plan
from udfs.risk import simulate
from udfs.sensitivity import tornado
from workbooks.buttons import CASE_BUTTONS, PORTFOLIO_BUTTONS
from workbooks.portfolio_layout import CASES, FLOWS, MEASURE_LABELS
from workbooks.reader import CellSource, WorkbookError, read_case
from workbooks.risk_sheet import risk_layout

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
    """``xw.script`` in Lite/Server. Classic xlwings binds ``xw.script`` to its
    "Import Functions" Sub decorator, which these book-taking scripts must not get:
    the classic route is the Subs of addin/bizcase.bas."""
    if _is_classic() or not hasattr(xw, "script"):
        return lambda f: f
    return xw.script(**options)


# --- reading a case through the Book API ---------------------------------------


class _BookSource(CellSource):
    """The reader's view of an open workbook through the xlwings Book API."""

    def __init__(self, book):
        if "_bizcase" not in [s.name for s in book.sheets]:
            raise WorkbookError(
                "not a bizcase workbook, or its hidden _bizcase sheet has been deleted"
            )
        self.book = book

    def recorded(self) -> tuple[str, str]:
        meta = self.book.sheets["_bizcase"]
        chunks = meta.range("B4").expand("right").value
        text = "".join(str(c) for c in (chunks if isinstance(chunks, list) else [chunks]) if c)
        return str(meta.range("B1").value), text

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


@_script(button=_binding("btnMonteCarlo", CASE_BUTTONS), show_taskpane=False)
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
    # The inputs this tornado comes from, for the Checks sheet's staleness check.
    names = [n.name for n in book.names]
    for live, snapshot in (
        ("Snap_Inputs", "Snap_InputsAtSnapshot"),
        ("Snap_Series", "Snap_SeriesAtSnapshot"),
    ):
        if snapshot in names:
            source = book.names[live].refers_to_range.options(ndim=2)
            book.names[snapshot].refers_to_range.value = source.value
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
    """Re-rank the cases and re-solve the funded set from the Cases table, as the rollup did.

    The same plan (:func:`udfs.portfolio.plan`) from what the workbook holds now:
    the case rows (values edited by hand included), their flows by year on
    Flows, the budget (total ``In_Budget`` or ``In_BudgetByYear``), what
    selection maximises and the ranking key (``In_SelectBy``, ``In_RankBy``),
    and the constraints in the table (Mandatory, Group, Depends on). Columns are
    found by their headers (:mod:`workbooks.portfolio_layout`). Amounts must all
    be in the portfolio's currency (``Port_Currency``): a row in another
    currency without a positive FX rate stops the refresh, naming the case.
    """
    cases, settings, positions = _portfolio(book)
    result = plan(cases, settings)
    sheet = book.sheets[CASES.sheet]
    for header, values in (("Rank", result.ranks), ("Selected", result.selected)):
        cell = sheet.range((CASES.first_row, positions[header] + 1))
        cell.value = [[int(x)] for x in values]
    return book


def _value(book, name: str):
    names = [n.name for n in book.names]
    return book.names[name].refers_to_range.value if name in names else None


def _portfolio(book) -> tuple[list[Case], Settings, dict[str, int]]:
    """The cases as the portfolio workbook holds them now, the plan's settings, and the
    Cases table's column positions (0-based)."""
    table = book.sheets[CASES.sheet]["A1"].expand().value
    header, rows = table[0], table[1:]
    col = CASES.find(header)

    def column(name, default=0.0):
        if name not in col:  # a column older workbooks lack
            return [default] * len(rows)
        return [default if r[col[name]] in (None, "") else r[col[name]] for r in rows]

    def number(name, default=math.nan):
        return [float(x) if _is_number(x) else default for x in column(name, default)]

    ids = [str(x) for x in column("ID", "")]
    # ISO 4217's "no currency": workbooks from before one-currency portfolios name none
    currency = str(_value(book, "Port_Currency") or "XXX").strip().upper()
    if "Currency" in col:
        _check_converted(currency, ids, column("Currency", ""), column("FX rate", None))
    years, flows = _flows(book, ids)
    texts = {h: [str(x) for x in column(h, "")] for h in ("Name", "Product line", "Stage")}
    cells = {h: number(h) for h in ("IRR", "PI", "Payback", "Discount rate")}
    money = {h: number(h, 0.0) for h in ("NPV", "eNPV", "Score")}
    probability = number("Probability", 1.0)
    mandatory, group, depends = (
        column("Mandatory", 0),
        column("Group", ""),
        column("Depends on", ""),
    )
    cases = [
        Case(
            id=case_id,
            name=texts["Name"][i],
            product_line=texts["Product line"][i],
            stage=texts["Stage"][i],
            years=years,
            **{m: flows[m][i] for m in MEASURE_LABELS},
            npv=money["NPV"][i],
            enpv=money["eNPV"][i],
            irr=cells["IRR"][i],
            pi=cells["PI"][i],
            payback=cells["Payback"][i],
            discount_rate=cells["Discount rate"][i],
            probability=probability[i],
            score=money["Score"][i],
            extra={
                "mandatory": bool(mandatory[i]),
                "exclusive_group": str(group[i]) if group[i] else None,
                "depends_on": str(depends[i]) if depends[i] else None,
            },
            currency=currency,
        )
        for i, case_id in enumerate(ids)
    ]
    by_year = _value(book, "In_BudgetByYear")
    by_year = by_year if isinstance(by_year, list) else [by_year]
    total = _value(book, "In_Budget")
    rate, guess = _value(book, "In_PortfolioRate"), _value(book, "In_IRRGuess")
    settings = Settings(
        budget_by_year=tuple(float(b) for b in by_year)
        if by_year and all(_is_number(b) for b in by_year)
        else None,
        rank_by=str(_value(book, "In_RankBy") or "npv").strip().lower(),
        value_key=str(_value(book, "In_SelectBy") or "npv").strip().lower(),
        frontier_points=0,  # the Selection sheet's frontier is the rollup's snapshot
        irr_guess=float(guess) if _is_number(guess) else Settings.irr_guess,
        rate=float(rate) if _is_number(rate) else None,
    )
    if settings.budget_by_year is None and _is_number(total):
        settings = replace(settings, budget=float(total))
    return cases, settings, col


def _is_number(x) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def _check_converted(own: str, ids: list[str], currencies: list, rates: list) -> None:
    """Every row's amounts are in the portfolio's currency, or converted at a rate."""
    unconverted = [
        f"{case_id} ({currency})"
        for case_id, currency, rate in zip(ids, currencies, rates, strict=True)
        if str(currency).strip().upper() != own and not (_is_number(rate) and rate > 0)
    ]
    if unconverted:
        raise InputError(
            f"Cases, FX rate: no rate to {own} for {', '.join(unconverted)}; a portfolio "
            f"adds one currency: give each such case its rate and its NPV, eNPV and capital "
            f"in {own}, or roll the cases up again with --fx"
        )


def _flows(book, ids: list[str]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The calendar years and each case's flows by year (cases x years), from Flows."""
    table = book.sheets[FLOWS.sheet]["A1"].expand().value
    col = FLOWS.find(table[0])
    years = FLOWS.years(table[0])
    if not years:
        raise InputError(f"{FLOWS.sheet}, row {FLOWS.header_row}: no year columns")
    measures = {label: m for m, label in MEASURE_LABELS.items()}
    out = {m: np.zeros((len(ids), len(years))) for m in MEASURE_LABELS}
    index = {case_id: i for i, case_id in enumerate(ids)}
    for row in table[1:]:
        measure = measures.get(str(row[col["Measure"]]))
        i = index.get(str(row[col["ID"]]))
        if measure is not None and i is not None:
            out[measure][i] = [float(row[p]) if _is_number(row[p]) else 0.0 for p, _ in years]
    return np.array([y for _, y in years]), out


# --- classic xlwings: what addin/bizcase.bas runs (RunPython) on the calling workbook


def bizcase_monte_carlo():
    """Run Monte Carlo on the workbook that holds the button (classic xlwings)."""
    run_monte_carlo(xw.Book.caller())


def bizcase_sensitivity():
    """Recompute the tornado on the calling workbook (classic xlwings)."""
    run_sensitivity(xw.Book.caller())


def bizcase_check():
    """Check the calling workbook's results against the engine (classic xlwings)."""
    check_integrity(xw.Book.caller())


def bizcase_refresh():
    """Re-rank and re-select the calling portfolio workbook (classic xlwings)."""
    refresh_portfolio(xw.Book.caller())


def bizcase_rebuild():
    """Write '<name> (rebuilt).xlsx' beside the workbook, in the current template."""
    from pathlib import Path

    from workbooks.integrity import upgrade_workbook

    book = xw.Book.caller()
    source = Path(book.fullname)
    target = source.with_name(f"{source.stem} (rebuilt).xlsx")
    result = upgrade_workbook(source, target, overwrite=True)
    book.sheets["Cover"]["M16"].value = f"Rebuilt: {result.path.name}"
