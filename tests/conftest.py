"""Shared pytest fixtures for the bizcase test suite live here.

Helpers that are not fixtures (e.g. the LibreOffice harness in
``tests/libreoffice.py``) are plain modules next to this file.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

# Make the helper modules in tests/ importable as top-level modules
# (``from libreoffice import recalculate``) whatever pytest's import mode.
_TESTS_DIR = str(Path(__file__).resolve().parent)
if _TESTS_DIR not in sys.path:
    sys.path.insert(0, _TESTS_DIR)

from libreoffice import soffice_path  # noqa: E402


@pytest.fixture(scope="session")
def soffice() -> str:
    """Path of LibreOffice's ``soffice``.

    Skips when LibreOffice is missing, or fails when the environment sets
    ``BIZCASE_REQUIRE_SOFFICE=1`` (CI), so parity tests cannot silently vanish.
    """
    path = soffice_path()
    if path is None:
        if os.environ.get("BIZCASE_REQUIRE_SOFFICE") == "1":
            pytest.fail(
                "LibreOffice (soffice) not found but BIZCASE_REQUIRE_SOFFICE=1 "
                "requires it; install libreoffice-calc-nogui"
            )
        pytest.skip("LibreOffice (soffice) not found; install libreoffice-calc-nogui")
    return path


# --- openpyxl with and without lxml ------------------------------------------------
#
# openpyxl writes different XML when lxml is importable (for example the
# relationships namespace declared on each <sheet> rather than on the root), so
# `make test` runs the modules that write or edit workbooks twice: once with
# openpyxl's own switch turning lxml off (OPENPYXL_LXML=False; lxml is installed,
# python-pptx needs it), and once more with lxml (BIZCASE_LXML=1). BIZCASE_LXML
# says which mode a run must be in, so the two passes cannot silently be the same.
WRITES_WORKBOOKS = {  # where openpyxl's XML spelling meets our own XML editing and readers
    "test_buttons.py",
    "test_ooxml_validity.py",  # every kind of output: validator, schemas, openpyxl, LibreOffice
    "test_package.py",
    "test_risk_workbook.py",
    "test_workbook_buttons.py",
}


def openpyxl_uses_lxml() -> bool:
    import openpyxl.xml

    return bool(openpyxl.xml.LXML)


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "writes_workbooks: writes or edits .xlsx files (run again with lxml)"
    )
    expected = os.environ.get("BIZCASE_LXML")
    if expected not in (None, "0", "1"):
        raise pytest.UsageError(f"BIZCASE_LXML: expected 0 or 1, got {expected!r}")
    if expected is None:
        return
    import importlib.util

    has_lxml = importlib.util.find_spec("lxml") is not None
    if expected == "1" and not (has_lxml and openpyxl_uses_lxml()):
        raise pytest.UsageError(
            "BIZCASE_LXML=1: this pass must run with lxml, but openpyxl "
            "does not use it (install lxml; leave OPENPYXL_LXML unset)"
        )
    if expected == "0" and openpyxl_uses_lxml():
        raise pytest.UsageError(
            "BIZCASE_LXML=0: this pass must run without lxml, but openpyxl uses it "
            "(set OPENPYXL_LXML=False)"
        )


def pytest_report_header(config):
    return "openpyxl writes XML with " + ("lxml" if openpyxl_uses_lxml() else "xml.etree (no lxml)")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.path.name in WRITES_WORKBOOKS:
            item.add_marker(pytest.mark.writes_workbooks)
