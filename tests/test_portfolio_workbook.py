"""The portfolio workbook (:mod:`workbooks.portfolio_workbook`) against LibreOffice.

Cases come from the four shipped examples and eight generated specs, evaluated
by the engine; :func:`udfs.portfolio.plan` chooses the funded set
(once under a capital limit per year, once under a total budget). Three
workbooks go through one ``soffice`` call: the two reports, and a copy of the
first in which one case's NPV cell was edited with openpyxl beforehand. Every
``Port_`` name and every consolidated row computed by LibreOffice must equal
the engine within relative 1e-9 (the sums worked here from the case rows, and
the plan's own value for the name), and the edit must flow through.
"""

from __future__ import annotations

import math
import re
import zipfile
from dataclasses import replace
from pathlib import Path, PurePosixPath
from xml.etree import ElementTree

import numpy as np
import openpyxl
import pytest
from libreoffice import read_values, recalculate

from udfs import finance
from udfs.model import build_model, evaluate
from udfs.portfolio import (
    HEADLINES,
    Case,
    RolledUp,
    Settings,
    case_from_evaluation,
    plan,
    totals_by_year,
)
from workbooks.examples import EXAMPLES, example_spec
from workbooks.examples.generated import varied_specs
from workbooks.portfolio_workbook import CASE_COLUMNS, write_portfolio

RTOL = 1e-9
ATOL = 1e-6  # currency units, for totals that are (nearly) zero
NPV_EDIT = 1_234_567.0
FX = Settings(currency="EUR", rates={"USD": 0.92})  # the examples are in EUR and USD
CONSOLIDATED_ROWS = {
    "Revenue": "revenue",
    "EBITDA": "ebitda",
    "Capital": "capital",
    "Incremental FCF": "fcf",
}
NS = {
    "c": "http://schemas.openxmlformats.org/drawingml/2006/chart",
    "a": "http://schemas.openxmlformats.org/drawingml/2006/main",
}


def _rolled() -> RolledUp:
    specs = [example_spec(name) for name in EXAMPLES] + varied_specs(8)
    rolled = RolledUp()
    for spec in specs:
        model = build_model(spec)
        case = case_from_evaluation(model, evaluate(model))
        rolled.cases.append(case)
        rolled.files.append(Path(f"{case.id}.xlsx"))
    rolled.exceptions.append((Path("broken.xlsx"), "broken.xlsx: not an Excel workbook (.xlsx)"))
    return rolled


@pytest.fixture(scope="module")
def built(tmp_path_factory, soffice):
    root = tmp_path_factory.mktemp("portfolio")
    rolled = _rolled()
    capital = sum(c.capital.sum() for c in rolled.cases)
    years = plan(rolled, FX).aligned.years
    by_year_budget = (round(0.4 * capital / years.size, -3),) * years.size
    reports = {
        "by_year": plan(rolled, replace(FX, budget_by_year=by_year_budget)),
        "total": plan(rolled, replace(FX, budget=round(0.5 * capital, -3), value_key="enpv")),
    }
    paths = {k: write_portfolio(r, root / f"portfolio_{k}.xlsx") for k, r in reports.items()}
    edited = openpyxl.load_workbook(paths["by_year"])
    cases = edited["Cases"]
    npv_col = CASE_COLUMNS.index("NPV") + 1
    cases.cell(row=2, column=npv_col).value += NPV_EDIT
    paths["edited"] = root / "portfolio_edited.xlsx"
    edited.save(paths["edited"])
    outputs = recalculate(list(paths.values()), root / "lo", soffice=soffice)
    values = {k: read_values(out) for k, out in zip(paths, outputs, strict=True)}
    return reports, paths, values


def _name(wb, name: str):
    """The value of a workbook-level defined name (a single cell)."""
    ((sheet, ref),) = list(wb.defined_names[name].destinations)
    return wb[sheet][ref.replace("$", "")].value


def _close(got, want, what: str) -> None:
    assert isinstance(got, (int, float)), f"{what}: LibreOffice gives {got!r}"
    assert got == pytest.approx(want, rel=RTOL, abs=ATOL), what


# --- the headline names -------------------------------------------------------------


