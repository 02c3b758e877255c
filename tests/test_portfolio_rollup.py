"""Rolling a folder of business-case workbooks up (:mod:`workbooks.rollup`,
:mod:`workbooks.reader`, ``bizcase rollup``).

The folder holds the four shipped examples (``bizcase new --all-examples``),
six generated cases (:func:`workbooks.examples.generated.varied_specs`) and four
files that must not stop the rollup: a truncated workbook, a text file, a
password-protected workbook (an OLE compound file, which is how Excel stores an
encrypted .xlsx) and a workbook from another template. The good ones are
evaluated independently here (openpyxl reader + engine) and their lines summed
by calendar year by hand, so the rollup is compared with the sum of its parts.

One LibreOffice call recalculates two generated workbooks, giving them cached
values as Excel would; an input of one of them is then changed in the file's
XML without recalculating, so its cached outputs are stale, as after a hand
override, and the rollup must flag it (and only it).
"""

from __future__ import annotations

import math
import re
import shutil
import zipfile
from collections import defaultdict
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
import openpyxl
import pytest
from libreoffice import recalculate
from typer.testing import CliRunner

from addin.cli import app
from udfs.model import evaluate
from udfs.portfolio import Settings, align, plan, totals_by_year
from workbooks.business_case import write_business_case
from workbooks.examples import EXAMPLES
from workbooks.examples.generated import varied_specs
from workbooks.reader import OpenpyxlSource, read_business_case, read_case
from workbooks.rollup import read_cases, workbook_paths

RTOL = 1e-9
MEASURES = ("revenue", "ebitda", "capital", "fcf")
OLE_SIGNATURE = bytes.fromhex("D0CF11E0A1B11AE1")
BAD_FILES = ("corrupt.xlsx", "notes.txt", "protected.xlsx", "other_template.xlsx")
# The reason each bad file must be given (as a user would need it to act).
REASONS = {
    "corrupt.xlsx": r"damaged|corrupt|truncated",
    "notes.txt": r"not an Excel workbook",
    "protected.xlsx": r"password-protected",
    "other_template.xlsx": r"not a bizcase workbook \(no In_Scenario name\)",
}


FX = ("--currency", "EUR", "--fx", "USD=0.92")  # the examples are in EUR and USD


