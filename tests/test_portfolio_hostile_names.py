"""Hostile case ids and product-line names in the portfolio workbook, after LibreOffice.

Ids and product lines are user text. Used as a SUMIFS/COUNTIFS/MATCH criterion,
``Analytics*`` and ``Gov?`` are patterns, ``=1+1``, ``>5`` and ``<>x``
comparisons, and ``a*`` finds ``ab``'s row. Twenty-four generated cases get
the hostile ids below and the eighteen hostile product lines (several cases per
line, so the names that would match each other as patterns hold real
amounts); the funded set is fixed by hand so that ``ab`` is funded and
``a*`` is not. LibreOffice recalculates the workbook, and every total must
equal the sum of the cases' engine numbers grouped here by exact text
(Python ``==``: case-sensitive, no patterns), every funded flag on Flows must
be its own case's.

A control workbook in the same ``soffice`` call shows that the hostile set
does break criteria-based formulas in LibreOffice: a ``SUMIFS`` over the same
names gives the wrong total for the pattern and operator names, while the
``SUMPRODUCT(EXACT(...))`` form the portfolio uses gives the right one. So
these tests would fail on the old formulas.
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import openpyxl
import pytest
from libreoffice import read_values, recalculate

from udfs.model import build_model, evaluate
from udfs.portfolio import RolledUp, case_from_evaluation, plan
from workbooks.business_case import write_text
from workbooks.examples.generated import varied_specs
from workbooks.portfolio_workbook import CASE_COLUMNS, MEASURE_LABELS, write_portfolio

RTOL = 1e-9
ATOL = 1e-6

# Wildcards, operators, leading = + - @, quotes, case, unicode, blanks, very long.
LINES = [
    "Analytics",
    "Analytics*",
    "Gov?",
    "Gov1",
    "gov1",
    "=1+1",
    ">5",
    "<>x",
    "~*",
    "+plus",
    "-minus",
    "@at",
    '"quoted" line',
    "it's",
    "Ünïcødé 製品 ✓",
    "L" * 500,  # the spec's longest; an Excel formula's text constant stops at 255
    "",  # no product line
    "  padded  ",
]
IDS = [
    "ab",
    "a*",
    "a?",
    "AB",
    "a~",
    "=1",
    "<>",
    ">a",
    "+1",
    "-1",
    "@x",
    '"q"',
    "it's",
    "ÿ-ü",
    "id~*?",
    "=A1",
    "*",
    "?",
    "~",
    "<=zz",
    "x" * 40,
    "y" * 39 + "*",
    "Σ case",
    "a",
]
# Which criteria the control workbook shows LibreOffice misreading.
MISREAD = ("Analytics*", "Gov?", "=1+1", ">5", "<>x", "gov1")


def _rolled() -> RolledUp:
    specs = varied_specs(len(IDS), seed=5)
    rolled = RolledUp()
    for i, (spec, case_id) in enumerate(zip(specs, IDS, strict=True)):
        meta = spec.meta.model_copy(
            update={
                "id": case_id,
                "product_line": LINES[i % len(LINES)],
                "mandatory": False,
                "exclusive_group": "",
                "depends_on": "",
            }
        )
        model = build_model(spec.model_copy(update={"meta": meta}))
        case = case_from_evaluation(model, evaluate(model))
        rolled.cases.append(case)
        rolled.files.append(Path(f"case-{i}.xlsx"))
    return rolled


def _control(path: Path) -> Path:
    """Each name with an amount (10^i), then SUMIFS and SUMPRODUCT(EXACT) per name."""
    wb = openpyxl.Workbook()
    ws = wb.active
    n = len(LINES)
    for i, line in enumerate(LINES, start=1):
        write_text(ws.cell(row=i, column=1), line)
        ws.cell(row=i, column=2, value=float(2**i))
        ws.cell(row=i, column=3, value=f"=SUMIFS($B$1:$B${n},$A$1:$A${n},A{i})")
        ws.cell(row=i, column=4, value=f"=SUMPRODUCT(EXACT($A$1:$A${n},A{i})*$B$1:$B${n})")
    wb.save(path)
    return path


@pytest.fixture(scope="module")
def built(tmp_path_factory, soffice):
    root = tmp_path_factory.mktemp("hostile")
    # funded by hand: every other case, so "ab" (first) is funded and "a*" (second) not
    report = replace(plan(_rolled()), selected=np.array([i % 2 == 0 for i in range(len(IDS))]))
    path = write_portfolio(report, root / "portfolio.xlsx")
    control = _control(root / "control.xlsx")
    out, control_out = recalculate([path, control], root / "lo", soffice=soffice)
    return report, path, read_values(out), read_values(control_out)


def _close(got, want, what: str) -> None:
    assert isinstance(got, (int, float)), f"{what}: LibreOffice gives {got!r}"
    assert got == pytest.approx(want, rel=RTOL, abs=ATOL), what


def _name(wb, name: str):
    ((sheet, ref),) = list(wb.defined_names[name].destinations)
    return wb[sheet][ref.replace("$", "")].value


def test_the_hostile_set_breaks_criteria_in_libreoffice_and_exact_does_not(built):
    *_, control = built
    ws = control.active
    misread = []
    for i, line in enumerate(LINES, start=1):
        assert (ws.cell(row=i, column=1).value or "") == line  # text, read back unchanged
        own = 2.0**i
        _close(ws.cell(row=i, column=4).value, own, f"SUMPRODUCT(EXACT) for {line!r}")
        if ws.cell(row=i, column=3).value != own:
            misread.append(line)
    assert set(MISREAD) <= set(misread), misread


def test_hostile_set_size_and_shape():
    assert len(IDS) == len(set(IDS)) == 24
    assert len(LINES) == 18
    assert max(len(x) for x in LINES) == 500
    assert {x[0] for x in LINES + IDS if x} >= {"=", "+", "-", "@", '"', "<", ">", "*", "?", "~"}


def test_cases_table_holds_every_id_and_line_as_text(built):
    report, path, _, _ = built
    ws = openpyxl.load_workbook(path)["Cases"]
    line_col = CASE_COLUMNS.index("Product line") + 1
    for r, case in enumerate(report.aligned.cases, start=2):
        assert ws.cell(row=r, column=1).value == case.id
        assert (ws.cell(row=r, column=line_col).value or "") == case.product_line


def test_each_flows_row_carries_its_own_cases_funded_flag(built):
    report, _, values, _ = built
    funded = {c.id: int(s) for c, s in zip(report.aligned.cases, report.selected, strict=True)}
    assert funded["ab"] == 1 and funded["a*"] == 0
    rows = list(values["Flows"].iter_rows(min_row=2, max_col=4, values_only=True))
    assert len(rows) == 4 * len(IDS)
    for case_id, _line, _measure, selected in rows:
        assert selected == funded[case_id], case_id


def test_headline_totals_equal_the_cases_after_libreoffice(built):
    report, _, values, _ = built
    cases, chosen = report.aligned.cases, report.selected
    _close(_name(values, "Port_NPV"), math.fsum(c.npv for c in cases), "Port_NPV")
    selected_npv = math.fsum(c.npv for c, s in zip(cases, chosen, strict=True) if s)
    _close(_name(values, "Port_SelectedNPV"), selected_npv, "Port_SelectedNPV")


def _line_rows(ws) -> tuple[list[int], dict[tuple[str, str], list]]:
    """Consolidated rows by (measure label, exact line text in the key column)."""
    years = [int(y) for y in (c.value for c in ws[3][1:]) if isinstance(y, int)]
    key = 3 + len(years)
    rows = {}
    for r in ws.iter_rows(min_row=4, values_only=True):
        label = r[0]
        if isinstance(label, str) and ":" in label and len(r) >= key:
            measure = label.split(":", 1)[0]
            rows[(measure, "" if r[key - 1] is None else r[key - 1])] = list(r[1 : 1 + len(years)])
    return years, rows


def test_totals_by_product_line_match_exact_grouping(built):
    report, _, values, _ = built
    years, rows = _line_rows(values["Consolidated"])
    assert years == report.aligned.years.tolist()
    lines = {c.product_line for c in report.aligned.cases}
    assert lines == set(LINES)
    for measure in ("revenue", "fcf", "capital"):
        label = MEASURE_LABELS[measure]
        for line in lines:
            members = [i for i, c in enumerate(report.aligned.cases) if c.product_line == line]
            want = report.aligned.flows[measure][members].sum(axis=0)
            got = rows[(label, line)]
            for year, g, w in zip(years, got, want, strict=True):
                _close(g, w, f"{label}: {line[:20]!r} {year}")


def test_capital_of_the_funded_set_by_year(built):
    report, _, values, _ = built
    ws = values["Capital"]
    row = next(r for r in ws.iter_rows(values_only=True) if r[0] == "Capital, selected cases")
    want = report.aligned.flows["capital"][report.selected].sum(axis=0)
    for j, w in enumerate(want):
        _close(row[1 + j], w, f"funded capital {report.aligned.years[j]}")