@pytest.mark.parametrize("key", ["by_year", "total"])
def test_headline_names_equal_the_engine_after_libreoffice_recalculation(built, key):
    reports, _, values = built
    report, wb = reports[key], values[key]
    cases, chosen = report.aligned.cases, report.selected
    assert 0 < chosen.sum() < len(cases)  # the budget binds: a real selection
    _close(_name(wb, "Port_NPV"), math.fsum(c.npv for c in cases), "Port_NPV")
    _close(_name(wb, "Port_eNPV"), math.fsum(c.enpv for c in cases), "Port_eNPV")
    capital = math.fsum(c.capital.sum() for c in cases)
    _close(_name(wb, "Port_Capital"), capital, "Port_Capital")
    selected_npv = math.fsum(c.npv for c, s in zip(cases, chosen, strict=True) if s)
    _close(_name(wb, "Port_SelectedNPV"), selected_npv, "Port_SelectedNPV")
    selected_capital = math.fsum(c.capital.sum() for c, s in zip(cases, chosen, strict=True) if s)
    _close(_name(wb, "Port_SelectedCapital"), selected_capital, "Port_SelectedCapital")
    assert _name(wb, "Port_Cases") == len(cases)
    irr = finance.irr(report.aligned.flows["fcf"].sum(axis=0))
    assert np.isfinite(irr)
    _close(_name(wb, "Port_IRR"), irr, "Port_IRR")


@pytest.mark.parametrize("key", ["by_year", "total"])
def test_every_port_name_equals_the_plans_value_after_libreoffice_recalculation(built, key):
    # One definition: the Summary formulas are rendered from the expressions the plan
    # evaluates with numpy; LibreOffice computing them must give the plan's numbers.
    reports, _, values = built
    plan_values = reports[key].headlines()
    assert set(plan_values) == {h.name for h in HEADLINES}
    names = {n for n in values[key].defined_names if n.startswith("Port_")}
    assert {f"Port_{h.name}" for h in HEADLINES} <= names
    for name, want in plan_values.items():
        assert np.isfinite(want), name  # every headline exists for these cases
        _close(_name(values[key], f"Port_{name}"), want, f"Port_{name}")


def test_mirr_is_the_summed_flows_mirr_at_the_portfolio_rate(built):
    # Excel's MIRR on the yearly summed FCF with finance and reinvestment at the mean of
    # the cases' discount rates (In_PortfolioRate), worked with finance.mirr.
    reports, _, values = built
    report = reports["by_year"]
    rate = np.mean([c.discount_rate for c in report.aligned.cases])
    assert _name(values["by_year"], "In_PortfolioRate") == pytest.approx(rate, rel=RTOL)
    want = finance.mirr(report.aligned.flows["fcf"].sum(axis=0), rate, rate)
    _close(_name(values["by_year"], "Port_MIRR"), want, "Port_MIRR")


def test_headroom_is_the_total_budget_less_the_funded_capital(built):
    reports, _, values = built
    report = reports["total"]
    funded = report.aligned.flows["capital"][report.selected].sum()
    _close(_name(values["total"], "Port_Headroom"), report.budget_total - funded, "Port_Headroom")
    assert _name(values["total"], "Port_Headroom") >= -ATOL


def test_selection_under_a_total_budget_maximises_enpv_when_asked(built):
    reports, _, _ = built
    report = reports["total"]
    assert report.value_key == "enpv"
    assert report.aligned.flows["capital"][report.selected].sum() <= report.budget_total


# --- consolidated flows and capital by year ------------------------------------------


def _rows_by_label(ws, first_row: int) -> tuple[list[int], dict[str, list]]:
    header = [c.value for c in ws[first_row]][1:]
    years = [int(y) for y in header if y is not None]
    rows = {}
    for r in ws.iter_rows(min_row=first_row + 1, values_only=True):
        if r[0] is not None:
            rows[str(r[0])] = list(r[1 : 1 + len(years)])
    return years, rows


@pytest.mark.parametrize("key", ["by_year", "total"])
def test_consolidated_rows_equal_totals_by_year(built, key):
    reports, _, values = built
    totals = totals_by_year(reports[key].aligned)
    years, rows = _rows_by_label(values[key]["Consolidated"], 3)
    assert years == totals.index.tolist()
    for label, measure in CONSOLIDATED_ROWS.items():
        for year, got in zip(years, rows[label], strict=True):
            _close(got, totals.loc[year, measure], f"{label} {year}")
    cumulative = np.cumsum(totals["fcf"].to_numpy())
    for got, want in zip(rows["Cumulative FCF"], cumulative, strict=True):
        _close(got, want, "Cumulative FCF")


def test_consolidated_rows_by_product_line_equal_totals_by_line(built):
    reports, _, values = built
    by_line = totals_by_year(reports["by_year"].aligned, by="product_line")
    years, rows = _rows_by_label(values["by_year"]["Consolidated"], 3)
    lines = by_line["product_line"].unique()
    assert len(lines) > 1
    for line in lines:
        part = by_line[by_line["product_line"] == line]
        for label, measure in (("Revenue", "revenue"), ("Incremental FCF", "fcf")):
            got = rows[f"{label}: {line}"]
            for year, value in zip(years, got, strict=True):
                _close(value, part.loc[year, measure], f"{label}: {line} {year}")


