"""Excel functions: the ``BC_`` UDFs, thin xlwings adapters over :mod:`udfs.finance`.

The same module serves both runtimes xlwings offers:

* classic xlwings (Windows): "Import Functions" turns each ``@xw.func`` into a
  VBA wrapper; errors come back as real Excel error values, the reason goes to
  the xlwings log;
* xlwings Lite / xlwings Server (Office.js): ``#VALUE!`` carries the reason
  (shown when the user hovers over the cell's error flag); ``#NUM!``,
  ``#DIV/0!`` and ``#N/A`` are returned as Excel's own error values, as the
  native functions do, so ``IFERROR``/``ISNA`` logic behaves the same.

Ranges are read as Excel's own NPV/IRR/MIRR read them: only numbers count;
blank cells, text and TRUE/FALSE inside a range are skipped; an error value in
the range is passed on (IRR alone turns it into #VALUE!, as Excel's IRR does).
A range may be a row, a column or a block (read row by row). Where we depart
from Excel on purpose, README.md ("Where we differ from Excel") lists it.
"""

from __future__ import annotations

import functools
import logging
import math

import numpy as np
import xlwings as xw

from . import finance, portfolio, risk
from .errors import DomainError, InputError

logger = logging.getLogger(__name__)

# Excel's calendar: serial 1 is 1900-01-01, 2958465 is 9999-12-31. A number
# outside it in a dates range is no date; XNPV and XIRR answer #NUM!.
FIRST_SERIAL, LAST_SERIAL = 1, 2958465

EXCEL_ERRORS = frozenset(
    {
        "#NULL!",
        "#DIV/0!",
        "#VALUE!",
        "#REF!",
        "#NAME?",
        "#NUM!",
        "#N/A",
        "#SPILL!",
        "#CALC!",
        "#GETTING_DATA",
    }
)
# CVErr codes (xlErrDiv0 ...) as COM VT_ERROR scodes, for classic xlwings.
_COM_ERRORS = {
    "#NULL!": 2000,
    "#DIV/0!": 2007,
    "#VALUE!": 2015,
    "#REF!": 2023,
    "#NAME?": 2029,
    "#NUM!": 2036,
    "#N/A": 2042,
}


class ExcelError(Exception):
    """A result Excel shows as an error value: ``code`` (e.g. ``#NUM!``) and why."""

    def __init__(self, code: str, reason: str):
        super().__init__(f"{code} {reason}")
        self.code = code
        self.reason = reason


def _is_classic() -> bool:
    # xlwings picks its decorators at import: classic (COM) ones live in xlwings.udfs.
    return getattr(xw.func, "__module__", "") == "xlwings.udfs"


def _error_value(code: str, reason: str):
    logger.info("%s %s", code, reason)
    if _is_classic():
        import pythoncom  # Windows-only, present wherever classic xlwings runs
        from win32com.client import VARIANT

        # CVErr(n) is the HRESULT 0x800A0000 + n, as a signed 32-bit integer.
        return VARIANT(pythoncom.VT_ERROR, -2146828288 + _COM_ERRORS.get(code, 2015))
    if code == "#VALUE!" or code not in _COM_ERRORS:
        # Office.js shows a raised error as #VALUE! with the reason; codes
        # xlwings cannot return as values (#SPILL!, #CALC!) go the same way.
        raise InputError(reason)
    return code


def excel_function(f):
    """Turn engine exceptions and no-result values into Excel error values."""

    @functools.wraps(f)
    def wrapper(*args):
        try:
            return f(*args)
        except ExcelError as e:
            return _error_value(e.code, e.reason)
        except DomainError as e:
            return _error_value("#NUM!", str(e))
        except InputError as e:
            return _error_value("#VALUE!", str(e))

    return wrapper


# --- reading Excel arguments ------------------------------------------------


def _cells(value) -> list:
    """Flatten a scalar, a row, a column or a block into a list, row by row."""
    if isinstance(value, (list, tuple)):
        out = []
        for item in value:
            out.extend(_cells(item))
        return out
    return [value]


def _raise_if_error(item, name: str) -> None:
    if isinstance(item, str) and item in EXCEL_ERRORS:
        raise ExcelError(item, f"{name}: the range holds {item}")


