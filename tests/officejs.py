"""Call the ``BC_`` functions the way Excel does, through xlwings' Office.js runtime.

``call`` builds the JSON body that xlwings' custom-functions client
(``custom-functions-code.js``) posts for every calculation and hands it to
``xlwings.server.custom_functions_call``, the code xlwings Lite and xlwings
Server run. Every argument arrives as a 2-D list: a range is ``[[a, b, c]]``
(a row) or ``[[a], [b], [c]]`` (a column), a single cell is ``[[x]]``, a blank
cell is ``None``, and an omitted optional argument is ``None`` (Excel passes
``null`` for it: https://learn.microsoft.com/en-us/office/dev/add-ins/excel/custom-functions-parameter-options).
An error cell arrives as an ``Excel.ErrorCellValue`` dict (the metadata sets
``allowErrorForDataTypeAny``), built here by :func:`error_cell`.

What comes back is what the client hands to Excel: a 2-D list of values, with
``#NUM!``/``#DIV/0!``/``#N/A`` as ``{"type": "Error", "errorType": ...}``
(:func:`error_result`). A raised exception is what the client turns into
``CustomFunctions.Error(invalidValue, message)``: ``#VALUE!`` with the message
shown on the cell's error flag.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import importlib
import json

import xlwings
import xlwings.server

__all__ = [
    "FUNCTION_ARGUMENTS",
    "OPTIONAL_ARGUMENTS",
    "call",
    "cell",
    "column",
    "error_cell",
    "error_result",
    "row",
    "serial",
]

# Excel's argument order (DESIGN.md, "Excel functions"), one entry per BC_ function.
FUNCTION_ARGUMENTS = {
    "BC_NPV": ("rate", "values", "first_period"),
    "BC_XNPV": ("rate", "values", "dates"),
    "BC_IRR": ("values", "guess"),
    "BC_XIRR": ("values", "dates", "guess"),
    "BC_MIRR": ("values", "finance_rate", "reinvest_rate"),
    "BC_PAYBACK": ("values",),
    "BC_DPAYBACK": ("rate", "values"),
    "BC_ROI": ("values",),
    "BC_PI": ("rate", "values"),
    "BC_ENPV": ("rate", "values", "stages", "probabilities"),
    "BC_ECV": (
        "npv",
        "p_technical",
        "p_commercial",
        "development_cost",
        "commercialization_cost",
    ),
    "BC_CAGR": ("begin_value", "end_value", "periods"),
    "BC_SOM": ("tam", "tam_growth", "sam_share", "target_share", "years_to_target", "horizon"),
    "BC_LTV": ("arpu", "gross_margin", "churn", "rate"),
    "BC_CAC_PAYBACK": ("cac", "arpu", "gross_margin"),
    # Portfolio functions (issue: portfolio rollup).
    "BC_ROLLUP": ("table", "group_by", "measures"),
    "BC_SELECT": ("values", "costs", "budget", "mandatory", "groups", "depends_on", "currencies"),
    "BC_FRONTIER": ("values", "costs", "points", "currencies"),
    # Risk functions (issue: risk and uncertainty).
    "BC_SIMULATE": (
        "rate",
        "years",
        "units",
        "price",
        "unit_cost",
        "fixed_cost",
        "investment",
        "trials",
        "seed",
    ),
    "BC_BREAKEVEN": (
        "rate",
        "years",
        "units",
        "price",
        "unit_cost",
        "fixed_cost",
        "investment",
        "driver",
    ),
}
OPTIONAL_ARGUMENTS = frozenset(
    {
        ("BC_NPV", "first_period"),
        ("BC_IRR", "guess"),
        ("BC_XIRR", "guess"),
        ("BC_LTV", "rate"),
        ("BC_ROLLUP", "group_by"),
        ("BC_ROLLUP", "measures"),
        ("BC_SELECT", "mandatory"),
        ("BC_SELECT", "groups"),
        ("BC_SELECT", "depends_on"),
        ("BC_SELECT", "currencies"),
        ("BC_FRONTIER", "points"),
        ("BC_FRONTIER", "currencies"),
        ("BC_SIMULATE", "trials"),
        ("BC_SIMULATE", "seed"),
    }
)

# Excel.ErrorCellValueType names, as Office.js sends and xlwings returns them.
_ERROR_TYPES = {
    "#DIV/0!": "Div0",
    "#N/A": "NotAvailable",
    "#NAME?": "Name",
    "#NULL!": "Null",
    "#NUM!": "Num",
    "#REF!": "Ref",
    "#VALUE!": "Value",
}
_EXCEL_EPOCH = dt.date(1899, 12, 30)  # serial 0 in Excel's 1900 date system


def cell(value) -> list[list]:
    """A single cell."""
    return [[value]]


def row(values) -> list[list]:
    """A one-row range."""
    return [list(values)]


def column(values) -> list[list]:
    """A one-column range."""
    return [[value] for value in values]


def error_cell(code: str) -> dict:
    """An error cell as Office.js passes it to a custom function."""
    return {"type": "Error", "errorType": _ERROR_TYPES[code], "basicValue": code}


def error_result(code: str) -> list[list[dict]]:
    """An error value as xlwings returns it to Excel (a 1 x 1 result)."""
    return [[{"type": "Error", "errorType": _ERROR_TYPES[code]}]]


def serial(date: dt.date) -> int:
    """Excel's serial number of a date: what a date cell holds."""
    return (date - _EXCEL_EPOCH).days


def payload(func_name: str, args) -> dict:
    """The body xlwings' Office.js client posts for one custom-function call."""
    return {
        "func_name": func_name,
        "args": list(args),
        "caller_address": "Sheet1!A1",
        "content_language": "en-US",
        "version": xlwings.__version__,
        "runtime": "1.4",
        "client": "Office.js",
        "culture_info_name": "en-US",
        "date_format": "M/d/yyyy",
    }


def call(func_name: str, *args):
    """Run ``func_name`` through xlwings' Office.js runtime; return what Excel receives.

    The body goes through JSON as it does on the wire, and the result must be
    valid JSON (no NaN, no numpy objects) since the server sends it back that way.
    """
    module = importlib.import_module("udfs.functions")
    data = json.loads(json.dumps(payload(func_name, args), allow_nan=False))
    result = asyncio.run(xlwings.server.custom_functions_call(data, module))
    json.dumps(result, allow_nan=False)
    return result