def test_capital_sheet_shows_funded_capital_against_the_budget_by_year(built):
    reports, _, values = built
    report = reports["by_year"]
    years, rows = _rows_by_label(values["by_year"]["Capital"], 3)
    capital = report.aligned.flows["capital"]
    funded = capital[report.selected].sum(axis=0)
    assert years == report.aligned.years.tolist()
    for j in range(len(years)):
        _close(rows["Capital, all cases"][j], capital[:, j].sum(), f"all {years[j]}")
        _close(rows["Capital, selected cases"][j], funded[j], f"selected {years[j]}")
        _close(rows["Budget"][j], report.budget_by_year[j], f"budget {years[j]}")
        _close(rows["Headroom (budget - selected)"][j], report.budget_by_year[j] - funded[j], "")
        assert rows["Headroom (budget - selected)"][j] >= -ATOL


# --- edits flow through ---------------------------------------------------------------


def test_editing_a_case_npv_changes_port_npv_after_recalculation(built):
    reports, _, values = built
    report = reports["by_year"]
    before, after = values["by_year"], values["edited"]
    npv = math.fsum(c.npv for c in report.aligned.cases)
    _close(_name(after, "Port_NPV"), npv + NPV_EDIT, "Port_NPV after the edit")
    edited_selected = bool(report.selected[0])
    want = _name(before, "Port_SelectedNPV") + (NPV_EDIT if edited_selected else 0.0)
    _close(_name(after, "Port_SelectedNPV"), want, "Port_SelectedNPV after the edit")
    _close(_name(after, "Port_eNPV"), _name(before, "Port_eNPV"), "Port_eNPV unchanged")


# --- structure: the table and the charts ------------------------------------------------


def test_cases_sheet_holds_an_excel_table_named_cases(built):
    reports, paths, _ = built
    ws = openpyxl.load_workbook(paths["by_year"])["Cases"]
    assert "Cases" in ws.tables
    table = ws.tables["Cases"]
    n = len(reports["by_year"].aligned.cases)
    last = openpyxl.utils.get_column_letter(len(CASE_COLUMNS))
    assert table.ref == f"A1:{last}{n + 1}"
    assert [c.value for c in ws[1]] == list(CASE_COLUMNS)
    ids = [ws.cell(row=r, column=1).value for r in range(2, n + 2)]
    assert ids == [c.id for c in reports["by_year"].aligned.cases]


def _charts(path: Path) -> dict[str, list[ElementTree.Element]]:
    """Chart parts by the sheet whose drawing holds them, read from the package."""

    def rels(archive, part: str) -> dict[str, str]:
        p = PurePosixPath(part)
        name = f"{p.parent}/_rels/{p.name}.rels"
        if name not in archive.namelist():
            return {}
        root = ElementTree.fromstring(archive.read(name))
        return {r.get("Id"): str(PurePosixPath(_norm(p.parent / r.get("Target")))) for r in root}

    out: dict[str, list] = {}
    with zipfile.ZipFile(path) as archive:
        book = ElementTree.fromstring(archive.read("xl/workbook.xml"))
        book_rels = rels(archive, "xl/workbook.xml")
        main = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
        rid = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
        for sheet in book.iter(f"{main}sheet"):
            part = book_rels[sheet.get(rid)]
            for drawing in rels(archive, part).values():
                if "/drawings/" not in drawing:
                    continue
                for chart in rels(archive, drawing).values():
                    if "/charts/" in chart:
                        root = ElementTree.fromstring(archive.read(chart))
                        out.setdefault(sheet.get("name"), []).append(root)
    return out


def _norm(path: PurePosixPath) -> str:
    parts: list[str] = []
    for part in path.parts:
        if part == "..":
            parts.pop()
        elif part != ".":
            parts.append(part)
    return "/".join(parts).lstrip("/")


def _refs(element: ElementTree.Element, tag: str) -> list[str]:
    return [f.text for f in element.iterfind(f".//c:{tag}//c:f", NS)]


def _case_column(header: str) -> str:
    return openpyxl.utils.get_column_letter(CASE_COLUMNS.index(header) + 1)