def _is_number(item) -> bool:
    return isinstance(item, (int, float, np.number)) and not isinstance(item, bool)


def range_numbers(value, name: str, *, error_code=None, empty_code="#VALUE!") -> list[float]:
    """The numbers in a range, as NPV/IRR read them.

    An error cell is passed on, or reported as ``error_code`` when given (Excel's
    IRR answers #VALUE! whatever the error). A range without numbers is the
    error ``empty_code`` (IRR: #NUM!); ``empty_code=None`` returns the empty
    list for the caller to decide (NPV: 0).
    """
    numbers = []
    for item in _cells(value):
        if error_code is not None and isinstance(item, str) and item in EXCEL_ERRORS:
            raise ExcelError(error_code, f"{name}: the range holds {item}")
        _raise_if_error(item, name)
        if _is_number(item):
            numbers.append(float(item))
    if not numbers and empty_code is not None:
        raise ExcelError(empty_code, f"{name}: the range holds no numbers")
    return numbers


def scalar(value, name: str, default=None) -> float:
    """One number from a cell; blank gives ``default``; text or a range gives #VALUE!."""
    cells = _cells(value)
    if len(cells) != 1:
        raise InputError(f"{name}: expected a single value; got a range of {len(cells)} cells")
    item = cells[0]
    _raise_if_error(item, name)
    if item is None and default is not None:
        return default
    if not _is_number(item):
        got = "a blank cell" if item is None else repr(item)
        raise InputError(f"{name}: expected a number; got {got}")
    return float(item)


def dated_flows(values, dates) -> tuple[list[float], list]:
    """Values and dates paired cell by cell, for XNPV/XIRR.

    Pairs where both cells are blank at the end of the ranges are dropped, as
    Excel does, so a schedule can leave room for more rows. A blank value
    before that is a zero flow on its date (as LibreOffice reads it); text in
    either range is #VALUE!, since a payment schedule with a word in it is
    more likely a mistake than a flow to skip.
    """
    value_cells, date_cells = _cells(values), _cells(dates)
    if len(value_cells) != len(date_cells):
        raise ExcelError(
            "#NUM!",
            f"values and dates: need the same number of cells; got "
            f"{len(value_cells)} values and {len(date_cells)} dates",
        )
    while len(value_cells) > 1 and value_cells[-1] is None and date_cells[-1] is None:
        value_cells, date_cells = value_cells[:-1], date_cells[:-1]
    flows = []
    for i, (v, d) in enumerate(zip(value_cells, date_cells, strict=True), start=1):
        _raise_if_error(v, "values")
        _raise_if_error(d, "dates")
        if v is not None and not _is_number(v):
            raise InputError(f"values: cell {i} must be a number or blank; got {v!r}")
        if d is None or isinstance(d, (bool, str)):
            got = "a blank cell" if d is None else repr(d)
            raise InputError(f"dates: cell {i} must be a date; got {got}")
        if _is_number(d) and not FIRST_SERIAL <= math.floor(d) <= LAST_SERIAL:
            raise ExcelError(
                "#NUM!",
                f"dates: cell {i} must be a date from serial {FIRST_SERIAL} (1900-01-01) "
                f"to {LAST_SERIAL} (9999-12-31); got {d:g}",
            )
        flows.append(0.0 if v is None else float(v))
    return flows, date_cells


def _guess(value):
    """IRR/XIRR's optional guess; at or below -100% no iteration can start (#NUM!)."""
    if value is None:
        return None
    g = scalar(value, "guess")
    if g <= -1:
        raise ExcelError("#NUM!", f"guess: must be greater than -100%; got {g:g}")
    return g


def _number_or_error(result: float, code: str, reason: str):
    if not np.isfinite(result):
        raise ExcelError(code, reason)
    return float(result)


# --- the functions ----------------------------------------------------------


def _arg(name: str, doc: str, **options):
    """An argument Excel documents; error cells arrive as their text ("#DIV/0!")
    so they can be passed on, instead of silently reading as blanks."""
    return xw.arg(name, doc=doc, err_to_str=True, **options)


