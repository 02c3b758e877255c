"""The Risk sheet in a workbook a user has edited, ``bizcase simulate`` and the
portfolio's Monte Carlo.

The "edited" workbook is the documented example after a round trip through
LibreOffice (convert to xlsx, nothing else changed): a file with cached values
and LibreOffice's own structure (shared strings, its own part order, styles and
defined-name attributes), as a user's Excel or Calc would leave it.
``bizcase simulate --write`` must then change only the four parts that list
sheets and styles, keep every other part byte for byte (so every cell, defined
name and chart), leave no orphaned part when run again, and produce a file that
openpyxl and LibreOffice both open with the snapshot's numbers in it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import posixpath
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from types import SimpleNamespace
from xml.etree import ElementTree

import numpy as np
import openpyxl
import pytest
from libreoffice import read_values, recalculate
from typer.testing import CliRunner

from addin.cli import app
from udfs import risk
from udfs.model import evaluate
from workbooks.business_case import write_business_case
from workbooks.examples import example_spec
from workbooks.examples.generated import varied_specs
from workbooks.reader import read_business_case

MAY_CHANGE = {
    "[Content_Types].xml",
    "xl/workbook.xml",
    "xl/_rels/workbook.xml.rels",
    "xl/styles.xml",
}
MAIN_NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
FIRST = {"trials": 2_000, "seed": 5}
SECOND = {"trials": 1_500, "seed": 6}


def run(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def _parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {name: z.read(name) for name in z.namelist()}


def _relationships(parts: dict, source: str) -> list[str]:
    """Absolute part names a part's relationships point at (internal ones)."""
    folder, name = posixpath.split(source)
    rels = parts.get(posixpath.join(folder, "_rels", name + ".rels"))
    if rels is None:
        return []
    out = []
    for element in ElementTree.fromstring(rels):
        target = element.get("Target")
        if element.get("TargetMode") == "External" or target.startswith("#"):
            continue  # a link out of the package, or to a cell (a button's hyperlink)
        out.append(
            target.lstrip("/")
            if target.startswith("/")
            else posixpath.normpath(posixpath.join(folder, target))
        )
    return out


def _package_problems(parts: dict) -> list[str]:
    """Dangling relationships, unreachable parts, content types without a part."""
    problems = []
    reachable, todo = set(), [""]  # "" stands for the package: its rels are _rels/.rels
    while todo:
        source = todo.pop()
        for target in _relationships(parts, source):
            if target not in parts:
                problems.append(f"{source or 'package'} points at missing {target}")
            elif target not in reachable:
                reachable.add(target)
                todo.append(target)
    for name in parts:
        if name == "[Content_Types].xml":
            continue
        if name.endswith(".rels"):
            folder, rels = posixpath.split(name)
            source = posixpath.join(posixpath.dirname(folder), rels.removesuffix(".rels"))
            if source and source not in parts:
                problems.append(f"{name} belongs to no part")
        elif name not in reachable:
            problems.append(f"{name} is not reachable from the package relationships")
    types = parts["[Content_Types].xml"].decode()
    for part in re.findall(r'<Override\b[^>]*PartName="/([^"]+)"', types):
        if part not in parts:
            problems.append(f"[Content_Types].xml lists missing {part}")
    return problems


def _risk_chart_parts(parts: dict) -> list[str]:
    workbook = parts["xl/workbook.xml"].decode()
    (rid,) = re.findall(r'<sheet\b[^>]*name="Risk"[^>]*\bid="([^"]+)"', workbook)
    rels = ElementTree.fromstring(parts["xl/_rels/workbook.xml.rels"])
    target = next(e.get("Target") for e in rels if e.get("Id") == rid)
    sheet = target.lstrip("/") if target.startswith("/") else posixpath.join("xl", target)
    charts = []
    for drawing in _relationships(parts, sheet):
        charts += [c for c in _relationships(parts, drawing) if "/charts/" in c]
    return charts


def _defined_names(path: Path) -> dict:
    wb = openpyxl.load_workbook(path)
    names = {name: d.attr_text for name, d in wb.defined_names.items()}
    for ws in wb.worksheets:
        names |= {f"{ws.title}!{n}": d.attr_text for n, d in ws.defined_names.items()}
    return names