def test_summary_has_a_risk_reward_bubble_chart_of_the_cases(built):
    reports, paths, _ = built
    (chart,) = _charts(paths["by_year"])["Summary"]
    bubble = chart.find(".//c:bubbleChart", NS)
    assert bubble is not None
    series = bubble.findall("c:ser", NS)  # one per case, named by it, so labelled
    assert len(series) == len(reports["by_year"].aligned.cases)
    expected = {"xVal": "Probability", "yVal": "eNPV", "bubbleSize": "Capital"}
    for row, one in enumerate(series, start=2):
        for tag, header in expected.items():
            col = _case_column(header)
            (ref,) = _refs(one, tag)
            assert ref.replace("'", "") == f"Cases!${col}${row}", (tag, ref)
        (name,) = _refs(one, "tx")
        assert name.replace("'", "") == f"Cases!${_case_column('Name')}${row}"
        assert one.find("c:dLbls/c:showSerName", NS).get("val") == "1"


def test_capital_sheet_has_stacked_capital_by_year_with_the_budget_line(built):
    reports, paths, values = built
    (chart,) = _charts(paths["by_year"])["Capital"]
    bar = chart.find(".//c:barChart", NS)
    assert bar is not None
    assert bar.find("c:grouping", NS).get("val") == "stacked"
    lines = {c.product_line for c in reports["by_year"].aligned.cases}
    assert len(bar.findall("c:ser", NS)) == len(lines)
    line = chart.find(".//c:lineChart", NS)
    assert line is not None
    (budget,) = line.findall("c:ser", NS)
    assert "".join(t.text or "" for t in budget.iterfind("c:tx//c:v", NS)) == "Budget"
    (ref,) = _refs(budget, "val")
    ws = values["by_year"]["Capital"]
    budget_row = next(r for r in range(1, ws.max_row + 1) if ws.cell(r, 1).value == "Budget")
    assert re.fullmatch(rf"'?Capital'?!\$B\${budget_row}:\$[A-Z]+\${budget_row}", ref), ref


def test_selection_sheet_has_the_frontier_scatter(built):
    reports, paths, values = built
    (chart,) = _charts(paths["by_year"])["Selection"]
    scatter = chart.find(".//c:scatterChart", NS)
    assert scatter is not None
    (series,) = scatter.findall("c:ser", NS)
    last = 4 + len(reports["by_year"].frontier)
    (x,) = _refs(series, "xVal")
    (y,) = _refs(series, "yVal")
    assert x.replace("'", "") == f"Selection!$A$5:$A${last}"
    assert y.replace("'", "") == f"Selection!$B$5:$B${last}"
    ws = values["by_year"]["Selection"]
    frontier = reports["by_year"].frontier
    for r, point in enumerate(frontier.itertuples(index=False), start=5):
        _close(ws.cell(r, 1).value, point.budget, f"frontier budget, row {r}")
        _close(ws.cell(r, 2).value, point.value, f"frontier value, row {r}")
    assert np.all(np.diff(frontier["value"]) >= 0)


# --- the IRR of flows with two roots: chosen as Excel chooses it ------------------------


def test_port_irr_of_two_root_flows_is_the_root_excel_reaches_from_the_mirr(tmp_path, soffice):
    """Summed yearly FCF -100, 230, -132 has two IRRs: with x = 1/(1+r),
    132x^2 - 230x + 100 = 0 gives x = (230 +- 10)/264, r = 10% or 20%. At a portfolio
    rate of 30% the MIRR is (230 x 1.3 / (100 + 132/1.3^2))^(1/2) - 1 = 29.6%, and
    Excel's IRR started there reaches 20%; the plan must report the same root as the
    workbook, not the 10% an IRR started from its default guess finds."""
    years = np.array([2027, 2028, 2029])

    def case(case_id: str, fcf: list[float]) -> Case:
        flows = np.array(fcf)
        capital = np.where(flows < 0, -flows, 0.0)
        return Case(case_id, case_id, "line", "growth", years, flows, flows, capital, flows,
                    1.0, 1.0, math.nan, 1.0, 1.0, 0.3, currency="EUR")  # fmt: skip

    cases = [case("a", [-60.0, 130.0, -70.0]), case("b", [-40.0, 100.0, -62.0])]
    result = plan(cases, Settings(frontier_points=0))
    assert result.rate == pytest.approx(0.3)
    assert finance.irr(np.array([-100.0, 230.0, -132.0])) == pytest.approx(0.1)
    assert result.headlines()["IRR"] == pytest.approx(0.2, rel=1e-9)
    path = write_portfolio(result, tmp_path / "two_roots.xlsx")
    (out,) = recalculate([path], tmp_path / "lo", soffice=soffice)
    _close(_name(read_values(out), "Port_IRR"), result.headlines()["IRR"], "Port_IRR")