@xw.func
@_arg("rate", doc="Discount rate per period, e.g. 8% or 0.08.")
@_arg("values", doc="Cash flows, one per period (a row or a column); blanks and text skipped.")
@_arg(
    "first_period",
    doc="0 (default): first value at t=0, undiscounted. "
    "1: Excel's NPV, first value discounted one period.",
)
@excel_function
def BC_NPV(rate, values, first_period=0):
    """Net present value. Unlike Excel's NPV, the first value is at t=0 (undiscounted) unless first_period is 1."""  # noqa: E501
    r = scalar(rate, "rate")
    v = range_numbers(values, "values", empty_code=None)
    period = scalar(first_period, "first_period", default=0.0)
    if period not in (0.0, 1.0):
        raise InputError(f"first_period: must be 0 or 1; got {period:g}")
    if r == -1:
        raise ExcelError("#DIV/0!", "rate: -100% discounts by zero")
    if not v:
        return 0.0  # Excel's NPV adds up no terms: 0
    return finance.npv(r, v) if period == 0 else finance.excel_npv(r, v)


@xw.func
@_arg("rate", doc="Annual discount rate.")
@_arg("values", doc="Cash flows, one per date.")
@_arg("dates", doc="Payment dates (same count as values); none before the first.")
@excel_function
def BC_XNPV(rate, values, dates):
    """Net present value of flows on dates, as Excel's XNPV (365-day year)."""
    r = scalar(rate, "rate")
    v, d = dated_flows(values, dates)
    if r <= -1:
        raise ExcelError("#NUM!", f"rate: must be greater than -100%; got {r:g}")
    return finance.xnpv(r, v, d)


@xw.func
@_arg("values", doc="Cash flows, one per period, at least one negative and one positive.")
@_arg("guess", doc="Optional. Picks the root nearest to it when there are several (default 10%).")
@excel_function
def BC_IRR(values, guess=None):
    """Internal rate of return: finds a root whenever one exists; #NUM! when there is none."""
    v = range_numbers(values, "values", error_code="#VALUE!", empty_code="#NUM!")
    g = _guess(guess)
    return _number_or_error(finance.irr(v, g), "#NUM!", "values: no rate makes the NPV zero")


@xw.func
@_arg("values", doc="Cash flows, one per date.")
@_arg("dates", doc="Payment dates (same count as values); none before the first.")
@_arg("guess", doc="Optional. Picks the root nearest to it when there are several (default 10%).")
@excel_function
def BC_XIRR(values, dates, guess=None):
    """Internal rate of return of flows on dates, as Excel's XIRR; #NUM! when none exists."""
    v, d = dated_flows(values, dates)
    g = _guess(guess)
    result = finance.xirr(v, d, g)
    return _number_or_error(result, "#NUM!", "values: no rate makes the XNPV zero")


@xw.func
@_arg("values", doc="Cash flows, one per period; blanks and text skipped.")
@_arg("finance_rate", doc="Rate paid on the money invested (outflows).")
@_arg("reinvest_rate", doc="Rate earned on reinvested inflows.")
@excel_function
def BC_MIRR(values, finance_rate, reinvest_rate):
    """Modified internal rate of return, as Excel's MIRR; #DIV/0! without both signs."""
    v = range_numbers(values, "values", empty_code="#DIV/0!")
    f = scalar(finance_rate, "finance_rate")
    r = scalar(reinvest_rate, "reinvest_rate")
    for name, rate in (("finance_rate", f), ("reinvest_rate", r)):
        if rate <= -1:
            raise ExcelError(
                "#DIV/0!" if rate == -1 else "#NUM!", f"{name}: must be greater than -100%"
            )
    return _number_or_error(
        finance.mirr(v, f, r), "#DIV/0!", "values: need at least one negative and one positive flow"
    )


@xw.func
@_arg("values", doc="Cash flows, one per period, first at t=0.")
@excel_function
def BC_PAYBACK(values):
    """Payback period in periods (fractional, linear within the period); #N/A if it never pays back."""  # noqa: E501
    v = range_numbers(values, "values")
    return _number_or_error(finance.payback(v), "#N/A", "values: never pays back")


