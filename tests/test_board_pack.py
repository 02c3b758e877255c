"""The board pack (``bizcase report``; :mod:`workbooks.board_pack`).

The four shipped examples are rolled up twice into a history (two of them on
2026-09-30, all four on 2026-12-31, simulated, within a budget) and the deck
is written from the second rollup's workbook. Its numbers are compared with
what other commands print for the same files: ``rollup --json`` (headline,
funded NPV, P10/P50/P90), ``review --json`` (the bridge) and ``evaluate
--scenario ... --json`` (a case's scenario NPVs). python-pptx opens the deck,
every chart is a chart part (no pictures), LibreOffice Impress renders it
(one conversion to PDF, two pages to PNG), and Microsoft's validator checks it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from libreoffice import recalculate
from ooxml import require_validator, validator_errors
from pptx import Presentation
from typer.testing import CliRunner

from addin.cli import app
from workbooks.board_pack import read_portfolio


def run(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def ok(*args):
    result = run(*args)
    assert result.exit_code == 0, result.output
    return result


def money(x: float) -> str:
    return f"{x:,.0f}"


@pytest.fixture(scope="module")
def deck(tmp_path_factory):
    root = tmp_path_factory.mktemp("board")
    cases, db = root / "cases", root / "history.sqlite"
    ok("new", "--all-examples", "-o", cases)
    fx = ("--currency", "EUR", "--fx")
    ok("rollup", cases / "analytics_addon.xlsx", cases / "saas.xlsx", "-o", root / "q3.xlsx",
       *fx, "USD=0.90", "--record", "--as-of", "2026-09-30", "--db", db)  # fmt: skip
    rolled = ok(
        "rollup", cases, "-o", root / "portfolio.xlsx", *fx, "USD=0.92", "--budget", "5000000",
        "--simulate", "300", "--target", "30000000", "--json",
        "--record", "--as-of", "2026-12-31", "--db", db,
    )  # fmt: skip
    review = ok("review", "--db", db, "--json")
    out = root / "board.pptx"
    ok("report", root / "portfolio.xlsx", "-o", out, "--db", db)
    return {
        "path": out,
        "root": root,
        "rollup": json.loads(rolled.stdout),
        "review": json.loads(review.stdout),
        "prs": Presentation(str(out)),
    }


def texts(slide) -> list[str]:
    out = []
    for shape in slide.shapes:
        if shape.has_table:
            out += [c.text for row in shape.table.rows for c in row.cells]
        elif shape.has_text_frame:
            out.append(shape.text_frame.text)
    return out


def table(slide) -> dict[str, str]:
    """The first table's rows, first column -> second."""
    shape = next(s for s in slide.shapes if s.has_table)
    return {row.cells[0].text: row.cells[1].text for row in shape.table.rows}


def charts(slide):
    return [s.chart for s in slide.shapes if s.has_chart]


def titles(prs) -> list[str]:
    return [s.shapes.title.text for s in prs.slides]


def test_slides_in_order_with_one_per_funded_or_flagged_case(deck):
    rollup = deck["rollup"]
    got = titles(deck["prs"])
    assert got[:6] == [
        "Portfolio headline",
        "What changed: NPV bridge, 2026-09-30 to 2026-12-31 (EUR)",
        "Funded set against the budget (EUR)",
        "Portfolio risk: Monte Carlo of total NPV (EUR)",
        "Recommendations",
        *got[5:6],
    ]
    case_slides = got[5:]
    # sunset is recommended "retire" (flagged) whether funded or not
    expected = set(rollup["selected"]) | {"sunset"}
    assert {t.split("(")[-1].split(")")[0] for t in case_slides} == expected


def test_headline_equals_rollup(deck):
    rollup, slide = deck["rollup"], deck["prs"].slides[0]
    rows = table(slide)
    assert rows["Portfolio NPV, EUR"] == money(rollup["npv"])
    assert rows["Portfolio eNPV, EUR"] == money(rollup["enpv"])
    assert rows["Capital, all cases, EUR"] == money(rollup["capital"])
    assert rows["Funded NPV, EUR"] == money(rollup["selected_npv"])
    assert rows["Funded cases"] == str(len(rollup["selected"]))
    assert rows["Cases"] == str(rollup["cases"])
    assert rows["Capital budget, EUR"] == "5,000,000"


def test_bridge_slide_equals_review(deck):
    review, slide = deck["review"], deck["prs"].slides[1]
    rows = table(slide)
    assert rows["NPV 2026-09-30"] == money(review["start"])
    assert rows["NPV 2026-12-31"] == money(review["end"])
    assert rows["Cases added"] == money(review["components"]["added"])
    assert rows["Currency rates"] == money(review["components"]["currency"])
    (chart,) = charts(slide)
    _base, rise, fall, total = (list(s.values) for s in chart.plots[0].series)
    assert total[0] == review["start"] and total[-1] == review["end"]
    # the bars walk from start to end: each rise or fall moves the running total
    assert review["start"] + sum(rise) - sum(fall) == pytest.approx(review["end"], rel=1e-12)


