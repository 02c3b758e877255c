"""Where things sit on the business-case workbook's sheets: one layout per sheet.

The writer (:mod:`workbooks.business_case`) puts each fixed cell where its
sheet's layout says, and everything that finds a cell again by position (the
reader of the hidden ``_bizcase`` sheet, the check and the upgrade, the KPI
history, the buttons in :mod:`addin.macros`) asks the same layout, so moving
a cell is one edit here. Cells whose place follows from the spec (input rows,
model lines) are found through defined names instead (``In_``, ``Out_``).

The Risk sheet has its own layout, built from the simulation
(:func:`workbooks.risk_sheet.risk_layout`); the Checks sheet and the scenario
blocks follow the model.

Cells are A1 references; :func:`position` turns one into (row, column), 1-based.
This module imports nothing heavy: the command-line reader uses it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from udfs.expr import column_index, column_letter


def position(cell: str) -> tuple[int, int]:
    """``(row, column)`` of an A1 reference, both 1-based.

    >>> position("M16")
    (16, 13)
    """
    match = re.fullmatch(r"\$?([A-Z]{1,3})\$?([1-9][0-9]*)", cell)
    if match is None:
        raise ValueError(f"layout: expected a cell like 'B4', got {cell!r}")
    return int(match[2]), column_index(match[1])


def cell(row: int, column: int) -> str:
    """The A1 reference of a 1-based (row, column).

    >>> cell(4, 2)
    'B4'
    """
    return f"{column_letter(column)}{row}"


@dataclass(frozen=True)
class MetaLayout:
    """The hidden ``_bizcase`` sheet: the record a reader trusts."""

    sheet: str = "_bizcase"
    labels: str = "A"  # what each value of the record is, beside it
    template_version: str = "B1"
    bizcase_version: str = "B2"
    generated_at: str = "B3"
    spec: str = "B4"  # the spec as JSON, in chunks from here to the right
    snapshot_heading: str = "A6"
    snapshot_top: int = 7  # the Sensitivity snapshot's inputs, from column B


@dataclass(frozen=True)
class CoverLayout:
    """The Cover: what the case asks for and its headline results."""

    sheet: str = "Cover"
    title: str = "A1"
    subtitle: str = "A2"
    notes: str = "A3"
    decision_heading: str = "A4"
    decision: str = "A5"
    decision_merge: str = "A5:K5"
    amounts: str = "A6"  # the amounts the decision commits, read from the model
    amounts_merge: str = "A6:K6"
    scenario_label: str = "A7"
    scenario: str = "B7"
    headline_heading: str = "A9"
    unit_heading: str = "C9"
    # (label, output): one row each from first_headline_row, value in B, unit in C
    headline: tuple[tuple[str, str], ...] = (
        ("Net present value", "NPV"),
        ("Risk-adjusted NPV", "eNPV"),
        ("IRR", "IRR"),
        ("Payback", "Payback"),
        ("Peak funding", "PeakFunding"),
        ("Break-even year", "BreakEvenYear"),
        ("Profitability index", "PI"),
    )
    first_headline_row: int = 10
    # Where the Rebuild button reports; below the buttons in M:N, unlocked.
    message: str = "M16"
    print_area: str = "A1:N40"  # the buttons sit in M:N
    jcurve_chart: str = "D7"
    pnl_chart: str = "D23"
    scenario_chart: str = "A23"

    def headline_row(self, output: str) -> int:
        """The row of an output's headline (its value in column B)."""
        names = [name for _, name in self.headline]
        return self.first_headline_row + names.index(output)

    @property
    def checks_row(self) -> int:
        """The row saying whether the model checks pass; the terminal-value verdict below."""
        return self.first_headline_row + len(self.headline) + 1


@dataclass(frozen=True)
class InputsLayout:
    """The Inputs sheet: one row per scalar input, then the forecast series."""

    sheet: str = "Inputs"
    title: str = "A1"
    note: str = "A2"
    header_row: int = 4
    # Scalar inputs: label, value, unit, note; series rows: label, unit, then the timeline.
    label: str = "A"
    value: str = "B"
    unit: str = "C"
    remark: str = "D"
    headers: tuple[str, ...] = ("Assumption", "Value", "Unit", "Note")
    series_unit: str = "B"

    @property
    def first_row(self) -> int:
        return self.header_row + 1


@dataclass(frozen=True)
class CalculationsLayout:
    """The Calculations sheet's frame: the header row the timeline and charts use."""

    sheet: str = "Calculations"
    title: str = "A1"
    scenario_note: str = "A2"
    header_row: int = 3  # period labels ("Now", 2027, ...) over the timeline
    headers: tuple[str, ...] = ("Line", "Unit", "Value", "Opening")
    block_top: int = 4  # the model's rows start here
    first_period_column: int = 5  # E holds period 0 (now); D is the blank opening column


