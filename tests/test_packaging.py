"""A clean install, and a first run that says where bizcase is.

* ``project.license`` is an SPDX expression string (PEP 639). The older TOML
  table form makes setuptools 77 and later print a deprecation warning on
  every install; the string form needs setuptools 77, so the build system asks
  for it.
* ``make demo`` ends by saying how to run the ``bizcase`` it installed, which
  is not on the user's PATH.
"""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_license_is_an_spdx_string():
    assert _pyproject()["project"]["license"] == "MIT"


def test_the_build_asks_for_a_setuptools_that_reads_spdx_licenses():
    (setuptools,) = [r for r in _pyproject()["build-system"]["requires"] if "setuptools" in r]
    version = re.fullmatch(r"setuptools>=(\d+)(\.\d+)*", setuptools.replace(" ", ""))
    assert version and int(version.group(1)) >= 77, setuptools


def test_make_demo_ends_by_saying_how_to_run_bizcase():
    try:
        dry = subprocess.run(
            ["make", "-n", "demo"], cwd=ROOT, capture_output=True, text=True, timeout=60
        )
    except FileNotFoundError:
        pytest.skip("make is not installed")
    assert dry.returncode == 0, dry.stderr
    tail = "\n".join(dry.stdout.splitlines()[-4:])
    assert ".venv/bin/bizcase" in tail and "source .venv/bin/activate" in tail
