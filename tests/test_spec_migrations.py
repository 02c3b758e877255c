"""A spec recorded by an older template is migrated, step by step, before it is read.

``workbooks.version.MIGRATIONS`` holds one step per template version; each edits
the spec dict a workbook of the earlier version recorded (renamed or moved
fields). 1.0 -> 1.1 renamed nothing, so these tests register a rename of their
own (monkeypatched) and carry a 1.0 workbook whose spec uses the old name through
read, check and upgrade.
"""

from __future__ import annotations

import json
import shutil
from itertools import pairwise
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from addin.cli import app
from workbooks import version
from workbooks.reader import ADDED_IN, WorkbookError, read_business_case
from workbooks.version import MIGRATIONS, TEMPLATE_VERSION, migrate, version_key

FIXTURE = Path(__file__).parent / "fixtures" / "template_1.0" / "plain.xlsx"


def cli(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def test_the_steps_chain_from_the_first_template_to_this_one():
    steps = sorted(MIGRATIONS, key=lambda s: version_key(s[0]))
    assert steps[0][0] == "1.0"
    assert all(a[1] == b[0] for a, b in pairwise(steps))
    assert all(version_key(a) < version_key(b) for a, b in steps)
    assert steps[-1][1] == TEMPLATE_VERSION


def test_every_input_was_added_by_a_template_this_one_reaches():
    """An input newer than the template would be missing from workbooks that claim it."""
    versions = {"1.0", *(target for _, target in MIGRATIONS)}
    added = set(ADDED_IN)
    assert added <= versions, f"added_in {added - versions}: raise TEMPLATE_VERSION, add its step"


def test_migrations_run_in_version_order_once_each(monkeypatch):
    ran = []

    def step(name):
        def apply(spec):
            ran.append(name)
            return {**spec, "seen": [*spec.get("seen", []), name]}

        return apply

    # registered out of order: the order of the versions decides
    monkeypatch.setattr(
        version,
        "MIGRATIONS",
        {("1.2", "1.10"): step("c"), ("1.0", "1.1"): step("a"), ("1.1", "1.2"): step("b")},
    )
    assert migrate({}, "1.0") == {"seen": ["a", "b", "c"]}
    assert ran == ["a", "b", "c"]
    assert migrate({}, "1.2") == {"seen": ["c"]}
    assert migrate({}, "1.10") == {}


def _rename_tax_rate(spec: dict) -> dict:
    """The kind of step a rename needs: 1.0 wrote ``finance.tax``, 1.1 reads ``tax_rate``."""
    finance = spec.get("finance", {})
    if "tax" in finance:
        finance["tax_rate"] = finance.pop("tax")
    return spec


@pytest.fixture
def old_name(tmp_path) -> Path:
    """plain.xlsx (template 1.0) with its recorded spec using the old name, at 31%."""
    path = Path(shutil.copy(FIXTURE, tmp_path / "old.xlsx"))
    wb = openpyxl.load_workbook(path)
    meta = wb["_bizcase"]
    spec = json.loads("".join(c.value or "" for c in meta[4][1:]))
    del spec["finance"]["tax_rate"]
    spec["finance"]["tax"] = 0.31
    text = json.dumps(spec)
    assert len(text) < 30000  # one cell holds it
    for cell in meta[4][1:]:
        cell.value = None
    meta["B4"].value = text
    wb.save(path)
    return path


def test_without_its_migration_the_old_name_is_refused(old_name):
    with pytest.raises(WorkbookError, match=r"finance\.tax: unknown field"):
        read_business_case(old_name)


def test_an_old_field_name_is_read_checked_and_upgraded_with_its_value(
    old_name, tmp_path, monkeypatch
):
    monkeypatch.setitem(MIGRATIONS, ("1.0", "1.1"), _rename_tax_rate)
    case = read_business_case(old_name)
    assert case.model.spec.finance.tax_rate == 0.31
    assert case.template_version == "1.0"

    result = cli("check", old_name)
    assert result.exit_code == 0, result.stdout + result.stderr

    new = tmp_path / "new.xlsx"
    result = cli("upgrade", old_name, "-o", new)
    assert result.exit_code == 0, result.stderr
    upgraded = read_business_case(new)
    assert upgraded.template_version == TEMPLATE_VERSION
    assert upgraded.model.spec.finance.tax_rate == 0.31  # recorded under the new name
    assert upgraded.values["TaxRate"] == case.values["TaxRate"]  # the cell, carried by name
    recorded = openpyxl.load_workbook(new, read_only=True)["_bizcase"]["B4"].value
    assert '"tax_rate":0.31' in recorded and '"tax":' not in recorded
