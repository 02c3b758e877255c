"""Every kind of file bizcase writes opens in Excel (issue 10, item 2; DESIGN.md
"Verification"): Microsoft's Open XML SDK validator and the ECMA-376 schemas
find no error in any of them.

The files come from the CLI, as a user makes them (see
:func:`ooxml.write_every_kind`). openpyxl writes different XML with and without
lxml; in the run with lxml (``make test``'s second pass) the files are written
both ways, the second set by a process that turns openpyxl's lxml off with its
own switch (``OPENPYXL_LXML=False``), so both spellings are checked.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
from libreoffice import recalculate
from ooxml import (
    require_validator,
    schema_errors,
    validator_errors,
    write_every_kind,
)

from workbooks.buttons import buttons_of, read_buttons
from workbooks.reader import read_business_case

TESTS = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> dict[str, list[Path]]:
    """openpyxl mode -> the files bizcase wrote in it."""
    import openpyxl.xml

    root = tmp_path_factory.mktemp("ooxml")
    mode = "lxml" if openpyxl.xml.LXML else "no lxml"
    files = {mode: write_every_kind(root / "here")}
    if openpyxl.xml.LXML:
        env = {**os.environ, "OPENPYXL_LXML": "False"}
        env["PYTHONPATH"] = os.pathsep.join([str(TESTS.parent), env.get("PYTHONPATH", "")])
        run = subprocess.run(
            [sys.executable, str(TESTS / "ooxml.py"), str(root / "without")],
            capture_output=True,
            text=True,
            env=env,
            timeout=900,
        )
        assert run.returncode == 0, run.stderr
        files["no lxml"] = [Path(line) for line in run.stdout.split()]
    return files


def test_every_kind_of_output_is_covered(written):
    for files in written.values():
        names = {p.name for p in files}
        assert {"saas.xlsx", "saas-risk.xlsx", "saas-upgraded.xlsx"} <= names
        assert {"hardware-risk-upgraded.xlsx", "portfolio.xlsx", "portfolio-risk.xlsx"} <= names
        assert "review.xlsx" in names
        assert len(files) == 4 + 2 + 4 + 2 + 2 + 1


def test_microsoft_validator_finds_no_error(written):
    command = require_validator()
    files = [p for group in written.values() for p in group]
    errors = validator_errors(command, files)
    assert {k: v for k, v in errors.items() if v} == {}
    assert len(errors) == len(files)


@pytest.mark.parametrize("mode", ["no lxml", "lxml"])
def test_every_xml_part_matches_its_ecma_376_schema(written, mode):
    if mode not in written:
        has_lxml = importlib.util.find_spec("lxml") is not None
        pytest.skip(
            "the schema check needs lxml; make test's lxml pass checks the files of both modes"
            if not has_lxml
            else f"openpyxl is not in {mode!r} mode here"
        )
    problems = {p.name: schema_errors(p) for p in written[mode]}
    assert {k: v for k, v in problems.items() if v} == {}


def _here(written) -> list[Path]:
    """The files this process wrote (its own openpyxl mode)."""
    return next(iter(written.values()))


def test_every_file_opens_with_its_names_charts_and_buttons(written):
    for path in _here(written):
        book = openpyxl.load_workbook(path)
        if path.name == "review.xlsx":  # no names or buttons: a report, not a model
            assert book.sheetnames == ["Review"] and len(book["Review"]._charts) == 1
            continue
        portfolio = path.stem.startswith("portfolio")
        assert ("Port_NPV" if portfolio else "Out_NPV") in book.defined_names, path.name
        assert sum(len(ws._charts) for ws in book.worksheets) > 0, path.name
        buttons = {b["name"]: (b["sheet"], b["cell"]) for b in read_buttons(path)}
        table = buttons_of("portfolio" if portfolio else "case")
        assert buttons == {b.name: (b.sheet, b.cell) for b in table}, path.name
        if path.stem.endswith("-risk"):  # written by simulate --write or rollup --simulate
            assert "Risk" in book.sheetnames, path.name
            assert portfolio or len(book["Risk"]._charts) == 2, path.name
        if not portfolio:
            assert read_business_case(path).model.spec.meta.name, path.name


def test_libreoffice_opens_every_file(written, soffice, tmp_path):
    files = _here(written)
    saved = recalculate(files, tmp_path / "lo", soffice=soffice)
    for original, copy in zip(files, saved, strict=True):
        assert openpyxl.load_workbook(copy).sheetnames == (
            openpyxl.load_workbook(original).sheetnames
        ), original.name
