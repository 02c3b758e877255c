"""Whatever a user types, the command line answers with a result or one clear line.

Property tests drive ``bizcase`` with generated specs (a valid example with
fields replaced by hostile values: wrong types, NaN, huge and negative numbers,
control characters, very long text) and generated argument text. For every
input: no traceback, exit status 0, 1 or 2; on failure no file is written and
no temporary file is left behind; an existing file is untouched unless
``--force``.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from addin.cli import app
from workbooks.examples import example_spec
from workbooks.reader import read_business_case

BASE = example_spec("analytics_addon").model_dump(mode="json")
SETTINGS = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

hostile_numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.sampled_from([0, -1, 1e308, -1e-308, 15, 0.999999]),
)
hostile_text = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=31), min_size=1, max_size=5),
    st.sampled_from(["=1+1", "<>x", "Analytics*", "Gov?", "~", "@SUM(A1)", "x" * 600, "ü€中"]),
)
hostile_values = st.one_of(
    hostile_numbers,
    hostile_text,
    st.booleans(),
    st.none(),
    st.lists(hostile_numbers, max_size=20),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


def _fields(spec: dict, prefix: tuple = ()) -> list[tuple]:
    out = []
    for key, value in spec.items():
        if isinstance(value, dict) and value:
            out += _fields(value, (*prefix, key))
        else:
            out.append((*prefix, key))
    return out


FIELDS = _fields(BASE)


def _with(spec: dict, path: tuple, value) -> dict:
    copy = json.loads(json.dumps(spec))
    node = copy
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return copy


def run(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def _assert_clean(result) -> None:
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert "Traceback" not in result.output
    assert result.exit_code in (0, 1, 2), (result.exit_code, result.output)
    if result.exit_code == 1:
        assert result.stderr.lstrip().startswith("bizcase:"), result.stderr
    if result.exit_code == 2:  # bad usage: bizcase's own line, or the parser's usage message
        assert result.stderr.lstrip().startswith(("bizcase:", "Usage:")), result.stderr


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


@SETTINGS
@given(edits=st.lists(st.tuples(st.sampled_from(FIELDS), hostile_values), min_size=1, max_size=3))
def test_new_with_a_hostile_spec_writes_a_readable_workbook_or_nothing(tmp_path_factory, edits):
    folder = tmp_path_factory.mktemp("hostile")
    spec = BASE
    for path, value in edits:
        spec = _with(spec, path, value)
    source = folder / "spec.json"
    source.write_text(json.dumps(spec, allow_nan=True), encoding="utf-8")
    out = folder / "case.xlsx"
    result = run("new", source, "-o", out)
    _assert_clean(result)
    if result.exit_code == 0:
        case = read_business_case(out)
        assert math.isfinite(case.values["DiscountRate"])
    else:
        assert not out.exists()
    assert _leftovers(folder) == []


@SETTINGS
@given(name=hostile_text, line=hostile_text)
def test_hostile_names_never_reach_a_traceback(tmp_path_factory, name, line):
    folder = tmp_path_factory.mktemp("names")
    spec = _with(_with(BASE, ("meta", "name"), name), ("meta", "product_line"), line)
    source = folder / "spec.json"
    source.write_text(json.dumps(spec), encoding="utf-8")
    result = run("new", source, "-o", folder / "case.xlsx")
    _assert_clean(result)
    if result.exit_code == 0:
        assert read_business_case(folder / "case.xlsx").model.spec.meta.name == name


@SETTINGS
@given(
    command=st.sampled_from(["evaluate", "check", "simulate", "sensitivity", "upgrade", "rollup"]),
    argument=st.one_of(hostile_text, st.sampled_from(["--trials", "--seed", "--budget", "-o"])),
    value=st.one_of(hostile_text, hostile_numbers.map(str)),
)
def test_hostile_arguments_get_one_line(tmp_path_factory, command, argument, value):
    folder = tmp_path_factory.mktemp("args")
    result = run(command, folder / "missing.xlsx", argument, value)
    _assert_clean(result)
    assert result.exit_code != 0


def test_an_existing_file_is_untouched_without_force(tmp_path):
    out = tmp_path / "case.xlsx"
    out.write_bytes(b"the user's own file")
    source = tmp_path / "spec.json"
    source.write_text(json.dumps(BASE), encoding="utf-8")
    result = run("new", source, "-o", out)
    _assert_clean(result)
    assert result.exit_code == 1 and "--force" in result.stderr
    assert out.read_bytes() == b"the user's own file"
    forced = run("new", source, "-o", out, "--force")
    assert forced.exit_code == 0
    assert read_business_case(out).model.spec.meta.name == BASE["meta"]["name"]


_INTERRUPT_WHILE_IMPORTING = """
import builtins, sys
real = builtins.__import__
def interrupting(name, *args, **kwargs):
    if name == {module!r}:
        raise KeyboardInterrupt  # what Ctrl-C raises at that moment
    return real(name, *args, **kwargs)
builtins.__import__ = interrupting
sys.argv = ["bizcase", "metrics"]
from addin.entry import main
main()
"""


@pytest.mark.parametrize("module", ["typer", "numpy", "pandas", "rich.table"])
def test_ctrl_c_while_the_command_line_loads_ends_with_one_line(module):
    """Ctrl-C in the first half second lands while typer, numpy or pandas import, before
    or inside the command (each command imports what only it needs when it runs)."""
    result = subprocess.run(
        [sys.executable, "-c", _INTERRUPT_WHILE_IMPORTING.format(module=module)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 130, result.stderr
    assert result.stderr == "bizcase: interrupted\n"


@pytest.mark.parametrize(
    ("option", "value", "reason"),
    [
        ("--budget", "-5", "--budget: capital available must be 0 or more; got -5"),
        ("--budget", "nan", "--budget: must be a finite amount; got nan"),
        ("--budget", "inf", "--budget: must be a finite amount; got inf"),
        ("--budget-by-year", "1,nan", "--budget-by-year: must be a finite amount; got nan"),
        ("--target", "nan", "--target: must be a finite amount; got nan"),
        ("--correlation", "2", "--correlation: must be from -1 to 1; got 2.0"),
        ("--simulate", "-3", "--simulate: must be 0 (none) or a number of trials; got -3"),
    ],
)
def test_rollup_refuses_meaningless_numbers_before_reading_anything(
    tmp_path, option, value, reason
):
    out = tmp_path / "portfolio.xlsx"
    result = run("rollup", tmp_path, "-o", out, option, value)
    assert result.exit_code == 2
    assert result.stderr.strip() == f"bizcase: {reason}"
    assert not out.exists()
