"""``bizcase new`` and ``bizcase evaluate``: workbooks from specs, the engine's
outputs for a workbook's inputs, and failures a script can rely on (non-zero
exit, one line on stderr naming the file, no file written).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from addin.cli import app
from udfs.model import build_model, evaluate
from udfs.spec import load_spec, parse_spec
from workbooks.examples import EXAMPLES, example_path, example_spec
from workbooks.reader import read_business_case

NEVER_PAYS_BACK = {
    "meta": {"name": "Never pays back", "start_year": 2027, "horizon": 5},
    "market": {"tam": 1000, "target_share": 0.1, "years_to_target": 1},
    "pricing": {"price": 0.01},
    "costs": {"fixed": [{"name": "Team", "amount": 100000}]},
    "investment": {"development": [500000]},
    "finance": {"discount_rate": 0.1},
}


def run(*args: str):
    return CliRunner().invoke(app, [str(a) for a in args])


def _strict_json(text: str) -> dict:
    """JSON as a script reads it: NaN and Infinity are not JSON."""

    def refuse(token):
        raise AssertionError(f"not JSON: {token}")

    return json.loads(text, parse_constant=refuse)


def _lines(stdout: str) -> list[dict]:
    """What `evaluate --json` printed: one JSON object per line, one line per file."""
    return [_strict_json(line) for line in stdout.splitlines()]


def _one_file(stdout: str, path) -> dict:
    """What `evaluate --json` printed for one file: a single object of its outputs."""
    (printed,) = _lines(stdout)
    assert _strict_json(stdout) == printed  # the whole output is that one JSON object
    return printed


def _as_json(outputs: dict[str, float]) -> dict:
    """The engine's outputs as `evaluate --json` should print them."""
    return {k: (v if math.isfinite(v) else None) for k, v in outputs.items()}


def _assert_same_outputs(printed: dict, expected: dict) -> None:
    assert printed.keys() == expected.keys()
    for key, value in expected.items():
        if value is None:
            assert printed[key] is None, key
        else:
            assert printed[key] == pytest.approx(value, rel=1e-12, abs=1e-9), key


def _out_names(path: Path) -> set[str]:
    wb = openpyxl.load_workbook(path)
    return {name.removeprefix("Out_") for name in wb.defined_names if name.startswith("Out_")}


def _input_cell(wb, name: str):
    ((sheet, ref),) = list(wb.defined_names[name].destinations)
    return wb[sheet][ref.replace("$", "")]


def _write_json_spec(path: Path, data: dict) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def examples_folder(tmp_path_factory) -> Path:
    """Every example, generated once by `bizcase new --all-examples`; read only."""
    folder = tmp_path_factory.mktemp("cli") / "demo"
    result = run("new", "--all-examples", "-o", folder)
    assert result.exit_code == 0, result.stderr
    return folder


@pytest.fixture
def atlas(tmp_path, examples_folder) -> Path:
    """A private copy of the documented example's workbook, free to edit."""
    path = tmp_path / "atlas.xlsx"
    shutil.copyfile(examples_folder / "analytics_addon.xlsx", path)
    return path


# --- bizcase new ----------------------------------------------------------------------


def test_new_writes_a_workbook_carrying_the_spec(tmp_path):
    out = tmp_path / "case.xlsx"
    result = run("new", example_path("analytics_addon"), "-o", out)
    assert result.exit_code == 0, result.stderr
    assert str(out) in result.stdout
    case = read_business_case(out)
    assert case.model.spec == example_spec("analytics_addon")
    assert case.scenario == "Base"


def test_new_accepts_a_json_spec(tmp_path):
    spec = _write_json_spec(tmp_path / "never.json", NEVER_PAYS_BACK)
    out = tmp_path / "never.xlsx"
    result = run("new", spec, "-o", out)
    assert result.exit_code == 0, result.stderr
    assert read_business_case(out).model.spec == parse_spec(NEVER_PAYS_BACK)


def test_new_creates_the_output_folder(tmp_path):
    out = tmp_path / "deep" / "er" / "case.xlsx"
    result = run("new", example_path("sunset"), "-o", out)
    assert result.exit_code == 0, result.stderr
    assert out.is_file()


def test_new_writes_a_file_with_ordinary_permissions(tmp_path):
    # A workbook sent to colleagues must be readable like any file the user
    # creates: mode 0666 less the umask, not the 0600 of a private temp file.
    umask = os.umask(0)
    os.umask(umask)
    out = tmp_path / "case.xlsx"
    assert run("new", example_path("analytics_addon"), "-o", out).exit_code == 0
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask


def test_new_with_an_invalid_spec_prints_every_problem_and_writes_nothing(tmp_path):
    text = example_path("analytics_addon").read_text(encoding="utf-8")
    for old, new in (
        ("discount_rate = 0.10", "discount_rate = 1.5"),
        ("tax_rate = 0.25", "tax_rate = -0.1"),
        ("horizon = 7 ", "horizon = 20 "),
    ):
        assert old in text
        text = text.replace(old, new)
    spec = tmp_path / "bad.toml"
    spec.write_text(text, encoding="utf-8")
    out = tmp_path / "bad.xlsx"
    result = run("new", spec, "-o", out)
    assert result.exit_code != 0
    problem_lines = [line for line in result.stderr.splitlines() if line.startswith("  - ")]
    assert len(problem_lines) == 3, result.stderr
    for field, value in (
        ("finance.discount_rate", "1.5"),
        ("finance.tax_rate", "-0.1"),
        ("meta.horizon", "20"),
    ):
        assert any(field in line and value in line for line in problem_lines), field
    assert "no file written" in result.stderr
    assert result.stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.toml"]  # no file, no temp file


def test_new_with_an_inconsistent_spec_writes_nothing(tmp_path):
    data = json.loads(json.dumps(NEVER_PAYS_BACK))
    data["investment"]["capex"] = [1.0] * 9
    spec = _write_json_spec(tmp_path / "bad.json", data)
    result = run("new", spec, "-o", tmp_path / "bad.xlsx")
    assert result.exit_code != 0
    assert "investment.capex" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.json"]


def test_new_with_a_missing_spec_fails_naming_it(tmp_path):
    result = run("new", tmp_path / "nowhere.toml", "-o", tmp_path / "x.xlsx")
    assert result.exit_code != 0
    assert "nowhere.toml" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_new_does_not_overwrite_an_existing_file_without_force(tmp_path):
    out = tmp_path / "case.xlsx"
    out.write_bytes(b"precious work")
    result = run("new", example_path("analytics_addon"), "-o", out)
    assert result.exit_code != 0
    assert "--force" in result.stderr and str(out) in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert out.read_bytes() == b"precious work"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["case.xlsx"]


def test_new_with_force_overwrites_an_existing_file(tmp_path):
    out = tmp_path / "case.xlsx"
    out.write_bytes(b"precious work")
    result = run("new", example_path("analytics_addon"), "-o", out, "--force")
    assert result.exit_code == 0, result.stderr
    assert read_business_case(out).model.spec == example_spec("analytics_addon")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["case.xlsx"]


def test_new_with_force_and_an_invalid_spec_keeps_the_existing_file(tmp_path):
    data = json.loads(json.dumps(NEVER_PAYS_BACK))
    data["finance"]["discount_rate"] = 1.5
    spec = _write_json_spec(tmp_path / "bad.json", data)
    out = tmp_path / "case.xlsx"
    out.write_bytes(b"precious work")
    result = run("new", spec, "-o", out, "--force")
    assert result.exit_code != 0
    assert out.read_bytes() == b"precious work"


def test_new_refuses_an_output_that_is_not_xlsx(tmp_path):
    result = run("new", example_path("analytics_addon"), "-o", tmp_path / "case.txt")
    assert result.exit_code != 0
    assert "case.txt" in result.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_new_example_writes_that_example(tmp_path, name):
    out = tmp_path / f"{name}.xlsx"
    result = run("new", "--example", name, "-o", out)
    assert result.exit_code == 0, result.stderr
    assert read_business_case(out).model.spec == example_spec(name)


def test_new_bare_example_flag_writes_the_documented_example(tmp_path):
    # The issue's own command line: `bizcase new --example -o FILE.xlsx`.
    out = tmp_path / "example.xlsx"
    result = run("new", "--example", "-o", out)
    assert result.exit_code == 0, result.stderr
    assert read_business_case(out).model.spec == example_spec("analytics_addon")


def test_new_unknown_example_fails_listing_the_choices(tmp_path):
    result = run("new", "--example", "nonesuch", "-o", tmp_path / "x.xlsx")
    assert result.exit_code != 0
    assert "nonesuch" in result.stderr
    assert all(name in result.stderr for name in EXAMPLES)
    assert list(tmp_path.iterdir()) == []


def test_new_refuses_both_a_spec_and_an_example(tmp_path):
    result = run("new", example_path("sunset"), "--example", "saas", "-o", tmp_path / "x.xlsx")
    assert result.exit_code != 0
    assert list(tmp_path.iterdir()) == []


def test_new_all_examples_writes_one_workbook_per_example(examples_folder):
    folder = examples_folder
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"{n}.xlsx" for n in EXAMPLES)
    for name in EXAMPLES:
        assert read_business_case(folder / f"{name}.xlsx").model.spec == example_spec(name)


# --- bizcase evaluate ---------------------------------------------------------------------