@xw.func
@_arg("rate", doc="Discount rate per period.")
@_arg("values", doc="Cash flows, one per period, first at t=0.")
@excel_function
def BC_DPAYBACK(rate, values):
    """Discounted payback period in periods; #N/A if it never pays back."""
    r = _rate(rate, "rate")
    v = range_numbers(values, "values")
    return _number_or_error(
        finance.discounted_payback(r, v), "#N/A", "values: never pays back once discounted"
    )


def _rate(value, name: str) -> float:
    r = scalar(value, name)
    if r <= -1:
        raise ExcelError("#NUM!", f"{name}: must be greater than -100%; got {r:g}")
    return r


@xw.func
@_arg("values", doc="Cash flows; investments negative.")
@excel_function
def BC_ROI(values):
    """Return on investment, undiscounted: (inflows - outflows) / outflows; #DIV/0! without outflows."""  # noqa: E501
    v = range_numbers(values, "values")
    return _number_or_error(finance.roi(v), "#DIV/0!", "values: no outflow to divide by")


@xw.func
@_arg("rate", doc="Discount rate per period.")
@_arg("values", doc="Cash flows, one per period, first at t=0.")
@excel_function
def BC_PI(rate, values):
    """Profitability index: PV of inflows / PV of outflows; #DIV/0! without outflows."""
    r = _rate(rate, "rate")
    v = range_numbers(values, "values")
    return _number_or_error(
        finance.profitability_index(r, v), "#DIV/0!", "values: no outflow to divide by"
    )


@xw.func
@_arg("rate", doc="Discount rate per period.")
@_arg("values", doc="Cash flows, one per period, first at t=0.")
@_arg("stages", doc="Stage of each period's flow: 0 = current (certain), k = after k gates.")
@_arg("probabilities", doc="Probability of passing each gate, 0 to 1.")
@excel_function
def BC_ENPV(rate, values, stages, probabilities):
    """Risk-adjusted NPV: each flow weighted by the probability of reaching its stage."""
    r = _rate(rate, "rate")
    value_cells, stage_cells = _cells(values), _cells(stages)
    if len(value_cells) != len(stage_cells):
        raise InputError(
            f"stages: need one per value; got {len(stage_cells)} stages for "
            f"{len(value_cells)} values"
        )
    v = [scalar(x, "values", default=0.0) for x in value_cells]
    s = [scalar(x, "stages", default=0.0) for x in stage_cells]
    p = range_numbers(probabilities, "probabilities")
    return finance.enpv(r, v, s, p)


@xw.func
@_arg("npv", doc="PV of the project's future earnings if it launches.")
@_arg("p_technical", doc="Probability of technical success, 0 to 1.")
@_arg("p_commercial", doc="Probability of commercial success, 0 to 1.")
@_arg("development_cost", doc="Remaining development cost (positive).")
@_arg("commercialization_cost", doc="Launch cost (positive).")
@excel_function
def BC_ECV(npv, p_technical, p_commercial, development_cost, commercialization_cost):
    """Cooper's expected commercial value: (NPV x Pcs - launch cost) x Pts - development cost."""
    return finance.ecv(
        scalar(npv, "npv"),
        scalar(p_technical, "p_technical"),
        scalar(p_commercial, "p_commercial"),
        scalar(development_cost, "development_cost"),
        scalar(commercialization_cost, "commercialization_cost"),
    )


@xw.func
@_arg("begin_value", doc="Value at the start.")
@_arg("end_value", doc="Value at the end.")
@_arg("periods", doc="Number of periods between them (> 0).")
@excel_function
def BC_CAGR(begin_value, end_value, periods):
    """Compound annual growth rate, as Excel's RRI; #NUM! when no real rate exists."""
    n = scalar(periods, "periods")
    if n <= 0:
        raise ExcelError("#NUM!", f"periods: must be > 0; got {n:g}")
    result = finance.cagr(scalar(begin_value, "begin_value"), scalar(end_value, "end_value"), n)
    return _number_or_error(result, "#NUM!", "begin_value and end_value: no real growth rate")


