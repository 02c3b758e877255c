"""What a reader sees on paper: every kind of generated workbook printed to PDF.

Each example case, one case after ``bizcase simulate --write`` and a portfolio
with its Risk sheet (``bizcase rollup --simulate``) are recalculated and
printed by LibreOffice in one call, then read back with ``pdftotext -layout``
(poppler). The printed text must show no ``###`` (a column too narrow), no
raw error value, the years on every page of a timeline, a unit on every money
row and ``%`` on every rate row, and a header and footer with page numbers.

A page's sheet is read from its header, which prints the sheet name last on
its first line.
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from libreoffice import render_pdf
from typer.testing import CliRunner

from addin.cli import app
from udfs.model import build_model
from workbooks.business_case import write_business_case
from workbooks.examples import EXAMPLES, example_spec

RAW_ERRORS = re.compile(r"#N/A|#VALUE!|#DIV/0!|#REF!|#NUM!|#NAME\?|#NULL!|Err:\d{3}")
PAGE_NUMBER = re.compile(r"Page (\d+) of (\d+)")
NUMBER = re.compile(r"[-+(]?\d[\d,]*(\.\d+)?%?\)?")
RATE_UNITS = {"%", "%/yr", "% of capex", "% change"}
CASE_SHEETS = ("Cover", "Inputs", "Calculations", "Valuation", "Scenarios", "Sensitivity")
CASE_SHEETS += ("KPIs", "Checks", "Risk")
PORTFOLIO_SHEETS = ("Summary", "Risk", "Cases", "Flows", "Consolidated", "Capital")
PORTFOLIO_SHEETS += ("Selection", "Exceptions")
SIMULATED = "hardware"  # the case printed again after simulate --write
FX = ("--currency", "EUR", "--fx", "USD=0.92")


def run(*args):
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture(scope="module")
def rendered(soffice, tmp_path_factory) -> dict[str, list[tuple[str, str]]]:
    """Workbook name -> its printed pages as (sheet, text), from one LibreOffice call."""
    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext (poppler-utils) not found; install poppler-utils")
    root = tmp_path_factory.mktemp("render")
    cases = root / "cases"
    paths = [write_business_case(example_spec(name), cases / f"{name}.xlsx") for name in EXAMPLES]
    simulated = root / "simulated" / f"{SIMULATED}_risk.xlsx"
    write_business_case(example_spec(SIMULATED), simulated)
    run("simulate", simulated, "--trials", 500, "--seed", 3, "--write")
    portfolio = root / "portfolio.xlsx"
    run("rollup", cases, "-o", portfolio, *FX, "--budget", 20_000_000, "--simulate", 500)
    pdfs = render_pdf([*paths, simulated, portfolio], root / "pdf", soffice=soffice)
    out = {}
    for pdf in pdfs:
        text = subprocess.run(
            ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
        ).stdout
        sheets = PORTFOLIO_SHEETS if pdf.stem == "portfolio" else CASE_SHEETS
        out[pdf.stem] = [(_sheet(page, sheets), page) for page in text.split("\f") if page.strip()]
    return out


def _sheet(page: str, sheets: tuple[str, ...]) -> str:
    first = next(line for line in page.splitlines() if line.strip()).rstrip()
    for sheet in sheets:
        if first.endswith(sheet):
            return sheet
    raise AssertionError(f"no sheet name at the end of the header line {first!r}")


def _pages(rendered, name: str, sheet: str) -> list[str]:
    pages = [text for s, text in rendered[name] if s == sheet]
    assert pages, f"{name}: no page of {sheet} printed"
    return pages


def _lines(pages: list[str], label: str) -> list[str]:
    """Printed lines that start with the whole of ``label`` followed by a gap (a label
    cut by a narrow column is not found)."""
    pattern = re.compile(re.escape(label) + r"(\s{2,}|$)")
    return [
        line.strip() for page in pages for line in page.splitlines() if pattern.match(line.strip())
    ]


def _values(line: str, label: str) -> list[str]:
    rest = line[len(label) :]
    return [t for t in rest.split() if NUMBER.fullmatch(t)]


def _assert_money(line: str, currency: str, where: str) -> None:
    assert re.search(rf"\b{currency}\b", line), f"{where}: no {currency} on the money row {line!r}"


def _assert_rate(line: str, label: str, where: str, first_only: bool = False) -> None:
    """Every value on a rate row shows %; ``first_only`` where a chart's axis labels
    print on the same line further right."""
    values = _values(line, label)[:1] if first_only else _values(line, label)
    bare = [v for v in values if not v.rstrip(")").endswith("%")]
    assert values and not bare, f"{where}: rate row without % on its values: {line!r}"


ALL = [*EXAMPLES, f"{SIMULATED}_risk", "portfolio"]


@pytest.mark.parametrize("name", ALL)
def test_no_hash_marks_or_raw_error_values_on_any_page(rendered, name):
    for sheet, text in rendered[name]:
        assert "###" not in text, f"{name}, {sheet}: a column too narrow for its number"
        found = RAW_ERRORS.findall(text)
        assert not found, f"{name}, {sheet}: raw error values printed: {sorted(set(found))}"


@pytest.mark.parametrize("name", ALL)
def test_every_page_has_a_header_and_numbered_footer(rendered, name):
    pages = rendered[name]
    for k, (sheet, text) in enumerate(pages, start=1):
        numbers = PAGE_NUMBER.findall(text)
        assert numbers, f"{name}, {sheet}: no 'Page x of y' on printed page {k}"
        if name != "portfolio" and sheet != "Risk":  # simulate does not know the template
            assert "Template" in text, f"{name}, {sheet}: no template version"
        assert "Printed" in text, f"{name}, {sheet}: no print date"


def test_the_risk_sheet_is_printed_after_simulate_write(rendered):
    pages = _pages(rendered, f"{SIMULATED}_risk", "Risk")
    assert any("NPV histogram" in p for p in pages)
    assert _pages(rendered, "portfolio", "Risk")


@pytest.mark.parametrize("name", [*EXAMPLES, f"{SIMULATED}_risk"])
def test_case_timeline_pages_show_the_years(rendered, name):
    meta = example_spec(name.removesuffix("_risk")).meta
    first, last = str(meta.start_year), str(meta.start_year + meta.horizon - 1)
    for sheet in ("Calculations", "KPIs"):
        for k, page in enumerate(_pages(rendered, name, sheet), start=1):
            assert any(first in line and last in line for line in page.splitlines()), (
                f"{name}, {sheet} page {k}: no year header {first}..{last}"
            )
    forecast = [p for p in _pages(rendered, name, "Inputs") if "Forecast series" in p]
    assert forecast and all(first in p and last in p for p in forecast)


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_case_money_rows_carry_the_currency_and_rates_show_percent(rendered, name):
    spec = example_spec(name)
    currency = spec.meta.currency
    model = build_model(spec)
    calc = _pages(rendered, name, "Calculations")
    valuation = _pages(rendered, name, "Valuation")
    checked = {"money": 0, "rate": 0}
    for pages, items in ((calc, [*model.drivers, *model.lines]), (valuation, model.outputs)):
        for item in items:
            printed = _lines(pages, item.label)
            if pages is calc and (item.unit == "currency" or item.unit in RATE_UNITS):
                assert printed, f"{name}: {item.label!r} not printed whole"
            # a section heading may share a line's label, and terminal-value rows of a
            # method not in use print blank: lines without values carry no unit to check
            lines = [line for line in printed if _values(line, item.label)]
            if item.unit == "currency":
                for line in lines:
                    _assert_money(line, currency, f"{name}: {item.label}")
                    checked["money"] += 1
            elif item.unit in RATE_UNITS:
                for line in lines:
                    _assert_rate(line, item.label, f"{name}: {item.label}")
                    checked["rate"] += 1
    assert checked["money"] > 10 and checked["rate"] > 3, checked
    kpis = _pages(rendered, name, "KPIs")
    for label in ("Revenue", "EBITDA", "Incremental FCF"):
        lines = [x.strip() for p in kpis for x in p.splitlines() if x.strip().startswith(label)]
        assert lines, f"{name}: KPI {label} not printed"
        _assert_money(lines[0], currency, f"{name}: KPI {label}")
    cover = _pages(rendered, name, "Cover")
    for label in ("Net present value", "Risk-adjusted NPV", "Peak funding"):
        _assert_money(_lines(cover, label)[0], currency, f"{name}: Cover {label}")


def test_results_that_do_not_exist_read_as_words_not_error_codes(rendered):
    """The SaaS case's Low scenario never pays back and has no IRR (LibreOffice's IRR
    fails on its flows); the Scenarios sheet says "never" and "n/a" there."""
    scenarios = _pages(rendered, "saas", "Scenarios")
    (payback,) = _lines(scenarios, "Payback")
    assert payback.split()[1] == "never", payback
    (irr,) = _lines(scenarios, "Internal rate of return")
    assert irr.split()[4] == "n/a", irr


def test_portfolio_pages_show_years_units_and_rates(rendered):
    years = [str(example_spec(n).meta.start_year) for n in EXAMPLES]
    first = min(years)
    for sheet in ("Flows", "Consolidated", "Capital"):
        for k, page in enumerate(_pages(rendered, "portfolio", sheet), start=1):
            assert first in page, f"portfolio, {sheet} page {k}: no year header"
    summary = _pages(rendered, "portfolio", "Summary")
    for label in (
        "Portfolio NPV (each case at its own rate)",
        "Portfolio eNPV",
        "Capital, all cases",
        "NPV of the funded set",
    ):
        _assert_money(_lines(summary, label)[0], "EUR", f"portfolio Summary: {label}")
    irr = "IRR of the summed cash flows"
    _assert_rate(_lines(summary, irr)[0], irr, "portfolio Summary: IRR", first_only=True)
    consolidated = _pages(rendered, "portfolio", "Consolidated")
    for label in ("Revenue", "EBITDA", "Capital", "Incremental FCF", "Cumulative FCF"):
        for line in _lines(consolidated, label):
            _assert_money(line, "EUR", f"portfolio Consolidated: {label}")
    risk = _pages(rendered, "portfolio", "Risk")
    for label in ("Mean", "P10", "P50", "P90"):
        _assert_money(_lines(risk, label)[0], "EUR", f"portfolio Risk: {label}")
    below = "P(portfolio NPV < 0)"
    _assert_rate(_lines(risk, below)[0], below, "portfolio Risk: P(NPV < 0)", first_only=True)


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_the_pnl_prints_as_one_block_whose_total_column_adds_its_years(rendered, name):
    """Each printed P&L row's Total equals the sum of its printed years (each figure
    rounded to a whole unit, so within half a unit per year)."""
    text = "\n".join(_pages(rendered, name, "Calculations"))
    block = text[text.index("P&L in one block") :].splitlines()[1:]
    rows = 0
    for line in block:
        if not line.strip():
            break
        figures = [float(t.replace(",", "")) for t in line.split() if NUMBER.fullmatch(t)]
        *years, total = figures
        assert abs(sum(years) - total) <= 0.5 * len(years) + 0.5, line
        rows += 1
    labels = ("Revenue", "EBITDA", "Depreciation", "Tax", "NOPAT")
    assert rows >= len(labels) and all(
        f"\n{x} " in "\n" + "\n".join(b.strip() for b in block) for x in labels
    )
