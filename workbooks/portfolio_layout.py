"""Where the portfolio workbook keeps what: its tables, their columns, its input cells.

The writer (:mod:`workbooks.portfolio_workbook`) lays the sheets out from
these objects, and the refresh button (``addin.macros.refresh_portfolio``)
reads the workbook back through them (:func:`planned_cases`), finding each
column by its header, so a column added or moved in a table changes nothing
the button relies on. No openpyxl: the tables come in as cell values from
whatever read them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from udfs.errors import BizcaseError, InputError
from udfs.expr import column_letter
from udfs.portfolio import Case, Settings

#: The portfolio's measures and the labels its Flows and Consolidated rows carry.
MEASURE_LABELS = {
    "revenue": "Revenue",
    "ebitda": "EBITDA",
    "capital": "Capital",
    "fcf": "Incremental FCF",
}


@dataclass(frozen=True)
class Table:
    """A table with one header row: its sheet, headers (in the order written) and
    the headers a reader cannot do without."""

    sheet: str
    headers: tuple[str, ...]
    required: tuple[str, ...] = ()
    header_row: int = 1

    @property
    def first_row(self) -> int:
        """The first data row (1-based)."""
        return self.header_row + 1

    def column(self, header: str) -> int:
        """The 1-based column the writer puts ``header`` in.

        Examples
        --------
        >>> FLOWS.column("Measure"), FLOWS.letter("Selected")
        (3, 'D')
        """
        return self.headers.index(header) + 1

    def letter(self, header: str) -> str:
        return column_letter(self.column(header))

    def find(self, header_row: list) -> dict[str, int]:
        """0-based positions of this table's headers in a header row read from a
        workbook (any order, older workbooks lacking optional columns).

        Examples
        --------
        >>> FLOWS.find(["Measure", "ID", "Selected", 2027])["ID"]
        1
        >>> FLOWS.find(["ID", "Selected"])  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        udfs.errors.BizcaseError: Flows, row 1: no Measure column; ...
        """
        found = {str(h).strip(): i for i, h in enumerate(header_row) if isinstance(h, str)}
        for header in self.required:
            if header not in found:
                raise BizcaseError(
                    f"{self.sheet}, row {self.header_row}: no {header} column; expected the "
                    f"headers {', '.join(self.required)} (a bizcase portfolio workbook)"
                )
        return {h: found[h] for h in self.headers if h in found}

    def years(self, header_row: list) -> list[tuple[int, int]]:
        """(0-based position, year) of each column headed by a year (a whole number).

        Examples
        --------
        >>> FLOWS.years(["ID", "Product line", "Measure", "Selected", 2027, 2028.0, "EUR"])
        [(4, 2027), (5, 2028)]
        """
        return [
            (i, int(h))
            for i, h in enumerate(header_row)
            if isinstance(h, int | float) and not isinstance(h, bool) and float(h).is_integer()
        ]


#: One row per case: the engine's results, the selection (an input), constraints.
CASES = Table(
    "Cases",
    (
        "ID",
        "Name",
        "Product line",
        "Stage",
        "Discount rate",
        "Currency",
        "FX rate",
        "NPV in own currency",
        "NPV",
        "eNPV",
        "IRR",
        "PI",
        "Payback",
        "Capital",
        "Probability",
        "Score",
        "Rank",
        "Selected",
        "Mandatory",
        "Group",
        "Depends on",
        "Recommendation",
        "Why",
        "File",
    ),
    required=("ID", "NPV", "eNPV", "IRR", "PI", "Score", "Rank", "Selected"),
)
#: One row per case and measure, one column per calendar year after these.
FLOWS = Table("Flows", ("ID", "Product line", "Measure", "Selected"), required=("ID", "Measure"))


@dataclass(frozen=True)
class FlowsLayout:
    """The Flows sheet of one portfolio: a row per (case, measure), a column per year."""

    cases: int
    years: int

    def row(self, case: int, measure: str) -> int:
        """The row of case ``case`` (0-based) and ``measure`` (a MEASURE_LABELS key)."""
        return FLOWS.first_row + case * len(MEASURE_LABELS) + list(MEASURE_LABELS).index(measure)

    @property
    def last_row(self) -> int:
        return FLOWS.first_row + self.cases * len(MEASURE_LABELS) - 1

    def year_column(self, j: int) -> int:
        """The 1-based column of the portfolio's ``j``-th year (0-based)."""
        return len(FLOWS.headers) + 1 + j

    def column_range(self, header_or_year: str | int) -> str:
        """An absolute reference to a column's data rows, for formulas on other sheets.

        Examples
        --------
        >>> FlowsLayout(cases=2, years=3).column_range(0)
        'Flows!$E$2:$E$9'
        """
        if isinstance(header_or_year, int):
            letter = column_letter(self.year_column(header_or_year))
        else:
            letter = FLOWS.letter(header_or_year)
        return f"{FLOWS.sheet}!${letter}${FLOWS.first_row}:${letter}${self.last_row}"