@xw.func
@_arg("tam", doc="Total addressable market in year 1 (currency or units).")
@_arg("tam_growth", doc="Annual growth of the TAM, e.g. 5%.")
@_arg("sam_share", doc="Share of the TAM you can serve (SAM), 0 to 1.")
@_arg("target_share", doc="Share of the SAM you aim to win, 0 to 1.")
@_arg("years_to_target", doc="Year in which the target share is reached (>= 1).")
@_arg("horizon", doc="Number of years to return.")
@xw.ret(expand="table")
@excel_function
def BC_SOM(tam, tam_growth, sam_share, target_share, years_to_target, horizon):
    """Serviceable obtainable market by year, spilled as a row: TAM x growth x SAM share x ramped share."""  # noqa: E501
    years = scalar(horizon, "horizon")
    row = finance.som(
        scalar(tam, "tam"),
        scalar(tam_growth, "tam_growth"),
        scalar(sam_share, "sam_share"),
        scalar(target_share, "target_share"),
        scalar(years_to_target, "years_to_target"),
        years,
    )
    return [row.tolist()]


@xw.func
@_arg("arpu", doc="Average revenue per customer per period.")
@_arg("gross_margin", doc="Gross margin on that revenue, 0 to 1.")
@_arg("churn", doc="Share of customers lost per period, (0, 1].")
@_arg("rate", doc="Optional. Discount rate per period (default 0).")
@excel_function
def BC_LTV(arpu, gross_margin, churn, rate=0.0):
    """Customer lifetime value: ARPU x gross margin / (rate + churn)."""
    return finance.ltv(
        scalar(arpu, "arpu"),
        scalar(gross_margin, "gross_margin"),
        scalar(churn, "churn"),
        scalar(rate, "rate", default=0.0),
    )


@xw.func
@_arg("cac", doc="Cost to acquire one customer.")
@_arg("arpu", doc="Average revenue per customer per period.")
@_arg("gross_margin", doc="Gross margin on that revenue, 0 to 1.")
@excel_function
def BC_CAC_PAYBACK(cac, arpu, gross_margin):
    """Periods of gross margin needed to earn back the customer acquisition cost; #N/A if never."""
    result = finance.cac_payback(
        scalar(cac, "cac"), scalar(arpu, "arpu"), scalar(gross_margin, "gross_margin")
    )
    return _number_or_error(result, "#N/A", "arpu x gross_margin: not positive, never pays back")


# --- portfolio functions ------------------------------------------------------


def _rows(value) -> list[list]:
    """A range as a list of rows (a single cell becomes one row of one)."""
    if not isinstance(value, (list, tuple)):
        return [[value]]
    if value and not isinstance(value[0], (list, tuple)):
        return [list(value)]
    return [list(r) for r in value]


def _column(value, name: str, n: int) -> list:
    cells = _cells(value)
    if len(cells) != n:
        raise InputError(f"{name}: need one cell per project ({n}); got {len(cells)}")
    for item in cells:
        _raise_if_error(item, name)
    return cells


@xw.func
@_arg("table", "A table with a header row, e.g. a case list.", ndim=2)
@_arg("group_by", "Optional. The header of the column to group by; blank for one total row.")
@_arg("measures", "Optional. Header(s) of the columns to sum; blank for every numeric column.")
@xw.ret(expand="table")
@excel_function
def BC_ROLLUP(table, group_by=None, measures=None):
    """Sums of a table's numeric columns by group, with headers and a Total row (spills); a Currency column holding two currencies is an error unless grouped by it."""  # noqa: E501
    rows = _rows(table)
    if len(rows) < 2:
        raise InputError("table: needs a header row and at least one data row")
    for row in rows[1:]:
        for item in row:
            _raise_if_error(item, "table")
    group = None if group_by in (None, "") else str(_cells(group_by)[0])
    wanted = None
    if measures not in (None, ""):
        wanted = [str(m) for m in _cells(measures) if m not in (None, "")]
    result = portfolio.rollup_table(rows[0], rows[1:], group, wanted)
    return [list(result.columns), *result.values.tolist()]


