"""LibreOffice Calc recalculation harness for parity tests.

LibreOffice keeps the cached values stored in an xlsx file unless its profile
says to recalculate on load. ``recalculate`` therefore runs ``soffice`` with a
fresh, throw-away user profile whose ``registrymodifications.xcu`` sets
``OOXMLRecalcMode`` and ``ODFRecalcMode`` to 0 ("always recalculate"), and
converts many workbooks in a single ``soffice`` call (start-up costs about a
second, each further workbook a fraction of that).

Typical use::

    out = recalculate([p1, p2], tmp_path / "lo")
    wb = read_values(out[0])          # openpyxl, data_only=True
    wb["Sheet"]["B2"].value           # value computed by LibreOffice
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

import openpyxl

__all__ = ["REGISTRY_XCU", "read_values", "recalculate", "render_pdf", "soffice_path"]

# 0 = always recalculate on load, 1 = never, 2 = prompt.
_LOAD = "/org.openoffice.Office.Calc/Formula/Load"
_REGISTRY_TEMPLATE = f"""<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry"
           xmlns:xs="http://www.w3.org/2001/XMLSchema"
           xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="{_LOAD}">
  <prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>{{mode}}</value></prop>
</item>
<item oor:path="{_LOAD}">
  <prop oor:name="ODFRecalcMode" oor:op="fuse"><value>{{mode}}</value></prop>
</item>
</oor:items>
"""
REGISTRY_XCU = _REGISTRY_TEMPLATE.format(mode=0)


def soffice_path() -> str | None:
    """Path of the LibreOffice executable, or None when it is not installed."""
    return shutil.which("soffice") or shutil.which("libreoffice")


def _write_profile(profile_dir: Path, recalc_mode: int = 0) -> None:
    user = profile_dir / "user"
    user.mkdir(parents=True, exist_ok=True)
    xcu = _REGISTRY_TEMPLATE.format(mode=int(recalc_mode))
    (user / "registrymodifications.xcu").write_text(xcu, encoding="utf-8")


def recalculate(
    paths: list[Path],
    outdir: Path,
    *,
    timeout: float | None = None,
    soffice: str | None = None,
    recalc_mode: int = 0,
    to: str = "xlsx",
) -> list[Path]:
    """Recalculate ``paths`` (xlsx) in one LibreOffice call.

    Returns the recalculated copies, ``outdir / <stem>.xlsx``, in input order
    (inputs may be any format LibreOffice opens, e.g. .xlsx, .xlsm, .ods).
    Raises ``RuntimeError`` naming the files and LibreOffice's output when
    soffice is missing, fails, times out, or an output file is not produced.

    ``recalc_mode`` is LibreOffice's load setting (0 always recalculate,
    1 never, 2 prompt); anything but 0 exists only so the harness's own test
    can show that stale cached values survive without it. ``to`` is the
    format converted to (``pdf`` renders a deck or a workbook).
    """
    paths = [Path(p).resolve() for p in paths]
    if not paths:
        return []
    outdir = Path(outdir).resolve()
    outdir.mkdir(parents=True, exist_ok=True)

    names = [p.name for p in paths]
    stems = [p.stem for p in paths]
    if len(set(stems)) != len(stems):
        raise ValueError(f"input file stems must be unique (outputs share outdir): {names}")
    for p in paths:
        if not p.is_file():
            raise FileNotFoundError(p)
        if p.parent == outdir:
            raise ValueError(f"outdir must differ from the input's directory: {p}")
    outputs = [outdir / f"{stem}.{to}" for stem in stems]
    for o in outputs:  # never mistake a leftover for a fresh result
        if o.exists():
            o.unlink()

    exe = soffice or soffice_path()
    if exe is None:
        raise RuntimeError("LibreOffice (soffice) not found; install libreoffice-calc-nogui")
    if timeout is None:
        timeout = 60.0 + 5.0 * len(paths)

    with tempfile.TemporaryDirectory(prefix="bizcase-lo-profile-") as prof:
        profile = Path(prof)
        _write_profile(profile, recalc_mode)
        cmd = [
            exe,
            "--headless",
            "--norestore",
            "--nologo",
            "--nodefault",
            "--nolockcheck",
            f"-env:UserInstallation={profile.as_uri()}",
            "--convert-to",
            to,
            "--outdir",
            str(outdir),
            *map(str, paths),
        ]
        env = dict(os.environ)
        env.setdefault("SAL_USE_VCLPLUGIN", "svp")
        # Own session/process group, so a hung soffice (a shell wrapper that
        # starts soffice.bin) can be killed as a whole on timeout.
        proc = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=str(outdir),
            start_new_session=True,
        )
        try:
            stdout, stderr = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            stdout, stderr = proc.communicate()
            raise RuntimeError(
                f"soffice timed out after {timeout:.0f}s recalculating {names}; "
                f"stdout={stdout.strip()!r}; stderr={stderr.strip()!r}"
            ) from None

    missing = [str(o) for o in outputs if not o.is_file()]
    if proc.returncode != 0 or missing:
        raise RuntimeError(
            f"soffice failed (exit {proc.returncode}) recalculating {names}; "
            f"missing outputs: {missing}; stdout={stdout.strip()!r}; "
            f"stderr={stderr.strip()!r}"
        )
    return outputs


def render_pdf(paths: list[Path], outdir: Path, **kwargs) -> list[Path]:
    """Recalculate ``paths`` and print them to PDF in one LibreOffice call.

    Returns ``outdir / <stem>.pdf`` in input order; every visible sheet is
    printed with its page setup (print area, titles, header and footer).
    """
    return recalculate(paths, outdir, to="pdf", **kwargs)


def read_values(path: Path) -> openpyxl.Workbook:
    """Open a (recalculated) workbook with cached values, not formulas."""
    return openpyxl.load_workbook(path, data_only=True)
