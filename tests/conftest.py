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