def test_risk_slide_equals_the_simulation(deck):
    sim, slide = deck["rollup"]["simulation"], deck["prs"].slides[3]
    rows = table(slide)
    for key in ("p10", "p50", "p90", "mean"):
        assert rows[key.upper() if key != "mean" else "Mean"] == money(sim[key])
    assert rows["P(missing the target)"] == f"{sim['prob_below_target']:.1%}"
    (chart,) = charts(slide)
    # the deck reads the workbook, whose cells keep 16 significant digits
    expected = [sim["p10"], sim["p50"], sim["p90"]]
    assert list(chart.plots[0].series[0].values) == pytest.approx(expected, rel=1e-15)


def test_case_slide_scenarios_equal_evaluate(deck):
    prs, cases = deck["prs"], deck["root"] / "cases"
    slide = next(s for s in prs.slides if s.shapes.title.text.startswith("Atlas"))
    expected = [
        json.loads(
            ok("evaluate", cases / "analytics_addon.xlsx", "--scenario", s, "--json").stdout
        )["NPV"]
        for s in ("Low", "Base", "High")
    ]
    scenario_chart, tornado = charts(slide)
    assert list(scenario_chart.plots[0].series[0].values) == expected
    assert table(slide)["NPV, EUR"] == money(expected[1])
    assert any(t.startswith("Decision asked: Approve EUR 1.5m") for t in texts(slide))
    assert len(tornado.plots[0].series) == 2


def test_every_chart_is_a_chart_part_and_there_are_no_pictures(deck):
    with zipfile.ZipFile(deck["path"]) as z:
        names = z.namelist()
    parts = [n for n in names if n.startswith("ppt/charts/chart") and n.endswith(".xml")]
    n_charts = sum(len(charts(s)) for s in deck["prs"].slides)
    assert n_charts >= 8 and len(parts) == n_charts
    assert not [n for n in names if n.startswith("ppt/media/")]


def test_libreoffice_impress_renders_the_deck(deck, soffice, tmp_path):
    (pdf,) = recalculate([deck["path"]], tmp_path / "lo", soffice=soffice, to="pdf")
    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        message = "pdftoppm not found; install poppler-utils"
        if os.environ.get("BIZCASE_REQUIRE_SOFFICE") == "1":
            pytest.fail(message + " (BIZCASE_REQUIRE_SOFFICE=1 requires the rendering)")
        pytest.skip(message)
    subprocess.run(
        [pdftoppm, "-png", "-r", "40", "-f", "1", "-l", "2", pdf, tmp_path / "slide"], check=True
    )
    pngs = sorted(tmp_path.glob("slide-*.png"))
    assert len(pngs) == 2 and all(p.stat().st_size > 5000 for p in pngs)
    info = subprocess.run(["pdfinfo", pdf], capture_output=True, text=True, check=True).stdout
    assert re.search(r"^Pages:\s+(\d+)$", info, re.MULTILINE)[1] == str(len(deck["prs"].slides))


def test_deck_passes_the_open_xml_validator(deck):
    command = require_validator()
    assert validator_errors(command, [deck["path"]]) == {str(deck["path"]): []}


def test_report_refuses_a_file_that_is_not_a_portfolio(tmp_path):
    ok("new", "--example", "saas", "-o", tmp_path / "case.xlsx")
    result = run("report", tmp_path / "case.xlsx", "-o", tmp_path / "b.pptx")
    assert result.exit_code == 1
    assert "not a bizcase portfolio workbook (no Port_NPV name or Cases sheet)" in result.stderr
    assert not (tmp_path / "b.pptx").exists()


def test_report_without_history_or_simulation_still_writes_a_deck(tmp_path):
    cases = tmp_path / "cases"
    ok("new", "--example", "saas", "-o", cases / "saas.xlsx")
    ok("rollup", cases, "-o", tmp_path / "p.xlsx")
    ok("report", tmp_path / "p.xlsx", "-o", tmp_path / "b.pptx", "--db", tmp_path / "none.sqlite")
    prs = Presentation(str(tmp_path / "b.pptx"))
    assert "What changed" not in " ".join(titles(prs))
    risk = next(s for s in prs.slides if s.shapes.title.text.startswith("Portfolio risk"))
    assert any("roll up with --simulate N" in t for t in texts(risk))


@pytest.mark.parametrize("version, currency", [("1.0", ""), ("1.1", "EUR")])
def test_a_portfolio_of_an_earlier_template_gives_its_own_budget_and_currency(version, currency):
    # Made with --budget 20000000 (and --currency EUR from 1.1 on; 1.0 had no portfolio
    # currency): read by defined name, wherever that template put the Summary cells.
    fixture = Path(__file__).parent / "fixtures" / f"template_{version}" / "portfolio.xlsx"
    portfolio = read_portfolio(fixture)
    assert portfolio.budget == 20_000_000
    assert portfolio.currency == currency