@xw.func
@_arg("values", "What each project is worth (NPV or eNPV), one per row.")
@_arg("costs", "Capital each project needs: one column (total) or one column per year.", ndim=2)
@_arg("budget", "Capital available: one number, or one per year (a row matching costs).")
@_arg("mandatory", "Optional. 1/TRUE for projects that must be funded.")
@_arg("groups", "Optional. A label per project; at most one project per label is funded.")
@_arg(
    "depends_on",
    "Optional. Row number (1 = first project) of the project each one needs; blank for none.",
)
@_arg("currencies", "Optional. Currency of each project's amounts; all must be the same.")
@excel_function
def BC_SELECT(values, costs, budget, mandatory=None, groups=None, depends_on=None, currencies=None):
    """1/0 per project: the funded set that maximises total value within the budget (exact)."""
    v = [scalar(x, "values") for x in _cells(values)]
    n = len(v)
    if currencies is not None:
        portfolio.one_currency(_column(currencies, "currencies", n))
    cost_rows = _rows(costs)
    if len(cost_rows) != n:
        raise InputError(f"costs: need one row per project ({n}); got {len(cost_rows)}")
    c = [[scalar(x, "costs", default=0.0) for x in row] for row in cost_rows]
    b = [scalar(x, "budget") for x in _cells(budget)]
    if len(b) not in (1, len(c[0])):
        raise InputError(f"budget: one number or one per cost column ({len(c[0])}); got {len(b)}")
    must = (
        None
        if mandatory is None
        else [bool(x) and x not in (0, "0") for x in _column(mandatory, "mandatory", n)]
    )
    labels = (
        None
        if groups is None
        else [None if x in (None, "") else str(x) for x in _column(groups, "groups", n)]
    )
    needs = None
    if depends_on is not None:
        needs = []
        for row, x in enumerate(_column(depends_on, "depends_on", n), start=1):
            target = None if x in (None, "") else scalar(x, "depends_on")
            if target is not None and (
                target != int(target) or not 1 <= target <= n or target == row
            ):
                raise InputError(
                    f"depends_on: row {row} needs row {target:g}, which is not "
                    f"another project's row (1 to {n})"
                )
            needs.append(-1 if target is None else int(target) - 1)
    chosen = portfolio.select(v, c, b if len(b) > 1 else b[0], must, labels, needs)
    return [[int(x)] for x in chosen]


@xw.func
@_arg("values", "What each project is worth, one per row.")
@_arg("costs", "Capital each project needs (a column, or one column per year: summed).", ndim=2)
@_arg("points", "Optional. How many budgets from 0 to the total (default 11).")
@_arg("currencies", "Optional. Currency of each project's amounts; all must be the same.")
@xw.ret(expand="table")
@excel_function
def BC_FRONTIER(values, costs, points=None, currencies=None):
    """Efficient frontier: best total value at each capital budget, as a table (spills)."""
    v = range_numbers(values, "values")
    if currencies is not None:
        portfolio.one_currency(_column(currencies, "currencies", len(v)))
    rows = _rows(costs)
    if len(rows) != len(v):
        raise InputError(f"costs: need one row per project ({len(v)}); got {len(rows)}")
    c = [[scalar(x, "costs", default=0.0) for x in row] for row in rows]
    k = 11 if points is None else int(scalar(points, "points"))
    if not 2 <= k <= 201:
        raise InputError(f"points: must be from 2 to 201; got {k}")
    total = sum(sum(r) for r in c)
    budgets = [total * i / (k - 1) for i in range(k)]
    curve = portfolio.frontier(v, c, budgets)
    return [["Budget", "Value", "Capital used", "Projects"], *curve.values.tolist()]


# --- risk functions -------------------------------------------------------------


def _driver(value, name: str, trials: int, rng) -> np.ndarray:
    """A fixed number, or a low/mode/high range of three cells drawn as a triangular."""
    cells = [c for c in _cells(value) if c is not None]
    for c in cells:
        _raise_if_error(c, name)
    numbers = [scalar(c, name) for c in cells]
    if len(numbers) == 1:
        return np.full(trials, numbers[0])
    if len(numbers) != 3 or not numbers[0] <= numbers[1] <= numbers[2]:
        raise InputError(
            f"{name}: give one number, or three cells low <= most likely <= high; got {numbers}"
        )
    if numbers[0] == numbers[2]:
        return np.full(trials, numbers[0])
    return rng.triangular(*numbers, trials)


