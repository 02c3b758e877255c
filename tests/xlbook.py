"""Build the JSON payload xlwings Lite/Server sends for a workbook, from an .xlsx file.

Lets the scripts in addin.macros run under xlwings' own script runtime
(``xlwings.server.custom_scripts_call`` with ``xw.Book(json=...)``) in tests,
and turns the actions a script returns back into something easy to assert on.
"""

from __future__ import annotations

import asyncio

import openpyxl
import xlwings as xw
import xlwings.server


def book_json(path, name: str = "case.xlsx") -> dict:
    """Sheets with their cell values (as Excel last computed them) and the defined names."""
    wb = openpyxl.load_workbook(path, data_only=True)
    sheets = []
    for ws in wb.worksheets:
        rows = [
            ["" if c is None else c for c in row]
            for row in ws.iter_rows(
                min_row=1,
                min_col=1,
                max_row=max(ws.max_row, 1),
                max_col=max(ws.max_column, 1),
                values_only=True,
            )
        ]
        sheets.append(
            {
                "name": ws.title,
                "values": rows or [[""]],
                "pictures": [],
                "tables": [],
                "visibility": "Visible" if ws.sheet_state == "visible" else "Hidden",
                "show_gridlines": True,
                "pivot_tables": [],
            }
        )
    names = []
    for defined in wb.defined_names.values():
        ((sheet, ref),) = defined.destinations
        names.append(
            {
                "name": defined.name,
                "sheet_index": wb.sheetnames.index(sheet),
                "address": ref.replace("$", ""),
                "book_scope": True,
                "scope_sheet_name": None,
                "scope_sheet_index": None,
                "refers_to": f"={defined.attr_text}",
            }
        )
    return {
        "client": "Office.js",
        "version": xw.__version__,
        "book": {"name": name, "active_sheet_index": 0, "selection": "A1"},
        "sheets": sheets,
        "names": names,
    }


def run_script(module, script: str, payload: dict) -> list[dict]:
    """Run a script under xlwings' runtime; return the actions it sends back to Excel."""
    book = xw.Book(json=payload)
    result = asyncio.run(
        xlwings.server.custom_scripts_call(module, script, typehint_to_value={xw.Book: book})
    )
    return result.json()["actions"]


def written(actions: list[dict], sheet_position: int) -> dict[str, object]:
    """Cell -> value for every value an action set on the sheet at that position."""
    out = {}
    for action in actions:
        if action["func"] != "setValues" or action["sheet_position"] != sheet_position:
            continue
        for i, row in enumerate(action["values"]):
            for j, value in enumerate(row):
                out[_cell(action["start_row"] + i, action["start_column"] + j)] = value
    return out


def _cell(row: int, column: int) -> str:
    letters = ""
    column += 1
    while column:
        column, rest = divmod(column - 1, 26)
        letters = chr(65 + rest) + letters
    return f"{letters}{row + 1}"
