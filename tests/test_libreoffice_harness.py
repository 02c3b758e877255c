"""Self-check of the LibreOffice harness: it must really recalculate.

The decisive case is a workbook whose formula cells carry a deliberately
wrong cached value (999). Without the recalc-on-load profile LibreOffice
keeps 999 (checked here as a control, so the test cannot pass vacuously);
with it, the outputs hold the recomputed values.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import openpyxl
import pytest
from libreoffice import read_values, recalculate


def _write_stale(path: Path) -> None:
    """A1 = 1+1 and A3 = A2*2 (A2 = 3), both cached as 999 in the file."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws["A1"] = "=1+1"
    ws["A2"] = 3
    ws["A3"] = "=A2*2"
    wb.save(path)
    with zipfile.ZipFile(path) as zin:
        items = {n: zin.read(n) for n in zin.namelist()}
    sheet = items["xl/worksheets/sheet1.xml"].decode()
    # openpyxl writes an empty <v/> after each formula; put a stale value there.
    sheet, n = re.subn(r"(<f>[^<]*</f>)<v\s*/>", r"\1<v>999</v>", sheet)
    assert n == 2, sheet
    items["xl/worksheets/sheet1.xml"] = sheet.encode()
    # Drop openpyxl's fullCalcOnLoad hint and claim Excel wrote the file, so
    # nothing but the profile setting can trigger the recalculation.
    items["xl/workbook.xml"] = items["xl/workbook.xml"].replace(b' fullCalcOnLoad="1"', b"")
    items["docProps/app.xml"] = re.sub(
        rb"<Application>.*?</Application>",
        b"<Application>Microsoft Excel</Application>",
        items["docProps/app.xml"],
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for name, data in items.items():
            zout.writestr(name, data)
    cached = openpyxl.load_workbook(path, data_only=True).active
    assert (cached["A1"].value, cached["A3"].value) == (999, 999)


def _write_plain(path: Path, formula: str) -> None:
    wb = openpyxl.Workbook()
    wb.active["A1"] = formula
    wb.save(path)


@pytest.fixture(scope="module")
def batch(soffice, tmp_path_factory):
    """One soffice call for all the positive cases: inputs and outputs."""
    src = tmp_path_factory.mktemp("lo_in")
    _write_plain(src / "plain.xlsx", "=1+1")
    _write_stale(src / "stale.xlsx")
    paths = [src / "plain.xlsx", src / "stale.xlsx"]
    for i in range(4):
        _write_plain(src / f"wb{i}.xlsx", f"={i}*10+1")
        paths.append(src / f"wb{i}.xlsx")
    outs = recalculate(paths, tmp_path_factory.mktemp("lo_out"))
    return dict(zip([p.stem for p in paths], zip(paths, outs, strict=True), strict=True))


def test_formula_without_cached_value(batch):
    src, out = batch["plain"]
    assert openpyxl.load_workbook(src, data_only=True).active["A1"].value is None
    assert out.name == "plain.xlsx" and out.parent != src.parent
    assert read_values(out).active["A1"].value == 2


def test_stale_cached_values_are_recomputed(batch):
    src, out = batch["stale"]
    ws = read_values(out).active
    assert (ws["A1"].value, ws["A3"].value) == (2, 6)
    # the input is untouched
    assert openpyxl.load_workbook(src, data_only=True).active["A1"].value == 999


def test_batch_keeps_order_and_recalculates_each(batch):
    assert list(batch) == ["plain", "stale", "wb0", "wb1", "wb2", "wb3"]
    values = [read_values(batch[f"wb{i}"][1]).active["A1"].value for i in range(4)]
    assert values == [1, 11, 21, 31]


def test_control_without_recalc_setting_keeps_stale_values(soffice, tmp_path):
    """Proves the stale test discriminates: 'never recalculate' keeps 999."""
    src = tmp_path / "in"
    src.mkdir()
    _write_stale(src / "stale.xlsx")
    (out,) = recalculate([src / "stale.xlsx"], tmp_path / "out", recalc_mode=1)
    ws = read_values(out).active
    assert (ws["A1"].value, ws["A3"].value) == (999, 999)


def test_unloadable_file_raises_with_names(soffice, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    bad = src / "garbage.xlsx"
    bad.write_bytes(b"not a zip file")
    with pytest.raises(RuntimeError, match=r"garbage\.xlsx"):
        recalculate([bad], tmp_path / "out")


def test_timeout_kills_and_raises(tmp_path):
    fake = tmp_path / "fake-soffice"
    fake.write_text("#!/bin/sh\nsleep 30\n")
    fake.chmod(0o755)
    p = tmp_path / "in" / "a.xlsx"
    p.parent.mkdir()
    _write_plain(p, "=1")
    with pytest.raises(RuntimeError, match=r"timed out .*a\.xlsx"):
        recalculate([p], tmp_path / "out", soffice=str(fake), timeout=1)


def test_outdir_must_differ_from_input_dir(tmp_path):
    p = tmp_path / "a.xlsx"
    _write_plain(p, "=1")
    with pytest.raises(ValueError):
        recalculate([p], tmp_path)