def test_evaluate_json_keys_are_the_out_names_without_the_prefix(atlas):
    result = run("evaluate", atlas, "--json")
    assert result.exit_code == 0, result.stderr
    printed = _one_file(result.stdout, atlas)
    assert set(printed) == _out_names(atlas)
    assert all(isinstance(v, float) for v in printed.values()), printed


def test_evaluate_json_equals_the_engine_for_the_spec(atlas):
    printed = _one_file(run("evaluate", atlas, "--json").stdout, atlas)
    engine = evaluate(build_model(example_spec("analytics_addon"))).outputs
    _assert_same_outputs(printed, _as_json(engine))


def test_evaluate_json_prints_null_for_results_that_do_not_exist(tmp_path):
    spec = _write_json_spec(tmp_path / "never.json", NEVER_PAYS_BACK)
    out = tmp_path / "never.xlsx"
    assert run("new", spec, "-o", out).exit_code == 0
    result = run("evaluate", out, "--json")
    assert result.exit_code == 0, result.stderr
    printed = _one_file(result.stdout, out)
    for key in ("Payback", "DiscountedPayback", "IRR", "BreakEvenYear"):
        assert printed[key] is None, key
    assert printed["NPV"] < 0 and printed["PeakFunding"] > 0
    _assert_same_outputs(printed, _as_json(evaluate(build_model(load_spec(spec))).outputs))


def test_evaluate_scenario_option_changes_the_result_to_the_engines(atlas):
    base = _one_file(run("evaluate", atlas, "--json").stdout, atlas)
    result = run("evaluate", atlas, "--json", "--scenario", "Low")
    assert result.exit_code == 0, result.stderr
    low = _one_file(result.stdout, atlas)
    assert low["NPV"] != pytest.approx(base["NPV"], rel=1e-6)
    engine = evaluate(build_model(example_spec("analytics_addon")), scenario="Low").outputs
    _assert_same_outputs(low, _as_json(engine))


def test_evaluate_unknown_scenario_fails_naming_the_choices(atlas):
    result = run("evaluate", atlas, "--json", "--scenario", "Medium")
    assert result.exit_code != 0
    assert "Medium" in result.stderr and "Low" in result.stderr and "High" in result.stderr
    assert result.stdout == ""


def test_evaluate_follows_the_scenario_selected_in_the_workbook(atlas):
    wb = openpyxl.load_workbook(atlas)
    _input_cell(wb, "In_Scenario").value = "High"
    wb.save(atlas)
    printed = _one_file(run("evaluate", atlas, "--json").stdout, atlas)
    engine = evaluate(build_model(example_spec("analytics_addon")), scenario="High").outputs
    _assert_same_outputs(printed, _as_json(engine))


def test_evaluate_reads_an_input_the_user_edited(atlas):
    before = _one_file(run("evaluate", atlas, "--json").stdout, atlas)
    wb = openpyxl.load_workbook(atlas)
    cell = _input_cell(wb, "In_Price")
    assert cell.value == 240
    cell.value = 300
    wb.save(atlas)
    result = run("evaluate", atlas, "--json")
    assert result.exit_code == 0, result.stderr
    after = _one_file(result.stdout, atlas)
    assert after["NPV"] != pytest.approx(before["NPV"], rel=1e-6)
    engine = evaluate(build_model(example_spec("analytics_addon")), {"Price": 300.0}).outputs
    _assert_same_outputs(after, _as_json(engine))


def test_evaluate_reads_an_edited_series_input(atlas):
    wb = openpyxl.load_workbook(atlas)
    ((sheet, ref),) = list(wb.defined_names["In_Capex"].destinations)
    cells = [c for row in wb[sheet][ref.replace("$", "")] for c in row]
    cells[2].value = 400000
    wb.save(atlas)
    model = build_model(example_spec("analytics_addon"))
    capex = [float(c.value or 0.0) for c in cells]
    engine = evaluate(model, {"Capex": capex}).outputs
    printed = _one_file(run("evaluate", atlas, "--json").stdout, atlas)
    _assert_same_outputs(printed, _as_json(engine))


def test_evaluate_several_files_prints_a_line_per_file_in_the_order_given(examples_folder):
    files = sorted(examples_folder.iterdir())
    printed = _lines(run("evaluate", *files, "--json").stdout)
    assert len(printed) == len(files)
    for path, line in zip(files, printed, strict=True):
        model = read_business_case(path).model
        _assert_same_outputs(line, _as_json(evaluate(model).outputs))


def test_evaluate_prints_a_table_by_default(atlas):
    result = run("evaluate", atlas)
    assert result.exit_code == 0, result.stderr
    assert "Atlas analytics add-on" in result.stdout
    assert "Base" in result.stdout


