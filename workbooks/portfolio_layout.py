"""Where the portfolio workbook keeps what: its tables, their columns, its input cells.

The writer (:mod:`workbooks.portfolio_workbook`) lays the sheets out from
these objects, and the refresh button (``addin.macros.refresh_portfolio``)
finds the columns it reads and writes through them, by their headers, so a
column added to a table moves nothing the button relies on. Plain data: no
openpyxl, so the macros import it cheaply.
"""

from __future__ import annotations

from dataclasses import dataclass

from udfs.errors import BizcaseError
from udfs.expr import column_letter

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


#: The Summary sheet's cells: the currency, the settings a user may change, and the
#: first headline row (:data:`udfs.portfolio.HEADLINES`, one row each, in order).
SUMMARY = {
    "Port_Currency": "B3",
    "In_IRRGuess": "B4",
    "In_PortfolioRate": "B5",
    "In_Budget": "B6",
}
HEADLINE_ROW = 8
