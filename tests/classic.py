"""Importing a module the way classic xlwings (Windows, pywin32) would, on Linux.

xlwings picks its decorators when it is imported: ``xlwings.udfs`` (the COM
"Import Functions" machinery) only on Windows with pywin32. The tests stub the
three pywin32 modules it imports, bind the classic decorators, and import the
module under test again, so ``generate_vba_wrapper`` sees what Excel would.
"""

from __future__ import annotations

import importlib
import sys
import types
from contextlib import contextmanager

import pytest
import xlwings


def pywin32_stubs(variant=object, vt_error: int = 10) -> dict[str, types.ModuleType]:
    pythoncom = types.ModuleType("pythoncom")
    pythoncom.VT_ERROR = vt_error
    pythoncom.CoInitialize = lambda: None
    pywintypes = types.ModuleType("pywintypes")
    pywintypes.com_error = type("com_error", (Exception,), {})
    win32com = types.ModuleType("win32com")
    client = types.ModuleType("win32com.client")
    client.Dispatch = lambda *args, **kwargs: pytest.fail("no COM on this machine")
    client.VARIANT = variant
    win32com.client = client
    return {
        "pythoncom": pythoncom,
        "pywintypes": pywintypes,
        "win32com": win32com,
        "win32com.client": client,
    }


@contextmanager
def classic_import(monkeypatch, module_name: str, variant=object, vt_error: int = 10):
    """Yield ``(module as classic xlwings imports it, xlwings.udfs)``; undone afterwards
    by ``monkeypatch`` (the Office.js module and decorators come back)."""
    for name, module in pywin32_stubs(variant, vt_error).items():
        monkeypatch.setitem(sys.modules, name, module)
    if "xlwings.udfs" in sys.modules:
        monkeypatch.delitem(sys.modules, "xlwings.udfs")
    monkeypatch.setattr(xlwings, "udfs", None, raising=False)
    parent_name, _, attribute = module_name.rpartition(".")
    current = importlib.import_module(module_name)  # the Office.js one, restored later
    monkeypatch.setattr(importlib.import_module(parent_name), attribute, current)
    monkeypatch.delitem(sys.modules, module_name)
    try:
        classic_udfs = importlib.import_module("xlwings.udfs")
        # What xlwings/__init__.py binds on Windows with pywin32.
        for name, decorator in (
            ("func", classic_udfs.xlfunc),
            ("arg", classic_udfs.xlarg),
            ("ret", classic_udfs.xlret),
            ("script", classic_udfs.xlsub),
            ("sub", classic_udfs.xlsub),
        ):
            monkeypatch.setattr(xlwings, name, decorator, raising=False)
        yield importlib.import_module(module_name), classic_udfs
    finally:
        sys.modules.pop("xlwings.udfs", None)
        sys.modules.pop(module_name, None)
