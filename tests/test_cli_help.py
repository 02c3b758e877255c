"""``bizcase --help`` reads right: flags take no value, and every command's help ends
with one example that runs as written.

"As written" means in a folder where ``make demo`` ran (its cases are in
demo-output/cases, its history of two rollups in demo-output/history.sqlite),
after the ``new`` example wrote ``case.xlsx``: the test builds that folder,
runs ``new``'s example first and then every other command's, each exactly as
its help prints it, and requires exit status 0.
"""

from __future__ import annotations

import re
import shlex

import pytest
import typer
from typer.testing import CliRunner

from addin.cli import app


def _commands(group=None, path=()) -> list[tuple[str, ...]]:
    """The path of every command and group under the CLI, depth first."""
    group = group or typer.main.get_command(app)
    out = []
    for name, command in group.commands.items():
        out.append((*path, name))
        if hasattr(command, "commands"):
            out += _commands(command, (*path, name))
    return out


def _help(path: tuple[str, ...]) -> str:
    result = CliRunner().invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    return result.output


LEAVES = [
    p
    for p in _commands()
    if not hasattr(typer.main.get_command(app).commands[p[0]], "commands") or len(p) > 1
]


@pytest.mark.parametrize("path", [(), *_commands()], ids=lambda p: " ".join(p) or "bizcase")
def test_help_shows_no_value_for_a_flag(path):
    text = _help(path)
    assert "<bool>" not in text
    options = text.split("\nOptions:\n")[1].split("\n\n")[0]
    flags = ("--help", "--json", "--force", "--version", "--write", "--example")
    listed = [line for line in options.splitlines() if line.strip().startswith(flags)]
    assert any(line.strip().startswith("--help") for line in listed)
    for line in listed:  # the flag, then straight to its description
        assert re.match(r"^\s+--[a-z-]+\s{2,}[A-Z]", line), line


def _example(path: tuple[str, ...]) -> str:
    """The one example line of a command's help."""
    text = _help(path)
    examples = [line.strip() for line in text.splitlines() if line.strip().startswith("bizcase ")]
    assert len(examples) == 1, f"{' '.join(path)}: expected one example line; got {examples}"
    assert re.search(r"^\s*Example.*:\s*$", text, re.MULTILINE), text
    return examples[0]


@pytest.mark.parametrize("path", LEAVES, ids=" ".join)
def test_every_command_has_one_example_for_itself(path):
    assert shlex.split(_example(path))[1 : 1 + len(path)] == list(path)


def test_every_example_runs_as_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    demo = runner.invoke(app, ["new", "--all-examples", "-o", "demo-output/cases"])
    assert demo.exit_code == 0, demo.output  # what `make demo` leaves behind (its examples)
    cases = "demo-output/cases"
    for rollup in (  # and its history: two rollups a quarter apart
        f"{cases}/analytics_addon.xlsx {cases}/saas.xlsx -o q3.xlsx --fx USD=0.90 "
        "--as-of 2026-09-30",
        f"{cases} -o demo-output/portfolio.xlsx --fx USD=0.92 --as-of 2026-12-31",
    ):
        args = f"rollup {rollup} --currency EUR --record --db demo-output/history.sqlite"
        recorded = runner.invoke(app, shlex.split(args))
        assert recorded.exit_code == 0, recorded.output
    ordered = sorted(LEAVES, key=lambda p: p != ("new",))  # `new` writes case.xlsx first
    for path in ordered:
        line = _example(path)
        result = runner.invoke(app, shlex.split(line)[1:])
        assert result.exit_code == 0, f"{line}\n{result.output}"
    assert (tmp_path / "case.xlsx").is_file()