#: The Summary sheet's cells, (row, column) 1-based: the currency, the settings a user
#: may change; then the headlines (:data:`udfs.portfolio.HEADLINES`, a row each, in
#: order) from HEADLINE_ROW.
SUMMARY = {
    "Port_Currency": (3, 2),
    "In_IRRGuess": (4, 2),
    "In_PortfolioRate": (5, 2),
    "In_Budget": (6, 2),
}
HEADLINE_ROW = 8


def summary_ref(name: str) -> str:
    """The absolute reference of a Summary cell, for its defined name.

    Examples
    --------
    >>> summary_ref("In_Budget")
    'Summary!$B$6'
    """
    row, column = SUMMARY[name]
    return f"Summary!${column_letter(column)}${row}"


def planned_cases(
    cases_table: list[list], flows_table: list[list], value: Callable[[str], object]
) -> tuple[list[Case], Settings]:
    """The cases and the plan's settings as a portfolio workbook holds them now.

    ``cases_table`` and ``flows_table`` are the Cases and Flows sheets' cell
    values from A1 (header row first); ``value(name)`` gives a defined name's
    value (None when the workbook lacks it). Amounts are taken as they stand,
    in the portfolio's currency (``Port_Currency``): a row in another currency
    without a positive FX rate is an error naming the case.
    """
    header, rows = cases_table[0], cases_table[1:]
    col = CASES.find(header)

    def column(name, default=0.0):
        if name not in col:  # a column older workbooks lack
            return [default] * len(rows)
        return [default if r[col[name]] in (None, "") else r[col[name]] for r in rows]

    def numbers(name, default=math.nan):
        return [float(x) if _is_number(x) else default for x in column(name, default)]

    ids = [str(x) for x in column("ID", "")]
    # ISO 4217's "no currency": workbooks from before one-currency portfolios name none
    currency = str(value("Port_Currency") or "XXX").strip().upper()
    if "Currency" in col:
        _check_converted(currency, ids, column("Currency", ""), column("FX rate", None))
    years, flows = _flows(flows_table, ids)
    text = {h: [str(x) for x in column(h, "")] for h in ("Name", "Product line", "Stage")}
    number = {h: numbers(h) for h in ("IRR", "PI", "Payback", "Discount rate")}
    number.update({h: numbers(h, 0.0) for h in ("NPV", "eNPV", "Score")})
    number["Probability"] = numbers("Probability", 1.0)
    constraint = {h: column(h, "") for h in ("Mandatory", "Group", "Depends on")}
    cases = [
        Case(
            id=case_id,
            name=text["Name"][i],
            product_line=text["Product line"][i],
            stage=text["Stage"][i],
            years=years,
            **{m: flows[m][i] for m in MEASURE_LABELS},
            npv=number["NPV"][i],
            enpv=number["eNPV"][i],
            irr=number["IRR"][i],
            pi=number["PI"][i],
            payback=number["Payback"][i],
            discount_rate=number["Discount rate"][i],
            probability=number["Probability"][i],
            score=number["Score"][i],
            extra={
                "mandatory": bool(constraint["Mandatory"][i]),
                "exclusive_group": _text_or_none(constraint["Group"][i]),
                "depends_on": _text_or_none(constraint["Depends on"][i]),
            },
            currency=currency,
        )
        for i, case_id in enumerate(ids)
    ]
    by_year = value("In_BudgetByYear")
    by_year = by_year if isinstance(by_year, list) else [by_year]
    blank = [k for k, b in enumerate(by_year, start=1) if not _is_number(b)]
    if blank and len(blank) < len(by_year):
        # A partial budget would fund as if there were none while Port_Headroom
        # counted the amounts given: the sheet and the selection would disagree.
        raise InputError(
            f"In_BudgetByYear: year {', '.join(map(str, blank))} of {len(by_year)} has no "
            f"amount; give every year an amount, or clear them all for no yearly budget"
        )
    rate, guess = value("In_PortfolioRate"), value("In_IRRGuess")
    settings = Settings(
        budget_by_year=tuple(float(b) for b in by_year)
        if all(_is_number(b) for b in by_year)
        else None,
        rank_by=str(value("In_RankBy") or "npv").strip().lower(),
        value_key=str(value("In_SelectBy") or "npv").strip().lower(),
        frontier_points=0,  # the Selection sheet's frontier is the rollup's snapshot
        irr_guess=float(guess) if _is_number(guess) else Settings.irr_guess,
        rate=float(rate) if _is_number(rate) else None,
    )
    total = value("In_Budget")
    if settings.budget_by_year is None and _is_number(total):
        settings = replace(settings, budget=float(total))
    return cases, settings


def _text_or_none(x) -> str | None:
    return str(x) if x else None


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


def _flows(table: list[list], ids: list[str]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The calendar years and each case's flows by year (cases x years), from Flows."""
    col = FLOWS.find(table[0])
    years = sorted(FLOWS.years(table[0]), key=lambda column: column[1])
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