@dataclass(frozen=True)
class ValuationLayout:
    """The Valuation sheet: one row per output (the Out_ and Calc_ names point here)."""

    sheet: str = "Valuation"
    title: str = "A1"
    scenario_note: str = "A2"
    header_row: int = 4
    headers: tuple[str, ...] = ("Output", "Value", "Unit")

    @property
    def first_row(self) -> int:
        return self.header_row + 1


@dataclass(frozen=True)
class ScenariosLayout:
    """The Scenarios sheet: an output per row, a scenario per column (live)."""

    sheet: str = "Scenarios"
    title: str = "A1"
    header_row: int = 3  # Output, the scenario names, Unit; the charts' categories
    first_scenario_column: int = 2  # B: Low, then Base, High
    chart: str = "G3"

    @property
    def first_row(self) -> int:
        return self.header_row + 1


@dataclass(frozen=True)
class SensitivityLayout:
    """The Sensitivity sheet: a tornado snapshot the Sensitivity button recomputes."""

    sheet: str = "Sensitivity"
    title: str = "A1"
    note: str = "A2"  # when and from what the snapshot was computed
    note_merge: str = "A2:F2"
    base_label: str = "A3"
    base_npv: str = "D3"
    base_unit: str = "E3"
    header_row: int = 4
    columns: tuple[str, ...] = (
        "Driver",
        "Low setting",
        "High setting",
        "NPV at low",
        "NPV at high",
        "Swing",
        "Change at low",
        "Change at high",
    )

    @property
    def first_row(self) -> int:
        return self.header_row + 1

    @property
    def table(self) -> str:
        """The table's first cell: one row per driver from here."""
        return cell(self.first_row, 1)

    def table_range(self, bars: int) -> str:
        """The cells a table of ``bars`` rows covers.

        >>> SENSITIVITY.table_range(9)
        'A5:H13'
        """
        return f"{self.table}:{cell(self.first_row + bars - 1, len(self.columns))}"

    @staticmethod
    def row(bar, base: float) -> list:
        """A driver's row, in :attr:`columns` order, from a ``udfs.sensitivity`` bar."""
        return [
            bar.label,
            bar.low_change,
            bar.high_change,
            bar.npv_low,
            bar.npv_high,
            bar.swing,
            bar.npv_low - base,
            bar.npv_high - base,
        ]


@dataclass(frozen=True)
class KPILayout:
    """The KPIs sheet: per KPI a Target, an Actual (typed) and a Variance row."""

    sheet: str = "KPIs"
    title: str = "A1"
    note: str = "A2"
    header_row: int = 4  # KPI, Row, then one column per calendar year
    label_column: int = 1  # A: the KPI, on its Target row
    kind_column: int = 2  # B: which of the three rows
    first_year_column: int = 3  # C: the first calendar year of the case
    target: str = "Target"
    actual: str = "Actual"
    variance: str = "Variance"  # actual - target, from the two rows above it
    # (label, model line, unit); the sheet labels each "label (unit)"
    kpis: tuple[tuple[str, str, str], ...] = (
        ("Units sold", "units", "units"),
        ("Revenue", "revenue", "currency"),
        ("EBITDA", "ebitda", "currency"),
        ("Incremental FCF", "incremental_fcf", "currency"),
    )

    @property
    def first_row(self) -> int:
        return self.header_row + 1


@dataclass(frozen=True)
class IntegrityLayout:
    """The Integrity sheet the Check button writes: a verdict per Out_ result."""

    sheet: str = "Integrity"
    title: str = "Integrity check"
    headers: tuple[str, ...] = ("Output", "In the workbook", "Engine", "Status")
    header_row: int = 4

    def grid(self, note: str, results: list[list], verdict: str) -> list[list]:
        """The whole sheet as one block from A1: title, note, header, results, verdict."""
        width = len(self.headers)

        def line(*values) -> list:
            return [*values, *[None] * (width - len(values))]

        top = [line(self.title), line(note)]
        top += [line()] * (self.header_row - 1 - len(top))
        return [*top, list(self.headers), *results, line(), line(verdict)]


META = MetaLayout()
COVER = CoverLayout()
INPUTS = InputsLayout()
CALCULATIONS = CalculationsLayout()
VALUATION = ValuationLayout()
SCENARIO_SHEET = ScenariosLayout()
SENSITIVITY = SensitivityLayout()
KPIS = KPILayout()
INTEGRITY = IntegrityLayout()