_UNIT_DOCS = {
    "rate": "Discount rate per year (a number or low/mode/high).",
    "years": "Years of sales after the investment.",
    "units": "Units sold per year (a number or low/mode/high).",
    "price": "Price per unit (a number or low/mode/high).",
    "unit_cost": "Variable cost per unit (a number or low/mode/high).",
    "fixed_cost": "Fixed cost per year (a number or low/mode/high).",
    "investment": "Up-front investment (a number or low/mode/high).",
}


@xw.func
@_arg("rate", _UNIT_DOCS["rate"], ndim=2)
@_arg("years", _UNIT_DOCS["years"])
@_arg("units", _UNIT_DOCS["units"], ndim=2)
@_arg("price", _UNIT_DOCS["price"], ndim=2)
@_arg("unit_cost", _UNIT_DOCS["unit_cost"], ndim=2)
@_arg("fixed_cost", _UNIT_DOCS["fixed_cost"], ndim=2)
@_arg("investment", _UNIT_DOCS["investment"], ndim=2)
@_arg("trials", "Optional. Number of trials (default 10,000).")
@_arg("seed", "Optional. Random seed: the same seed gives the same result (default 1).")
@xw.ret(expand="table")
@excel_function
def BC_SIMULATE(
    rate, years, units, price, unit_cost, fixed_cost, investment, trials=None, seed=None
):
    """Monte Carlo NPV of a simple product (units x (price - unit cost) - fixed cost a year, after an investment): mean, P10, P50, P90, P(NPV<0), spilled."""  # noqa: E501
    n = 10_000 if trials is None else int(scalar(trials, "trials"))
    if not 1 <= n <= 1_000_000:
        raise InputError(f"trials: must be from 1 to 1,000,000; got {n}")
    rng = np.random.default_rng(1 if seed is None else int(scalar(seed, "seed")))
    y = scalar(years, "years")
    if y < 1 or y != int(y):
        raise InputError(f"years: must be a whole number of years >= 1; got {y:g}")
    draws = {
        name: _driver(value, name, n, rng)
        for name, value in (
            ("rate", rate),
            ("units", units),
            ("price", price),
            ("unit_cost", unit_cost),
            ("fixed_cost", fixed_cost),
            ("investment", investment),
        )
    }
    if np.any(draws["rate"] <= -1):
        raise InputError("rate: must stay above -100%")
    npv = risk.unit_npv(
        draws["rate"],
        y,
        draws["units"],
        draws["price"],
        draws["unit_cost"],
        draws["fixed_cost"],
        draws["investment"],
    )
    p10, p50, p90 = np.percentile(npv, [10, 50, 90])
    return [
        ["Mean", float(npv.mean())],
        ["P10", float(p10)],
        ["P50", float(p50)],
        ["P90", float(p90)],
        ["P(NPV<0)", float((npv < 0).mean())],
    ]


@xw.func
@_arg("rate", _UNIT_DOCS["rate"])
@_arg("years", _UNIT_DOCS["years"])
@_arg("units", _UNIT_DOCS["units"])
@_arg("price", _UNIT_DOCS["price"])
@_arg("unit_cost", _UNIT_DOCS["unit_cost"])
@_arg("fixed_cost", _UNIT_DOCS["fixed_cost"])
@_arg("investment", _UNIT_DOCS["investment"])
@_arg(
    "driver",
    'Which to solve for: "units", "price", "unit_cost", "fixed_cost", "investment" or "rate".',
)
@excel_function
def BC_BREAKEVEN(rate, years, units, price, unit_cost, fixed_cost, investment, driver):
    """The value of one driver at which the simple product's NPV is zero (others as given); #N/A if none."""  # noqa: E501
    name = str(_cells(driver)[0]).strip().lower()
    values = [
        scalar(v, n)
        for v, n in (
            (rate, "rate"),
            (years, "years"),
            (units, "units"),
            (price, "price"),
            (unit_cost, "unit_cost"),
            (fixed_cost, "fixed_cost"),
            (investment, "investment"),
        )
    ]
    result = risk.unit_breakeven(name, *values)
    return _number_or_error(result, "#N/A", f"driver: no {name} makes the NPV zero")