def run(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    cases = tmp_path_factory.mktemp("rollup") / "cases"
    result = run("new", "--all-examples", "-o", cases)
    assert result.exit_code == 0, result.stderr
    for spec in varied_specs(6):
        write_business_case(spec, cases / f"{spec.meta.id}.xlsx")
    whole = (cases / "saas.xlsx").read_bytes()
    (cases / "corrupt.xlsx").write_bytes(whole[: len(whole) // 2])
    (cases / "notes.txt").write_text("Q3 portfolio review: bring the cases.\n")
    (cases / "protected.xlsx").write_bytes(OLE_SIGNATURE + bytes(range(256)) * 16)
    other = openpyxl.Workbook()
    other.active["A1"] = "Budget 2027"
    other.active["B1"] = 1_000_000
    other.save(cases / "other_template.xlsx")
    return cases


@pytest.fixture(scope="module")
def good_files(folder) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.name not in BAD_FILES)


@pytest.fixture(scope="module")
def rolled(folder):
    return read_cases(workbook_paths([folder]).paths)


@pytest.fixture(scope="module")
def engine(good_files) -> dict[str, tuple]:
    """Each good workbook read on its own, then evaluated by the engine."""
    out = {}
    for path in good_files:
        case_file = read_business_case(path)
        out[path.name] = (case_file, evaluate(case_file.model, case_file.values))
    return out


def test_folder_holds_the_examples_generated_cases_and_bad_files(folder, good_files):
    names = {p.name for p in folder.iterdir()}
    assert {f"{name}.xlsx" for name in EXAMPLES} <= names
    assert {f"case-{i:02d}.xlsx" for i in range(1, 7)} <= names
    assert set(BAD_FILES) <= names
    assert len(good_files) == 10


# --- good files roll up, bad ones become exceptions with their reasons ---------------


def test_good_workbooks_roll_up(rolled, good_files):
    assert sorted(rolled.files) == good_files
    assert len(rolled.cases) == 10
    assert rolled.overrides == []  # freshly generated files carry no cached values


def test_exactly_the_bad_files_are_exceptions(rolled, folder):
    assert sorted(p.name for p, _ in rolled.exceptions) == sorted(BAD_FILES)


def _what(path, reason: str) -> str:
    """The reason without the file's path (which itself may read "corrupt")."""
    assert str(path) in reason, reason
    return reason.replace(str(path), "")


@pytest.mark.parametrize("name", BAD_FILES)
def test_exception_reason_names_the_file_and_says_what_is_wrong(rolled, name):
    """A truncated .xlsx needs restoring from a copy, a text file removing: each
    reason must say which, not just "not an Excel workbook" for both."""
    path, reason = next((p, r) for p, r in rolled.exceptions if p.name == name)
    assert re.search(REASONS[name], _what(path, reason)), reason


def test_cli_rollup_with_exceptions_exits_3_and_still_writes_the_workbook(folder, rolled, tmp_path):
    output = tmp_path / "portfolio.xlsx"
    result = run("rollup", folder, "-o", output, *FX)
    assert result.exit_code == 3, (result.stdout, result.stderr)
    assert output.is_file()
    assert "10 cases" in result.stdout
    skipped = [line for line in result.stderr.splitlines() if line.startswith("bizcase: skipped")]
    assert len(skipped) == 4, result.stderr
    for name in BAD_FILES:
        assert any(name in line for line in skipped), (name, result.stderr)

    sheet = openpyxl.load_workbook(output)["Exceptions"]
    listed = {}
    for file, reason in sheet.iter_rows(min_row=3, max_col=2, values_only=True):
        if file is None:
            break
        assert Path(file).parent == folder, file
        listed[Path(file).name] = reason
    assert sorted(listed) == sorted(BAD_FILES)
    assert listed == {p.name: reason for p, reason in rolled.exceptions}


def test_cli_rollup_of_only_good_files_exits_0(good_files, tmp_path):
    result = run("rollup", *good_files, "-o", tmp_path / "portfolio.xlsx", *FX)
    assert result.exit_code == 0, result.stderr


# --- the rollup equals the sum of the cases' engine results ---------------------------


def _by_year(lines: dict, name: str, sign: float = 1.0) -> dict[int, float]:
    out: dict[int, float] = defaultdict(float)
    for year, value in zip(lines["year"], lines[name], strict=True):
        out[int(year)] += sign * float(value)
    return out


def _expected_totals(engine) -> dict[str, dict[int, float]]:
    """Revenue, EBITDA, capital (development + capex, as positive amounts) and
    incremental FCF by calendar year, summed over every case's periods."""
    totals: dict[str, dict[int, float]] = {m: defaultdict(float) for m in MEASURES}
    for _, ev in engine.values():
        parts = {
            "revenue": [_by_year(ev.lines, "revenue")],
            "ebitda": [_by_year(ev.lines, "ebitda")],
            "capital": [
                _by_year(ev.lines, "development", -1.0),
                _by_year(ev.lines, "capex", -1.0),
            ],
            "fcf": [_by_year(ev.lines, "incremental_fcf")],
        }
        for measure, series in parts.items():
            for by_year in series:
                for year, value in by_year.items():
                    totals[measure][year] += value
    return totals


#: The plan converts into EUR at USD 1 = EUR 0.92; the expected sums below weight each
#: case's own result by the same rate.
IN_EUR = Settings(currency="EUR", rates={"USD": 0.92}, frontier_points=0)


def _in_eur(case_file) -> float:
    return IN_EUR.rates.get(case_file.model.spec.meta.currency, 1.0)


def test_rollup_npv_and_enpv_are_the_sums_of_the_cases(rolled, engine):
    totals = plan(rolled.cases, IN_EUR).headlines()
    assert totals["Cases"] == 10
    npv = math.fsum(ev.outputs["NPV"] * _in_eur(f) for f, ev in engine.values())
    enpv = math.fsum(ev.outputs["eNPV"] * _in_eur(f) for f, ev in engine.values())
    assert totals["NPV"] == pytest.approx(npv, rel=RTOL)
    assert totals["eNPV"] == pytest.approx(enpv, rel=RTOL)
    assert totals["eNPV"] != pytest.approx(totals["NPV"], rel=1e-3)  # some cases carry risk


def test_rollup_capital_is_the_sum_of_development_and_capex(rolled, engine):
    capital = math.fsum(
        -(np.sum(ev.lines["development"]) + np.sum(ev.lines["capex"])) * _in_eur(f)
        for f, ev in engine.values()
    )
    assert capital > 0
    totals = plan(rolled.cases, IN_EUR).headlines()
    assert totals["Capital"] == pytest.approx(capital, rel=RTOL)


def test_each_case_carries_its_own_engine_results(rolled, engine):
    by_file = dict(zip((p.name for p in rolled.files), rolled.cases, strict=True))
    for name, (case_file, ev) in engine.items():
        case = by_file[name]
        assert case.npv == pytest.approx(ev.outputs["NPV"], rel=RTOL), name
        assert case.enpv == pytest.approx(ev.outputs["eNPV"], rel=RTOL), name
        assert case.discount_rate == case_file.values["DiscountRate"], name


def test_totals_by_year_are_the_sums_of_the_case_lines_by_calendar_year(rolled, engine):
    expected = _expected_totals(engine)
    got = totals_by_year(align(rolled.cases))
    years = sorted(set().union(*(set(v) for v in expected.values())))
    assert got.index.tolist() == list(range(years[0], years[-1] + 1))
    for measure in MEASURES:
        for year in got.index:
            want = expected[measure].get(int(year), 0.0)
            assert got.loc[year, measure] == pytest.approx(want, rel=RTOL, abs=1e-6), (
                measure,
                year,
            )


def test_quarterly_cases_are_summed_into_calendar_years(engine, rolled):
    """Guards the comparison above: at least one case has quarters, so periods and
    years differ and a per-period sum would not equal a per-year one."""
    quarterly = [n for n, (cf, _) in engine.items() if cf.model.spec.meta.periods == "quarterly"]
    assert quarterly
    starts = {int(c.years[0]) for c in rolled.cases}
    assert len(starts) > 1  # cases start in different years: alignment matters


# --- the fast reader reads what openpyxl reads -------------------------------------------


def _assert_same_inputs(fast: dict, slow: dict, where: str) -> None:
    assert fast.keys() == slow.keys(), where
    for name, value in slow.items():
        if isinstance(value, np.ndarray):
            assert isinstance(fast[name], np.ndarray), (where, name)
            assert fast[name].tolist() == value.tolist(), (where, name)
        else:
            assert type(fast[name]) is type(value), (where, name, fast[name], value)
            assert fast[name] == value, (where, name)


def _through_openpyxl(path: Path):
    return read_case(OpenpyxlSource(openpyxl.load_workbook(path, data_only=True)), str(path))


def test_calamine_adapter_reads_what_the_openpyxl_adapter_reads(engine, good_files):
    for path in good_files:
        fast = engine[path.name][0]
        slow = _through_openpyxl(path)
        _assert_same_inputs(fast.values, slow.values, path.name)
        assert fast.scenario == slow.scenario
        assert fast.template_version == slow.template_version
        assert fast.model.spec == slow.model.spec


# --- cached values that disagree with the engine are flagged ---------------------------


def _sheet_xml(archive: zipfile.ZipFile, sheet: str) -> str:
    ns = {
        "m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
        "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    }
    book = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    rid = next(
        s.get(f"{{{ns['r']}}}id")
        for s in book.iter(f"{{{ns['m']}}}sheet")
        if s.get("name") == sheet
    )
    rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    target = next(r.get("Target") for r in rels if r.get("Id") == rid)
    return target.lstrip("/") if target.startswith("/xl/") else f"xl/{target}"


def _defined_name(archive: zipfile.ZipFile, name: str) -> tuple[str, str]:
    text = archive.read("xl/workbook.xml").decode()
    ref = re.search(rf'<definedName[^>]*name="{name}"[^>]*>([^<]+)<', text)[1]
    sheet, cell = ref.replace("$", "").split("!")
    return sheet.strip("'"), cell


def _cached_value(path: Path, name: str) -> float:
    with zipfile.ZipFile(path) as archive:
        sheet, cell = _defined_name(archive, name)
        xml = archive.read(_sheet_xml(archive, sheet)).decode()
    return float(re.search(rf'<c r="{cell}"[^>]*>(?:<f[^>]*>[^<]*</f>)?<v>([^<]*)</v>', xml)[1])


def _overwrite_input_without_recalculating(path: Path, name: str, value: float) -> None:
    """Change the number an input cell holds, straight in the sheet XML, leaving every
    cached formula result as it was (openpyxl would drop them all on saving)."""
    with zipfile.ZipFile(path) as archive:
        sheet, cell = _defined_name(archive, name)
        member = _sheet_xml(archive, sheet)
        parts = {info: archive.read(info.filename) for info in archive.infolist()}
    edited = {}
    for info, data in parts.items():
        if info.filename == member:
            xml, count = re.subn(
                rf'(<c r="{cell}"[^>]*>)<v>[^<]*</v>', rf"\g<1><v>{value!r}</v>", data.decode()
            )
            assert count == 1, f"{name} at {sheet}!{cell} not found as a plain value"
            data = xml.encode()
        edited[info] = data
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for info, data in edited.items():
            archive.writestr(info, data)


@pytest.fixture(scope="module")
def recalculated(tmp_path_factory, soffice) -> dict[str, Path]:
    """Two generated workbooks with values cached by LibreOffice; the second then has
    its discount rate changed without recalculating."""
    root = tmp_path_factory.mktemp("cached")
    specs = varied_specs(2, seed=11)
    sources = [write_business_case(s, root / f"{s.meta.id}.xlsx") for s in specs]
    fresh, stale = recalculate(sources, root / "lo", soffice=soffice)
    kept = shutil.copy(stale, root / "stale-original.xlsx")
    rate = read_business_case(stale).values["DiscountRate"]
    _overwrite_input_without_recalculating(stale, "In_DiscountRate", round(rate + 0.05, 6))
    return {"fresh": fresh, "stale": stale, "original": Path(kept)}


def test_recalculated_workbook_carries_cached_outputs_that_match_the_engine(recalculated):
    cached = read_business_case(recalculated["fresh"]).cached
    assert {"NPV", "eNPV", "ROI", "PI"} <= cached.keys()
    rolled = read_cases([recalculated["fresh"]])
    assert rolled.exceptions == []
    assert rolled.overrides == []


def test_stale_cached_output_is_flagged_as_an_override(recalculated):
    stale = recalculated["stale"]
    rolled = read_cases([recalculated["fresh"], stale])
    assert rolled.exceptions == []
    assert len(rolled.cases) == 2
    flagged = {name: (cached, engine) for path, name, cached, engine in rolled.overrides}
    assert {path for path, *_ in rolled.overrides} == {stale}
    assert "Out_NPV" in flagged
    cached, engine_npv = flagged["Out_NPV"]
    # the file still shows the NPV at the old rate; the engine's is at the new one
    before = read_business_case(recalculated["original"])
    now = read_business_case(stale)
    assert now.values["DiscountRate"] == pytest.approx(before.values["DiscountRate"] + 0.05)
    assert cached == _cached_value(stale, "Out_NPV")
    assert cached == pytest.approx(evaluate(before.model, before.values).outputs["NPV"], rel=RTOL)
    assert engine_npv == pytest.approx(evaluate(now.model, now.values).outputs["NPV"], rel=RTOL)
    assert abs(cached - engine_npv) > 1e-3 * abs(engine_npv)
    # the rolled-up case uses the engine's value, not the stale one
    case = next(c for c in rolled.cases if c.id == now.model.spec.meta.id)
    assert case.npv == engine_npv


def test_reader_reads_libreoffice_saved_workbooks_like_openpyxl(recalculated):
    for key in ("fresh", "stale"):
        fast = read_business_case(recalculated[key])
        slow = _through_openpyxl(recalculated[key])
        _assert_same_inputs(fast.values, slow.values, key)


def test_cli_rollup_reports_the_override_on_stderr(recalculated, tmp_path):
    result = run("rollup", recalculated["fresh"], recalculated["stale"], "-o", tmp_path / "p.xlsx")
    assert result.exit_code == 0, result.stderr
    assert re.search(r"Out_NPV in the file is .* but the inputs give", result.stderr)
    sheet = openpyxl.load_workbook(tmp_path / "p.xlsx")["Exceptions"]
    rows = [r for r in sheet.iter_rows(values_only=True) if r[1] == "Out_NPV"]
    assert len(rows) == 1 and Path(rows[0][0]).name == recalculated["stale"].name
