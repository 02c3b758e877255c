"""The command line imports only what a command needs (issue 12, item 7).

Whole-process time is measured in ``make bench`` (tests/benchmarks/bench_cli.py),
not here: timings on a shared machine make flaky tests. What keeps the commands
quick is their import structure, and that is asserted exactly: each command runs
in a fresh interpreter, as the ``bizcase`` script does, which then lists the
top-level packages it has loaded.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from workbooks.business_case import write_business_case
from workbooks.examples import example_spec

FIXTURES = Path(__file__).parent / "fixtures" / "template_1.0"

# Runs the console script's entry point with the given arguments and prints, on
# stderr after the command's own output, the top-level packages then loaded.
_RUN = """
import json, sys
sys.argv = ["bizcase", *json.loads(sys.argv[1])]
from addin.entry import main
try:
    main()
except SystemExit:
    pass
sys.stderr.write("\\nMODULES " + json.dumps(sorted({m.split(".")[0] for m in sys.modules})))
"""

# Heavy packages no command of these tests needs (openpyxl writes workbooks and
# reads them for check; rich draws tables; the others serve other commands).
NEVER = {"pandas", "scipy", "sqlalchemy", "pptx", "xlwings", "matplotlib"}


def _loaded(*args: str) -> tuple[subprocess.CompletedProcess, set[str]]:
    result = subprocess.run(
        [sys.executable, "-c", _RUN, json.dumps(args)], capture_output=True, text=True
    )
    marker = result.stderr.rindex("MODULES ")
    return result, set(json.loads(result.stderr[marker + len("MODULES ") :]))


@pytest.fixture(scope="module")
def case(tmp_path_factory) -> Path:
    return write_business_case(
        example_spec("analytics_addon"), tmp_path_factory.mktemp("imports") / "case.xlsx"
    )


def test_evaluate_reads_with_calamine_and_never_imports_openpyxl_pandas_or_scipy(case):
    result, loaded = _loaded("evaluate", str(case), "--json")
    assert json.loads(result.stdout.splitlines()[0])["NPV"] > 0  # it did evaluate
    assert {"numpy", "pydantic", "python_calamine"} <= loaded
    assert not loaded & (NEVER | {"openpyxl", "rich"})


def test_evaluate_of_a_template_1_0_workbook_imports_no_more(case):
    result, loaded = _loaded("evaluate", str(FIXTURES / "plain.xlsx"), "--json")
    assert "NPV" in json.loads(result.stdout.splitlines()[0])
    assert not loaded & (NEVER | {"openpyxl", "rich"})


def test_the_table_output_adds_only_rich(case):
    result, loaded = _loaded("evaluate", str(case))
    assert result.returncode == 0, result.stderr
    assert "rich" in loaded
    assert not loaded & (NEVER | {"openpyxl"})


def test_check_builds_the_template_with_openpyxl_but_never_imports_pandas_or_scipy(case):
    result, loaded = _loaded("check", str(case))
    assert result.returncode == 0, result.stderr
    assert "every calculation matches the template" in result.stdout
    assert "openpyxl" in loaded
    assert not loaded & (NEVER | {"rich"})


def test_help_loads_neither_numpy_nor_pydantic():
    result, loaded = _loaded("--help")
    assert "Usage: bizcase" in result.stdout, result.stderr
    assert not loaded & (NEVER | {"numpy", "pydantic", "openpyxl", "rich"})


def test_version_and_a_commands_help_load_no_numpy():
    """typer reads flags' values through pydantic once it parses a command line."""
    for args, shown in ((("--version",), "bizcase "), (("evaluate", "--help"), "Usage: bizcase")):
        result, loaded = _loaded(*args)
        assert result.stdout.startswith(shown), result.stderr
        assert not loaded & (NEVER | {"numpy", "openpyxl", "rich"}), args
