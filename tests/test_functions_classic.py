"""The BC_ functions under classic xlwings (Windows, COM), exercised on any OS.

Classic xlwings decorates with ``xlwings.udfs.xlfunc/xlarg/xlret`` and, on
"Import Functions", writes one VBA wrapper per function
(``xlwings.udfs.generate_vba_wrapper``) and registers its descriptions with
``Application.MacroOptions``. ``xlwings.udfs`` imports pywin32 at module level,
so the ``classic`` fixture stands in small stubs for ``pythoncom``,
``pywintypes`` and ``win32com.client``, then imports ``udfs.functions`` afresh
under the classic decorators. Everything is put back afterwards, so other
tests keep the Office.js version of the module.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from unittest import mock

import pytest
from classic import classic_import
from officejs import FUNCTION_ARGUMENTS, OPTIONAL_ARGUMENTS

from udfs import finance

VT_ERROR = 10  # pythoncom.VT_ERROR
CVERR_BASE = -2146828288  # 0x800A0000 as a signed 32-bit int: CVErr(n) = base + n
XL_ERRORS = {"#DIV/0!": 2007, "#VALUE!": 2015, "#NUM!": 2036, "#N/A": 2042}


class Variant:
    """Stands in for ``win32com.client.VARIANT``: keeps the type and the value."""

    def __init__(self, vartype, value):
        self.varianttype = vartype
        self.value = value

    def __eq__(self, other):
        return isinstance(other, Variant) and (self.varianttype, self.value) == (
            other.varianttype,
            other.value,
        )

    def __repr__(self):
        return f"VARIANT({self.varianttype}, {self.value})"


@pytest.fixture
def classic(monkeypatch):
    """``(udfs.functions as classic xlwings imports it, xlwings.udfs)``."""
    with classic_import(monkeypatch, "udfs.functions", Variant, VT_ERROR) as imported:
        yield imported


class Workbook:
    """The one attribute of the Excel workbook ``generate_vba_wrapper`` reads."""

    Name = "bizcase.xlam"


@pytest.fixture
def vba(classic):
    functions, classic_udfs = classic
    out = io.StringIO()
    classic_udfs.generate_vba_wrapper("udfs.functions", functions, out, Workbook())
    return out.getvalue()


def _declaration(func_name: str) -> str:
    args = [
        f"Optional {name}" if (func_name, name) in OPTIONAL_ARGUMENTS else name
        for name in FUNCTION_ARGUMENTS[func_name]
    ]
    return f"Function {func_name}({', '.join(args)})"


def test_classic_decorators_are_detected(classic):
    functions, _ = classic
    assert functions._is_classic() is True


def test_officejs_decorators_are_not_taken_for_classic():
    import udfs.functions

    assert udfs.functions._is_classic() is False


def test_vba_declares_exactly_the_bc_functions(vba):
    declared = re.findall(r"^Function (\w+)\(", vba, flags=re.MULTILINE)
    assert sorted(declared) == sorted(FUNCTION_ARGUMENTS)


@pytest.mark.parametrize("func_name", sorted(FUNCTION_ARGUMENTS))
def test_vba_declares_arguments_in_excels_order_with_optionals_marked(vba, func_name):
    lines = vba.splitlines()
    assert _declaration(func_name) in lines


@pytest.mark.parametrize("func_name", sorted(FUNCTION_ARGUMENTS))
def test_vba_wrapper_passes_every_argument_to_python_in_order(vba, func_name):
    array = f"Array({', '.join(FUNCTION_ARGUMENTS[func_name])})"
    call = f'XLPy.CallUDF("udfs.functions", "{func_name}", {array}, ActiveWorkbook, '
    assert call in vba


def test_npv_declaration_is_the_documented_one(vba):
    # DESIGN.md's table, spelled out once without the helper.
    assert "Function BC_NPV(rate, values, Optional first_period)" in vba.splitlines()
    assert "Function BC_XIRR(values, dates, Optional guess)" in vba.splitlines()


def test_import_functions_registers_every_description(classic, monkeypatch):
    """Run classic "Import Functions" against a mock workbook and read what Excel gets."""
    functions, classic_udfs = classic
    monkeypatch.setattr(classic_udfs, "__pro__", False)
    monkeypatch.setattr(classic_udfs, "get_udf_module", lambda name, workbook: functions)
    imported = []
    workbook = mock.MagicMock()
    workbook.Name = "bizcase.xlam"
    workbook.Application.Version = "16.0"
    workbook.VBProject.VBComponents.Import.side_effect = lambda path: imported.append(
        Path(path).read_text()
    )

    classic_udfs.import_udfs("udfs.functions", workbook)

    assert len(imported) == 1
    assert all(_declaration(f) in imported[0].splitlines() for f in FUNCTION_ARGUMENTS)
    registered = {
        call.args[0]: call.kwargs for call in workbook.Application.MacroOptions.call_args_list
    }
    assert sorted(registered) == sorted(f"'bizcase.xlam'!{f}" for f in FUNCTION_ARGUMENTS)
    for func_name, arguments in FUNCTION_ARGUMENTS.items():
        options = registered[f"'bizcase.xlam'!{func_name}"]
        func = getattr(functions, func_name)
        # Excel cuts descriptions at 255 characters; ours must fit whole.
        assert options["Description"] == func.__doc__
        assert 0 < len(func.__doc__) <= 255
        docs = options["ArgumentDescriptions"]
        assert len(docs) == len(arguments)
        for name, doc in zip(arguments, docs, strict=True):
            assert doc == func.__xlfunc__["argmap"][name]["doc"]
            assert doc.strip() and not doc.startswith("Positional argument"), (func_name, name)
            assert len(doc) <= 255, (func_name, name)


def test_normal_result_is_a_plain_number(classic):
    functions, _ = classic
    # COM hands a column range over as a tuple of one-element tuples.
    result = functions.BC_NPV(0.08, tuple((x,) for x in [-40_000.0, 5_000.0, 30_000.0]), None)
    assert type(result) is float
    assert result == pytest.approx(finance.npv(0.08, [-40_000.0, 5_000.0, 30_000.0]))


@pytest.mark.parametrize(
    ("func_name", "args", "code"),
    [
        ("BC_IRR", [((100.0, 60.0, 60.0),), None], "#NUM!"),
        ("BC_XNPV", [0.09, ((-100.0, 50.0),), ((39_448.0, 39_400.0),)], "#NUM!"),
        ("BC_PAYBACK", [((-100.0, 20.0, 20.0),)], "#N/A"),
        ("BC_MIRR", [((100.0, 60.0),), 0.1, 0.1], "#DIV/0!"),
        ("BC_NPV", ["ten percent", ((-100.0, 60.0),), None], "#VALUE!"),
        ("BC_NPV", [0.08, ((-100.0, 60.0),), 2.0], "#VALUE!"),
    ],
    ids=[
        "irr-no-root",
        "xnpv-date-before-first",
        "payback-never",
        "mirr-no-negative",
        "npv-text-rate",
        "npv-first-period-2",
    ],
)
def test_error_result_is_a_com_error_variant(classic, func_name, args, code):
    functions, _ = classic
    result = getattr(functions, func_name)(*args)
    assert result == Variant(VT_ERROR, CVERR_BASE + XL_ERRORS[code])


def test_num_error_is_cverr_2036(classic):
    functions, _ = classic
    result = functions.BC_IRR(((100.0, 60.0),), None)
    assert (result.varianttype, result.value) == (VT_ERROR, -2146828288 + 2036)