def _not_a_workbook(folder: Path) -> Path:
    path = folder / "notes.xlsx"
    path.write_text("quarterly notes, not a workbook", encoding="utf-8")
    return path


def _corrupt_zip(folder: Path, source: Path) -> Path:
    data = bytearray(source.read_bytes())
    data[2000:6000] = bytes(4000)  # damage the members, keep the central directory
    path = folder / "corrupt.xlsx"
    path.write_bytes(bytes(data))
    return path


def _truncated(folder: Path, source: Path) -> Path:
    data = source.read_bytes()
    path = folder / "truncated.xlsx"
    path.write_bytes(data[: len(data) // 2])
    return path


def _plain_workbook(folder: Path) -> Path:
    path = folder / "plain.xlsx"
    wb = openpyxl.Workbook()
    wb.active["A1"] = "Revenue"
    wb.save(path)
    return path


def _missing(folder: Path) -> Path:
    return folder / "missing.xlsx"


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda folder, _: _not_a_workbook(folder), "not an Excel workbook"),
        (_corrupt_zip, "damaged workbook"),
        (_truncated, "damaged workbook"),
        (lambda folder, _: _plain_workbook(folder), "In_Scenario"),
        (lambda folder, _: _missing(folder), "no such file"),
    ],
    ids=["not-a-workbook", "corrupt-zip", "truncated-zip", "no-In_Scenario", "missing"],
)
def test_evaluate_unusable_file_fails_with_one_line_naming_it(tmp_path, atlas, make, reason):
    folder = tmp_path / "bad"
    folder.mkdir()
    path = make(folder, atlas)
    result = run("evaluate", path, "--json")
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert str(path) in lines[0] and reason in lines[0]
    assert "Traceback" not in result.stderr
    assert _one_file(result.stdout, path) == {"error": lines[0].removeprefix("bizcase: ")}


def test_evaluate_reports_every_bad_file_and_still_evaluates_the_rest(tmp_path, atlas):
    notes, missing = _not_a_workbook(tmp_path), _missing(tmp_path)
    result = run("evaluate", notes, atlas, missing, "--json")
    assert result.exit_code == 1
    first, second, third = _lines(result.stdout)  # in the order given
    assert "not an Excel workbook" in first["error"] and str(notes) in first["error"]
    assert "no such file" in third["error"] and str(missing) in third["error"]
    engine = evaluate(build_model(example_spec("analytics_addon"))).outputs
    _assert_same_outputs(second, _as_json(engine))
    lines = _failures(result.stderr)
    assert len(lines) == 2 and str(notes) in lines[0] and str(missing) in lines[1]


def _failures(stderr: str) -> list[str]:
    """stderr's lines less the warnings about good files (the atlas example's terminal
    value is above its 75% limit share of NPV, and says so)."""
    return [line for line in stderr.strip().splitlines() if "terminal value is" not in line]


def test_evaluate_table_shows_the_good_files_and_names_the_bad_ones(tmp_path, atlas):
    result = run("evaluate", atlas, _missing(tmp_path))
    assert result.exit_code == 1
    assert "Atlas analytics add-on" in result.stdout
    (line,) = _failures(result.stderr)
    assert "missing.xlsx" in line and "no such file" in line


def test_evaluate_workbook_with_a_non_numeric_input_fails_naming_the_cell(atlas):
    wb = openpyxl.load_workbook(atlas)
    cell = _input_cell(wb, "In_Price")
    cell.value = "two hundred"
    wb.save(atlas)
    result = run("evaluate", atlas, "--json")
    assert result.exit_code == 1
    (line,) = result.stderr.strip().splitlines()
    assert str(atlas) in line and "In_Price" in line and f"Inputs!{cell.coordinate}" in line


# --- the installed console script -------------------------------------------------------


def test_installed_bizcase_script_generates_and_evaluates(tmp_path):
    script = Path(sys.executable).with_name("bizcase")
    assert script.is_file(), f"console script not installed at {script}; pip install -e ."
    out = tmp_path / "saas.xlsx"
    made = subprocess.run(
        [script, "new", "--example", "saas", "-o", out], capture_output=True, text=True, timeout=120
    )
    assert made.returncode == 0, made.stderr
    evaluated = subprocess.run(
        [script, "evaluate", out, "--json"], capture_output=True, text=True, timeout=120
    )
    assert evaluated.returncode == 0, evaluated.stderr
    printed = _one_file(evaluated.stdout, out)
    _assert_same_outputs(printed, _as_json(evaluate(build_model(example_spec("saas"))).outputs))
    failed = subprocess.run(
        [script, "evaluate", tmp_path / "missing.xlsx", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert failed.returncode != 0
    assert failed.stderr.count("\n") == 1 and "missing.xlsx" in failed.stderr