def _stamp(text: str) -> dt.datetime:
    found = re.search(r"\((\d{4}-\d{2}-\d{2} \d{2}:\d{2}) UTC\)", text)
    assert found, text
    return dt.datetime.strptime(found.group(1), "%Y-%m-%d %H:%M").replace(tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def workbooks(tmp_path_factory, soffice) -> SimpleNamespace:
    root = tmp_path_factory.mktemp("risk")
    generated = write_business_case(example_spec("analytics_addon"), root / "gen" / "case.xlsx")
    (edited,) = recalculate([generated], root / "edited", soffice=soffice)
    once = root / "written" / "once.xlsx"
    twice = root / "written" / "twice.xlsx"
    once.parent.mkdir()
    shutil.copyfile(edited, once)
    started = dt.datetime.now(dt.UTC)
    first = run("simulate", once, "--trials", FIRST["trials"], "--seed", FIRST["seed"], "--write")
    finished = dt.datetime.now(dt.UTC)
    assert first.exit_code == 0, first.stderr
    shutil.copyfile(once, twice)
    second = run(
        "simulate", twice, "--trials", SECOND["trials"], "--seed", SECOND["seed"], "--write"
    )
    assert second.exit_code == 0, second.stderr
    calc_once, calc_twice = recalculate([once, twice], root / "lo", soffice=soffice)
    return SimpleNamespace(
        edited=edited,
        once=once,
        twice=twice,
        calc_once=calc_once,
        calc_twice=calc_twice,
        started=started,
        finished=finished,
        output=first.stdout,
    )


# --- nothing else changes -------------------------------------------------------------


@pytest.mark.parametrize("which", ["once", "twice"])
def test_write_keeps_every_other_part_byte_identical(workbooks, which):
    before = _parts(workbooks.edited)
    after = _parts(getattr(workbooks, which))
    assert set(before) <= set(after), set(before) - set(after)
    changed = sorted(name for name in before if before[name] != after[name])
    assert set(changed) <= MAY_CHANGE, changed


def test_write_adds_only_the_risk_sheet_its_drawing_and_two_charts(workbooks):
    before = _parts(workbooks.edited)
    added = sorted(set(_parts(workbooks.once)) - set(before))
    kinds = [re.sub(r"\d+", "N", name) for name in added]
    assert sorted(kinds) == sorted(
        [
            "xl/worksheets/sheetN.xml",
            "xl/worksheets/_rels/sheetN.xml.rels",
            "xl/drawings/drawingN.xml",
            "xl/drawings/_rels/drawingN.xml.rels",
            "xl/charts/chartN.xml",
            "xl/charts/chartN.xml",
        ]
    ), added
    assert sorted(_risk_chart_parts(_parts(workbooks.once))) == sorted(
        n for n in added if "/charts/" in n
    )


@pytest.mark.parametrize("which", ["edited", "once", "twice"])
def test_package_has_no_orphaned_or_dangling_parts(workbooks, which):
    assert _package_problems(_parts(getattr(workbooks, which))) == []


def test_existing_styles_keep_their_indices(workbooks):
    before = ElementTree.fromstring(_parts(workbooks.edited)["xl/styles.xml"])
    after = ElementTree.fromstring(_parts(workbooks.once)["xl/styles.xml"])
    for block in ("numFmts", "fonts", "fills", "borders", "cellStyleXfs", "cellXfs", "dxfs"):
        old = before.find(f"m:{block}", MAIN_NS)
        new = after.find(f"m:{block}", MAIN_NS)
        if old is None:
            continue
        old_items = [ElementTree.tostring(e) for e in old]
        new_items = [ElementTree.tostring(e) for e in new]
        assert new_items[: len(old_items)] == old_items, block
        if new.get("count") is not None:
            assert int(new.get("count")) == len(new_items), block


def test_every_defined_name_survives(workbooks):
    before = _defined_names(workbooks.edited)
    assert any(n.startswith("In_") for n in before) and "Out_NPV" in before
    for which in ("once", "twice"):
        assert _defined_names(getattr(workbooks, which)) == before, which
    old_xml = re.findall(
        rb"<definedName\b.*?</definedName>", _parts(workbooks.edited)["xl/workbook.xml"]
    )
    new_xml = _parts(workbooks.twice)["xl/workbook.xml"]
    assert old_xml and all(element in new_xml for element in old_xml)


def test_every_chart_survives(workbooks):
    before = _parts(workbooks.edited)
    charts = sorted(n for n in before if n.startswith("xl/charts/"))
    assert len(charts) >= 5
    for which in ("once", "twice"):
        after = _parts(getattr(workbooks, which))
        assert all(after[c] == before[c] for c in charts), which
        old = openpyxl.load_workbook(workbooks.edited)
        new = openpyxl.load_workbook(getattr(workbooks, which))
        for ws in old.worksheets:
            assert len(new[ws.title]._charts) == len(ws._charts), (which, ws.title)
        assert len(new["Risk"]._charts) == 2


def test_every_cell_of_the_other_sheets_is_unchanged(workbooks):
    old = openpyxl.load_workbook(workbooks.edited)
    new = openpyxl.load_workbook(workbooks.once)
    assert new.sheetnames == [*old.sheetnames, "Risk"]
    for ws in old.worksheets:
        other = new[ws.title]
        assert other.sheet_state == ws.sheet_state
        for row in ws.iter_rows():
            for c in row:
                twin = other[c.coordinate]
                assert (twin.value, twin.number_format) == (c.value, c.number_format), (
                    f"{ws.title}!{c.coordinate}"
                )


# --- what the Risk sheet shows --------------------------------------------------------


def test_risk_sheet_shows_seed_trials_and_a_timestamp(workbooks):
    ws = openpyxl.load_workbook(workbooks.once)["Risk"]
    note = ws["A2"].value
    assert f"{FIRST['trials']:,} trials" in note and f"seed {FIRST['seed']}" in note
    stamp = _stamp(note)
    assert workbooks.started.replace(second=0, microsecond=0) <= stamp <= workbooks.finished
    assert ws["A3"].value == example_spec("analytics_addon").meta.name


def test_risk_sheet_holds_the_engine_summary_for_the_workbook_inputs(workbooks):
    case = read_business_case(workbooks.edited)
    sim = risk.simulate(case.model, FIRST["trials"], FIRST["seed"], values=case.values)
    ws = openpyxl.load_workbook(workbooks.once, data_only=True)["Risk"]
    rows = {ws.cell(row=r, column=1).value: r for r in range(6, 9)}
    assert rows.keys() == {"NPV (EUR)", "eNPV (EUR)", "IRR"}
    for label, name in (("NPV (EUR)", "NPV"), ("eNPV (EUR)", "eNPV"), ("IRR", "IRR")):
        s = sim.summary(name)
        got = [ws.cell(row=rows[label], column=c).value for c in range(2, 8)]
        expected = [s["mean"], s["p10"], s["p50"], s["p90"], s["std"], s["prob_negative"]]
        assert got == pytest.approx(expected, rel=1e-12), label
    counts = [
        row[2]
        for row in ws.iter_rows(min_row=1, values_only=True)
        if isinstance(row[0], float) and isinstance(row[2], int)
    ]
    assert len(counts) == 30 and sum(counts) == FIRST["trials"]


def test_writing_twice_replaces_the_risk_sheet(workbooks):
    wb = openpyxl.load_workbook(workbooks.twice)
    assert wb.sheetnames.count("Risk") == 1
    assert wb.sheetnames == openpyxl.load_workbook(workbooks.once).sheetnames
    note = wb["Risk"]["A2"].value
    assert f"{SECOND['trials']:,} trials" in note and f"seed {SECOND['seed']}" in note
    assert set(_parts(workbooks.twice)) == set(_parts(workbooks.once))
    assert len(_risk_chart_parts(_parts(workbooks.twice))) == 2
    types = _parts(workbooks.twice)["[Content_Types].xml"].decode()
    overrides = re.findall(r'PartName="(/[^"]+)"', types)
    assert len(overrides) == len(set(overrides))


def test_libreoffice_opens_the_result_with_the_risk_values(workbooks):
    case = read_business_case(workbooks.edited)
    npv = evaluate(case.model, case.values).outputs["NPV"]
    for path, calc in (
        (workbooks.once, workbooks.calc_once),
        (workbooks.twice, workbooks.calc_twice),
    ):
        written = openpyxl.load_workbook(path, data_only=True)["Risk"]
        lo = read_values(calc)
        assert lo.sheetnames == openpyxl.load_workbook(path).sheetnames
        for r in range(6, 9):
            for c in range(2, 8):
                value = written.cell(row=r, column=c).value
                assert lo["Risk"].cell(row=r, column=c).value == pytest.approx(value, rel=1e-12)
        ((sheet, ref),) = list(lo.defined_names["Out_NPV"].destinations)
        assert lo[sheet][ref.replace("$", "")].value == pytest.approx(npv, rel=1e-9)
        with zipfile.ZipFile(calc) as z:
            charts = [n for n in z.namelist() if n.startswith("xl/charts/chart")]
        assert len(charts) == len([n for n in _parts(path) if n.startswith("xl/charts/chart")])


# --- bizcase simulate -----------------------------------------------------------------


@pytest.fixture(scope="module")
def priced_up(tmp_path_factory) -> Path:
    """A workbook whose In_Price a user changed from 240 to 275 (saved by openpyxl)."""
    path = write_business_case(
        example_spec("analytics_addon"), tmp_path_factory.mktemp("cli") / "case.xlsx"
    )
    wb = openpyxl.load_workbook(path)
    ((sheet, ref),) = list(wb.defined_names["In_Price"].destinations)
    wb[sheet][ref.replace("$", "")].value = 275.0
    wb.save(path)
    return path


def _summary_json(sim) -> dict:
    s = sim.summary()
    return {k: s[k] for k in ("mean", "p10", "p50", "p90", "prob_negative")}


def test_simulate_json_matches_the_engine_on_the_workbook_inputs(priced_up):
    result = run("simulate", priced_up, "--trials", 3_000, "--seed", 11, "--json")
    assert result.exit_code == 0, result.stderr
    printed = json.loads(result.stdout)
    case = read_business_case(priced_up)
    assert case.values["Price"] == 275.0
    expected = risk.simulate(case.model, 3_000, 11, values=case.values)
    assert (printed["trials"], printed["seed"]) == (3_000, 11)
    assert {k: printed[k] for k in _summary_json(expected)} == _summary_json(expected)
    spec_only = risk.simulate(case.model, 3_000, 11)
    assert printed["mean"] != pytest.approx(spec_only.summary()["mean"], rel=1e-3)


def test_simulate_defaults_to_the_spec_trials_and_seed(priced_up):
    result = run("simulate", priced_up, "--json")
    assert result.exit_code == 0, result.stderr
    printed = json.loads(result.stdout)
    mc = example_spec("analytics_addon").risk.monte_carlo
    assert (printed["trials"], printed["seed"]) == (mc.trials, mc.seed)
    case = read_business_case(priced_up)
    expected = risk.simulate(case.model, mc.trials, mc.seed, values=case.values)
    assert {k: printed[k] for k in _summary_json(expected)} == _summary_json(expected)


def test_simulate_seed_option_changes_the_numbers(priced_up):
    a = json.loads(run("simulate", priced_up, "--trials", 500, "--seed", 1, "--json").stdout)
    b = json.loads(run("simulate", priced_up, "--trials", 500, "--seed", 2, "--json").stdout)
    again = json.loads(run("simulate", priced_up, "--trials", 500, "--seed", 1, "--json").stdout)
    assert a == again
    assert a["mean"] != b["mean"]


def test_simulate_prints_a_human_summary_by_default(workbooks):
    assert "NPV over 2,000 trials (seed 5)" in workbooks.output
    assert "P(NPV < 0)" in workbooks.output


def test_simulate_shows_progress_on_a_terminal(priced_up):
    env = {**os.environ, "TTY_COMPATIBLE": "1", "TTY_INTERACTIVE": "1", "COLUMNS": "100"}
    script = "from addin.cli import main; main()"
    done = subprocess.run(
        [sys.executable, "-c", script, "simulate", str(priced_up), "--trials", "30000", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert done.returncode == 0, done.stderr
    assert "simulating" in done.stderr
    assert "30000/30000" in done.stderr
    assert json.loads(done.stdout)["trials"] == 30_000  # progress stays off stdout


def test_simulate_refuses_bad_trials_and_leaves_the_file_alone(tmp_path, priced_up):
    path = tmp_path / "case.xlsx"
    shutil.copyfile(priced_up, path)
    before = path.read_bytes()
    result = run("simulate", path, "--trials", 0, "--write")
    assert result.exit_code == 1
    assert result.stderr.strip().startswith("bizcase: trials: must be from 1")
    assert len(result.stderr.strip().splitlines()) == 1
    assert path.read_bytes() == before


def test_simulate_refuses_a_file_that_is_not_a_workbook(tmp_path):
    path = tmp_path / "notes.xlsx"
    path.write_text("not a workbook")
    result = run("simulate", path, "--write")
    assert result.exit_code == 1
    assert "notes.xlsx" in result.stderr and "not an Excel workbook" in result.stderr
    assert path.read_text() == "not a workbook"


# --- the portfolio ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def portfolio_folder(tmp_path_factory) -> Path:
    """Four cases, three of them in the Analytics product line."""
    folder = tmp_path_factory.mktemp("portfolio") / "cases"
    folder.mkdir()
    varied = varied_specs(6)
    specs = {
        "a_atlas": example_spec("analytics_addon"),
        "b_saas": example_spec("saas"),
        "c_integration": varied[0],
        "d_fjord": varied[5],
    }
    for stem, spec in specs.items():
        write_business_case(spec, folder / f"{stem}.xlsx")
    lines = [s.meta.product_line for s in specs.values()]
    assert lines.count("Analytics") == 3
    return folder


FX = ("--currency", "EUR", "--fx", "USD=0.92")  # saas is in USD, the others in EUR


def _expected_portfolio(folder: Path, trials: int, seed: int, correlation: float, target):
    """Each case's simulated NPVs, in EUR at USD 1 = EUR 0.92, combined."""
    npvs, lines = [], []
    for i, path in enumerate(sorted(folder.glob("*.xlsx"))):
        case = read_business_case(path)
        rate = 0.92 if case.model.spec.meta.currency == "USD" else 1.0
        npvs.append(rate * risk.simulate(case.model, trials, seed + i, values=case.values).npv)
        lines.append(case.model.spec.meta.product_line)
    return risk.simulate_portfolio(npvs, lines, correlation, seed, target)


def test_rollup_risk_sheet_holds_the_portfolio_simulation(tmp_path, portfolio_folder):
    untargeted = _expected_portfolio(portfolio_folder, 2_000, 3, 0.5, None)
    target = float(np.round(np.percentile(untargeted.total, 35), -3))
    expected = _expected_portfolio(portfolio_folder, 2_000, 3, 0.5, target)
    out = tmp_path / "P.xlsx"
    result = run(
        "rollup",
        portfolio_folder,
        "--simulate",
        2_000,
        "--seed",
        3,
        "--correlation",
        0.5,
        "--target",
        target,
        "-o",
        out,
        "--json",
        *FX,
    )
    assert result.exit_code == 0, result.stderr
    summary = expected.summary()
    share_below = float(np.mean(expected.total < target))
    assert summary["prob_below_target"] == share_below
    assert 0.2 < share_below < 0.5  # the target sits inside the distribution
    wb = openpyxl.load_workbook(out, data_only=True)
    named = {
        "Port_NPV_Mean": summary["mean"],
        "Port_NPV_P10": summary["p10"],
        "Port_NPV_P50": summary["p50"],
        "Port_NPV_P90": summary["p90"],
        "Port_ProbNegative": summary["prob_negative"],
        "Port_ProbMissTarget": share_below,
    }
    for name, value in named.items():
        ((sheet, ref),) = list(wb.defined_names[name].destinations)
        assert sheet == "Risk", name
        assert wb[sheet][ref.replace("$", "")].value == pytest.approx(value, rel=1e-12), name
    printed = json.loads(result.stdout)["simulation"]
    assert printed == pytest.approx(summary, rel=1e-12)


def test_rollup_correlation_changes_the_spread_not_the_mean(tmp_path, portfolio_folder):
    independent = _expected_portfolio(portfolio_folder, 2_000, 3, 0.0, None)
    correlated = _expected_portfolio(portfolio_folder, 2_000, 3, 0.5, None)
    assert correlated.total.mean() == pytest.approx(independent.total.mean(), rel=1e-12)
    assert correlated.total.std() > independent.total.std()
    result = run(
        "rollup",
        portfolio_folder,
        "--simulate",
        2_000,
        "--seed",
        3,
        "-o",
        tmp_path / "P.xlsx",
        "--json",
        *FX,
    )
    assert result.exit_code == 0, result.stderr
    printed = json.loads(result.stdout)["simulation"]
    assert printed["p90"] == pytest.approx(independent.summary()["p90"], rel=1e-12)
    assert "prob_below_target" not in printed
    assert "Port_ProbMissTarget" not in openpyxl.load_workbook(tmp_path / "P.xlsx").defined_names
